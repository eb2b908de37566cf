//! Cases: what a failed check or a licence finding becomes, and its way through the
//! community, town and district dispatch centres to a department and back to the
//! inspector who verifies it. The rules are in `model` (pure); `store` keeps cases and
//! their append-only timeline.

pub mod model;
pub mod store;
