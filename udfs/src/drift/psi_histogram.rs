//! `psi_histogram(value, edges)`: counts per bin on fixed cut points, for `psi_from_counts`.

use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray, Float64Array, Int64Array, ListArray, PrimitiveArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int32Type, Int64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, Expr, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::binning::bin_of;
use super::shared_edges::shared_edges_type;
use crate::common::{fix_cut_points, FloatListRow, FloatLists, ListOffsets};
use crate::group_state::{GroupState, GroupsOf};

#[user_doc(
    doc_section(label = "Drift Functions"),
    description = "Counts of the group's values in the bins of fixed cut points c_1 < ... < c_k (finite, strictly increasing, the same on every row of a group, \
for example psi_edges of a baseline): a list of k + 2 counts, for (-inf, c_1], (c_1, c_2], ..., (c_k, +inf) and, last, the NULL and NaN values. \
Keeps only the counts (O(bins) memory), so a month of 100M rows streams. Compare two histograms with psi_from_counts. A group without cut points \
(no rows) gives NULL. One pass over a wide table bins every feature against its baseline: cross-join the one row of cut points, made with \
shared_edges(psi_edges(...)) so the join repeats a dictionary key rather than a list per row (see sql/drift_monitor.sql), or take them from a \
scalar subquery, psi_histogram(age, (SELECT age FROM edges)), whose edges the optimizer wraps in shared_edges itself (not on a Ballista cluster, \
which does not plan scalar subqueries in aggregate arguments).",
    syntax_example = "psi_histogram(value, edges)",
    sql_example = r#"```sql
