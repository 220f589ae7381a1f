//! Logins and cancel keys.
//!
//! A client logs in as one of the server's users (`[users.NAME]`). Users with a
//! `scram_sha256` verifier log in with SCRAM-SHA-256 (the password never crosses the wire);
//! the others send their password, checked against the argon2 hash, which the server accepts
//! only over TLS or on the loopback interface. When any user has a verifier, unknown names go
//! through a mock SCRAM exchange that fails like a wrong password. The database name must be
//! `persona`.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::Sink;
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata, DefaultServerParameterProvider,
    StartupHandler,
};
use pgwire::api::{ClientInfo, PgWireConnectionState, PidSecretKeyGenerator, RandomPidSecretKeyGenerator};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::startup::{Authentication, SecretKey};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use super::query::PgService;
use super::{pg_error, Session, SERVER_VERSION};
use crate::serve::auth::{Identity, LoginRefusal};
use crate::serve::policy::PG_DATABASE;
use crate::serve::scram::{Exchange, Verifier};

/// The running query's cancel signal of every logged-in connection, by (pid, secret key).
#[derive(Debug, Default)]
pub(super) struct Cancels {
    signals: Mutex<HashMap<(i32, Bytes), tokio::sync::watch::Sender<u64>>>,
    keys: RandomPidSecretKeyGenerator,
}

impl Cancels {
    /// Cancels what the connection with this key runs now (a CancelRequest).
    pub(super) fn cancel(&self, pid: i32, secret: &SecretKey) {
        if let Ok(signals) = self.signals.lock() {
            if let Some(signal) = signals.get(&(pid, secret.to_bytes())) {
                signal.send_modify(|n| *n += 1);
            }
        }
    }
}

/// A connection's cancel signal; forgotten when the connection ends.
pub(super) struct CancelKey {
    key: (i32, Bytes),
    cancels: Arc<Cancels>,
    pub(super) signal: tokio::sync::watch::Receiver<u64>,
}

impl Drop for CancelKey {
    fn drop(&mut self) {
        if let Ok(mut signals) = self.cancels.signals.lock() {
            signals.remove(&self.key);
        }
    }
}

