//! Geotagged inspection reports from handhelds: validation, idempotent ingest, flags, and
//! the cases their failed items open.

pub mod access;
pub mod http;
pub mod ingest;
pub mod model;
pub mod store;
