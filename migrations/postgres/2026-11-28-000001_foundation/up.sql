-- Foundation: departments, regions and cells, the versioned checklist, users and sessions.
-- Times are microseconds since the Unix epoch (UTC) in BIGINT, so that one diesel schema
-- serves SQLite and PostgreSQL alike.

-- Used on SQLite only (stamps there are counter values); on PostgreSQL a change is stamped
-- with its transaction id and pulled below the oldest running transaction. docs/sync.md.
CREATE TABLE sync_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO sync_counter (id, value) VALUES (1, 0);

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE departments (
    code TEXT PRIMARY KEY NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    change_seq BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE regions (
    code TEXT PRIMARY KEY NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('district', 'town', 'community', 'cell')),
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    parent_code TEXT REFERENCES regions (code),
    geometry TEXT NOT NULL,
    min_lon DOUBLE PRECISION NOT NULL,
    min_lat DOUBLE PRECISION NOT NULL,
    max_lon DOUBLE PRECISION NOT NULL,
    max_lat DOUBLE PRECISION NOT NULL,
    change_seq BIGINT NOT NULL DEFAULT 0,
    deleted_at BIGINT
);
CREATE INDEX regions_parent ON regions (parent_code);
CREATE INDEX regions_change_seq ON regions (change_seq);

CREATE TABLE checklist_versions (
    version INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    item_count INTEGER NOT NULL,
    imported_at BIGINT NOT NULL,
    change_seq BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE checklist_items (
    version INTEGER NOT NULL REFERENCES checklist_versions (version),
    code TEXT NOT NULL,
    position INTEGER NOT NULL,
    category TEXT NOT NULL,
    category_zh TEXT NOT NULL,
    title_zh TEXT NOT NULL,
    title_en TEXT NOT NULL,
    department TEXT NOT NULL REFERENCES departments (code),
    tier TEXT NOT NULL CHECK (tier IN ('community', 'town', 'district')),
    severity TEXT NOT NULL,
    time_limit_hours INTEGER NOT NULL,
    photo_required BOOLEAN NOT NULL,
    applies_to TEXT NOT NULL,
    PRIMARY KEY (version, code)
);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL,
    phone TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('inspector', 'dispatcher', 'handler', 'supervisor', 'admin')),
    region_code TEXT REFERENCES regions (code),
    department_code TEXT REFERENCES departments (code),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE user_cells (
    user_id BIGINT NOT NULL REFERENCES users (id),
    cell_code TEXT NOT NULL REFERENCES regions (code),
    PRIMARY KEY (user_id, cell_code)
);
CREATE INDEX user_cells_cell ON user_cells (cell_code);

-- Bearer tokens are stored only as SHA-256 hashes: a leaked table grants nothing.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    user_agent TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
