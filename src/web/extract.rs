//! What handlers take from a request besides their typed path, query and body: the bearer
//! token, the device, and the mapping of actix's body, query and path refusals to the error
//! envelope.

use std::future::{ready, Ready};

use actix_web::error::JsonPayloadError;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use serde_json::json;

use crate::web::error::{ApiError, ErrorCode};

/// The device a request came from: the `X-Device-Id` header handhelds send, else the
/// User-Agent. Recorded with sessions and audit records.
#[derive(Debug, Clone, Default)]
pub(crate) struct Device(pub Option<String>);

impl FromRequest for Device {
    type Error = actix_web::Error;
    type Future = Ready<Result<Device, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(Device(
            header_text(req, "x-device-id").or_else(|| header_text(req, "user-agent")),
        )))
    }
}

/// A header's text as recorded (sessions, audit): at most 200 characters.
pub(crate) fn header_text(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect())
}

/// The token of an `Authorization: Bearer` header, if the request carries one.
pub(crate) fn bearer_token(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string())
}

/// The JSON body extractor's settings: the size limit and our error mapping.
pub(crate) fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| json_error(&err).into())
}

pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| ApiError::bad_request(format!("malformed query: {err}")).into())
}

pub(crate) fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _| {
        ApiError::bad_request(format!("malformed path parameter: {err}")).into()
    })
}

/// Maps what actix's JSON extractor refuses to our statuses: 415 wrong content type, 413
/// too large, 400 not JSON, 422 JSON of the wrong shape.
fn json_error(err: &JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::ContentType => {
            ApiError::unsupported_media_type("send the body as Content-Type: application/json")
        }
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than the limit of {limit} bytes"),
        )
        .with_details(json!({"limit": limit})),
        JsonPayloadError::Deserialize(e) => json_body_error(e),
        other => ApiError::bad_request(format!("could not read the body: {other}")),
    }
}

/// A JSON body that could not be read: 422 when it is JSON of the wrong shape, 400 when it
/// is not JSON at all. Handlers that read a body themselves answer the same.
pub(crate) fn json_body_error(e: &serde_json::Error) -> ApiError {
    if e.is_data() {
        ApiError::invalid(
            "the JSON does not have the expected shape",
            json!([{"problem": e.to_string()}]),
        )
    } else {
        ApiError::new(ErrorCode::MalformedJson, format!("malformed JSON: {e}"))
    }
}
