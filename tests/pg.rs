//! The PostgreSQL endpoint of `persona serve`, end to end on 127.0.0.1 with real clients:
//! tokio-postgres (simple and extended protocol, typed parameters, portals with row limits,
//! COPY TO STDOUT, CancelRequest, 32 concurrent clients), psql (`\d`, `\dt`, `\copy`, TLS; functions via information_schema)
//! and, for the masking test, Arrow Flight SQL next to it: a restricted role sees the same
//! masked values over both protocols.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use arrow_flight::sql::client::FlightSqlServiceClient;
use datafusion::prelude::SessionContext;
use futures::{StreamExt, TryStreamExt};
use persona::serve::{hash_password, scram_verifier, serve_on, ServerConfig};
use persona::EngineBuilder;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};
use tonic::transport::Endpoint;

const PSEUDONYM_KEY: &str = "test-pseudonym-key-0123456789";

/// A query that runs for hours, in small batches (a nested-loop join would hold the runtime's
/// threads for seconds per batch, delaying every other task of the test's runtime).
const LONG_QUERY: &str = "SELECT count(*) AS n FROM generate_series(1, 100000000000) AS t(v) WHERE v % 7 = 3";

fn config_text(server_lines: &str) -> String {
    static PASSWORD_HASH: OnceLock<String> = OnceLock::new();
    static SCRAM: OnceLock<String> = OnceLock::new();
    let hash = PASSWORD_HASH.get_or_init(|| hash_password("pw").expect("hash"));
    let scram = SCRAM.get_or_init(|| scram_verifier("pw").expect("verifier"));
    format!(
        r#"
[server]
pseudonym_key_env = "PERSONA_TEST_PSEUDONYM_KEY"
pg_addr = "127.0.0.1:0"
{server_lines}

[roles.analyst]
tables = ["*"]
pii = true

[roles.marketing]
tables = ["customers", "transactions", "campaigns", "campaign_contacts"]

[roles.hurried]
tables = ["*"]
timeout_secs = 1

# ana and mia log in with SCRAM, hal with a password over loopback
[users.ana]
password_hash = "{hash}"
scram_sha256 = "{scram}"
role = "analyst"
[users.mia]
password_hash = "{hash}"
scram_sha256 = "{scram}"
role = "marketing"
[users.hal]
password_hash = "{hash}"
role = "hurried"

[pii.customers]
name = "mask_name"
phone = "mask_phone"
id_number = "mask_id_number"
email = "pseudonym"
birth_year = "redact"
"#
    )
}

struct Server {
    ctx: SessionContext,
    flight: SocketAddr,
    pg: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), String>>,
}

async fn start_with(server_lines: &str) -> Server {
    std::env::set_var("PERSONA_TEST_PSEUDONYM_KEY", PSEUDONYM_KEY);
    let ctx = EngineBuilder::new()
        .lake(common::test_lake().display().to_string())
        .memory_limit(512 << 20)
        .target_partitions(2)
        .build()
        .await
        .expect("engine");
    let config = ServerConfig::parse(&config_text(server_lines)).expect("config");
    let flight_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let pg_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let flight = flight_listener.local_addr().expect("addr");
    let pg = pg_listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let base = ctx.clone();
    let task = tokio::spawn(async move {
        serve_on(&base, &config, flight_listener, Some(pg_listener), async {
            let _ = stopped.await;
        })
        .await
        .map_err(|e| e.to_string())
    });
    Server { ctx, flight, pg, stop: Some(stop), task }
}

async fn start() -> Server {
    start_with("").await
}

impl Server {
    fn url(&self, user: &str, password: &str) -> String {
        format!("host=127.0.0.1 port={} user={user} password={password} dbname=persona", self.pg.port())
    }

    async fn try_connect(&self, user: &str, password: &str) -> Result<Client, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::connect(&self.url(user, password), NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    async fn connect(&self, user: &str) -> Client {
        // the server may still be building its catalogs
        let started = Instant::now();
        loop {
            match self.try_connect(user, "pw").await {
                Ok(client) => return client,
                Err(e) if started.elapsed() < Duration::from_secs(30) && e.as_db_error().is_none() => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("connect as {user}: {e}"),
            }
        }
    }

    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(40), self.task).await;
        result.expect("stops in time").expect("joins").expect("serves without error");
    }
}

