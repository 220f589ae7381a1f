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

/// A wide table unpivoted into (label, value) rows by a `UNION ALL`, per-label parameters, and
/// the long-form queries over them: each must give the same rows with
/// `persona.split_unpivot_aggregates` on (the default) and off.
const UNPIVOT_TABLES: &[&str] = &[
    "CREATE TABLE wide (month INT, a DOUBLE, b DOUBLE, c DOUBLE) AS VALUES \
     (1, 1.0, 10.0, NULL), (1, 2.0, NULL, 7.0), (2, 3.0, 30.0, 8.0), (2, NULL, 40.0, 9.0), (3, 5.0, 50.0, 1.0)",
    // no row for c; a NULL label; d has no branch
    "CREATE TABLE params (feature VARCHAR, month INT, cut DOUBLE) AS VALUES \
     ('a', 1, 1.5), ('a', 2, 2.5), ('b', 2, 35.0), ('b', 3, 45.0), (NULL, 1, 0.0), ('d', 1, 9.0)",
    "CREATE VIEW params_utf8 AS SELECT arrow_cast(feature, 'Utf8') AS feature, month, cut FROM params",
    "CREATE VIEW long AS \
     SELECT month, 'a' AS feature, a AS value FROM wide \
     UNION ALL SELECT month, 'b' AS feature, b AS value FROM wide \
     UNION ALL SELECT month, 'c' AS feature, c AS value FROM wide",
    // the branches after the first unnamed, as the union takes its names from the first
    "CREATE VIEW renamed AS \
     SELECT month, 'a' AS feature, a AS value FROM wide UNION ALL SELECT month, 'b', b FROM wide",
    "CREATE VIEW doubled AS \
     SELECT month, 'a' AS feature, a AS value FROM wide \
     UNION ALL SELECT month, 'a' AS feature, b AS value FROM wide",
];

async fn unpivot_engine() -> datafusion::prelude::SessionContext {
    let ctx = EngineBuilder::new().build().await.expect("engine");
    for sql in UNPIVOT_TABLES {
        ctx.sql(sql).await.expect("plan").collect().await.expect("create");
    }
    ctx
}

/// The optimized logical plan of `sql`, and its rows — the same with the setting `persona.<setting>`
/// on (the default) and off.
async fn answers_on_and_off(
    ctx: &datafusion::prelude::SessionContext,
    setting: &str,
    sql: &str,
) -> (String, Vec<Vec<String>>) {
    let set = |value: bool| format!("SET persona.{setting} = {value}");
    ctx.sql(&set(true)).await.expect("set");
    let plan = ctx.sql(sql).await.expect("plan").into_optimized_plan().expect("optimize").display_indent().to_string();
    let rewritten = rows(ctx, sql).await;
    ctx.sql(&set(false)).await.expect("set");
    let plain = rows(ctx, sql).await;
    ctx.sql(&set(true)).await.expect("set");
    assert_eq!(rewritten, plain, "{sql}\n{plan}");
    (plan, rewritten)
}

async fn unpivot_answers(ctx: &datafusion::prelude::SessionContext, sql: &str) -> (String, Vec<Vec<String>>) {
    answers_on_and_off(ctx, "split_unpivot_aggregates", sql).await
}

