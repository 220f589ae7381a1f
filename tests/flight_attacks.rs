//! Hostile Flight SQL clients on 127.0.0.1: a raw gRPC client sending malformed protobufs to
//! every method of the Flight service, unknown actions, hostile commands, forged and replayed
//! tickets, another user's tickets and prepared-statement handles, oversized messages, deeply
//! nested SQL, idle connections held open and clients that disconnect mid-stream. The server
//! must answer every call with a status (never crash or hang), never serve one user another's
//! results, keep serving a well-behaved client throughout, and return its memory pool to zero.

mod common;
#[path = "support/flight_server.rs"]
mod flight_server;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_flight::sql::{Any, CommandStatementQuery, ProstMessageExt, TicketStatementQuery};
use arrow_flight::{Action, FlightDescriptor, Ticket};
use bytes::{Buf, BufMut, Bytes};
use flight_server::{int, query, start, Server};
use futures::{StreamExt, TryStreamExt};
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};

/// A codec that sends and receives message bodies as they are: the bytes of a malformed
/// protobuf go on the wire unchanged.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

struct RawEncoder;
struct RawDecoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

/// How a Flight method is called.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Unary,
    ServerStream,
    BidiStream,
}

const METHODS: [(&str, Shape); 10] = [
    ("Handshake", Shape::BidiStream),
    ("ListFlights", Shape::ServerStream),
    ("GetFlightInfo", Shape::Unary),
    ("PollFlightInfo", Shape::Unary),
    ("GetSchema", Shape::Unary),
    ("DoGet", Shape::ServerStream),
    ("DoPut", Shape::BidiStream),
    ("DoExchange", Shape::BidiStream),
    ("DoAction", Shape::ServerStream),
    ("ListActions", Shape::ServerStream),
];

/// The outcome of one raw call: the status code it ended with (`Ok` when every message came
/// back without an error).
async fn raw_call(channel: &Channel, token: Option<&str>, method: &str, shape: Shape, body: Bytes) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    if let Err(e) = grpc.ready().await {
        panic!("{method}: the connection broke: {e}");
    }
    let path = PathAndQuery::try_from(format!("/arrow.flight.protocol.FlightService/{method}")).expect("path");
    let authorize = |metadata: &mut tonic::metadata::MetadataMap| {
        if let Some(token) = token {
            metadata.insert("authorization", MetadataValue::try_from(format!("Bearer {token}")).expect("header"));
        }
    };
    let call = async {
        match shape {
            Shape::Unary => {
                let mut request = Request::new(body);
                authorize(request.metadata_mut());
                grpc.unary(request, path, RawCodec).await.map(|_| ())
            }
            Shape::ServerStream => {
                let mut request = Request::new(body);
                authorize(request.metadata_mut());
                let mut stream = grpc.server_streaming(request, path, RawCodec).await?.into_inner();
                while let Some(item) = stream.next().await {
                    item?;
                }
                Ok(())
            }
            Shape::BidiStream => {
                let mut request = Request::new(futures::stream::iter([body]));
                authorize(request.metadata_mut());
                let mut stream = grpc.streaming(request, path, RawCodec).await?.into_inner();
                while let Some(item) = stream.next().await {
                    item?;
                }
                Ok(())
            }
        }
    };
    match tokio::time::timeout(Duration::from_secs(30), call).await {
        Ok(Ok(())) => Code::Ok,
        Ok(Err(status)) => {
            assert!(!status.message().contains("panicked") && status.code() != Code::Unknown, "{method}: {status:?}");
            status.code()
        }
        Err(_) => panic!("{method}: no answer within 30 s"),
    }
}

