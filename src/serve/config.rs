//! The server's configuration file (TOML): users, static tokens, roles and PII columns.
//!
//! ```toml
//! [server]
//! addr = "127.0.0.1:50051"
//! # pg_addr = "127.0.0.1:5433" # PostgreSQL clients (psql, BI tools); off unless set
//! memory_limit = "8G"          # pool shared by all queries
//! token_ttl_secs = 28800       # lifetime of handshake tokens
//! pseudonym_key_env = "PERSONA_PSEUDONYM_KEY"  # key of the "pseudonym" mask
//! # tls_cert = "server.pem"    # TLS when both are set
//! # tls_key = "server.key"
//!
//! [roles.analyst]
//! tables = ["*"]               # or a list of table names
//! pii = false                  # false: PII columns are masked
//! ddl = false                  # CREATE/DROP (read-only by default)
//! dml = false                  # INSERT/COPY
//! memory_limit = "2G"          # per query
//! timeout_secs = 300           # per query
//!
//! [users.alice]
//! password_hash = "$argon2id$v=19$m=19456,t=2,p=1$..."   # persona hash-secret
//! scram_sha256 = "SCRAM-SHA-256$4096:..."                 # optional: SCRAM logins over PostgreSQL
//! role = "analyst"
//!
//! [tokens.nightly-report]      # a static bearer token, acting as user "nightly-report"
//! sha256 = "9f86d081884c7d65..."                          # persona hash-secret
//! role = "analyst"
//!
//! [pii.customers]              # table -> column -> mask
//! phone = "mask_phone"
//! id_number = "mask_id_number"
//! email = "mask_email"
//! name = "mask_name"
//!
//! [views]                      # created for every role over what that role may see
//! active_customers = "SELECT * FROM customers WHERE customer_id IN (SELECT customer_id FROM transactions)"
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::size::parse_size;
use crate::store::StorageOptions;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub roles: BTreeMap<String, RoleConfig>,
    #[serde(default)]
    pub users: BTreeMap<String, UserConfig>,
    #[serde(default)]
    pub tokens: BTreeMap<String, TokenConfig>,
    /// Table name → column name → mask.
    #[serde(default)]
    pub pii: BTreeMap<String, BTreeMap<String, Mask>>,
    /// View name → SQL, created per role over the tables (masked) that role may read.
    #[serde(default)]
    pub views: BTreeMap<String, String>,
    /// `[storage]`: options of a remote lake's object store, as nested tables or dotted keys
    /// (`[storage.aws]` `endpoint = "http://127.0.0.1:9000"`, `allow_http = true`); see
    /// [`crate::store`]. Credentials are better left to the environment variables.
    #[serde(default, deserialize_with = "storage_section")]
    pub storage: StorageOptions,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StorageValue {
    Text(String),
    Flag(bool),
    Number(i64),
    Table(BTreeMap<String, StorageValue>),
}

fn storage_section<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<StorageOptions, D::Error> {
    fn flatten(prefix: &str, table: BTreeMap<String, StorageValue>, options: &mut StorageOptions) {
        for (key, value) in table {
            let key = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
            match value {
                StorageValue::Text(text) => options.set(&key, text),
                StorageValue::Flag(flag) => options.set(&key, flag.to_string()),
                StorageValue::Number(number) => options.set(&key, number.to_string()),
                StorageValue::Table(table) => flatten(&key, table, options),
            }
        }
    }
    let table = BTreeMap::<String, StorageValue>::deserialize(deserializer)?;
    let mut options = StorageOptions::new();
    flatten("", table, &mut options);
    Ok(options)
}

/// `[server]`: listening address, shared memory pool, token lifetime, TLS, pseudonym key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    #[serde(default = "default_addr")]
    pub addr: SocketAddr,
    /// Address of the PostgreSQL endpoint (off unless set), e.g. `127.0.0.1:5433`.
    pub pg_addr: Option<SocketAddr>,
    /// The lake to serve; the `--lake` flag takes precedence.
    pub lake: Option<String>,
    /// Memory pool shared by all running queries (e.g. `8G`); unlimited if absent.
    #[serde(default, deserialize_with = "size")]
    pub memory_limit: Option<usize>,
    /// Lifetime of the bearer tokens returned by the handshake.
    #[serde(default = "default_token_ttl")]
    pub token_ttl_secs: u64,
    /// Environment variable holding the key of the `pseudonym` mask (HMAC-SHA256).
    pub pseudonym_key_env: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Seconds an unfetched query result (or an idle prepared statement) is kept.
    #[serde(default = "default_ticket_ttl")]
    pub ticket_ttl_secs: u64,
    /// Queries that run at once, over both protocols (default: twice the cores); the others
    /// wait for a slot, within their role's time limit and cancellable, instead of competing
    /// for the memory pool and the cores.
    #[serde(default = "default_max_running_queries")]
    pub max_running_queries: usize,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            addr: default_addr(),
            pg_addr: None,
            lake: None,
            memory_limit: None,
            token_ttl_secs: default_token_ttl(),
            pseudonym_key_env: None,
            tls_cert: None,
            tls_key: None,
            ticket_ttl_secs: default_ticket_ttl(),
            max_running_queries: default_max_running_queries(),
        }
    }
}