#[tokio::test]
async fn unpivot_aggregates_are_planned_a_branch_at_a_time_with_the_same_answers() {
    let ctx = unpivot_engine().await;
    // joined on the label alone, grouped by the label and another key: no join or grouping on it
    let sql = "SELECT l.feature, l.month, count(l.value) AS n, sum(l.value * p.cut) AS s, max(p.cut) AS m \
               FROM long l JOIN params p ON l.feature = p.feature GROUP BY l.feature, l.month ORDER BY 1, 2";
    let (plan, answer) = unpivot_answers(&ctx, sql).await;
    assert!(!plan.contains("Inner Join: l.feature = p.feature"), "{plan}");
    // VARCHAR is Utf8View, the labels Utf8: the join casts them, and the filter compares them cast
    assert!(plan.contains("Filter: params.feature = Utf8View(\"b\")"), "{plan}");
    assert!(plan.contains("Aggregate: groupBy=[[l.month]]"), "{plan}");
    assert_eq!(
        answer,
        [
            // each value meets both of its label's cut points
            ["a", "1", "4", "12.0", "2.5"],
            ["a", "2", "2", "12.0", "2.5"],
            ["a", "3", "2", "20.0", "2.5"],
            ["b", "1", "2", "800.0", "45.0"],
            ["b", "2", "4", "5600.0", "45.0"],
            ["b", "3", "2", "4000.0", "45.0"],
        ]
    );
    let renamed = sql.replace("FROM long l", "FROM renamed l");
    let (plan, renamed_answer) = unpivot_answers(&ctx, &renamed).await;
    assert!(!plan.contains("Inner Join: l.feature = p.feature"), "{plan}");
    assert_eq!(renamed_answer, answer);
    // parameters of the labels' own type: no cast
    let utf8 = sql.replace("JOIN params p", "JOIN params_utf8 p");
    let (plan, utf8_answer) = unpivot_answers(&ctx, &utf8).await;
    assert!(!plan.contains("Join: l.feature") && plan.contains("Cross Join"), "{plan}");
    assert_eq!(utf8_answer, answer);
    // the parameters' key grouped on, a second key pair kept, the union on the right
    let sql = "SELECT p.feature, count(*) AS n, sum(l.value) AS s FROM params p JOIN long l \
               ON p.feature = l.feature AND p.month = l.month GROUP BY p.feature ORDER BY 1";
    let (plan, answer) = unpivot_answers(&ctx, sql).await;
    assert!(plan.contains("Inner Join: p.month = l.month"), "{plan}");
    assert!(!plan.contains("p.feature = l.feature"), "{plan}");
    assert_eq!(answer, [["a", "4", "6.0"], ["b", "3", "120.0"]]);
    // grouped by the label alone: c, which no parameter row names, gives no row
    let sql = "SELECT l.feature, count(*) AS n FROM long l JOIN params p ON l.feature = p.feature \
               GROUP BY l.feature ORDER BY 1";
    let (_, answer) = unpivot_answers(&ctx, sql).await;
    assert_eq!(answer, [["a", "10"], ["b", "10"]]);
}

#[tokio::test]
async fn unpivot_aggregates_that_do_not_fit_are_planned_as_written() {
    let ctx = unpivot_engine().await;
    for sql in [
        // two branches with one label
        "SELECT d.feature, d.month, sum(d.value * p.cut) FROM doubled d JOIN params p ON d.feature = p.feature \
         GROUP BY d.feature, d.month ORDER BY 1, 2",
        // not grouped by the label
        "SELECT l.month, sum(l.value * p.cut) FROM long l JOIN params p ON l.feature = p.feature \
         GROUP BY l.month ORDER BY 1",
        // an outer join keeps unmatched rows
        "SELECT l.feature, count(p.cut) FROM long l LEFT JOIN params p ON l.feature = p.feature \
         GROUP BY l.feature ORDER BY 1",
        // a union without an alias, whose columns its first branch qualifies
        "SELECT label, count(*) FROM (SELECT a, 'a' AS label FROM wide UNION ALL \
         SELECT b, 'b' AS label FROM wide) JOIN params p ON label = p.feature GROUP BY label ORDER BY 1",
        // a volatile function on the other side would be evaluated once per branch
        "SELECT l.feature, count(*) FILTER (WHERE p.r >= 0) FROM long l JOIN (SELECT feature, random() AS r FROM params) p \
         ON l.feature = p.feature GROUP BY l.feature ORDER BY 1",
        // a label computed from the row
        "SELECT l.feature, count(*) FROM (SELECT month, CASE WHEN a > 2 THEN 'a' ELSE 'b' END AS feature FROM wide \
         UNION ALL SELECT month, 'c' AS feature FROM wide) l JOIN params p ON l.feature = p.feature \
         GROUP BY l.feature ORDER BY 1",
    ] {
        let (plan, _) = unpivot_answers(&ctx, sql).await;
        assert!(plan.contains("Join: "), "{sql}\n{plan}");
        assert!(plan.contains(" AS Utf8View) = p.feature") || plan.contains("Join: p.feature ="), "{sql}\n{plan}");
    }
    let settings =
        rows(&ctx, "SELECT value FROM information_schema.df_settings WHERE name = 'persona.split_unpivot_aggregates'")
            .await;
    assert_eq!(settings, [["true"]]);
    let shown = rows(&ctx, "SHOW persona.split_unpivot_aggregates").await;
    assert_eq!(shown, [["persona.split_unpivot_aggregates", "true"]]);
    for (value, error) in [("maybe", "is true or false, got 'maybe'"), ("1", "got '1'")] {
        let sql = format!("SET persona.split_unpivot_aggregates = {value}");
        let message = ctx.sql(&sql).await.expect_err("a bad value").to_string();
        assert!(message.contains(error), "{message}");
    }
    let message = ctx.sql("SET persona.no_such_setting = true").await.expect_err("an unknown name").to_string();
    assert!(message.contains("unknown setting persona.no_such_setting"), "{message}");
}

