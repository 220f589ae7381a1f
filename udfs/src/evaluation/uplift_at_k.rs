//! `uplift_at_k(score, outcome, is_treatment, k [, strategy])`: uplift among the top share k of rows.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array};
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::uplift_state::{
    coerce_uplift_args, uplift_accumulator, uplift_state_fields, UpliftMeasure, UpliftSample, OUTCOME, TREATED,
};
use crate::common::{literal_arg, LiteralArg};

#[user_doc(
    doc_section(label = "Evaluation Functions"),
    description = "Uplift among the rows with the highest scores, as scikit-uplift 0.5.1 uplift_at_k: strategy 'overall' (default) takes the top m = trunc(N k) rows and returns the treated response rate minus the control response rate among them; 'by_group' takes the top trunc(N_t k) treated rows and the top trunc(N_c k) control rows separately. k is a literal in (0, 1]. Where a group of tied scores straddles the cut, it is taken in proportion (each of its rows counts with the fraction of the group still needed), so the result does not depend on the order of ties; scikit-uplift takes tied rows in reverse input order instead, which gives the same result unless the tied rows differ in outcome or arm. NULL when the top rows hold no treated or no control row. NULL scores, outcomes or treatment flags and NaN scores drop the row; outcome and treatment values other than 0/1 are an error; a group without both treated and control rows gives NULL. Keeps the group's rows in memory (9 bytes each).",
    syntax_example = "uplift_at_k(score, outcome, is_treatment, k [, strategy])",
    sql_example = r#"```sql
> SELECT round(uplift_at_k(score, y, treated, 0.5), 6) AS overall, uplift_at_k(score, y, treated, 0.5, 'by_group') AS by_group
  FROM (VALUES (0.9, 1, 1), (0.8, 0, 0), (0.7, 1, 1), (0.6, 0, 1), (0.5, 1, 0), (0.4, 0, 0), (0.3, 0, 1), (0.2, 1, 0)) t(score, y, treated);
+----------+----------+
| overall  | by_group |
+----------+----------+
| 0.666667 | 0.5      |
+----------+----------+
```"#,
    argument(name = "score", description = "Predicted uplift (higher = more persuadable)."),
    argument(name = "outcome", description = "Boolean or 0/1 integer: responded."),
    argument(name = "is_treatment", description = "Boolean or 0/1 integer: 1 for treated rows, 0 for control."),
    argument(name = "k", description = "Share of rows to take, a literal in (0, 1]."),
    argument(name = "strategy", description = "Optional: 'overall' (default) or 'by_group'.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct UpliftAtK {
    signature: Signature,
}

impl Default for UpliftAtK {
    fn default() -> Self {
        Self::new()
    }
}

impl UpliftAtK {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![
                        DataType::Float64,
                        DataType::Boolean,
                        DataType::Boolean,
                        DataType::Float64,
                        DataType::Utf8,
                    ]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl AggregateUDFImpl for UpliftAtK {
    fn name(&self) -> &'static str {
        "uplift_at_k"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_uplift_args(self.name(), arg_types, 2)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(uplift_state_fields(args.name))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(uplift_accumulator(AtK::from_args(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(uplift_accumulator(AtK::from_args(&args)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Uplift among the top share `k` of rows: overall, or per arm (`by_group`).
#[derive(Debug)]
struct AtK {
    k: f64,
    by_group: bool,
}

impl AtK {
    /// k and the strategy of `uplift_at_k` from literal arguments 3 and 4.
    fn from_args(args: &AccumulatorArgs) -> Result<Self> {
        let k = match literal_arg(args.exprs, 3) {
            LiteralArg::Value(ScalarValue::Float64(Some(k))) if *k > 0.0 && *k <= 1.0 => *k,
            LiteralArg::Value(other) => return plan_err!("uplift_at_k: k must be in (0, 1], got {other}"),
            _ => return plan_err!("uplift_at_k: k must be a literal"),
        };
        let by_group = match literal_arg(args.exprs, 4) {
            LiteralArg::Absent => false,
            LiteralArg::Value(ScalarValue::Utf8(Some(s))) if s == "overall" => false,
            LiteralArg::Value(ScalarValue::Utf8(Some(s))) if s == "by_group" => true,
            LiteralArg::Value(other) => {
                return plan_err!("uplift_at_k: strategy must be 'overall' or 'by_group', got {other}")
            }
            LiteralArg::NotLiteral => return plan_err!("uplift_at_k: strategy must be a literal"),
        };
        Ok(Self { k, by_group })
    }
}

impl UpliftMeasure for AtK {
    fn name(&self) -> &'static str {
        "uplift_at_k"
    }

    fn evaluate(&self, groups: &[UpliftSample]) -> Result<ArrayRef> {
        Ok(Arc::new(
            groups
                .iter()
                .map(|g| g.has_both_arms().then(|| uplift_at_k(g, self.k, self.by_group)).flatten())
                .collect::<Float64Array>(),
        ))
    }
}

/// Response rate among the first `take` rows of `order` restricted to `rows_of`, whole tie
/// groups first and the straddling tie group counted in proportion.
fn top_rate(sample: &UpliftSample, order: &[usize], take: f64, arm: Option<bool>) -> Option<(f64, f64)> {
    // returns (treated rate, control rate) for `arm == None`, or (rate, rate) of the one arm
    let in_arm = |row: usize| arm.is_none_or(|treated| (sample.flags[row] & TREATED != 0) == treated);
    let rows: Vec<usize> = order.iter().copied().filter(|&r| in_arm(r)).collect();
    let (mut counts, mut responders) = ([0.0f64; 2], [0.0f64; 2]);
    let mut taken = 0.0;
    let mut i = 0;
    while i < rows.len() && taken < take {
        let s = sample.scores[rows[i]];
        let mut j = i;
        let (mut c, mut r) = ([0.0f64; 2], [0.0f64; 2]);
        while j < rows.len() && sample.scores[rows[j]] == s {
            let f = sample.flags[rows[j]];
            let side = usize::from(f & TREATED == 0);
            c[side] += 1.0;
            r[side] += f64::from(f & OUTCOME);
            j += 1;
        }
        let size = (j - i) as f64;
        let share = ((take - taken) / size).min(1.0);
        for side in 0..2 {
            counts[side] += share * c[side];
            responders[side] += share * r[side];
        }
        taken += share * size;
        i = j;
    }
    let rate = |side: usize| (counts[side] > 0.0).then(|| responders[side] / counts[side]);
    match arm {
        None => Some((rate(0)?, rate(1)?)),
        Some(true) => rate(0).map(|r| (r, r)),
        Some(false) => rate(1).map(|r| (r, r)),
    }
}

fn uplift_at_k(sample: &UpliftSample, k: f64, by_group: bool) -> Option<f64> {
    let order = sample.order();
    if by_group {
        let n_t = sample.flags.iter().filter(|&&f| f & TREATED != 0).count() as f64;
        let n_c = sample.flags.len() as f64 - n_t;
        let (rate_t, _) = top_rate(sample, &order, (n_t * k).trunc(), Some(true))?;
        let (rate_c, _) = top_rate(sample, &order, (n_c * k).trunc(), Some(false))?;
        Some(rate_t - rate_c)
    } else {
        let (rate_t, rate_c) = top_rate(sample, &order, (sample.scores.len() as f64 * k).trunc(), None)?;
        Some(rate_t - rate_c)
    }
}
