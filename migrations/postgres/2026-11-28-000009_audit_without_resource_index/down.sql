CREATE INDEX audit_log_resource ON audit_log (resource, at);
