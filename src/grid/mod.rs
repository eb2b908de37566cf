//! The grid map (district → towns → communities → cells), locating points in it, and the
//! coordinate systems handhelds report in.

pub mod coords;
pub(crate) mod http;
pub mod index;
pub(crate) mod model;
pub mod store;
