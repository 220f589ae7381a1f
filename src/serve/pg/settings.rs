//! `SET` and `SHOW` of the session settings PostgreSQL clients send and ask for on connect.
//!
//! Settings are the connection's own: `SET x = v` is remembered and `SHOW x` answers it, but
//! nothing changes the engine except `statement_timeout`, which shortens the role's time
//! limit (never lengthens it). `SET datafusion.…` is refused: the engine's settings are the
//! server's.

use std::sync::Arc;
use std::time::Duration;

use datafusion::sql::sqlparser::ast::{Expr, Value};
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::{ClientInfo, Type};
use pgwire::error::PgWireResult;

use super::{pg_error, SERVER_VERSION};

/// Settings a client may ask for before setting them, with PostgreSQL's values for Persona.
const DEFAULTS: &[(&str, &str)] = &[
    ("application_name", ""),
    ("bytea_output", "hex"),
    ("client_encoding", "UTF8"),
    ("client_min_messages", "notice"),
    ("datestyle", "ISO, MDY"),
    ("default_transaction_isolation", "read committed"),
    ("default_transaction_read_only", "on"),
    ("extra_float_digits", "1"),
    ("integer_datetimes", "on"),
    ("intervalstyle", "postgres"),
    ("is_superuser", "off"),
    ("lc_collate", "C"),
    ("lc_ctype", "C"),
    ("max_identifier_length", "63"),
    ("search_path", "public"),
    ("server_encoding", "UTF8"),
    ("server_version", SERVER_VERSION),
    ("server_version_num", "160006"),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("timezone", "UTC"),
    ("transaction_isolation", "read committed"),
    ("transaction_read_only", "on"),
];

/// Metadata keys that are startup parameters, not settings.
const NOT_SETTINGS: &[&str] = &["user", "database", "options", "replication"];

/// The text of a `SET` value: quoted strings and identifiers without their quotes.
pub(super) fn value_text(values: &[Expr]) -> String {
    values
        .iter()
        .map(|value| match value {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
                other => other.to_string(),
            },
            Expr::Identifier(ident) => ident.value.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The value of `name` for this connection (its own `SET`, a startup parameter, or the default).
fn current<C: ClientInfo>(client: &C, name: &str) -> Option<String> {
    client
        .metadata()
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name) && !NOT_SETTINGS.contains(&key.as_str()))
        .map(|(_, value)| value.clone())
        .or_else(|| DEFAULTS.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_string()))
}

/// `SET name = value`.
pub(super) fn set<C: ClientInfo>(client: &mut C, name: &str, value: String) -> PgWireResult<Response> {
    let name = name.to_ascii_lowercase();
    if name.starts_with("datafusion.") {
        return Err(pg_error("42501", format!("{name} is a setting of the server; ask its administrator")));
    }
    if name == "statement_timeout" {
        statement_timeout_of(&value)?;
    }
    client.metadata_mut().retain(|key, _| !key.eq_ignore_ascii_case(&name));
    client.metadata_mut().insert(name, value);
    Ok(Response::Execution(Tag::new("SET")))
}

/// The connection's `statement_timeout`, if set and not zero.
pub(super) fn statement_timeout<C: ClientInfo>(client: &C) -> Option<Duration> {
    current(client, "statement_timeout").and_then(|value| statement_timeout_of(&value).ok().flatten())
}

/// `statement_timeout` values: milliseconds, or a number with a unit (ms, s, min, h, d); 0 is none.
fn statement_timeout_of(value: &str) -> PgWireResult<Option<Duration>> {
    let value = value.trim();
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let invalid = || pg_error("22023", format!("invalid value for parameter \"statement_timeout\": \"{value}\""));
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let millis = match unit.trim() {
        "" | "ms" => number,
        "s" => number * 1e3,
        "min" => number * 60e3,
        "h" => number * 3600e3,
        "d" => number * 86_400e3,
        _ => return Err(invalid()),
    };
    if !millis.is_finite() || millis > 1e12 {
        return Err(invalid());
    }
    Ok((millis >= 1.0).then(|| Duration::from_secs_f64(millis / 1e3)))
}

fn text_fields(names: &[&str]) -> Arc<Vec<FieldInfo>> {
    Arc::new(
        names.iter().map(|name| FieldInfo::new((*name).into(), None, None, Type::TEXT, FieldFormat::Text)).collect(),
    )
}

fn rows(fields: Arc<Vec<FieldInfo>>, values: Vec<Vec<String>>) -> PgWireResult<Response> {
    let mut encoded = Vec::with_capacity(values.len());
    for row in values {
        let mut encoder = DataRowEncoder::new(Arc::clone(&fields));
        for value in &row {
            encoder.encode_field(value)?;
        }
        encoded.push(Ok(encoder.take_row()));
    }
    let mut response = QueryResponse::new(fields, futures::stream::iter(encoded));
    response.set_command_tag("SHOW");
    Ok(Response::Query(response))
}

/// `SHOW name` (`SHOW ALL` with `name` "all").
pub(super) fn show<C: ClientInfo>(client: &C, name: &str) -> PgWireResult<Response> {
    let name = name.to_ascii_lowercase();
    if name == "all" {
        let mut all: Vec<Vec<String>> = DEFAULTS
            .iter()
            .map(|(key, _)| vec![(*key).to_string(), current(client, key).unwrap_or_default()])
            .collect();
        for (key, value) in client.metadata() {
            let key = key.to_ascii_lowercase();
            if !NOT_SETTINGS.contains(&key.as_str()) && !all.iter().any(|row| row[0] == key) {
                all.push(vec![key, value.clone()]);
            }
        }
        all.sort();
        return rows(text_fields(&["name", "setting"]), all);
    }
    let value = current(client, &name)
        .ok_or_else(|| pg_error("42704", format!("unrecognized configuration parameter \"{name}\"")))?;
    rows(text_fields(&[name.as_str()]), vec![vec![value]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_timeouts() {
        assert_eq!(statement_timeout_of("0").ok().flatten(), None);
        assert_eq!(statement_timeout_of("1500").ok().flatten(), Some(Duration::from_millis(1500)));
        assert_eq!(statement_timeout_of("2s").ok().flatten(), Some(Duration::from_secs(2)));
        assert_eq!(statement_timeout_of("1min").ok().flatten(), Some(Duration::from_secs(60)));
        assert!(statement_timeout_of("soon").is_err());
        assert!(statement_timeout_of("5 weeks").is_err());
    }
}
