//! Cases: what a failed check or a licence finding becomes, and its way through the
//! community, town and district dispatch centres to a department and back to the
//! inspector who verifies it. The rules are in `model` (pure) and `scope` (who sees what,
//! pure); `store` keeps cases and their append-only timeline; `http` serves the life cycle
//! and the queues; `timers` marks overdue cases and escalates them.

pub mod http;
pub mod model;
pub mod scope;
pub mod store;
pub mod timers;
