//! The rows of a group for the models that need every row (a logistic regression's Newton
//! passes, a decision tree's splits): the feature list and a 0/1 label per row, row-major (8
//! bytes per feature and label, counted in the memory pool). A model implements [`RowsModel`]
//! with its own evaluation.
//!
//! Rows are moved, not copied, between the partial and the final aggregate: a state hands its
//! rows out as the Arrow buffer of the state column, and a merge keeps the buffers it receives
//! (shared, read-only) as parts of the group. They are copied once, when the model puts them in
//! one order ([`LabelledRows::order_canonically`]) or reads them as one slice
//! ([`LabelledRows::rows`]). A large group's rows are written to fresh memory twice instead of
//! four times, and fresh memory is what costs: the kernel clears every new page.

use std::fmt::Debug;
use std::marker::PhantomData;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::utils::format_state_name;

use super::regression_args::{binary_label, check_dim};
use crate::common::{feature_lists, float_list_array, FloatListRow, FloatLists, ListOffsets};
use crate::group_state::GroupState;

/// A model fitted on [`LabelledRows`].
pub(super) trait RowsModel: Debug + Send + Sync + Sized + 'static {
    /// The SQL function, for errors.
    const NAME: &'static str;
    type Params: Debug + Send + Sync + 'static;

    /// The fits of `groups`, one row per group.
    fn evaluate(params: &Self::Params, groups: &mut [LabelledRows<Self>]) -> Result<ArrayRef>;
}

/// The rows of one group, row-major: the features, then the label (0 or 1). Rows with a NULL or
/// NaN label or feature are left out; another label is an error. The rows are the parts (Arrow
/// buffers received from or handed to a state), then `values` (rows added since).
#[derive(Debug)]
pub(super) struct LabelledRows<M> {
    pub(super) dim: Option<usize>,
    parts: Vec<ScalarBuffer<f64>>,
    values: Vec<f64>,
    model: PhantomData<M>,
}

impl<M> Default for LabelledRows<M> {
    fn default() -> Self {
        Self { dim: None, parts: Vec::new(), values: Vec::new(), model: PhantomData }
    }
}

impl<M> LabelledRows<M> {
    /// The number of rows.
    pub(super) fn len(&self) -> usize {
        self.dim.map_or(0, |d| self.numbers() / (d + 1))
    }

    /// The numbers held, features and labels.
    fn numbers(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum::<usize>() + self.values.len()
    }

    /// The rows as one row-major slice (the parts are copied into it the first time).
    pub(super) fn rows(&mut self) -> &[f64] {
        if !self.parts.is_empty() {
            let mut values = Vec::with_capacity(self.numbers());
            self.parts.drain(..).for_each(|p| values.extend_from_slice(&p));
            values.extend_from_slice(&self.values);
            self.values = values;
        }
        &self.values
    }

    /// The rows as one Arrow buffer, for a state: moved out of `values` without a copy when the
    /// group has no other part, and kept as the group's only part.
    fn buffer(&mut self) -> ScalarBuffer<f64> {
        if let ([part], true) = (self.parts.as_slice(), self.values.is_empty()) {
            return part.clone();
        }
        self.rows();
        let buffer = ScalarBuffer::from(std::mem::take(&mut self.values));
        self.parts = vec![buffer.clone()];
        buffer
    }

