//! `qini_curve(score, outcome, is_treatment)`: the points of the Qini curve.

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::uplift_state::{
    coerce_uplift_args, point_fields, uplift_accumulator, uplift_state_fields, Curve, CurvePoints,
};

#[user_doc(
    doc_section(label = "Evaluation Functions"),
    description = "The Qini curve as a list of structs {n, value} (scikit-uplift 0.5.1 qini_curve's x and y), for plotting. Rows are sorted by score descending and the curve is evaluated at the last row of each group of tied scores (so results do not depend on the order of ties), with (0, 0) first; at n rows, with N_t, N_c the treated and control rows and Y_t, Y_c their responders so far: Qini(n) = Y_t - Y_c N_t / N_c (the second term 0 while N_c = 0); uplift(n) = (Y_t / N_t - Y_c / N_c) n (each ratio 0 while its denominator is 0). NULL scores, outcomes or treatment flags and NaN scores drop the row; outcome and treatment values other than 0/1 are an error; a group without both treated and control rows gives NULL. Keeps the group's rows in memory (9 bytes each).",
    syntax_example = "qini_curve(score, outcome, is_treatment)",
    sql_example = r#"```sql
> SELECT p['n'] AS n, round(p['value'], 4) AS qini FROM (SELECT unnest(qini_curve(score, y, treated)) AS p
  FROM (VALUES (0.9, 1, 1), (0.8, 0, 0), (0.7, 1, 1), (0.6, 0, 1), (0.5, 1, 0), (0.4, 0, 0), (0.3, 0, 1), (0.2, 1, 0)) t(score, y, treated))
  WHERE p['n'] <= 4;
+-----+------+
| n   | qini |
+-----+------+
| 0.0 | 0.0  |
| 1.0 | 1.0  |
| 2.0 | 1.0  |
| 3.0 | 2.0  |
| 4.0 | 2.0  |
+-----+------+
```"#,
    argument(name = "score", description = "Predicted uplift (higher = more persuadable)."),
    argument(name = "outcome", description = "Boolean or 0/1 integer: responded."),
    argument(name = "is_treatment", description = "Boolean or 0/1 integer: 1 for treated rows, 0 for control.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct QiniCurve {
    signature: Signature,
}

impl Default for QiniCurve {
    fn default() -> Self {
        Self::new()
    }
}

impl QiniCurve {
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

impl AggregateUDFImpl for QiniCurve {
    fn name(&self) -> &'static str {
        "qini_curve"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_uplift_args(self.name(), arg_types, 0)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Struct(point_fields()), true))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(uplift_state_fields(args.name))
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(uplift_accumulator(CurvePoints { name: "qini_curve", curve: Curve::Qini })))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(uplift_accumulator(CurvePoints { name: "qini_curve", curve: Curve::Qini })))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
