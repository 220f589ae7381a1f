//! `mask_id_number`: masks a resident ID number, keeping the region code and the last 4 characters.

use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{mask_middle, string_map};

#[user_doc(
    doc_section(label = "Privacy Functions"),
    description = "Masks an 18-character mainland-China resident ID number for display: the first 6 characters (the region code) and the last 4 are kept and the 8 between them (the birth date) become `*` (110101199003074514 → 110101********4514). Any other string keeps its first 6 and last 4 characters the same way when it is longer than 10 characters and is masked entirely otherwise. The length is preserved; nothing is validated (see is_valid_cn_id). NULL gives NULL.",
    syntax_example = "mask_id_number(id_number)",
    sql_example = r#"```sql
> SELECT mask_id_number('110101199003074514') AS masked;
+--------------------+
| masked             |
+--------------------+
| 110101********4514 |
+--------------------+
```"#,
    argument(name = "id_number", description = "String holding the ID number.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MaskIdNumber {
    signature: Signature,
}

impl Default for MaskIdNumber {
    fn default() -> Self {
        Self::new()
    }
}

impl MaskIdNumber {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: Signature::string(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for MaskIdNumber {
    fn name(&self) -> &'static str {
        "mask_id_number"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        string_map(self.name(), &args.args[0], args.number_rows, mask_id_number)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// The masking rule of `mask_id_number` on one value.
#[must_use]
pub fn mask_id_number(value: &str) -> String {
    mask_middle(value, 6, 4)
}
