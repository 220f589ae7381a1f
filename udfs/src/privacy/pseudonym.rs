//! `pseudonym(value)`: [`hash_pii`](super::HashPii) under a key fixed when the function is made.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::HashPii;

/// `pseudonym(value)`: HMAC-SHA256 (lowercase hex) of the UTF-8 value under a fixed key, equal
/// to `hash_pii(value, key)` (it runs `hash_pii`'s rows with the key as a constant argument);
/// NULL stays NULL.
///
/// Made for a server that masks columns: the function is not registered in any catalog — it
/// is placed into masking plans — so users cannot compute pseudonyms of values of their
/// choosing, the key is not a literal that `EXPLAIN` would print, and its `Debug` form hides
/// the key. One instance (in an `Arc<ScalarUDF>`) serves every masked column.
pub struct Pseudonym {
    key: String,
    hash_pii: HashPii,
    signature: Signature,
}

impl Pseudonym {
    /// A pseudonym function under `key`. An empty key makes every call an error, so a server
    /// can build the function before it knows whether any column uses it.
    #[must_use]
    pub fn new(key: impl Into<String>) -> Self {
        Self { key: key.into(), hash_pii: HashPii::new(), signature: Signature::string(1, Volatility::Immutable) }
    }
}

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonym { key: <hidden> }")
    }
}

impl PartialEq for Pseudonym {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Pseudonym {}

impl Hash for Pseudonym {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // not the key: hashes may be logged or compared in the open
        "pseudonym".hash(state);
    }
}

impl ScalarUDFImpl for Pseudonym {
    fn name(&self) -> &'static str {
        "pseudonym"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let ScalarFunctionArgs { mut args, mut arg_fields, number_rows, return_field, config_options } = args;
        if args.len() != 1 {
            return exec_err!("pseudonym takes one argument, got {}", args.len());
        }
        if self.key.is_empty() {
            return exec_err!("pseudonym: no pseudonym key is configured");
        }
        args.push(ColumnarValue::Scalar(ScalarValue::Utf8(Some(self.key.clone()))));
        arg_fields.push(Arc::new(Field::new("key", DataType::Utf8, false)));
        self.hash_pii.invoke_with_args(ScalarFunctionArgs {
            args,
            arg_fields,
            number_rows,
            return_field,
            config_options,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::hmac_sha256_hex;
    use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
    use datafusion::logical_expr::ScalarUDF;
    use datafusion::prelude::{col, SessionContext};

    const KEY: &str = "a-long-random-key";

    fn invoke(udf: &Pseudonym, value: ColumnarValue, rows: usize) -> Result<ColumnarValue> {
        let arg_field = Arc::new(Field::new("v", DataType::Utf8, true));
        udf.invoke_with_args(ScalarFunctionArgs {
            args: vec![value],
            arg_fields: vec![arg_field],
            number_rows: rows,
            return_field: Arc::new(Field::new("pseudonym", DataType::Utf8, true)),
            config_options: Arc::default(),
        })
    }

    #[test]
    fn equals_hash_pii_and_keeps_nulls() {
        let udf = Pseudonym::new(KEY);
        let values: ArrayRef = Arc::new(StringArray::from(vec![Some("13812345678"), None, Some("")]));
        let ColumnarValue::Array(out) = invoke(&udf, ColumnarValue::Array(values), 3).expect("invoke") else {
            panic!("an array for an array")
        };
        let out = out.as_string::<i32>();
        assert_eq!(out.value(0), hmac_sha256_hex(KEY.as_bytes(), b"13812345678").expect("HMAC accepts any key"));
        assert!(out.is_null(1));
        assert_eq!(out.value(2), hmac_sha256_hex(KEY.as_bytes(), b"").expect("HMAC accepts any key"));

        let scalar = ColumnarValue::Scalar(ScalarValue::Utf8(Some("x".into())));
        let ColumnarValue::Scalar(ScalarValue::Utf8(Some(out))) = invoke(&udf, scalar, 5).expect("scalar") else {
            panic!("a scalar for a scalar")
        };
        assert_eq!(out, hmac_sha256_hex(KEY.as_bytes(), b"x").expect("HMAC accepts any key"));
    }

    #[test]
    fn the_key_is_hidden_and_required() {
        let udf = Pseudonym::new(KEY);
        assert!(!format!("{udf:?}").contains(KEY));
        assert!(!format!("{:?}", ScalarUDF::from(Pseudonym::new(KEY))).contains(KEY));
        let values = ColumnarValue::Array(Arc::new(StringArray::from(vec!["a"])));
        let error = invoke(&Pseudonym::new(""), values, 1).expect_err("no key").to_string();
        assert!(error.contains("pseudonym: no pseudonym key is configured"), "{error}");
        assert_eq!(Pseudonym::new("k1"), Pseudonym::new("k1"));
        assert_ne!(Pseudonym::new("k1"), Pseudonym::new("k2"));
    }

    #[tokio::test]
    async fn non_string_values_are_hashed_as_their_text_and_match_sql_hash_pii() -> Result<()> {
        let ctx = SessionContext::new();
        let hash_pii = ScalarUDF::from(HashPii::new());
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![Some(7), None]));
        let df = ctx.read_batch(arrow::record_batch::RecordBatch::try_from_iter([("id", ids)]).expect("batch"))?;
        let pseudonym = Arc::new(ScalarUDF::from(Pseudonym::new(KEY)));
        let text = datafusion::logical_expr::cast(col("id"), DataType::Utf8);
        let df = df.select(vec![
            pseudonym.call(vec![text.clone()]).alias("p"),
            hash_pii.call(vec![text, datafusion::prelude::lit(KEY)]).alias("h"),
        ])?;
        let batches = df.collect().await?;
        let (p, h) = (batches[0].column(0).as_string::<i32>(), batches[0].column(1).as_string::<i32>());
        assert_eq!(p, h);
        assert_eq!(p.value(0), hmac_sha256_hex(KEY.as_bytes(), b"7").expect("HMAC accepts any key"));
        assert!(p.is_null(1));
        Ok(())
    }
}
