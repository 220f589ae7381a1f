//! Lakes on an S3-compatible object store: an S3 server in this process on loopback that checks
//! SigV4 signatures (s3s + s3s-fs, tests/support/s3_server.rs), the test lake published to it
//! the way `persona generate --out s3://…` publishes, then the lake tests and a subset of the
//! .slt files against `s3://` — same answers as the local lake — and the failures a remote
//! lake has: wrong credentials, a missing bucket, an unreachable endpoint, a server that
//! answers 503 a few times, one that dies mid-query, an object deleted after listing, a
//! corrupt object, an incomplete lake.

mod common;
#[path = "support/s3_server.rs"]
mod s3_server;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{rows, run_slt, test_lake};
use persona::generate::publish_to_store;
use persona::store::StorageOptions;
use persona::EngineBuilder;
use s3_server::S3Server;

const ACCESS_KEY: &str = "persona-test-key";
const SECRET_KEY: &str = "persona-test-secret-0123456789";

fn options(server: &S3Server, secret: &str) -> StorageOptions {
    let mut options = StorageOptions::new();
    options.set("aws.endpoint", server.endpoint());
    options.set("aws.allow_http", "true");
    options.set("aws.region", "us-east-1");
    options.set("aws.access_key_id", ACCESS_KEY);
    options.set("aws.secret_access_key", secret);
    // keep the failure tests short: 3 retries within 5 s
    options.set("retry.max_retries", "3");
    options.set("retry.timeout_seconds", "5");
    options
}

/// A server on a fresh directory with bucket `lake`, and the test lake published to
/// `s3://lake/demo`.
async fn server_with_lake() -> (S3Server, tempfile::TempDir) {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("lake")).expect("bucket");
    let server = S3Server::start(root.path(), ACCESS_KEY, SECRET_KEY).await;
    publish_to_store(&test_lake(), "s3://lake/demo", &options(&server, SECRET_KEY), false).await.expect("publish");
    (server, root)
}

async fn engine(server: &S3Server, lake: &str) -> datafusion::prelude::SessionContext {
    EngineBuilder::new().lake(lake).storage(options(server, SECRET_KEY)).build().await.expect("engine on s3")
}

async fn build_error(builder: EngineBuilder) -> String {
    match builder.build().await {
        Ok(_) => panic!("the engine was built"),
        Err(e) => e.to_string(),
    }
}

