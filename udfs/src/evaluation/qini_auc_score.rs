//! `qini_auc_score(score, outcome, is_treatment)`: normalised area under the Qini curve.

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::uplift_state::{coerce_uplift_args, uplift_accumulator, uplift_state_fields, AreaScore, Curve};

#[user_doc(
    doc_section(label = "Evaluation Functions"),
    description = "Normalised area under the Qini curve, as scikit-uplift 0.5.1 qini_auc_score (negative_effect = True): (A - B) / (A* - B), where A is the trapezoid area under the Qini curve of score, A* the area under the curve of the perfect score (+1 for treated responders, -1 for control responders, 0 otherwise) and B = n_last Qini_last / 2 the random model's area. Rows are sorted by score descending and the curve is evaluated at the last row of each group of tied scores (so results do not depend on the order of ties), with (0, 0) first; at n rows, with N_t, N_c the treated and control rows and Y_t, Y_c their responders so far: Qini(n) = Y_t - Y_c N_t / N_c (the second term 0 while N_c = 0); uplift(n) = (Y_t / N_t - Y_c / N_c) n (each ratio 0 while its denominator is 0). NULL scores, outcomes or treatment flags and NaN scores drop the row; outcome and treatment values other than 0/1 are an error; a group without both treated and control rows gives NULL. Keeps the group's rows in memory (9 bytes each).",
    syntax_example = "qini_auc_score(score, outcome, is_treatment)",
    sql_example = r#"```sql
> SELECT round(qini_auc_score(score, y, treated), 6) AS qini FROM (VALUES (0.9, 1, 1), (0.8, 0, 0), (0.7, 1, 1), (0.6, 0, 1), (0.5, 1, 0), (0.4, 0, 0), (0.3, 0, 1), (0.2, 1, 0)) t(score, y, treated);
+----------+
| qini     |
+----------+
| 0.680556 |
+----------+
```"#,
    argument(name = "score", description = "Predicted uplift (higher = more persuadable)."),
    argument(name = "outcome", description = "Boolean or 0/1 integer: responded."),
    argument(name = "is_treatment", description = "Boolean or 0/1 integer: 1 for treated rows, 0 for control.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct QiniAucScore {
    signature: Signature,
}

impl Default for QiniAucScore {
    fn default() -> Self {
        Self::new()
    }
}

impl QiniAucScore {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean, DataType::Boolean]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl AggregateUDFImpl for QiniAucScore {
    fn name(&self) -> &'static str {
        "qini_auc_score"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_uplift_args(self.name(), arg_types, 0)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(uplift_state_fields(args.name))
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(uplift_accumulator(AreaScore { name: "qini_auc_score", curve: Curve::Qini })))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(uplift_accumulator(AreaScore { name: "qini_auc_score", curve: Curve::Qini })))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
