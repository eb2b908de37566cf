//! A photo's arrival: checked against the hash it is sent under, measured from its header,
//! decoded on the blocking pool within the process's decoding budget, written to the photo
//! store durably, then recorded, which settles the flags of the reports that were waiting
//! for it.

use std::sync::atomic::AtomicUsize;

use actix_web::web;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::bounded::Waiting;
use crate::db::Db;
use crate::photos::model::{self, PhotoError, PhotoFormat};
use crate::photos::store::{self, PhotoFiles, PhotoRow};
use crate::web::error::{ApiError, ApiResult, ErrorCode};

/// What this process accepts of photo uploads, and its decoding budget. Decoding memory
/// is the process's own, so the budget is too: it counts megapixels being decoded, so
/// that two photos at the pixel cap, or many handheld photos, decode at once, and a flood
/// of large ones waits instead of taking the memory.
pub(crate) struct PhotoIntake {
    /// Largest body, in bytes (413 above).
    pub body_limit: usize,
    /// Largest image, in pixels, read from its header before decoding (413 above).
    pub max_pixels: u64,
    decoding: Semaphore,
    budget_mp: u32,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl PhotoIntake {
    pub(crate) fn new(body_limit: usize, max_pixels: u64) -> PhotoIntake {
        let budget_mp = u32::try_from(max_pixels.div_ceil(1_000_000).saturating_mul(2))
            .unwrap_or(u32::MAX >> 4)
            .max(1);
        PhotoIntake {
            body_limit,
            max_pixels,
            decoding: Semaphore::new(budget_mp as usize),
            budget_mp,
            waiting: AtomicUsize::new(0),
            max_waiting: 64,
        }
    }

    /// Waits for decoding capacity for `pixels`; 503 with `Retry-After` when too many
    /// uploads already wait (each holds its body).
    async fn capacity(&self, pixels: u64) -> ApiResult<tokio::sync::SemaphorePermit<'_>> {
        let waiting = Waiting::enter(&self.waiting);
        if waiting.ahead >= self.max_waiting {
            return Err(
                ApiError::unavailable("too many photos are being decoded; retry shortly")
                    .retry_after(2),
            );
        }
        let megapixels = u32::try_from(pixels.div_ceil(1_000_000))
            .unwrap_or(u32::MAX)
            .clamp(1, self.budget_mp);
        let permit = self.decoding.acquire_many(megapixels).await;
        drop(waiting);
        permit.map_err(|_| ApiError::internal())
    }
}

fn refusal(e: PhotoError) -> ApiError {
    match e {
        PhotoError::Corrupt(_) => ApiError::invalid(
            e.to_string(),
            json!([{"field": "body", "problem": e.to_string()}]),
        ),
        PhotoError::TooManyPixels {
            width,
            height,
            max_pixels,
        } => ApiError::new(ErrorCode::PayloadTooLarge, e.to_string())
            .with_details(json!({"width": width, "height": height, "max_pixels": max_pixels})),
        other => ApiError::unsupported_media_type(other.to_string()),
    }
}

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
    intake: &PhotoIntake,
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
        // Whoever sends the bytes has them, and may read them back from now on.
        let (check, sha) = (sha.clone(), sha.clone());
        let known_sender = db
            .run(move |conn| Ok(store::uploaded_by(conn, &check, uploader)?))
            .await?;
        if !known_sender {
            db.write(move |conn| Ok(store::add_uploader(conn, &sha, uploader)?))
                .await?;
        }
        return Ok(Arrived {
            created: false,
            row,
            reports_updated: 0,
        });
    }
    let max_pixels = intake.max_pixels;
    let pixels = model::measure(&body, declared, max_pixels)
        .map_err(refusal)?
        .pixels();
    let _decoding = intake.capacity(pixels).await?;
    let files = files.clone();
    let row = web::block(move || -> ApiResult<PhotoRow> {
        let facts = model::measure(&body, declared, max_pixels)
            .and_then(model::inspect)
            .map_err(refusal)?;
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
        store::add_uploader(conn, &row.sha256, row.uploader_id)?;
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
