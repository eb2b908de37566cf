//! Who is asking: users and roles, passwords, bearer tokens and sessions, and the scoping
//! rules every endpoint applies. Other modules take a `Principal` and ask it; they never
//! read tokens.

pub(crate) mod extract;
pub(crate) mod http;
pub(crate) mod login;
pub(crate) mod model;
pub mod password;
pub(crate) mod sessions;
pub mod store;

pub(crate) use model::{Principal, Reach, Role};
