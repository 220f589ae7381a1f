//! The evaluator shared by the fraud family's frame-free window functions: each row is scored
//! against the rows before it in its partition (in the window's ORDER BY), reading either the
//! previous `lookback` rows or a running state the scorer keeps. The window frame is ignored (as
//! for `lag`), so DataFusion streams sorted input through `BoundedWindowAggExec` and keeps only
//! the last `lookback` rows of a partition buffered.

use std::ops::{Range, RangeInclusive};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::PartitionEvaluator;
use datafusion::physical_expr::PhysicalExpr;

use crate::common::{literal_arg, LiteralArg};

/// Scores one row; called once per row of a partition, in order.
pub trait RowScorer: std::fmt::Debug + Send {
    /// The result type (Float64 for scores, Int64 for counts).
    type Output: ArrowPrimitiveType;

    /// The score of `row`; `history` is the previous rows this scorer asked for (at most its
    /// `lookback`), in the same arrays. A scorer with a running state updates it with `row`.
    fn score(
        &mut self,
        values: &[ArrayRef],
        history: Range<usize>,
        row: usize,
    ) -> Result<Option<<Self::Output as ArrowPrimitiveType>::Native>>;
}

/// Runs a [`RowScorer`] over a partition, in bounded (streaming) and whole-partition mode.
#[derive(Debug)]
pub struct Running<S> {
    scorer: S,
    lookback: usize,
}

impl<S: RowScorer> Running<S> {
    pub fn new(scorer: S, lookback: usize) -> Self {
        Self { scorer, lookback }
    }
}

impl<S: RowScorer + 'static> PartitionEvaluator for Running<S> {
    fn get_range(&self, idx: usize, _n_rows: usize) -> Result<Range<usize>> {
        Ok(idx.saturating_sub(self.lookback)..idx + 1)
    }

    fn is_causal(&self) -> bool {
        true
    }

    fn supports_bounded_execution(&self) -> bool {
        true
    }

    fn evaluate(&mut self, values: &[ArrayRef], range: &Range<usize>) -> Result<ScalarValue> {
        let Some(row) = range.end.checked_sub(1) else {
            return exec_err!("fraud window function: empty row range {range:?}");
        };
        let score = self.scorer.score(values, range.start..row, row)?;
        ScalarValue::new_primitive::<S::Output>(score, &S::Output::DATA_TYPE)
    }

    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let scores = (0..num_rows)
            .map(|row| self.scorer.score(values, row.saturating_sub(self.lookback)..row, row))
            .collect::<Result<PrimitiveArray<S::Output>>>()?;
        Ok(Arc::new(scores))
    }
}

/// The constant integer argument `index` of `function` (`name` in messages), within `bounds`;
/// `default` when the call omits it. NULL is an error: a history length has no NULL meaning.
pub fn literal_count(
    function: &str,
    name: &str,
    args: &[Arc<dyn PhysicalExpr>],
    index: usize,
    default: i64,
    bounds: RangeInclusive<i64>,
) -> Result<usize> {
    let value = match literal_arg(args, index) {
        LiteralArg::Absent => default,
        LiteralArg::NotLiteral => return plan_err!("{function}: {name} must be a constant"),
        LiteralArg::Value(ScalarValue::Int64(Some(v))) => *v,
        LiteralArg::Value(other) => return plan_err!("{function}: {name} must be an integer, got {other}"),
    };
    if !bounds.contains(&value) {
        return plan_err!("{function}: {name} must be between {} and {}, got {value}", bounds.start(), bounds.end());
    }
    usize::try_from(value).or_else(|_| plan_err!("{function}: {name} must not be negative, got {value}"))
}

/// The timestamp at `row` of a timestamp column of any unit, in microseconds (nanoseconds rounded
/// down); `None` for NULL. `function` names the caller in errors.
pub fn micros(function: &str, column: &ArrayRef, row: usize) -> Result<Option<i64>> {
    if column.is_null(row) {
        return Ok(None);
    }
    let value = match column.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            column.as_primitive::<TimestampSecondType>().value(row).checked_mul(1_000_000)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            column.as_primitive::<TimestampMillisecondType>().value(row).checked_mul(1_000)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            Some(column.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            Some(column.as_primitive::<TimestampNanosecondType>().value(row).div_euclid(1_000))
        }
        other => return exec_err!("{function}: ts must be a timestamp, got {other}"),
    };
    match value {
        Some(v) => Ok(Some(v)),
        None => exec_err!("{function}: the timestamp at row {row} is out of range"),
    }
}

/// The coerced type of a timestamp argument: a timestamp keeps its unit and zone, NULL becomes
/// microseconds; anything else is an error naming `function`.
pub fn timestamp_type(function: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Timestamp(..) => Ok(t.clone()),
        DataType::Null => Ok(DataType::Timestamp(TimeUnit::Microsecond, None)),
        other => plan_err!("{function}: ts must be a timestamp, got {other}"),
    }
}
