//! Photo upload (content-addressed, idempotent) and download with access control.

use std::collections::HashMap;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::auth::{Principal, Role};
use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::photos::model::{self, PhotoError, PhotoFormat};
use crate::photos::store::{self, PhotoRow};
use crate::reports::model::is_sha256;
use crate::AppState;

#[derive(Serialize, ToSchema)]
pub struct PhotoView {
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
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "image/jpeg, image/png or image/webp"),
    responses((status = 201, body = PhotoView), (status = 200, body = PhotoView),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn upload(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    sha: web::Path<String>,
    body: web::Bytes,
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
            ApiError::new(
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the photo as image/jpeg, image/png or image/webp",
            )
        })?;
    let actual = hex::encode(Sha256::digest(&body));
    if actual != sha {
        return Err(ApiError::invalid(
            "the bytes do not have the SHA-256 the path names",
            json!([{"field": "sha256", "problem": format!("the body hashes to {actual}")}]),
        ));
    }
    let known = {
        let sha = sha.clone();
        state.db(move |conn| Ok(store::find(conn, &sha)?)).await?
    };
    if let Some(row) = known {
        return Ok(HttpResponse::Ok().json(view(&row, 0)));
    }
    let files = state.photos.clone();
    let row = {
        let sha = sha.clone();
        let uploader = who.user_id;
        web::block(move || -> ApiResult<PhotoRow> {
            let facts = model::inspect(&body, declared).map_err(|e| match e {
                PhotoError::Corrupt(_) => ApiError::invalid(
                    e.to_string(),
                    json!([{"field": "body", "problem": e.to_string()}]),
                ),
                other => ApiError::new(
                    actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    other.to_string(),
                ),
            })?;
            // Files first, then the row: a crash between leaves a file the next upload
            // of the same bytes simply writes again.
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
        .await??
    };
    let (created, updated, stored) = state
        .write(move |conn| {
            let created = store::insert(conn, &row)?;
            let mut updated = 0;
            if created {
                // Settle the flags of every report waiting for this photo, reading each
                // inspector's cells once.
                let mut cells = HashMap::new();
                for id in store::reports_naming(conn, &row.sha256)? {
                    if let Some(report) = crate::reports::store::find(conn, &id)? {
                        let assigned = crate::reports::store::cells_once(
                            conn,
                            &mut cells,
                            report.inspector_id,
                        )?;
                        crate::reports::store::settle_flags(conn, &report, assigned)?;
                        updated += 1;
                    }
                }
            }
            // A new photo's row is the one just written; a known one may differ (its
            // first uploader), so it is read.
            let stored = match created {
                true => row.clone(),
                false => store::find(conn, &row.sha256)?.ok_or_else(ApiError::internal)?,
            };
            Ok((created, updated, stored))
        })
        .await?;
    let status = if created { 201 } else { 200 };
    Ok(
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
            .json(view(&stored, updated)),
    )
}

/// Whether the server has a photo (200) or not (404); no body.
#[utoipa::path(head, path = "/api/v1/photos/{sha256}", tag = "photos",
    params(("sha256" = String, Path, description = "hex SHA-256")),
    responses((status = 200, description = "the server has it"), (status = 404, description = "not yet")),
    security(("bearer" = [])))]
pub async fn exists(
    state: web::Data<AppState>,
    _who: Principal,
    sha: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let sha = parse_sha(&sha)?;
    let row = state.db(move |conn| Ok(store::find(conn, &sha)?)).await?;
    Ok(match row {
        Some(row) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, row.content_type.as_str()))
            .insert_header(("x-photo-bytes", row.bytes.to_string()))
            .finish(),
        None => HttpResponse::NotFound().finish(),
    })
}

/// Checks that `who` may see photo `sha`: its uploader, or a user who may read a report
/// that names it (or, later, a case).
fn may_see(conn: &mut crate::db::Conn, who: &Principal, row: &PhotoRow) -> ApiResult<bool> {
    if row.uploader_id == who.user_id || who.role == Role::Admin {
        return Ok(true);
    }
    for id in store::reports_naming(conn, &row.sha256)? {
        if let Some(report) = crate::reports::store::find(conn, &id)? {
            let region = || crate::reports::store::inspector_region(conn, report.inspector_id);
            if crate::reports::http::may_read(who, &report, region)? {
                return Ok(true);
            }
        }
    }
    Ok(crate::cases::store::photo_visible_through_case(
        conn,
        who,
        &row.sha256,
    )?)
}

async fn serve_file(
    state: web::Data<AppState>,
    who: Principal,
    sha: String,
    thumbnail: bool,
) -> ApiResult<HttpResponse> {
    let sha = parse_sha(&sha)?;
    let files = state.photos.clone();
    let etag = format!("\"{sha}{}\"", if thumbnail { "-t" } else { "" });
    state
        .db(move |conn| {
            let row = store::find(conn, &sha)?
                .ok_or_else(|| ApiError::not_found(format!("no photo {sha}")))?;
            if !may_see(conn, &who, &row)? {
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
pub async fn original(
    state: web::Data<AppState>,
    who: Principal,
    sha: web::Path<String>,
) -> ApiResult<HttpResponse> {
    serve_file(state, who, sha.into_inner(), false).await
}

/// The photo's thumbnail (JPEG, longest side 320 px), under the same access rule.
#[utoipa::path(get, path = "/api/v1/photos/{sha256}/thumbnail", tag = "photos",
    params(("sha256" = String, Path, description = "hex SHA-256")),
    responses((status = 200, description = "the thumbnail", content_type = "image/jpeg"), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn thumbnail(
    state: web::Data<AppState>,
    who: Principal,
    sha: web::Path<String>,
) -> ApiResult<HttpResponse> {
    serve_file(state, who, sha.into_inner(), true).await
}