/// `[roles.NAME]`: what the role's users may do. `ddl`/`dml` require `pii`: CREATE EXTERNAL
/// TABLE and COPY reach files directly, around the masks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// Readable tables; `"*"` means every table of the lake.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Whether PII columns are shown in clear.
    #[serde(default)]
    pub pii: bool,
    /// CREATE / DROP statements (views, external tables).
    #[serde(default)]
    pub ddl: bool,
    /// INSERT / COPY statements.
    #[serde(default)]
    pub dml: bool,
    /// Memory one query may hold (within the server pool).
    #[serde(default, deserialize_with = "size")]
    pub memory_limit: Option<usize>,
    /// Wall-clock limit of one query, planning to last batch.
    pub timeout_secs: Option<u64>,
}

impl RoleConfig {
    /// Whether the role may read `table`.
    #[must_use]
    pub fn may_read(&self, table: &str) -> bool {
        self.tables.iter().any(|t| t == "*" || t == table)
    }
}

/// `[users.NAME]`: a password login.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// An argon2 PHC string (`persona hash-secret`).
    pub password_hash: String,
    pub role: String,
    /// The password's SCRAM-SHA-256 verifier in PostgreSQL's format (`persona hash-secret`):
    /// PostgreSQL clients then log in with SCRAM instead of sending the password.
    #[serde(default)]
    pub scram_sha256: Option<String>,
}

/// `[tokens.NAME]`: a static bearer token, identified by the SHA-256 of its value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Lower-case hex SHA-256 of the token.
    pub sha256: String,
    pub role: String,
}

/// How a PII column is shown to roles without the `pii` permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mask {
    /// `mask_phone`: 138****5678.
    MaskPhone,
    /// `mask_id_number`: first 6 and last 4 characters kept.
    MaskIdNumber,
    /// `mask_email`: first character of the local part and the domain kept.
    MaskEmail,
    /// `mask_name`: surname kept.
    MaskName,
    /// HMAC-SHA256 (hex) under the server's pseudonym key: joinable, not reversible.
    Pseudonym,
    /// NULL of the column's type.
    Redact,
}

/// Upper bound of every duration in the file (a year), so deadlines never overflow.
const MAX_SECS: u64 = 366 * 24 * 3600;

fn default_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50051))
}

fn default_token_ttl() -> u64 {
    8 * 3600
}

fn default_ticket_ttl() -> u64 {
    600
}

fn default_max_running_queries() -> usize {
    2 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

fn size<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Option::<Size>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Size::Bytes(n)) => usize::try_from(n).map(Some).map_err(|_| serde::de::Error::custom("size too large")),
        Some(Size::Text(text)) => parse_size(&text).map(Some).map_err(serde::de::Error::custom),
    }
}

