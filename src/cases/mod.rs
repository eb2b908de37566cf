//! Cases: what a failed check or a licence finding becomes, and its way through the
//! community, town and district dispatch centres to a department and back to the
//! inspector who verifies it. The life cycle is `model` (pure), who sees what is `scope`
//! (pure), which case a finding opens is `rules` (pure); `store` keeps cases and their
//! append-only timeline; `http` serves the life cycle and the queues; `sweep` marks
//! overdue cases and escalates them.

pub(crate) mod http;
pub mod model;
pub(crate) mod rules;
pub(crate) mod scope;
pub mod store;
pub mod sweep;
