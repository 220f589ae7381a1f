//! `welch_ttest(is_treatment, value [, confidence])`: difference of means with Welch's t-test.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, StructArray};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::confidence_level;
use crate::common::fixed_offsets;
use crate::group_state::{GroupState, GroupsOf};
use crate::stats::distributions::{student_t_quantile, student_t_sf};

#[user_doc(
    doc_section(label = "Evaluation Functions"),
    description = "Welch's two-sample t-test of a continuous outcome (spend, revenue) between the treatment (is_treatment true) and control rows, \
as scipy.stats.ttest_ind(treatment, control, equal_var=False): with sample means m, variances v (ddof 1) and sizes n per arm, \
diff = m_t - m_c, se = sqrt(v_t / n_t + v_c / n_c), t = diff / se, \
df = (v_t/n_t + v_c/n_c)^2 / ((v_t/n_t)^2 / (n_t - 1) + (v_c/n_c)^2 / (n_c - 1)) (Welch-Satterthwaite), p_value = 2 P(T_df > |t|), \
ci = diff ∓ t_q se with t_q the Student quantile of (1 + confidence) / 2 (confidence default 0.95). \
Means and variances are accumulated with Welford's update and Chan's merge. NULL and NaN values and rows with a NULL treatment flag are ignored; an infinite value is an error. \
Returns a struct {n_t, n_c, mean_t, mean_c, diff, t, df, p_value, ci_low, ci_high}; the test fields are NULL when an arm has fewer than 2 values or se is 0.",
    syntax_example = "welch_ttest(is_treatment, value [, confidence])",
    sql_example = r#"```sql
> SELECT r['diff'] AS diff, round(r['t'], 4) AS t, round(r['df'], 4) AS df, round(r['p_value'], 4) AS p
  FROM (SELECT welch_ttest(t, x) AS r FROM (VALUES (true, 5.0), (true, 7.0), (true, 9.0), (false, 4.0), (false, 5.0), (false, 6.0)) v(t, x));
