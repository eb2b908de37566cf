DROP INDEX cases_item_active;
CREATE INDEX cases_item_open ON cases (item_code, status, lat, lon);
DROP INDEX cases_enterprise;
CREATE INDEX cases_enterprise ON cases (enterprise_uscc, status);
DROP INDEX cases_cell;
CREATE INDEX cases_cell ON cases (cell_code, status);
CREATE INDEX cases_due ON cases (status, due_at);
CREATE INDEX cases_department ON cases (department, status, town_code);
CREATE INDEX cases_queue ON cases (tier, status, town_code, community_code, opened_at);
