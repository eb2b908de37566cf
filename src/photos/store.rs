//! Photo bytes under the data directory, content-addressed by SHA-256, and their rows.
//!
//! A file appears under its hash only complete: it is written to a temporary name in the
//! same directory, flushed to disk, renamed, and the directory flushed, so a crash leaves
//! at worst a stray temporary file (swept at start), never a partial photo under a hash.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use diesel::prelude::*;

use crate::db::schema::{photo_uploaders, photos};
use crate::db::Conn;
use crate::db_run;
use crate::photos::model::PhotoFormat;

#[derive(Clone, Debug)]
pub(crate) struct PhotoFiles {
    root: PathBuf,
}

impl PhotoFiles {
    pub(crate) fn new(data_dir: &Path) -> std::io::Result<PhotoFiles> {
        let root = data_dir.join("photos");
        fs::create_dir_all(&root)?;
        let files = PhotoFiles { root };
        files.sweep_temporaries();
        Ok(files)
    }

    fn dir(&self, sha: &str) -> PathBuf {
        self.root.join(&sha[..2])
    }

    pub(crate) fn original(&self, sha: &str, format: PhotoFormat) -> PathBuf {
        self.dir(sha).join(format!("{sha}.{}", format.extension()))
    }

    pub(crate) fn thumbnail(&self, sha: &str) -> PathBuf {
        self.dir(sha).join(format!("{sha}.thumb.jpg"))
    }

    /// Writes `bytes` to `path` so that `path` never holds a partial file.
    pub(crate) fn write_durably(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let dir = path.parent().expect("photo paths have a directory");
        fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(
            ".tmp-{}-{}",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("photo"),
            uuid::Uuid::new_v4().simple()
        ));
        let written = (|| {
            let mut file = File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, path)?;
            // The rename itself is durable only once the directory entry is.
            File::open(dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }

    /// Removes temporary files a crash may have left behind.
    fn sweep_temporaries(&self) {
        let Ok(dirs) = fs::read_dir(&self.root) else {
            return;
        };
        for dir in dirs.flatten() {
            let Ok(entries) = fs::read_dir(dir.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = photos)]
pub(crate) struct PhotoRow {
    pub sha256: String,
    pub uploader_id: i64,
    pub content_type: String,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
    pub exif_taken_at: Option<i64>,
    pub exif_lon: Option<f64>,
    pub exif_lat: Option<f64>,
    pub received_at: i64,
}

pub(crate) fn find(conn: &mut Conn, sha: &str) -> QueryResult<Option<PhotoRow>> {
    // By key with get_result, which binds no LIMIT (SQLite re-prepares a bound LIMIT).
    db_run!(conn, |c| photos::table
        .find(sha)
        .select(PhotoRow::as_select())
        .get_result(c)
        .optional())
}

/// Inserts the row unless the photo is known; answers whether it was new.
pub(crate) fn insert(conn: &mut Conn, row: &PhotoRow) -> QueryResult<bool> {
    let n = db_run!(conn, |c| diesel::insert_into(photos::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

/// Records that `user` sent the photo's bytes (again, perhaps).
pub(crate) fn add_uploader(conn: &mut Conn, sha: &str, user: i64) -> QueryResult<()> {
    db_run!(conn, |c| diesel::insert_into(photo_uploaders::table)
        .values((
            photo_uploaders::sha256.eq(sha),
            photo_uploaders::user_id.eq(user)
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// Whether `user` is one of those who sent the photo's bytes.
pub(crate) fn uploaded_by(conn: &mut Conn, sha: &str, user: i64) -> QueryResult<bool> {
    let found = db_run!(conn, |c| photo_uploaders::table
        .find((sha, user))
        .select(photo_uploaders::user_id)
        .get_result::<i64>(c)
        .optional())?;
    Ok(found.is_some())
}
