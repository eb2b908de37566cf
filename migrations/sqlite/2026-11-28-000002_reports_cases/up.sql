-- Inspection reports, photos, and the cases they open.

-- A report is keyed by the id its device chose (ODK's instanceID): the same id with the
-- same body is a retry, answered from `answer`; another body under that id is refused.
CREATE TABLE reports (
    id TEXT PRIMARY KEY NOT NULL,
    inspector_id BIGINT NOT NULL REFERENCES users (id),
    body_sha256 TEXT NOT NULL,
    captured_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    accuracy_m DOUBLE PRECISION,
    reported_crs TEXT NOT NULL,
    cell_code TEXT,
    community_code TEXT,
    town_code TEXT,
    district_code TEXT,
    place_kind TEXT,
    place_name TEXT,
    place_address TEXT,
    enterprise_uscc TEXT,
    checklist_version INTEGER NOT NULL REFERENCES checklist_versions (version),
    items TEXT NOT NULL,
    failed_count INTEGER NOT NULL,
    licenses_seen TEXT NOT NULL,
    license_checks TEXT NOT NULL,
    note TEXT,
    flags TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE INDEX reports_inspector ON reports (inspector_id, captured_at);
CREATE INDEX reports_cell ON reports (cell_code, captured_at);
CREATE INDEX reports_captured ON reports (captured_at);
CREATE INDEX reports_enterprise ON reports (enterprise_uscc);

-- Photos named by a report (at report level, item_code '', or by a failed item). A photo
-- may arrive before or after its report, so this is not a foreign key to photos.
CREATE TABLE report_photos (
    report_id TEXT NOT NULL REFERENCES reports (id),
    sha256 TEXT NOT NULL,
    item_code TEXT NOT NULL,
    PRIMARY KEY (report_id, sha256, item_code)
);
CREATE INDEX report_photos_sha ON report_photos (sha256);

CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY NOT NULL,
    uploader_id BIGINT NOT NULL REFERENCES users (id),
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    exif_taken_at BIGINT,
    exif_lon DOUBLE PRECISION,
    exif_lat DOUBLE PRECISION,
    received_at BIGINT NOT NULL
);

CREATE TABLE cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL CHECK (source IN ('report_item', 'licence_check', 'manual')),
    item_code TEXT,
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    cell_code TEXT,
    community_code TEXT NOT NULL,
    town_code TEXT NOT NULL,
    district_code TEXT NOT NULL,
    tier TEXT NOT NULL CHECK (tier IN ('community', 'town', 'district')),
    department TEXT NOT NULL REFERENCES departments (code),
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    claimed_by BIGINT REFERENCES users (id),
    due_at BIGINT NOT NULL,
    overdue BOOLEAN NOT NULL DEFAULT FALSE,
    pending_extension BIGINT,
    enterprise_uscc TEXT,
    duplicate_of BIGINT REFERENCES cases (id),
    reopened_count INTEGER NOT NULL DEFAULT 0,
    declined_count INTEGER NOT NULL DEFAULT 0,
    extended_count INTEGER NOT NULL DEFAULT 0,
    escalated_count INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    opened_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    closed_at BIGINT,
    created_by BIGINT REFERENCES users (id),
    change_seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX cases_queue ON cases (tier, status, town_code, community_code, opened_at);
CREATE INDEX cases_department ON cases (department, status, town_code);
CREATE INDEX cases_cell ON cases (cell_code, status);
CREATE INDEX cases_item_open ON cases (item_code, status, lat, lon);
CREATE INDEX cases_enterprise ON cases (enterprise_uscc, status);
CREATE INDEX cases_due ON cases (status, due_at);
CREATE INDEX cases_change_seq ON cases (change_seq);

CREATE TABLE case_reports (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    report_id TEXT NOT NULL REFERENCES reports (id),
    item_code TEXT NOT NULL,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, report_id, item_code)
);
CREATE INDEX case_reports_report ON case_reports (report_id);

-- The append-only timeline of every case: nothing updates or deletes a row here.
CREATE TABLE case_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    at BIGINT NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    from_tier TEXT,
    to_tier TEXT NOT NULL,
    department TEXT,
    note TEXT,
    photos TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX case_events_case ON case_events (case_id, id);
CREATE INDEX case_events_at ON case_events (at);
