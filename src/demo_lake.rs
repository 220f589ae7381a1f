//! The embedded default demo lake: generated once into the user cache directory so that
//! `persona` and `persona demo` work on a fresh machine without arguments.

use std::path::PathBuf;

use datafusion::common::{plan_err, Result};

use crate::generate::{generate, GenerateOptions, GENERATOR_VERSION};

pub const DEMO_CUSTOMERS: i64 = 20_000;
pub const DEMO_SEED: u64 = 42;
pub const DEMO_MONTHS: usize = 12;

/// `$PERSONA_CACHE_DIR` or the user cache directory (`~/.cache/persona` on Linux), with a
/// folder name that changes whenever the generator's output does.
///
/// # Errors
/// When no cache directory can be determined.
pub fn demo_lake_dir() -> Result<PathBuf> {
    let base = match std::env::var_os("PERSONA_CACHE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => match dirs::cache_dir() {
            Some(dir) => dir.join("persona"),
            None => {
                return plan_err!(
                    "no cache directory for the demo lake found; set PERSONA_CACHE_DIR or use a lake of your own"
                )
            }
        },
    };
    Ok(base.join(format!("demo-lake-v{GENERATOR_VERSION}-{DEMO_CUSTOMERS}-seed{DEMO_SEED}")))
}

/// The demo lake's directory, generating it first if it is missing (with a one-line
/// notice on stderr unless `quiet`).
///
/// # Errors
/// When the lake cannot be generated.
pub fn ensure_demo_lake(quiet: bool) -> Result<PathBuf> {
    let dir = demo_lake_dir()?;
    if dir.join("_truth.json").is_file() {
        return Ok(dir);
    }
    if !quiet {
        eprintln!(
            "persona: generating the demo lake ({DEMO_CUSTOMERS} customers, {DEMO_MONTHS} months) once into {}",
            dir.display()
        );
    }
    let options = GenerateOptions {
        out: dir.clone(),
        customers: DEMO_CUSTOMERS,
        seed: DEMO_SEED,
        months: DEMO_MONTHS,
        force: dir.exists(), // an incomplete earlier copy
        progress: !quiet,
    };
    match generate(&options) {
        Ok(_) => Ok(dir),
        // another process finished it meanwhile
        Err(_) if dir.join("_truth.json").is_file() => Ok(dir),
        Err(e) => Err(e),
    }
}
