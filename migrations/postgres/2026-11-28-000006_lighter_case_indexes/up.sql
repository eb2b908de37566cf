-- Every action on a case rewrites its entries in each index that holds a column the action
-- sets (status, tier, department, due time...), and on SQLite every rewritten entry is a
-- page the group commit writes to the WAL. Indexes that carried `status` only to narrow a
-- lookup were rewritten on every step; the queue columns (centre_queue, department_queue)
-- and the region/opened indexes serve the lists now. Lists filtered by status alone (an
-- administrator's) walk the region index in opening order instead.
DROP INDEX cases_queue;
DROP INDEX cases_department;
DROP INDEX cases_due;
-- Lookups by cell (in opening order) or enterprise: no action changes these columns, and
-- the status is read from the row.
DROP INDEX cases_cell;
CREATE INDEX cases_cell ON cases (cell_code, opened_at, id);
-- An inspector's queue: the resolved cases of their cells, awaiting verification on site.
CREATE INDEX cases_to_verify ON cases (cell_code, opened_at, id) WHERE status = 'resolved';
DROP INDEX cases_enterprise;
CREATE INDEX cases_enterprise ON cases (enterprise_uscc);
-- Joining a failed item to an active case nearby (cases::store::open_or_join): only active
-- cases are indexed, so the index does not grow with closed ones. The query spells the
-- same IN list, which is how both databases know the index applies.
DROP INDEX cases_item_open;
CREATE INDEX cases_item_active ON cases (item_code, lat, lon)
    WHERE status IN ('open', 'claimed', 'dispatched', 'in_progress', 'resolved');
