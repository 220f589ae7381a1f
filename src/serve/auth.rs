//! Authentication: Basic username/password handshakes that return bearer tokens, and static
//! bearer tokens from the configuration.
//!
//! Passwords are checked against argon2 PHC strings; static tokens against the SHA-256 of
//! their value (tokens are random and long, so a fast hash suffices and every call can check
//! one). Handshake tokens are 256 random bits, held in memory until they expire.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};
use tonic::metadata::MetadataMap;
use tonic::Status;

use super::config::ServerConfig;
use super::scram::Verifier;

/// Who is calling: the user (or static token) name and its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub role: String,
}

/// Issues and checks bearer tokens.
#[derive(Debug)]
pub struct Authenticator {
    passwords: HashMap<String, (String, String)>,
    /// SCRAM verifiers and roles of the users that have one.
    scram: HashMap<String, (Verifier, String)>,
    /// Keys the mock SCRAM exchange of unknown users (stable per name, unguessable).
    mock_secret: [u8; 32],
    /// Verified for unknown user names, so they take as long as known ones.
    dummy_hash: String,
    static_tokens: HashMap<String, Identity>,
    sessions: Mutex<HashMap<String, (Identity, Instant)>>,
    ttl: Duration,
}

/// Hex SHA-256, the form static tokens are configured in.
#[must_use]
pub fn sha256_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// An argon2id PHC string of `password` with a random salt (default parameters).
///
/// # Errors
/// Failure of the hasher.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

impl Authenticator {
    #[must_use]
    pub fn new(config: &ServerConfig) -> Self {
        Self {
            passwords: config
                .users
                .iter()
                .map(|(name, u)| (name.clone(), (u.password_hash.clone(), u.role.clone())))
                .collect(),
            scram: config
                .users
                .iter()
                .filter_map(|(name, u)| {
                    let verifier = Verifier::parse(u.scram_sha256.as_deref()?).ok()?;
                    Some((name.clone(), (verifier, u.role.clone())))
                })
                .collect(),
            mock_secret: {
                let mut secret = [0u8; 32];
                let _ = getrandom::fill(&mut secret);
                secret
            },
            static_tokens: config
                .tokens
                .iter()
                .map(|(name, t)| {
                    let identity = Identity { user: name.clone(), role: t.role.clone() };
                    (t.sha256.to_ascii_lowercase(), identity)
                })
                .collect(),
            dummy_hash: hash_password("persona-dummy-password").unwrap_or_default(),
            sessions: Mutex::new(HashMap::new()),
            ttl: Duration::from_secs(config.server.token_ttl_secs),
        }
    }

    /// The identity of `user` if `password` is theirs (argon2: slow on purpose, call it on a
    /// blocking thread). Unknown users take as long as known ones.
    #[must_use]
    pub fn verify_password(&self, user: &str, password: &str) -> Option<Identity> {
        let (hash, role) = match self.passwords.get(user) {
            Some((hash, role)) => (hash.as_str(), Some(role)),
            None => (self.dummy_hash.as_str(), None),
        };
        let parsed = PasswordHash::new(hash).ok()?;
        let verified = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        role.filter(|_| verified).map(|role| Identity { user: user.to_string(), role: role.clone() })
    }

    /// How `user` logs in over PostgreSQL: `None` for a password in clear; else SCRAM with this
    /// verifier, and the identity it proves (`None`: an unknown name, put through a mock
    /// exchange that fails, so that names cannot be probed when SCRAM is in use).
    #[must_use]
    pub fn scram(&self, user: &str) -> Option<(Verifier, Option<Identity>)> {
        if let Some((verifier, role)) = self.scram.get(user) {
            return Some((verifier.clone(), Some(Identity { user: user.to_string(), role: role.clone() })));
        }
        if self.scram.is_empty() || self.passwords.contains_key(user) {
            return None;
        }
        Some((Verifier::mock(&self.mock_secret, user), None))
    }

