//! Authentication: Basic username/password handshakes that return bearer tokens, and static
//! bearer tokens from the configuration.
//!
//! Passwords are checked against argon2 PHC strings; static tokens against the SHA-256 of
//! their value (tokens are random and long, so a fast hash suffices and every call can check
//! one). Handshake tokens are 256 random bits, held in memory until they expire.
//!
//! Failed logins are throttled per (client address, user name): after [`FREE_FAILURES`]
//! failures in a row the pair's logins are refused without a password check for a back-off
//! that doubles with each further failure, from 1 s to [`MAX_BACKOFF`]; a success clears it.
//! A flood of wrong passwords therefore costs a handful of argon2 checks instead of one each,
//! and other users (other names, or the same name from elsewhere) log in as before. Unknown
//! names are throttled the same way, so the refusal says nothing about which names exist.
//!
//! One address trying many names (a password spray) is throttled across names too: after
//! [`FREE_ADDRESS_FAILURES`] failures in a row from an address, whatever the names, its logins
//! back off the same way; a success from the address clears its count. The budget is large
//! enough for an office behind one NAT address, whose users mistype now and then.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
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
    throttle: Throttle,
}

/// Failures in a row a (client address, user name) pair may have before its logins are refused
/// without a password check.
pub const FREE_FAILURES: u32 = 5;

/// Failures in a row from one address, across user names, before its logins back off.
pub const FREE_ADDRESS_FAILURES: u32 = 50;

/// The longest back-off of a throttled pair.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Pairs remembered at most: a flood of made-up names evicts the pairs idle longest.
const MAX_TRACKED: usize = 65_536;

/// A failure this long after the pair's last one starts the count again.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

/// A pair's failures in a row and the end of its back-off.
#[derive(Debug)]
struct Failures {
    count: u32,
    until: Instant,
    last: Instant,
}

/// Failed logins per (client address, user name) and per address.
#[derive(Debug, Default)]
struct Throttle {
    pairs: Mutex<HashMap<(IpAddr, String), Failures>>,
    addresses: Mutex<HashMap<IpAddr, Failures>>,
}

impl Throttle {
    /// Why a login of `user` from `peer` is refused unchecked now, if it is: the pair's back-off,
    /// else the address's.
    fn wait(&self, peer: IpAddr, user: &str) -> Option<LoginRefusal> {
        let pairs = self.pairs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(wait) = pairs.get(&(peer, user.to_string())).and_then(Failures::left) {
            return Some(LoginRefusal::Throttled(wait));
        }
        drop(pairs);
        let addresses = self.addresses.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        addresses.get(&peer).and_then(Failures::left).map(LoginRefusal::AddressThrottled)
    }

    fn record(&self, peer: IpAddr, user: &str, succeeded: bool) {
        let mut pairs = self.pairs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        count(&mut pairs, (peer, user.to_string()), succeeded, FREE_FAILURES);
        drop(pairs);
        let mut addresses = self.addresses.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        count(&mut addresses, peer, succeeded, FREE_ADDRESS_FAILURES);
    }
}

impl Failures {
    /// The back-off left, if any.
    fn left(&self) -> Option<Duration> {
        self.until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
    }
}

/// Counts a login under `key`: a success forgets the key; a failure counts, and from the `free`-th
/// failure in a row the key backs off for 1 s, doubling with each further failure up to
/// [`MAX_BACKOFF`]. At most [`MAX_TRACKED`] keys are kept (the idlest go first).
fn count<K: std::hash::Hash + Eq + Clone>(keys: &mut HashMap<K, Failures>, key: K, succeeded: bool, free: u32) {
    if succeeded {
        keys.remove(&key);
        return;
    }
    let now = Instant::now();
    if !keys.contains_key(&key) && keys.len() >= MAX_TRACKED {
        keys.retain(|_, f| f.until > now || now.duration_since(f.last) < MAX_BACKOFF);
        if keys.len() >= MAX_TRACKED {
            if let Some(idle) = keys.iter().min_by_key(|(_, f)| f.last).map(|(k, _)| k.clone()) {
                keys.remove(&idle);
            }
        }
    }
    let failures = keys.entry(key).or_insert(Failures { count: 0, until: now, last: now });
    if now.duration_since(failures.last) > FORGET_AFTER {
        failures.count = 0;
    }
    failures.count += 1;
    failures.last = now;
    if failures.count >= free {
        let backoff = Duration::from_secs(1 << (failures.count - free).min(6)).min(MAX_BACKOFF);
        failures.until = now + backoff;
    }
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// A wrong password or an unknown user (one answer for both).
    Invalid,
    /// Too many failures from this address for this name: retry after this long.
    Throttled(Duration),
    /// Too many failures from this address, across names: retry after this long.
    AddressThrottled(Duration),
}

