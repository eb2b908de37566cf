//! A photo's arrival: checked against the hash it is sent under, decoded on the blocking
//! pool, written to the photo store durably, then recorded, which settles the flags of the
//! reports that were waiting for it.

use actix_web::web;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::photos::model::{self, PhotoError, PhotoFormat};
use crate::photos::store::{self, PhotoFiles, PhotoRow};
use crate::web::error::{ApiError, ApiResult};

/// What an upload did.
pub(crate) struct Arrived {
    /// False when the server had the photo already.
    pub created: bool,
    pub row: PhotoRow,
    /// Reports whose flags were settled again by this arrival.
    pub reports_updated: usize,
}

/// Stores the bytes of photo `sha` sent as `declared` by `uploader`.
pub(crate) async fn receive(
    db: &Db,
    files: &PhotoFiles,
    uploader: i64,
    sha: String,
    declared: PhotoFormat,
    body: web::Bytes,
) -> ApiResult<Arrived> {
    let actual = hex::encode(Sha256::digest(&body));
    if actual != sha {
        return Err(ApiError::invalid(
            "the bytes do not have the SHA-256 the path names",
            json!([{"field": "sha256", "problem": format!("the body hashes to {actual}")}]),
        ));
    }
    let known = {
        let sha = sha.clone();
        db.run(move |conn| Ok(store::find(conn, &sha)?)).await?
    };
    if let Some(row) = known {
        return Ok(Arrived {
            created: false,
            row,
            reports_updated: 0,
        });
    }
    let files = files.clone();
    let row = web::block(move || -> ApiResult<PhotoRow> {
        let facts = model::inspect(&body, declared).map_err(|e| match e {
            PhotoError::Corrupt(_) => ApiError::invalid(
                e.to_string(),
                json!([{"field": "body", "problem": e.to_string()}]),
            ),
            other => ApiError::unsupported_media_type(other.to_string()),
        })?;
        // Files first, then the row: a crash between leaves a file the next upload of the
        // same bytes simply writes again.
        files
            .write_durably(&files.original(&sha, facts.format), &body)
            .and_then(|_| files.write_durably(&files.thumbnail(&sha), &facts.thumbnail))
            .map_err(|e| {
                log::error!("writing photo {sha}: {e}");
                ApiError::unavailable("the photo store could not write; retry")
            })?;
        Ok(PhotoRow {
            sha256: sha,
            uploader_id: uploader,
            content_type: facts.format.content_type().to_string(),
            bytes: body.len() as i64,
            width: facts.width as i32,
            height: facts.height as i32,
            exif_taken_at: facts.taken_at,
            exif_lon: facts.gps.map(|g| g.0),
            exif_lat: facts.gps.map(|g| g.1),
            received_at: crate::clock::now(),
        })
    })
    .await??;
    db.write(move |conn| {
        let created = store::insert(conn, &row)?;
        let reports_updated = match created {
            true => crate::reports::store::settle_reports_naming(conn, &row.sha256)?,
            false => 0,
        };
        // A new photo's row is the one just written; a known one may differ (its first
        // uploader, who raced this one), so it is read.
        let stored = match created {
            true => row.clone(),
            false => store::find(conn, &row.sha256)?.ok_or_else(ApiError::internal)?,
        };
        Ok(Arrived {
            created,
            row: stored,
            reports_updated,
        })
    })
    .await
}