/// The rows of a simple query as text (NULL as `None`).
async fn text_rows(client: &Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, tokio_postgres::Error> {
    let messages = client.simple_query(sql).await?;
    Ok(messages
        .into_iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => {
                Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect::<Vec<_>>())
            }
            _ => None,
        })
        .collect())
}

async fn one(client: &Client, sql: &str) -> Option<String> {
    text_rows(client, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"))[0][0].clone()
}

async fn tables(client: &Client, sql: &str) -> Vec<String> {
    let mut names: Vec<String> =
        text_rows(client, sql).await.expect("catalog").into_iter().filter_map(|r| r[0].clone()).collect();
    names.sort();
    names
}

fn code(error: &tokio_postgres::Error) -> Option<&SqlState> {
    error.code()
}

fn message(error: &tokio_postgres::Error) -> String {
    error.as_db_error().map_or_else(|| error.to_string(), |db| db.message().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_with_scram_or_a_password_and_the_persona_database() {
    let server = start().await;
    let _ = server.connect("ana").await;
    let wrong = server.try_connect("ana", "nope").await.expect_err("wrong password");
    assert_eq!(code(&wrong), Some(&SqlState::INVALID_PASSWORD), "{wrong}");
    let unknown = server.try_connect("eve", "pw").await.expect_err("unknown user");
    assert_eq!(code(&unknown), Some(&SqlState::INVALID_PASSWORD), "same answer for unknown users: {unknown}");
    assert_eq!(message(&unknown), "password authentication failed for user \"eve\"");
    // hal has no SCRAM verifier: the password in clear, accepted on loopback
    let _ = server.connect("hal").await;
    let wrong = server.try_connect("hal", "nope").await.expect_err("wrong password");
    assert_eq!(code(&wrong), Some(&SqlState::INVALID_PASSWORD), "{wrong}");
    let url = format!("host=127.0.0.1 port={} user=ana password=pw dbname=postgres", server.pg.port());
    let database = tokio_postgres::connect(&url, NoTls).await.map(|_| ()).expect_err("unknown database");
    assert_eq!(code(&database), Some(&SqlState::INVALID_CATALOG_NAME), "{database}");
    assert!(message(&database).contains("persona"), "{database}");
    // five failures in a row throttle the (address, name) pair, over SCRAM or a password in clear:
    // then even the right password is refused, unchecked, with the time to wait
    for user in ["ana", "hal"] {
        for _ in 1..5 {
            let wrong = server.try_connect(user, "nope").await.expect_err("wrong password");
            assert_eq!(message(&wrong), format!("password authentication failed for user \"{user}\""));
        }
        let throttled = server.try_connect(user, "pw").await.expect_err("throttled");
        assert_eq!(code(&throttled), Some(&SqlState::INVALID_PASSWORD), "{throttled}");
        assert!(message(&throttled).starts_with("too many failed logins for this user from this address: retry in"));
    }
    let _ = server.connect("mia").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_parameters_portals_and_nested_values() {
    let server = start().await;
    let client = server.connect("ana").await;

    // simple protocol, several statements in one string
    let rows = text_rows(&client, "SELECT 1 AS a; SELECT count(*) FROM customers").await.expect("simple");
    assert_eq!(rows, vec![vec![Some("1".into())], vec![Some(common::TEST_CUSTOMERS.to_string())]]);

    // extended protocol: the planner types the placeholders, values arrive in binary
    let typed = client
        .query("SELECT count(*) FROM transactions WHERE amount > $1 AND customer_id <= $2", &[&100.0_f64, &500_i64])
        .await
        .expect("typed parameters");
    let literal = text_rows(&client, "SELECT count(*) FROM transactions WHERE amount > 100.0 AND customer_id <= 500")
        .await
        .expect("literal");
    let count: i64 = typed[0].get(0);
    assert_eq!(Some(count.to_string()), literal[0][0]);
    assert!(count > 0);

    // a Persona function through a prepared statement, executed twice with other values
    let statement = client.prepare("SELECT mask_phone($1) AS masked").await.expect("prepare");
    for (phone, masked) in [("13812345678", "138****5678"), ("15900001111", "159****1111")] {
        let row = client.query_one(&statement, &[&phone]).await.expect("mask_phone");
        assert_eq!(row.get::<_, String>(0), masked);
    }

    // SQL PREPARE / EXECUTE, the EXECUTE sent through the extended protocol (described first)
    client
        .simple_query("PREPARE tier (INT) AS SELECT count(*) AS n FROM customers WHERE city_tier = $1")
        .await
        .expect("prepare");
    let executed: i64 = client.query_one("EXECUTE tier (1)", &[]).await.expect("execute").get(0);
    let counted = text_rows(&client, "SELECT count(*) FROM customers WHERE city_tier = 1").await.expect("count");
    assert_eq!(Some(executed.to_string()), counted[0][0]);
    // a pool's DISCARD ALL forgets it
    client.simple_query("DISCARD ALL").await.expect("discard");
    let gone = client.simple_query("EXECUTE tier (1)").await.expect_err("deallocated");
    assert_eq!(code(&gone), Some(&SqlState::INVALID_SQL_STATEMENT_NAME), "{gone}");

    // struct and list values are JSON text, in both protocols
    let nested = "SELECT named_struct('a', 1, 'b', make_array(1, 2)) AS s, make_array(1.5, 2.5) AS l";
    assert_eq!(
        text_rows(&client, nested).await.expect("nested"),
        vec![vec![Some(r#"{"a":1,"b":[1,2]}"#.into()), Some("[1.5,2.5]".into())]]
    );
    let row = client.query_one(nested, &[]).await.expect("nested, extended");
    assert_eq!(row.get::<_, String>(1), "[1.5,2.5]");

    // a portal read 100 rows at a time
    let mut client = client;
    let transaction = client.transaction().await.expect("begin");
    let portal = transaction
        .bind("SELECT customer_id FROM customers WHERE customer_id <= $1 ORDER BY customer_id", &[&250_i64])
        .await
        .expect("bind");
    let mut sizes = Vec::new();
    let mut ids = Vec::new();
    loop {
        let rows = transaction.query_portal(&portal, 100).await.expect("fetch");
        if rows.is_empty() {
            break;
        }
        sizes.push(rows.len());
        ids.extend(rows.iter().map(|r| r.get::<_, i64>(0)));
    }
    transaction.commit().await.expect("commit");
    assert_eq!(sizes, vec![100, 100, 50]);
    assert_eq!(ids, (1..=250).collect::<Vec<i64>>());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_stdout_streams_csv_and_text() {
    let server = start().await;
    let client = server.connect("ana").await;
    let sql = "COPY (SELECT customer_id, city_tier FROM customers WHERE customer_id <= 3 ORDER BY customer_id) \
               TO STDOUT WITH (FORMAT csv, HEADER true)";
    let stream = client.copy_out(sql).await.expect("copy");
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.expect("copy data");
    let text = String::from_utf8(chunks.concat()).expect("utf-8");
    let expected =
        text_rows(&client, "SELECT customer_id, city_tier FROM customers WHERE customer_id <= 3 ORDER BY customer_id")
            .await
            .expect("rows");
    let mut lines = vec!["customer_id,city_tier".to_string()];
    lines.extend(
        expected.iter().map(|r| format!("{},{}", r[0].as_deref().unwrap_or(""), r[1].as_deref().unwrap_or(""))),
    );
    assert_eq!(text, format!("{}\n", lines.join("\n")));

    let stream = client.copy_out("COPY customers (customer_id, email) TO STDOUT").await.expect("copy a table");
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.expect("copy data");
    let text = String::from_utf8(chunks.concat()).expect("utf-8");
    assert_eq!(text.lines().count(), usize::try_from(common::TEST_CUSTOMERS).expect("count"));
    assert!(text.lines().all(|line| line.split('\t').count() == 2), "tab-separated text format");

    let refused = client.simple_query("COPY customers TO '/tmp/x.csv'").await.expect_err("file COPY");
    assert_eq!(code(&refused), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{refused}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_request_and_the_time_limits_stop_a_running_query() {
    let server = start().await;
    let client = server.connect("ana").await;
    let token = client.cancel_token();
    let started = Instant::now();
    let cancel = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        token.cancel_query(NoTls).await
    });
    let error = client.simple_query(LONG_QUERY).await.expect_err("cancelled");
    cancel.await.expect("join").expect("cancel request sent");
    assert_eq!(code(&error), Some(&SqlState::QUERY_CANCELED), "{error}");
    assert!(started.elapsed() < Duration::from_secs(20), "cancelled promptly: {:?}", started.elapsed());
    // the connection serves the next query
    assert_eq!(text_rows(&client, "SELECT 2").await.expect("next"), vec![vec![Some("2".into())]]);

    // the connection's statement_timeout shortens the role's limit
    client.simple_query("SET statement_timeout = '300ms'").await.expect("set");
    let rows = text_rows(&client, "SHOW statement_timeout").await.expect("show");
    assert_eq!(rows, vec![vec![Some("300ms".into())]]);
    let started = Instant::now();
    let error = client.query(LONG_QUERY, &[]).await.expect_err("timeout");
    assert_eq!(code(&error), Some(&SqlState::QUERY_CANCELED), "{error}");
    assert!(message(&error).contains("timeout"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());

    // the role's limit (1 s)
    let hal = server.connect("hal").await;
    let error = hal.simple_query(LONG_QUERY).await.expect_err("role timeout");
    assert!(message(&error).contains("statement timeout"), "{error}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_settings_and_catalog_queries() {
    let server = start().await;
    let mia = server.connect("mia").await;
    let denied = mia.simple_query("SELECT * FROM credit_scores").await.expect_err("table of another role");
    assert_eq!(code(&denied), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{denied}");
    let explain = mia.simple_query("EXPLAIN SELECT * FROM customers").await.expect_err("explain");
    assert!(message(&explain).contains("pii"), "{explain}");
    let ddl = mia.simple_query("CREATE TABLE t AS SELECT 1 AS x").await.expect_err("read-only");
    assert_eq!(code(&ddl), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{ddl}");
    let engine = mia.simple_query("SET datafusion.execution.target_partitions = 1").await.expect_err("engine setting");
    assert_eq!(code(&engine), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{engine}");
    let role = mia.simple_query("SET ROLE analyst").await.expect_err("role switch");
    assert_eq!(code(&role), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{role}");
    let syntax = mia.simple_query("SELEC 1").await.expect_err("syntax");
    assert_eq!(code(&syntax), Some(&SqlState::SYNTAX_ERROR), "{syntax}");
    // a chain of 100,000 terms would overflow the planner's stack: refused before parsing, by
    // both query protocols
    let chain = format!("SELECT 1{}", " + 1".repeat(100_000));
    let deep = mia.simple_query(&chain).await.expect_err("too deep");
    assert_eq!(code(&deep), Some(&SqlState::STATEMENT_TOO_COMPLEX), "{deep}");
    let deep = mia.prepare(&chain).await.expect_err("too deep");
    assert_eq!(code(&deep), Some(&SqlState::STATEMENT_TOO_COMPLEX), "{deep}");
    // (this test's runtime has 2 MiB stacks and a debug build's frames are large: a shorter chain)
    assert_eq!(one(&mia, &format!("SELECT 1{} AS x", " + 1".repeat(199))).await.as_deref(), Some("200"));

    // what clients send on connect
    for statement in [
        "SET application_name = 'dbeaver'",
        "SET extra_float_digits = 3",
        "SET client_encoding TO 'UTF8'",
        "SET TIME ZONE 'UTC'",
        "BEGIN",
        "SAVEPOINT s",
        "RELEASE SAVEPOINT s",
        "COMMIT",
        "DISCARD ALL",
    ] {
        mia.simple_query(statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    assert_eq!(one(&mia, "SHOW application_name").await.as_deref(), Some("dbeaver"));
    assert_eq!(one(&mia, "SHOW server_version").await.as_deref(), Some("16.6"));
    assert_eq!(one(&mia, "SHOW search_path").await.as_deref(), Some("public"));
    assert_eq!(one(&mia, "SELECT current_database()").await.as_deref(), Some("persona"));
    assert_eq!(one(&mia, "SELECT current_schema()").await.as_deref(), Some("public"));
    assert!(one(&mia, "SELECT version()").await.is_some_and(|v| v.starts_with("PostgreSQL 16.6 (Persona")));
    let unknown = mia.simple_query("SHOW no_such_setting").await.expect_err("unknown setting");
    assert_eq!(code(&unknown), Some(&SqlState::UNDEFINED_OBJECT), "{unknown}");

    // each role sees only its own tables, in information_schema and in pg_catalog
    let mia_tables = ["campaign_contacts", "campaigns", "customers", "transactions"].map(String::from).to_vec();
    assert_eq!(
        tables(&mia, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'").await,
        mia_tables
    );
    let pg_class =
        "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                    WHERE n.nspname = 'public' AND c.relkind = 'r'";
    assert_eq!(tables(&mia, pg_class).await, mia_tables);
    let ana = server.connect("ana").await;
    let ana_tables = tables(&ana, pg_class).await;
    assert!(ana_tables.contains(&"credit_scores".to_string()) && ana_tables.len() > mia_tables.len(), "{ana_tables:?}");
    // masked columns are text in the catalog
    let types = text_rows(
        &mia,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid WHERE c.relname = 'customers' AND a.attname IN ('birth_year', 'phone') \
         ORDER BY a.attname",
    )
    .await
    .expect("pg_attribute");
    // a masking function's result is text; a redacted column keeps its type and holds NULLs
    assert_eq!(
        types,
        vec![vec![Some("birth_year".into()), Some("integer".into())], vec![Some("phone".into()), Some("text".into())]]
    );
    server.shutdown().await;
}

fn strings(batch: &RecordBatch) -> Vec<Vec<Option<String>>> {
    let options = FormatOptions::default();
    (0..batch.num_rows())
        .map(|row| {
            batch
                .columns()
                .iter()
                .map(|column| {
                    if column.is_null(row) {
                        None
                    } else {
                        let formatter = ArrayFormatter::try_new(column.as_ref(), &options).expect("formatter");
                        Some(formatter.value(row).to_string())
                    }
                })
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_role_sees_the_same_masked_values_over_flight_sql_and_postgresql() {
    let server = start().await;
    let sql = "SELECT customer_id, name, phone, id_number, email, birth_year, city FROM customers \
               ORDER BY customer_id LIMIT 200";
    let mia = server.connect("mia").await;
    let over_pg = text_rows(&mia, sql).await.expect("postgresql");

    let channel =
        Endpoint::from_shared(format!("http://{}", server.flight)).expect("uri").connect().await.expect("connect");
    let mut flight = FlightSqlServiceClient::new(channel);
    flight.handshake("mia", "pw").await.expect("handshake");
    let info = flight.execute(sql.to_string(), None).await.expect("execute");
    let schema = Arc::new(info.clone().try_decode_schema().expect("schema"));
    let mut batches = Vec::new();
    for endpoint in info.endpoint {
        let stream = flight.do_get(endpoint.ticket.expect("ticket")).await.expect("do_get");
        batches.extend(stream.try_collect::<Vec<_>>().await.expect("batches"));
    }
    let over_flight = strings(&concat_batches(&schema, &batches).expect("concat"));

    assert_eq!(over_pg.len(), 200);
    assert_eq!(over_pg, over_flight, "the same masked values over both protocols");
    let first = &over_pg[0];
    assert!(first[2].as_deref().is_some_and(|p| p.contains("***")), "phone masked: {first:?}");
    assert!(first[5].is_none(), "birth_year redacted: {first:?}");
    // the analyst (pii) sees clear values
    let ana = server.connect("ana").await;
    let clear = text_rows(&ana, sql).await.expect("clear");
    assert_ne!(clear[0][2], first[2]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_clients() {
    let server = Arc::new(start().await);
    let mut tasks = Vec::new();
    for i in 0..32_i64 {
        let server = Arc::clone(&server);
        tasks.push(tokio::spawn(async move {
            let user = if i % 2 == 0 { "ana" } else { "mia" };
            let client = server.connect(user).await;
            let row = client
                .query_one("SELECT count(*) FROM transactions WHERE customer_id % 32 = $1", &[&i])
                .await
                .expect("query");
            row.get::<_, i64>(0)
        }));
    }
    let started = Instant::now();
    let mut total = 0;
    for task in tasks {
        total += tokio::time::timeout(Duration::from_secs(120), task).await.expect("in time").expect("client");
    }
    eprintln!("32 PostgreSQL clients in {:.1} s", started.elapsed().as_secs_f64());
    let client = server.connect("ana").await;
    let all = text_rows(&client, "SELECT count(*) FROM transactions").await.expect("count");
    assert_eq!(Some(total.to_string()), all[0][0], "the 32 clients' counts add up");
    drop(client);
    assert_eq!(server.ctx.runtime_env().memory_pool.reserved(), 0, "the memory pool is back to zero");
    let Ok(server) = Arc::try_unwrap(server) else { panic!("server still shared") };
    server.shutdown().await;
}

/// RFM segments of the customers with Persona's functions (sql/segmentation.sql, shortened).
const SEGMENTS: &str = "WITH inputs AS (SELECT customer_id, rfm(txn_ts, amount, DATE '2026-01-01') AS v \
     FROM transactions WHERE amount > 0 GROUP BY customer_id), \
     scored AS (SELECT 6 - quantile_score(5) OVER (ORDER BY v['recency_days'], customer_id) AS r, \
     quantile_score(5) OVER (ORDER BY v['frequency'], customer_id) AS f FROM inputs) \
     SELECT rfm_segment(r, f) AS segment, count(*) AS n FROM scored GROUP BY 1 ORDER BY 2 DESC, 1";

/// Runs psql (installed by .ci/run) with `args`; returns stdout, or stderr on failure.
fn psql(server: &Server, user: &str, sslmode: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new("psql")
        .arg(format!("host=127.0.0.1 port={} user={user} dbname=persona sslmode={sslmode}", server.pg.port()))
        .args(["--no-psqlrc", "-X", "-v", "ON_ERROR_STOP=1"])
        .args(args)
        .env("PGPASSWORD", "pw")
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .map_err(|e| format!("psql could not run (install postgresql-client): {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).to_string())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_describes_tables_copies_and_connects_over_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("certificate");
    let cert = dir.path().join("server.pem");
    let key = dir.path().join("server.key");
    std::fs::write(&cert, certified.cert.pem()).expect("cert");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("key");
    let server = start_with(&format!("tls_cert = \"{}\"\ntls_key = \"{}\"", cert.display(), key.display())).await;
    let _ = server.connect("mia").await; // ready (the Rust client asks for no TLS: allowed on loopback)
    let server = Arc::new(server);
    let run = |user: &'static str, sslmode: &'static str, args: Vec<&'static str>| {
        let server = Arc::clone(&server);
        tokio::task::spawn_blocking(move || psql(&server, user, sslmode, &args))
    };

    let tables = run("mia", "require", vec!["-c", "\\dt"]).await.expect("join").expect("\\dt over TLS");
    for table in ["campaign_contacts", "campaigns", "customers", "transactions"] {
        assert!(tables.contains(table), "{table} in\n{tables}");
    }
    assert!(!tables.contains("credit_scores"), "only the role's tables:\n{tables}");

    let described = run("mia", "require", vec!["-c", "\\d customers"]).await.expect("join").expect("\\d");
    for line in ["customer_id", "bigint", "phone", "text"] {
        assert!(described.contains(line), "{line} in\n{described}");
    }

    let copied = run(
        "ana",
        "require",
        vec!["-c", "\\copy (SELECT customer_id, city_tier FROM customers WHERE customer_id <= 2 ORDER BY 1) TO STDOUT WITH CSV"],
    )
    .await
    .expect("join")
    .expect("\\copy");
    assert_eq!(copied.lines().count(), 2, "{copied}");
    assert!(copied.starts_with("1,"), "{copied}");

    let answer = run("ana", "disable", vec!["-t", "-A", "-c", "SELECT count(*) FROM customers"])
        .await
        .expect("join")
        .expect("query over plain TCP on loopback");
    assert_eq!(answer.trim(), common::TEST_CUSTOMERS.to_string());

    let refused = run("mia", "require", vec!["-c", "SELECT * FROM credit_scores"]).await.expect("join");
    assert!(refused.as_ref().is_err_and(|e| e.contains("may not read")), "{refused:?}");

    // a segmentation query with Persona's functions: the same answer as the engine in process
    let answer =
        run("ana", "require", vec!["-t", "-A", "-F", ",", "-c", SEGMENTS]).await.expect("join").expect("segments");
    let local: Vec<String> = common::rows(&server.ctx, SEGMENTS).await.into_iter().map(|row| row.join(",")).collect();
    assert!(local.len() > 3, "{local:?}");
    assert_eq!(answer.lines().collect::<Vec<_>>(), local);

    // a prepared query (psql 15 has no \\bind: SQL PREPARE / EXECUTE, kept per connection)
    let prepared = run(
        "mia",
        "require",
        vec![
            "-t",
            "-A",
            "-c",
            "PREPARE tier (INT) AS SELECT count(*) FROM customers WHERE city_tier = $1",
            "-c",
            "EXECUTE tier (1)",
            "-c",
            "EXECUTE tier (2)",
            "-c",
            "DEALLOCATE tier",
        ],
    )
    .await
    .expect("join");
    // psql -c runs each command on the same connection
    let prepared = prepared.expect("PREPARE and EXECUTE");
    let counts: Vec<&str> =
        prepared.lines().filter(|l| l.chars().all(|c| c.is_ascii_digit()) && !l.is_empty()).collect();
    let expected = text_rows(
        &server.connect("mia").await,
        "SELECT count(*) FROM customers WHERE city_tier IN (1, 2) GROUP BY city_tier ORDER BY city_tier",
    )
    .await
    .expect("counts");
    assert_eq!(counts, expected.iter().map(|r| r[0].as_deref().unwrap_or("")).collect::<Vec<_>>(), "{prepared}");

    let wrong = Command::new("psql")
        .arg(format!("host=127.0.0.1 port={} user=ana dbname=persona sslmode=require", server.pg.port()))
        .args(["-X", "-c", "SELECT 1"])
        .env("PGPASSWORD", "wrong")
        .output()
        .expect("psql");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("password authentication failed"), "{wrong:?}");

    // Ctrl-C in psql sends a CancelRequest
    let long = Command::new("psql")
        .arg(format!("host=127.0.0.1 port={} user=ana dbname=persona sslmode=require", server.pg.port()))
        .args(["-X", "-c", LONG_QUERY])
        .env("PGPASSWORD", "pw")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("psql");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = long.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().expect("kill");
    assert!(sent.success());
    let started = Instant::now();
    let cancelled = tokio::task::spawn_blocking(move || long.wait_with_output()).await.expect("join").expect("psql");
    assert!(started.elapsed() < Duration::from_secs(20), "psql ended {:?} after Ctrl-C", started.elapsed());
    let stderr = String::from_utf8_lossy(&cancelled.stderr);
    assert!(stderr.contains("canceling statement due to user request"), "{stderr}");

    // Persona's functions are listed in information_schema.routines (psql's \df needs
    // pg_proc entries for them, which the catalog does not have)
    let functions = run(
        "mia",
        "require",
        vec!["-t", "-A", "-c", "SELECT DISTINCT routine_name FROM information_schema.routines WHERE routine_name IN ('rfm', 'psi', 'mask_phone') ORDER BY 1"],
    )
    .await
    .expect("join")
    .expect("routines");
    assert_eq!(functions.lines().collect::<Vec<_>>(), vec!["mask_phone", "psi", "rfm"], "{functions}");
    let Ok(server) = Arc::try_unwrap(server) else { panic!("server still shared") };
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_of_a_large_result_is_paced_by_the_client() {
    // a result larger than the socket buffers arrives whole, row by row
    let server = start().await;
    let client = server.connect("ana").await;
    let rows = client.query_raw("SELECT * FROM transactions", Vec::<i64>::new()).await.expect("stream");
    futures::pin_mut!(rows);
    let mut count = 0_u64;
    while let Some(row) = rows.next().await {
        row.expect("row");
        count += 1;
    }
    let all = text_rows(&client, "SELECT count(*) FROM transactions").await.expect("count");
    assert_eq!(Some(count.to_string()), all[0][0]);
    server.shutdown().await;
}

/// Python with psycopg 3, SQLAlchemy and pandas from PyPI.
fn python_clients() -> std::path::PathBuf {
    common::python_venv("pg-clients-venv", &["psycopg[binary]==3.3.9", "SQLAlchemy==2.1.9", "pandas==3.1.1"])
        .join("bin")
        .join("python")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg_sqlalchemy_and_pandas() {
    let python = tokio::task::spawn_blocking(python_clients).await.expect("venv");
    let server = start().await;
    let _ = server.connect("ana").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pg_clients/client.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .env("PERSONA_PG_PORT", server.pg.port().to_string())
        .env("PERSONA_PASSWORD", "pw")
        .env("PERSONA_CUSTOMERS", common::TEST_CUSTOMERS.to_string())
        .output()
        .await
        .expect("runs the Python clients");
    assert!(
        output.status.success(),
        "Python clients failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    server.shutdown().await;
}
