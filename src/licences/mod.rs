//! What is printed on a licence and what a reading of it means, before any library is
//! asked: the number formats and check characters (GB 32100, GB 11714, GB/T 17710, GB 11643)
//! and the verdicts of a cross-check. Pure: no I/O. The enterprise library, the cases a
//! verdict opens and the reports that saw it all build on this.

pub(crate) mod model;
pub mod numbers;
