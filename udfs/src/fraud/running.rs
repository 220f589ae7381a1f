//! The evaluator shared by the fraud family's frame-free window functions: each row is scored
//! against the rows before it in its partition (in the window's ORDER BY), reading either the
//! previous `lookback` rows or a running state the scorer keeps. The window frame is ignored (as
//! for `lag`), so DataFusion streams sorted input through `BoundedWindowAggExec` and keeps only
//! the last `lookback` rows of a partition buffered.

use std::ops::{Range, RangeInclusive};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::PartitionEvaluator;
use datafusion::physical_expr::PhysicalExpr;

use crate::common::{literal_arg, LiteralArg};

/// Scores one row; called once per row of a partition, in order.
pub trait RowScorer: std::fmt::Debug + Send {
    /// The score of `row`; `history` is the previous rows this scorer asked for (at most its
    /// `lookback`), in the same arrays. A scorer with a running state updates it with `row`.
    fn score(&mut self, values: &[ArrayRef], history: Range<usize>, row: usize) -> Result<Option<f64>>;
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
        Ok(ScalarValue::Float64(self.scorer.score(values, range.start..row, row)?))
    }

    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let scores = (0..num_rows)
            .map(|row| self.scorer.score(values, row.saturating_sub(self.lookback)..row, row))
            .collect::<Result<Float64Array>>()?;
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
