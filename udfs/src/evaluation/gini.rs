//! `gini(score, label)`: Gini coefficient (accuracy ratio) = 2 AUC - 1.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array};
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::scored_state::{coerce_scored_args, scored_accumulator, scored_state_fields, ScoreMeasure, Scored};
use crate::stats::roc::auc;

#[user_doc(
    doc_section(label = "Evaluation Functions"),
    description = "Gini coefficient (accuracy ratio, Somers' D) of score for the binary label: 2 * auc(score, label) - 1, with auc's definition (ties count ½). The direction is never flipped: higher scores must mean the positive class (a value below the no-skill level says the score is inverted; negate it). NULL when either class has no rows. NULL and NaN scores and NULL labels are ignored; labels other than 0 and 1 are an error. Counts the group's rows per distinct score while it has at most 4,096 of them (a scorecard's points: kilobytes per group however many rows), then keeps every score in memory (8 bytes each).",
    syntax_example = "gini(score, label)",
    sql_example = r#"```sql
> SELECT gini(score, label) AS gini FROM (VALUES (0.1, 0), (0.4, 0), (0.35, 1), (0.8, 1)) t(score, label);
+------+
| gini |
+------+
| 0.5  |
+------+
```"#,
    argument(
        name = "score",
        description = "Numeric score; higher means more likely positive (riskier, more likely to respond)."
    ),
    argument(name = "label", description = "Boolean or 0/1 integer: 1 for the positive class (bad, responder).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Gini {
    signature: Signature,
}

impl Default for Gini {
    fn default() -> Self {
        Self::new()
    }
}

impl Gini {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![TypeSignature::UserDefined, TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean])],
                Volatility::Immutable,
            ),
        }
    }
}

impl AggregateUDFImpl for Gini {
    fn name(&self) -> &'static str {
        "gini"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_scored_args(self.name(), arg_types, None)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(scored_state_fields(args.name))
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(scored_accumulator(GiniOf)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(scored_accumulator(GiniOf)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Evaluates `gini` from the sorted scores.
#[derive(Debug)]
struct GiniOf;

impl ScoreMeasure for GiniOf {
    fn name(&self) -> &'static str {
        "gini"
    }

    fn evaluate(&self, groups: &[Scored]) -> Result<ArrayRef> {
        Ok(Arc::new(groups.iter().map(|g| auc(&g.runs()).map(|a| 2.0 * a - 1.0)).collect::<Float64Array>()))
    }
}
