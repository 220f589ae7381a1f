//! `robust_zscore(value, n) OVER (PARTITION BY customer ORDER BY ts)` (streaming, the previous n rows) and
//! `robust_zscore(value) OVER (… ROWS/RANGE frame)` (the caller's frame): how far a value is from the
//! customer's own recent history, in robust standard deviations.

use std::ops::Range;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, TypeSignature, Volatility, WindowUDFImpl,
};
use datafusion_macros::user_doc;

use super::running::{literal_count, RowScorer, Running};

/// Longest history `robust_zscore(value, n)` accepts: n rows are buffered and sorted per row.
const MAX_HISTORY: i64 = 100_000;

/// 1 / Φ⁻¹(3/4): MAD × this estimates σ for normal data.
const MAD_TO_SIGMA: f64 = 1.4826;

#[user_doc(
    doc_section(label = "Fraud Functions"),
    description = "The robust z-score of each row's value against the values of its window frame: z = (x − median(H)) / (1.4826 · MAD(H)), \
MAD(H) = median(|h − median(H)|), where x is the row's own value and H the non-NULL, non-NaN values of the frame — with `ROWS BETWEEN n PRECEDING AND 1 PRECEDING`, \
the customer's previous n transactions, so a payment is compared with that customer's habits (an amount ten times the usual scores far above 3). \
Medians of an even count average the two middle values (as pandas). NULL when x is NULL or NaN, when H is empty, or when MAD(H) = 0 (a history of equal values). \
Two forms. `robust_zscore(value, n)` takes H from the previous n rows of the partition in the window's ORDER BY (exactly the frame `ROWS BETWEEN n PRECEDING AND 1 PRECEDING`; \
any frame written is ignored, as for lag): it streams over sorted input holding n rows per partition, O(n log n) per row; n is a constant from 1 to 100000. \
`robust_zscore(value)` takes H from the window frame the caller writes (a time RANGE frame, say): DataFusion then holds the input of the window in memory.",
    syntax_example = "robust_zscore(value, n) OVER (PARTITION BY customer ORDER BY ts)",
    sql_example = r#"```sql
> SELECT t, amount, round(robust_zscore(amount, 5) OVER (ORDER BY t), 2) AS z
  FROM (VALUES (1, 100.0), (2, 120.0), (3, 90.0), (4, 110.0), (5, 1000.0), (6, 105.0)) v(t, amount);
+---+--------+-------+
| t | amount | z     |
+---+--------+-------+
| 1 | 100.0  | NULL  |
| 2 | 120.0  | NULL  |
| 3 | 90.0   | -1.35 |
| 4 | 110.0  | 0.67  |
| 5 | 1000.0 | 60.37 |
| 6 | 105.0  | -0.34 |
+---+--------+-------+
```"#,
    argument(name = "value", description = "A number (an amount, a count)."),
    argument(
        name = "n",
        description = "Optional constant: the history is the previous n rows (1 to 100000); without it, the window frame."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RobustZscore {
    signature: Signature,
}

impl Default for RobustZscore {
    fn default() -> Self {
        Self::new()
    }
}

impl RobustZscore {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Float64]),
                    TypeSignature::Exact(vec![DataType::Float64, DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl WindowUDFImpl for RobustZscore {
    fn name(&self) -> &'static str {
        "robust_zscore"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [t] if t.is_numeric() || t.is_null() => Ok(vec![DataType::Float64]),
            [t, n] if (t.is_numeric() || t.is_null()) && n.is_integer() => Ok(vec![DataType::Float64, DataType::Int64]),
            [t] | [t, _] if !(t.is_numeric() || t.is_null()) => {
                plan_err!("robust_zscore: value must be a number, got {t}")
            }
            [_, n] => plan_err!("robust_zscore: n must be an integer, got {n}"),
            _ => plan_err!("robust_zscore takes 1 or 2 arguments (value [, n]), got {}", arg_types.len()),
        }
    }

    fn partition_evaluator(&self, args: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        if args.input_exprs().len() == 2 {
            let n = literal_count("robust_zscore", "n", args.input_exprs(), 1, 1, 1..=MAX_HISTORY)?;
            Ok(Box::new(Running::new(PreviousRows::default(), n)))
        } else {
            Ok(Box::new(Evaluator::default()))
        }
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Field::new(field_args.name(), DataType::Float64, true).into())
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// `robust_zscore(value, n)`: the previous n rows, streaming.
#[derive(Debug, Default)]
struct PreviousRows {
    history: Vec<f64>,
}

impl RowScorer for PreviousRows {
    type Output = Float64Type;

    fn score(&mut self, values: &[ArrayRef], history: Range<usize>, row: usize) -> Result<Option<f64>> {
        let column = values[0].as_primitive::<Float64Type>();
        if column.is_null(row) || column.value(row).is_nan() {
            return Ok(None);
        }
        self.history.clear();
        self.history.extend(history.filter(|&i| column.is_valid(i)).map(|i| column.value(i)).filter(|v| !v.is_nan()));
        Ok(robust_z(column.value(row), &mut self.history))
    }
}

/// `robust_zscore(value)` over the caller's frame: the rows of a partition in order; `next` is the current row.
#[derive(Debug, Default)]
struct Evaluator {
    next: usize,
    history: Vec<f64>,
}

impl PartitionEvaluator for Evaluator {
    fn evaluate(&mut self, values: &[ArrayRef], range: &Range<usize>) -> Result<ScalarValue> {
        let column = values[0].as_primitive::<Float64Type>();
        let row = self.next;
        self.next += 1;
        if row >= column.len() || column.is_null(row) || column.value(row).is_nan() {
            return Ok(ScalarValue::Float64(None));
        }
        self.history.clear();
        self.history
            .extend(range.clone().filter(|&i| column.is_valid(i)).map(|i| column.value(i)).filter(|v| !v.is_nan()));
        Ok(ScalarValue::Float64(robust_z(column.value(row), &mut self.history)))
    }

    fn uses_window_frame(&self) -> bool {
        true
    }
}

/// (x − median(h)) / (1.4826 · MAD(h)); `None` for an empty history or a zero MAD. Reorders `h`.
fn robust_z(x: f64, h: &mut [f64]) -> Option<f64> {
    let center = median(h)?;
    for v in h.iter_mut() {
        *v = (*v - center).abs();
    }
    let mad = median(h)?;
    (mad > 0.0).then(|| (x - center) / (MAD_TO_SIGMA * mad))
}

fn median(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    // selection, not a sort: O(n) per median
    let (below, upper, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return Some(upper);
    }
    let lower = below.iter().copied().max_by(f64::total_cmp).unwrap_or(upper);
    Some((lower + upper) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::robust_z;

    #[test]
    fn median_and_mad_as_pandas() {
        // H = 100, 120, 90, 110: median 105, deviations 5, 15, 15, 5: MAD 10
        let z = robust_z(1000.0, &mut [100.0, 120.0, 90.0, 110.0]).expect("z");
        assert!((z - 895.0 / 14.826).abs() < 1e-12);
        assert_eq!(robust_z(5.0, &mut [3.0, 3.0, 3.0]), None);
        assert_eq!(robust_z(5.0, &mut []), None);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(super::median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(super::median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(super::median(&mut [7.0]), Some(7.0));
        assert_eq!(super::median(&mut [-0.0, 0.0]), Some(0.0));
    }
}