    /// Checks a `Basic` authorization header and returns a new bearer token.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` for a missing or malformed header, an unknown user or a wrong
    /// password (one message for all, so user names cannot be probed).
    pub fn handshake(&self, metadata: &MetadataMap) -> Result<(String, Identity), Status> {
        let header = authorization(metadata)?;
        let encoded = header
            .strip_prefix("Basic ")
            .ok_or_else(|| Status::unauthenticated("handshake needs Basic authorization"))?;
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| Status::unauthenticated("malformed Basic authorization"))?;
        let (user, password) =
            decoded.split_once(':').ok_or_else(|| Status::unauthenticated("malformed Basic authorization"))?;
        let identity = self
            .verify_password(user, password)
            .ok_or_else(|| Status::unauthenticated("invalid user name or password"))?;
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| Status::internal(format!("no randomness: {e}")))?;
        let token = URL_SAFE_NO_PAD.encode(random);
        let now = Instant::now();
        let mut sessions = self.sessions.lock().map_err(|_| Status::internal("session store poisoned"))?;
        sessions.retain(|_, (_, expires)| *expires > now);
        let expires = now.checked_add(self.ttl).ok_or_else(|| Status::internal("token lifetime overflows"))?;
        sessions.insert(token.clone(), (identity.clone(), expires));
        Ok((token, identity))
    }

    /// The identity behind the `Bearer` token of a call.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` when the header is missing, not a bearer token, or the token is
    /// unknown or expired.
    pub fn check(&self, metadata: &MetadataMap) -> Result<Identity, Status> {
        let header = authorization(metadata)?;
        let token =
            header.strip_prefix("Bearer ").ok_or_else(|| Status::unauthenticated("expected a Bearer token"))?.trim();
        {
            let sessions = self.sessions.lock().map_err(|_| Status::internal("session store poisoned"))?;
            if let Some((identity, expires)) = sessions.get(token) {
                if *expires > Instant::now() {
                    return Ok(identity.clone());
                }
                return Err(Status::unauthenticated("token expired; authenticate again"));
            }
        }
        self.static_tokens.get(&sha256_hex(token)).cloned().ok_or_else(|| Status::unauthenticated("invalid token"))
    }
}

fn authorization(metadata: &MetadataMap) -> Result<&str, Status> {
    metadata
        .get("authorization")
        .ok_or_else(|| Status::unauthenticated("no authorization header"))?
        .to_str()
        .map_err(|_| Status::unauthenticated("authorization header is not ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(value: &str) -> MetadataMap {
        let mut map = MetadataMap::new();
        map.insert("authorization", value.parse().expect("ascii"));
        map
    }

    #[test]
    fn handshake_tokens_and_static_tokens() {
        let hash = hash_password("s3cret").expect("hash");
        let text = format!(
            "[roles.r]\n[users.alice]\npassword_hash = \"{hash}\"\nrole = \"r\"\n[tokens.etl]\nsha256 = \"{}\"\nrole = \"r\"",
            sha256_hex("static-token")
        );
        let auth = Authenticator::new(&ServerConfig::parse(&text).expect("config"));
        let basic = |u: &str, p: &str| metadata(&format!("Basic {}", STANDARD.encode(format!("{u}:{p}"))));
        let (token, who) = auth.handshake(&basic("alice", "s3cret")).expect("login");
        assert_eq!(who.user, "alice");
        assert_eq!(auth.check(&metadata(&format!("Bearer {token}"))).expect("valid").user, "alice");
        assert_eq!(auth.check(&metadata("Bearer static-token")).expect("valid").user, "etl");
        for bad in [basic("alice", "wrong"), basic("mallory", "s3cret"), metadata("Basic !!!")] {
            assert_eq!(auth.handshake(&bad).expect_err("refused").code(), tonic::Code::Unauthenticated);
        }
        for bad in ["Bearer nope", "Basic abc", token.as_str()] {
            assert_eq!(auth.check(&metadata(bad)).expect_err("refused").code(), tonic::Code::Unauthenticated);
        }
        assert_eq!(auth.check(&MetadataMap::new()).expect_err("refused").code(), tonic::Code::Unauthenticated);
    }
}
