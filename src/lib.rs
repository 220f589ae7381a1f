//! Persona: customer-analytics SQL on Apache DataFusion.
//!
//! [`EngineBuilder`] returns a plain DataFusion `SessionContext` with Persona's functions
//! (crate `persona-udfs`) and a Parquet lake registered; [`generate`] writes the demo lake;
//! the front ends (shell, demo) are thin layers over both.

pub mod catalog;
pub mod demo;
pub mod demo_lake;
mod engine;
pub mod generate;
pub mod lake;
pub mod serve;
pub mod size;

pub use engine::{EngineBuilder, COLLECT_BUILD_SIDE_BYTES, COLLECT_BUILD_SIDE_ROWS};
