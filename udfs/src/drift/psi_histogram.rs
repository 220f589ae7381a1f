//! `psi_histogram(value, edges)`: counts per bin on fixed cut points, for `psi_from_counts`.

use std::mem::size_of;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray, Float64Array, Int64Array, ListArray, PrimitiveArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{ArrowNativeType, DataType, Field, FieldRef, Float64Type, Int32Type, Int64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, Expr, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::binning::{bin_of, COUNTED_EDGES};
use super::shared_edges::shared_edges_type;
use crate::common::{fix_cut_points, same_bits, FloatListRow, FloatLists, ListOffsets};
use crate::group_state::{GroupState, GroupsOf};

#[user_doc(
    doc_section(label = "Drift Functions"),
    description = "Counts of the group's values in the bins of fixed cut points c_1 < ... < c_k (finite, strictly increasing, the same on every row of a group, \
for example psi_edges of a baseline): a list of k + 2 counts, for (-inf, c_1], (c_1, c_2], ..., (c_k, +inf) and, last, the NULL and NaN values. \
Keeps only the counts (O(bins) memory), so a month of 100M rows streams. Compare two histograms with psi_from_counts. A group without cut points \
(no rows) gives NULL. One pass over a wide table bins every feature against its baseline: cross-join the one row of cut points, made with \
shared_edges(psi_edges(...)) so the join repeats a dictionary key rather than a list per row (see sql/drift_monitor.sql); a long table of \
(feature, month, value) rows joined to each feature's cut points gains the same from shared_edges(psi_edges(value, 10)) AS cuts in the edges \
query; or take them from a scalar subquery, psi_histogram(age, (SELECT age FROM edges)), whose edges the optimizer wraps in shared_edges itself (not on a Ballista cluster, \
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
}

#[inline]
fn edges_of(row: FloatListRow<'_>) -> Result<&[f64]> {
    match row {
        FloatListRow::Values(e) => Ok(e),
        FloatListRow::Null => exec_err!("psi_histogram: the cut points must not be NULL"),
        FloatListRow::HasNull => exec_err!("psi_histogram: the cut points must not contain NULL"),
    }
}

/// Counts the rows in runs of the same cut points: a run extends while `same_source(first, row)`
/// (the same dictionary key) or the row's cut points equal the run's bit for bit, and each run is
/// counted by the tight loop of [`count_rows`] — once per batch for edges from a scalar subquery,
/// once per feature's batch for a long table joined to its cut points, and one comparison of the
/// cut points per row (not a bin search through the checks) for a list on every row. A row whose
/// cut points are invalid (NULL, a NULL element, a bad key) is an error when it belongs to a group.
fn update_runs<'a>(
    groups: &mut [Histogram],
    numbers: &PrimitiveArray<Float64Type>,
    group_of: impl Fn(usize) -> Option<usize>,
    edges_at: impl Fn(usize) -> Result<&'a [f64]>,
    same_source: impl Fn(usize, usize) -> bool,
) -> Result<()> {
    let rows = numbers.len();
    let mut start = 0;
    while start < rows {
        let edges = match edges_at(start) {
            Ok(edges) => edges,
            Err(e) if group_of(start).is_some() => return Err(e),
            Err(_) => {
                start += 1;
                continue;
            }
        };
        let mut end = start + 1;
        while end < rows && (same_source(start, end) || edges_at(end).is_ok_and(|row| same_bits(edges, row))) {
            end += 1;
        }
        count_rows(groups, numbers, start..end, edges, &group_of)?;
        start = end;
    }
    Ok(())
}

/// The offsets and values of lists without a NULL list or element, whose rows need no checks.
fn valid_lists(lists: &ListArray) -> Option<(&[i32], &[f64])> {
    let values = lists.values().as_primitive_opt::<Float64Type>()?;
    (lists.null_count() == 0 && values.null_count() == 0).then(|| (lists.value_offsets(), values.values().as_ref()))
}

/// [`update_runs`] for cut points known valid (no NULL key, list or element; keys in range): the
/// cut points of row `row` are list `list_of(row)`, so no row's lookup can fail.
fn update_valid_runs(
    groups: &mut [Histogram],
    numbers: &PrimitiveArray<Float64Type>,
    group_of: impl Fn(usize) -> Option<usize>,
    offsets: &[i32],
    values: &[f64],
    list_of: impl Fn(usize) -> usize,
) -> Result<()> {
    let edges_of = |list: usize| &values[offsets[list].as_usize()..offsets[list + 1].as_usize()];
    update_runs(groups, numbers, group_of, |row| Ok(edges_of(list_of(row))), |a, b| list_of(a) == list_of(b))
}

