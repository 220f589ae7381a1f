//! `uplift_at_k(score, outcome, is_treatment, k [, strategy])`: uplift among the top share k of rows.

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::uplift::{at_k, coerce_uplift_args, uplift_state_fields, UpliftSample};
use crate::group_state::GroupsOf;

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
        Ok(Box::new(GroupsOf::<UpliftSample>::new(("uplift_at_k", at_k(&args)?))))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<UpliftSample>::new(("uplift_at_k", at_k(&args)?))))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
