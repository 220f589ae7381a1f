//! `mask_phone`: masks a phone number, keeping its first 3 and last 4 digits.

use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{mask_middle, string_map};

#[user_doc(
    doc_section(label = "Privacy Functions"),
    description = "Masks a phone number for display: a leading `+86` or `86` country prefix (when 11 characters follow it) is kept as is, and of the rest the first 3 and last 4 characters are kept and every character between them becomes `*` (13812345678 → 138****5678). Values of at most 7 characters after the prefix are masked entirely (one `*` per character). The length is preserved; nothing is validated (see is_valid_cn_mobile). NULL gives NULL.",
    syntax_example = "mask_phone(phone)",
    sql_example = r#"```sql
> SELECT mask_phone('13812345678') AS a, mask_phone('+8613812345678') AS b, mask_phone('12345') AS c;
+-------------+----------------+-------+
| a           | b              | c     |
+-------------+----------------+-------+
| 138****5678 | +86138****5678 | ***** |
+-------------+----------------+-------+
```"#,
    argument(name = "phone", description = "String holding the phone number.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MaskPhone {
    signature: Signature,
}

impl Default for MaskPhone {
    fn default() -> Self {
        Self::new()
    }
}

impl MaskPhone {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: Signature::string(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for MaskPhone {
    fn name(&self) -> &'static str {
        "mask_phone"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        string_map(self.name(), &args.args[0], args.number_rows, mask_phone)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// The masking rule of `mask_phone` on one value.
#[must_use]
pub fn mask_phone(value: &str) -> String {
    let (prefix, number) = match value.strip_prefix("+86").or_else(|| value.strip_prefix("86")) {
        Some(rest) if rest.chars().count() == 11 => (&value[..value.len() - rest.len()], rest),
        _ => ("", value),
    };
    format!("{prefix}{}", mask_middle(number, 3, 4))
}
