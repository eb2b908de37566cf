//! gridpatrol: the backend for community grid inspection (网格化巡查). This file is the
//! module list; `startup` builds the application. See docs/architecture.md.

pub mod audit;
pub mod auth;
pub(crate) mod bounded;
pub mod cases;
pub mod checklist;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod enterprises;
pub mod grid;
pub mod import;
pub mod licences;
pub mod photos;
pub mod region;
pub mod reports;
pub mod startup;
pub mod stats;
pub mod web;

pub use startup::{prepare, server};
