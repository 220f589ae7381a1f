//! The two-sided sample behind `psi`, `psi_bins` and `js_divergence`: argument checks, the
//! per-group state (expected and actual values, categories, or counts on fixed cut points)
//! and its bins. Each function file implements [`SampleMeasure`] on the bins.

use datafusion::common::HashMap;
use std::fmt::Debug;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, UInt64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Signature, TypeSignature, Volatility};

use super::binning::{
    bin_of, numeric_bins, quantile_edges, with_missing, Bin, DEFAULT_BINS, DEFAULT_EPSILON, MAX_BINS,
};
use crate::common::{
    fix_cut_points, float_list_array, for_each_float_list, literal_arg, FloatListRow, FloatLists, ListOffsets,
    LiteralArg,
};
use crate::group_state::{GroupState, GroupsOf};

/// How values are binned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Binning {
    /// Numeric: cut points at the expected sample's quantiles; keeps the values.
    Quantiles(usize),
    /// Numeric: cut points given by the third argument (the same on every row of a group).
    Edges,
    /// Strings and booleans: one bin per category seen on either side.
    Categories,
}

/// What one two-sided sample aggregate computes from its groups' bins (`psi`, `psi_bins`,
/// `js_divergence`).
pub(crate) trait SampleMeasure: Debug + Send + Sync + 'static {
    /// The SQL function, for errors.
    fn name(&self) -> &'static str;

    /// One result row per group from its bins (the missing bin last); `epsilon` is the smoothing.
    fn evaluate(&self, groups: &[Vec<Bin>], epsilon: f64) -> Result<ArrayRef>;
}

/// Constant arguments of a two-sided sample aggregate.
#[derive(Debug)]
pub(crate) struct SampleParams {
    pub binning: Binning,
    pub epsilon: f64,
    pub measure: Box<dyn SampleMeasure>,
}

/// The accumulator of a two-sided sample aggregate.
pub(crate) fn sample_accumulator(measure: impl SampleMeasure, args: &AccumulatorArgs) -> Result<GroupsOf<Sample>> {
    Ok(GroupsOf::new(SampleParams::from_args(Box::new(measure), args)?))
}

/// Coerces `(value, is_actual [, bins [, epsilon]])`: numbers to Float64, strings and booleans
/// to Utf8 (categories), bins to Int64 (n_bins) or List(Float64) (cut points).
pub(crate) fn coerce_sample_args(name: &str, arg_types: &[DataType], max_args: usize) -> Result<Vec<DataType>> {
    if !(2..=max_args).contains(&arg_types.len()) {
        let usage = if max_args == 4 { "value, is_actual [, bins [, epsilon]]" } else { "value, is_actual [, bins]" };
        return plan_err!("{name} takes 2 to {max_args} arguments ({usage}), got {}", arg_types.len());
    }
    let value = &arg_types[0];
    let categorical = matches!(value, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean);
    let mut coerced = vec![if categorical {
        DataType::Utf8
    } else if value.is_numeric() || value.is_null() {
        DataType::Float64
    } else {
        return plan_err!(
            "{name}: the value must be a number (numeric bins) or a string or boolean (categories), got {value}"
        );
    }];
    if !matches!(arg_types[1], DataType::Boolean | DataType::Null) {
        return plan_err!("{name}: is_actual must be a boolean, got {}", arg_types[1]);
    }
    coerced.push(DataType::Boolean);
    if let Some(bins) = arg_types.get(2) {
        coerced.push(match bins {
            b if b.is_null() || b.is_integer() => DataType::Int64,
            _ if categorical => {
                return plan_err!("{name}: categorical values take no bins argument (pass NULL), got {bins}");
            }
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
                if f.data_type().is_numeric() =>
            {
                DataType::new_list(DataType::Float64, true)
            }
            other => return plan_err!("{name}: bins must be an integer n_bins or a list of cut points, got {other}"),
        });
    }
    if let Some(epsilon) = arg_types.get(3) {
        if !epsilon.is_numeric() {
            return plan_err!("{name}: epsilon must be a number, got {epsilon}");
        }
        coerced.push(DataType::Float64);
    }
    Ok(coerced)
}

