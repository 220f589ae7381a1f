//! `mask_name`: masks a personal name, keeping its first character.

use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::string_map;

#[user_doc(
    doc_section(label = "Privacy Functions"),
    description = "Masks a personal name for display: the first character (the surname of a Chinese name) is kept and every other character except whitespace becomes `*` (张三丰 → 张**, Li Na → L* **). The length is preserved. NULL gives NULL.",
    syntax_example = "mask_name(name)",
    sql_example = r#"```sql
> SELECT mask_name('张三丰') AS a, mask_name('Li Na') AS b;
+------+-------+
| a    | b     |
+------+-------+
| 张** | L* ** |
+------+-------+
```"#,
    argument(name = "name", description = "String holding the name.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MaskName {
    signature: Signature,
}

impl Default for MaskName {
    fn default() -> Self {
        Self::new()
    }
}

impl MaskName {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: Signature::string(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for MaskName {
    fn name(&self) -> &'static str {
        "mask_name"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        string_map(self.name(), &args.args[0], args.number_rows, mask_name)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// The masking rule of `mask_name` on one value.
#[must_use]
pub fn mask_name(value: &str) -> String {
    value.chars().enumerate().map(|(i, c)| if i == 0 || c.is_whitespace() { c } else { '*' }).collect()
}
