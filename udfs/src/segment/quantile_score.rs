//! `quantile_score(n) OVER (... ORDER BY value, tie_key)`: the analyst's quantile score.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::compute::kernels::partition::partition;
use arrow::datatypes::{ArrowPrimitiveType, DataType, Field, FieldRef, Float16Type, Float32Type, Float64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::expr::WindowFunction;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowFunctionSimplification, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, Expr, PartitionEvaluator, Signature, TypeSignature, Volatility, WindowUDFImpl,
};
use datafusion_macros::user_doc;

use crate::common::{literal_arg, LiteralArg};

#[user_doc(
    doc_section(label = "Segmentation Functions"),
    description = "Quantile score 1..n of each row in its window, reproducing the pandas recipe \
`pd.qcut(x.rank(method='first'), n, labels=range(1, n + 1))` with ties broken by the extra ORDER BY keys. \
Definition: with rn the row's position (1..N) in ORDER BY order among the partition's N rows whose first ORDER BY key is not NULL, \
score = the smallest k in 1..n with rn <= 1 + (N-1)*k/n (exact integer arithmetic: (rn-1)*n <= (N-1)*k), i.e. the qcut bins of the ranks, right-closed. \
Rows whose ORDER BY keys are all equal (peers) share the score of the first peer, so leaving the tie key out gives a tie-aware score. \
A NULL or NaN first ORDER BY key gives a NULL score and the row does not count in N (NaN is NULL in every Persona function; pandas ranks NaN as NaN). \
For recency, where the most recent customers should score n, use `n + 1 - quantile_score(n) OVER (ORDER BY recency_days, customer_id)` \
(this equals qcut with reversed labels; ordering by recency DESC instead is not the same at exact bin edges). \
Unlike SQL NTILE, which deals rows out so that bucket sizes differ by at most one and the first buckets get the extra rows, \
the bins here follow the quantiles of the ranks (the pandas bins), respect ties, and skip NULLs. \
ORDER BY is required; the window frame is ignored. n must be a literal integer >= 1.",
    syntax_example = "quantile_score(n) OVER ([PARTITION BY ...] ORDER BY value [, tie_key ...])",
    sql_example = r#"```sql