impl ServerConfig {
    /// Reads and checks a configuration file.
    ///
    /// # Errors
    /// Unreadable file, TOML errors, or an inconsistent configuration (see [`Self::parse`]).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and checks a configuration: every user and token names a defined role, token
    /// hashes are 64 hex digits, password hashes are PHC strings, TLS has both files, and the
    /// pseudonym mask has a key variable.
    ///
    /// # Errors
    /// A message naming the first problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        for (name, user) in &self.users {
            if !self.roles.contains_key(&user.role) {
                return Err(format!("user '{name}' has undefined role '{}'", user.role));
            }
            argon2::PasswordHash::new(&user.password_hash)
                .map_err(|e| format!("user '{name}': password_hash is not a PHC string: {e}"))?;
            if let Some(verifier) = &user.scram_sha256 {
                super::scram::Verifier::parse(verifier).map_err(|e| format!("user '{name}': scram_sha256: {e}"))?;
            }
        }
        for (name, token) in &self.tokens {
            if !self.roles.contains_key(&token.role) {
                return Err(format!("token '{name}' has undefined role '{}'", token.role));
            }
            if token.sha256.len() != 64 || !token.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("token '{name}': sha256 must be 64 hex digits"));
            }
            if self.users.contains_key(name) {
                return Err(format!("'{name}' is both a user and a token"));
            }
        }
        for (name, role) in &self.roles {
            if (role.ddl || role.dml) && !(role.pii && role.may_read("*")) {
                return Err(format!(
                    "role '{name}': ddl and dml are for administrators: they need pii = true and tables = [\"*\"] \
                     (CREATE EXTERNAL TABLE and COPY read and write any file the server can)"
                ));
            }
            if role.timeout_secs.is_some_and(|t| t > MAX_SECS) {
                return Err(format!("role '{name}': timeout_secs must be at most {MAX_SECS} (a year)"));
            }
            if role.memory_limit == Some(0) {
                return Err(format!("role '{name}': memory_limit must be positive"));
            }
            if role.timeout_secs == Some(0) {
                return Err(format!("role '{name}': timeout_secs must be positive"));
            }
        }
        if self.server.max_running_queries == 0 {
            return Err("server: max_running_queries must be at least 1".into());
        }
        if self.server.token_ttl_secs > MAX_SECS || self.server.ticket_ttl_secs > MAX_SECS {
            return Err(format!("server: token_ttl_secs and ticket_ttl_secs must be at most {MAX_SECS} (a year)"));
        }
        if self.server.memory_limit == Some(0) {
            return Err("server: memory_limit must be positive".into());
        }
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return Err("TLS needs both server.tls_cert and server.tls_key".into());
        }
        let uses_pseudonym = self.pii.values().any(|cols| cols.values().any(|m| *m == Mask::Pseudonym));
        if uses_pseudonym && self.server.pseudonym_key_env.is_none() {
            return Err("the pseudonym mask needs server.pseudonym_key_env".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$5Cw2uZ4hYbV/e0pXvq9zQ4Zj0NUzU3cS1Tg6vWl0jv8";

    #[test]
    fn parses_a_full_config() {
        let text = format!(
            r#"
            [server]
            addr = "127.0.0.1:0"
            memory_limit = "1G"
            [roles.analyst]
            tables = ["customers"]
            memory_limit = 1048576
            timeout_secs = 5
            [users.alice]
            password_hash = "{HASH}"
            role = "analyst"
            [tokens.etl]
            sha256 = "{}"
            role = "analyst"
            [pii.customers]
            phone = "mask_phone"
            "#,
            "a".repeat(64)
        );
        let config = ServerConfig::parse(&text).expect("valid");
        assert_eq!(config.server.memory_limit, Some(1 << 30));
        let role = &config.roles["analyst"];
        assert_eq!(role.memory_limit, Some(1 << 20));
        assert!(role.may_read("customers") && !role.may_read("baskets"));
        assert!(!role.pii && !role.ddl);
        assert_eq!(config.pii["customers"]["phone"], Mask::MaskPhone);
    }

    #[test]
    fn rejects_inconsistent_configs() {
        let undefined = format!("[users.bob]\npassword_hash = \"{HASH}\"\nrole = \"nobody\"");
        assert!(ServerConfig::parse(&undefined).expect_err("refused").contains("undefined role"));
        let plain = "[roles.r]\n[users.bob]\npassword_hash = \"secret\"\nrole = \"r\"";
        assert!(ServerConfig::parse(plain).expect_err("refused").contains("PHC"));
        let short = "[roles.r]\n[tokens.t]\nsha256 = \"abc\"\nrole = \"r\"";
        assert!(ServerConfig::parse(short).expect_err("refused").contains("64 hex"));
        assert!(ServerConfig::parse("[pii.t]\nc = \"pseudonym\"").expect_err("refused").contains("pseudonym_key_env"));
        assert!(ServerConfig::parse("[pii.t]\nc = \"shout\"").is_err());
        assert!(ServerConfig::parse("[server]\ntls_cert = \"a.pem\"").expect_err("refused").contains("TLS"));
        assert!(ServerConfig::parse("[roles.r]\ntimeout_secs = 0").is_err());
        assert!(ServerConfig::parse("[roles.r]\nunknown = 1").is_err());
        assert!(ServerConfig::parse("[roles.r]\nddl = true").expect_err("refused").contains("pii = true"));
        assert!(ServerConfig::parse("[roles.r]\nddl = true\npii = true\ntables = [\"a\"]").is_err());
        assert!(ServerConfig::parse("[roles.r]\nddl = true\npii = true\ntables = [\"*\"]").is_ok());
        assert!(ServerConfig::parse("[roles.r]\ntimeout_secs = 99999999999").is_err());
        assert!(ServerConfig::parse("[roles.r]\nmemory_limit = 0").is_err());
        assert!(ServerConfig::parse("[server]\ntoken_ttl_secs = 99999999999").is_err());
    }

    #[test]
    fn storage_section_accepts_tables_and_dotted_keys() {
        let text = "[storage]\n\"client.timeout\" = \"5s\"\n[storage.aws]\nendpoint = \"http://127.0.0.1:9000\"\nallow_http = true\n[storage.retry]\nmax_retries = 2";
        let config = ServerConfig::parse(text).expect("valid");
        let mut expected = StorageOptions::new();
        expected.set("aws.endpoint", "http://127.0.0.1:9000");
        expected.set("aws.allow_http", "true");
        expected.set("client.timeout", "5s");
        expected.set("retry.max_retries", "2");
        assert_eq!(config.storage, expected);
        assert!(ServerConfig::parse("[storage]\naws = [1, 2]").is_err());
    }
}
