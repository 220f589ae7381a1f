//! The `persona` command line: -c, -f, formats, errors and exit codes.

mod common;

use std::process::{Command, Output};

use common::test_lake;

fn persona(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_persona"))
        .args(args)
        .env("PERSONA_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .output()
        .expect("run persona")
}

fn lake() -> String {
    test_lake().display().to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn runs_a_command_in_csv() {
    let out = persona(&["--lake", &lake(), "-q", "--format", "csv", "-c", "SELECT count(*) AS n FROM customers"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "n\n3000\n");
}

#[test]
fn runs_several_commands_and_formats() {
    let out = persona(&[
        "--lake",
        &lake(),
        "-q",
        "--format",
        "json",
        "-c",
        "SELECT city_tier, count(*) AS n FROM customers WHERE city_tier = 1 GROUP BY city_tier",
        "-c",
        "SELECT 2 AS two",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("[{\"city_tier\":1,\"n\":"), "{text}");
    assert!(text.contains("[{\"two\":2}]"), "{text}");
    let out = persona(&["--lake", &lake(), "-q", "--format", "tsv", "-c", "SELECT 'a' AS x, 1 AS y"]);
    assert_eq!(stdout(&out), "x\ty\na\t1\n");
}

#[test]
fn runs_a_file_of_statements() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("q.sql");
    std::fs::write(&file, "-- two statements\nCREATE VIEW adults AS SELECT * FROM customers WHERE 2025 - birth_year >= 18;\nSELECT count(*) = 3000 AS all_adults FROM adults;\n").expect("write");
    let out = persona(&["--lake", &lake(), "-q", "--format", "csv", "-f", &file.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("all_adults\ntrue\n"), "{}", stdout(&out));
}

#[test]
fn bad_sql_unknown_tables_and_missing_files_exit_non_zero_with_a_message() {
    for (args, message) in [
        (vec!["-c", "SELEC 1"], "Error: SQL error"),
        (vec!["-c", "SELECT * FROM nope"], "public.nope' not found"),
        (vec!["-f", "/nonexistent.sql"], "cannot read SQL file /nonexistent.sql"),
    ] {
        let lake = lake();
        let mut all = vec!["--lake", lake.as_str(), "-q"];
        all.extend(args.iter().copied());
        let out = persona(&all);
        assert!(!out.status.success(), "{all:?} succeeded");
        assert!(stderr(&out).contains(message), "{all:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
    let out = persona(&["--lake", "/nonexistent/lake", "-c", "SELECT 1"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("lake directory /nonexistent/lake does not exist"), "{}", stderr(&out));
}

/// A statement nesting deeper than the parser and planner's stacks allow is refused before it is
/// parsed (`-c` and `-f`); the interactive shell plans on a thread with a 32 MiB stack.
#[test]
fn statements_too_deep_are_refused_and_never_abort_the_shell() {
    let chain = |terms: usize| format!("SELECT 1{} AS n", " + 1".repeat(terms - 1));
    let deep = chain(20_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("deep.sql");
    std::fs::write(&file, format!("SELECT 1 AS fine;\n{deep};\n")).expect("write");
    let file = file.display().to_string();
    for (args, starts) in [
        (vec!["-c", deep.as_str()], "Error: Error during planning: statement too complex".to_string()),
        (vec!["-f", file.as_str()], format!("Error: Error during planning: {file}: statement too complex")),
    ] {
        let lake = lake();
        let mut all = vec!["--lake", lake.as_str(), "-q"];
        all.extend(args);
        let out = persona(&all);
        assert_eq!(out.status.code(), Some(1), "exits with an error, not a signal: {}", stderr(&out));
        assert!(stderr(&out).starts_with(&starts), "{}", stderr(&out));
        assert!(stderr(&out).contains("statement too complex"), "{}", stderr(&out));
        assert_eq!(stderr(&out).matches("Error during planning").count(), 1, "{}", stderr(&out));
        assert!(stdout(&out).is_empty(), "nothing of the file ran: {}", stdout(&out));
    }
    // the same measure as the server's: 1,000 terms run
    let out = persona(&["--lake", &lake(), "-q", "--format", "csv", "-c", &chain(1_000)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "n\n1000\n");
    // typed into the interactive shell (no depth check there), statements run on a thread with a
    // 32 MiB stack (3,000 terms ran in a debug build, in 56 s: planning long chains is quadratic)
    let mut child = Command::new(env!("CARGO_BIN_EXE_persona"))
        .args(["--lake", &lake(), "-q", "--format", "csv"])
        .env("PERSONA_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir.path()) // the shell keeps its history in ./.history
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the shell");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{};", chain(300)).expect("type");
    }
    let out = child.wait_with_output().expect("shell ends");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("300"), "{}", stdout(&out));
}

#[test]
fn generate_refuses_bad_arguments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("lake").display().to_string();
    let out = persona(&["generate", "--out", &out_dir, "--customers", "0"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--customers must be between 1 and 100000000"), "{}", stderr(&out));
    let out = persona(&["generate", "--out", &out_dir, "--customers", "200", "--months", "3", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = persona(&["generate", "--out", &out_dir, "--customers", "200", "-q"]);
    assert!(stderr(&out).contains("already exists; pass --force"), "{}", stderr(&out));
}

#[test]
fn demo_runs_every_recipe() {
    let out = persona(&["demo", "--lake", &lake(), "--format", "csv", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for (file, _) in persona::demo::RECIPES {
        assert!(text.contains(&format!("=== sql/{file} ===")), "{text}");
    }
}

#[test]
fn functions_prints_the_catalogue() {
    let out = persona(&["functions"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), persona::catalog::markdown());
}

#[test]
fn hash_secret_prints_the_hashes_and_the_scram_verifier() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_persona"))
        .arg("hash-secret")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(b"s3cret\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("password_hash = \"$argon2id$v=19$"), "{text}");
    assert!(text.contains(&format!("sha256 = \"{}\"", persona::serve::sha256_hex("s3cret"))), "{text}");
    assert!(text.contains("scram_sha256 = \"SCRAM-SHA-256$4096:"), "{text}");
    // the password lines make a valid [users.NAME] section (sha256 is for [tokens.NAME])
    let user: Vec<&str> = text.lines().filter(|line| !line.starts_with("sha256")).collect();
    let section = format!("[roles.r]\ntables = [\"*\"]\n[users.u]\nrole = \"r\"\n{}", user.join("\n"));
    persona::serve::ServerConfig::parse(&section).expect("a valid user section");
}

#[cfg(unix)]
#[test]
fn serve_logs_and_stops_gracefully_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "[roles.r]\ntables = [\"*\"]\n").expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_persona"))
        .args([
            "serve",
            "--config",
            &config.display().to_string(),
            "--lake",
            &lake(),
            "--addr",
            "127.0.0.1:0",
            "--json-logs",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let serving = lines.next().expect("a log line").expect("utf-8");
    let record: serde_json::Value = serde_json::from_str(&serving).expect("JSON log line");
    assert_eq!(record["fields"]["message"], "serving Flight SQL", "{serving}");
    assert!(record["fields"]["address"].as_str().is_some_and(|a| a.starts_with("127.0.0.1:")), "{serving}");
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("wait");
    assert!(status.success(), "exit status {status}: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("server stopped")), "{rest:?}");
}

#[test]
fn serve_rejects_a_bad_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "[users.bob]\npassword_hash = \"x\"\nrole = \"nobody\"\n").expect("config");
    let out = persona(&["serve", "--config", &config.display().to_string(), "--lake", &lake()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("undefined role 'nobody'"), "{}", stderr(&out));
}

/// Persona's aggregates return structs: CSV and TSV write nested values as JSON text (as
/// DuckDB does) instead of failing with "Nested type … is not supported in CSV".
#[test]
fn csv_and_tsv_write_nested_results_as_json_text() {
    // rfm gives a struct per customer, and NULL for a customer without a dated purchase
    let rfm = "SELECT id, rfm(ts, amount, DATE '2011-12-10', invoice) AS v, make_array(1, 2) AS l \
               FROM (VALUES (1, TIMESTAMP '2011-12-01 10:00:00', 20.0, 'A1'), \
                            (1, TIMESTAMP '2011-12-01 10:00:00', 5.0, 'A1'), \
                            (1, TIMESTAMP '2011-11-02 09:30:00', 12.5, 'A2'), \
                            (2, CAST(NULL AS TIMESTAMP), 1.0, 'B1')) t(id, ts, amount, invoice) \
               GROUP BY id ORDER BY id";
    let out = persona(&["--lake", &lake(), "-q", "--format", "csv", "-c", rfm]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "id,v,l\n1,\"{\"\"recency_days\"\":9,\"\"frequency\"\":2,\"\"monetary\"\":37.5}\",\"[1,2]\"\n2,,\"[1,2]\"\n"
    );

    // a struct per group from the lake in TSV
    let welch = "SELECT campaign_id, welch_ttest(arm = 'treatment', revenue) AS t FROM campaign_contacts \
                 WHERE campaign_id IN (1, 2) GROUP BY campaign_id ORDER BY campaign_id";
    let out = persona(&["--lake", &lake(), "-q", "--format", "tsv", "-c", welch]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], "campaign_id\tt");
    for (line, id) in lines[1..3].iter().zip(["1", "2"]) {
        let (first, json) = line.split_once('\t').expect("two cells");
        assert_eq!(first, id, "{text}");
        let json = json.strip_prefix('"').and_then(|j| j.strip_suffix('"')).expect("quoted").replace("\"\"", "\"");
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON text");
        assert!(value["n_t"].as_u64().is_some_and(|n| n > 0) && value["p_value"].is_number(), "{json}");
    }

    // table and JSON output keep the nested values as they are
    let out = persona(&["--lake", &lake(), "-q", "--format", "table", "-c", rfm]);
    assert!(stdout(&out).contains("{recency_days: 9, frequency: 2, monetary: 37.5}"), "{}", stdout(&out));
    let out = persona(&["--lake", &lake(), "-q", "--format", "json", "-c", rfm]);
    assert!(stdout(&out).contains(r#""v":{"recency_days":9,"frequency":2,"monetary":37.5}"#), "{}", stdout(&out));
}
