//! Geotagged inspection reports from handhelds: validation, idempotent ingest, flags, and
//! the cases their failed items open.

pub mod http;
pub mod model;
pub mod store;
