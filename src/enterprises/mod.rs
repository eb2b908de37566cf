//! The enterprise library and the numbers printed on licences.

pub mod check;
pub mod http;
pub mod import;
pub mod model;
pub mod numbers;
pub mod store;