/// A splitmix64 stream of bytes.
fn noise(seed: u64, len: usize) -> Bytes {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

/// Malformed and hostile message bodies.
fn bodies() -> Vec<(String, Bytes)> {
    let mut out = vec![
        ("empty".to_string(), Bytes::new()),
        // field 1, length-delimited, with a length far past the end
        ("length past the end".into(), Bytes::from_static(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])),
        // a varint that never ends
        ("endless varint".into(), Bytes::from(vec![0x08; 1].into_iter().chain([0xff; 20]).collect::<Vec<u8>>())),
        // wire type 7 (invalid), field 0 (invalid)
        ("invalid wire type".into(), Bytes::from_static(&[0x0f, 0x00])),
        ("field number 0".into(), Bytes::from_static(&[0x00, 0x01])),
        // groups nested 10,000 deep
        ("nested groups".into(), Bytes::from([0x0b_u8].repeat(10_000))),
        // a message of another type: an Any holding a statement query
        (
            "another message".into(),
            CommandStatementQuery { query: "SELECT 1".into(), transaction_id: None }.as_any().encode_to_vec().into(),
        ),
    ];
    for (seed, len) in [(1, 1), (2, 7), (3, 100), (4, 4096), (5, 1 << 20)] {
        out.push((format!("{len} random bytes"), noise(seed, len)));
    }
    out
}

async fn channel(server: &Server) -> Channel {
    Endpoint::from_shared(format!("http://{}", server.addr))
        .expect("uri")
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await
        .expect("connect")
}

/// A well-behaved client still answers quickly.
async fn still_serves(server: &Server) {
    let started = Instant::now();
    let mut client = server.login("root").await;
    let batch = query(&mut client, "SELECT count(*) AS n FROM customers").await.expect("a normal query");
    assert!(int(&batch, "n") > 0);
    assert!(started.elapsed() < Duration::from_secs(20), "a normal login and query took {:?}", started.elapsed());
}

