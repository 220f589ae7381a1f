//! `velocity_sum(value, ts, window) OVER (PARTITION BY customer ORDER BY ts)`: how much the
//! customer spent in the last `window`.

use std::ops::Range;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::Result;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{Documentation, PartitionEvaluator, Signature, WindowUDFImpl};
use datafusion_macros::user_doc;

use super::recent_state::{coerce, signature, window_micros, Recent};
use super::running::{RowScorer, Running};

#[user_doc(
    doc_section(label = "Fraud Functions"),
    description = "The sum of `value` over the rows of the partition with a timestamp in [ts − window, ts], the current row and the earlier rows in the window's ORDER BY: \
the amount the customer spent in the last hour, say (velocity). Rows at the same instant count when they come before (order by a unique key as well): \
the same as pandas' `rolling(window, closed='both').sum()`, and as `sum(value) OVER (ORDER BY ts RANGE BETWEEN window PRECEDING AND CURRENT ROW)` except that a RANGE frame \
also adds later rows at the same instant. NULL and NaN values are skipped; NULL when ts is NULL or when the window holds no value; an infinite value is an error. \
The running sum is compensated (Neumaier), so a long stream does not drift. window is a constant interval of days, hours, minutes or seconds (no months); \
the rows must come in time order (ORDER BY ts first). The window frame is ignored (as for lag); it streams over sorted input holding the rows of the last window.",
    syntax_example = "velocity_sum(value, ts, window) OVER (PARTITION BY customer ORDER BY ts)",
    sql_example = r#"```sql
> SELECT ts, velocity_sum(amount, ts, INTERVAL '1' HOUR) OVER (ORDER BY ts) AS last_hour
  FROM (VALUES (TIMESTAMP '2024-03-10 02:00:00', 10.0), (TIMESTAMP '2024-03-10 02:30:00', 20.0), (TIMESTAMP '2024-03-10 03:00:00', 30.0),
               (TIMESTAMP '2024-03-10 03:00:01', 40.0), (TIMESTAMP '2024-03-10 05:00:00', 50.0)) v(ts, amount);
+---------------------+-----------+
| ts                  | last_hour |
+---------------------+-----------+
| 2024-03-10T02:00:00 | 10.0      |
| 2024-03-10T02:30:00 | 30.0      |
| 2024-03-10T03:00:00 | 60.0      |
| 2024-03-10T03:00:01 | 90.0      |
| 2024-03-10T05:00:00 | 50.0      |
+---------------------+-----------+
```"#,
    argument(name = "value", description = "A number (an amount)."),
    argument(name = "ts", description = "A timestamp, the window's ORDER BY."),
    argument(name = "window", description = "A constant interval, e.g. INTERVAL '1' HOUR or INTERVAL '10' MINUTE.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct VelocitySum {
    signature: Signature,
}

impl Default for VelocitySum {
    fn default() -> Self {
        Self::new()
    }
}

impl VelocitySum {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: signature(true) }
    }
}

impl WindowUDFImpl for VelocitySum {
    fn name(&self) -> &'static str {
        "velocity_sum"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce("velocity_sum", arg_types, true)
    }

    fn partition_evaluator(&self, args: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        let window = window_micros("velocity_sum", &args, 2)?;
        Ok(Box::new(Running::new(Sum(Recent::new("velocity_sum", window)), 0)))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Field::new(field_args.name(), DataType::Float64, true).into())
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[derive(Debug)]
struct Sum(Recent);

impl RowScorer for Sum {
    type Output = Float64Type;

    fn score(&mut self, values: &[ArrayRef], _history: Range<usize>, row: usize) -> Result<Option<f64>> {
        if !self.0.push(&values[1], Some(&values[0]), row)? {
            return Ok(None);
        }
        Ok(self.0.sum())
    }
}
