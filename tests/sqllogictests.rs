//! Runs tests/sql/*.slt against the engine on the shared test lake and prints
//! `N passed, N failed`. `cargo test --test sqllogictests -- FILTER` runs the files whose
//! name contains FILTER.

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sql");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/sql")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .filter(|p| filter.as_ref().is_none_or(|f| p.to_string_lossy().contains(f.as_str())))
        .collect();
    files.sort();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let result = runtime.block_on(async {
            let ctx = common::test_engine().await;
            common::run_slt(&ctx, &file).await
        });
        match result {
            Ok(()) => {
                passed += 1;
                println!("ok      {name}");
            }
            Err(e) => {
                failed += 1;
                println!("FAILED  {name}\n{e}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
