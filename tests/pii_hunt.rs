//! PII leak hunt on the Flight SQL server: a role without `pii` (`mia`, which may read the masked
//! `customers`) runs a generated corpus of queries aimed at the masked columns — aggregates that
//! return values, casts and their error texts, string probes, comparisons and joins against the
//! raw values, windows, grouping sets, metadata, `SHOW`, prepared statements, file paths — and no
//! raw name, phone number, ID number or e-mail address of the lake may appear in any result, any
//! error (beyond the literals the query itself typed) or any log line the server writes.
//!
//! The raw values are read by `ana` (a role with `pii`). They are found in a text by tokens, not
//! by substring search over every value: runs of digits (phone and ID numbers, an ID's final `X`
//! included), runs of e-mail characters holding an `@`, and runs of CJK characters (names; the
//! masked name `王**` is a run of one).

mod common;
#[path = "support/flight_server.rs"]
mod flight_server;

use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, RecordBatch};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use arrow_flight::sql::client::FlightSqlServiceClient;
use flight_server::{int, query, start, strings, Server};
use tonic::transport::Channel;

/// Every log line the test process writes (the server runs in it).
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().map_err(|_| std::io::Error::other("log buffer poisoned"))?.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The raw personal values of the lake, and how to find them in a text.
struct Secrets {
    /// Phone and ID numbers, and what is left of them without an ID's final `X`.
    numbers: HashSet<String>,
    emails: HashSet<String>,
    names: HashSet<String>,
}

impl Secrets {
    /// The raw values found in `text`, except those in `typed` (the query's own literals).
    fn found_in(&self, text: &str, typed: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut check = |token: &str, set: &HashSet<String>| {
            if set.contains(token) && !typed.contains(token) {
                found.push(token.to_string());
            }
        };
        for token in runs(text, |c| c.is_ascii_digit() || c == 'X' || c == 'x') {
            if token.len() >= 10 {
                check(token, &self.numbers);
                check(token.trim_end_matches(['X', 'x']), &self.numbers);
            }
        }
        for token in runs(text, |c| c.is_ascii_alphanumeric() || "._%+-@".contains(c)) {
            if token.contains('@') {
                check(token.trim_matches('.'), &self.emails);
            }
        }
        for token in runs(text, |c| ('\u{4e00}'..='\u{9fff}').contains(&c)) {
            check(token, &self.names);
        }
        found
    }
}

/// The maximal runs of characters of `text` that satisfy `keep`.
fn runs(text: &str, keep: impl Fn(char) -> bool) -> impl Iterator<Item = &str> {
    text.split(move |c: char| !keep(c)).filter(|t| !t.is_empty())
}

/// Every cell of `batch` as text (nested values included).
fn cells(batch: &RecordBatch) -> Vec<String> {
    let options = FormatOptions::default();
    let mut out = Vec::new();
    for column in batch.columns() {
        let format = ArrayFormatter::try_new(column.as_ref(), &options).expect("displayable");
        out.extend((0..column.len()).map(|row| format.value(row).to_string()));
    }
    out
}

fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The corpus: every template with `{c}` a masked column, `{v}`/`{w}` two raw values of it and
/// `{p}` the first 7 characters of `{v}`.
const TEMPLATES: &[&str] = &[
    // aggregates that return values
    "SELECT min({c}) AS a, max({c}) AS b FROM customers",
    "SELECT first_value({c} ORDER BY customer_id) AS a, last_value({c} ORDER BY customer_id) AS b FROM customers",
    "SELECT array_agg({c} ORDER BY customer_id) AS a FROM customers",
    "SELECT array_agg(DISTINCT {c}) AS a FROM customers",
    "SELECT string_agg({c}, ',') AS a FROM customers",
    "SELECT approx_distinct({c}) AS a, count(DISTINCT {c}) AS b, count({c}) AS n FROM customers",
    "SELECT {c}, count(*) AS n FROM customers GROUP BY {c} ORDER BY n DESC, {c} LIMIT 100",
    "SELECT city, min({c}) AS a, max({c}) AS b FROM customers GROUP BY GROUPING SETS ((city), ()) ORDER BY city",
    "SELECT max({c}) FILTER (WHERE customer_id % 2 = 0) AS a FROM customers",
    "SELECT approx_median(length({c})) AS a, max(length({c})) AS b FROM customers",
    "SELECT column_profile({c}) AS a FROM customers",
    "SELECT column_profile({c}, 'cn_id') AS a, column_profile({c}, 'cn_mobile') AS b, column_profile({c}, 'email') AS e FROM customers",
    // windows
    "SELECT first_value({c}) OVER (ORDER BY customer_id) AS a, nth_value({c}, 2) OVER (ORDER BY customer_id) AS b FROM customers LIMIT 100",
    "SELECT lag({c}) OVER (ORDER BY customer_id) AS a, lead({c}, 3) OVER (ORDER BY customer_id) AS b FROM customers LIMIT 100",
    "SELECT {c}, row_number() OVER (PARTITION BY {c} ORDER BY customer_id) AS r FROM customers LIMIT 100",
    // casts and error texts that echo the value
    "SELECT CAST({c} AS BIGINT) AS a FROM customers",
    "SELECT CAST({c} AS DECIMAL(38, 0)) AS a FROM customers",
    "SELECT CAST({c} AS DOUBLE) AS a FROM customers",
    "SELECT CAST({c} AS DATE) AS a FROM customers",
    "SELECT CAST({c} AS TIMESTAMP) AS a FROM customers",
    "SELECT arrow_cast({c}, 'Int64') AS a FROM customers",
    "SELECT to_timestamp({c}) AS a FROM customers",
    "SELECT {c} + 1 AS a FROM customers",
    "SELECT make_date(CAST({c} AS INT), 1, 1) AS a FROM customers",
    "SELECT TRY_CAST({c} AS BIGINT) AS a FROM customers",
    // string probes
    "SELECT substr({c}, 1, 3) AS a, substr({c}, 4, 4) AS b, substr({c}, 7, 8) AS d FROM customers LIMIT 200",
    "SELECT left({c}, 7) AS a, right({c}, 4) AS b, reverse({c}) AS d FROM customers LIMIT 200",
    "SELECT strpos({c}, '1') AS a, regexp_match({c}, '[0-9]+') AS b, regexp_like({c}, '^1[3-9]') AS d FROM customers LIMIT 200",
    "SELECT split_part({c}, '@', 1) AS a, replace({c}, '*', '') AS b, translate({c}, '*', '0') AS d FROM customers LIMIT 200",
    "SELECT regexp_replace({c}, '[*]', '', 'g') AS a, btrim({c}, '*') AS b FROM customers LIMIT 200",
    "SELECT md5({c}) AS a, sha256({c}) AS b, encode(CAST({c} AS BYTEA), 'hex') AS d FROM customers LIMIT 200",
    "SELECT ascii(substr({c}, 5, 1)) AS a, octet_length({c}) AS b, upper({c}) AS d FROM customers LIMIT 200",
    "SELECT {c} || '|' || customer_id AS a FROM customers LIMIT 200",
    "SELECT is_valid_cn_id({c}) AS a, is_valid_cn_mobile({c}) AS b, is_valid_email({c}) AS d FROM customers LIMIT 200",
    "SELECT mask_phone({c}) AS a, mask_id_number({c}) AS b, mask_name({c}) AS d, mask_email({c}) AS e FROM customers LIMIT 200",
    "SELECT hash_pii({c}, 'a-key-of-my-own-0123456789') AS a FROM customers LIMIT 200",
    // comparisons with the raw values that can match (the masked values are compared)
    "SELECT count(*) AS n FROM customers WHERE strpos({c}, substr({v}, 7, 8)) > 0",
    "SELECT customer_id, {c} FROM customers WHERE {c} > {v} ORDER BY {c} LIMIT 20",
    "SELECT * FROM customers WHERE {c} = {v}",
    "SELECT CASE WHEN {c} = {v} THEN 'hit' ELSE 'miss' END AS a, count(*) AS n FROM customers GROUP BY 1",
    // the masked column through other routes
    "SELECT c.{c} FROM datafusion.public.customers c ORDER BY c.customer_id LIMIT 50",
    "SELECT {c} FROM (SELECT * FROM customers) s ORDER BY 1 LIMIT 50",
    "SELECT x.{c} FROM customers x JOIN customers y ON x.{c} = y.{c} LIMIT 50",
    "SELECT {c} FROM customers UNION SELECT {v} ORDER BY 1 LIMIT 5",
    "SELECT CAST({c} AS VARCHAR) || {v} AS a FROM customers LIMIT 5",
];

/// Comparisons with the raw values, in the placeholders of [`TEMPLATES`]: each must count 0 rows
/// (a masked value never equals, or starts like, the raw one it hides).
const MATCH_NOTHING: &[&str] = &[
    "SELECT count(*) AS n FROM customers WHERE {c} = {v}",
    "SELECT count(*) AS n FROM customers WHERE {c} IN ({v}, {w})",
    "SELECT count(*) AS n FROM customers WHERE {c} LIKE {p} || '%'",
    "SELECT count(*) AS n FROM customers WHERE starts_with({c}, {p})",
    "SELECT count(*) AS n FROM customers c JOIN (VALUES ({v}), ({w})) AS probe(x) ON c.{c} = probe.x",
    "SELECT count(*) AS n FROM customers WHERE {c} = {v} OR {c} = upper({w})",
    "SELECT count(*) AS n FROM customers WHERE {c} = {v} AND customer_id > 0",
];

