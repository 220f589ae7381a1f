//! `rule_stats(antecedent, consequent)`: metrics of one hand-written rule over baskets.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, StructArray};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::rule_metrics::rule_metrics;
use crate::group_state::{GroupState, GroupsOf};

#[user_doc(
    doc_section(label = "Basket Functions"),
    description = "Metrics of the rule antecedent -> consequent over the rows of a group, one row per basket with two boolean flags \
(does the basket hold the antecedent / the consequent). With N rows, support(A) = rows with A / N, support(C) likewise, support = rows with both / N: \
confidence = support / support(A); lift = confidence / support(C); leverage = support - support(A) support(C); \
conviction = (1 - support(C)) / (1 - confidence), +infinity when confidence is 1 (as mlxtend); \
zhangs_metric = leverage / max(support (1 - support(A)), support(A) (support(C) - support)), 0 when that maximum is 0 (as mlxtend). \
Rows where either flag is NULL are ignored. Confidence, lift and conviction are NULL when undefined (no basket with A, or none with C); a group without rows gives NULL. \
Returns a struct {baskets, antecedent_support, consequent_support, support, confidence, lift, leverage, conviction, zhangs_metric}.",
    syntax_example = "rule_stats(antecedent, consequent)",
    sql_example = r#"```sql
> SELECT r['support'] AS support, r['confidence'] AS confidence, r['lift'] AS lift
  FROM (SELECT rule_stats(a, c) AS r FROM (VALUES (true, true), (true, false), (false, true), (false, false)) t(a, c));
+---------+------------+------+
| support | confidence | lift |
+---------+------------+------+
| 0.25    | 0.5        | 1.0  |
+---------+------------+------+
```"#,
    argument(name = "antecedent", description = "Boolean: the basket holds the antecedent items."),
    argument(name = "consequent", description = "Boolean: the basket holds the consequent items.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RuleStats {
    signature: Signature,
}

impl Default for RuleStats {
    fn default() -> Self {
        Self::new()
    }
}

impl RuleStats {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: Signature::exact(vec![DataType::Boolean, DataType::Boolean], Volatility::Immutable) }
    }
}

fn output_fields() -> Fields {
    let mut fields = vec![Field::new("baskets", DataType::Int64, true)];
    for name in [
        "antecedent_support",
        "consequent_support",
        "support",
        "confidence",
        "lift",
        "leverage",
        "conviction",
        "zhangs_metric",
    ] {
        fields.push(Field::new(name, DataType::Float64, true));
    }
    Fields::from(fields)
}

const STATE: [&str; 4] = ["n", "n_antecedent", "n_consequent", "n_both"];

impl AggregateUDFImpl for RuleStats {
    fn name(&self) -> &'static str {
        "rule_stats"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(output_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(STATE.iter().map(|s| Arc::new(Field::new(format_state_name(args.name, s), DataType::Int64, true))).collect())
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<RuleCounts>::new(())))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<RuleCounts>::new(())))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Counts of one group: rows, rows with A, rows with C, rows with both.
#[derive(Debug, Default, Clone, Copy)]
struct RuleCounts([i64; 4]);

impl GroupState for RuleCounts {
    type Params = ();

    fn update(
        _: &(),
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let (a, c) = (values[0].as_boolean(), values[1].as_boolean());
        for row in 0..a.len() {
            let Some(g) = group_of(row) else { continue };
            if a.is_null(row) || c.is_null(row) {
                continue;
            }
            let (has_a, has_c) = (a.value(row), c.value(row));
            let counts = &mut groups[g].0;
            counts[0] += 1;
            counts[1] += i64::from(has_a);
            counts[2] += i64::from(has_c);
            counts[3] += i64::from(has_a && has_c);
        }
        Ok(())
    }

    fn state(_: &(), groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        Ok(state_arrays(groups))
    }

    fn merge(_: &(), groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        let columns: Vec<_> = states.iter().map(|s| s.as_primitive::<Int64Type>()).collect();
        for row in 0..columns[0].len() {
            let counts = &mut groups[group_of(row)].0;
            for (k, column) in columns.iter().enumerate() {
                counts[k] += column.value(row);
            }
        }
        Ok(())
    }

    fn evaluate(_: &(), groups: &mut [Self]) -> Result<ArrayRef> {
        Ok(evaluate(groups))
    }

    fn size(&self) -> usize {
        0
    }

    const HOLDS_HEAP: bool = false;
}

fn state_arrays(counts: &[RuleCounts]) -> Vec<ArrayRef> {
    (0..4).map(|k| Arc::new(Int64Array::from_iter_values(counts.iter().map(|c| c.0[k]))) as ArrayRef).collect()
}

fn evaluate(counts: &[RuleCounts]) -> ArrayRef {
    let rows: Vec<Option<[f64; 8]>> = counts
        .iter()
        .map(|&RuleCounts([n, a, c, both])| {
            (n > 0).then(|| {
                let n = n as f64;
                let (s_a, s_c, s_ac) = (a as f64 / n, c as f64 / n, both as f64 / n);
                let m = rule_metrics(s_a, s_c, s_ac);
                let or_nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
                [
                    s_a,
                    s_c,
                    s_ac,
                    or_nan(m.confidence),
                    or_nan(m.lift),
                    m.leverage,
                    or_nan(m.conviction),
                    m.zhangs_metric,
                ]
            })
        })
        .collect();
    let mut columns: Vec<ArrayRef> =
        vec![Arc::new(Int64Array::from_iter(counts.iter().map(|c| (c.0[0] > 0).then_some(c.0[0]))))];
    for k in 0..8 {
        // NaN marks an undefined metric here and becomes NULL
        columns.push(Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.map(|r| r[k]).filter(|v| !v.is_nan())))));
    }
    let nulls = arrow::buffer::NullBuffer::from(counts.iter().map(|c| c.0[0] > 0).collect::<Vec<_>>());
    Arc::new(StructArray::new(output_fields(), columns, Some(nulls)))
}