+------+--------+--------+--------+
| diff | t      | df     | p      |
+------+--------+--------+--------+
| 2.0  | 1.5492 | 2.9412 | 0.2209 |
+------+--------+--------+--------+
```"#,
    argument(name = "is_treatment", description = "Boolean: true for the treated arm, false for the holdout."),
    argument(name = "value", description = "Numeric outcome."),
    argument(
        name = "confidence",
        description = "Optional literal confidence level of the interval, in (0, 1); default 0.95."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WelchTtest {
    signature: Signature,
}

impl Default for WelchTtest {
    fn default() -> Self {
        Self::new()
    }
}

impl WelchTtest {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Boolean, DataType::Float64]),
                    TypeSignature::Exact(vec![DataType::Boolean, DataType::Float64, DataType::Float64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

const OUTPUT: [&str; 10] = ["n_t", "n_c", "mean_t", "mean_c", "diff", "t", "df", "p_value", "ci_low", "ci_high"];

fn output_fields() -> Fields {
    OUTPUT
        .iter()
        .enumerate()
        .map(|(i, name)| Field::new(*name, if i < 2 { DataType::Int64 } else { DataType::Float64 }, true))
        .collect()
}

impl AggregateUDFImpl for WelchTtest {
    fn name(&self) -> &'static str {
        "welch_ttest"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [DataType::Boolean | DataType::Null, value] if value.is_numeric() || value.is_null() => {
                Ok(vec![DataType::Boolean, DataType::Float64])
            }
            [DataType::Boolean | DataType::Null, value, level]
                if (value.is_numeric() || value.is_null()) && level.is_numeric() =>
            {
                Ok(vec![DataType::Boolean, DataType::Float64, DataType::Float64])
            }
            _ => plan_err!("welch_ttest takes (boolean is_treatment, numeric value [, confidence]), got {arg_types:?}"),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(output_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "moments"),
            DataType::new_list(DataType::Float64, true),
            true,
        ))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<Moments>::new(confidence_level(self.name(), &args, 2)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Moments>::new(confidence_level(self.name(), &args, 2)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Count, mean and sum of squared deviations of one arm.
#[derive(Debug, Default, Clone, Copy)]
struct Arm {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Arm {
    fn add(&mut self, x: f64) {
        self.n += 1.0;
        let delta = x - self.mean;
        self.mean += delta / self.n;
        self.m2 += delta * (x - self.mean);
    }

    fn merge(&mut self, other: Arm) {
        if other.n == 0.0 {
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        self.mean += delta * other.n / n;
        self.m2 += other.m2 + delta * delta * self.n * other.n / n;
        self.n = n;
    }

    fn variance(self) -> f64 {
        self.m2 / (self.n - 1.0)
    }
}

/// Treatment [0] and control [1] moments.
#[derive(Debug, Default)]
struct Moments([Arm; 2]);

impl GroupState for Moments {
    type Params = f64;

    const HOLDS_HEAP: bool = false;

    fn update(
        _: &f64,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let treated = values[0].as_boolean();
        let x = values[1].as_primitive::<Float64Type>();
        for row in 0..x.len() {
            if treated.is_null(row) || x.is_null(row) || x.value(row).is_nan() {
                continue;
            }
            if x.value(row).is_infinite() {
                // Welford's update turns an infinite mean into NaN or ±inf depending on the
                // order of the rows: no defined result
                return exec_err!("welch_ttest: value {} is infinite; filter it out or cap it", x.value(row));
            }
            if let Some(g) = group_of(row) {
                groups[g].0[usize::from(!treated.value(row))].add(x.value(row));
            }
        }
        Ok(())
    }

    fn state(_: &f64, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let values: Vec<f64> = groups.iter().flat_map(|g| g.0.iter().flat_map(|a| [a.n, a.mean, a.m2])).collect();
        Ok(vec![Arc::new(ListArray::new(
            Arc::new(Field::new_list_field(DataType::Float64, true)),
            fixed_offsets("welch_ttest", 6, groups.len())?,
            Arc::new(Float64Array::from(values)),
            None,
        ))])
    }

    fn merge(_: &f64, groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for row in 0..lists.len() {
            let moments = lists.value(row);
            let v = moments.as_primitive::<Float64Type>().values();
            if v.len() == 6 {
                let group = &mut groups[group_of(row)];
                group.0[0].merge(Arm { n: v[0], mean: v[1], m2: v[2] });
                group.0[1].merge(Arm { n: v[3], mean: v[4], m2: v[5] });
            }
        }
        Ok(())
    }

    fn evaluate(confidence: &f64, groups: &mut [Self]) -> Result<ArrayRef> {
        let mut counts: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
        let mut columns: Vec<Vec<Option<f64>>> =
            (0..OUTPUT.len() - 2).map(|_| Vec::with_capacity(groups.len())).collect();
        for g in groups {
            let [t, c] = g.0;
            counts[0].push(t.n as i64);
            counts[1].push(c.n as i64);
            for (column, value) in columns.iter_mut().zip(welch(t, c, *confidence)) {
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

/// mean_t, mean_c, diff, t, df, p_value, ci_low, ci_high.
fn welch(t: Arm, c: Arm, confidence: f64) -> [Option<f64>; 8] {
    let mean_t = (t.n > 0.0).then_some(t.mean);
    let mean_c = (c.n > 0.0).then_some(c.mean);
    let diff = mean_t.zip(mean_c).map(|(a, b)| a - b);
    if t.n < 2.0 || c.n < 2.0 {
        return [mean_t, mean_c, diff, None, None, None, None, None];
    }
    let (vt, vc) = (t.variance() / t.n, c.variance() / c.n);
    let se = (vt + vc).sqrt();
    let d = t.mean - c.mean;
    if se <= 0.0 || !se.is_finite() {
        return [mean_t, mean_c, diff, None, None, None, None, None];
    }
    let stat = d / se;
    let df = (vt + vc) * (vt + vc) / (vt * vt / (t.n - 1.0) + vc * vc / (c.n - 1.0));
    let p_value = 2.0 * student_t_sf(stat.abs(), df);
    let half = student_t_quantile(0.5 + confidence / 2.0, df) * se;
    [mean_t, mean_c, diff, Some(stat), Some(df), Some(p_value.min(1.0)), Some(d - half), Some(d + half)]
}
