//! The append-only audit log: who looked up enterprise or personal data, when, from which
//! device, what they asked, how many records came back, and why (the Nanhai rule: leave a
//! trace of every query). Records are written in the same transaction as nothing else, but
//! before the answer leaves: an answer is never given without its trace. Nothing updates
//! or deletes a record; the database refuses it too (triggers in the migration).

pub mod http;
pub mod store;

use std::future::{ready, Ready};

use actix_web::{FromRequest, HttpRequest};

/// The device a request came from: the `X-Device-Id` header handhelds send, else the
/// User-Agent.
#[derive(Debug, Clone, Default)]
pub struct Device(pub Option<String>);

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
