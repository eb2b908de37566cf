//! Photo upload (content-addressed, idempotent) and download with access control.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Principal, Role};
use crate::db::Db;
use crate::photos::access;
use crate::photos::arrival::{self, PhotoIntake, Upload};
use crate::photos::model::PhotoFormat;
use crate::photos::store::{self, PhotoFiles, PhotoRow};
use crate::reports::model::is_sha256;
use crate::web::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::web::extract::{body_too_large, declared_length, read_body};

#[derive(Serialize, ToSchema)]
pub(crate) struct PhotoView {
    pub sha256: String,
    pub content_type: String,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
    /// EXIF DateTimeOriginal, when the photo carries it.
    pub taken_at: Option<String>,
    /// EXIF GPS position (WGS-84), when the photo carries it.
    #[schema(value_type = Object)]
    pub gps: Option<serde_json::Value>,
    pub received_at: String,
    pub thumbnail: String,
    /// Reports whose flags were settled again by this photo's arrival.
    pub reports_updated: usize,
}

fn view(row: &PhotoRow, reports_updated: usize) -> PhotoView {
    PhotoView {
        sha256: row.sha256.clone(),
        content_type: row.content_type.clone(),
        bytes: row.bytes,
        width: row.width,
        height: row.height,
        taken_at: row.exif_taken_at.map(crate::clock::rfc3339),
        gps: match (row.exif_lon, row.exif_lat) {
            (Some(lon), Some(lat)) => Some(json!({"lon": lon, "lat": lat})),
            _ => None,
        },
        received_at: crate::clock::rfc3339(row.received_at),
        thumbnail: format!("/api/v1/photos/{}/thumbnail", row.sha256),
        reports_updated,
    }
}

fn parse_sha(raw: &str) -> ApiResult<String> {
    if is_sha256(raw) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(ApiError::bad_request(
            "the path must name a photo by its sha256 in hex",
        ))
    }
}

/// Upload a photo's bytes under their SHA-256 (201 new, 200 known already).
#[utoipa::path(put, path = "/api/v1/photos/{sha256}", tag = "photos",
    params(("sha256" = String, Path, description = "hex SHA-256 of the bytes")),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "image/jpeg, image/png or image/webp; at most `GRIDPATROL_PHOTO_LIMIT` bytes and `GRIDPATROL_PHOTO_MAX_PIXELS` pixels (413 with `width`, `height` and `max_pixels` in details)"),
    responses((status = 201, body = PhotoView), (status = 200, body = PhotoView),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope, description = "too many photos wait to be decoded; retry after `Retry-After` seconds")),
    security(("bearer" = [])))]
pub(crate) async fn upload(
    db: web::Data<Db>,
    files: web::Data<PhotoFiles>,
    intake: web::Data<PhotoIntake>,
    who: Principal,
    req: HttpRequest,
    sha: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    who.require(&[
        Role::Inspector,
        Role::Handler,
        Role::Dispatcher,
        Role::Admin,
    ])?;
    let sha = parse_sha(&sha)?;
    let declared = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(PhotoFormat::from_content_type)
        .ok_or_else(|| {
            ApiError::unsupported_media_type(
                "send the photo as image/jpeg, image/png or image/webp",
            )
        })?;
    // Only now, with the caller and the request known good, is the body read, once there
    // is room in this process's budget to hold it.
    let declared_length = declared_length(&req);
    if declared_length.is_some_and(|n| n > intake.body_limit) {
        // Refused before waiting for room it could never use.
        return Err(body_too_large(intake.body_limit));
    }
    let held = intake.room_for_body(declared_length).await?;
    let body = read_body(&req, payload, intake.body_limit).await?.freeze();
    let upload = Upload {
        uploader: who.user_id,
        sha,
        declared,
        body,
        held,
    };
    let arrived = arrival::receive(&db, &files, &intake, upload).await?;
    let answer = view(&arrived.row, arrived.reports_updated);
    Ok(match arrived.created {
        true => HttpResponse::Created().json(answer),
        false => HttpResponse::Ok().json(answer),
    })
}

