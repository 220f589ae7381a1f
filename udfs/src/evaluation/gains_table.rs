//! `gains_table(score, label [, n_groups])`: a gains / lift table by score.

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::scored::{coerce_scored_args, gains_fields, gains_groups, scored_state_fields, ScoreMeasure, Scored};
use crate::group_state::GroupsOf;

#[user_doc(
    doc_section(label = "Evaluation Functions"),
    description = "Gains (lift) table of a score: rows ranked by score descending are cut into n_groups (default 10) groups, 1 = highest scores; a tie group is never split: every row goes to group ceil(n_groups * r / N), where r is the number of rows scoring at least its score and N the rows of the group (so groups can be uneven, and absent when a tie group spans them). Per group: n, responders (label 1), response_rate = responders / n, lift = response_rate / overall rate, cum_n, cum_responders, cum_capture = cum_responders / all responders, cum_lift = (cum_responders / cum_n) / overall rate, min_score, max_score. Returns a list of structs in group order (get rows with unnest); lifts and capture are NULL when there are no responders. NULL and NaN scores and NULL labels are ignored; labels other than 0 and 1 are an error. Keeps the group's scores in memory (8 bytes each).",
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
        Ok(Box::new(GroupsOf::<Scored>::new(("gains_table", ScoreMeasure::Gains(gains_groups(&args)?)))))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Scored>::new(("gains_table", ScoreMeasure::Gains(gains_groups(&args)?)))))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
