//! The enterprise library and the numbers printed on licences.

pub mod generator;
pub mod numbers;
