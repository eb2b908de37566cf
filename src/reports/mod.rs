//! Geotagged inspection reports from handhelds: validation, idempotent ingest, flags, and
//! the cases their failed items open.

pub(crate) mod access;
pub(crate) mod http;
pub(crate) mod ingest;
pub(crate) mod model;
pub(crate) mod store;
