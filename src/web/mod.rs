//! What every handler shares and no domain owns: the error envelope and its codes, the
//! token, device and body extractors, content negotiation, paging cursors, GeoJSON answers,
//! and the builder of the route table (routes and their OpenAPI entries together).

pub mod error;
pub mod extract;
pub mod geo;
pub mod negotiate;
pub mod paging;
pub mod routes;

pub use error::{ApiError, ApiResult, ErrorCode, ErrorEnvelope};