    /// Puts the rows in one canonical order, so a fit's sums, and therefore its bits, do not
    /// depend on how the rows were split into partitions and in which order their states were
    /// merged (on a cluster, tasks finish in any order): by a 64-bit hash of the row's bits, equal
    /// hashes by the values (no row holds a NaN). The order is pseudo-random, so any run of it is
    /// a random sample of the rows. Afterwards [`Self::rows`] reads them without a copy; they stay
    /// the group's rows (the state remains valid).
    ///
    /// The rows are copied once, bucket by bucket (the hash's top bits), into the memory they
    /// end in; each bucket is then sorted in cache, in place. The buckets are shared among the
    /// machine's cores. Besides the rows, the call holds two 8-byte hashes per row while it runs.
    pub(super) fn order_canonically(&mut self) {
        let Some(dim) = self.dim else { return };
        let q = dim + 1;
        let n = self.len();
        let mut sources: Vec<&[f64]> = self.parts.iter().map(|p| &p[..]).collect();
        sources.push(&self.values);
        let bits = if n < 1 << 12 { 0 } else { BUCKET_BITS };
        let bucket = |h: u64| if bits == 0 { 0 } else { (h >> (64 - bits)) as usize };
        let threads = std::thread::available_parallelism().map_or(1, usize::from).clamp(1, 1 << bits);
        // the hashes, in the order of the sources' rows, one source after the other
        let mut hashes = vec![0_u64; n];
        let per_thread = n.div_ceil(threads).max(1);
        let sources = &sources;
        run(hashes
            .chunks_mut(per_thread)
            .enumerate()
            .map(|(t, out)| {
                move || {
                    let rows = rows_from(sources, q, t * per_thread);
                    out.iter_mut().zip(rows).for_each(|(h, r)| *h = row_hash(r));
                }
            })
            .collect());
        // the buckets' first rows
        let mut starts = vec![0_usize; (1 << bits) + 1];
        for h in &hashes {
            starts[bucket(*h) + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        // a contiguous range of buckets per thread, about n / threads rows each
        let mut cuts = vec![0_usize];
        for t in 1..threads {
            let cut = starts.partition_point(|&s| s < n * t / threads).min(1 << bits);
            cuts.push(cut.max(cuts[cuts.len() - 1]));
        }
        cuts.push(1 << bits);
        let mut ordered = vec![0.0; n * q];
        // each thread copies the rows of its buckets into place, then sorts each bucket in place
        // through a bucket-sized scratch copy (its ranges of `ordered` are its own)
        let mut tasks = Vec::new();
        {
            let mut rows_left = ordered.as_mut_slice();
            for range in cuts.windows(2) {
                let (first, last) = (range[0], range[1]);
                let (rows, rest) = std::mem::take(&mut rows_left).split_at_mut((starts[last] - starts[first]) * q);
                rows_left = rest;
                let (hashes, starts) = (&hashes, &starts);
                tasks.push(move || {
                    let bucket_of = |b: usize| starts[b] - starts[first]..starts[b + 1] - starts[first];
                    let mut keys = vec![0_u64; rows.len() / q];
                    let mut next: Vec<usize> = (first..last).map(|b| bucket_of(b).start).collect();
                    for (row, &h) in rows_from(sources, q, 0).zip(hashes) {
                        let b = bucket(h);
                        if (first..last).contains(&b) {
                            let k = next[b - first];
                            next[b - first] += 1;
                            rows[k * q..(k + 1) * q].copy_from_slice(row);
                            keys[k] = h;
                        }
                    }
                    let (mut order, mut scratch) = (Vec::new(), Vec::new());
                    for b in first..last {
                        let span = bucket_of(b);
                        let (bucket_rows, bucket_keys) = (&mut rows[span.start * q..span.end * q], &keys[span.clone()]);
                        scratch.clear();
                        scratch.extend_from_slice(bucket_rows);
                        order.clear();
                        order.extend(0..span.len());
                        order.sort_unstable_by(|&a: &usize, &c: &usize| {
                            bucket_keys[a].cmp(&bucket_keys[c]).then_with(|| {
                                let (x, y) = (&scratch[a * q..(a + 1) * q], &scratch[c * q..(c + 1) * q]);
                                x.iter()
                                    .zip(y)
                                    .map(|(u, v)| u.total_cmp(v))
                                    .find(|o| o.is_ne())
                                    .unwrap_or(std::cmp::Ordering::Equal)
                            })
                        });
                        for (slot, &r) in bucket_rows.chunks_exact_mut(q).zip(&order) {
                            slot.copy_from_slice(&scratch[r * q..(r + 1) * q]);
                        }
                    }
                });
            }
        }
        run(tasks);
        drop(hashes);
        self.parts.clear();
        self.values = ordered;
    }
}

/// Runs the tasks, each on its own thread when there are several.
fn run<F: FnOnce() + Send>(tasks: Vec<F>) {
    if tasks.len() <= 1 {
        tasks.into_iter().for_each(|task| task());
        return;
    }
    std::thread::scope(|scope| {
        for task in tasks {
            scope.spawn(task);
        }
    });
}

/// The rows of the sources (row-major, `q` numbers a row), one source after the other, from
/// row `first` on.
fn rows_from<'a>(sources: &'a [&'a [f64]], q: usize, first: usize) -> impl Iterator<Item = &'a [f64]> {
    let mut skip = first;
    sources.iter().flat_map(move |source| {
        let start = skip.min(source.len() / q);
        skip -= start;
        source[start * q..].chunks_exact(q)
    })
}

/// The hash bits that pick a row's bucket in [`LabelledRows::order_canonically`] (1,024
/// buckets: ten million rows of eleven numbers make buckets of under 1 MiB).
const BUCKET_BITS: u32 = 10;

/// A 64-bit hash of a row's bits (a multiply-xorshift mix per value, SplitMix64's finaliser).
fn row_hash(row: &[f64]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for v in row {
        h = (h ^ v.to_bits()).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 31;
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// The state fields: the feature count and the rows.
pub(super) fn state_fields(name: &str) -> Vec<FieldRef> {
    vec![
        Arc::new(Field::new(format_state_name(name, "dim"), DataType::Int64, true)),
        Arc::new(Field::new(format_state_name(name, "rows"), DataType::new_list(DataType::Float64, true), true)),
    ]
}

impl<M: RowsModel> GroupState for LabelledRows<M> {
    type Params = M::Params;

    fn update(
        _: &M::Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let features = feature_lists(M::NAME, &values[1])?;
        let lists = FloatLists::new(features.as_list::<i32>());
        for row in 0..values[0].len() {
            let Some(g) = group_of(row) else { continue };
            let Some(label) = binary_label(M::NAME, &values[0], row)? else { continue };
            let FloatListRow::Values(features) = lists.row(row) else { continue };
            if features.iter().any(|x| x.is_nan()) {
                continue;
            }
            let group = &mut groups[g];
            check_dim(M::NAME, &mut group.dim, features)?;
            group.values.extend_from_slice(features);
            group.values.push(label);
        }
        Ok(())
    }

    fn state(_: &M::Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let dims: Int64Array = groups.iter().map(|g| g.dim.map(|d| d as i64)).collect();
        let rows = if let [group] = groups {
            // one group (no GROUP BY): its rows leave as they are, without a copy
            let buffer = group.buffer();
            let mut offsets = ListOffsets::new(M::NAME);
            offsets.push(buffer.len())?;
            let nulls = group.dim.is_none().then(|| vec![false].into());
            Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(DataType::Float64, true)),
                offsets.finish(),
                Arc::new(Float64Array::new(buffer, None)),
                nulls,
            ))
        } else {
            // several groups share one values buffer: each group's rows are copied into it
            for group in groups.iter_mut().filter(|g| g.parts.len() > 1 || (g.parts.len() == 1 && !g.values.is_empty()))
            {
                group.rows();
            }
            float_list_array(
                M::NAME,
                groups.iter().map(|g| g.dim.map(|_| g.parts.first().map_or(g.values.as_slice(), |p| &p[..]))),
            )?
        };
        Ok(vec![Arc::new(dims), rows])
    }

    fn merge(_: &M::Params, groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        let dims = states[0].as_primitive::<Int64Type>();
        let lists = states[1].as_list::<i32>();
        let values = lists.values().as_primitive::<Float64Type>().values();
        let offsets = lists.value_offsets();
        for row in 0..lists.len() {
            if dims.is_null(row) || lists.is_null(row) {
                continue;
            }
            let group = &mut groups[group_of(row)];
            let dim = dims.value(row) as usize;
            match group.dim {
                Some(d) if d != dim => {
                    return exec_err!("{}: feature vectors must all have the same length, got {d} and {dim}", M::NAME)
                }
                _ => group.dim = Some(dim),
            }
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            if end > start {
                // the state's buffer, shared: a slice of it is an Arc, not a copy
                group.parts.push(values.slice(start, end - start));
            }
        }
        Ok(())
    }

    fn evaluate(params: &M::Params, groups: &mut [Self]) -> Result<ArrayRef> {
        M::evaluate(params, groups)
    }

    fn size(&self) -> usize {
        (self.values.capacity() + self.parts.iter().map(|p| p.len()).sum::<usize>()) * size_of::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Rows;

    impl RowsModel for Rows {
        const NAME: &'static str = "rows";
        type Params = ();

        fn evaluate((): &(), _: &mut [LabelledRows<Self>]) -> Result<ArrayRef> {
            unreachable!("not evaluated in these tests")
        }
    }

    #[test]
    fn rows_come_in_one_order_whatever_order_they_came_in() {
        let rows =
            [[3.0, 1.0, 0.0], [1.0, 2.0, 1.0], [1.0, -0.0, 0.0], [3.0, 1.0, 1.0], [1.0, 2.0, 1.0], [-5.0, 9.0, 0.0]];
        let ordered = |rows: &[[f64; 3]]| -> Vec<f64> {
            let mut group =
                LabelledRows::<Rows> { dim: Some(2), parts: Vec::new(), values: rows.concat(), model: PhantomData };
            group.order_canonically();
            group.rows().to_vec()
        };
        let expected = ordered(&rows);
        for rotation in 0..rows.len() {
            let mut shuffled = rows.to_vec();
            shuffled.rotate_left(rotation);
            shuffled.swap(0, rotation);
            assert_eq!(ordered(&shuffled), expected, "rotation {rotation}");
        }
        // enough rows for the buckets and threads: the order is the rows sorted by (hash, values)
        let rows: Vec<[f64; 3]> =
            (0..50_000_u32).map(|i| [f64::from(i % 1_000), f64::from(i % 7) * 0.5, f64::from(i % 3 == 0)]).collect();
        let mut expected = rows.clone();
        expected.sort_by(|a, b| {
            row_hash(a).cmp(&row_hash(b)).then_with(|| {
                a.iter().zip(b).map(|(u, v)| u.total_cmp(v)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
            })
        });
        assert_eq!(ordered(&rows), expected.concat());
        let mut reversed = rows;
        reversed.reverse();
        assert_eq!(ordered(&reversed), expected.concat());
        // the same rows held as parts (merged states) and values: the same order
        let flat = reversed.concat();
        let mut parted = LabelledRows::<Rows> {
            dim: Some(2),
            parts: vec![
                ScalarBuffer::from(flat[..3 * 9_000].to_vec()),
                ScalarBuffer::from(flat[3 * 9_000..3 * 30_000].to_vec()),
            ],
            values: flat[3 * 30_000..].to_vec(),
            model: PhantomData,
        };
        assert_eq!(parted.len(), 50_000);
        parted.order_canonically();
        assert_eq!(parted.rows(), expected.concat().as_slice());
        let mut empty = LabelledRows::<Rows>::default();
        empty.order_canonically();
        assert!(empty.rows().is_empty());
    }

    #[test]
    fn states_move_their_rows_and_merges_keep_them() -> Result<()> {
        let group = |rows: &[[f64; 3]]| LabelledRows::<Rows> {
            dim: Some(2),
            parts: Vec::new(),
            values: rows.concat(),
            model: PhantomData,
        };
        let (a, b, c) = ([[1.0, 2.0, 1.0], [3.0, 4.0, 0.0]], [[5.0, 6.0, 1.0]], [[7.0, 8.0, 0.0], [9.0, 1.0, 1.0]]);
        // one group: its rows leave without a copy and stay its rows
        let mut single = vec![group(&a)];
        let state_a = LabelledRows::state(&(), &mut single)?;
        assert_eq!(single[0].len(), 2);
        single[0].values.extend_from_slice(&[0.5, 0.5, 0.0]);
        assert_eq!(single[0].rows(), &[1.0, 2.0, 1.0, 3.0, 4.0, 0.0, 0.5, 0.5, 0.0]);
        // several groups, one of them empty
        let mut several = vec![group(&b), LabelledRows::default(), group(&c)];
        let state_bc = LabelledRows::state(&(), &mut several)?;
        assert!(state_bc[1].is_null(1));
        let mut merged = vec![LabelledRows::<Rows>::default(), LabelledRows::default()];
        LabelledRows::merge(&(), &mut merged, &state_a, |_| 0)?;
        LabelledRows::merge(&(), &mut merged, &state_bc, |row| row % 2)?;
        assert_eq!(merged[0].len(), 5);
        assert_eq!(merged[1].len(), 0);
        merged[0].order_canonically();
        let mut all = group(&[a[0], a[1], b[0], c[0], c[1]]);
        all.order_canonically();
        assert_eq!(merged[0].rows(), all.rows());
        Ok(())
    }
}
