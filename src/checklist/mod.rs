//! The versioned inspection checklist (202 items in the demo) and the departments its
//! items are routed to.

pub(crate) mod cache;
pub(crate) mod http;
pub mod model;
pub mod store;
