//! The one API error type and its JSON envelope `{"error":{"code","message","details"}}`.
//!
//! Policy: every failure a client can see is an [`ApiError`] built from an [`ErrorCode`],
//! and the code decides the HTTP status, here and nowhere else. Codes are an enum, so no
//! code compares error strings. Internal failures are logged with their cause and answered
//! without it; the request had no effect.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Every machine-readable error code the API answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub(crate) enum ErrorCode {
    /// 400: a query, path or header that cannot be read.
    BadRequest,
    /// 400: a body that is not JSON at all.
    MalformedJson,
    /// 401: no token, or one unknown, expired or revoked.
    Unauthorized,
    /// 403: outside your role or region.
    Forbidden,
    /// 404.
    NotFound,
    /// 405, with `Allow`.
    MethodNotAllowed,
    /// 409: the request conflicts with what is stored.
    Conflict,
    /// 409: a unique key is taken.
    DuplicateKey,
    /// 409: the case's state does not allow the action (`details.allowed`).
    ActionNotAllowed,
    /// 409: the case changed since the version the request names (`details.case`).
    VersionConflict,
    /// 413.
    PayloadTooLarge,
    /// 414.
    UriTooLong,
    /// 415.
    UnsupportedMediaType,
    /// 422: well-formed but invalid; `details` lists every problem.
    ValidationFailed,
    /// 429.
    TooManyAttempts,
    /// 431.
    HeadersTooLarge,
    /// 500: the request had no effect.
    Internal,
    /// 503: transient; retry.
    Unavailable,
}

impl ErrorCode {
    pub(crate) fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            BadRequest | MalformedJson => StatusCode::BAD_REQUEST,
            Unauthorized => StatusCode::UNAUTHORIZED,
            Forbidden => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Conflict | DuplicateKey | ActionNotAllowed | VersionConflict => StatusCode::CONFLICT,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UriTooLong => StatusCode::URI_TOO_LONG,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code for an answer actix made itself, from its status alone.
    pub(crate) fn of_status(status: StatusCode) -> ErrorCode {
        use ErrorCode::*;
        match status {
            StatusCode::UNAUTHORIZED => Unauthorized,
            StatusCode::FORBIDDEN => Forbidden,
            StatusCode::NOT_FOUND => NotFound,
            StatusCode::METHOD_NOT_ALLOWED => MethodNotAllowed,
            StatusCode::CONFLICT => Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => PayloadTooLarge,
            StatusCode::URI_TOO_LONG => UriTooLong,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ValidationFailed,
            StatusCode::TOO_MANY_REQUESTS => TooManyAttempts,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => HeadersTooLarge,
            StatusCode::SERVICE_UNAVAILABLE => Unavailable,
            s if s.is_server_error() => Internal,
            _ => BadRequest,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Value,
    /// Seconds after which a retry may succeed, sent as `Retry-After` (429 and 503).
    pub retry_after: Option<u64>,
}

/// The JSON body of every error answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
    /// Structured detail: for `validation_failed`, the list of every problem found (each
    /// with `field` and `problem`); for conflicts and limits an object; otherwise null.
    #[schema(schema_with = details_schema)]
    pub details: Value,
}

/// `details` is an object, an array of problems, or null.
fn details_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([
            Type::Object,
            Type::Array,
            Type::Null,
        ]))
        .build()
}

impl ApiError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: Value::Null,
            retry_after: None,
        }
    }

    pub(crate) fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub(crate) fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    /// 422: well-formed but invalid; `problems` lists every problem, not just the first.
    pub(crate) fn invalid(message: impl Into<String>, problems: Value) -> Self {
        Self::new(ErrorCode::ValidationFailed, message).with_details(problems)
    }
    pub(crate) fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "internal error; the request had no effect",
        )
    }
    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }
    pub(crate) fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnsupportedMediaType, message)
    }

    pub(crate) fn envelope(&self) -> Value {
        serde_json::json!({"error": {"code": self.code, "message": self.message, "details": self.details}})
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status().as_u16(),
            self.code.as_str(),
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }
    fn error_response(&self) -> HttpResponse {
        let mut answer = HttpResponse::build(self.status());
        if let Some(seconds) = self.retry_after {
            answer.insert_header((actix_web::http::header::RETRY_AFTER, seconds));
        }
        answer.json(self.envelope())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => ApiError::not_found("no such record"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => ApiError::new(
                ErrorCode::DuplicateKey,
                "a record with this key exists already",
            )
            .with_details(serde_json::json!({"constraint": info.constraint_name()})),
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                ApiError::conflict("a concurrent change won; retry the request")
                    .with_details(serde_json::json!({"retry": true}))
            }
            other => {
                log::error!("database error: {other}");
                ApiError::internal()
            }
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        log::error!("database pool: {e}");
        ApiError::unavailable("the database is not answering; retry later")
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        log::error!("a blocking task panicked or was cancelled");
        ApiError::internal()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_as_their_names_and_carry_their_status() {
        assert_eq!(
            serde_json::to_value(ErrorCode::UnsupportedMediaType).unwrap(),
            "unsupported_media_type"
        );
        assert_eq!(ErrorCode::TooManyAttempts.as_str(), "too_many_attempts");
        let e = ApiError::new(ErrorCode::VersionConflict, "stale");
        assert_eq!(e.status(), StatusCode::CONFLICT);
        assert_eq!(e.envelope()["error"]["code"], "version_conflict");
        assert_eq!(
            ErrorCode::of_status(StatusCode::URI_TOO_LONG),
            ErrorCode::UriTooLong
        );
    }
}
