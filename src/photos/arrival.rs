//! A photo's arrival: checked against the hash it is sent under, measured from its header,
//! decoded on the blocking pool within the process's decoding budget, written to the photo
//! store durably, then recorded, which settles the flags of the reports that were waiting
//! for it.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use actix_web::web;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::bounded::Waiting;
use crate::db::Db;
use crate::photos::model::{self, PhotoError, PhotoFormat};
use crate::photos::store::{self, PhotoFiles, PhotoRow};
use crate::web::error::{ApiError, ApiResult, ErrorCode};

/// What this process accepts of photo uploads, and its memory budgets for them: the bodies
/// held (read, hashed, decoded, written) and the decoders' memory. Memory is the process's
/// own, so the budgets are too. A request waits for its share; past 64 waiting, 503.
/// Permits are owned and travel with the work: an upload whose client hangs up mid-decode
/// keeps its share until the decode on the blocking pool ends, not until the request ends.
pub(crate) struct PhotoIntake {
    /// Largest body, in bytes (413 above).
    pub body_limit: usize,
    /// Largest image, in pixels, read from its header before decoding (413 above).
    pub max_pixels: u64,
    bodies: Budget,
    decoding: Budget,
    waiting: AtomicUsize,
}

/// A memory budget counted in KiB.
struct Budget {
    permits: Arc<Semaphore>,
    kib: u32,
}

impl Budget {
    fn new(bytes: u64) -> Budget {
        let kib = u32::try_from(bytes / 1024).unwrap_or(u32::MAX >> 4).max(1);
        Budget {
            permits: Arc::new(Semaphore::new(kib as usize)),
            kib,
        }
    }

    async fn take(&self, bytes: u64) -> ApiResult<OwnedSemaphorePermit> {
        // One request larger than the whole budget takes all of it and runs alone.
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.kib);
        self.permits
            .clone()
            .acquire_many_owned(kib)
            .await
            .map_err(|_| ApiError::internal())
    }
}

/// Bodies held at once, besides the one an upload may take alone.
const BODIES_BUDGET: u64 = 256 * 1024 * 1024;
/// Decoder memory at once.
const DECODING_BUDGET: u64 = 512 * 1024 * 1024;
const MAX_WAITING: usize = 64;

impl PhotoIntake {
    pub(crate) fn new(body_limit: usize, max_pixels: u64) -> PhotoIntake {
        PhotoIntake {
            body_limit,
            max_pixels,
            bodies: Budget::new(BODIES_BUDGET.max(body_limit as u64)),
            decoding: Budget::new(DECODING_BUDGET),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Waits for room to hold a body of `declared` bytes (the limit when undeclared).
    pub(crate) async fn room_for_body(
        &self,
        declared: Option<usize>,
    ) -> ApiResult<OwnedSemaphorePermit> {
        let bytes = declared.unwrap_or(self.body_limit).min(self.body_limit);
        self.wait(self.bodies.take(bytes as u64)).await
    }

    async fn room_to_decode(&self, bytes: u64) -> ApiResult<OwnedSemaphorePermit> {
        self.wait(self.decoding.take(bytes)).await
    }

    async fn wait(
        &self,
        take: impl std::future::Future<Output = ApiResult<OwnedSemaphorePermit>>,
    ) -> ApiResult<OwnedSemaphorePermit> {
        let waiting = Waiting::enter(&self.waiting);
        if waiting.ahead >= MAX_WAITING {
            return Err(
                ApiError::unavailable("too many photos are being received; retry shortly")
                    .retry_after(2),
            );
        }
        take.await
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
        PhotoError::OverLimits(_) => ApiError::new(ErrorCode::PayloadTooLarge, e.to_string()),
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

/// An upload whose body has been read.
pub(crate) struct Upload {
    pub uploader: i64,
    /// The SHA-256 the path names.
    pub sha: String,
    /// The type the Content-Type names.
    pub declared: PhotoFormat,
    pub body: web::Bytes,
    /// The body's share of the budget, given back when the body is let go.
    pub held: OwnedSemaphorePermit,
}

/// Stores an upload's bytes.
pub(crate) async fn receive(
    db: &Db,
    files: &PhotoFiles,
    intake: &PhotoIntake,
    upload: Upload,
) -> ApiResult<Arrived> {
    let Upload {
        uploader,
        sha,
        declared,
        body,
        held,
    } = upload;
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
    let needs = model::measure(&body, declared, max_pixels)
        .map_err(refusal)?
        .decoding_bytes();
    let decoding = intake.room_to_decode(needs).await?;
    let files = files.clone();
    let row = web::block(move || -> ApiResult<PhotoRow> {
        // Both shares end with this closure, however the request ends.
        let _shares = (held, decoding);
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
