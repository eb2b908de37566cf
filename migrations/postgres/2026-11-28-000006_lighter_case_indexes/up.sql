-- Every action on a case moves its entries in each index that holds a changed column, and
-- on SQLite every moved entry is a page the group commit writes to the WAL. Indexes that
-- carried `status` only to narrow a lookup moved on every step; the queue columns
-- (centre_queue, department_queue) and the region/opened indexes serve the lists now.
DROP INDEX cases_queue;
DROP INDEX cases_department;
DROP INDEX cases_due;
-- Lookups by cell or enterprise find a few cases each; their status is read from the row.
DROP INDEX cases_cell;
CREATE INDEX cases_cell ON cases (cell_code);
DROP INDEX cases_enterprise;
CREATE INDEX cases_enterprise ON cases (enterprise_uscc);
-- Joining a failed item to an active case nearby (cases::store::open_or_join): only active
-- cases are indexed, so a step between active statuses does not touch this index. The
-- query spells the same IN list, which is how both databases know the index applies.
DROP INDEX cases_item_open;
CREATE INDEX cases_item_active ON cases (item_code, lat, lon)
    WHERE status IN ('open', 'claimed', 'dispatched', 'in_progress', 'resolved');
