//! PostgreSQL functions that clients call on connect and `datafusion-pg-catalog` lacks, for
//! the roles' PostgreSQL contexts only.

use std::sync::Arc;

use arrow::array::{Array, Int32Array, StringArray};
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, ScalarValue};
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};
use pgwire::api::Type;

use super::SERVER_VERSION;

/// `version()`: what clients parse to learn the server (replaces DataFusion's).
pub(super) fn version() -> ScalarUDF {
    let text = format!(
        "PostgreSQL {SERVER_VERSION} (Persona {}, Apache DataFusion {}) on x86_64-pc-linux-gnu, 64-bit",
        env!("CARGO_PKG_VERSION"),
        datafusion::DATAFUSION_VERSION
    );
    create_udf(
        "version",
        vec![],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |_: &[ColumnarValue]| Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(text.clone()))))),
    )
}

/// The types Persona's results use, with their SQL spellings: name → oid.
fn type_oid(name: &str) -> Option<i32> {
    let name = name.trim().to_ascii_lowercase();
    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
    let canonical = match name {
        "boolean" => "bool",
        "smallint" => "int2",
        "integer" | "int" => "int4",
        "bigint" => "int8",
        "real" => "float4",
        "double precision" => "float8",
        "character varying" => "varchar",
        "decimal" => "numeric",
        "timestamp without time zone" => "timestamp",
        "timestamp with time zone" => "timestamptz",
        "time without time zone" => "time",
        other => other,
    };
    let (element, array) = match canonical.strip_suffix("[]") {
        Some(element) => (element, true),
        None => (canonical, false),
    };
    let types = [
        (Type::BOOL, Type::BOOL_ARRAY),
        (Type::INT2, Type::INT2_ARRAY),
        (Type::INT4, Type::INT4_ARRAY),
        (Type::INT8, Type::INT8_ARRAY),
        (Type::FLOAT4, Type::FLOAT4_ARRAY),
        (Type::FLOAT8, Type::FLOAT8_ARRAY),
        (Type::NUMERIC, Type::NUMERIC_ARRAY),
        (Type::TEXT, Type::TEXT_ARRAY),
        (Type::VARCHAR, Type::VARCHAR_ARRAY),
        (Type::BPCHAR, Type::BPCHAR_ARRAY),
        (Type::NAME, Type::NAME_ARRAY),
        (Type::BYTEA, Type::BYTEA_ARRAY),
        (Type::DATE, Type::DATE_ARRAY),
        (Type::TIME, Type::TIME_ARRAY),
        (Type::TIMESTAMP, Type::TIMESTAMP_ARRAY),
        (Type::TIMESTAMPTZ, Type::TIMESTAMPTZ_ARRAY),
        (Type::INTERVAL, Type::INTERVAL_ARRAY),
        (Type::JSON, Type::JSON_ARRAY),
        (Type::JSONB, Type::JSONB_ARRAY),
        (Type::UUID, Type::UUID_ARRAY),
        (Type::OID, Type::OID_ARRAY),
        (Type::RECORD, Type::RECORD_ARRAY),
    ];
    types
        .iter()
        .find(|(t, _)| t.name() == element)
        .map(|(t, a)| if array { a.oid() } else { t.oid() })
        .and_then(|oid| i32::try_from(oid).ok())
}

/// `to_regtype(name)`: the oid of a type name, NULL for a type this server does not have
/// (psycopg and SQLAlchemy ask for `hstore` on connect).
pub(super) fn to_regtype() -> ScalarUDF {
    create_udf(
        "to_regtype",
        vec![DataType::Utf8],
        DataType::Int32,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let Some(arg) = args.first() else {
                return exec_err!("to_regtype takes one argument");
            };
            match arg {
                ColumnarValue::Scalar(ScalarValue::Utf8(name)) => {
                    Ok(ColumnarValue::Scalar(ScalarValue::Int32(name.as_deref().and_then(type_oid))))
                }
                ColumnarValue::Array(array) => {
                    let Some(names) = array.as_any().downcast_ref::<StringArray>() else {
                        return exec_err!("to_regtype expects text, got {}", array.data_type());
                    };
                    let oids: Int32Array = names.iter().map(|name| name.and_then(type_oid)).collect();
                    Ok(ColumnarValue::Array(Arc::new(oids)))
                }
                ColumnarValue::Scalar(other) => exec_err!("to_regtype expects text, got {}", other.data_type()),
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::type_oid;

    #[test]
    fn type_names() {
        assert_eq!(type_oid("int4"), Some(23));
        assert_eq!(type_oid("integer"), Some(23));
        assert_eq!(type_oid("text[]"), Some(1009));
        assert_eq!(type_oid("double precision"), Some(701));
        assert_eq!(type_oid("hstore"), None);
    }
}

/// `pg_get_serial_sequence(table, column)`: NULL, as Persona's tables have no sequences.
pub(super) fn pg_get_serial_sequence() -> ScalarUDF {
    create_udf(
        "pg_get_serial_sequence",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|_: &[ColumnarValue]| Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)))),
    )
}

/// `pg_collation_is_visible(oid)`: true (one schema, no search-path shadowing).
pub(super) fn pg_collation_is_visible() -> ScalarUDF {
    create_udf(
        "pg_collation_is_visible",
        vec![DataType::Int32],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(|_: &[ColumnarValue]| Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))))),
    )
}

/// `json_build_object(key, value, …)`: a JSON object of the pairs, as text (SQLAlchemy's
/// column reflection builds identity options with it).
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonBuildObject {
    signature: datafusion::logical_expr::Signature,
}

impl datafusion::logical_expr::ScalarUDFImpl for JsonBuildObject {
    fn name(&self) -> &'static str {
        "json_build_object"
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> datafusion::common::Result<ColumnarValue> {
        if !args.args.len().is_multiple_of(2) {
            return exec_err!("json_build_object takes key/value pairs, got {} arguments", args.args.len());
        }
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let mut objects = Vec::with_capacity(rows);
        for row in 0..rows {
            let mut object = serde_json::Map::new();
            for pair in arrays.chunks(2) {
                let key = ScalarValue::try_from_array(&pair[0], row)?;
                let value = ScalarValue::try_from_array(&pair[1], row)?;
                let key = match key {
                    ScalarValue::Utf8(Some(k)) | ScalarValue::LargeUtf8(Some(k)) | ScalarValue::Utf8View(Some(k)) => k,
                    other if other.is_null() => return exec_err!("json_build_object: a key is NULL"),
                    other => other.to_string(),
                };
                let value = match value {
                    v if v.is_null() => serde_json::Value::Null,
                    ScalarValue::Boolean(Some(b)) => serde_json::Value::Bool(b),
                    ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
                        serde_json::Value::String(s)
                    }
                    v if v.data_type().is_numeric() => {
                        serde_json::from_str(&v.to_string()).unwrap_or(serde_json::Value::String(v.to_string()))
                    }
                    v => serde_json::Value::String(v.to_string()),
                };
                object.insert(key, value);
            }
            objects.push(Some(serde_json::Value::Object(object).to_string()));
        }
        Ok(ColumnarValue::Array(Arc::new(StringArray::from(objects))))
    }
}

pub(super) fn json_build_object() -> ScalarUDF {
    ScalarUDF::from(JsonBuildObject {
        signature: datafusion::logical_expr::Signature::variadic_any(Volatility::Immutable),
    })
}
