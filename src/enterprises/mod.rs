//! The enterprise library: its import, one licence cross-check against it, its store, and
//! the endpoints that search, view and check it (every lookup audited).

pub(crate) mod check;
pub(crate) mod http;
pub mod import;
pub mod store;
