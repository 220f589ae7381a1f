//! `velocity_count(ts, window) OVER (PARTITION BY customer ORDER BY ts)`: how many transactions the
//! customer made in the last `window` — a burst of purchases minutes apart.

use std::ops::Range;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::Result;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{Documentation, PartitionEvaluator, Signature, WindowUDFImpl};
use datafusion_macros::user_doc;

use super::recent_state::{coerce, signature, window_micros, Recent};
use super::running::{RowScorer, Running};

#[user_doc(
    doc_section(label = "Fraud Functions"),
    description = "The number of rows of the partition with a timestamp in [ts − window, ts], the current row and the earlier rows in the window's ORDER BY: \
the customer's transactions in the last hour, say (velocity). Rows at the same instant count when they come before (order by a unique key as well for a reproducible answer): \
the same as pandas' `rolling(window, closed='both').count()`, and as `count(*) OVER (ORDER BY ts RANGE BETWEEN window PRECEDING AND CURRENT ROW)` except that a RANGE frame \
also counts later rows at the same instant. NULL when ts is NULL (such rows are not counted). window is a constant interval of days, hours, minutes or seconds (no months). \
The rows must come in time order (ORDER BY ts first): an earlier timestamp after a later one is an error. \
The window frame is ignored (as for lag); it streams over sorted input holding the rows of the last window, and is much faster than a RANGE frame with an interval.",
    syntax_example = "velocity_count(ts, window) OVER (PARTITION BY customer ORDER BY ts)",
    sql_example = r#"```sql
> SELECT ts, velocity_count(ts, INTERVAL '1' HOUR) OVER (ORDER BY ts) AS last_hour
  FROM (VALUES (TIMESTAMP '2024-03-10 02:00:00'), (TIMESTAMP '2024-03-10 02:30:00'), (TIMESTAMP '2024-03-10 03:00:00'),
               (TIMESTAMP '2024-03-10 03:00:01'), (TIMESTAMP '2024-03-10 05:00:00')) v(ts);
+---------------------+-----------+
| ts                  | last_hour |
+---------------------+-----------+
| 2024-03-10T02:00:00 | 1         |
| 2024-03-10T02:30:00 | 2         |
| 2024-03-10T03:00:00 | 3         |
| 2024-03-10T03:00:01 | 3         |
| 2024-03-10T05:00:00 | 1         |
+---------------------+-----------+
```"#,
    argument(name = "ts", description = "A timestamp, the window's ORDER BY."),
    argument(name = "window", description = "A constant interval, e.g. INTERVAL '1' HOUR or INTERVAL '10' MINUTE.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct VelocityCount {
    signature: Signature,
}

impl Default for VelocityCount {
    fn default() -> Self {
        Self::new()
    }
}

impl VelocityCount {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: signature(false) }
    }
}

impl WindowUDFImpl for VelocityCount {
    fn name(&self) -> &'static str {
        "velocity_count"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce("velocity_count", arg_types, false)
    }

    fn partition_evaluator(&self, args: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        let window = window_micros("velocity_count", &args, 1)?;
        Ok(Box::new(Running::new(Count(Recent::new("velocity_count", window)), 0)))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Field::new(field_args.name(), DataType::Int64, true).into())
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[derive(Debug)]
struct Count(Recent);

impl RowScorer for Count {
    type Output = Int64Type;

    fn score(&mut self, values: &[ArrayRef], _history: Range<usize>, row: usize) -> Result<Option<i64>> {
        if !self.0.push(&values[0], None, row)? {
            return Ok(None);
        }
        Ok(Some(i64::try_from(self.0.count()).unwrap_or(i64::MAX)))
    }
}
