//! `auc(score, label)`: area under the ROC curve.

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
    description = "Area under the ROC curve of score for the binary label: the share of (positive, negative) pairs in which the positive row scores higher, ties counting ½ - equal to sklearn roc_auc_score(label, score). The direction is never flipped: higher scores must mean the positive class (a value below the no-skill level says the score is inverted; negate it). NULL when either class has no rows. NULL and NaN scores and NULL labels are ignored; labels other than 0 and 1 are an error. Counts the group's rows per distinct score while it has at most 4,096 of them (a scorecard's points: kilobytes per group however many rows), then keeps every score in memory (8 bytes each).",
    syntax_example = "auc(score, label)",
    sql_example = r#"```sql
> SELECT auc(score, label) AS auc FROM (VALUES (0.1, 0), (0.4, 0), (0.35, 1), (0.8, 1)) t(score, label);
+------+
| auc  |
+------+
| 0.75 |
+------+
```"#,
    argument(
        name = "score",
        description = "Numeric score; higher means more likely positive (riskier, more likely to respond)."
    ),
    argument(name = "label", description = "Boolean or 0/1 integer: 1 for the positive class (bad, responder).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Auc {
    signature: Signature,
}

impl Default for Auc {
    fn default() -> Self {
        Self::new()
    }
}

impl Auc {
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

impl AggregateUDFImpl for Auc {
    fn name(&self) -> &'static str {
        "auc"
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
        Ok(Box::new(scored_accumulator(AucOf)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(scored_accumulator(AucOf)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Evaluates `auc` from the runs of sorted scores.
#[derive(Debug)]
struct AucOf;

impl ScoreMeasure for AucOf {
    fn name(&self) -> &'static str {
        "auc"
    }

    fn evaluate(&self, groups: &[Scored]) -> Result<ArrayRef> {
        Ok(Arc::new(groups.iter().map(|g| auc(&g.runs())).collect::<Float64Array>()))
    }
}
