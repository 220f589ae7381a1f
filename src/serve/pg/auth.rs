//! Logins and cancel keys.
//!
//! A client logs in with the password of one of the server's users (`[users.NAME]`, argon2):
//! the server asks for it in clear, which PostgreSQL clients send only over TLS unless the
//! connection is on the loopback interface (refused otherwise). SCRAM needs a verifier derived
//! from the password that argon2 hashes do not give, so it is not offered. The database name
//! must be `persona`.

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
use crate::serve::policy::PG_DATABASE;

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

#[async_trait]
impl StartupHandler for PgService {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use futures::SinkExt;
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                let database = client.metadata().get("database").or_else(|| client.metadata().get("user"));
                if database.map(String::as_str) != Some(PG_DATABASE) {
                    let given = database.cloned().unwrap_or_default();
                    return Err(pg_error(
                        "3D000",
                        format!("database \"{given}\" does not exist: connect to database \"{PG_DATABASE}\""),
                    ));
                }
                if !client.is_secure() && !client.socket_addr().ip().is_loopback() {
                    return Err(pg_error(
                        "28000",
                        "passwords are accepted only over TLS (sslmode=require) or from this machine",
                    ));
                }
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                client.send(PgWireBackendMessage::Authentication(Authentication::CleartextPassword)).await?;
            }
            PgWireFrontendMessage::PasswordMessageFamily(password) => {
                let password = password.into_password()?.password;
                let user = client.metadata().get("user").cloned().unwrap_or_default();
                let refused = || pg_error("28P01", format!("password authentication failed for user \"{user}\""));
                let identity = {
                    let _slot = self.shared.login_slots.acquire().await.map_err(|_| refused())?;
                    let auth = Arc::clone(&self.shared.auth);
                    let name = user.clone();
                    tokio::task::spawn_blocking(move || auth.verify_password(&name, &password))
                        .await
                        .map_err(|_| refused())?
                }
                .ok_or_else(refused)?;
                let role = self
                    .shared
                    .policy
                    .role(&identity.role)
                    .ok_or_else(|| pg_error("28000", format!("role '{}' is not defined", identity.role)))?;
                let ctx = role
                    .pg
                    .clone()
                    .ok_or_else(|| pg_error("XX000", "the PostgreSQL catalog of this role was not built"))?;
                tracing::info!(user = %identity.user, role = %role.name, peer = %client.socket_addr(), "PostgreSQL login");
                let (pid, secret) = self.shared.cancels.keys.generate(client);
                client.set_pid_and_secret_key(pid, secret.clone());
                let key = (pid, secret.to_bytes());
                let (sender, signal) = tokio::sync::watch::channel(0u64);
                if let Ok(mut signals) = self.shared.cancels.signals.lock() {
                    signals.insert(key.clone(), sender);
                }
                client.session_extensions().insert(CancelKey {
                    key,
                    cancels: Arc::clone(&self.shared.cancels),
                    signal,
                });
                client.session_extensions().insert(Session {
                    identity,
                    role,
                    ctx,
                    cursors: super::cursor::Cursors::default(),
                });
                finish_authentication(client, &parameters()).await?;
            }
            _ => {}
        }
        Ok(())
    }
}
