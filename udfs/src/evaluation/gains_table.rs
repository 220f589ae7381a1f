//! `gains_table(score, label [, n_groups])`: a gains / lift table by score.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, ListArray, StructArray};
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::scored_state::{coerce_scored_args, scored_accumulator, scored_state_fields, ScoreMeasure, Scored};
use crate::common::{literal_arg, ListOffsets, LiteralArg};
use crate::stats::roc::{totals, ScoreRun};

#[user_doc(
    doc_section(label = "Evaluation Functions"),
    description = "Gains (lift) table of a score: rows ranked by score descending are cut into n_groups (default 10) groups, 1 = highest scores; a tie group is never split: every row goes to group ceil(n_groups * r / N), where r is the number of rows scoring at least its score and N the rows of the group (so groups can be uneven, and absent when a tie group spans them). Per group: n, responders (label 1), response_rate = responders / n, lift = response_rate / overall rate, cum_n, cum_responders, cum_capture = cum_responders / all responders, cum_lift = (cum_responders / cum_n) / overall rate, min_score, max_score. Returns a list of structs in group order (get rows with unnest); lifts and capture are NULL when there are no responders. NULL and NaN scores and NULL labels are ignored; labels other than 0 and 1 are an error. Counts the group's rows per distinct score while it has at most 4,096 of them (a scorecard's points: kilobytes per group however many rows), then keeps every score in memory (8 bytes each).",
    syntax_example = "gains_table(score, label [, n_groups])",
    sql_example = r#"```sql
> SELECT g['group'] AS grp, g['n'] AS n, g['responders'] AS responders, g['lift'] AS lift, g['cum_capture'] AS cum_capture
  FROM (SELECT unnest(gains_table(score, label, 2)) AS g FROM (VALUES (0.1, 0), (0.4, 0), (0.35, 1), (0.8, 1)) t(score, label));