impl LoginRefusal {
    /// The message a client sees.
    #[must_use]
    pub fn message(self) -> String {
        match self {
            LoginRefusal::Invalid => "invalid user name or password".to_string(),
            LoginRefusal::Throttled(wait) => format!(
                "too many failed logins for this user from this address: retry in {} s",
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
            ),
            LoginRefusal::AddressThrottled(wait) => format!(
                "too many failed logins from this address: retry in {} s",
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
            ),
        }
    }
}

/// The address a login is throttled under (unspecified when the transport does not say).
#[must_use]
pub fn peer_ip(addr: Option<std::net::SocketAddr>) -> IpAddr {
    addr.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip())
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
            throttle: Throttle::default(),
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

    /// The refusal of a login of `user` from `peer` while the pair or the address is throttled.
    #[must_use]
    pub fn throttled(&self, peer: IpAddr, user: &str) -> Option<LoginRefusal> {
        self.throttle.wait(peer, user)
    }

    /// Counts a login of `user` from `peer` checked elsewhere (a SCRAM exchange).
    pub fn record_login(&self, peer: IpAddr, user: &str, succeeded: bool) {
        self.throttle.record(peer, user, succeeded);
    }

    /// [`Self::verify_password`] for a login from `peer`: refused unchecked while the pair is
    /// throttled, and counted.
    ///
    /// # Errors
    /// The refusal: invalid credentials, or the back-off left.
    pub fn log_in(&self, peer: IpAddr, user: &str, password: &str) -> Result<Identity, LoginRefusal> {
        if let Some(refusal) = self.throttle.wait(peer, user) {
            return Err(refusal);
        }
        let identity = self.verify_password(user, password);
        self.throttle.record(peer, user, identity.is_some());
        identity.ok_or(LoginRefusal::Invalid)
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

    /// The user name and password of a `Basic` authorization header.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` for a missing or malformed header.
    pub fn basic_credentials(metadata: &MetadataMap) -> Result<(String, String), Status> {
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
        Ok((user.to_string(), password.to_string()))
    }

    /// Checks a `Basic` authorization header from `peer` and returns a new bearer token.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` for a missing or malformed header, an unknown user or a wrong
    /// password (one message for all, so user names cannot be probed); `RESOURCE_EXHAUSTED`
    /// while the (address, name) pair is throttled.
    pub fn handshake(&self, metadata: &MetadataMap, peer: IpAddr) -> Result<(String, Identity), Status> {
        let (user, password) = Self::basic_credentials(metadata)?;
        let identity = self.log_in(peer, &user, &password).map_err(refusal_status)?;
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

/// The gRPC status of a refused login.
#[must_use]
pub fn refusal_status(refusal: LoginRefusal) -> Status {
    match refusal {
        LoginRefusal::Invalid => Status::unauthenticated(refusal.message()),
        LoginRefusal::Throttled(_) | LoginRefusal::AddressThrottled(_) => Status::resource_exhausted(refusal.message()),
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

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

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
        let (token, who) = auth.handshake(&basic("alice", "s3cret"), LOCAL).expect("login");
        assert_eq!(who.user, "alice");
        assert_eq!(auth.check(&metadata(&format!("Bearer {token}"))).expect("valid").user, "alice");
        assert_eq!(auth.check(&metadata("Bearer static-token")).expect("valid").user, "etl");
        for bad in [basic("alice", "wrong"), basic("mallory", "s3cret"), metadata("Basic !!!")] {
            assert_eq!(auth.handshake(&bad, LOCAL).expect_err("refused").code(), tonic::Code::Unauthenticated);
        }
        for bad in ["Bearer nope", "Basic abc", token.as_str()] {
            assert_eq!(auth.check(&metadata(bad)).expect_err("refused").code(), tonic::Code::Unauthenticated);
        }
        assert_eq!(auth.check(&MetadataMap::new()).expect_err("refused").code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn failed_logins_back_off_per_address_and_name() {
        let hash = hash_password("s3cret").expect("hash");
        let text = format!("[roles.r]\n[users.alice]\npassword_hash = \"{hash}\"\nrole = \"r\"");
        let auth = Authenticator::new(&ServerConfig::parse(&text).expect("config"));
        let elsewhere = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
        for _ in 0..FREE_FAILURES {
            assert_eq!(auth.log_in(LOCAL, "alice", "wrong"), Err(LoginRefusal::Invalid));
        }
        // throttled now, even with the right password; the wait is the first back-off, 1 s
        let Err(LoginRefusal::Throttled(wait)) = auth.log_in(LOCAL, "alice", "s3cret") else { panic!("throttled") };
        assert!(wait <= Duration::from_secs(1) && !wait.is_zero(), "{wait:?}");
        assert!(LoginRefusal::Throttled(wait).message().contains("retry in 1 s"));
        // another address, or another name from the same address, is not affected
        assert!(auth.log_in(elsewhere, "alice", "s3cret").is_ok());
        assert_eq!(auth.log_in(LOCAL, "bob", "x"), Err(LoginRefusal::Invalid));
        // unknown names are throttled the same way; each further failure doubles the back-off
        let throttle = Throttle::default();
        for _ in 0..FREE_FAILURES + 3 {
            throttle.record(LOCAL, "nobody", false);
        }
        let Some(LoginRefusal::Throttled(wait)) = throttle.wait(LOCAL, "nobody") else { panic!("throttled") };
        assert!(wait > Duration::from_secs(7) && wait <= Duration::from_secs(8), "{wait:?}");
        for _ in 0..20 {
            throttle.record(LOCAL, "nobody", false);
        }
        let Some(LoginRefusal::Throttled(wait)) = throttle.wait(LOCAL, "nobody") else { panic!("throttled") };
        assert!(wait <= MAX_BACKOFF);
        throttle.record(LOCAL, "nobody", true);
        assert!(throttle.wait(LOCAL, "nobody").is_none());
        // a flood of made-up names stays bounded
        for i in 0..MAX_TRACKED + 10 {
            throttle.record(LOCAL, &format!("name{i}"), false);
        }
        assert!(throttle.pairs.lock().expect("lock").len() <= MAX_TRACKED);
    }

    #[test]
    fn one_address_spraying_names_backs_off_across_names() {
        let throttle = Throttle::default();
        let office = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
        // one failure per name: no pair is throttled, the address is from the 50th failure
        for i in 0..FREE_ADDRESS_FAILURES - 1 {
            throttle.record(office, &format!("user{i}"), false);
        }
        assert!(throttle.wait(office, "someone").is_none(), "49 mistakes from an office pass");
        throttle.record(office, "user49", false);
        let Some(LoginRefusal::AddressThrottled(wait)) = throttle.wait(office, "someone") else {
            panic!("the address backs off")
        };
        assert!(wait <= Duration::from_secs(1) && !wait.is_zero(), "{wait:?}");
        assert!(LoginRefusal::AddressThrottled(wait).message().starts_with("too many failed logins from this address"));
        // other addresses are not affected; a success from the address clears its count
        assert!(throttle.wait(LOCAL, "someone").is_none());
        throttle.record(office, "alice", true);
        assert!(throttle.wait(office, "someone").is_none());
    }
}
