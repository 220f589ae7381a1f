//! SCRAM-SHA-256 (RFC 5802, RFC 7677) for PostgreSQL logins, against verifiers in PostgreSQL's
//! own format: `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64). A verifier
//! lets the server check a password proof without being able to log in with it; it is derived
//! from the password (`persona hash-secret` prints one), not from the argon2 hash. Channel
//! binding (`SCRAM-SHA-256-PLUS`) is not offered. Passwords are used as given (no SASLprep
//! normalisation), which matches PostgreSQL for ASCII passwords.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::{digest, hmac, pbkdf2};

/// PostgreSQL's default iteration count.
pub const ITERATIONS: u32 = 4096;
const KEY_BYTES: usize = 32;

/// A parsed verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    iterations: u32,
    salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message).as_ref().to_vec()
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, bytes).as_ref().to_vec()
}

impl Verifier {
    /// The verifier of `password` with `salt` (an iteration count of 0 counts as 1).
    #[must_use]
    pub fn derive(password: &str, salt: &[u8], iterations: u32) -> Self {
        let rounds = std::num::NonZeroU32::new(iterations.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
        let mut salted = [0u8; KEY_BYTES];
        pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, rounds, salt, password.as_bytes(), &mut salted);
        let client_key = hmac_sha256(&salted, b"Client Key");
        Self {
            iterations: rounds.get(),
            salt: salt.to_vec(),
            stored_key: sha256(&client_key),
            server_key: hmac_sha256(&salted, b"Server Key"),
        }
    }

    /// A verifier no password matches, for a user name that has none: keyed by `secret` and
    /// the name, so a name always gets the same salt, and made of HMACs only, so it takes no
    /// longer than looking a real verifier up (no PBKDF2 that would time unknown names apart).
    #[must_use]
    pub fn mock(secret: &[u8], user: &str) -> Self {
        let key = |label: &str| hmac_sha256(secret, format!("{label}\0{user}").as_bytes());
        Self {
            iterations: ITERATIONS,
            salt: key("salt")[..16].to_vec(),
            stored_key: key("stored"),
            server_key: key("server"),
        }
    }

    /// Parses PostgreSQL's verifier format.
    ///
    /// # Errors
    /// A message naming what is malformed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let malformed = || "a SCRAM verifier looks like SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>".to_string();
        let rest = text.strip_prefix("SCRAM-SHA-256$").ok_or_else(malformed)?;
        let (parameters, keys) = rest.split_once('$').ok_or_else(malformed)?;
        let (iterations, salt) = parameters.split_once(':').ok_or_else(malformed)?;
        let (stored_key, server_key) = keys.split_once(':').ok_or_else(malformed)?;
        let decode = |part: &str| STANDARD.decode(part).map_err(|_| malformed());
        let verifier = Self {
            iterations: iterations.parse().map_err(|_| malformed())?,
            salt: decode(salt)?,
            stored_key: decode(stored_key)?,
            server_key: decode(server_key)?,
        };
        if verifier.iterations == 0
            || verifier.salt.is_empty()
            || verifier.stored_key.len() != KEY_BYTES
            || verifier.server_key.len() != KEY_BYTES
        {
            return Err(malformed());
        }
        Ok(verifier)
    }

    /// The verifier in PostgreSQL's format.
    #[must_use]
    pub fn to_text(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(&self.stored_key),
            STANDARD.encode(&self.server_key)
        )
    }
}

/// A verifier of `password` with a random salt, in PostgreSQL's format.
///
/// # Errors
/// No randomness available.
pub fn verifier(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    Ok(Verifier::derive(password, &salt, ITERATIONS).to_text())
}

/// The server's side of one exchange, after the client's first message.
#[derive(Debug, Clone)]
pub struct Exchange {
    verifier: Verifier,
    client_first_bare: String,
    server_first: String,
    nonce: String,
    gs2_header: String,
}

fn attribute(message: &str, name: char) -> Option<&str> {
    message.split(',').find_map(|part| part.strip_prefix(name).and_then(|p| p.strip_prefix('=')))
}

