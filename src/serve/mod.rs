//! `persona serve`: the engine behind an Arrow Flight SQL endpoint, with authentication,
//! roles (table access, read-only, per-query memory and time limits) and PII masking at the
//! plan level. See the README's "Flight SQL server" section.

mod auth;
mod config;
mod gate;
mod guard;
mod limits;
mod masking;
mod metadata;
mod pg;
mod policy;
mod scram;
mod service;
mod statement;

use std::future::Future;

use arrow_flight::flight_service_server::FlightServiceServer;
use datafusion::prelude::SessionContext;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity as TlsIdentity, Server, ServerTlsConfig};

pub use auth::{hash_password, sha256_hex};
pub use config::{Mask, RoleConfig, ServerConfig, ServerSection, TokenConfig, UserConfig};
pub use policy::read_pseudonym_key;
pub use scram::verifier as scram_verifier;
pub use service::PersonaFlightSql;

/// How long running calls may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Largest gRPC message the server accepts or sends (parameter batches, result chunks).
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// Serves `base` (the engine with the lake registered) to Flight SQL clients on `listener`, and
/// to PostgreSQL clients on `server.pg_addr` when set, until `shutdown` completes; then stops
/// accepting calls and lets running Flight calls finish (for at most 30 s).
///
/// # Errors
/// Role contexts that do not build, unreadable TLS files, an address that cannot be bound, or
/// transport errors.
pub async fn serve(
    base: &SessionContext,
    config: &ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let pg = match config.server.pg_addr {
        None => None,
        Some(addr) => {
            Some(TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr} (server.pg_addr): {e}"))?)
        }
    };
    serve_on(base, config, listener, pg, shutdown).await
}

/// [`serve`] on listeners bound already: Flight SQL on `flight`, PostgreSQL on `pg` (which
/// needs `server.pg_addr` set, for the roles' PostgreSQL catalogs to be built).
///
/// # Errors
/// As [`serve`]; a `pg` listener without `server.pg_addr`.
pub async fn serve_on(
    base: &SessionContext,
    config: &ServerConfig,
    listener: TcpListener,
    pg: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if pg.is_some() && config.server.pg_addr.is_none() {
        return Err("a PostgreSQL listener needs server.pg_addr in the configuration".into());
    }
    let policy = std::sync::Arc::new(policy::Policy::build(base, config).await?);
    let users = std::sync::Arc::new(auth::Authenticator::new(config));
    let service = PersonaFlightSql::with_policy(std::sync::Arc::clone(&policy), std::sync::Arc::clone(&users), config)?;
    let service = FlightServiceServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    // tokens are checked before bodies are decoded; undecodable bodies are INVALID_ARGUMENT
    let service = gate::Gate::new(service, std::sync::Arc::clone(&users));
    let mut server = Server::builder();
    if let (Some(cert), Some(key)) = (&config.server.tls_cert, &config.server.tls_key) {
        // several crypto back ends are linked in (object stores bring aws-lc); pick ring for
        // the process unless the embedding application chose one already
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cert = std::fs::read(cert).map_err(|e| format!("TLS certificate {}: {e}", cert.display()))?;
        let key = std::fs::read(key).map_err(|e| format!("TLS key {}: {e}", key.display()))?;
        server = server.tls_config(ServerTlsConfig::new().identity(TlsIdentity::from_pem(cert, key)))?;
    }
    let (stop, mut stopping) = tokio::sync::watch::channel(false);
    if let Some(pg) = pg {
        let tls = match (&config.server.tls_cert, &config.server.tls_key) {
            (Some(cert), Some(key)) => Some(pg::tls_acceptor(cert, key)?),
            _ => None,
        };
        let address = pg.local_addr()?;
        tracing::info!(%address, tls = tls.is_some(), "serving PostgreSQL clients");
        let mut pg_stopping = stop.subscribe();
        tokio::spawn(pg::serve(policy, users, pg, tls, async move {
            let _ = pg_stopping.wait_for(|stop| *stop).await;
        }));
    }
    let address = listener.local_addr()?;
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tracing::info!(%address, tls = config.server.tls_cert.is_some(), "serving Flight SQL");
    let mut grace = stop.subscribe();
    let serving = server.add_service(service).serve_with_incoming_shutdown(incoming, async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    });
    tokio::select! {
        served = serving => served?,
        () = async {
            shutdown.await;
            let _ = stop.send(true);
            let _ = grace.wait_for(|stop| *stop).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => tracing::warn!(grace_secs = SHUTDOWN_GRACE.as_secs(), "calls still running after the grace period; stopping anyway"),
    }
    tracing::info!("server stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The SIGTERM handler is installed when this is
/// called, not when the future is first polled, so a SIGTERM that arrives right after the server
/// says it is serving stops it gracefully instead of killing it. Call it inside a Tokio runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let interrupt = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async {
            match terminate.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = interrupt => {},
            () = terminate => {},
        }
        tracing::info!("shutdown signal received; finishing running calls");
    }
}
