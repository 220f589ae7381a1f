//! `response_lift(is_treatment, outcome [, confidence])`: treatment vs holdout response rates.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, StructArray};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::confidence_level;
use super::label_args::{coerce_label, Labels};
use crate::common::fixed_offsets;
use crate::group_state::{GroupState, GroupsOf};
use crate::stats::distributions::{normal_quantile, normal_sf};

#[user_doc(
    doc_section(label = "Evaluation Functions"),
    description = "Response lift of a treatment over its holdout (control) for a binary outcome, with the two-proportion z-test. \
With n_t, x_t (rows and responders with is_treatment true) and n_c, x_c (is_treatment false): rate_t = x_t / n_t, rate_c = x_c / n_c, \
abs_lift = rate_t - rate_c, rel_lift = rate_t / rate_c - 1; \
z = abs_lift / sqrt(p (1 - p) (1/n_t + 1/n_c)) with the pooled p = (x_t + x_c) / (n_t + n_c), p_value = 2 P(Z > |z|) (two-sided, as statsmodels proportions_ztest); \
ci_low, ci_high = abs_lift ∓ z_q sqrt(rate_t (1 - rate_t) / n_t + rate_c (1 - rate_c) / n_c) (Wald, unpooled, as statsmodels confint_proportions_2indep method 'wald'), \
z_q the normal quantile of (1 + confidence) / 2 (confidence default 0.95); \
rel_ci_low, rel_ci_high = exp(ln(rate_t / rate_c) ∓ z_q sqrt(1/x_t - 1/n_t + 1/x_c - 1/n_c)) - 1 (log method for the ratio, as confint_proportions_2indep compare 'ratio' method 'log'). \
The outcome is a boolean or a 0/1 integer (other integers are an error); rows with a NULL treatment flag or outcome are ignored. \
Fields that are undefined are NULL: rates without rows, the lifts and tests without both arms, rel_lift when rate_c is 0, z and p_value when p is 0 or 1, \
the relative CI when x_t or x_c is 0. Returns a struct {n_t, n_c, x_t, x_c, rate_t, rate_c, abs_lift, rel_lift, z, p_value, ci_low, ci_high, rel_ci_low, rel_ci_high}.",
    syntax_example = "response_lift(is_treatment, outcome [, confidence])",
    sql_example = r#"```sql
> SELECT r['rate_t'] AS rate_t, r['rate_c'] AS rate_c, round(r['z'], 4) AS z, round(r['p_value'], 4) AS p
  FROM (SELECT response_lift(t, y) AS r
        FROM (VALUES (true, 1), (true, 1), (true, 0), (true, 1), (false, 0), (false, 1), (false, 0), (false, 0)) v(t, y));