impl Exchange {
    /// Answers the client's first message (`n,,n=…,r=<nonce>`) with the server's
    /// (`r=<nonce+server nonce>,s=<salt>,i=<iterations>`).
    ///
    /// # Errors
    /// A malformed message, or a client asking for channel binding.
    pub fn start(verifier: Verifier, client_first: &[u8]) -> Result<Self, String> {
        let message = std::str::from_utf8(client_first).map_err(|_| "client-first message is not UTF-8")?;
        let (gs2_header, bare) = match message.strip_prefix("n,,").or_else(|| message.strip_prefix("y,,")) {
            Some(bare) => (&message[..3], bare),
            None if message.starts_with("p=") => return Err("channel binding is not supported".into()),
            None => return Err("malformed client-first message".into()),
        };
        let client_nonce =
            attribute(bare, 'r').filter(|n| !n.is_empty()).ok_or("client-first message without nonce")?;
        let mut random = [0u8; 18];
        getrandom::fill(&mut random).map_err(|e| e.to_string())?;
        let nonce = format!("{client_nonce}{}", STANDARD.encode(random));
        let server_first = format!("r={nonce},s={},i={}", STANDARD.encode(&verifier.salt), verifier.iterations);
        Ok(Self {
            verifier,
            client_first_bare: bare.to_string(),
            server_first,
            nonce,
            gs2_header: gs2_header.to_string(),
        })
    }

    /// The server's first message.
    #[must_use]
    pub fn server_first(&self) -> &str {
        &self.server_first
    }

    /// Checks the client's proof (`c=…,r=…,p=<proof>`) and returns the server's final message
    /// (`v=<signature>`).
    ///
    /// # Errors
    /// A malformed message, a nonce or channel-binding mismatch, or a wrong proof (a wrong
    /// password).
    pub fn finish(&self, client_final: &[u8]) -> Result<String, String> {
        let message = std::str::from_utf8(client_final).map_err(|_| "client-final message is not UTF-8")?;
        let (without_proof, proof) = message.rsplit_once(",p=").ok_or("client-final message without proof")?;
        if attribute(without_proof, 'r') != Some(self.nonce.as_str()) {
            return Err("nonce mismatch".into());
        }
        if attribute(without_proof, 'c') != Some(STANDARD.encode(&self.gs2_header).as_str()) {
            return Err("channel binding mismatch".into());
        }
        let proof = STANDARD.decode(proof).map_err(|_| "malformed proof")?;
        let auth_message = format!("{},{},{without_proof}", self.client_first_bare, self.server_first);
        let signature = hmac_sha256(&self.verifier.stored_key, auth_message.as_bytes());
        if proof.len() != signature.len() {
            return Err("wrong proof".into());
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        // every byte compared, whatever the first difference
        let stored_key = sha256(&client_key);
        let difference = stored_key.iter().zip(&self.verifier.stored_key).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if difference != 0 || stored_key.len() != self.verifier.stored_key.len() {
            return Err("wrong proof".into());
        }
        let server_signature = hmac_sha256(&self.verifier.server_key, auth_message.as_bytes());
        Ok(format!("v={}", STANDARD.encode(server_signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's example exchange (user "user", password "pencil").
    #[test]
    fn rfc_7677_example() {
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("salt");
        let verifier = Verifier::derive("pencil", &salt, 4096);
        let client_first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
        let mut exchange = Exchange::start(verifier.clone(), client_first.as_bytes()).expect("start");
        // the RFC's server nonce, to reproduce its messages
        exchange.nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into();
        exchange.server_first = format!("r={},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", exchange.nonce);
        let client_final = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                            p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        assert_eq!(
            exchange.finish(client_final.as_bytes()).expect("proof"),
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        let wrong = client_final.replace("p=dHzb", "p=eHzb");
        assert!(exchange.finish(wrong.as_bytes()).is_err());
        assert_eq!(Verifier::parse(&verifier.to_text()).expect("round trip"), verifier);
        assert!(Verifier::parse("SCRAM-SHA-256$4096:abc").is_err());
    }
}