> SELECT x, quantile_score(3) OVER (ORDER BY x) AS q FROM (VALUES (10), (20), (20), (30), (NULL)) t(x);
+------+------+
| x    | q    |
+------+------+
| 10   | 1    |
| 20   | 1    |
| 20   | 1    |
| 30   | 3    |
| NULL | NULL |
+------+------+
```"#,
    argument(name = "n", description = "Number of quantile bins, a literal integer >= 1.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct QuantileScore {
    signature: Signature,
}

impl Default for QuantileScore {
    fn default() -> Self {
        Self::new()
    }
}

impl QuantileScore {
    #[must_use]
    pub fn new() -> Self {
        // UserDefined coerces; the Exact variant documents the argument type for SHOW FUNCTIONS
        Self {
            signature: Signature::one_of(
                vec![TypeSignature::UserDefined, TypeSignature::Exact(vec![DataType::Int64])],
                Volatility::Immutable,
            ),
        }
    }
}

impl WindowUDFImpl for QuantileScore {
    fn name(&self) -> &'static str {
        "quantile_score"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            // after `simplify`, the ORDER BY keys follow n as arguments
            [t, keys @ ..] if t.is_integer() || t.is_null() => {
                Ok(std::iter::once(DataType::Int64).chain(keys.iter().cloned()).collect())
            }
            [t, ..] => plan_err!("quantile_score(n) expects an integer n, got {t}"),
            [] => plan_err!("quantile_score takes one argument n, got none"),
        }
    }

    /// Passes the ORDER BY keys to the evaluator as arguments: it then scores the whole
    /// partition at once (`evaluate_all`) instead of being called once per row with a window
    /// frame computed for each row, the only other way it sees the keys (3–4× faster).
    /// Arguments after n must be the ORDER BY keys themselves.
    fn simplify(&self) -> Option<WindowFunctionSimplification> {
        Some(Box::new(|mut window: WindowFunction, _| {
            let keys: Vec<Expr> = window.params.order_by.iter().map(|sort| sort.expr.clone()).collect();
            match window.params.args.len() {
                1 if !keys.is_empty() => window.params.args.extend(keys),
                1 => {}
                _ if window.params.args[1..] == keys[..] => {}
                _ => return plan_err!("quantile_score takes one argument n (the values are the window's ORDER BY)"),
            }
            Ok(Expr::WindowFunction(Box::new(window)))
        }))
    }

    fn partition_evaluator(&self, args: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        let n = match literal_arg(args.input_exprs(), 0) {
            LiteralArg::Value(ScalarValue::Int64(Some(n))) if *n >= 1 => *n,
            LiteralArg::Value(other) => return exec_err!("quantile_score(n) requires an integer n >= 1, got {other}"),
            LiteralArg::Absent | LiteralArg::NotLiteral => {
                return exec_err!("quantile_score(n) requires n to be a literal integer")
            }
        };
        if args.input_exprs().len() > 1 {
            return Ok(Box::new(SortedKeysEvaluator { n }));
        }
        Ok(Box::new(QuantileScoreEvaluator { n, scores: Vec::new(), next: 0 }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(field_args.name(), DataType::Int64, true)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Scores a partition whose ORDER BY keys arrive as the arguments after n (see `simplify`).
#[derive(Debug)]
struct SortedKeysEvaluator {
    n: i64,
}

impl PartitionEvaluator for SortedKeysEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], _num_rows: usize) -> Result<ArrayRef> {
        let scores = partition_scores(self.n, values.get(1..).unwrap_or_default())?;
        Ok(Arc::new(Int64Array::from(scores)))
    }
}

/// Scores a partition row by row, reading the ORDER BY keys through the window frame: the
/// plan when the optimizer's simplification did not run.
#[derive(Debug)]
struct QuantileScoreEvaluator {
    n: i64,
    /// Scores of the whole partition, computed on the first call.
    scores: Vec<Option<i64>>,
    next: usize,
}

impl PartitionEvaluator for QuantileScoreEvaluator {
    /// Called once per row in order; `values` holds the argument `n` and then the ORDER BY keys.
    fn evaluate(&mut self, values: &[ArrayRef], _range: &Range<usize>) -> Result<ScalarValue> {
        if self.next == 0 {
            let order_keys = values.get(1..).unwrap_or_default();
            if order_keys.is_empty() {
                return exec_err!("quantile_score requires ORDER BY in its window");
            }
            self.scores = partition_scores(self.n, order_keys)?;
        }
        let score = self.scores.get(self.next).copied().flatten();
        self.next += 1;
        Ok(ScalarValue::Int64(score))
    }

    fn uses_window_frame(&self) -> bool {
        // the only way a window function sees its ORDER BY values
        true
    }
}

/// Scores of one partition sorted by `order_keys`.
fn partition_scores(n: i64, order_keys: &[ArrayRef]) -> Result<Vec<Option<i64>>> {
    let value = &order_keys[0];
    let rows = value.len();
    let missing = missing_keys(value);
    let non_null = (rows - missing.as_ref().map_or(value.null_count(), |m| m.iter().filter(|&&m| m).count())) as i64;
    let mut scores = vec![None; rows];
    let mut nulls_before = 0usize;
    for peers in partition(order_keys)?.ranges() {
        if missing.as_ref().map_or_else(|| value.is_null(peers.start), |m| m[peers.start]) {
            nulls_before += peers.len();
            continue;
        }
        let rn = (peers.start - nulls_before + 1) as i64;
        let score = score_of_rank(rn, non_null, n);
        scores[peers].fill(Some(score));
    }
    Ok(scores)
}

/// For a floating-point first key, which rows are NULL or NaN (both unscored, as pandas ranks
/// NaN as NaN); `None` for other types, whose missing rows are the NULLs.
fn missing_keys(value: &ArrayRef) -> Option<Vec<bool>> {
    fn missing<T: ArrowPrimitiveType>(value: &ArrayRef, is_nan: impl Fn(T::Native) -> bool) -> Vec<bool> {
        let values = value.as_primitive::<T>();
        (0..values.len()).map(|i| values.is_null(i) || is_nan(values.value(i))).collect()
    }
    match value.data_type() {
        DataType::Float64 => Some(missing::<Float64Type>(value, f64::is_nan)),
        DataType::Float32 => Some(missing::<Float32Type>(value, f32::is_nan)),
        DataType::Float16 => Some(missing::<Float16Type>(value, |v| v.is_nan())),
        _ => None,
    }
}

/// The smallest k in 1..=n with (rn - 1) * n <= (big_n - 1) * k.
fn score_of_rank(rn: i64, big_n: i64, n: i64) -> i64 {
    if big_n <= 1 {
        return 1;
    }
    // k = ceil((rn - 1) * n / (N - 1)), at least 1; i128 keeps huge n and N exact
    let numerator = i128::from(rn - 1) * i128::from(n);
    let denominator = i128::from(big_n - 1);
    let k = (numerator + denominator - 1) / denominator;
    k.clamp(1, i128::from(n)) as i64
}

#[cfg(test)]
mod tests {
    use super::score_of_rank;

    #[test]
    fn matches_qcut_of_ranks() {
        // pd.qcut(range(1, 11), 5, labels=False) + 1
        let scores: Vec<i64> = (1..=10).map(|rn| score_of_rank(rn, 10, 5)).collect();
        assert_eq!(scores, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        // N = 6, n = 5: edges 1, 2, 3, 4, 5, 6 are all integers
        let scores: Vec<i64> = (1..=6).map(|rn| score_of_rank(rn, 6, 5)).collect();
        assert_eq!(scores, [1, 1, 2, 3, 4, 5]);
        assert_eq!(score_of_rank(1, 1, 5), 1);
        assert_eq!(score_of_rank(3, 3, 10), 10);
    }
}
