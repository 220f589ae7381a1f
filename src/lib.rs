//! Persona: customer-analytics SQL on Apache DataFusion.
//!
//! [`EngineBuilder`] returns a plain DataFusion `SessionContext` with Persona's functions
//! (crate `persona-udfs`) and a Parquet lake registered; [`generate`] writes the demo lake.
//!
//! The front ends are cargo features, both on by default: `cli` (the `persona` shell,
//! [`demo::run`], [`shell`] and the generator's progress bar; datafusion-cli, clap, indicatif)
//! and `server` ([`serve`], the Flight SQL server; tonic, arrow-flight, argon2, rustls). With
//! `default-features = false` the crate is DataFusion, the functions, the lake and the
//! generator.

mod arguments;
pub mod catalog;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod demo;
pub mod demo_lake;
pub mod depth;
mod engine;
mod file_errors;
pub mod generate;
#[cfg(any(feature = "cli", feature = "cluster", feature = "server"))]
pub mod json_text;
pub mod label_codes;
pub mod lake;
pub mod profile;
pub mod report;
#[cfg(feature = "server")]
pub mod serve;
pub mod settings;
#[cfg(feature = "cli")]
pub mod shell;
pub mod size;
pub mod store;
pub mod unpivot;
mod yields;

pub use engine::{EngineBuilder, COLLECT_BUILD_SIDE_BYTES, COLLECT_BUILD_SIDE_ROWS, LIST_FILES_CACHE_TTL};
