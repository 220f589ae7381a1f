//! The PostgreSQL endpoint of `persona serve` (`server.pg_addr`): psql, psycopg, JDBC and BI
//! tools reach the same roles, masks, limits and audit log as Flight SQL clients.
//!
//! Built on `pgwire` (the protocol: startup, simple and extended queries, portals, COPY,
//! cancel requests, TLS), `arrow-pg` (Arrow values in PostgreSQL's text and binary formats)
//! and `datafusion-pg-catalog` (`pg_catalog` and the PostgreSQL functions clients query on
//! connect). Persona supplies the rest: password logins against the server's argon2 users, a
//! role's PostgreSQL context per connection, planning through [`Policy::plan`] (the same
//! checks as Flight SQL), limits, cancellation while rows stream, and the audit line.

mod auth;
mod cursor;
mod functions;
mod query;
mod settings;

use std::future::Future;
use std::sync::Arc;

use datafusion::common::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use datafusion_pg_catalog::pg_catalog::context::{PgCatalogContextProvider, Role};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::{ClientInfo, ErrorHandler, PgWireServerHandlers};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::cancel::CancelRequest;
use tokio::net::TcpListener;

use super::auth::{Authenticator, Identity};
use super::policy::{Policy, RoleContext, PG_DATABASE};

/// Most connections served at once; more wait for a free one.
const MAX_CONNECTIONS: usize = 256;

/// The version clients see (`server_version`, `version()`): PostgreSQL 16's protocol and
/// catalog, answered by Persona.
pub(super) const SERVER_VERSION: &str = "16.6";

/// `pg_roles` shows the connection's own role and nothing else.
#[derive(Debug, Clone)]
struct OwnRole(String);

#[async_trait::async_trait]
impl PgCatalogContextProvider for OwnRole {
    async fn roles(&self) -> Vec<String> {
        vec![self.0.clone()]
    }

    async fn role(&self, name: &str) -> Option<Role> {
        (name == self.0).then(|| Role {
            name: self.0.clone(),
            is_superuser: false,
            can_login: true,
            can_create_db: false,
            can_create_role: false,
            can_create_user: false,
            can_replication: false,
            grants: Vec::new(),
            inherited_roles: Vec::new(),
        })
    }
}

/// Adds `pg_catalog` (over the role's own tables only), PostgreSQL's session functions and a
/// `version()` that names PostgreSQL to `ctx`, the PostgreSQL context of `role`.
///
/// # Errors
/// A catalog that does not register.
pub(super) fn add_pg_catalog(ctx: &SessionContext, role: &str) -> Result<()> {
    datafusion_pg_catalog::setup_pg_catalog(ctx, PG_DATABASE, OwnRole(role.to_string())).map_err(|e| *e)?;
    ctx.register_udf(functions::version());
    ctx.register_udf(functions::to_regtype());
    ctx.register_udf(functions::pg_get_serial_sequence());
    ctx.register_udf(functions::pg_collation_is_visible());
    ctx.register_udf(functions::json_build_object());
    Ok(())
}

/// What every connection shares.
struct Shared {
    policy: Arc<Policy>,
    auth: Arc<Authenticator>,
    /// Password checks (argon2, deliberately slow) run on blocking threads, two at a time.
    login_slots: tokio::sync::Semaphore,
    cancels: Arc<auth::Cancels>,
}

/// A logged-in connection: who, with which role, over which context.
struct Session {
    identity: Identity,
    role: Arc<RoleContext>,
    ctx: SessionContext,
    cursors: cursor::Cursors,
    /// `PREPARE`d statements by name.
    statements: std::sync::Mutex<std::collections::HashMap<String, query::PreparedStatement>>,
}

/// The handlers pgwire asks each connection for (all the same service).
#[derive(Clone)]
struct Handlers(Arc<query::PgService>);

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl pgwire::api::query::SimpleQueryHandler> {
        Arc::clone(&self.0)
    }

    fn extended_query_handler(&self) -> Arc<impl pgwire::api::query::ExtendedQueryHandler> {
        Arc::clone(&self.0)
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        Arc::clone(&self.0)
    }

    fn error_handler(&self) -> Arc<impl ErrorHandler> {
        Arc::clone(&self.0)
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        Arc::clone(&self.0)
    }
}

#[async_trait::async_trait]
impl CancelHandler for query::PgService {
    async fn on_cancel_request(&self, request: CancelRequest) {
        self.shared.cancels.cancel(request.pid, &request.secret_key);
    }
}

impl ErrorHandler for query::PgService {
    fn on_error<C: ClientInfo>(&self, client: &C, error: &mut PgWireError) {
        let user = client.metadata().get("user").cloned().unwrap_or_default();
        tracing::debug!(%user, error = %error, "PostgreSQL error sent");
    }
}

/// An error in PostgreSQL's form: SQLSTATE `code` and a message.
pub(super) fn pg_error(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("ERROR".into(), code.into(), message.into())))
}

/// The TLS acceptor for PostgreSQL clients: the server's certificate and key, ring, and the
/// `postgresql` ALPN protocol (PostgreSQL 17 clients negotiating TLS directly ask for it).
pub(super) fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<pgwire::tokio::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls_error = |what: &std::path::Path, e: &dyn std::fmt::Display| {
        DataFusionError::Configuration(format!("TLS {}: {e}", what.display()))
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| tls_error(cert, &e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| tls_error(cert, &e))?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| tls_error(key, &e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(cert, &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| tls_error(cert, &e))?;
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(pgwire::tokio::TlsAcceptor::from(Arc::new(config)))
}

/// Serves PostgreSQL clients on `listener` until `shutdown` completes; connections open then
/// are closed when the server stops.
pub(super) async fn serve(
    policy: Arc<Policy>,
    auth: Arc<Authenticator>,
    listener: TcpListener,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let shared = Arc::new(Shared {
        policy,
        auth,
        login_slots: tokio::sync::Semaphore::new(2),
        cancels: Arc::new(auth::Cancels::default()),
    });
    let handlers = Handlers(Arc::new(query::PgService::new(shared)));
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (socket, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "PostgreSQL accept failed");
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { break };
        let _ = socket.set_nodelay(true);
        let handlers = handlers.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            if let Err(e) = pgwire::tokio::process_socket(socket, tls, handlers).await {
                tracing::debug!(%peer, error = %e, "PostgreSQL connection ended with an error");
            }
            drop(slot);
        });
        // forget finished connections as we go
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}
