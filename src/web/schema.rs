//! Types that exist only to describe values precisely in the OpenAPI document (a pattern, a
//! format), where the handler takes plain strings and checks them itself.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// A photo's SHA-256 in hex.
#[allow(dead_code)] // a type of the OpenAPI document only
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

/// A schema-only type for a text parameter that takes one of a fixed list of values.
#[macro_export]
macro_rules! choices {
    ($(#[$doc:meta])* $name:ident: [$($value:literal),+ $(,)?]) => {
        $(#[$doc])*
        #[allow(dead_code)] // a type of the OpenAPI document only
        pub(crate) struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($value),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// An RFC 3339 time with an offset, e.g. `2026-11-28T10:15:30+08:00`.
#[allow(dead_code)] // a type of the OpenAPI document only
pub(crate) struct DateTime;

impl utoipa::PartialSchema for DateTime {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .into()
    }
}

impl utoipa::ToSchema for DateTime {}

/// A 14-digit region code (district, town, community or cell).
#[allow(dead_code)] // a type of the OpenAPI document only
pub(crate) struct RegionCodeText;

impl utoipa::PartialSchema for RegionCodeText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[0-9]{14}$"))
            .into()
    }
}

impl utoipa::ToSchema for RegionCodeText {}

crate::choices!(
    /// `wgs84` (GPS) or `gcj02` (Chinese map SDKs).
    CrsName: ["wgs84", "gcj02"]
);

crate::choices!(
    /// A case's status.
    StatusName: ["open", "claimed", "dispatched", "in_progress", "resolved", "closed", "rejected"]
);
crate::choices!(
    /// The tier of a dispatch centre.
    TierName: ["community", "town", "district"]
);
crate::choices!(
    /// A licence kind; `uscc` is taken as the business licence it is printed on.
    LicenceKindName: ["business_licence", "uscc", "food_business", "food_production", "tobacco_retail", "hygiene"]
);