/// The edges as `shared_edges` gives them: a row's cut points are entry `key` of the dictionary.
fn update_shared(
    groups: &mut [Histogram],
    numbers: &PrimitiveArray<Float64Type>,
    shared: &DictionaryArray<Int32Type>,
    group_of: impl Fn(usize) -> Option<usize>,
) -> Result<()> {
    let Some(lists) = shared.values().as_list_opt::<i32>() else {
        return exec_err!("psi_histogram: the cut points must be a list, got {}", shared.values().data_type());
    };
    let keys = shared.keys();
    if keys.null_count() == 0 && keys.values().iter().all(|&k| usize::try_from(k).is_ok_and(|k| k < lists.len())) {
        if let Some((offsets, values)) = valid_lists(lists) {
            if lists.len() == 1 {
                // one list for the batch (a scalar subquery's, a one-row cross join's): one run
                let edges = &values[offsets[0].as_usize()..offsets[1].as_usize()];
                return count_rows(groups, numbers, 0..numbers.len(), edges, group_of);
            }
            let keys = keys.values();
            return update_valid_runs(groups, numbers, group_of, offsets, values, |row| keys[row].as_usize());
        }
    }
    let edges = FloatLists::new(lists);
    let edges_at = |row: usize| {
        if keys.is_null(row) {
            return exec_err!("psi_histogram: the cut points must not be NULL");
        }
        match usize::try_from(keys.value(row)) {
            Ok(key) if key < lists.len() => edges_of(edges.row(key)),
            _ => exec_err!("psi_histogram: invalid dictionary key {} for the cut points", keys.value(row)),
        }
    };
    let same_key = |a: usize, b: usize| keys.is_valid(b) && keys.value(a) == keys.value(b);
    update_runs(groups, numbers, group_of, edges_at, same_key)
}

/// Runs of one group at least this long are counted a cut point at a time ([`count_run`]), when
/// there are at most [`COUNTED_EDGES`] cut points (more are searched row by row).
const COUNTED_RUN: usize = 64;

/// Counts `rows` of `numbers`, all with the cut points `edges`, in runs of rows of one group: a
/// group's cut points are checked once per run, and a long run without NULLs is counted by
/// [`count_run`]; short runs (groups that alternate row by row) and runs with NULLs row by row.
#[inline]
fn count_rows(
    groups: &mut [Histogram],
    numbers: &PrimitiveArray<Float64Type>,
    rows: Range<usize>,
    edges: &[f64],
    group_of: impl Fn(usize) -> Option<usize>,
) -> Result<()> {
    let missing = edges.len() + 1;
    let nulls = numbers.nulls();
    let values = numbers.values();
    let mut row = rows.start;
    while row < rows.end {
        let Some(g) = group_of(row) else {
            row += 1;
            continue;
        };
        let mut end = row + 1;
        while end < rows.end && group_of(end) == Some(g) {
            end += 1;
        }
        let group = &mut groups[g];
        group.use_edges(edges)?;
        let run = &values[row..end];
        if run.len() >= COUNTED_RUN
            && edges.len() <= COUNTED_EDGES
            && nulls.is_none_or(|n| n.slice(row, run.len()).null_count() == 0)
        {
            count_run(&mut group.counts, run, edges);
        } else {
            for (i, &x) in run.iter().enumerate() {
                let at =
                    if x.is_nan() || nulls.is_some_and(|n| n.is_null(row + i)) { missing } else { bin_of(x, edges) };
                group.counts[at] += 1;
            }
        }
        row = end;
    }
    Ok(())
}

