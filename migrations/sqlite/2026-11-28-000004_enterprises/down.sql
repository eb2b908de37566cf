DROP TRIGGER audit_log_no_delete;
DROP TRIGGER audit_log_no_update;
DROP TABLE audit_log;
DROP TABLE report_enterprises;
DROP TABLE licences;
DROP TABLE enterprises;
