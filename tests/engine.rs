//! The engine builder and lake registration.

mod common;

use std::fs;

use datafusion::execution::memory_pool::MemoryLimit;
use persona::lake::register_lake;
use persona::EngineBuilder;

use common::{rows, test_engine, test_lake};

async fn build_error(builder: EngineBuilder) -> String {
    match builder.build().await {
        Ok(_) => panic!("the engine was built"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn registers_every_folder_as_a_table_with_partitions() {
    let ctx = EngineBuilder::new().build().await.expect("engine");
    let tables = register_lake(&ctx, &test_lake().display().to_string()).await.expect("lake");
    assert_eq!(
        tables,
        [
            "baskets",
            "campaign_contacts",
            "campaigns",
            "credit_scores",
            "customers",
            "fraud_labels",
            "planted_churn",
            "products",
            "transactions"
        ]
    );
    let schema = ctx.table("transactions").await.expect("table").schema().clone();
    assert!(schema.field_with_unqualified_name("month").is_ok(), "{schema}");
    // pruning on the partition column reads one month
    let months = rows(&ctx, "SELECT DISTINCT month FROM transactions WHERE month = '2025-11'").await;
    assert_eq!(months, [["2025-11"]]);
}

#[tokio::test]
async fn memory_limit_and_partitions_are_applied() {
    let ctx = EngineBuilder::new().memory_limit(64 << 20).target_partitions(3).build().await.expect("engine");
    assert!(matches!(ctx.runtime_env().memory_pool.memory_limit(), MemoryLimit::Finite(n) if n == 64 << 20));
    assert_eq!(ctx.state().config().target_partitions(), 3);
    let error = build_error(EngineBuilder::new().target_partitions(0)).await;
    assert!(error.contains("target partitions"), "{error}");
}

async fn collect_threshold_rows(ctx: &datafusion::prelude::SessionContext) -> Vec<Vec<String>> {
    let sql = "SELECT value FROM information_schema.df_settings \
               WHERE name = 'datafusion.optimizer.hash_join_single_partition_threshold_rows'";
    rows(ctx, sql).await
}

#[tokio::test]
async fn joins_collect_build_sides_of_millions_of_rows_unless_set_otherwise() {
    let ctx = EngineBuilder::new().build().await.expect("engine");
    assert_eq!(collect_threshold_rows(&ctx).await, [[persona::COLLECT_BUILD_SIDE_ROWS.to_string()]]);
    ctx.sql("SET datafusion.optimizer.hash_join_single_partition_threshold_rows = 1000").await.expect("set");
    assert_eq!(collect_threshold_rows(&ctx).await, [["1000"]]);
}

#[tokio::test]
async fn a_query_larger_than_the_memory_pool_fails_cleanly() {
    let ctx = EngineBuilder::new()
        .lake(test_lake().display().to_string())
        .memory_limit(256 << 10)
        .build()
        .await
        .expect("engine");
    let result = ctx
        .sql("SELECT customer_id, array_agg(txn_id) FROM transactions GROUP BY customer_id")
        .await
        .expect("plan")
        .collect()
        .await;
    let error = result.expect_err("256 KiB is not enough to hold every customer's transactions");
    assert!(error.to_string().contains("Resources exhausted"), "{error}");
}

#[tokio::test]
async fn file_urls_work_and_other_schemes_are_refused_clearly() {
    let url = format!("file://{}", test_lake().canonicalize().expect("path").display());
    let ctx = EngineBuilder::new().lake(url).build().await.expect("file:// lake");
    assert_eq!(rows(&ctx, "SELECT count(*) FROM products").await, [["42"]]);
    let error = build_error(EngineBuilder::new().lake("ftp://host/lake")).await;
    assert!(error.contains("scheme 'ftp' is not supported"), "{error}");
}

#[tokio::test]
async fn a_missing_lake_is_a_clear_error() {
    let error = build_error(EngineBuilder::new().lake("/nonexistent/lake")).await;
    assert!(error.contains("lake directory /nonexistent/lake does not exist"), "{error}");
}

#[tokio::test]
async fn a_corrupt_parquet_file_is_named() {
    let lake = tempfile::tempdir().expect("tempdir");
    let table = lake.path().join("accounts");
    fs::create_dir_all(&table).expect("mkdir");
    let ctx = test_engine().await;
    ctx.sql(&format!("COPY (SELECT 1 AS id) TO '{}' STORED AS PARQUET", table.join("good.parquet").display()))
        .await
        .expect("plan copy")
        .collect()
        .await
        .expect("copy");
    fs::write(table.join("broken.parquet"), b"PAR1 this is not a parquet file PAR1").expect("write");
    // footers are read when a statement first names the table, and its planning fails
    let ctx = EngineBuilder::new().lake(lake.path().display().to_string()).build().await.expect("engine");
    let error = ctx.sql("SELECT * FROM accounts").await.expect_err("corrupt").to_string();
    assert!(error.contains("accounts/broken.parquet"), "{error}");
    // the table is retried, not remembered as broken: mended, it reads
    fs::remove_file(table.join("broken.parquet")).expect("rm");
    ctx.runtime_env().cache_manager.get_list_files_cache().expect("listing cache").clear();
    assert_eq!(rows(&ctx, "SELECT id FROM accounts").await, [["1"]]);
}

#[tokio::test]
async fn unknown_tables_and_bad_sql_are_errors_not_panics() {
    let ctx = test_engine().await;
    let error = ctx.sql("SELECT * FROM no_such_table").await.expect_err("unknown table");
    assert!(error.to_string().contains("no_such_table"), "{error}");
    assert!(ctx.sql("SELEC 1").await.is_err());
}

#[tokio::test]
async fn empty_and_hidden_folders_are_skipped() {
    let lake = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(lake.path().join("empty")).expect("mkdir");
    fs::create_dir_all(lake.path().join("_staging")).expect("mkdir");
    let ctx = EngineBuilder::new().build().await.expect("engine");
    let tables = register_lake(&ctx, &lake.path().display().to_string()).await.expect("lake");
    assert!(tables.is_empty(), "{tables:?}");
}

#[tokio::test]
async fn truncated_and_foreign_files_are_named() {
    let lake = tempfile::tempdir().expect("tempdir");
    let table = lake.path().join("scores");
    fs::create_dir_all(&table).expect("mkdir");
    let good = fs::read(test_lake().join("products/part-00000.parquet")).expect("read");
    for (name, bytes) in [
        ("truncated.parquet", good[..good.len() / 2].to_vec()),
        ("text.parquet", b"customer_id,score\n1,600\n".to_vec()),
        ("tiny.parquet", b"PAR1".to_vec()),
    ] {
        fs::write(table.join(name), &bytes).expect("write");
        let ctx = EngineBuilder::new().lake(lake.path().display().to_string()).build().await.expect("engine");
        let error = ctx.sql("SELECT count(*) FROM scores").await.expect_err("unreadable").to_string();
        assert!(error.contains(&format!("scores/{name}")), "{error}");
        fs::remove_file(table.join(name)).expect("rm");
    }
}
