//! Who is asking: users and roles, passwords, bearer tokens, and the scoping rules every
//! endpoint applies. Other modules take a `Principal` and ask it; they never read tokens.

pub mod cache;
pub mod http;
pub mod model;
pub mod password;
pub mod store;

pub use model::{Principal, Role};
