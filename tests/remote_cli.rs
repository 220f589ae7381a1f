//! The `persona` command against an S3 server on loopback (in this process, checking SigV4):
//! `generate --out s3://…` then the shell on `--lake s3://…` configured by the standard AWS
//! environment variables, `CREATE EXTERNAL TABLE … OPTIONS (…)` and `COPY … TO 's3://…'` in
//! the shell, and no credential in anything the command prints.

#[path = "support/s3_server.rs"]
mod s3_server;

use std::process::{Command, Output};

use s3_server::S3Server;

const ACCESS_KEY: &str = "cli-test-access-key";
const SECRET_KEY: &str = "cli-test-secret-key-9876543210";

struct Fixture {
    server: S3Server,
    _root: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("lake")).expect("bucket");
    let server = runtime.block_on(S3Server::start(root.path(), ACCESS_KEY, SECRET_KEY));
    Fixture { server, _root: root, _runtime: runtime }
}

/// `persona ARGS` with the AWS variables pointing at the server (`secret` as the secret key).
fn persona(server: &S3Server, secret: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_persona"))
        .args(args)
        .env("PERSONA_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ENDPOINT")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run persona")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn generate_to_s3_then_query_it_with_the_aws_variables() {
    let fixture = fixture();
    let server = &fixture.server;
    let out = persona(
        server,
        SECRET_KEY,
        &["generate", "--out", "s3://lake/demo", "--customers", "2000", "--seed", "7", "-q"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = persona(
        server,
        SECRET_KEY,
        &["--lake", "s3://lake/demo", "-q", "--format", "csv", "-c", "SELECT count(*) AS n FROM customers"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\n2000\n");

    // a second generate without --force is refused; with it the lake is replaced
    let out = persona(server, SECRET_KEY, &["generate", "--out", "s3://lake/demo", "--customers", "1000", "-q"]);
    assert!(!out.status.success() && text(&out).contains("already holds"), "{}", text(&out));
    let out =
        persona(server, SECRET_KEY, &["generate", "--out", "s3://lake/demo", "--customers", "1000", "--force", "-q"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = persona(
        server,
        SECRET_KEY,
        &["--lake", "s3://lake/demo", "-q", "--format", "csv", "-c", "SELECT count(*) AS n FROM customers"],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\n1000\n", "{}", text(&out));
}

#[test]
fn no_credential_is_ever_printed() {
    let fixture = fixture();
    let server = &fixture.server;
    let out = persona(server, SECRET_KEY, &["generate", "--out", "s3://lake/demo", "--customers", "500", "-q"]);
    assert!(out.status.success(), "{}", text(&out));

    // wrong secret: a clean error and a non-zero exit, neither secret in it
    let wrong = "wrong-secret-key-abcdefghij";
    let out = persona(server, wrong, &["--lake", "s3://lake/demo", "-q", "-c", "SELECT 1"]);
    assert!(!out.status.success());
    let printed = text(&out);
    assert!(printed.contains("cannot list the lake s3://lake/demo/"), "{printed}");
    assert!(!printed.contains(wrong) && !printed.contains(ACCESS_KEY), "credential printed: {printed}");

    // a table created with credentials in OPTIONS, then everything that shows tables, settings
    // and plans; and a COPY to the store
    let create = format!(
        "CREATE EXTERNAL TABLE people STORED AS PARQUET LOCATION 's3://lake/demo/customers/' OPTIONS (\
         'aws.access_key_id' '{ACCESS_KEY}', 'aws.secret_access_key' '{SECRET_KEY}', 'aws.region' 'us-east-1', \
         'aws.endpoint' '{}', 'aws.allow_http' 'true')",
        server.endpoint()
    );
    let out = persona(
        server,
        SECRET_KEY,
        &[
            "--lake",
            "s3://lake/demo",
            "-q",
            "--format",
            "csv",
            "-c",
            &create,
            "-c",
            "SELECT count(*) AS n FROM people",
            "-c",
            "SHOW CREATE TABLE people",
            "-c",
            "SELECT * FROM information_schema.views",
            "-c",
            "SHOW ALL",
            "-c",
            "EXPLAIN SELECT count(*) FROM people",
            "-c",
            "COPY (SELECT customer_id FROM people LIMIT 10) TO 's3://lake/exports/ids.parquet'",
            "-c",
            "SELECT count(*) AS copied FROM 's3://lake/exports/ids.parquet'",
        ],
    );
    let printed = text(&out);
    assert!(out.status.success(), "{printed}");
    assert!(printed.contains("n\n500\n"), "{printed}");
    assert!(printed.contains("copied\n10\n"), "{printed}");
    assert!(printed.contains("CREATE EXTERNAL TABLE people"), "SHOW CREATE TABLE shows the definition: {printed}");
    assert!(!printed.contains(SECRET_KEY), "the secret was printed: {printed}");
    assert!(!printed.contains(ACCESS_KEY), "the access key was printed: {printed}");
}