async fn token(server: &Server, user: &str) -> String {
    server.login(user).await.token().expect("token").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_protobufs_on_every_method() {
    let server = start().await;
    let channel = channel(&server).await;
    let ana = token(&server, "ana").await;
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    let mut calls = 0;
    for (name, body) in bodies() {
        for (method, shape) in METHODS {
            for token in [None, Some(ana.as_str())] {
                let code = raw_call(&channel, token, method, shape, body.clone()).await;
                calls += 1;
                *codes.entry(format!("{code:?}")).or_default() += 1;
                if token.is_none() && method != "Handshake" {
                    // the token is checked before the body is decoded: nothing but the login is
                    // reachable without one
                    assert_eq!(code, Code::Unauthenticated, "{method} with {name} and no token");
                }
                // a body that does not decode is the client's error, not the server's
                assert_ne!(code, Code::Internal, "{method} with {name}");
            }
        }
        still_serves(&server).await;
    }
    eprintln!("{calls} malformed calls: {codes:?}");
    server.shutdown().await;
}

/// A runtime like `persona serve`'s: worker threads with 32 MiB stacks (the binary's
/// `persona::cluster::THREAD_STACK_BYTES`); the depth limit must hold in a debug build there.
fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(32 << 20)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn hostile_commands_tickets_handles_and_sizes() {
    server_runtime().block_on(hostile_commands());
}

async fn hostile_commands() {
    let server = start().await;
    let channel = channel(&server).await;
    let (ana, mia) = (token(&server, "ana").await, token(&server, "mia").await);
    let call = |token: &str, method: &'static str, shape: Shape, body: Bytes| {
        let (channel, token) = (channel.clone(), token.to_string());
        async move { raw_call(&channel, Some(&token), method, shape, body).await }
    };
    let descriptor = |cmd: Bytes| FlightDescriptor::new_cmd(cmd).encode_to_vec().into();
    let any = |type_url: &str, value: Bytes| Any { type_url: type_url.into(), value }.encode_to_vec();

    // commands: unknown type, a known type holding garbage, no type, a path descriptor
    for (what, cmd) in [
        ("unknown type", any("type.googleapis.com/evil.Command", noise(9, 64))),
        (
            "garbage statement",
            any("type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery", noise(10, 64)),
        ),
        ("no type", any("", Bytes::new())),
        ("random command", noise(11, 256).to_vec()),
    ] {
        for method in ["GetFlightInfo", "PollFlightInfo", "GetSchema"] {
            let code = call(&mia, method, Shape::Unary, descriptor(cmd.clone().into())).await;
            assert_ne!(code, Code::Ok, "{method} with {what}");
        }
    }
    let path = FlightDescriptor::new_path(vec!["customers".into()]).encode_to_vec().into();
    assert_ne!(call(&mia, "GetFlightInfo", Shape::Unary, path).await, Code::Ok);

    // unknown and malformed actions
    for (kind, body) in [("DropEverything", Bytes::new()), ("CancelFlightInfo", noise(12, 100)), ("", Bytes::new())] {
        let action = Action::new(kind, body).encode_to_vec().into();
        assert_eq!(call(&mia, "DoAction", Shape::ServerStream, action).await, Code::InvalidArgument, "action '{kind}'");
    }

    // tickets: forged, another user's, replayed
    let forged = [
        noise(13, 40),
        TicketStatementQuery { statement_handle: noise(14, 36) }.as_any().encode_to_vec().into(),
        TicketStatementQuery { statement_handle: "00000000-0000-0000-0000-000000000000".into() }
            .as_any()
            .encode_to_vec()
            .into(),
    ];
    for ticket in forged {
        let code = call(&mia, "DoGet", Shape::ServerStream, Ticket { ticket }.encode_to_vec().into()).await;
        assert!(matches!(code, Code::NotFound | Code::InvalidArgument), "forged ticket: {code:?}");
    }
    let mut ana_client = server.login("ana").await;
    let info = ana_client
        .execute("SELECT phone FROM customers ORDER BY customer_id LIMIT 5".into(), None)
        .await
        .expect("plans");
    let ticket = info.endpoint[0].ticket.clone().expect("ticket");
    let foreign = call(&mia, "DoGet", Shape::ServerStream, ticket.encode_to_vec().into()).await;
    assert_eq!(foreign, Code::NotFound, "mia presents ana's ticket");
    let own = call(&ana, "DoGet", Shape::ServerStream, ticket.encode_to_vec().into()).await;
    assert_eq!(own, Code::Ok, "ana's ticket still works for ana after mia's attempt");
    let replay = call(&ana, "DoGet", Shape::ServerStream, ticket.encode_to_vec().into()).await;
    assert_eq!(replay, Code::NotFound, "a ticket is fetched once");

    // prepared-statement handles of another user
    let mut prepared =
        ana_client.prepare("SELECT phone FROM customers WHERE customer_id = 1".into(), None).await.expect("prepares");
    let handle = {
        let info = prepared.execute().await.expect("ana executes her statement");
        let cmd = info.flight_descriptor.clone().expect("descriptor").cmd;
        let _ = flight_server::fetch(&mut ana_client, info).await.expect("ana fetches");
        cmd
    };
    let code = call(&mia, "GetFlightInfo", Shape::Unary, descriptor(handle.clone())).await;
    assert_eq!(code, Code::NotFound, "mia executes ana's prepared statement");
    let closing = arrow_flight::sql::ActionClosePreparedStatementRequest {
        prepared_statement_handle: arrow_flight::sql::CommandPreparedStatementQuery::decode(
            Any::decode(handle.clone()).expect("any").value,
        )
        .expect("handle")
        .prepared_statement_handle,
    };
    let close = Action::new("ClosePreparedStatement", closing.as_any().encode_to_vec()).encode_to_vec().into();
    let _ = call(&mia, "DoAction", Shape::ServerStream, close).await;
    let info = prepared.execute().await.expect("mia's close did not close ana's statement");
    let batches = flight_server::fetch(&mut ana_client, info).await.expect("fetches");
    assert!(
        flight_server::strings(&batches[0], "phone")[0].as_ref().is_some_and(|p| !p.contains('*')),
        "ana sees clear values"
    );

    // oversized: a 80 MB ticket and an 80 MB statement (past the 64 MB limit), then 10 MB of SQL
    let huge = Ticket { ticket: Bytes::from(vec![b'x'; 80 << 20]) }.encode_to_vec().into();
    let code = call(&mia, "DoGet", Shape::ServerStream, huge).await;
    assert!(
        matches!(code, Code::OutOfRange | Code::ResourceExhausted | Code::InvalidArgument),
        "80 MB ticket: {code:?}"
    );
    let statement = |sql: String| {
        descriptor(CommandStatementQuery { query: sql, transaction_id: None }.as_any().encode_to_vec().into())
    };
    let code = call(&mia, "GetFlightInfo", Shape::Unary, statement(format!("SELECT '{}'", "y".repeat(80 << 20)))).await;
    assert!(matches!(code, Code::OutOfRange | Code::ResourceExhausted | Code::InvalidArgument), "80 MB SQL: {code:?}");
    let code =
        call(&mia, "GetFlightInfo", Shape::Unary, statement(format!("SELECT 1 {}", "+ 1 ".repeat(2_500_000)))).await;
    assert_eq!(code, Code::InvalidArgument, "10 MB of SQL");

    // long operator chains: DataFusion clones expression trees recursively, so 10,000 terms
    // overflowed the stack of the planning thread and aborted the server; refused from 1,001
    let chain = |n: usize| statement(format!("SELECT 1{} AS x", " + 1".repeat(n)));
    assert_eq!(call(&mia, "GetFlightInfo", Shape::Unary, chain(1_000)).await, Code::Ok, "1,000 terms are served");
    for n in [1_001, 10_000, 1_000_000] {
        assert_eq!(call(&mia, "GetFlightInfo", Shape::Unary, chain(n)).await, Code::InvalidArgument, "{n} terms");
    }
    let ors = (0..5_000).map(|i| format!("customer_id = {i}")).collect::<Vec<_>>().join(" OR ");
    let code =
        call(&mia, "GetFlightInfo", Shape::Unary, statement(format!("SELECT count(*) FROM customers WHERE {ors}")))
            .await;
    assert_eq!(code, Code::InvalidArgument, "5,000 ORs");
    let list = (0..5_000).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let code = call(
        &mia,
        "GetFlightInfo",
        Shape::Unary,
        statement(format!("SELECT count(*) FROM customers WHERE customer_id IN ({list})")),
    )
    .await;
    assert_eq!(code, Code::Ok, "the same as an IN list");

    // SQL nested past any sane depth: a parser error, not a stack overflow
    for depth in [1_000, 100_000] {
        let nested = format!("SELECT {}1{}", "(".repeat(depth), ")".repeat(depth));
        let code = call(&mia, "GetFlightInfo", Shape::Unary, statement(nested)).await;
        assert_eq!(code, Code::InvalidArgument, "{depth} nested parentheses");
        let nested =
            format!("SELECT * FROM {}customers{}", "(SELECT * FROM ".repeat(depth / 10), ")".repeat(depth / 10));
        let code = call(&mia, "GetFlightInfo", Shape::Unary, statement(nested)).await;
        assert_eq!(code, Code::InvalidArgument, "{} nested subqueries", depth / 10);
    }
    still_serves(&server).await;
    server.shutdown().await;
}

