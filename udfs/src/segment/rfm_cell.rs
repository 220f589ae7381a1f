//! `rfm_cell(r_score, f_score, m_score)`: the 3-digit RFM cell string.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::score_args::int64_args;

#[user_doc(
    doc_section(label = "Segmentation Functions"),
    description = "The RFM cell of a customer: the three scores as a 3-character string, R then F then M (e.g. '545'). \
Each score must be 1..9 (an error otherwise); NULL in any score gives NULL.",
    syntax_example = "rfm_cell(r_score, f_score, m_score)",
    sql_example = r#"```sql
> SELECT rfm_cell(5, 4, 5);
+--------------------------------------+
| rfm_cell(Int64(5),Int64(4),Int64(5)) |
+--------------------------------------+
| 545                                  |
+--------------------------------------+
```"#,
    argument(name = "r_score", description = "Recency score."),
    argument(name = "f_score", description = "Frequency score."),
    argument(name = "m_score", description = "Monetary score.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RfmCell {
    signature: Signature,
}

impl Default for RfmCell {
    fn default() -> Self {
        Self::new()
    }
}

impl RfmCell {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: Signature::exact(vec![DataType::Int64; 3], Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for RfmCell {
    fn name(&self) -> &'static str {
        "rfm_cell"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = int64_args::<3>(self.name(), &args)?;
        let scores: Vec<_> = arrays.iter().map(|a| a.as_primitive::<Int64Type>()).collect();
        let rows = scores[0].len();
        let mut out = StringBuilder::with_capacity(rows, rows * 3);
        let mut cell = String::with_capacity(3);
        for i in 0..rows {
            if scores.iter().any(|s| s.is_null(i)) {
                out.append_null();
                continue;
            }
            cell.clear();
            for s in &scores {
                match s.value(i) {
                    v @ 1..=9 => cell.push(char::from(b'0' + v as u8)),
                    v => return exec_err!("rfm_cell expects scores 1..9, got {v}"),
                }
            }
            out.append_value(&cell);
        }
        let result: ArrayRef = Arc::new(out.finish());
        Ok(ColumnarValue::Array(result))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
