//! `hash_pii(value, key)`: keyed pseudonym of a personal value (HMAC-SHA256).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

#[user_doc(
    doc_section(label = "Privacy Functions"),
    description = "Keyed pseudonym of a personal value: HMAC-SHA256 (RFC 2104) of the value's UTF-8 bytes under the key's UTF-8 bytes, \
as 64 lowercase hexadecimal characters. The same value and key always give the same pseudonym, so tables can still be joined on it, \
but without the key it cannot be recomputed from a guessed value (unlike a plain hash of a phone or ID number, which a dictionary reverses). \
Keep the key secret and out of query logs (pass it from a parameter or a view). NULL value or key gives NULL; an empty key is an error.",
    syntax_example = "hash_pii(value, key)",
    sql_example = r#"```sql
> SELECT hash_pii('what do ya want for nothing?', 'Jefe') AS pseudonym;
+------------------------------------------------------------------+
| pseudonym                                                        |
+------------------------------------------------------------------+
| 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843 |
+------------------------------------------------------------------+
```"#,
    argument(name = "value", description = "String holding the personal value."),
    argument(name = "key", description = "The secret key, a non-empty string.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct HashPii {
    signature: Signature,
}

impl Default for HashPii {
    fn default() -> Self {
        Self::new()
    }
}

impl HashPii {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: Signature::string(2, Volatility::Immutable) }
    }
}

/// HMAC-SHA256 of `value` under `key`, lowercase hex.
///
/// # Errors
/// When the HMAC implementation refuses the key (HMAC accepts keys of any length, so this is
/// not expected; it is an error naming `hash_pii`, never an empty pseudonym).
pub fn hmac_sha256_hex(key: &[u8], value: &[u8]) -> Result<String> {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(e) => return exec_err!("hash_pii: HMAC-SHA256 refused a key of {} bytes: {e}", key.len()),
    };
    mac.update(value);
    Ok(mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect())
}

impl ScalarUDFImpl for HashPii {
    fn name(&self) -> &'static str {
        "hash_pii"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = crate::common::evaluated_rows(&args.args, args.number_rows);
        let as_utf8 = |a: &ColumnarValue| -> Result<ArrayRef> { Ok(cast(&a.to_array(rows)?, &DataType::Utf8)?) };
        let (values, keys) = (as_utf8(&args.args[0])?, as_utf8(&args.args[1])?);
        let (values, keys) =
            (arrow::array::AsArray::as_string::<i32>(&values), arrow::array::AsArray::as_string::<i32>(&keys));
        let mut out = Vec::with_capacity(values.len());
        for row in 0..values.len() {
            if values.is_null(row) || keys.is_null(row) {
                out.push(None);
                continue;
            }
            let key = keys.value(row);
            if key.is_empty() {
                return exec_err!("hash_pii: the key must not be empty");
            }
            out.push(Some(hmac_sha256_hex(key.as_bytes(), values.value(row).as_bytes())?));
        }
        let result: ArrayRef = Arc::new(StringArray::from(out));
        Ok(if all_scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?)
        } else {
            ColumnarValue::Array(result)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::hmac_sha256_hex;

    #[test]
    fn rfc_4231_vectors() -> datafusion::common::Result<()> {
        // test case 2
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?")?,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // test case 1: key = 20 bytes of 0x0b, data = "Hi There"
        assert_eq!(
            hmac_sha256_hex(&[0x0b; 20], b"Hi There")?,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // a key longer than the block (64 bytes) is hashed first, never refused
        assert_eq!(hmac_sha256_hex(&[7; 200], b"x")?.len(), 64);
        Ok(())
    }
}