/// 500 TCP connections that never speak, 50 HTTP/2 connections that never send a request, and
/// 40 clients that read one batch of a large result and hang up: a well-behaved client is served
/// throughout, and the memory pool returns to zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_and_clients_that_hang_up() {
    let server = start().await;
    let mut silent = Vec::new();
    for _ in 0..500 {
        silent.push(tokio::net::TcpStream::connect(server.addr).await.expect("tcp"));
    }
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(channel(&server).await);
    }
    still_serves(&server).await;

    let mut hang_ups = Vec::new();
    for _ in 0..40 {
        let mut client = server.login("ana").await;
        hang_ups.push(tokio::spawn(async move {
            let info = client
                .execute("SELECT t.*, c.city FROM transactions t JOIN customers c USING (customer_id)".into(), None)
                .await
                .expect("plans");
            let ticket = info.endpoint[0].ticket.clone().expect("ticket");
            let mut stream = client.do_get(ticket).await.expect("streams");
            let first = stream.next().await.expect("a batch").expect("no error");
            assert!(first.num_rows() > 0);
            // dropped here, mid-stream
        }));
    }
    for task in hang_ups {
        task.await.expect("joins");
    }
    still_serves(&server).await;
    let released = Instant::now();
    while server.ctx.runtime_env().memory_pool.reserved() > 0 && released.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.ctx.runtime_env().memory_pool.reserved(), 0, "the memory pool is back to zero");
    drop((silent, idle));
    server.shutdown().await;
}

