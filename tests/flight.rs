//! The Flight SQL server, end to end with arrow-flight's `FlightSqlServiceClient` on
//! 127.0.0.1: authentication, metadata, statements with Persona's functions, prepared
//! statements, PII masking on every query path, table permissions, read-only roles, memory
//! limits, timeouts, cancellation, 32 concurrent clients and graceful shutdown.

mod common;
#[path = "support/flight_server.rs"]
mod flight_server;
use flight_server::*;

use std::time::{Duration, Instant};

use arrow::array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::sql::{CommandGetDbSchemas, CommandGetTables};
use arrow_flight::{Action, CancelFlightInfoRequest};
use futures::TryStreamExt;
use persona::serve::ServerConfig;
use persona::EngineBuilder;
use prost::Message;
use std::sync::Arc;
use tonic::transport::Endpoint;

/// 1,000 wrong passwords for one user from one address, 20 clients at a time, while another
/// user logs in and queries: after a few argon2 checks the flood is refused unchecked
/// (`RESOURCE_EXHAUSTED`, "retry in N s"), the other login does not queue behind it, and the
/// attacked name stays throttled from this address even with the right password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_failed_logins_do_not_starve_other_users() {
    let server = start().await;
    let addr = server.addr;
    let started = Instant::now();
    let flood: Vec<_> = (0..20)
        .map(|_| {
            tokio::spawn(async move {
                let channel =
                    Endpoint::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect");
                let mut client = FlightSqlServiceClient::new(channel);
                let mut errors = Vec::new();
                for _ in 0..50 {
                    errors.push(client.handshake("ana", "wrong").await.expect_err("refused").to_string());
                }
                errors
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let other = Instant::now();
    let mut root = server.login("root").await;
    assert_eq!(int(&query(&mut root, "SELECT 1 AS one").await.expect("query"), "one"), 1);
    let other_took = other.elapsed();
    let (mut checked, mut unchecked) = (0, 0);
    for task in flood {
        for err in task.await.expect("joins") {
            if is(&err, tonic::Code::ResourceExhausted)
                && err.contains("too many failed logins")
                && err.contains("retry in")
            {
                unchecked += 1;
            } else if is(&err, tonic::Code::Unauthenticated) && err.contains("invalid user name or password") {
                checked += 1;
            } else {
                panic!("unexpected refusal: {err}");
            }
        }
    }
    let flood_took = started.elapsed();
    eprintln!(
        "1,000 failed logins in {flood_took:?}: {checked} password checks, {unchecked} refused unchecked; \
         another user logged in and queried in {other_took:?}"
    );
    assert_eq!(checked + unchecked, 1000);
    // five free failures, what was already waiting for the two password slots, and one more per
    // doubling back-off (1 s, 2 s, 4 s, ...) that ended while the flood ran
    assert!(checked <= 14, "{checked} password checks");
    assert!(other_took < Duration::from_secs(20), "the other login took {other_took:?}");
    let mut anonymous = server.anonymous().await;
    let err = anonymous.handshake("ana", "pw").await.expect_err("throttled").to_string();
    assert!(is(&err, tonic::Code::ResourceExhausted) && err.contains("retry in"), "{err}");
    server.shutdown().await;
}

/// A password spray: one address, a different name on every attempt. Each pair fails once, so only
/// the address's own budget (50 failures across names) bounds the password checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_spray_from_one_address_backs_off() {
    let server = start().await;
    let started = Instant::now();
    let mut sprayer = server.anonymous().await;
    let (mut checked, mut unchecked) = (0, 0);
    for i in 0..500 {
        let err = sprayer.handshake(&format!("user{i}"), "Summer2026!").await.expect_err("refused").to_string();
        if is(&err, tonic::Code::ResourceExhausted) && err.contains("too many failed logins from this address") {
            unchecked += 1;
        } else if is(&err, tonic::Code::Unauthenticated) && err.contains("invalid user name or password") {
            checked += 1;
        } else {
            panic!("unexpected refusal: {err}");
        }
    }
    let took = started.elapsed();
    eprintln!("500 sprayed names in {took:?}: {checked} password checks, {unchecked} refused unchecked");
    // 50 free failures, then one more per doubling back-off (1 s, 2 s, …) that ended during the spray
    assert!((50..=58).contains(&checked), "{checked} password checks");
    assert_eq!(checked + unchecked, 500);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_is_required_on_every_call() {
    let server = start().await;
    let mut anonymous = server.anonymous().await;
    let err = query(&mut anonymous, "SELECT 1").await.expect_err("refused");
    assert!(is(&err, tonic::Code::Unauthenticated), "{err}");
    assert!(is(&anonymous.get_catalogs().await.expect_err("refused").to_string(), tonic::Code::Unauthenticated));

    let err = anonymous.handshake("ana", "wrong").await.expect_err("refused").to_string();
    assert!(is(&err, tonic::Code::Unauthenticated) && err.contains("invalid user name or password"), "{err}");
    let err = anonymous.handshake("nobody", "pw").await.expect_err("refused").to_string();
    assert!(err.contains("invalid user name or password"), "{err}");

    anonymous.set_token("not-a-token".into());
    assert!(is(&query(&mut anonymous, "SELECT 1").await.expect_err("refused"), tonic::Code::Unauthenticated));

    let mut report = server.anonymous().await;
    report.set_token(STATIC_TOKEN.into());
    let batch = query(&mut report, "SELECT count(*) AS n FROM customers").await.expect("static token");
    assert_eq!(int(&batch, "n"), common::TEST_CUSTOMERS);

    // a ticket belongs to the user who planned it
    let mut ana = server.login("ana").await;
    let info = ana.execute("SELECT 1 AS one".into(), None).await.expect("plans");
    let stolen = fetch(&mut report, info.clone()).await.expect_err("refused");
    assert!(is(&stolen, tonic::Code::NotFound), "{stolen}");
    assert_eq!(fetch(&mut ana, info).await.expect("own ticket")[0].num_rows(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_lists_what_the_role_may_read() {
    let server = start().await;
    let mut ana = server.login("ana").await;
    let mut mia = server.login("mia").await;

    let info = ana.get_catalogs().await.expect("catalogs");
    let catalogs = fetch(&mut ana, info).await.expect("fetch");
    assert_eq!(strings(&catalogs[0], "catalog_name"), vec![Some("datafusion".to_string())]);

    let request =
        CommandGetDbSchemas { catalog: Some("datafusion".into()), db_schema_filter_pattern: Some("pub%".into()) };
    let info = ana.get_db_schemas(request).await.expect("schemas");
    let schemas = fetch(&mut ana, info).await.expect("fetch");
    assert_eq!(strings(&schemas[0], "db_schema_name"), vec![Some("public".to_string())]);

    let tables = |include_schema: bool, pattern: Option<&str>| CommandGetTables {
        catalog: None,
        db_schema_filter_pattern: Some("public".into()),
        table_name_filter_pattern: pattern.map(str::to_string),
        table_types: vec![],
        include_schema,
    };
    let names = |batches: &[RecordBatch]| -> Vec<String> {
        batches.iter().flat_map(|b| strings(b, "table_name")).flatten().collect()
    };
    let info = ana.get_tables(tables(false, None)).await.expect("tables");
    let all = names(&fetch(&mut ana, info).await.expect("fetch"));
    for table in ["customers", "transactions", "credit_scores", "baskets", "customer_spend", "credit_view"] {
        assert!(all.contains(&table.to_string()), "{table} in {all:?}");
    }
    let info = mia.get_tables(tables(false, None)).await.expect("tables");
    let visible = names(&fetch(&mut mia, info).await.expect("fetch"));
    assert!(visible.contains(&"customers".to_string()) && visible.contains(&"customer_spend".to_string()));
    assert!(!visible.iter().any(|t| t == "credit_scores" || t == "baskets" || t == "credit_view"), "{visible:?}");

    let info = mia.get_tables(tables(true, Some("cust%"))).await.expect("tables");
    let batches = fetch(&mut mia, info).await.expect("fetch");
    assert_eq!(names(&batches), vec!["customer_spend", "customers"]);
    let schema_column = batches[0].column_by_name("table_schema").expect("include_schema");
    assert_eq!(schema_column.null_count(), 0);
    let types = strings(&batches[0], "table_type");
    assert_eq!(types, vec![Some("VIEW".into()), Some("TABLE".into())], "masked tables still read as tables");

    let info = ana.get_table_types().await.expect("table types");
    let types = fetch(&mut ana, info).await.expect("fetch");
    assert!(strings(&types[0], "table_type").contains(&Some("TABLE".into())));
    let info = ana.get_sql_info(vec![]).await.expect("sql info");
    assert!(fetch(&mut ana, info).await.expect("fetch")[0].num_rows() >= 5);
    let info = ana.get_xdbc_type_info(Default::default()).await.expect("xdbc");
    assert!(fetch(&mut ana, info).await.expect("fetch")[0].num_rows() >= 10);

    // information_schema answers from the same role catalog
    let batch =
        query(&mut mia, "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'credit_scores'")
            .await
            .expect("runs");
    assert_eq!(int(&batch, "n"), 0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_use_persona_functions_and_stream_large_results() {
    let server = start().await;
    let mut ana = server.login("ana").await;
    let sql = "WITH v AS (SELECT customer_id, rfm(txn_ts, amount, DATE '2026-01-01') AS v \
               FROM transactions GROUP BY customer_id), \
               s AS (SELECT 6 - quantile_score(5) OVER (ORDER BY v['recency_days'], customer_id) AS r, \
                            quantile_score(5) OVER (ORDER BY v['frequency'], customer_id) AS f FROM v) \
               SELECT rfm_segment(r, f) AS segment, count(*) AS customers FROM s GROUP BY 1 ORDER BY 1";
    let remote = query(&mut ana, sql).await.expect("segmentation over Flight SQL");
    let expected = local(&server.ctx, sql).await;
    assert_eq!(remote, expected);
    assert!(remote.num_rows() >= 5);

    let info = ana.execute("SELECT * FROM transactions".into(), None).await.expect("plans");
    let batches = fetch(&mut ana, info).await.expect("streams");
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let expected = local(&server.ctx, "SELECT count(*) AS n FROM transactions").await;
    assert_eq!(i64::try_from(rows).expect("fits"), int(&expected, "n"));
    assert!(batches.len() > 5, "the result arrives in many batches ({})", batches.len());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_bind_parameters() {
    let server = start().await;
    let mut ana = server.login("ana").await;
    let mut statement = ana
        .prepare(
            "SELECT count(*) AS n, sum(amount) AS total FROM transactions WHERE amount > ? AND channel = ?".into(),
            None,
        )
        .await
        .expect("prepares");
    let parameters = statement.parameter_schema().expect("parameter schema").clone();
    assert_eq!(parameters.fields().len(), 2);
    assert_eq!(parameters.field(0).data_type(), &DataType::Float64);
    for (threshold, channel) in [(100.0, "app"), (2000.0, "pos")] {
        let schema =
            Schema::new(vec![Field::new("a", DataType::Float64, false), Field::new("b", DataType::Utf8, false)]);
        let binding = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(Float64Array::from(vec![threshold])), Arc::new(StringArray::from(vec![channel]))],
        )
        .expect("batch");
        statement.set_parameters(binding).expect("binds");
        let info = statement.execute().await.expect("executes");
        let remote = fetch(&mut ana, info).await.expect("fetch");
        let expected = local(
            &server.ctx,
            &format!("SELECT count(*) AS n, sum(amount) AS total FROM transactions WHERE amount > {threshold} AND channel = '{channel}'"),
        )
        .await;
        assert_eq!(int(&remote[0], "n"), int(&expected, "n"));
        let total = |b: &RecordBatch| b.column(1).as_any().downcast_ref::<Float64Array>().expect("f64").value(0);
        let (remote, expected) = (total(&remote[0]), total(&expected));
        assert!((remote - expected).abs() <= 1e-9 * expected.abs(), "{remote} vs {expected}");
    }
    statement.close().await.expect("closes");

    // several parameter rows for one query execution are refused, not silently truncated
    let mut statement = ana.prepare("SELECT ? + 1 AS x".into(), None).await.expect("prepares");
    let two = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)])),
        vec![Arc::new(Int64Array::from(vec![1, 2]))],
    )
    .expect("batch");
    statement.set_parameters(two).expect("binds locally");
    let err = statement.execute().await.expect_err("refused").to_string();
    assert!(err.contains("one row of parameters"), "{err}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pii_is_masked_on_every_query_path() {
    let server = start().await;
    let mut ana = server.login("ana").await;
    let mut mia = server.login("mia").await;
    let clear = query(
        &mut ana,
        "SELECT customer_id, name, phone, id_number, email, birth_year, mask_phone(phone) AS mp, mask_id_number(id_number) AS mi, \
         mask_name(name) AS mn, hash_pii(email, 'test-pseudonym-key-0123456789') AS he \
         FROM customers ORDER BY customer_id LIMIT 50",
    )
    .await
    .expect("analyst query");
    let masked = query(&mut mia, "SELECT * FROM customers ORDER BY customer_id LIMIT 50").await.expect("SELECT *");
    assert_eq!(strings(&masked, "phone"), strings(&clear, "mp"));
    assert_eq!(strings(&masked, "id_number"), strings(&clear, "mi"));
    assert_eq!(strings(&masked, "name"), strings(&clear, "mn"));
    assert_eq!(strings(&masked, "email"), strings(&clear, "he"), "email is the keyed pseudonym (joinable)");
    assert_eq!(masked.column_by_name("birth_year").expect("column").null_count(), 50, "redacted");
    assert_ne!(strings(&masked, "phone"), strings(&clear, "phone"));
    assert!(strings(&masked, "phone").iter().flatten().all(|p| p.contains("***")));

    // joins, subqueries, CTEs, functions over the column, views and filters see masked values only
    let raw_phone = strings(&clear, "phone")[0].clone().expect("phone");
    let paths = [
        "SELECT t.customer_id, c.phone FROM transactions t JOIN customers c ON t.customer_id = c.customer_id",
        "SELECT phone FROM (SELECT * FROM customers) sub",
        "WITH x AS (SELECT phone, id_number FROM customers) SELECT phone || id_number AS phone FROM x",
        "SELECT upper(phone) AS phone FROM customers",
        "SELECT substr(phone, 4, 4) AS phone FROM customers",
        "SELECT phone FROM customer_spend",
        "SELECT phone FROM customers WHERE customer_id IN (SELECT customer_id FROM transactions WHERE amount > 1000)",
        "SELECT max(phone) AS phone FROM customers UNION ALL SELECT min(id_number) FROM customers",
    ];
    for sql in paths {
        let batch = query(&mut mia, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let values = strings(&batch, "phone");
        assert!(!values.is_empty(), "{sql}");
        assert!(values.iter().flatten().all(|v| v.contains("***") && !v.contains(&raw_phone)), "{sql}: {values:?}");
    }
    let filtered = query(&mut mia, &format!("SELECT count(*) AS n FROM customers WHERE phone = '{raw_phone}'"))
        .await
        .expect("runs");
    assert_eq!(int(&filtered, "n"), 0, "filters compare masked values");
    let digits = query(&mut mia, "SELECT count(*) AS n FROM customers WHERE substr(phone, 4, 1) BETWEEN '0' AND '9'")
        .await
        .expect("runs");
    assert_eq!(int(&digits, "n"), 0, "the masked digits are not reachable");

    // the pseudonym function is not callable
    let err = query(&mut mia, "SELECT pseudonym('13800000000')").await.expect_err("refused");
    assert!(err.contains("pseudonym"), "{err}");

    // plans would print raw min/max statistics of the scanned columns and file paths
    for sql in [
        "EXPLAIN VERBOSE SELECT phone FROM customers",
        "EXPLAIN ANALYZE VERBOSE SELECT phone FROM customers",
        "EXPLAIN (COSTS) SELECT phone FROM customers WHERE customer_id > 0",
        "EXPLAIN SELECT email FROM customers",
    ] {
        let err = query(&mut mia, sql).await.expect_err("refused");
        assert!(is(&err, tonic::Code::PermissionDenied) && err.contains("statistics"), "{sql}: {err}");
    }
    let verbose = query(&mut ana, "EXPLAIN VERBOSE SELECT phone FROM customers").await.expect("allowed with pii");
    assert!(verbose.num_rows() > 1);

    // the same query by the analyst shows clear values
    let batch = query(&mut ana, "SELECT phone FROM customer_spend ORDER BY customer_id LIMIT 1").await.expect("runs");
    assert!(!strings(&batch, "phone")[0].as_ref().expect("phone").contains('*'));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_tables_and_statements_are_refused() {
    let server = start().await;
    let mut mia = server.login("mia").await;
    for sql in [
        "SELECT * FROM credit_scores",
        "SELECT c.customer_id FROM customers c JOIN credit_scores s ON c.customer_id = s.customer_id",
        "SELECT * FROM customers WHERE customer_id IN (SELECT customer_id FROM baskets)",
    ] {
        let err = query(&mut mia, sql).await.expect_err("refused");
        assert!(is(&err, tonic::Code::PermissionDenied) && err.contains("may not read table"), "{sql}: {err}");
    }
    let err = query(&mut mia, "SELECT * FROM credit_view").await.expect_err("refused");
    assert!(err.contains("not found"), "a view over a forbidden table does not exist for the role: {err}");

    let mut ana = server.login("ana").await;
    for sql in [
        "CREATE VIEW v AS SELECT 1",
        "CREATE EXTERNAL TABLE x STORED AS PARQUET LOCATION '/etc'",
        "SET datafusion.execution.batch_size = 1",
        "COPY (SELECT 1) TO '/tmp/persona-copy.parquet'",
        "DROP TABLE customers",
    ] {
        let err = query(&mut ana, sql).await.expect_err("refused");
        assert!(is(&err, tonic::Code::PermissionDenied), "{sql}: {err}");
    }
    let err = query(&mut ana, "SELECT * FROM 'some/file.parquet'").await.expect_err("refused");
    assert!(err.contains("not found"), "no reading files by path: {err}");

    let mut root = server.login("root").await;
    let created = root
        .execute_update(
            "CREATE VIEW big_spenders AS SELECT customer_id FROM transactions WHERE amount > 5000".into(),
            None,
        )
        .await;
    assert_eq!(created.expect("ddl for the admin role"), 0);
    let batch = query(&mut root, "SELECT count(*) AS n FROM big_spenders").await.expect("view");
    assert!(int(&batch, "n") > 0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_fail_one_query_only() {
    let server = start().await;
    let mut tim = server.login("tim").await;
    let mut ana = server.login("ana").await;
    let heavy = "SELECT count(DISTINCT txn_id) AS n, cardinality(array_agg(merchant_category)) AS m FROM transactions";
    let err = query(&mut tim, heavy).await.expect_err("refused");
    assert!(is(&err, tonic::Code::ResourceExhausted) && err.contains("query memory limit"), "{err}");
    let batch = query(&mut ana, heavy).await.expect("no limit for the analyst");
    assert!(int(&batch, "n") > 0);
    assert_eq!(
        int(&query(&mut tim, "SELECT count(*) AS n FROM customers").await.expect("small query"), "n"),
        common::TEST_CUSTOMERS
    );

    let mut hal = server.login("hal").await;
    let slow = "SELECT count(*) AS n FROM generate_series(1, 100000000000) AS t(v) WHERE v % 7 = 3";
    let started = Instant::now();
    let err = query(&mut hal, slow).await.expect_err("refused");
    assert!(is(&err, tonic::Code::DeadlineExceeded) || err.contains("timeout"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20), "stopped near its 1 s limit: {:?}", started.elapsed());
    assert_eq!(int(&query(&mut hal, "SELECT 2 AS n").await.expect("still served"), "n"), 2);

    // the deadline holds while the client is not reading: the rest of the stream is the error
    let info = hal.execute("SELECT v FROM generate_series(1, 100000000000) AS t(v)".into(), None).await.expect("plans");
    let ticket = info.endpoint[0].ticket.clone().expect("ticket");
    let mut stream = hal.do_get(ticket).await.expect("starts");
    let first = stream.try_next().await.expect("first batch").expect("a batch");
    assert!(first.num_rows() > 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    let rest = loop {
        match stream.try_next().await {
            Ok(Some(_)) => continue,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e.to_string()),
        }
    };
    let err = rest.expect_err("the stream ends with the timeout");
    assert!(is(&err, tonic::Code::DeadlineExceeded), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "only buffered batches were left");

    // cancellation of a running query
    let info = ana.execute(slow.into(), None).await.expect("plans");
    let mut reader = ana.clone();
    let running = tokio::spawn({
        let info = info.clone();
        async move { fetch(&mut reader, info).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let action = Action::new("CancelFlightInfo", CancelFlightInfoRequest::new(info).encode_to_vec());
    let reply: Vec<_> = ana.do_action(action).await.expect("cancel accepted").try_collect().await.expect("reply");
    let result = arrow_flight::CancelFlightInfoResult::decode(reply[0].body.as_ref()).expect("decodes");
    assert_eq!(result.status, arrow_flight::CancelStatus::Cancelled as i32);
    let result = tokio::time::timeout(Duration::from_secs(20), running).await.expect("ends").expect("joins");
    assert!(is(&result.expect_err("refused"), tonic::Code::Cancelled));
    // the aborted query's task releases its memory as it unwinds
    let released = Instant::now();
    while server.ctx.runtime_env().memory_pool.reserved() > 0 && released.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.ctx.runtime_env().memory_pool.reserved(), 0, "everything released");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_clients() {
    let server = start().await;
    let deadline = Instant::now() + Duration::from_secs(8);
    let queries = [
        "SELECT city_tier, count(*) AS n FROM customers GROUP BY city_tier",
        "SELECT month, sum(amount) AS total FROM transactions GROUP BY month ORDER BY month",
        "SELECT campaign_id, response_lift(arm = 'treatment', converted) AS lift FROM campaign_contacts GROUP BY campaign_id",
        "SELECT snapshot_month, auc(score, default_12m) AS auc FROM credit_scores GROUP BY snapshot_month",
        "SELECT phone, email FROM customers LIMIT 100",
    ];
    let mut tasks = Vec::new();
    for i in 0..32 {
        let mut client = server.login(if i % 2 == 0 { "ana" } else { "mia" }).await;
        tasks.push(tokio::spawn(async move {
            let mut done = 0usize;
            let mut k = i;
            while Instant::now() < deadline {
                let sql = queries[k % queries.len()];
                k += 1;
                match query(&mut client, sql).await {
                    Ok(_) => done += 1,
                    // the marketing role may not read credit_scores: an expected refusal
                    Err(e) if sql.contains("credit_scores") && is(&e, tonic::Code::PermissionDenied) => done += 1,
                    Err(e) => return Err(format!("client {i}: {sql}: {e}")),
                }
            }
            Ok(done)
        }));
    }
    let mut peak = 0;
    while tasks.iter().any(|t| !t.is_finished()) {
        peak = peak.max(server.ctx.runtime_env().memory_pool.reserved());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("joins").expect("no errors");
    }
    assert!(total >= 32, "every client ran queries ({total})");
    assert!(peak <= POOL_BYTES, "peak {peak} within the pool");
    assert_eq!(server.ctx.runtime_env().memory_pool.reserved(), 0);
    let mut late = server.login("ana").await;
    assert_eq!(int(&query(&mut late, "SELECT 1 AS n").await.expect("still answering"), "n"), 1);
    server.shutdown().await;
}

/// Python with the ADBC Flight SQL driver and pyarrow from PyPI.
fn adbc_python() -> std::path::PathBuf {
    common::python_venv(
        "adbc-venv",
        &["adbc-driver-flightsql==1.13.0", "adbc-driver-manager==1.13.0", "pyarrow==26.0.1"],
    )
    .join("bin")
    .join("python")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adbc_python_client() {
    let python = tokio::task::spawn_blocking(adbc_python).await.expect("venv");
    let server = start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/adbc/client.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .env("PERSONA_URI", format!("grpc://{}", server.addr))
        .env("PERSONA_PASSWORD", "pw")
        .env("PERSONA_TOKEN", STATIC_TOKEN)
        .env("PERSONA_CUSTOMERS", common::TEST_CUSTOMERS.to_string())
        .output()
        .await
        .expect("runs the ADBC client");
    assert!(
        output.status.success(),
        "ADBC client failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pii_configuration_typos_stop_the_server() {
    std::env::set_var("PERSONA_TEST_PSEUDONYM_KEY", PSEUDONYM_KEY);
    let ctx = EngineBuilder::new().lake(common::test_lake().display().to_string()).build().await.expect("engine");
    for (pii, message) in [
        ("[pii.customer]\nphone = \"mask_phone\"", "the lake has no table 'customer'"),
        ("[pii.customers]\nPhone = \"mask_phone\"", "table 'customers' has no column 'Phone'"),
    ] {
        let config = ServerConfig::parse(&format!("[roles.r]\ntables = [\"*\"]\n{pii}")).expect("parses");
        let err = persona::serve::PersonaFlightSql::new(&ctx, &config).await.expect_err("refused");
        assert!(err.to_string().contains(message), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_when_configured() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    std::fs::write(&cert, certified.cert.pem()).expect("write cert");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write key");
    let server =
        start_with(&format!("tls_cert = {:?}\ntls_key = {:?}", cert.display().to_string(), key.display().to_string()))
            .await;

    let plain = Endpoint::from_shared(format!("http://{}", server.addr)).expect("uri").connect().await;
    if let Ok(channel) = plain {
        let mut client = FlightSqlServiceClient::new(channel);
        assert!(client.handshake("ana", "pw").await.is_err(), "plaintext is refused");
    }
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(certified.cert.pem()))
        .domain_name("localhost");
    let channel = Endpoint::from_shared(format!("https://{}", server.addr))
        .expect("uri")
        .tls_config(tls)
        .expect("tls config")
        .connect()
        .await
        .expect("TLS connect");
    let mut client = FlightSqlServiceClient::new(channel);
    client.handshake("ana", "pw").await.expect("handshake over TLS");
    assert_eq!(int(&query(&mut client, "SELECT 7 AS n").await.expect("query over TLS"), "n"), 7);
    server.shutdown().await;
}
