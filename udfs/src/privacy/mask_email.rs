//! `mask_email`: masks the local part of an e-mail address.

use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::string_map;

#[user_doc(
    doc_section(label = "Privacy Functions"),
    description = "Masks an e-mail address for display: the first character of the local part is kept, the rest of the local part becomes a fixed `***` (so its length is not revealed) and the domain after the last `@` is kept (zhang.wei@example.com → z***@example.com; an empty local part gives ***@domain). A string without `@` becomes `***`. NULL gives NULL.",
    syntax_example = "mask_email(email)",
    sql_example = r#"```sql
> SELECT mask_email('zhang.wei@example.com') AS masked;
+------------------+
| masked           |
+------------------+
| z***@example.com |
+------------------+
```"#,
    argument(name = "email", description = "String holding the e-mail address.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MaskEmail {
    signature: Signature,
}

impl Default for MaskEmail {
    fn default() -> Self {
        Self::new()
    }
}

impl MaskEmail {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: Signature::string(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for MaskEmail {
    fn name(&self) -> &'static str {
        "mask_email"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        string_map(self.name(), &args.args[0], args.number_rows, mask_email)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// The masking rule of `mask_email` on one value.
#[must_use]
pub fn mask_email(value: &str) -> String {
    match value.rsplit_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().map(String::from).unwrap_or_default()),
        None => "***".to_string(),
    }
}