/// `tests/adbc/load.py`: ADBC clients (Python threads, one connection each) running short and
/// long queries, failing, cancelled and prepared statements and results abandoned mid-stream.
/// Bounded here (16 clients for 10 s; `PERSONA_LOAD_CLIENTS`/`PERSONA_LOAD_SECONDS` raise it):
/// no unexpected error, no client left hanging, every kind ran, and the pool back to zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adbc_clients_under_load() {
    let python = tokio::task::spawn_blocking(|| {
        common::python_venv(
            "adbc-venv",
            &["adbc-driver-flightsql==1.13.0", "adbc-driver-manager==1.13.0", "pyarrow==26.0.1"],
        )
        .join("bin")
        .join("python")
    })
    .await
    .expect("venv");
    let server = start().await;
    let clients = std::env::var("PERSONA_LOAD_CLIENTS").unwrap_or_else(|_| "16".into());
    let seconds = std::env::var("PERSONA_LOAD_SECONDS").unwrap_or_else(|_| "10".into());
    let output = tokio::process::Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/adbc/load.py"))
        .env("PERSONA_URI", format!("grpc://{}", server.addr))
        .env("PERSONA_PASSWORD", "pw")
        .env("PERSONA_CLIENTS", &clients)
        .env("PERSONA_SECONDS", &seconds)
        .output()
        .await
        .expect("runs the load");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "load.py failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    eprintln!("{stdout}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON summary");
    assert_eq!(summary["unexpected_errors"], 0, "{summary:#}");
    assert_eq!(summary["clients_still_running"], 0, "{summary:#}");
    for kind in ["short", "long", "failing", "prepared", "cancelled", "abandoned"] {
        assert!(summary["kinds"][kind]["n"].as_u64().is_some_and(|n| n > 0), "no {kind} operation ran: {summary:#}");
    }
    still_serves(&server).await;
    let released = Instant::now();
    while server.ctx.runtime_env().memory_pool.reserved() > 0 && released.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.ctx.runtime_env().memory_pool.reserved(), 0, "the memory pool is back to zero");
    server.shutdown().await;
}