impl CancelKey {
    /// Completes when a cancel request for this connection arrives after this call.
    pub(super) fn cancelled(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut signal = self.signal.clone();
        signal.mark_unchanged();
        async move {
            if signal.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

fn parameters() -> DefaultServerParameterProvider {
    let mut parameters = DefaultServerParameterProvider::default();
    parameters.server_version = format!("{SERVER_VERSION} (Persona {})", env!("CARGO_PKG_VERSION"));
    parameters.is_superuser = false;
    parameters.default_transaction_read_only = true;
    parameters.time_zone = "UTC".into();
    parameters
}

/// Where a SCRAM login is: the verifier offered, then the exchange under way; with the
/// identity it proves (`None` for an unknown name).
enum Sasl {
    Offered(Verifier, Option<Identity>),
    Exchanging(Exchange, Option<Identity>),
    Done,
}

/// The connection's SCRAM state between startup messages.
struct SaslState(Mutex<Sasl>);

impl PgService {
    /// Logs `identity` in: the role's PostgreSQL context, a cancel key, and the server's
    /// parameters (the caller sends the final authentication message first when it has one).
    async fn log_in<C>(&self, client: &mut C, identity: Identity) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let role = self
            .shared
            .policy
            .role(&identity.role)
            .ok_or_else(|| pg_error("28000", format!("role '{}' is not defined", identity.role)))?;
        let ctx =
            role.pg.clone().ok_or_else(|| pg_error("XX000", "the PostgreSQL catalog of this role was not built"))?;
        tracing::info!(user = %identity.user, role = %role.name, peer = %client.socket_addr(), "PostgreSQL login");
        let (pid, secret) = self.shared.cancels.keys.generate(client);
        client.set_pid_and_secret_key(pid, secret.clone());
        let key = (pid, secret.to_bytes());
        let (sender, signal) = tokio::sync::watch::channel(0u64);
        if let Ok(mut signals) = self.shared.cancels.signals.lock() {
            signals.insert(key.clone(), sender);
        }
        client.session_extensions().insert(CancelKey { key, cancels: Arc::clone(&self.shared.cancels), signal });
        client.session_extensions().insert(Session {
            identity,
            role,
            ctx,
            cursors: super::cursor::Cursors::default(),
            statements: std::sync::Mutex::default(),
        });
        finish_authentication(client, &parameters()).await
    }
}

#[async_trait]
impl StartupHandler for PgService {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use futures::SinkExt;
        let user = client.metadata().get("user").cloned().unwrap_or_default();
        let refused = || pg_error("28P01", format!("password authentication failed for user \"{user}\""));
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                let user = client.metadata().get("user").cloned().unwrap_or_default();
                let database = client.metadata().get("database").unwrap_or(&user);
                if database != PG_DATABASE {
                    return Err(pg_error(
                        "3D000",
                        format!("database \"{database}\" does not exist: connect to database \"{PG_DATABASE}\""),
                    ));
                }
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                if let Some((verifier, identity)) = self.shared.auth.scram(&user) {
                    client.session_extensions().insert(SaslState(Mutex::new(Sasl::Offered(verifier, identity))));
                    let mechanisms = vec!["SCRAM-SHA-256".to_string()];
                    client.send(PgWireBackendMessage::Authentication(Authentication::SASL(mechanisms))).await?;
                    return Ok(());
                }
                if !client.is_secure() && !client.socket_addr().ip().is_loopback() {
                    return Err(pg_error(
                        "28000",
                        "this user's password is accepted only over TLS (sslmode=require) or from this machine; \
                         give the user a scram_sha256 verifier to log in without TLS",
                    ));
                }
                client.send(PgWireBackendMessage::Authentication(Authentication::CleartextPassword)).await?;
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                let peer = client.socket_addr().ip();
                if let Some(refusal) = self.shared.auth.throttled(peer, &user) {
                    return Err(pg_error("28P01", refusal.message()));
                }
                if let Some(state) = client.session_extensions().get::<SaslState>() {
                    let stage = state.0.lock().map(|mut stage| std::mem::replace(&mut *stage, Sasl::Done));
                    match stage.map_err(|_| refused())? {
                        Sasl::Offered(verifier, identity) => {
                            let initial = message.into_sasl_initial_response()?;
                            if initial.auth_method != "SCRAM-SHA-256" {
                                return Err(pg_error(
                                    "28000",
                                    format!("unsupported SASL mechanism {}", initial.auth_method),
                                ));
                            }
                            let data = initial.data.unwrap_or_default();
                            let exchange = Exchange::start(verifier, &data).map_err(|e| pg_error("08P01", e))?;
                            let server_first = Bytes::from(exchange.server_first().to_string());
                            if let Ok(mut stage) = state.0.lock() {
                                *stage = Sasl::Exchanging(exchange, identity);
                            }
                            client
                                .send(PgWireBackendMessage::Authentication(Authentication::SASLContinue(server_first)))
                                .await?;
                        }
                        Sasl::Exchanging(exchange, identity) => {
                            let response = message.into_sasl_response()?;
                            let finished = exchange.finish(&response.data).ok().zip(identity);
                            self.shared.auth.record_login(peer, &user, finished.is_some());
                            let (server_final, identity) = finished.ok_or_else(refused)?;
                            client
                                .feed(PgWireBackendMessage::Authentication(Authentication::SASLFinal(Bytes::from(
                                    server_final,
                                ))))
                                .await?;
                            self.log_in(client, identity).await?;
                        }
                        Sasl::Done => return Err(refused()),
                    }
                    return Ok(());
                }
                let password = message.into_password()?.password;
                let identity = {
                    let _slot = self.shared.login_slots.acquire().await.map_err(|_| refused())?;
                    let auth = Arc::clone(&self.shared.auth);
                    let name = user.clone();
                    tokio::task::spawn_blocking(move || auth.log_in(peer, &name, &password))
                        .await
                        .map_err(|_| refused())?
                }
                .map_err(|refusal| match refusal {
                    LoginRefusal::Invalid => refused(),
                    LoginRefusal::Throttled(_) | LoginRefusal::AddressThrottled(_) => {
                        pg_error("28P01", refusal.message())
                    }
                })?;
                self.log_in(client, identity).await?;
            }
            _ => {}
        }
        Ok(())
    }
}
