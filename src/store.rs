//! Object stores for remote lakes: `s3://`, `gs://`, `az://`/`abfss://` and read-only
//! `http(s)://`, configured the way users already configure them.
//!
//! [`object_store_for`] builds the store for a URL from, in order of precedence:
//! 1. explicit [`StorageOptions`] (the shell's `--storage KEY=VALUE`, the server's `[storage]`
//!    section, [`crate::EngineBuilder::storage_option`]), keys prefixed by the store family as in
//!    datafusion-cli: `aws.endpoint`, `aws.access_key_id`, `aws.secret_access_key`,
//!    `aws.session_token`, `aws.region`, `aws.allow_http`, `gcp.service_account_path`,
//!    `azure.account_name`, `azure.access_key`, … (any key object_store 0.13 knows, with or
//!    without its `aws_`/`google_`/`azure_` prefix), plus `client.*` keys common to all stores
//!    (`client.timeout`, `client.connect_timeout`, `client.allow_http`);
//! 2. the standard environment variables, read by object_store's `from_env`: `AWS_ACCESS_KEY_ID`,
//!    `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL` (or
//!    `AWS_ENDPOINT`), `AWS_ALLOW_HTTP`; `GOOGLE_SERVICE_ACCOUNT`, `GOOGLE_SERVICE_ACCOUNT_KEY`,
//!    `GOOGLE_BUCKET`; `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`,
//!    `AZURE_STORAGE_SAS_KEY`, `AZURE_STORAGE_USE_EMULATOR`, ….
//!
//! Every store retries failed requests (5xx, timeouts, refused connections) with exponential
//! backoff: [`RETRY_MAX`] retries within [`RETRY_TIMEOUT`] by default, `retry.max_retries` and
//! `retry.timeout_seconds` to change them. Requests time out after `client.timeout` (object_store's
//! default, 30 s); object_store retries one that timed out when it is idempotent (reads, overwriting
//! PUTs, copies, deletes, multipart parts).
//!
//! **Credentials are never printed.** [`StorageOptions`]' `Debug` shows keys only; every value
//! of a credential key (and of the credential environment variables) is remembered in a
//! process-wide list that [`redact`] replaces with `***` in any text — the front ends pass
//! every error, log line and audit record through it. URLs are shown without their user-info
//! ([`display_url`]).

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use datafusion::common::{plan_datafusion_err, plan_err, DataFusionError, Result};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::http::HttpBuilder;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};
use url::Url;

/// Retries of a failed request by default (object_store's default is 10 within 3 minutes,
/// which keeps a query against a dead endpoint hanging for minutes).
pub const RETRY_MAX: usize = 5;
/// Time from a request's first attempt after which it is not retried again, by default: longer
/// than a request's own timeout (`client.timeout`, 30 s), so that a request that hung is tried
/// once more (a window of 30 s let a PUT that stalled on a SeaweedFS still growing its volumes
/// fail without a second try).
pub const RETRY_TIMEOUT: Duration = Duration::from_secs(60);

/// Options for the object stores of remote lakes, `family.key = value` (see the module docs).
/// `Debug` prints the keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StorageOptions(BTreeMap<String, String>);