/// Statements on metadata, settings, files and statements (no column to substitute).
const FIXED: &[&str] = &[
    "SELECT * FROM information_schema.columns WHERE table_name = 'customers'",
    "SELECT * FROM information_schema.views",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM information_schema.df_settings",
    "SHOW ALL",
    "SHOW COLUMNS FROM customers",
    "SHOW TABLES",
    "DESCRIBE customers",
    "SELECT phone FROM customer_spend ORDER BY spend DESC LIMIT 50",
    "SELECT * FROM customer_spend ORDER BY spend DESC LIMIT 50",
    "EXPLAIN SELECT * FROM customers WHERE phone = '13800000000'",
    "EXPLAIN ANALYZE SELECT * FROM customers",
    "CREATE VIEW raw AS SELECT * FROM customers",
    "CREATE EXTERNAL TABLE raw STORED AS PARQUET LOCATION '{lake}/customers/'",
    "COPY customers TO '/tmp/persona-pii-hunt.csv'",
    "SELECT * FROM '{lake}/customers/'",
    "SELECT * FROM parquet_metadata('{lake}/customers/')",
    "PREPARE p AS SELECT phone FROM customers WHERE phone = $1",
    "SET datafusion.execution.parquet.pushdown_filters = true",
    "SELECT pseudonym(email) FROM customers",
];

struct Hunt {
    secrets: Secrets,
    statements: usize,
    rows: usize,
    errors: usize,
    leaks: Vec<String>,
}

impl Hunt {
    async fn run(&mut self, client: &mut FlightSqlServiceClient<Channel>, sql: &str) -> Option<RecordBatch> {
        self.statements += 1;
        match query(client, sql).await {
            Ok(batch) => {
                self.rows += batch.num_rows();
                for cell in cells(&batch) {
                    for leak in self.secrets.found_in(&cell, sql) {
                        self.leaks.push(format!("result of `{sql}`: {leak}"));
                    }
                }
                Some(batch)
            }
            Err(error) => {
                self.errors += 1;
                if std::env::var_os("PERSONA_HUNT_VERBOSE").is_some() {
                    eprintln!("{sql}\n    -> {error}");
                }
                for leak in self.secrets.found_in(&error, sql) {
                    self.leaks.push(format!("error of `{sql}`: {leak} in {error}"));
                }
                None
            }
        }
    }
}

