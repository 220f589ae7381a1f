//! Broken lakes: one file of `transactions` truncated, with a bad magic, not Parquet at all, from
//! another table, or with its data pages zeroed. The shell exits non-zero with a clear error
//! naming the file — whether the fault shows in the footer, the schema or a page — and a query
//! that does not read the broken table still runs. RELIABILITY.md records what each fault gives.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A copy of the test lake that a case may break.
fn lake_copy(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("folder");
    let lake = dir.join("lake");
    let status = Command::new("cp").arg("-r").arg(common::test_lake()).arg(&lake).status().expect("cp");
    assert!(status.success());
    lake
}

fn shell(lake: &Path, sql: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_persona"))
        .args(["--lake", &lake.display().to_string(), "-q", "--format", "csv", "-c", sql])
        .output()
        .expect("run persona")
}

/// The file every case breaks, and one file of another table.
fn victim(lake: &Path) -> (PathBuf, PathBuf) {
    let month = lake.join("transactions").join("month=2025-07");
    let file = std::fs::read_dir(&month)
        .expect("month folder")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .expect("a parquet file");
    let other = std::fs::read_dir(lake.join("customers"))
        .expect("customers")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .expect("a customers file");
    (file, other)
}

#[test]
fn a_broken_file_fails_its_table_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = lake_copy(dir.path());
    let (file, other) = victim(&lake);
    let original = std::fs::read(&file).expect("read");
    let name = file.display().to_string();
    let query = "SELECT count(*), round(sum(amount), 2) FROM transactions";

    let healthy = shell(&lake, query);
    assert!(healthy.status.success(), "{}", String::from_utf8_lossy(&healthy.stderr));

    // every data byte between the leading magic and the footer zeroed
    let footer_len = u32::from_le_bytes(original[original.len() - 8..original.len() - 4].try_into().expect("4 bytes"));
    let data_end = original.len() - 8 - usize::try_from(footer_len).expect("length");
    let mut zeroed = original.clone();
    zeroed[4..data_end].fill(0);
    // the first data page of `amount` zeroed, footer and page index intact: the fault shows only
    // while the page is decoded
    let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&std::fs::File::open(&file).expect("open"))
        .expect("footer");
    let amount = metadata
        .row_group(0)
        .columns()
        .iter()
        .find(|c| c.column_path().string() == "amount")
        .expect("an amount column");
    let page = usize::try_from(amount.data_page_offset()).expect("offset");
    let mut page_zeroed = original.clone();
    page_zeroed[page..page + 64].fill(0);
    let mut bad_magic = original.clone();
    let end = bad_magic.len();
    bad_magic[end - 4..].copy_from_slice(b"XXXX");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", original[..original.len() / 3].to_vec(), "does not end with the Parquet magic"),
        ("bad magic", bad_magic, "does not end with the Parquet magic"),
        ("not parquet", b"hello".to_vec(), "too small for Parquet"),
        ("another table's file", std::fs::read(&other).expect("read"), "do not have (files of one table must agree)"),
        // the page index lies between the data and the footer: caught when the table is named
        ("data and page index zeroed", zeroed, "Required field"),
        // caught by DataFusion's reader, whose error Persona's scans name the file in
        // (src/file_errors.rs)
        ("a data page zeroed", page_zeroed, "Required field type_ is missing"),
    ];
    for (case, bytes, message) in cases {
        std::fs::write(&file, &bytes).expect("break the file");
        let broken = shell(&lake, query);
        let stderr = String::from_utf8_lossy(&broken.stderr).to_string();
        assert!(!broken.status.success(), "{case}: the query succeeded: {}", String::from_utf8_lossy(&broken.stdout));
        assert!(stderr.starts_with("Error: "), "{case}: {stderr}");
        assert!(!stderr.contains("panicked"), "{case}: {stderr}");
        assert!(stderr.contains(message) && stderr.contains(&name), "{case}: {stderr}");
        // the rest of the lake still answers
        let others = shell(&lake, "SELECT count(*) AS n FROM customers");
        assert!(others.status.success(), "{case}: {}", String::from_utf8_lossy(&others.stderr));
        assert_eq!(String::from_utf8_lossy(&others.stdout), format!("n\n{}\n", common::TEST_CUSTOMERS));
    }

    std::fs::write(&file, &original).expect("restore");
    let restored = shell(&lake, query);
    assert_eq!(restored.stdout, healthy.stdout, "the restored file answers as before");
}

/// The error of running `sql` on `lake` with `between` done after planning and before execution
/// (files are listed when the query is planned).
async fn fault_between_planning_and_running(lake: &Path, sql: &str, between: impl FnOnce()) -> Result<usize, String> {
    let ctx =
        persona::EngineBuilder::new().lake(lake.display().to_string()).build().await.map_err(|e| e.to_string())?;
    let frame = ctx.sql(sql).await.map_err(|e| e.to_string())?;
    let plan = frame.create_physical_plan().await.map_err(|e| e.to_string())?;
    between();
    let batches = datafusion::physical_plan::collect(plan, ctx.task_ctx()).await.map_err(|e| e.to_string())?;
    Ok(batches.iter().map(|b| b.num_rows()).sum())
}

/// A file deleted or rewritten while a query runs, and a table folder holding a link to nowhere:
/// a clear error, naming the file where the fault shows while listing or opening it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_deleted_or_rewritten_during_a_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = lake_copy(dir.path());
    let (file, other) = victim(&lake);
    let name = file.display().to_string();
    let sql = "SELECT customer_id, amount FROM transactions";

    let _ = other;
    let deleted = fault_between_planning_and_running(&lake, sql, || std::fs::remove_file(&file).expect("delete")).await;
    let error = deleted.expect_err("a deleted file fails the query");
    eprintln!("deleted: {error}");
    assert!(error.contains(&name), "the deleted file is named: {error}");

    // rewritten with another table's file (other columns, another length)
    let lake = lake_copy(&dir.path().join("second"));
    let (file, other) = victim(&lake);
    let rewritten =
        fault_between_planning_and_running(&lake, sql, || std::fs::copy(&other, &file).map(drop).expect("rewrite"))
            .await;
    let error = rewritten.expect_err("a file rewritten with another schema fails the query");
    eprintln!("rewritten: {error}");
    assert!(error.contains(&file.display().to_string()), "the rewritten file is named: {error}");

    // a month folder that is a link to nowhere
    let lake = lake_copy(&dir.path().join("third"));
    std::os::unix::fs::symlink("/nonexistent/persona", lake.join("transactions").join("month=2026-13")).expect("link");
    let output = shell(&lake, "SELECT count(*) FROM transactions");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    eprintln!("dangling link: {stderr}");
    assert!(!output.status.success(), "a dangling link fails the table");
    assert!(stderr.contains("month=2026-13") && !stderr.contains("panicked"), "{stderr}");
    let other_table = shell(&lake, "SELECT count(*) FROM customers");
    assert!(other_table.status.success(), "{}", String::from_utf8_lossy(&other_table.stderr));
}
