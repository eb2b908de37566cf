//! Statistics (issue 5, item 7): how departments perform on the cases dispatched to them
//! (结案率, 按期结案率, 返工, 回退, 延期) and where in the grid the cases come from.
//!
//! It owns no table: it reads cases and their append-only timeline, which the `cases`
//! module writes. `model` holds the formulas and who may ask (pure), `store` the
//! aggregating queries (the database counts; nothing loads every case), `http` the
//! answers in JSON, GeoJSON and CSV. It must never change a case. Every formula is
//! documented in docs/statistics.md.

pub(crate) mod http;
pub(crate) mod model;
pub(crate) mod store;
