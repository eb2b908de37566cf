-- Which cases hold a photo in their timeline (resolution and verification photos), so that
-- a photo's readers are found by key instead of by scanning every event's photo list.
CREATE TABLE case_photos (
    sha256 TEXT NOT NULL,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    PRIMARY KEY (sha256, case_id)
) WITHOUT ROWID;

INSERT OR IGNORE INTO case_photos (sha256, case_id)
SELECT p.value, e.case_id FROM case_events e, json_each(e.photos) p;
