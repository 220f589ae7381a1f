//! The small generated lake the integration tests share.

#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use datafusion_sqllogictest::{df_value_validator, value_normalizer, DataFusion};
use indicatif::ProgressBar;
use sqllogictest::strict_column_validator;

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use persona::generate::{generate, GenerateOptions, GENERATOR_VERSION};
use persona::EngineBuilder;

pub const TEST_CUSTOMERS: i64 = 3_000;
pub const TEST_SEED: u64 = 7;
pub const TEST_MONTHS: usize = 12;

/// A venv under target/tmp named `name` with `packages` from PyPI, created on first use (the
/// only steps of the test suite that need Python and the package index); its directory.
pub fn python_venv(name: &str, packages: &[&str]) -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let ready = venv.join(".persona-installed-1");
    if !ready.exists() {
        let run = |program: &Path, args: &[&str]| {
            let status = std::process::Command::new(program).args(args).status();
            let status = status.unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
            assert!(status.success(), "{} {args:?} failed", program.display());
        };
        run(Path::new("python3"), &["-m", "venv", "--clear", &venv.display().to_string()]);
        let mut install = vec!["-m", "pip", "install", "--quiet", "--disable-pip-version-check"];
        install.extend_from_slice(packages);
        run(&venv.join("bin").join("python"), &install);
        std::fs::write(&ready, b"").expect("mark the venv ready");
    }
    venv
}

/// The test lake (3,000 customers, seed 7, 12 months), generated once under
/// target/tmp and reused while the generator version stays the same.
pub fn test_lake() -> PathBuf {
    static LAKE: OnceLock<PathBuf> = OnceLock::new();
    LAKE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("test-lake-v{GENERATOR_VERSION}-{TEST_CUSTOMERS}-seed{TEST_SEED}"));
        if !dir.join("_truth.json").is_file() {
            generate(&GenerateOptions {
                out: dir.clone(),
                customers: TEST_CUSTOMERS,
                seed: TEST_SEED,
                months: TEST_MONTHS,
                force: true,
                progress: false,
            })
            .expect("generate the test lake");
        }
        dir
    })
    .clone()
}

/// A lake of the demo's size (20,000 customers, seed 42, 12 months) for the tests whose
/// statistics need it, generated once under target/tmp.
pub fn demo_size_lake() -> PathBuf {
    static LAKE: OnceLock<PathBuf> = OnceLock::new();
    LAKE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("demo-size-lake-v{GENERATOR_VERSION}-20000-seed42"));
        if !dir.join("_truth.json").is_file() {
            generate(&GenerateOptions {
                out: dir.clone(),
                customers: 20_000,
                seed: 42,
                months: 12,
                force: true,
                progress: false,
            })
            .expect("generate the demo-size lake");
        }
        dir
    })
    .clone()
}

/// What the generator planted in the test lake.
pub fn test_truth() -> persona::generate::truth::Truth {
    let json = std::fs::read_to_string(test_lake().join("_truth.json")).expect("_truth.json");
    serde_json::from_str(&json).expect("truth json")
}

pub async fn test_engine() -> SessionContext {
    EngineBuilder::new().lake(test_lake().display().to_string()).build().await.expect("engine on the test lake")
}

/// Runs `sql` and returns every row as strings (NULL as "NULL").
pub async fn rows(ctx: &SessionContext, sql: &str) -> Vec<Vec<String>> {
    let batches = ctx.sql(sql).await.expect("plan").collect().await.expect("execute");
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for batch in batches {
        let formatters: Vec<_> =
            batch.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formatter")).collect();
        for row in 0..batch.num_rows() {
            out.push(formatters.iter().map(|f| f.value(row).to_string()).collect());
        }
    }
    out
}

/// The single value of a one-row, one-column query, as f64.
pub async fn scalar_f64(ctx: &SessionContext, sql: &str) -> f64 {
    let rows = rows(ctx, sql).await;
    assert_eq!(rows.len(), 1, "{sql} returned {} rows", rows.len());
    rows[0][0].parse().unwrap_or_else(|_| panic!("{sql} returned {:?}", rows[0][0]))
}

/// Runs one sqllogictest file (tests/sql/*.slt) against `ctx`.
///
/// # Errors
/// The runner's report of the first record that failed.
pub async fn run_slt(ctx: &SessionContext, file: &Path) -> Result<(), String> {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut runner = sqllogictest::Runner::new(|| {
        let ctx = ctx.clone();
        let name = name.clone();
        async move { Ok(DataFusion::new(ctx, PathBuf::from(name), ProgressBar::hidden())) }
    });
    runner.with_column_validator(strict_column_validator);
    runner.with_normalizer(value_normalizer);
    runner.with_validator(df_value_validator);
    runner.run_file_async(file).await.map_err(|e| e.to_string())
}