impl SampleParams {
    fn from_args(measure: Box<dyn SampleMeasure>, args: &AccumulatorArgs) -> Result<Self> {
        let name = measure.name();
        let literal = |i: usize| match literal_arg(args.exprs, i) {
            LiteralArg::Value(v) => Some(v),
            LiteralArg::Absent | LiteralArg::NotLiteral => None,
        };
        let binning = if args.expr_fields[0].data_type() == &DataType::Utf8 {
            if args.exprs.len() > 2 && !matches!(literal(2), Some(ScalarValue::Int64(None))) {
                return plan_err!("{name}: categorical values take no bins argument (pass NULL)");
            }
            Binning::Categories
        } else {
            match (args.expr_fields.get(2).map(|f| f.data_type()), literal(2)) {
                (None, _) | (Some(DataType::Int64), Some(ScalarValue::Int64(None))) => Binning::Quantiles(DEFAULT_BINS),
                (Some(DataType::Int64), Some(ScalarValue::Int64(Some(n)))) if (2..=MAX_BINS as i64).contains(n) => {
                    Binning::Quantiles(*n as usize)
                }
                (Some(DataType::Int64), Some(other)) => {
                    return plan_err!("{name}: n_bins must be between 2 and {MAX_BINS}, got {other}");
                }
                (Some(DataType::Int64), None) => return plan_err!("{name}: n_bins must be a literal integer"),
                _ => Binning::Edges,
            }
        };
        let epsilon = match literal(3) {
            None if args.exprs.len() < 4 => DEFAULT_EPSILON,
            Some(ScalarValue::Float64(Some(e))) if (0.0..1.0).contains(e) => *e,
            Some(other) => return plan_err!("{name}: epsilon must be in [0, 1) (0 turns smoothing off), got {other}"),
            None => return plan_err!("{name}: epsilon must be a literal"),
        };
        Ok(Self { binning, epsilon, measure })
    }
}

/// State fields shared by the sample aggregates.
pub(crate) fn sample_state_fields(name: &str) -> Vec<FieldRef> {
    let list = |item: DataType| DataType::new_list(item, true);
    [
        ("expected_values", list(DataType::Float64)),
        ("actual_values", list(DataType::Float64)),
        ("categories", list(DataType::Utf8)),
        ("expected_counts", list(DataType::UInt64)),
        ("actual_counts", list(DataType::UInt64)),
        ("edges", list(DataType::Float64)),
        ("missing", list(DataType::UInt64)),
    ]
    .into_iter()
    .map(|(field, data_type)| Arc::new(Field::new(format_state_name(name, field), data_type, true)))
    .collect()
}

/// One group's two samples; side 0 is expected, side 1 actual.
#[derive(Debug, Default)]
pub(crate) struct Sample {
    /// Non-NaN values by side (quantile binning).
    values: [Vec<f64>; 2],
    /// Category index (categorical binning).
    index: HashMap<String, usize>,
    /// Category names, or nothing for numeric bins.
    names: Vec<String>,
    /// Counts per category or per fixed bin.
    counts: Vec<[u64; 2]>,
    /// Fixed cut points, from the first row of the group.
    edges: Option<Vec<f64>>,
    /// NULL and NaN values by side.
    missing: [u64; 2],
}

impl Sample {
    fn add_category(&mut self, category: &str, counts: [u64; 2]) {
        let i = match self.index.get(category) {
            Some(&i) => i,
            None => {
                self.index.insert(category.to_string(), self.names.len());
                self.names.push(category.to_string());
                self.counts.push([0, 0]);
                self.names.len() - 1
            }
        };
        self.counts[i][0] += counts[0];
        self.counts[i][1] += counts[1];
    }

