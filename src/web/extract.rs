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

/// Where the client's address is read from: the connection's peer, or, behind a load
/// balancer, the last entry of a header it appends (e.g. `X-Forwarded-For`), which a client
/// cannot forge past the balancer.
#[derive(Debug, Clone, Default)]
pub struct AddressSource {
    pub header: Option<String>,
}

/// The client's address, as `AddressSource` says to read it ("unknown" when there is none).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

impl FromRequest for ClientAddress {
    type Error = actix_web::Error;
    type Future = Ready<Result<ClientAddress, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let from_header = req
            .app_data::<web::Data<AddressSource>>()
            .and_then(|source| source.header.as_deref())
            .and_then(|name| header_text(req, name))
            .and_then(|list| list.rsplit(',').next().map(|a| a.trim().to_string()))
            .filter(|a| !a.is_empty());
        let address = from_header
            .or_else(|| req.peer_addr().map(|a| a.ip().to_string()))
            .unwrap_or_else(|| "unknown".into());
        ready(Ok(ClientAddress(address)))
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

/// The 413 for a body over `limit` bytes.
pub fn body_too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the body is larger than the limit of {limit} bytes"),
    )
    .with_details(json!({"limit": limit}))
}

/// The body's length as its `Content-Length` declares it, when that is the length to be
/// read (not of a compressed body).
pub fn declared_length(req: &HttpRequest) -> Option<usize> {
    if req
        .headers()
        .contains_key(actix_web::http::header::CONTENT_ENCODING)
    {
        return None;
    }
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// Reads a body that the handler has decided to accept (after authentication and every
/// other check), at most `limit` bytes after decompression: a body over it answers 413
/// without being held whole, and a declared length over it without being read at all.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    use futures_util::StreamExt;
    let declared = declared_length(req);
    if declared.is_some_and(|n| n > limit) {
        return Err(body_too_large(limit));
    }
    // Sized once when the length is known, so the buffer never grows to twice the body.
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(body_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A JSON request body of type `T`, read under the configured limit and checked before it
/// is typed: no string may hold a NUL (PostgreSQL cannot store one, and a handheld would
/// retry such a report forever), and a number with a zero fraction (`2.0`) is taken as the
/// integer it is. Refusals are the envelope's: 400 not JSON, 413, 415, 422.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T> Body<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Body<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Body<T>, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let value = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            Ok(Body(typed(value)?))
        })
    }
}

/// Checks and types a JSON value as [`Body`] does.
pub fn typed<T: serde::de::DeserializeOwned>(mut value: serde_json::Value) -> Result<T, ApiError> {
    let mut nul_at = Vec::new();
    scrub(&mut value, "", &mut nul_at);
    if !nul_at.is_empty() {
        let problems: Vec<_> = nul_at
            .iter()
            .map(|at| json!({"field": at, "problem": "contains a NUL character (\\u0000)"}))
            .collect();
        return Err(ApiError::invalid(
            "text may not contain NUL characters",
            serde_json::Value::Array(problems),
        ));
    }
    serde_json::from_value(value).map_err(|e| json_body_error(&e))
}

/// Lists the fields whose text holds a NUL, and turns integral floats into integers.
fn scrub(value: &mut serde_json::Value, at: &str, nul_at: &mut Vec<String>) {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => nul_at.push(at.to_string()),
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                scrub(item, &format!("{at}[{i}]"), nul_at);
            }
        }
        Value::Object(map) => {
            let keys_with_nul: Vec<String> =
                map.keys().filter(|k| k.contains('\0')).cloned().collect();
            for key in keys_with_nul {
                nul_at.push(format!("{at}.{}", key.replace('\0', "\\u0000")));
            }
            for (key, item) in map.iter_mut() {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                scrub(item, &path, nul_at);
            }
        }
        _ => {}
    }
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