+--------+--------+--------+--------+
| rate_t | rate_c | z      | p      |
+--------+--------+--------+--------+
| 0.75   | 0.25   | 1.4142 | 0.1573 |
+--------+--------+--------+--------+
```"#,
    argument(
        name = "is_treatment",
        description = "Boolean: true for the treated (contacted) arm, false for the holdout."
    ),
    argument(name = "outcome", description = "Boolean or 0/1 integer: responded / converted."),
    argument(
        name = "confidence",
        description = "Optional literal confidence level of the intervals, in (0, 1); default 0.95."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ResponseLift {
    signature: Signature,
}

impl Default for ResponseLift {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseLift {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Boolean, DataType::Boolean]),
                    TypeSignature::Exact(vec![DataType::Boolean, DataType::Int64, DataType::Float64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

const OUTPUT: [&str; 14] = [
    "n_t",
    "n_c",
    "x_t",
    "x_c",
    "rate_t",
    "rate_c",
    "abs_lift",
    "rel_lift",
    "z",
    "p_value",
    "ci_low",
    "ci_high",
    "rel_ci_low",
    "rel_ci_high",
];

fn output_fields() -> Fields {
    OUTPUT
        .iter()
        .enumerate()
        .map(|(i, name)| Field::new(*name, if i < 4 { DataType::Int64 } else { DataType::Float64 }, true))
        .collect()
}

impl AggregateUDFImpl for ResponseLift {
    fn name(&self) -> &'static str {
        "response_lift"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(2..=3).contains(&arg_types.len()) {
            return plan_err!(
                "response_lift takes (is_treatment, outcome [, confidence]), got {} arguments",
                arg_types.len()
            );
        }
        let mut coerced = vec![coerce_label(self.name(), "is_treatment", &arg_types[0])?];
        if coerced[0] != DataType::Boolean {
            return plan_err!("response_lift: is_treatment must be a boolean, got {}", arg_types[0]);
        }
        coerced.push(coerce_label(self.name(), "outcome", &arg_types[1])?);
        if let Some(level) = arg_types.get(2) {
            if !level.is_numeric() {
                return plan_err!("response_lift: confidence must be a number, got {level}");
            }
            coerced.push(DataType::Float64);
        }
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(output_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "counts"),
            DataType::new_list(DataType::Int64, true),
            true,
        ))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<Counts>::new(confidence_level(self.name(), &args, 2)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Counts>::new(confidence_level(self.name(), &args, 2)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Rows and responders of the treatment and control arms: [n_t, x_t, n_c, x_c].
#[derive(Debug, Default)]
struct Counts([i64; 4]);

impl GroupState for Counts {
    type Params = f64;

    const HOLDS_HEAP: bool = false;

    fn update(
        _: &f64,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let treated = values[0].as_boolean();
        if let (0, Some(responded)) = (treated.null_count(), values[1].as_boolean_opt()) {
            if responded.null_count() == 0 {
                // no NULLs to skip: one branch per row (the group filter)
                for (row, (t, y)) in treated.values().iter().zip(responded.values().iter()).enumerate() {
                    if let Some(g) = group_of(row) {
                        let arm = if t { 0 } else { 2 };
                        groups[g].0[arm] += 1;
                        groups[g].0[arm + 1] += i64::from(y);
                    }
                }
                return Ok(());
            }
        }
        let outcome = Labels::new("response_lift", &values[1])?;
        for row in 0..treated.len() {
            let Some(g) = group_of(row) else { continue };
            let Some(y) = outcome.get("response_lift", row)? else { continue };
            if treated.is_null(row) {
                continue;
            }
            let arm = if treated.value(row) { 0 } else { 2 };
            groups[g].0[arm] += 1;
            groups[g].0[arm + 1] += i64::from(y);
        }
        Ok(())
    }

    fn state(_: &f64, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let values: Vec<i64> = groups.iter().flat_map(|g| g.0).collect();
        Ok(vec![Arc::new(ListArray::new(
            Arc::new(Field::new_list_field(DataType::Int64, true)),
            fixed_offsets("response_lift", 4, groups.len())?,
            Arc::new(Int64Array::from(values)),
            None,
        ))])
    }

    fn merge(_: &f64, groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for row in 0..lists.len() {
            let counts = lists.value(row);
            for (total, n) in groups[group_of(row)].0.iter_mut().zip(counts.as_primitive::<Int64Type>().values()) {
                *total += n;
            }
        }
        Ok(())
    }

    fn evaluate(confidence: &f64, groups: &mut [Self]) -> Result<ArrayRef> {
        let z_q = normal_quantile(0.5 + confidence / 2.0);
        let mut columns: Vec<Vec<Option<f64>>> =
            (0..OUTPUT.len() - 4).map(|_| Vec::with_capacity(groups.len())).collect();
        let mut counts: Vec<Vec<i64>> = (0..4).map(|_| Vec::with_capacity(groups.len())).collect();
        for g in groups {
            let [n_t, x_t, n_c, x_c] = g.0;
            for (column, value) in counts.iter_mut().zip([n_t, n_c, x_t, x_c]) {
                column.push(value);
            }
            for (column, value) in columns.iter_mut().zip(lift(n_t, x_t, n_c, x_c, z_q)) {
                column.push(value);
            }
        }
        let mut arrays: Vec<ArrayRef> = counts.into_iter().map(|c| Arc::new(Int64Array::from(c)) as ArrayRef).collect();
        arrays.extend(columns.into_iter().map(|c| Arc::new(Float64Array::from(c)) as ArrayRef));
        Ok(Arc::new(StructArray::new(output_fields(), arrays, None)))
    }

    fn size(&self) -> usize {
        0
    }
}

/// rate_t, rate_c, abs_lift, rel_lift, z, p_value, ci_low, ci_high, rel_ci_low, rel_ci_high.
fn lift(n_t: i64, x_t: i64, n_c: i64, x_c: i64, z_q: f64) -> [Option<f64>; 10] {
    let (nt, xt, nc, xc) = (n_t as f64, x_t as f64, n_c as f64, x_c as f64);
    let rate_t = (n_t > 0).then(|| xt / nt);
    let rate_c = (n_c > 0).then(|| xc / nc);
    let (Some(pt), Some(pc)) = (rate_t, rate_c) else {
        return [rate_t, rate_c, None, None, None, None, None, None, None, None];
    };
    let diff = pt - pc;
    let rel_lift = (pc > 0.0).then(|| pt / pc - 1.0);
    let pooled = (xt + xc) / (nt + nc);
    let pooled_var = pooled * (1.0 - pooled) * (1.0 / nt + 1.0 / nc);
    let z = (pooled_var > 0.0).then(|| diff / pooled_var.sqrt());
    let p_value = z.map(|z| 2.0 * normal_sf(z.abs()));
    let half = z_q * (pt * (1.0 - pt) / nt + pc * (1.0 - pc) / nc).sqrt();
    let (rel_low, rel_high) = if x_t > 0 && x_c > 0 {
        let log_ratio = (pt / pc).ln();
        let se = (1.0 / xt - 1.0 / nt + 1.0 / xc - 1.0 / nc).sqrt();
        (Some((log_ratio - z_q * se).exp() - 1.0), Some((log_ratio + z_q * se).exp() - 1.0))
    } else {
        (None, None)
    };
    [rate_t, rate_c, Some(diff), rel_lift, z, p_value, Some(diff - half), Some(diff + half), rel_low, rel_high]
}
