//! What every handler shares and no domain owns: the error envelope and its codes, the
//! token, device and body extractors, content negotiation, paging cursors, GeoJSON answers,
//! and the builder of the route table (routes and their OpenAPI entries together).

pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod geo;
pub(crate) mod negotiate;
pub(crate) mod paging;
pub(crate) mod routes;
pub(crate) mod schema;
