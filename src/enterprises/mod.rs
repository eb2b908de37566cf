//! The enterprise library and the numbers printed on licences.

pub(crate) mod check;
pub(crate) mod http;
pub mod import;
pub(crate) mod model;
pub mod numbers;
pub mod store;
