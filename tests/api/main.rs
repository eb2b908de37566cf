//! The HTTP integration suite: one binary, a module per area, every test on SQLite and
//! (when GRIDPATROL_TEST_PG_URL is set) on PostgreSQL.

mod harness;

mod auth;
mod cases;
mod checklist;
mod durability;
mod enterprises;
mod errors;
mod grid;
mod hardening;
mod openapi;
mod photo_fixtures;
mod photos;
pub mod reports;
mod schemas;
mod stats;