const TABLES: [&str; 8] = [
    "baskets",
    "campaign_contacts",
    "credit_scores",
    "customers",
    "fraud_labels",
    "planted_churn",
    "products",
    "transactions",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_lake_gives_the_local_answers() {
    let (server, root) = server_with_lake().await;
    // the published layout: the lake's files, _SUCCESS, no staging left behind
    let bucket = root.path().join("lake/demo");
    assert!(bucket.join("_SUCCESS").is_file());
    assert!(files_under(&bucket.join("_persona_staging")).is_empty());
    let remote = engine(&server, "s3://lake/demo").await;
    let local = common::test_engine().await;
    for table in TABLES {
        let sql = format!("SELECT count(*), count(DISTINCT customer_id) FROM {table}");
        let sql = if table == "products" { format!("SELECT count(*) FROM {table}") } else { sql };
        assert_eq!(rows(&remote, &sql).await, rows(&local, &sql).await, "{table}");
    }
    // hive partitions are columns on the remote lake too
    let sql = "SELECT month, count(*) FROM transactions GROUP BY month ORDER BY month";
    assert_eq!(rows(&remote, sql).await, rows(&local, sql).await);
    // a Persona aggregate over the remote lake
    let sql =
        "SELECT rfm(txn_ts, amount, DATE '2026-01-01')['frequency'] AS f FROM transactions WHERE customer_id = 17";
    assert_eq!(rows(&remote, sql).await, rows(&local, sql).await);
    // the .slt files that read the lake, against the s3:// lake
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sql");
    for file in ["lake.slt", "segmentation.slt", "evaluation.slt", "drift.slt", "basket.slt"] {
        run_slt(&remote, &dir.join(file)).await.unwrap_or_else(|e| panic!("{file} on s3://lake/demo: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_and_external_tables_on_s3() {
    let (server, _root) = server_with_lake().await;
    let ctx = engine(&server, "s3://lake/demo").await;
    let written = rows(&ctx, "COPY (SELECT customer_id, city FROM customers WHERE customer_id <= 100) TO 's3://lake/exports/cities/' STORED AS PARQUET").await;
    assert_eq!(written, [["100"]]);
    rows(&ctx, "CREATE EXTERNAL TABLE cities STORED AS PARQUET LOCATION 's3://lake/exports/cities/'").await;
    assert_eq!(rows(&ctx, "SELECT count(*), count(DISTINCT city) > 1 FROM cities").await, [["100", "true"]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_missing_buckets_and_dead_endpoints_are_clean_errors() {
    let (mut server, _root) = server_with_lake().await;
    let wrong = "wrong-secret-abcdefghijkl";
    let error = build_error(EngineBuilder::new().lake("s3://lake/demo").storage(options(&server, wrong))).await;
    assert!(error.contains("cannot list the lake s3://lake/demo/"), "{error}");
    assert!(!error.contains(wrong) && !error.contains(SECRET_KEY), "credential in: {error}");

    let error =
        build_error(EngineBuilder::new().lake("s3://no-such-bucket/demo").storage(options(&server, SECRET_KEY))).await;
    assert!(error.contains("s3://no-such-bucket/demo/"), "{error}");

    let error =
        build_error(EngineBuilder::new().lake("s3://lake/nothing-here").storage(options(&server, SECRET_KEY))).await;
    assert!(error.contains("the lake s3://lake/nothing-here/ is empty or does not exist"), "{error}");

    // nothing listens on the port of a stopped server: refused within the retry budget
    let mut dead = options(&server, SECRET_KEY);
    server.stop().await;
    dead.set("aws.endpoint", server.endpoint());
    let started = Instant::now();
    let error = build_error(EngineBuilder::new().lake("s3://lake/demo").storage(dead)).await;
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    assert!(error.contains("cannot list the lake s3://lake/demo/"), "{error}");
    assert!(!error.contains(SECRET_KEY), "credential in: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_few_503_answers_are_retried() {
    let (server, _root) = server_with_lake().await;
    let ctx = engine(&server, "s3://lake/demo").await;
    let before = server.requests();
    server.fail_next(2);
    // reads data (a bare count(*) is answered from the cached Parquet statistics)
    let sql = "SELECT count(DISTINCT city), sum(customer_id) FROM customers";
    assert_eq!(rows(&ctx, sql).await, rows(&common::test_engine().await, sql).await);
    assert!(server.requests() > before + 2, "the failed requests were retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_that_hangs_is_tried_again() {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("lake")).expect("bucket");
    let server = S3Server::start(root.path(), ACCESS_KEY, SECRET_KEY).await;
    // the default retry window (60 s) against requests that time out after 2 s
    let mut hung = options(&server, SECRET_KEY);
    hung.set("client.timeout", "2s");
    hung.set("retry.max_retries", persona::store::RETRY_MAX.to_string());
    hung.set("retry.timeout_seconds", persona::store::RETRY_TIMEOUT.as_secs().to_string());
    server.stall_next_puts(1);
    publish_to_store(&test_lake(), "s3://lake/demo", &hung, false).await.expect("the hung PUT is sent again");
    assert_eq!(server.injected_failures(), 1);
    let ctx = EngineBuilder::new().lake("s3://lake/demo").storage(hung.clone()).build().await.expect("engine");
    assert_eq!(rows(&ctx, "SELECT count(*) FROM customers").await, [["3000"]]);

    // a window no longer than the timeout: the hung PUT is not tried again (as with the
    // earlier default window, 30 s, against object_store's default timeout, 30 s)
    hung.set("retry.timeout_seconds", "2");
    server.stall_next_puts(1);
    let started = Instant::now();
    let error = publish_to_store(&test_lake(), "s3://lake/again", &hung, false).await.expect_err("hung").to_string();
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    assert!(error.contains("cannot upload to s3://lake/again/"), "{error}");
    assert_eq!(server.injected_failures(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_dies_mid_query_is_a_clean_error() {
    let (mut server, _root) = server_with_lake().await;
    let ctx = engine(&server, "s3://lake/demo").await;
    let df = ctx.sql("SELECT customer_id, count(*) FROM transactions GROUP BY customer_id").await.expect("plan");
    server.stop().await;
    let started = Instant::now();
    let error = df.collect().await.expect_err("the server is gone").to_string();
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    assert!(error.contains("lake/demo/transactions"), "{error}");
    assert!(!error.contains(SECRET_KEY), "credential in: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn footers_are_read_once_when_a_table_is_first_named() {
    let (server, root) = server_with_lake().await;
    let before = server.requests();
    let ctx = engine(&server, "s3://lake/demo").await;
    let tables = ctx.catalog("datafusion").and_then(|c| c.schema("public")).expect("schema").table_names();
    assert_eq!(tables.len(), TABLES.len() + 1, "{tables:?}");
    assert_eq!(server.requests() - before, 1 + tables.len(), "registration: the root's listing and one per table");
    let parquet = |table: &str| {
        walk(&root.path().join("lake/demo").join(table))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .count()
    };
    // count(*) is answered from the footers' statistics: one request per file of the named
    // table (its listing is cached from registration), none for the other tables
    let sql = "SELECT count(*) FROM transactions";
    let before = server.requests();
    let count = rows(&ctx, sql).await;
    assert_eq!(server.requests() - before, parquet("transactions"));
    assert_eq!(count, rows(&common::test_engine().await, sql).await);
    // the second statement finds table, listing and footers in the session's caches
    let before = server.requests();
    rows(&ctx, sql).await;
    assert_eq!(server.requests(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_and_corrupt_objects_are_named_by_url() {
    let (server, root) = server_with_lake().await;
    let ctx = engine(&server, "s3://lake/demo").await;
    let products = root.path().join("lake/demo/products");
    // the first query lists the table (DataFusion caches the listing for LIST_FILES_CACHE_TTL)
    let sql = "SELECT count(DISTINCT category) FROM products";
    assert_eq!(rows(&ctx, sql).await, rows(&common::test_engine().await, sql).await);
    let file = first_parquet(&products);
    std::fs::remove_file(&file).expect("delete an object after the listing");
    let error = ctx.sql(sql).await.expect("plan").collect().await.expect_err("gone").to_string();
    assert!(error.contains("products/"), "{error}");

    std::fs::write(products.join("broken.parquet"), b"PAR1 not parquet PAR1").expect("write");
    let fresh = engine(&server, "s3://lake/demo").await;
    let error = fresh.sql(sql).await.expect_err("corrupt").to_string();
    assert!(error.contains("cannot read Parquet file s3://lake/demo/products/broken.parquet"), "{error}");
    // the other tables still serve
    assert_eq!(rows(&fresh, "SELECT count(*) FROM customers").await, [["3000"]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incomplete_lakes_are_refused_and_force_replaces_a_lake() {
    let (server, root) = server_with_lake().await;
    let error = publish_to_store(&test_lake(), "s3://lake/demo", &options(&server, SECRET_KEY), false)
        .await
        .expect_err("exists")
        .to_string();
    assert!(error.contains("already holds"), "{error}");
    // a writer died after staging: the lake is refused until it is written again
    let demo = root.path().join("lake/demo");
    std::fs::create_dir_all(demo.join("_persona_staging/customers")).expect("mkdir");
    std::fs::copy(first_parquet(&demo.join("customers")), demo.join("_persona_staging/customers/part.parquet"))
        .expect("cp");
    std::fs::remove_file(demo.join("_SUCCESS")).expect("rm");
    let error = build_error(EngineBuilder::new().lake("s3://lake/demo").storage(options(&server, SECRET_KEY))).await;
    assert!(error.contains("the lake s3://lake/demo/ is incomplete"), "{error}");
    publish_to_store(&test_lake(), "s3://lake/demo", &options(&server, SECRET_KEY), true).await.expect("force");
    let ctx = engine(&server, "s3://lake/demo").await;
    assert_eq!(rows(&ctx, "SELECT count(*) FROM customers").await, [["3000"]]);
    assert!(files_under(&demo.join("_persona_staging")).is_empty());
}

fn first_parquet(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> =
        walk(dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "parquet")).collect();
    files.sort();
    files.into_iter().next().expect("a parquet file")
}

/// Files below `dir` (s3s-fs leaves emptied directories behind; they are not objects).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    if dir.exists() {
        walk(dir)
    } else {
        Vec::new()
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