async fn raw_values(server: &Server) -> (Secrets, Vec<(&'static str, Vec<String>)>) {
    let mut ana = server.login("ana").await;
    let clear = query(&mut ana, "SELECT name, phone, id_number, email FROM customers ORDER BY customer_id")
        .await
        .expect("the analyst reads clear values");
    let column = |name: &str| strings(&clear, name).into_iter().flatten().collect::<Vec<_>>();
    let (names, phones, ids, emails) = (column("name"), column("phone"), column("id_number"), column("email"));
    assert!(names.len() > 1000 && phones.len() > 1000 && ids.len() > 1000 && emails.len() > 500);
    let mut numbers: HashSet<String> = phones.iter().chain(&ids).cloned().collect();
    numbers.extend(ids.iter().map(|id| id.trim_end_matches(['X', 'x']).to_string()));
    let secrets = Secrets { numbers, emails: emails.iter().cloned().collect(), names: names.iter().cloned().collect() };
    // probe values: the first customers' and the planted invalid ones (wrong check digit, a
    // digit missing, an e-mail cut before its domain), which a mask must treat like the rest
    let invalid = query(
        &mut ana,
        "SELECT (SELECT min(id_number) FROM customers WHERE NOT is_valid_cn_id(id_number)) AS id, \
                (SELECT min(phone) FROM customers WHERE NOT is_valid_cn_mobile(phone)) AS phone, \
                (SELECT min(email) FROM customers WHERE NOT is_valid_email(email)) AS email",
    )
    .await
    .expect("planted defects");
    let second = |values: &[String], planted: &str| {
        let planted = strings(&invalid, planted)[0].clone();
        planted.unwrap_or_else(|| values[1].clone())
    };
    let probes = vec![
        ("name", vec![names[0].clone(), names[1].clone()]),
        ("phone", vec![phones[0].clone(), second(&phones, "phone")]),
        ("id_number", vec![ids[0].clone(), second(&ids, "id")]),
        ("email", vec![emails[0].clone(), second(&emails, "email")]),
    ];
    (secrets, probes)
}

/// The hunt (see the module docs). Also checks that comparisons with a raw value never match
/// (they compare masked values) and that the redacted `birth_year` yields no value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_raw_personal_value_reaches_a_role_without_pii() {
    let _ = tracing_subscriber::fmt().with_writer(|| Capture).with_ansi(false).try_init();
    let server = start().await;
    let (secrets, probes) = raw_values(&server).await;
    let mut hunt = Hunt { secrets, statements: 0, rows: 0, errors: 0, leaks: Vec::new() };
    let mut mia = server.login("mia").await;
    let lake = common::test_lake().display().to_string();

    for (column, values) in &probes {
        let (v, w) = (quoted(&values[0]), quoted(&values[1]));
        let p = quoted(&values[0].chars().take(7).collect::<String>());
        let fill =
            |template: &str| template.replace("{c}", column).replace("{v}", &v).replace("{w}", &w).replace("{p}", &p);
        for template in TEMPLATES {
            hunt.run(&mut mia, &fill(template)).await;
        }
        for template in MATCH_NOTHING {
            let sql = fill(template);
            let batch = hunt.run(&mut mia, &sql).await.unwrap_or_else(|| panic!("`{sql}` runs"));
            assert_eq!(int(&batch, "n"), 0, "`{sql}` matched a raw value");
        }
    }
    for statement in FIXED {
        hunt.run(&mut mia, &statement.replace("{lake}", &lake)).await;
    }

    // prepared statements bound to raw values
    for (column, values) in &probes {
        let sql = format!("SELECT count(*) AS n, max({column}) AS m FROM customers WHERE {column} = $1");
        let mut statement = mia.prepare(sql.clone(), None).await.expect("prepares");
        let parameters = RecordBatch::try_from_iter([(
            "$1",
            Arc::new(arrow::array::StringArray::from(vec![values[0].clone()])) as Arc<dyn Array>,
        )])
        .expect("parameters");
        statement.set_parameters(parameters).expect("binds");
        hunt.statements += 1;
        let info = statement.execute().await.expect("runs");
        let batches = flight_server::fetch(&mut mia, info).await.expect("fetches");
        for batch in &batches {
            assert_eq!(int(batch, "n"), 0, "{sql} matched a raw value");
            for leak in hunt.secrets.found_in(&cells(batch).join(" "), "") {
                hunt.leaks.push(format!("prepared `{sql}`: {leak}"));
            }
        }
    }

    // the redacted year of birth: no value, whatever is asked
    let year = query(
        &mut mia,
        "SELECT min(birth_year) AS a, max(birth_year) AS b, count(birth_year) AS n, \
                count(*) FILTER (WHERE birth_year BETWEEN 1900 AND 2100) AS m FROM customers",
    )
    .await
    .expect("runs");
    assert_eq!(strings(&year, "a"), vec![None]);
    assert_eq!(strings(&year, "b"), vec![None]);
    assert_eq!((int(&year, "n"), int(&year, "m")), (0, 0));

    // what the server logged while the hunt ran (and everything before it in this process)
    let logs = String::from_utf8_lossy(&LOGS.lock().expect("logs")).into_owned();
    assert!(logs.contains("query finished"), "the audit lines are captured");
    for line in logs.lines() {
        for leak in hunt.secrets.found_in(line, "") {
            hunt.leaks.push(format!("log line: {leak} in {line}"));
        }
    }
    // the detector finds what is there: the same probes by the analyst (pii) reveal every column
    let mut ana = server.login("ana").await;
    for (column, _) in &probes {
        let mut control = Hunt { secrets: hunt.secrets, statements: 0, rows: 0, errors: 0, leaks: Vec::new() };
        control.run(&mut ana, &TEMPLATES[0].replace("{c}", column)).await;
        control
            .run(&mut ana, &format!("SELECT CAST({column} AS BIGINT) FROM customers ORDER BY customer_id DESC"))
            .await;
        assert!(control.leaks.len() >= 2, "the hunt must see {column} in clear: {:?}", control.leaks);
        hunt.secrets = control.secrets;
    }

    let distinct: BTreeSet<_> = hunt.leaks.iter().collect();
    eprintln!(
        "PII hunt: {} statements ({} failed, {} rows), {} log lines, {} leaks",
        hunt.statements,
        hunt.errors,
        hunt.rows,
        logs.lines().count(),
        distinct.len()
    );
    assert!(distinct.is_empty(), "raw personal values reached a role without pii:\n{distinct:#?}");
    assert!(hunt.statements > 200 && hunt.rows > 10_000, "the corpus ran");
    server.shutdown().await;
}