> SELECT psi_histogram(x, [2.0, 3.0, 4.0]) AS counts FROM (VALUES (1.0), (2.5), (3.0), (9.0), (NULL)) t(x);
+-----------------+
| counts          |
+-----------------+
| [1, 2, 0, 1, 1] |
+-----------------+
```"#,
    argument(name = "value", description = "Numeric value."),
    argument(name = "edges", description = "The cut points: a list of numbers.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PsiHistogram {
    signature: Signature,
}

impl Default for PsiHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl PsiHistogram {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Float64, DataType::new_list(DataType::Float64, true)]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl AggregateUDFImpl for PsiHistogram {
    fn name(&self) -> &'static str {
        "psi_histogram"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            // the edges wrapped by `simplify` below
            [value, edges] if (value.is_numeric() || value.is_null()) && *edges == shared_edges_type() => {
                Ok(vec![DataType::Float64, shared_edges_type()])
            }
            [value, DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)]
                if (value.is_numeric() || value.is_null()) && f.data_type().is_numeric() =>
            {
                Ok(vec![DataType::Float64, DataType::new_list(DataType::Float64, true)])
            }
            _ => plan_err!("psi_histogram takes (numeric value, list of cut points), got {arg_types:?}"),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Int64, true))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |item| DataType::new_list(item, true);
        Ok(vec![
            Arc::new(Field::new(format_state_name(args.name, "edges"), list(DataType::Float64), true)),
            Arc::new(Field::new(format_state_name(args.name, "counts"), list(DataType::Int64), true)),
        ])
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<Histogram>::new(())))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    /// Wraps the edges in `shared_edges`: edges from a scalar subquery or a literal are then one
    /// dictionary value per batch instead of a list copied to every row, and rows of a group that
    /// repeat the same dictionary key skip the per-row comparison of the cut points.
    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(Box::new(|mut aggregate, info| {
            if let Some(edges) = aggregate.params.args.get_mut(1) {
                // wrapped already, or a literal the wrapped call was folded into
                let wrapped = matches!(edges, Expr::ScalarFunction(f) if f.name() == "shared_edges")
                    || info.get_data_type(edges).is_ok_and(|t| t == shared_edges_type());
                if !wrapped {
                    *edges = super::shared_edges_udf().call(vec![edges.clone()]);
                }
            }
            Ok(Expr::AggregateFunction(aggregate))
        }))
    }

    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Histogram>::new(())))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Cut points and counts of one group; the last count is the missing bin.
#[derive(Debug, Default)]
struct Histogram {
    edges: Option<Vec<f64>>,
    counts: Vec<i64>,
}

impl Histogram {
    /// Sets the cut points on first use, or checks they did not change.
    #[inline]
    fn use_edges(&mut self, edges: &[f64]) -> Result<()> {
        if fix_cut_points(&mut self.edges, edges, "psi_histogram")? {
            self.counts = vec![0; edges.len() + 2];
        }
        Ok(())
    }

    /// Counts row `row` of `numbers` in its bin (NULL and NaN in the last).
    #[inline]
    fn count(&mut self, numbers: &PrimitiveArray<Float64Type>, row: usize, edges: &[f64]) {
        let bin = match numbers.is_valid(row).then(|| numbers.value(row)).filter(|v| !v.is_nan()) {
            Some(v) => bin_of(v, edges),
            None => self.counts.len() - 1,
        };
        self.counts[bin] += 1;
    }
}

#[inline]
fn edges_of(row: FloatListRow<'_>) -> Result<&[f64]> {
    match row {
        FloatListRow::Values(e) => Ok(e),
        FloatListRow::Null => exec_err!("psi_histogram: the cut points must not be NULL"),
        FloatListRow::HasNull => exec_err!("psi_histogram: the cut points must not contain NULL"),
    }
}

/// The edges as `shared_edges` gives them: a row's cut points are entry `key` of the dictionary.
/// A group's cut points are checked against a row's only when the (group, key) pair differs from
/// the previous row's — once per batch for edges from a scalar subquery.
fn update_shared(
    groups: &mut [Histogram],
    numbers: &PrimitiveArray<Float64Type>,
    shared: &DictionaryArray<Int32Type>,
    group_of: impl Fn(usize) -> Option<usize>,
) -> Result<()> {
    let Some(lists) = shared.values().as_list_opt::<i32>() else {
        return exec_err!("psi_histogram: the cut points must be a list, got {}", shared.values().data_type());
    };
    let edges = FloatLists::new(lists);
    let keys = shared.keys();
    if lists.len() == 1 && keys.null_count() == 0 && keys.values().iter().all(|&k| k == 0) {
        return update_constant(groups, numbers, edges_of(edges.row(0))?, group_of);
    }
    let mut checked: Option<(usize, usize)> = None;
    for row in 0..numbers.len() {
        let Some(g) = group_of(row) else { continue };
        if keys.is_null(row) {
            return exec_err!("psi_histogram: the cut points must not be NULL");
        }
        let key = match usize::try_from(keys.value(row)) {
            Ok(key) if key < lists.len() => key,
            _ => return exec_err!("psi_histogram: invalid dictionary key {} for the cut points", keys.value(row)),
        };
        let row_edges = edges_of(edges.row(key))?;
        let group = &mut groups[g];
        if checked != Some((g, key)) {
            group.use_edges(row_edges)?;
            checked = Some((g, key));
        }
        group.count(numbers, row, row_edges);
    }
    Ok(())
}

/// Every row has the same cut points (a scalar subquery's, a literal's): each group's are checked
/// when the group changes from the previous row's, and the loop reads plain value slices.
fn update_constant(
    groups: &mut [Histogram],
    numbers: &PrimitiveArray<Float64Type>,
    edges: &[f64],
    group_of: impl Fn(usize) -> Option<usize>,
) -> Result<()> {
    count_rows(groups, numbers, edges, group_of, |x| bin_of(x, edges))
}

#[inline]
fn count_rows(
    groups: &mut [Histogram],
    numbers: &PrimitiveArray<Float64Type>,
    edges: &[f64],
    group_of: impl Fn(usize) -> Option<usize>,
    bin: impl Fn(f64) -> usize,
) -> Result<()> {
    let missing = edges.len() + 1;
    let nulls = numbers.nulls();
    let mut last = None;
    for (row, &x) in numbers.values().iter().enumerate() {
        let Some(g) = group_of(row) else { continue };
        let group = &mut groups[g];
        if last != Some(g) {
            group.use_edges(edges)?;
            last = Some(g);
        }
        let at = if x.is_nan() || nulls.is_some_and(|n| n.is_null(row)) { missing } else { bin(x) };
        group.counts[at] += 1;
    }
    Ok(())
}

impl GroupState for Histogram {
    type Params = ();

    fn update(
        _: &(),
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let numbers = values[0].as_primitive::<Float64Type>();
        if let Some(shared) = values[1].as_dictionary_opt::<Int32Type>() {
            return update_shared(groups, numbers, shared, group_of);
        }
        let Some(lists) = values[1].as_list_opt::<i32>() else {
            return exec_err!("psi_histogram: the cut points must be a list, got {}", values[1].data_type());
        };
        let edges = FloatLists::new(lists);
        for row in 0..numbers.len() {
            let Some(g) = group_of(row) else { continue };
            let row_edges = edges_of(edges.row(row))?;
            let group = &mut groups[g];
            group.use_edges(row_edges)?;
            group.count(numbers, row, row_edges);
        }
        Ok(())
    }

    fn state(_: &(), groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let mut edge_offsets = ListOffsets::new("psi_histogram");
        let mut edges: Vec<f64> = Vec::new();
        let mut count_offsets = ListOffsets::new("psi_histogram");
        let mut counts = Vec::new();
        for g in groups.iter() {
            edges.extend(g.edges.iter().flatten());
            edge_offsets.push(edges.len())?;
            counts.extend_from_slice(&g.counts);
            count_offsets.push(counts.len())?;
        }
        let valid = NullBuffer::from(groups.iter().map(|g| g.edges.is_some()).collect::<Vec<_>>());
        Ok(vec![
            Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(DataType::Float64, true)),
                edge_offsets.finish(),
                Arc::new(Float64Array::from(edges)),
                Some(valid.clone()),
            )),
            Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(DataType::Int64, true)),
                count_offsets.finish(),
                Arc::new(Int64Array::from(counts)),
                Some(valid),
            )),
        ])
    }

    fn merge(_: &(), groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        let (edges, counts) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        for row in 0..edges.len() {
            if edges.is_null(row) {
                continue;
            }
            let group = &mut groups[group_of(row)];
            group.use_edges(edges.value(row).as_primitive::<Float64Type>().values())?;
            let row_counts = counts.value(row);
            for (total, n) in group.counts.iter_mut().zip(row_counts.as_primitive::<Int64Type>().values()) {
                *total += n;
            }
        }
        Ok(())
    }

    fn evaluate(_: &(), groups: &mut [Self]) -> Result<ArrayRef> {
        let mut offsets = ListOffsets::new("psi_histogram");
        let mut counts = Vec::new();
        for g in groups.iter() {
            counts.extend_from_slice(&g.counts);
            offsets.push(counts.len())?;
        }
        Ok(Arc::new(ListArray::new(
            Arc::new(Field::new_list_field(DataType::Int64, true)),
            offsets.finish(),
            Arc::new(Int64Array::from(counts)),
            Some(NullBuffer::from(groups.iter().map(|g| g.edges.is_some()).collect::<Vec<_>>())),
        )))
    }

    fn size(&self) -> usize {
        self.edges.as_ref().map_or(0, |e| e.capacity() * size_of::<f64>()) + self.counts.capacity() * size_of::<i64>()
    }
}
