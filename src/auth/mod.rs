//! Who is asking: users and roles, passwords, bearer tokens and sessions, and the scoping
//! rules every endpoint applies. Other modules take a `Principal` and ask it; they never
//! read tokens.

pub mod extract;
pub mod http;
pub mod model;
pub mod password;
pub mod sessions;
pub mod store;

pub use model::{Principal, Reach, Role};