    /// Sets the group's cut points on first use, or checks they did not change.
    fn use_edges(&mut self, edges: &[f64], function: &str) -> Result<()> {
        if fix_cut_points(&mut self.edges, edges, function)? {
            self.counts = vec![[0, 0]; edges.len() + 1];
        }
        Ok(())
    }

    /// The bins of this group, the missing bin last. Quantile binning sorts the expected values
    /// in place (no copy); the state keeps its meaning.
    fn bins(&mut self, binning: Binning) -> Vec<Bin> {
        let bins = match binning {
            Binning::Quantiles(n_bins) => {
                let expected = &mut self.values[0];
                expected.sort_unstable_by(f64::total_cmp);
                // NaN never enters the state, so the finite values are one run between -inf and inf
                let start = expected.partition_point(|v| *v == f64::NEG_INFINITY);
                let end = expected.partition_point(|v| *v != f64::INFINITY);
                let edges = quantile_edges(&expected[start..end], n_bins);
                let mut counts = vec![[0u64, 0]; edges.len() + 1];
                for (side, values) in self.values.iter().enumerate() {
                    for &v in values {
                        counts[bin_of(v, &edges)][side] += 1;
                    }
                }
                numeric_bins(&edges, &counts)
            }
            Binning::Edges => match &self.edges {
                Some(edges) => numeric_bins(edges, &self.counts),
                None => Vec::new(),
            },
            Binning::Categories => {
                let mut order: Vec<usize> = (0..self.names.len()).collect();
                order.sort_unstable_by(|&a, &b| self.names[a].cmp(&self.names[b]));
                order
                    .into_iter()
                    .map(|i| Bin { label: self.names[i].clone(), lower: None, upper: None, counts: self.counts[i] })
                    .collect()
            }
        };
        with_missing(bins, self.missing)
    }
}

impl GroupState for Sample {
    type Params = SampleParams;

    fn update(
        params: &SampleParams,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let name = params.measure.name();
        let is_actual = values[1].as_boolean();
        let side_of = |row: usize| (!is_actual.is_null(row)).then(|| usize::from(is_actual.value(row)));
        if params.binning == Binning::Categories {
            let categories = values[0].as_string::<i32>();
            for row in 0..categories.len() {
                let (Some(g), Some(side)) = (group_of(row), side_of(row)) else { continue };
                if categories.is_null(row) {
                    groups[g].missing[side] += 1;
                } else {
                    let mut counts = [0, 0];
                    counts[side] = 1;
                    groups[g].add_category(categories.value(row), counts);
                }
            }
            return Ok(());
        }
        let numbers = values[0].as_primitive::<Float64Type>();
        let edges = (params.binning == Binning::Edges).then(|| FloatLists::new(values[2].as_list::<i32>()));
        for row in 0..numbers.len() {
            let (Some(g), Some(side)) = (group_of(row), side_of(row)) else { continue };
            let group = &mut groups[g];
            let value = numbers.is_valid(row).then(|| numbers.value(row)).filter(|v| !v.is_nan());
            match (value, &edges) {
                (None, _) => group.missing[side] += 1,
                (Some(v), None) => group.values[side].push(v),
                (Some(v), Some(edges)) => {
                    let row_edges = match edges.row(row) {
                        FloatListRow::Values(e) => e,
                        FloatListRow::Null => return exec_err!("{name}: the cut points must not be NULL"),
                        FloatListRow::HasNull => return exec_err!("{name}: the cut points must not contain NULL"),
                    };
                    group.use_edges(row_edges, name)?;
                    group.counts[bin_of(v, row_edges)][side] += 1;
                }
            }
        }
        Ok(())
    }

