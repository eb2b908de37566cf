//! Types that exist only to describe values precisely in the OpenAPI document (a pattern, a
//! format), where the handler takes plain strings and checks them itself.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// A photo's SHA-256 in hex.
pub(crate) struct Sha256Hex;

impl utoipa::PartialSchema for Sha256Hex {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[0-9a-fA-F]{64}$"))
            .min_length(Some(64))
            .max_length(Some(64))
            .description(Some("a photo's SHA-256 in hex"))
            .into()
    }
}

impl utoipa::ToSchema for Sha256Hex {}