/// `max_running_queries = 1`: a second query waits while the first computes (it does not fail
/// or compete for the pool) and runs once the first is cancelled; a client that reads slowly or
/// stops reading lends its slot, so it cannot block the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_wait_for_a_running_slot() {
    let server = flight_server::start_with("max_running_queries = 1").await;
    let mut first = server.login("ana").await;
    // a trillion rows (hours even in a release build) in batches that yield to the runtime, so
    // it is still computing when cancelled and the cancellation takes effect at once
    let heavy = "SELECT value % 1000 AS k, count(*) AS n FROM range(1000000000000) GROUP BY k";
    let info = first.execute(heavy.into(), None).await.expect("plans");
    let ticket = info.endpoint[0].ticket.clone().expect("ticket");
    let computing = tokio::spawn(async move {
        let stream = first.do_get(ticket).await.map_err(|e| e.to_string())?;
        stream.try_collect::<Vec<_>>().await.map_err(|e| e.to_string())
    });
    // the first query holds the slot once it executes (its hash table reserves memory): a fixed sleep
    // was not enough when other tests load the machine and the second query got the slot first
    let pool = Arc::clone(&server.ctx.runtime_env().memory_pool);
    let waited = Instant::now();
    while pool.reserved() == 0 && waited.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(pool.reserved() > 0, "the first query is executing");
    let mut second = server.login("mia").await;
    let waiting = tokio::time::timeout(Duration::from_millis(1500), query(&mut second, "SELECT 1 AS one")).await;
    assert!(waiting.is_err(), "the second query waits while the first computes");
    let mut canceller = server.login("ana").await;
    let cancel = Action::new("CancelFlightInfo", arrow_flight::CancelFlightInfoRequest::new(info).encode_to_vec());
    let reply: Vec<_> = canceller.do_action(cancel).await.expect("cancel accepted").try_collect().await.expect("reply");
    let result = arrow_flight::CancelFlightInfoResult::decode(reply[0].body.as_ref()).expect("decodes");
    assert_eq!(
        result.status,
        arrow_flight::CancelStatus::Cancelled as i32,
        "the waiting or running query is cancelled"
    );
    let started = Instant::now();
    let one = query(&mut second, "SELECT 1 AS one").await.expect("runs once the slot is free");
    assert_eq!(int(&one, "one"), 1);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let cancelled = computing.await.expect("joins").expect_err("the first query was cancelled");
    assert!(cancelled.to_lowercase().contains("cancel"), "{cancelled}");

    // a client that takes one batch of a large result and stops reading
    let mut slow = server.login("ana").await;
    let info = slow
        .execute("SELECT t.*, c.city FROM transactions t JOIN customers c USING (customer_id)".into(), None)
        .await
        .expect("plans");
    let mut stream = slow.do_get(info.endpoint[0].ticket.clone().expect("ticket")).await.expect("streams");
    assert!(stream.next().await.expect("a batch").expect("no error").num_rows() > 0);
    let started = Instant::now();
    let one = query(&mut second, "SELECT 1 AS one").await.expect("runs beside a client that stopped reading");
    assert_eq!(int(&one, "one"), 1);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    drop(stream);
    server.shutdown().await;
}

/// A query busy in an operator that emits many batches per input batch (a cross join: 17
/// billion pairs, about a minute in a test build) is cancelled at once: the server answers the
/// login and the cancellation while it computes (the query runs on threads of its own; they
/// were answered when it ended, 80 s later), and the join yields to the runtime every 128
/// batches, so the cancelled query stops and frees its memory (it kept computing for 49 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_query_does_not_hold_up_the_server() {
    let server = start().await;
    let mut first = server.login("ana").await;
    let heavy = "SELECT count(*) AS n FROM transactions a CROSS JOIN transactions b WHERE a.amount > b.amount";
    let info = first.execute(heavy.into(), None).await.expect("plans");
    let ticket = info.endpoint[0].ticket.clone().expect("ticket");
    let began = Instant::now();
    let computing = tokio::spawn(async move {
        let stream = first.do_get(ticket).await.map_err(|e| e.to_string())?;
        stream.try_collect::<Vec<_>>().await.map_err(|e| e.to_string())
    });
    let pool = Arc::clone(&server.ctx.runtime_env().memory_pool);
    while pool.reserved() == 0 && began.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(pool.reserved() > 0, "the cross join is executing");
    let asked = Instant::now();
    let mut canceller = server.login("ana").await;
    let cancel = Action::new("CancelFlightInfo", arrow_flight::CancelFlightInfoRequest::new(info).encode_to_vec());
    let reply: Vec<_> = canceller.do_action(cancel).await.expect("cancel accepted").try_collect().await.expect("reply");
    let answered = asked.elapsed();
    let result = arrow_flight::CancelFlightInfoResult::decode(reply[0].body.as_ref()).expect("decodes");
    assert_eq!(result.status, arrow_flight::CancelStatus::Cancelled as i32);
    assert!(answered < Duration::from_secs(3), "login and cancellation answered after {answered:?}");
    let outcome = computing.await.expect("joins").expect_err("the query was cancelled");
    assert!(outcome.to_lowercase().contains("cancel"), "{outcome}");
    while pool.reserved() > 0 && asked.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stopped = asked.elapsed();
    assert!(stopped < Duration::from_secs(10), "the cancelled join computed on for {stopped:?}");
    assert_eq!(pool.reserved(), 0, "the memory pool is back to zero");
    server.shutdown().await;
}