    fn state(params: &SampleParams, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let name = params.measure.name();
        let groups: &[Self] = groups;
        let counts = |of: &dyn Fn(&Self) -> Vec<u64>| -> Result<ArrayRef> {
            let mut offsets = ListOffsets::new(name);
            let mut values = Vec::new();
            for g in groups {
                values.extend(of(g));
                offsets.push(values.len())?;
            }
            Ok(Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(DataType::UInt64, true)),
                offsets.finish(),
                Arc::new(UInt64Array::from(values)),
                None,
            )))
        };
        let mut name_offsets = ListOffsets::new(name);
        let mut names: Vec<&str> = Vec::new();
        for g in groups {
            names.extend(g.names.iter().map(String::as_str));
            name_offsets.push(names.len())?;
        }
        let categories: ArrayRef = Arc::new(ListArray::new(
            Arc::new(Field::new_list_field(DataType::Utf8, true)),
            name_offsets.finish(),
            Arc::new(StringArray::from(names)),
            None,
        ));
        Ok(vec![
            float_list_array(name, groups.iter().map(|g| Some(g.values[0].as_slice())))?,
            float_list_array(name, groups.iter().map(|g| Some(g.values[1].as_slice())))?,
            categories,
            counts(&|g| g.counts.iter().map(|c| c[0]).collect())?,
            counts(&|g| g.counts.iter().map(|c| c[1]).collect())?,
            float_list_array(name, groups.iter().map(|g| g.edges.as_deref()))?,
            counts(&|g| g.missing.to_vec())?,
        ])
    }

    fn merge(
        params: &SampleParams,
        groups: &mut [Self],
        states: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()> {
        for_each_float_list(&states[..2], |row, side, values| {
            groups[group_of(row)].values[side].extend_from_slice(values);
        });
        let lists: Vec<_> = states.iter().map(|s| s.as_list::<i32>()).collect();
        for row in 0..lists[0].len() {
            let group = &mut groups[group_of(row)];
            let missing = lists[6].value(row);
            let missing = missing.as_primitive::<UInt64Type>();
            for side in 0..missing.len().min(2) {
                group.missing[side] += missing.value(side);
            }
            let expected = lists[3].value(row);
            let actual = lists[4].value(row);
            let (expected, actual) = (expected.as_primitive::<UInt64Type>(), actual.as_primitive::<UInt64Type>());
            if lists[5].is_valid(row) {
                let edges = lists[5].value(row);
                group.use_edges(edges.as_primitive::<Float64Type>().values(), params.measure.name())?;
                for (bin, counts) in group.counts.iter_mut().enumerate() {
                    counts[0] += expected.value(bin);
                    counts[1] += actual.value(bin);
                }
            } else {
                let names = lists[2].value(row);
                let names = names.as_string::<i32>();
                for i in 0..names.len() {
                    group.add_category(names.value(i), [expected.value(i), actual.value(i)]);
                }
            }
        }
        Ok(())
    }

    fn evaluate(params: &SampleParams, groups: &mut [Self]) -> Result<ArrayRef> {
        let bins: Vec<Vec<Bin>> = groups.iter_mut().map(|g| g.bins(params.binning)).collect();
        params.measure.evaluate(&bins, params.epsilon)
    }

    fn size(&self) -> usize {
        (self.values[0].capacity() + self.values[1].capacity()) * size_of::<f64>()
            + self.names.iter().map(|n| 2 * n.capacity() + 2 * size_of::<String>() + 16).sum::<usize>()
            + self.counts.capacity() * size_of::<[u64; 2]>()
            + self.edges.as_ref().map_or(0, |e| e.capacity() * size_of::<f64>())
    }
}

/// `(value, is_actual [, bins [, epsilon]])`: UserDefined coerces (see [`coerce_sample_args`]);
/// the Exact variants document the usual argument types for SHOW FUNCTIONS.
pub(crate) fn sample_signature() -> Signature {
    let list = DataType::new_list(DataType::Float64, true);
    Signature::one_of(
        vec![
            TypeSignature::UserDefined,
            TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean]),
            TypeSignature::Exact(vec![DataType::Utf8, DataType::Boolean]),
            TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean, DataType::Int64]),
            TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean, list]),
        ],
        Volatility::Immutable,
    )
}
