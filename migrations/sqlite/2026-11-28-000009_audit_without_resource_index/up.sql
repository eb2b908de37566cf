-- Audit records name their resource by a random key (a licence number, a USCC), so an index
-- on it takes a page of its own for nearly every record written: measured on SQLite, it cost
-- the licence check a third of its throughput. A search by resource walks the time range
-- (newest first, stopping at a page of results) instead.
DROP INDEX audit_log_resource;
