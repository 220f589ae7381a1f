//! An in-process S3 server for integration tests: [`s3s_fs`] serves a local directory over
//! plain HTTP on 127.0.0.1, checking SigV4 signatures against one access key / secret key
//! ([`s3s::auth::SimpleAuth`]). Path-style requests only (`http://127.0.0.1:PORT/bucket/key`),
//! which is what `object_store`'s `AmazonS3Builder` sends by default (tested with us-east-1).
//!
//! Buckets are the sub-directories of the root: create one with [`S3Server::create_bucket`]
//! (or `std::fs::create_dir(root.join(name))`, or an S3 `CreateBucket` request); objects put
//! with a key `a/b/c` are the file `root/bucket/a/b/c`, and files written into a bucket
//! directory by hand are objects too. s3s-fs keeps its own metadata and multipart parts as
//! hidden `.`-files directly under the root, never inside a bucket.
//!
//! For failure tests: [`S3Server::fail_next`] answers the next N requests with `503 SlowDown`
//! before they reach s3s, [`S3Server::stall_next_puts`] reads the next N PUT requests and never
//! answers them (a server that hangs), [`S3Server::requests`] counts requests, and
//! [`S3Server::stop`] closes the listener and drops every open connection, so later requests get
//! "connection refused".

#![allow(dead_code)] // each test binary uses a different part

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{header, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{Body, HttpError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

const SLOW_DOWN: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
    <Error><Code>SlowDown</Code><Message>Please reduce your request rate. \
    (injected by S3Server::fail_next)</Message></Error>";

/// A running S3 server; it stops when dropped or on [`S3Server::stop`].
pub struct S3Server {
    addr: SocketAddr,
    root: PathBuf,
    counters: Arc<Counters>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Counters {
    fail_next: AtomicUsize,
    stall_puts: AtomicUsize,
    requests: AtomicUsize,
    injected: AtomicUsize,
}

impl S3Server {
    /// Serves the directory `root` (which must exist) on 127.0.0.1 at a free port, on the
    /// caller's tokio runtime, accepting only requests signed with this key pair.
    pub async fn start(root: &Path, access_key: &str, secret_key: &str) -> S3Server {
        let fs = s3s_fs::FileSystem::new(root).expect("S3Server: root directory must exist");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
        let service = builder.build();

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("S3Server: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("S3Server: local address");
        let counters = Arc::new(Counters::default());
        let (shutdown, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(listener, service, counters.clone(), stopped));
        S3Server { addr, root: root.to_path_buf(), counters, shutdown: Some(shutdown), task: Some(task) }
    }

    /// `http://127.0.0.1:PORT`, for `AmazonS3Builder::with_endpoint` (with `with_allow_http(true)`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Creates the bucket `name` (an empty directory under the root), if it is not there yet.
    pub fn create_bucket(&self, name: &str) {
        std::fs::create_dir_all(self.root.join(name)).expect("S3Server: create bucket directory");
    }

    /// Answers the next `n` requests with `503 SlowDown` (replacing any count still pending).
    pub fn fail_next(&self, n: usize) {
        self.counters.fail_next.store(n, Ordering::SeqCst);
    }

    /// Reads the next `n` PUT requests and never answers them (replacing any count still
    /// pending); the client's own timeout ends them.
    pub fn stall_next_puts(&self, n: usize) {
        self.counters.stall_puts.store(n, Ordering::SeqCst);
    }

    /// Requests received so far, the injected failures included.
    pub fn requests(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }

    /// Requests answered with an injected 503, or stalled, so far.
    pub fn injected_failures(&self) -> usize {
        self.counters.injected.load(Ordering::SeqCst)
    }

    /// Closes the listener and drops every open connection, in-flight responses included;
    /// returns once they are gone. Later requests get "connection refused".
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("S3Server: server task panicked");
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort(); // drops the listener and the connection set, which aborts the connections
        }
    }
}

async fn serve(listener: TcpListener, service: S3Service, counters: Arc<Counters>, mut stopped: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (service, counters) = (service.clone(), counters.clone());
                let handler = service_fn(move |req| handle(service.clone(), counters.clone(), req));
                connections.spawn(async move {
                    // errors here are clients going away, nothing for a test to see
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), handler)
                        .await;
                });
            }
        }
    }
    drop(listener);
    connections.shutdown().await;
}

async fn handle(
    service: S3Service,
    counters: Arc<Counters>,
    req: Request<Incoming>,
) -> Result<Response<Body>, HttpError> {
    counters.requests.fetch_add(1, Ordering::SeqCst);
    if req.method() == hyper::Method::PUT
        && counters.stall_puts.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    {
        counters.injected.fetch_add(1, Ordering::SeqCst);
        let _ = req.into_body().collect().await;
        match std::future::pending::<std::convert::Infallible>().await {}
    }
    let fail = counters.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    if !fail {
        return service.call(req.map(Body::from)).await;
    }
    counters.injected.fetch_add(1, Ordering::SeqCst);
    // read the body first so that the client sees the 503 rather than a broken pipe
    let _ = req.into_body().collect().await;
    Ok(Response::builder()
        .status(StatusCode::SERVICE_UNAVAILABLE)
        .header(header::CONTENT_TYPE, "application/xml")
        .body(Body::from(SLOW_DOWN.to_owned()))
        .expect("S3Server: static 503 response"))
}