/// Whether the server has a photo the caller may read (200, with the photo's
/// `Content-Type` and `Content-Length`) or not (404, also for a photo the caller may not
/// read, so that a hash tells nothing); no body.
#[utoipa::path(head, path = "/api/v1/photos/{sha256}", tag = "photos",
    params(("sha256" = String, Path, description = "hex SHA-256")),
    responses((status = 200, description = "the server has it", headers(("Content-Length" = i64, description = "the photo's size in bytes"))),
        (status = 404, description = "not yet, or not for this caller")),
    security(("bearer" = [])))]
pub(crate) async fn exists(
    db: web::Data<Db>,
    who: Principal,
    sha: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let sha = parse_sha(&sha)?;
    let row = db
        .run(move |conn| {
            let Some(row) = store::find(conn, &sha)? else {
                return Ok(None);
            };
            Ok(access::may_see(conn, &who, &row)?.then_some(row))
        })
        .await?;
    Ok(match row {
        Some(row) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, row.content_type.as_str()))
            .insert_header(("x-photo-bytes", row.bytes.to_string()))
            .body(Announced(row.bytes.max(0) as u64)),
        None => HttpResponse::NotFound().finish(),
    })
}

/// The body of a HEAD answer: its size is the photo's, so that `Content-Length` says it,
/// and it has no bytes (a HEAD answer sends none).
struct Announced(u64);

impl actix_web::body::MessageBody for Announced {
    type Error = std::convert::Infallible;

    fn size(&self) -> actix_web::body::BodySize {
        actix_web::body::BodySize::Sized(self.0)
    }

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<web::Bytes, Self::Error>>> {
        std::task::Poll::Ready(None)
    }
}

async fn serve_file(
    db: web::Data<Db>,
    files: web::Data<PhotoFiles>,
    who: Principal,
    sha: String,
    thumbnail: bool,
) -> ApiResult<HttpResponse> {
    let sha = parse_sha(&sha)?;
    let etag = format!("\"{sha}{}\"", if thumbnail { "-t" } else { "" });
    db.run(move |conn| {
        let row = store::find(conn, &sha)?
            .ok_or_else(|| ApiError::not_found(format!("no photo {sha}")))?;
        if !access::may_see(conn, &who, &row)? {
            return Err(ApiError::not_found(format!("no photo {sha}")));
        }
        let format =
            PhotoFormat::from_content_type(&row.content_type).ok_or_else(ApiError::internal)?;
        let (path, content_type) = if thumbnail {
            (files.thumbnail(&sha), "image/jpeg")
        } else {
            (files.original(&sha, format), format.content_type())
        };
        let bytes = std::fs::read(&path).map_err(|e| {
            log::error!("reading {}: {e}", path.display());
            ApiError::internal()
        })?;
        Ok((bytes, content_type))
    })
    .await
    .map(|(bytes, content_type)| {
        HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, content_type))
            .insert_header((ETAG, etag))
            // Content-addressed: the bytes under a hash never change.
            .insert_header((CACHE_CONTROL, "private, max-age=31536000, immutable"))
            .body(bytes)
    })
}

/// The photo's bytes (its uploader, and users who may see a report or case naming it).
#[utoipa::path(get, path = "/api/v1/photos/{sha256}", tag = "photos",
    params(("sha256" = String, Path, description = "hex SHA-256")),
    responses((status = 200, description = "the image", content_type = "image/jpeg"), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn original(
    db: web::Data<Db>,
    files: web::Data<PhotoFiles>,
    who: Principal,
    sha: web::Path<String>,
) -> ApiResult<HttpResponse> {
    serve_file(db, files, who, sha.into_inner(), false).await
}

/// The photo's thumbnail (JPEG, longest side 320 px), under the same access rule.
#[utoipa::path(get, path = "/api/v1/photos/{sha256}/thumbnail", tag = "photos",
    params(("sha256" = String, Path, description = "hex SHA-256")),
    responses((status = 200, description = "the thumbnail", content_type = "image/jpeg"), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn thumbnail(
    db: web::Data<Db>,
    files: web::Data<PhotoFiles>,
    who: Principal,
    sha: web::Path<String>,
) -> ApiResult<HttpResponse> {
    serve_file(db, files, who, sha.into_inner(), true).await
}