impl std::fmt::Debug for StorageOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl StorageOptions {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` (lower-cased) to `value`; a credential value is remembered for [`redact`].
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let key = key.trim().to_ascii_lowercase();
        let value = value.into();
        if is_credential_key(&key) {
            remember_secret(&value);
        }
        self.0.insert(key, value);
    }

    /// Parses `KEY=VALUE` (the command line's `--storage`).
    ///
    /// # Errors
    /// Text without `=` or with an empty key.
    pub fn set_pair(&mut self, pair: &str) -> Result<()> {
        match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                self.set(key, value.trim());
                Ok(())
            }
            _ => plan_err!(
                "storage option must be KEY=VALUE (e.g. aws.endpoint=http://127.0.0.1:9000), got a value without '='"
            ),
        }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The options of one family (`aws`, `gcp`, `azure`, `client`, `retry`) without its prefix.
    fn family<'a>(&'a self, prefixes: &'a [&'a str]) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0.iter().filter_map(move |(key, value)| {
            let (family, rest) = key.split_once('.')?;
            prefixes.contains(&family).then_some((rest, value.as_str()))
        })
    }

    fn check_families(&self) -> Result<()> {
        for key in self.0.keys() {
            let family = key.split_once('.').map_or(key.as_str(), |(family, _)| family);
            if !FAMILIES.contains(&family) {
                return plan_err!(
                    "unknown storage option '{key}': keys start with one of {}",
                    FAMILIES.iter().map(|f| format!("{f}.")).collect::<Vec<_>>().join(", ")
                );
            }
        }
        Ok(())
    }
}

const FAMILIES: [&str; 7] = ["aws", "s3", "gcp", "gcs", "azure", "client", "retry"];

/// Whether a scheme names a remote store that [`object_store_for`] builds.
#[must_use]
pub fn is_remote_scheme(scheme: &str) -> bool {
    matches!(scheme, "s3" | "s3a" | "gs" | "gcs" | "az" | "azure" | "abfs" | "abfss" | "adl" | "http" | "https")
}

/// The object store serving `url` (a lake root or any location below it), configured from
/// `options` over the environment (see the module docs).
///
/// # Errors
/// An unsupported scheme, an unknown option key or an invalid option value, or a store that
/// cannot be configured (e.g. an `s3://` URL without a bucket); messages name the URL without
/// credentials.
pub fn object_store_for(url: &Url, options: &StorageOptions) -> Result<Arc<dyn ObjectStore>> {
    remember_env_secrets();
    options.check_families()?;
    let client = client_options(options)?;
    let retry = retry_config(options)?;
    let shown = display_url(url);
    let failed = |e: object_store::Error| {
        plan_datafusion_err!("cannot use the object store at {shown}: {}", redact(&e.to_string()))
    };
    let store: Arc<dyn ObjectStore> = match url.scheme() {
        "s3" | "s3a" => {
            let mut builder = AmazonS3Builder::from_env().with_url(url.as_str());
            for (key, value) in options.family(&["aws", "s3"]) {
                let key = AmazonS3ConfigKey::from_str(key).map_err(|_| unknown_key("aws", key))?;
                builder = builder.with_config(key, value);
            }
            for (key, value) in &client {
                builder = builder.with_config(AmazonS3ConfigKey::Client(*key), *value);
            }
            Arc::new(builder.with_retry(retry).build().map_err(failed)?)
        }
        "gs" | "gcs" => {
            let mut builder = GoogleCloudStorageBuilder::from_env().with_url(url.as_str());
            for (key, value) in options.family(&["gcp", "gcs"]) {
                let key = GoogleConfigKey::from_str(key).map_err(|_| unknown_key("gcp", key))?;
                builder = builder.with_config(key, value);
            }
            for (key, value) in &client {
                builder = builder.with_config(GoogleConfigKey::Client(*key), *value);
            }
            Arc::new(builder.with_retry(retry).build().map_err(failed)?)
        }
        "az" | "azure" | "abfs" | "abfss" | "adl" => {
            let mut builder = MicrosoftAzureBuilder::from_env().with_url(url.as_str());
            for (key, value) in options.family(&["azure"]) {
                let key = AzureConfigKey::from_str(key).map_err(|_| unknown_key("azure", key))?;
                builder = builder.with_config(key, value);
            }
            for (key, value) in &client {
                builder = builder.with_config(AzureConfigKey::Client(*key), *value);
            }
            Arc::new(builder.with_retry(retry).build().map_err(failed)?)
        }
        "http" | "https" => {
            // a plain-HTTP URL allows plain HTTP
            let mut builder = HttpBuilder::new()
                .with_url(url.origin().ascii_serialization())
                .with_config(ClientConfigKey::AllowHttp, (url.scheme() == "http").to_string());
            for (key, value) in &client {
                builder = builder.with_config(*key, *value);
            }
            Arc::new(builder.with_retry(retry).build().map_err(failed)?)
        }
        scheme => {
            return plan_err!(
                "lake URL scheme '{scheme}' is not supported (in {shown}); use a local directory, file://, s3://, gs://, az://, abfss:// or http(s)://"
            )
        }
    };
    Ok(store)
}

fn unknown_key(family: &str, key: &str) -> DataFusionError {
    plan_datafusion_err!("unknown storage option '{family}.{key}' (not an object_store 0.13 configuration key)")
}

/// The `client.*` options, parsed (applied after the environment's, so they override it).
fn client_options(options: &StorageOptions) -> Result<Vec<(ClientConfigKey, &str)>> {
    options
        .family(&["client"])
        .map(|(key, value)| Ok((ClientConfigKey::from_str(key).map_err(|_| unknown_key("client", key))?, value)))
        .collect()
}

fn retry_config(options: &StorageOptions) -> Result<RetryConfig> {
    let mut retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: RETRY_MAX,
        retry_timeout: RETRY_TIMEOUT,
    };
    for (key, value) in options.family(&["retry"]) {
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| plan_datafusion_err!("storage option retry.{key} must be a whole number, got '{value}'"))
        };
        match key {
            "max_retries" => retry.max_retries = usize::try_from(number()?).unwrap_or(usize::MAX),
            "timeout_seconds" => retry.retry_timeout = Duration::from_secs(number()?),
            _ => return Err(unknown_key("retry", key)),
        }
    }
    Ok(retry)
}

/// `url` as it may be shown: without user name and password.
#[must_use]
pub fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

/// Keys whose values are credentials (never printed).
fn is_credential_key(key: &str) -> bool {
    let key = key.rsplit('.').next().unwrap_or(key);
    [
        "secret",
        "token",
        "password",
        "credential",
        "sas",
        "access_key",
        "account_key",
        "service_account_key",
        "private_key",
    ]
    .iter()
    .any(|word| key.contains(word))
        && !key.ends_with("_path")
        && !key.ends_with("_file")
        && !key.ends_with("_uri")
}

