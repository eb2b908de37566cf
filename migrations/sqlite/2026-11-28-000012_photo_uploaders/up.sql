-- Everyone who sent a photo's bytes, not only the first: each of them has the photo and
-- may read it back, and a report or case step may name only a photo its author may read.
CREATE TABLE photo_uploaders (
    sha256 TEXT NOT NULL REFERENCES photos (sha256),
    user_id BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (sha256, user_id)
) WITHOUT ROWID;

INSERT OR IGNORE INTO photo_uploaders (sha256, user_id) SELECT sha256, uploader_id FROM photos;
