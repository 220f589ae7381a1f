//! The Flight SQL server of the integration tests on 127.0.0.1 (the test lake, a 512 MB pool, two
//! partitions), its configuration (roles with and without `pii`, a masked `customers`), and the
//! client helpers the tests share. Included by `#[path]`; the including test has `mod common;`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use arrow::compute::concat_batches;
use arrow::datatypes::DataType;
use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::FlightInfo;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use persona::serve::{hash_password, serve, sha256_hex, ServerConfig};
use persona::EngineBuilder;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

pub const PSEUDONYM_KEY: &str = "test-pseudonym-key-0123456789";
pub const STATIC_TOKEN: &str = "report-token-5f1c9e2a7b3d4c6e8f0a1b2c3d4e5f60";
pub const POOL_BYTES: usize = 512 << 20;

pub fn config_text(server_lines: &str) -> String {
    static PASSWORD_HASH: OnceLock<String> = OnceLock::new();
    let hash = PASSWORD_HASH.get_or_init(|| hash_password("pw").expect("hash"));
    format!(
        r#"
[server]
pseudonym_key_env = "PERSONA_TEST_PSEUDONYM_KEY"
ticket_ttl_secs = 60
{server_lines}

[roles.analyst]
tables = ["*"]
pii = true

[roles.admin]
tables = ["*"]
pii = true
ddl = true

[roles.marketing]
tables = ["customers", "transactions", "campaigns", "campaign_contacts"]

[roles.tight]
tables = ["*"]
memory_limit = "1M"

[roles.hurried]
tables = ["*"]
timeout_secs = 1

[users.ana]
password_hash = "{hash}"
role = "analyst"
[users.root]
password_hash = "{hash}"
role = "admin"
[users.mia]
password_hash = "{hash}"
role = "marketing"
[users.tim]
password_hash = "{hash}"
role = "tight"
[users.hal]
password_hash = "{hash}"
role = "hurried"

[tokens.nightly-report]
sha256 = "{token}"
role = "marketing"

[pii.customers]
name = "mask_name"
phone = "mask_phone"
id_number = "mask_id_number"
email = "pseudonym"
birth_year = "redact"

[views]
customer_spend = "SELECT c.customer_id, c.phone, c.city_tier, sum(t.amount) AS spend FROM customers c JOIN transactions t ON c.customer_id = t.customer_id GROUP BY c.customer_id, c.phone, c.city_tier"
credit_view = "SELECT customer_id, score FROM credit_scores"
"#,
        token = sha256_hex(STATIC_TOKEN),
    )
}

pub struct Server {
    pub addr: SocketAddr,
    pub ctx: SessionContext,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), String>>,
}

pub async fn start() -> Server {
    start_with("").await
}

pub async fn start_with(server_lines: &str) -> Server {
    std::env::set_var("PERSONA_TEST_PSEUDONYM_KEY", PSEUDONYM_KEY);
    let ctx = EngineBuilder::new()
        .lake(crate::common::test_lake().display().to_string())
        .memory_limit(POOL_BYTES)
        .target_partitions(2)
        .build()
        .await
        .expect("engine");
    let config = ServerConfig::parse(&config_text(server_lines)).expect("config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let base = ctx.clone();
    let task = tokio::spawn(async move {
        serve(&base, &config, listener, async {
            let _ = stopped.await;
        })
        .await
        .map_err(|e| e.to_string())
    });
    Server { addr, ctx, stop: Some(stop), task }
}

impl Server {
    pub async fn anonymous(&self) -> FlightSqlServiceClient<Channel> {
        let channel = Endpoint::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .connect_timeout(Duration::from_secs(10))
            .connect()
            .await
            .expect("connect");
        FlightSqlServiceClient::new(channel)
    }

    pub async fn login(&self, user: &str) -> FlightSqlServiceClient<Channel> {
        let mut client = self.anonymous().await;
        client.handshake(user, "pw").await.expect("handshake");
        assert!(client.token().is_some(), "the handshake returns a bearer token");
        client
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(30), self.task).await;
        result.expect("stops in time").expect("joins").expect("serves without error");
    }
}

pub async fn fetch(client: &mut FlightSqlServiceClient<Channel>, info: FlightInfo) -> Result<Vec<RecordBatch>, String> {
    let mut batches = Vec::new();
    for endpoint in info.endpoint {
        let ticket = endpoint.ticket.ok_or("endpoint without ticket")?;
        let stream = client.do_get(ticket).await.map_err(|e| e.to_string())?;
        batches.extend(stream.try_collect::<Vec<_>>().await.map_err(|e| e.to_string())?);
    }
    Ok(batches)
}

pub async fn query(client: &mut FlightSqlServiceClient<Channel>, sql: &str) -> Result<RecordBatch, String> {
    let info = client.execute(sql.to_string(), None).await.map_err(|e| e.to_string())?;
    let schema = info.clone().try_decode_schema().map_err(|e| e.to_string())?;
    let batches = fetch(client, info).await?;
    concat_batches(&Arc::new(schema), &batches).map_err(|e| e.to_string())
}

pub async fn local(ctx: &SessionContext, sql: &str) -> RecordBatch {
    let frame = ctx.sql(sql).await.expect("plans locally");
    let schema = Arc::new(frame.schema().as_arrow().clone());
    concat_batches(&schema, &frame.collect().await.expect("runs locally")).expect("concat")
}

pub fn strings(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let array = arrow::compute::cast(batch.column_by_name(column).expect("column"), &DataType::Utf8).expect("cast");
    let array = array.as_any().downcast_ref::<StringArray>().expect("strings");
    array.iter().map(|v| v.map(str::to_string)).collect()
}

/// Whether a client error carries the gRPC `code` (tonic prints its description).
pub fn is(err: &str, code: tonic::Code) -> bool {
    err.contains(code.description())
}

pub fn int(batch: &RecordBatch, column: &str) -> i64 {
    let array = arrow::compute::cast(batch.column_by_name(column).expect("column"), &DataType::Int64).expect("cast");
    array.as_any().downcast_ref::<Int64Array>().expect("ints").value(0)
}