/// Adds the bins of `run` (no NULLs) to `counts` (`edges.len() + 2` of them) one cut point at a
/// time: `above[k]`, the values greater than c_k, is a pass the compiler vectorises (NaN is
/// greater than none); bin 0 holds the numbers not above c_0, bin k the values above c_(k-1)
/// but not c_k (the cut points ascend, so the sets nest), the last numeric bin those above the
/// last cut point, and the missing bin the NaNs — the counts `bin_of` gives row by row.
fn count_run(counts: &mut [i64], run: &[f64], edges: &[f64]) {
    let count = |above: fn(f64, f64) -> bool, edge: f64| -> i64 {
        let n: usize = run.iter().map(|&x| usize::from(above(x, edge))).sum();
        i64::try_from(n).unwrap_or(i64::MAX)
    };
    let nan = count(|x, _| x.is_nan(), 0.0);
    let numbers = i64::try_from(run.len()).unwrap_or(i64::MAX) - nan;
    // the numbers above the previous cut point (all of them before the first)
    let mut above_previous = numbers;
    for (k, &edge) in edges.iter().enumerate() {
        let above = count(|x, e| x > e, edge);
        counts[k] += above_previous - above;
        above_previous = above;
    }
    counts[edges.len()] += above_previous;
    counts[edges.len() + 1] += nan;
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
        if values[1].len() != numbers.len() {
            return exec_err!("psi_histogram: {} cut-point rows for {} values", values[1].len(), numbers.len());
        }
        if let Some(shared) = values[1].as_dictionary_opt::<Int32Type>() {
            return update_shared(groups, numbers, shared, group_of);
        }
        let Some(lists) = values[1].as_list_opt::<i32>() else {
            return exec_err!("psi_histogram: the cut points must be a list, got {}", values[1].data_type());
        };
        if let Some((offsets, values)) = valid_lists(lists) {
            return update_valid_runs(groups, numbers, group_of, offsets, values, |row| row);
        }
        let edges = FloatLists::new(lists);
        update_runs(groups, numbers, group_of, |row| edges_of(edges.row(row)), |_, _| false)
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

#[cfg(test)]
mod tests {
    use super::{GroupState, Histogram};
    use arrow::array::{ArrayRef, DictionaryArray, Float64Array, Int32Array, ListArray};
    use arrow::datatypes::Float64Type;
    use std::sync::Arc;

    fn lists(rows: &[Option<Vec<f64>>]) -> ListArray {
        ListArray::from_iter_primitive::<Float64Type, _, _>(
            rows.iter().map(|r| r.as_ref().map(|e| e.iter().map(|&x| Some(x)).collect::<Vec<_>>())),
        )
    }

    /// Each of three groups' counts, or the error's message.
    fn counts(
        edges: ArrayRef,
        values: &[f64],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<Vec<Vec<i64>>, String> {
        let mut groups: Vec<Histogram> = (0..3).map(|_| Histogram::default()).collect();
        let numbers: ArrayRef = Arc::new(Float64Array::from(values.to_vec()));
        Histogram::update(&(), &mut groups, &[numbers, edges], group_of).map_err(|e| e.to_string())?;
        Ok(groups.into_iter().map(|g| g.counts).collect())
    }

    fn first(got: Result<Vec<Vec<i64>>, String>) -> Result<Vec<i64>, String> {
        got.map(|groups| groups[0].clone())
    }

    fn fails_with(got: Result<Vec<Vec<i64>>, String>, message: &str) {
        assert!(got.as_ref().is_err_and(|e| e.contains(message)), "{got:?} does not fail with {message}");
    }

    /// Runs of cut points in one batch (a long table joined to each feature's cut points): lists
    /// per row and dictionary keys that switch between groups count as row by row would.
    #[test]
    fn runs_of_cut_points_count_each_row_in_its_groups_bins() {
        let (low, high) = (vec![1.0, 2.0], vec![10.0, 20.0, 30.0]);
        // rows 0-2 and 6-7 in group 0 with `low`, rows 3-5 in group 1 with `high`, row 8 in group 2 with `low`
        let group = [0, 0, 0, 1, 1, 1, 0, 0, 2];
        let values = [0.5, 1.5, 9.0, 5.0, 15.0, 35.0, 2.0, f64::NAN, 1.0];
        let per_row: Vec<Option<Vec<f64>>> =
            group.iter().map(|&g| Some(if g == 1 { high.clone() } else { low.clone() })).collect();
        let want = vec![vec![1, 2, 1, 1], vec![1, 1, 0, 1, 0], vec![1, 0, 0, 0]];
        assert_eq!(counts(Arc::new(lists(&per_row)), &values, |r| Some(group[r])), Ok(want.clone()));
        let keys = Int32Array::from(group.iter().map(|&g| i32::from(g == 1)).collect::<Vec<_>>());
        let shared = DictionaryArray::new(keys, Arc::new(lists(&[Some(low.clone()), Some(high.clone())])));
        assert_eq!(counts(Arc::new(shared), &values, |r| Some(group[r])), Ok(want.clone()));
        // the checked path (a NULL list in the batch, on a row outside any group) counts the same
        let mut with_null = per_row.clone();
        with_null.push(None);
        let mut more_values = values.to_vec();
        more_values.push(0.0);
        let outside = |r: usize| group.get(r).copied();
        assert_eq!(counts(Arc::new(lists(&with_null)), &more_values, outside), Ok(want.clone()));
        // the same list as two dictionary entries is one run
        let keys = Int32Array::from(vec![0, 1, 0, 1, 0, 1, 0, 1, 0]);
        let shared = DictionaryArray::new(keys, Arc::new(lists(&[Some(low.clone()), Some(low.clone())])));
        assert_eq!(counts(Arc::new(shared), &[0.5; 9], |r| Some(r % 3)), Ok(vec![vec![3, 0, 0, 0]; 3]));
        // one list for the batch (a scalar subquery's) is one run
        let shared = DictionaryArray::new(Int32Array::from(vec![0; 9]), Arc::new(lists(&[Some(low.clone())])));
        let got = counts(Arc::new(shared), &[0.5, 1.5, 2.5, 0.5, 1.5, 2.5, 0.5, 1.5, 2.5], |r| Some(r / 3));
        assert_eq!(got, Ok(vec![vec![1, 1, 1, 0]; 3]));
    }

    /// Long runs of one group (counted a cut point at a time) give the bins `bin_of` gives row by
    /// row: values on the cut points, NaN, infinities, NULLs in some runs, 1 to 40 cut points.
    #[test]
    fn long_runs_count_as_row_by_row() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for cuts in [1_u32, 2, 9, 31, 32, 33, 40] {
            let edges: Vec<f64> = (0..cuts).map(|k| f64::from(k) * 2.0 - 10.0).collect();
            let rows = 3_000;
            let values: Vec<Option<f64>> = (0..rows)
                .map(|_| match next() % 40 {
                    0 => Some(f64::NAN),
                    1 => Some(f64::INFINITY),
                    2 => Some(f64::NEG_INFINITY),
                    3 if cuts % 2 == 0 => None,
                    r => Some(f64::from(u32::try_from(r).unwrap_or(0)) - 20.0),
                })
                .collect();
            // runs of 1, 63, 64, 700 and the rest, then alternating rows
            let group: Vec<usize> = (0..rows)
                .map(|r| match r {
                    0 => 0,
                    1..=63 => 1,
                    64..=127 => 2,
                    128..=827 => 0,
                    828..=2_000 => 1,
                    _ => r % 3,
                })
                .collect();
            let mut want = vec![vec![0_i64; edges.len() + 2]; 3];
            for (v, &g) in values.iter().zip(&group) {
                let bin = v.filter(|x| !x.is_nan()).map_or(edges.len() + 1, |x| super::bin_of(x, &edges));
                want[g][bin] += 1;
            }
            let numbers = Float64Array::from(values);
            let mut groups: Vec<Histogram> = (0..3).map(|_| Histogram::default()).collect();
            let got = super::count_rows(&mut groups, &numbers, 0..rows, &edges, |r| Some(group[r]));
            assert!(got.is_ok(), "{got:?}");
            assert_eq!(groups.into_iter().map(|g| g.counts).collect::<Vec<_>>(), want, "{cuts} cut points");
        }
    }

    /// A row with NULL cut points is an error in a group and skipped outside one (a filtered row);
    /// cut points that change within a group are refused inside one run of rows too.
    #[test]
    fn invalid_cut_points_fail_only_on_counted_rows() {
        let rows = [Some(vec![1.0]), None, Some(vec![1.0])];
        let got = counts(Arc::new(lists(&rows)), &[0.0, 5.0, 2.0], |r| (r != 1).then_some(0));
        assert_eq!(first(got), Ok(vec![1, 1, 0]));
        fails_with(counts(Arc::new(lists(&rows)), &[0.0, 5.0, 2.0], |_| Some(0)), "must not be NULL");
        fails_with(
            counts(Arc::new(lists(&[Some(vec![1.0])])), &[0.0, 1.0], |_| Some(0)),
            "1 cut-point rows for 2 values",
        );
        let changing = [Some(vec![1.0]), Some(vec![2.0])];
        fails_with(counts(Arc::new(lists(&changing)), &[0.0, 0.0], |_| Some(0)), "the same on every row of a group");
        let keys = Int32Array::from(vec![Some(0), None, Some(0)]);
        let shared = DictionaryArray::new(keys, Arc::new(lists(&[Some(vec![1.0])])));
        assert_eq!(
            first(counts(Arc::new(shared.clone()), &[0.0, 5.0, 2.0], |r| (r != 1).then_some(0))),
            Ok(vec![1, 1, 0])
        );
        fails_with(counts(Arc::new(shared), &[0.0, 5.0, 2.0], |r| (r == 1).then_some(0)), "must not be NULL");
    }
}
