-- The enterprise library (by unified social credit code), the licences enterprises hold,
-- and the append-only audit log of every lookup of enterprise or personal data.

CREATE TABLE enterprises (
    uscc TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    legal_representative TEXT NOT NULL,
    legal_rep_id_number TEXT NOT NULL,
    phone TEXT NOT NULL,
    address TEXT NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    cell_code TEXT,
    community_code TEXT,
    town_code TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked', 'cancelled', 'suspended')),
    registered_on TEXT NOT NULL,
    place_kind TEXT,
    updated_at BIGINT NOT NULL,
    change_seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX enterprises_cell ON enterprises (cell_code);
CREATE INDEX enterprises_geo ON enterprises (lat, lon);
CREATE INDEX enterprises_change_seq ON enterprises (change_seq);

CREATE TABLE licences (
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    uscc TEXT NOT NULL REFERENCES enterprises (uscc),
    valid_from TEXT NOT NULL,
    valid_to TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('valid', 'revoked', 'expired', 'suspended')),
    change_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, number)
);
CREATE INDEX licences_number ON licences (number);
CREATE INDEX licences_uscc ON licences (uscc);

-- Every enterprise a report names: by its place, or by a licence seen there.
CREATE TABLE report_enterprises (
    report_id TEXT NOT NULL REFERENCES reports (id),
    uscc TEXT NOT NULL,
    PRIMARY KEY (report_id, uscc)
);
CREATE INDEX report_enterprises_uscc ON report_enterprises (uscc);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id BIGINT,
    actor_username TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    device TEXT,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    query TEXT NOT NULL,
    result_count INTEGER NOT NULL,
    purpose TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor_username, at);
CREATE INDEX audit_log_resource ON audit_log (resource, at);

-- Append-only, enforced by the database itself, not only by the absence of an API.
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