/// Environment variables whose values are credentials.
const CREDENTIAL_VARIABLES: [&str; 9] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_STORAGE_TOKEN",
    "AZURE_CLIENT_SECRET",
];

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers `value` so that [`redact`] hides it (values shorter than 4 characters are not
/// credentials anyone uses and would garble text).
pub fn remember_secret(value: &str) {
    let value = value.trim();
    if value.len() < 4 {
        return;
    }
    let mut secrets = SECRETS.lock().unwrap_or_else(PoisonError::into_inner);
    if !secrets.iter().any(|s| s == value) {
        secrets.push(value.to_string());
        // longest first, so a secret containing another is hidden whole
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Remembers the credential environment variables' values.
pub fn remember_env_secrets() {
    for name in CREDENTIAL_VARIABLES {
        if let Ok(value) = std::env::var(name) {
            remember_secret(&value);
        }
    }
}

/// Remembers every credential value among `key = value` options (e.g. a `CREATE EXTERNAL
/// TABLE … OPTIONS (…)` statement's).
pub fn remember_option_secrets<'a>(options: impl IntoIterator<Item = (&'a String, &'a String)>) {
    for (key, value) in options {
        if is_credential_key(&key.to_ascii_lowercase()) {
            remember_secret(value);
        }
    }
}

/// `text` with every remembered credential (and every credential environment variable's
/// value) replaced by `***`.
#[must_use]
pub fn redact(text: &str) -> String {
    remember_env_secrets();
    let secrets = SECRETS.lock().unwrap_or_else(PoisonError::into_inner);
    let mut text = text.to_string();
    for secret in secrets.iter() {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "***");
        }
    }
    text
}

/// A [`DataFusionError`] whose message has been through [`redact`] (kept as the same kind of
/// error where the message is the whole error).
#[must_use]
pub fn redact_error(error: DataFusionError) -> DataFusionError {
    let message = error.to_string();
    let clean = redact(&message);
    if clean == message {
        error
    } else {
        DataFusionError::Execution(clean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_debug_shows_keys_only() {
        let mut options = StorageOptions::new();
        options.set("aws.secret_access_key", "debug-secret-value-1");
        options.set("aws.endpoint", "http://127.0.0.1:9000");
        let shown = format!("{options:?}");
        assert!(!shown.contains("debug-secret-value-1"), "{shown}");
        assert!(shown.contains("aws.secret_access_key"), "{shown}");
    }

    #[test]
    fn credentials_are_redacted() {
        let mut options = StorageOptions::new();
        options.set("aws.secret_access_key", "redact-me-0123456789");
        options.set("azure.access_key", "azure-key-987654321");
        options.set("aws.region", "us-east-1");
        let text = "signature for redact-me-0123456789 failed; azure-key-987654321; region us-east-1";
        assert_eq!(redact(text), "signature for *** failed; ***; region us-east-1");
    }

    #[test]
    fn credential_keys() {
        for key in [
            "aws.secret_access_key",
            "aws.access_key_id",
            "aws.session_token",
            "azure.sas_key",
            "gcp.service_account_key",
            "azure.client_secret",
        ] {
            assert!(is_credential_key(key), "{key}");
        }
        for key in
            ["aws.endpoint", "aws.region", "aws.allow_http", "gcp.service_account_path", "aws.web_identity_token_file"]
        {
            assert!(!is_credential_key(key), "{key}");
        }
    }

    #[test]
    fn unknown_keys_and_schemes_are_errors() {
        let url = Url::parse("s3://bucket/lake/").unwrap();
        let mut options = StorageOptions::new();
        options.set("aws.no_such_key", "x");
        let error = object_store_for(&url, &options).unwrap_err().to_string();
        assert!(error.contains("unknown storage option 'aws.no_such_key'"), "{error}");
        let mut options = StorageOptions::new();
        options.set("mystore.endpoint", "x");
        let error = object_store_for(&url, &options).unwrap_err().to_string();
        assert!(error.contains("unknown storage option 'mystore.endpoint'"), "{error}");
        let error =
            object_store_for(&Url::parse("ftp://host/lake/").unwrap(), &StorageOptions::new()).unwrap_err().to_string();
        assert!(error.contains("scheme 'ftp' is not supported"), "{error}");
        let mut options = StorageOptions::new();
        options.set("retry.max_retries", "many");
        let error = object_store_for(&url, &options).unwrap_err().to_string();
        assert!(error.contains("retry.max_retries must be a whole number"), "{error}");
        assert!(StorageOptions::new().set_pair("novalue").is_err());
    }

    #[test]
    fn urls_are_shown_without_passwords() {
        let url = Url::parse("https://user:hunter2-password@example.com/lake/").unwrap();
        assert_eq!(display_url(&url), "https://user:***@example.com/lake/");
    }
}
