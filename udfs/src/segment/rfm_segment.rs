//! `rfm_segment(r_score, f_score)`: the standard R-F segment map for 5-level scores.

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
    description = "The widely used RFM segment of a customer from its recency and frequency scores (1..5, 5 = most recent / most frequent): \
11, 12, 21, 22 Hibernating; 13, 14, 23, 24 At Risk; 15, 25 Cannot Lose Them; 31, 32 About To Sleep; 33 Need Attention; \
34, 35, 44, 45 Loyal Customers; 41 Promising; 51 New Customers; 42, 43, 52, 53 Potential Loyalists; 54, 55 Champions \
(first digit R, second F). NULL in either score gives NULL; a score outside 1..5 is an error. \
For a custom map, join the scores to your own table, e.g. `JOIN (VALUES (5, 5, 'VIP'), ...) AS m(r, f, segment) ON m.r = r_score AND m.f = f_score`.",
    syntax_example = "rfm_segment(r_score, f_score)",
    sql_example = r#"```sql
> SELECT rfm_segment(5, 5), rfm_segment(1, 2), rfm_segment(4, 1);
+--------------------------------+--------------------------------+--------------------------------+
| rfm_segment(Int64(5),Int64(5)) | rfm_segment(Int64(1),Int64(2)) | rfm_segment(Int64(4),Int64(1)) |
+--------------------------------+--------------------------------+--------------------------------+
| Champions                      | Hibernating                    | Promising                      |
+--------------------------------+--------------------------------+--------------------------------+
```"#,
    argument(name = "r_score", description = "Recency score 1..5 (5 = most recent)."),
    argument(name = "f_score", description = "Frequency score 1..5 (5 = most frequent).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RfmSegment {
    signature: Signature,
}

impl Default for RfmSegment {
    fn default() -> Self {
        Self::new()
    }
}

impl RfmSegment {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: Signature::exact(vec![DataType::Int64, DataType::Int64], Volatility::Immutable) }
    }
}

/// Segment names by [r - 1][f - 1].
const SEGMENTS: [[&str; 5]; 5] = [
    ["Hibernating", "Hibernating", "At Risk", "At Risk", "Cannot Lose Them"],
    ["Hibernating", "Hibernating", "At Risk", "At Risk", "Cannot Lose Them"],
    ["About To Sleep", "About To Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"],
    ["Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Loyal Customers"],
    ["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"],
];

/// The segment of one (r, f) pair, or `None` outside 1..5.
#[must_use]
pub fn rfm_segment_name(r: i64, f: i64) -> Option<&'static str> {
    let index = |s: i64| s.checked_sub(1).and_then(|i| usize::try_from(i).ok()).filter(|&i| i < 5);
    Some(SEGMENTS[index(r)?][index(f)?])
}

impl ScalarUDFImpl for RfmSegment {
    fn name(&self) -> &'static str {
        "rfm_segment"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [r, f] = int64_args::<2>(self.name(), &args)?;
        let (r, f) = (r.as_primitive::<Int64Type>(), f.as_primitive::<Int64Type>());
        let mut out = StringBuilder::with_capacity(r.len(), r.len() * 12);
        for i in 0..r.len() {
            if r.is_null(i) || f.is_null(i) {
                out.append_null();
                continue;
            }
            match rfm_segment_name(r.value(i), f.value(i)) {
                Some(name) => out.append_value(name),
                None => {
                    return exec_err!(
                        "rfm_segment expects scores 1..5, got r_score {} and f_score {}",
                        r.value(i),
                        f.value(i)
                    )
                }
            }
        }
        let result: ArrayRef = Arc::new(out.finish());
        Ok(ColumnarValue::Array(result))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::rfm_segment_name;

    #[test]
    fn follows_the_map() {
        let cells = [
            (11, "Hibernating"),
            (22, "Hibernating"),
            (13, "At Risk"),
            (24, "At Risk"),
            (15, "Cannot Lose Them"),
            (25, "Cannot Lose Them"),
            (31, "About To Sleep"),
            (32, "About To Sleep"),
            (33, "Need Attention"),
            (34, "Loyal Customers"),
            (45, "Loyal Customers"),
            (41, "Promising"),
            (51, "New Customers"),
            (42, "Potential Loyalists"),
            (53, "Potential Loyalists"),
            (54, "Champions"),
            (55, "Champions"),
        ];
        for (cell, name) in cells {
            assert_eq!(rfm_segment_name(cell / 10, cell % 10), Some(name), "{cell}");
        }
        assert_eq!(rfm_segment_name(0, 3), None);
        assert_eq!(rfm_segment_name(3, 6), None);
    }
}