async fn label_code_answers(ctx: &datafusion::prelude::SessionContext, sql: &str) -> (String, Vec<Vec<String>>) {
    answers_on_and_off(ctx, "group_labels_as_codes", sql).await
}

#[tokio::test]
async fn case_labels_are_grouped_by_codes_with_the_same_answers() {
    let ctx = EngineBuilder::new().build().await.expect("engine");
    let create = "CREATE TABLE people (campaign INT, age INT, kind INT, spend DOUBLE) AS VALUES \
                  (1, 25, 1, 10.0), (1, 35, 2, 20.0), (1, 50, 3, NULL), (2, 29, 1, 5.0), (2, NULL, 2, 7.0), \
                  (2, 44, 9, 1.0), (1, 24, 2, 3.0)";
    ctx.sql(create).await.expect("plan").collect().await.expect("create");
    // with another key, ordered and filtered by the label
    let sql = "SELECT campaign, CASE WHEN age < 30 THEN '<30' WHEN age < 45 THEN '30-44' ELSE '45+' END AS band, \
               count(*) AS n, sum(spend) AS s FROM people GROUP BY 1, 2 HAVING band <> '30-44' OR campaign = 1 \
               ORDER BY 1, 2";
    let (plan, answer) = label_code_answers(&ctx, sql).await;
    assert!(plan.contains("THEN Int32(0)"), "{plan}");
    assert_eq!(
        answer,
        [
            ["1", "30-44", "1", "20.0"],
            ["1", "45+", "1", "NULL"],
            ["1", "<30", "2", "13.0"],
            ["2", "45+", "1", "7.0"], // a NULL age is no band below 45
            ["2", "<30", "1", "5.0"],
        ]
    );
    // an operand, two branches with one label, no ELSE: NULL for the rest
    let sql = "SELECT CASE kind WHEN 1 THEN 'new' WHEN 2 THEN 'new' WHEN 3 THEN 'lapsed' END AS k, count(*) \
               FROM people GROUP BY 1 ORDER BY 1 NULLS FIRST";
    let (plan, answer) = label_code_answers(&ctx, sql).await;
    assert!(plan.contains("THEN Int32(1)"), "{plan}");
    assert_eq!(answer, [["NULL", "1"], ["lapsed", "1"], ["new", "5"]]);
    // the label alone, grouped by the expression (no alias): the column keeps its name
    let sql = "SELECT CASE WHEN spend > 6 THEN 'high' ELSE 'low' END, count(*) FROM people \
               GROUP BY CASE WHEN spend > 6 THEN 'high' ELSE 'low' END ORDER BY 1";
    let (plan, answer) = label_code_answers(&ctx, sql).await;
    assert!(plan.contains("THEN Int32(0)"), "{plan}");
    assert_eq!(answer, [["high", "3"], ["low", "4"]]);
    // a result that is not a constant: left as written
    let sql = "SELECT CASE WHEN age < 30 THEN 'young' ELSE CAST(kind AS VARCHAR) END AS k, count(*) FROM people \
               GROUP BY 1 ORDER BY 1";
    let (plan, _) = label_code_answers(&ctx, sql).await;
    assert!(!plan.contains("Int32(0)"), "{plan}");
}