+-----+---+------------+------+-------------+
| grp | n | responders | lift | cum_capture |
+-----+---+------------+------+-------------+
| 1   | 2 | 1          | 1.0  | 0.5         |
| 2   | 2 | 1          | 1.0  | 1.0         |
+-----+---+------------+------+-------------+
```"#,
    argument(
        name = "score",
        description = "Numeric score; higher means more likely positive (riskier, more likely to respond)."
    ),
    argument(name = "label", description = "Boolean or 0/1 integer: 1 for the positive class (bad, responder)."),
    argument(name = "n_groups", description = "Optional literal number of groups (default 10).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct GainsTable {
    signature: Signature,
}

impl Default for GainsTable {
    fn default() -> Self {
        Self::new()
    }
}

impl GainsTable {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean]),
                    TypeSignature::Exact(vec![DataType::Float64, DataType::Int64, DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl AggregateUDFImpl for GainsTable {
    fn name(&self) -> &'static str {
        "gains_table"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_scored_args(self.name(), arg_types, Some(", n_groups"))
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Struct(gains_fields()), true))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(scored_state_fields(args.name))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(scored_accumulator(Gains::from_args(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(scored_accumulator(Gains::from_args(&args)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// A gains table with `n_groups` groups.
#[derive(Debug)]
struct Gains {
    n_groups: usize,
}

impl Gains {
    /// The number of groups: a literal between 1 and 10,000 at argument 2, default 10.
    fn from_args(args: &AccumulatorArgs) -> Result<Self> {
        let n_groups = match literal_arg(args.exprs, 2) {
            LiteralArg::Absent => 10,
            LiteralArg::Value(ScalarValue::Int64(Some(n))) if (1..=10_000).contains(n) => *n as usize,
            LiteralArg::Value(other) => {
                return plan_err!("gains_table: n_groups must be between 1 and 10000, got {other}")
            }
            LiteralArg::NotLiteral => return plan_err!("gains_table: n_groups must be a literal"),
        };
        Ok(Self { n_groups })
    }
}

impl ScoreMeasure for Gains {
    fn name(&self) -> &'static str {
        "gains_table"
    }

    fn evaluate(&self, groups: &[Scored]) -> Result<ArrayRef> {
        gains_array(groups, self.n_groups)
    }
}

fn gains_fields() -> Fields {
    let mut fields = vec![Field::new("group", DataType::Int64, true), Field::new("n", DataType::Int64, true)];
    fields.push(Field::new("responders", DataType::Int64, true));
    for name in ["response_rate", "lift"] {
        fields.push(Field::new(name, DataType::Float64, true));
    }
    fields.push(Field::new("cum_n", DataType::Int64, true));
    fields.push(Field::new("cum_responders", DataType::Int64, true));
    for name in ["cum_capture", "cum_lift", "min_score", "max_score"] {
        fields.push(Field::new(name, DataType::Float64, true));
    }
    Fields::from(fields)
}

/// One row of a gains table.
struct GainsRow {
    group: i64,
    n: i64,
    responders: i64,
    min_score: f64,
    max_score: f64,
}

/// Rows by score descending; a tie group (a run: one distinct score) goes whole to group
/// ceil(n_groups · r / N), r = the number of rows scoring at least its score, N = `total`.
#[allow(clippy::cast_possible_wrap)]
fn gains_rows(runs: &[ScoreRun], total: u64, n_groups: usize) -> Vec<GainsRow> {
    let mut rows: Vec<GainsRow> = Vec::new();
    let mut seen = 0u64;
    for &(s, [neg, pos]) in runs.iter().rev() {
        let (n, responders) = ((neg + pos) as i64, pos as i64);
        seen += neg + pos;
        let group = (n_groups as u64 * seen).div_ceil(total) as i64;
        match rows.last_mut() {
            Some(last) if last.group == group => {
                last.n += n;
                last.responders += responders;
                last.min_score = s;
            }
            _ => rows.push(GainsRow { group, n, responders, min_score: s, max_score: s }),
        }
    }
    rows
}

fn gains_array(groups: &[Scored], n_groups: usize) -> Result<ArrayRef> {
    let mut offsets = ListOffsets::new("gains_table");
    let mut ints: [Vec<i64>; 5] = Default::default();
    let mut floats: [Vec<Option<f64>>; 6] = Default::default();
    for group in groups {
        let runs = group.runs();
        let [negatives, positives] = totals(&runs);
        let rows = gains_rows(&runs, negatives + positives, n_groups);
        let (total_n, total_responders) = ((negatives + positives) as f64, positives as f64);
        let overall = total_responders / total_n;
        let (mut cum_n, mut cum_responders) = (0i64, 0i64);
        for row in &rows {
            cum_n += row.n;
            cum_responders += row.responders;
            let rate = row.responders as f64 / row.n as f64;
            let cum_rate = cum_responders as f64 / cum_n as f64;
            for (column, value) in ints.iter_mut().zip([row.group, row.n, row.responders, cum_n, cum_responders]) {
                column.push(value);
            }
            let lift = (overall > 0.0).then(|| rate / overall);
            let cum_capture = (total_responders > 0.0).then(|| cum_responders as f64 / total_responders);
            let cum_lift = (overall > 0.0).then(|| cum_rate / overall);
            for (column, value) in floats.iter_mut().zip([
                Some(rate),
                lift,
                cum_capture,
                cum_lift,
                Some(row.min_score),
                Some(row.max_score),
            ]) {
                column.push(value);
            }
        }
        offsets.push(ints[0].len())?;
    }
    let [group, n, responders, cum_n, cum_responders] = ints;
    let [rate, lift, cum_capture, cum_lift, min_score, max_score] = floats;
    let int = |v: Vec<i64>| Arc::new(Int64Array::from(v)) as ArrayRef;
    let float = |v: Vec<Option<f64>>| Arc::new(Float64Array::from(v)) as ArrayRef;
    let columns = vec![
        int(group),
        int(n),
        int(responders),
        float(rate),
        float(lift),
        int(cum_n),
        int(cum_responders),
        float(cum_capture),
        float(cum_lift),
        float(min_score),
        float(max_score),
    ];
    Ok(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Struct(gains_fields()), true)),
        offsets.finish(),
        Arc::new(StructArray::new(gains_fields(), columns, None)),
        None,
    )))
}

#[cfg(test)]
mod tests {
    use super::gains_rows;
    use crate::stats::roc::runs_of_sorted;

    #[test]
    fn gains_keep_ties_together() {
        // scores 5 (pos), 4 (neg), 4 (pos), 1 (neg) in 2 groups: r = 1, 3, 3, 4 -> groups 1, 2, 2, 2
        let rows = gains_rows(&runs_of_sorted(&[1.0, 4.0], &[4.0, 5.0]), 4, 2);
        let summary: Vec<(i64, i64, i64)> = rows.iter().map(|r| (r.group, r.n, r.responders)).collect();
        assert_eq!(summary, [(1, 1, 1), (2, 3, 1)]);
    }
}
