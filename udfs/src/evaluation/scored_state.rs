//! Scores with binary labels: the per-group state behind `auc`, `gini`, `ks_statistic` and
//! `gains_table`. Each of those files implements [`ScoreMeasure`] (what to compute from the
//! group's runs: its distinct scores ascending, each with its rows labelled 0 and 1); this file only
//! holds, merges and sorts the scores.
//!
//! A group counts its rows per distinct score while it has at most [`COUNTED_SCORES`] of them
//! (a scorecard's integer points, a model's rounded probabilities: a few hundred values for
//! millions of rows) and keeps every score once it has more. Counted, a group's state is a few
//! kilobytes however many rows it has, merging adds counts, and the final sort is of the
//! distinct scores: AUC and KS of 51.7M scores in 12 groups no longer sort 51.7M values.
//! When a counting group's scores are integers in a narrow span (a scorecard's points: at most
//! [`DENSE_SPAN`] wide, at most twice their number plus 64), it counts them in an array indexed
//! by the score instead of hashing every row; it looks at 1,024 rows and again at 4, 16, 64 and
//! 256 times as many.

use std::borrow::Cow;
use std::fmt::Debug;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, UInt64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, UInt64Type};
use datafusion::common::{exec_err, plan_err, HashMap, Result};
use datafusion::logical_expr::utils::format_state_name;

use super::label_args::{coerce_label, Labels};
use crate::common::{float_list_array, for_each_float_list, FloatListRow, FloatLists, ListOffsets};
use crate::group_state::{GroupState, GroupsOf};
use crate::stats::roc::{runs_of_sorted, ScoreRun};

/// What one scored-label aggregate computes from a group's runs of sorted scores.
pub(crate) trait ScoreMeasure: Debug + Send + Sync + 'static {
    /// The SQL function, for errors.
    fn name(&self) -> &'static str;

    /// One result row per group, from each group's [`Scored::runs`].
    fn evaluate(&self, groups: &[Scored]) -> Result<ArrayRef>;
}

/// The accumulator of a scored-label aggregate.
pub(crate) fn scored_accumulator(measure: impl ScoreMeasure) -> GroupsOf<Scored> {
    GroupsOf::new(Box::new(measure) as Box<dyn ScoreMeasure>)
}

/// Coerces `(score, label [, extra integer])`.
pub(crate) fn coerce_scored_args(name: &str, arg_types: &[DataType], extra: Option<&str>) -> Result<Vec<DataType>> {
    let max = if extra.is_some() { 3 } else { 2 };
    if !(2..=max).contains(&arg_types.len()) {
        return plan_err!(
            "{name} takes (score, label{}), got {} arguments",
            extra.unwrap_or_default(),
            arg_types.len()
        );
    }
    if !(arg_types[0].is_numeric() || arg_types[0].is_null()) {
        return plan_err!("{name}: the score must be a number, got {}", arg_types[0]);
    }
    let mut coerced = vec![DataType::Float64, coerce_label(name, "label", &arg_types[1])?];
    if let Some(n) = arg_types.get(2) {
        if !n.is_integer() {
            return plan_err!("{name}: n_groups must be an integer, got {n}");
        }
        coerced.push(DataType::Int64);
    }
    Ok(coerced)
}

/// Distinct scores a group counts before it keeps every score instead.
pub(crate) const COUNTED_SCORES: usize = 4096;

/// `negatives` and `positives` hold scores one by one; `counted_scores` the distinct scores
/// counted and `counts` two counts per counted score (rows labelled 0, rows labelled 1).
pub(crate) fn scored_state_fields(name: &str) -> Vec<FieldRef> {
    let list = |side: &str, item: DataType| {
        Arc::new(Field::new(format_state_name(name, side), DataType::new_list(item, true), true))
    };
    vec![
        list("negatives", DataType::Float64),
        list("positives", DataType::Float64),
        list("counted_scores", DataType::Float64),
        list("counts", DataType::UInt64),
    ]
}

/// The scores of one group: counted per distinct score (`counted`, rows labelled 0 and 1; -0.0
/// is counted as 0.0) while there are at most [`COUNTED_SCORES`] of them, then one by one
/// (`listed`, negative [0] and positive [1] rows).
#[derive(Debug, Default)]
pub(crate) struct Scored {
    listed: [Vec<f64>; 2],
    counted: HashMap<u64, [u64; 2]>,
    /// Counted scores sorted by `evaluate` (one run per distinct score), while the group counts.
    runs: Vec<ScoreRun>,
    /// Integer scores counted by position.
    dense: Option<DenseCounts>,
    /// Rows counted while not by position, and the times the group has tried to.
    rows: u64,
    tries: u32,
    /// Every score is listed: the group had more than [`COUNTED_SCORES`] distinct scores.
    overflowed: bool,
}

/// Rows a counting group takes before it first tries [`DenseCounts`]; it tries again at 4, 16,
/// 64 and 256 times as many ([`DENSE_TRIES`] in all).
const DENSE_FIRST_TRY: u64 = 1024;
const DENSE_TRIES: u32 = 5;

/// Widest span of integer scores counted by position (64 KiB of counts).
const DENSE_SPAN: usize = 4096;

/// Whether `span` positions may hold `distinct` scores: no more than twice their number plus
/// 64, so the array (16 bytes a position) is no larger than a hash table of the same scores.
fn dense_fits(span: usize, distinct: usize) -> bool {
    span <= dense_limit(distinct)
}

/// The widest span [`dense_fits`] allows for `distinct` scores.
fn dense_limit(distinct: usize) -> usize {
    DENSE_SPAN.min(2 * distinct + 64)
}

/// Largest magnitude of a score counted by position: integers up to 2^53 are exact in an f64.
const DENSE_MAGNITUDE: f64 = 9_007_199_254_740_992.0;

/// Counts of integer scores `first ..= first + counts.len() - 1` (rows labelled 0 and 1).
#[derive(Debug)]
struct DenseCounts {
    first: i64,
    counts: Vec<[u64; 2]>,
    /// Positions with a row.
    distinct: usize,
}

/// `score` as an integer if it is one the dense counts can hold (-0.0 is 0).
#[inline]
fn integer_score(score: f64) -> Option<i64> {
    exact_integer(score).filter(|_| score.abs() <= DENSE_MAGNITUDE)
}

/// `score` as an integer if converting it back gives the same number (no fraction, not NaN,
/// not infinite; -0.0 is 0). Compares instead of calling `trunc`. The conversion saturates, so
/// ±2^63 come back as `i64::MAX`/`MIN`: callers bound the magnitude ([`integer_score`]) or
/// the position (a span lies within ±2^53 plus [`DENSE_SPAN`]).
#[inline]
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss, clippy::float_cmp)]
fn exact_integer(score: f64) -> Option<i64> {
    let integer = score as i64;
    (integer as f64 == score).then_some(integer)
}

impl DenseCounts {
    /// Counts for the keys of `counted` if every key is an integer score and their span
    /// [`dense_fits`].
    fn of(counted: &HashMap<u64, [u64; 2]>) -> Option<Self> {
        let mut integers = Vec::with_capacity(counted.len());
        for (bits, counts) in counted {
            integers.push((integer_score(f64::from_bits(*bits))?, *counts));
        }
        let first = integers.iter().map(|(score, _)| *score).min()?;
        let last = integers.iter().map(|(score, _)| *score).max()?;
        let distinct = integers.iter().filter(|(_, counts)| *counts != [0, 0]).count();
        let span = usize::try_from(last - first).ok()? + 1;
        if !dense_fits(span, distinct) {
            return None;
        }
        let mut dense = Self { first, counts: vec![[0; 2]; span], distinct };
        for (score, counts) in integers {
            let slot = &mut dense.counts[usize::try_from(score - first).ok()?];
            *slot = counts;
        }
        Some(dense)
    }

    /// The counts of `score` if it is an integer within the span (the path of every row once a
    /// group counts by position).
    #[inline]
    fn slot(&mut self, score: f64) -> Option<&mut [u64; 2]> {
        let position = usize::try_from(exact_integer(score)?.wrapping_sub(self.first)).ok()?;
        self.counts.get_mut(position)
    }

    /// Adds `rows` rows of `score`; `None` if it is not an integer the span can take (after
    /// growing it while it [`dense_fits`]), `Some(true)` if the score is new to the group.
    #[inline]
    fn add(&mut self, score: f64, label: usize, rows: u64) -> Option<bool> {
        let score = integer_score(score)?;
        let position = match usize::try_from(score.wrapping_sub(self.first)) {
            Ok(position) if position < self.counts.len() => position,
            _ => self.grow(score)?,
        };
        let slot = &mut self.counts[position];
        let new = *slot == [0, 0] && rows > 0;
        slot[label] += rows;
        Some(new)
    }

    /// Widens the span to take `score` if it still [`dense_fits`], with room to grow the same
    /// way (up to twice the old span, within the limit); the score's position.
    #[cold]
    fn grow(&mut self, score: i64) -> Option<usize> {
        let len = self.counts.len();
        let old_last = self.first.checked_add(i64::try_from(len).ok()? - 1)?;
        let (mut first, mut last) = (self.first.min(score), old_last.max(score));
        let span = usize::try_from(last.checked_sub(first)?).ok()? + 1;
        if !dense_fits(span, self.distinct + 1) {
            return None;
        }
        let room = i64::try_from((2 * len).min(dense_limit(self.distinct + 1)).saturating_sub(span)).ok()?;
        if score < self.first {
            first -= room;
        } else {
            last += room;
        }
        let mut counts = vec![[0; 2]; usize::try_from(last - first).ok()? + 1];
        let front = usize::try_from(self.first - first).ok()?;
        counts[front..front + len].copy_from_slice(&self.counts);
        self.counts = counts;
        self.first = first;
        usize::try_from(score - first).ok()
    }

    /// The scores with rows, ascending, with their counts.
    #[allow(clippy::cast_precision_loss)]
    fn scores(&self) -> impl Iterator<Item = (f64, [u64; 2])> + '_ {
        (self.first..)
            .zip(&self.counts)
            .filter(|(_, counts)| **counts != [0, 0])
            .map(|(score, counts)| (score as f64, *counts))
    }
}

impl Scored {
    /// The distinct scores, ascending, with their rows labelled 0 and 1, once `evaluate` runs:
    /// kept so by a group that counts, merged from the sorted lists of one that lists.
    pub(crate) fn runs(&self) -> Cow<'_, [ScoreRun]> {
        if self.overflowed {
            Cow::Owned(runs_of_sorted(&self.listed[0], &self.listed[1]))
        } else {
            Cow::Borrowed(&self.runs)
        }
    }

    #[inline]
    fn add(&mut self, score: f64, label: usize, rows: u64) {
        // a score the group already counts by position: one increment
        if let Some(slot) = self.dense.as_mut().and_then(|dense| dense.slot(score)) {
            if *slot != [0, 0] {
                slot[label] += rows;
                return;
            }
        }
        self.add_slowly(score, label, rows);
    }

    /// [`Self::add`] of a score new to the group's positions, hashed or listed.
    fn add_slowly(&mut self, score: f64, label: usize, rows: u64) {
        if self.overflowed {
            self.list(score, label, rows);
            return;
        }
        if self.dense.is_none() && self.tries < DENSE_TRIES {
            self.rows += rows;
            if self.rows >= DENSE_FIRST_TRY << (2 * self.tries) {
                self.tries += 1;
                self.dense = DenseCounts::of(&self.counted);
                if self.dense.is_some() {
                    self.counted.clear();
                }
            }
        }
        if let Some(dense) = &mut self.dense {
            match dense.add(score, label, rows) {
                Some(false) => return,
                Some(true) => {
                    dense.distinct += 1;
                    if self.distinct() > COUNTED_SCORES {
                        self.list_all();
                    }
                    return;
                }
                None => {}
            }
        }
        // -0.0 + 0.0 is 0.0: the two zeros are one score, as the measures compare them
        self.counted.entry((score + 0.0).to_bits()).or_default()[label] += rows;
        if self.distinct() > COUNTED_SCORES {
            self.list_all();
        }
    }

    /// Distinct scores counted (hashed and by position).
    fn distinct(&self) -> usize {
        self.counted.len() + self.runs.len() + self.dense.as_ref().map_or(0, |dense| dense.distinct)
    }

    /// The counted scores with their counts (hashed, by position, runs of an earlier
    /// `evaluate`), unsorted; none are left counted.
    fn take_counted(&mut self) -> Vec<ScoreRun> {
        let counted = self.counted_scores().collect();
        self.runs.clear();
        self.counted.clear();
        self.dense = None;
        counted
    }

    /// The counted scores with their counts: runs of an earlier `evaluate`, hashed, by position.
    fn counted_scores(&self) -> impl Iterator<Item = ScoreRun> + '_ {
        let hashed = self.counted.iter().map(|(bits, counts)| (f64::from_bits(*bits), *counts));
        let dense = self.dense.iter().flat_map(DenseCounts::scores);
        self.runs.iter().copied().chain(hashed).chain(dense)
    }

    /// Lists `rows` rows of `score` labelled `label`.
    #[inline]
    fn list(&mut self, score: f64, label: usize, rows: u64) {
        let side = &mut self.listed[label];
        if rows == 1 {
            side.push(score);
        } else {
            side.extend(std::iter::repeat_n(score, usize::try_from(rows).unwrap_or(usize::MAX)));
        }
    }

    /// Lists the rows of `counted` (scores with their counts per label) in the given order.
    fn list_counted(&mut self, counted: impl IntoIterator<Item = (f64, [u64; 2])>) {
        for (score, counts) in counted {
            for (label, rows) in counts.into_iter().enumerate() {
                self.list(score, label, rows);
            }
        }
    }

    /// Moves the counted scores to the lists (unsorted) and lists from now on.
    fn list_all(&mut self) {
        self.overflowed = true;
        let counted = self.take_counted();
        self.list_counted(counted);
    }

    /// Sorts the group's scores in ascending order. A group that counts keeps them as runs
    /// (one per distinct score) unless `lists` asks for the lists (the tests compare the two
    /// forms): then its counted scores are expanded in sorted order (only the distinct scores
    /// are sorted) and it lists from now on.
    fn sort(&mut self, lists: bool) {
        let listed_before = !self.listed[0].is_empty() || !self.listed[1].is_empty();
        let mut counted = self.take_counted();
        counted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        if !self.overflowed && !lists {
            // an earlier evaluate's runs and the rows counted since can share a score
            counted.dedup_by(|later, earlier| {
                let same = later.0 == earlier.0;
                if same {
                    earlier.1[0] += later.1[0];
                    earlier.1[1] += later.1[1];
                }
                same
            });
            self.runs = counted;
            return;
        }
        self.list_counted(counted);
        // listed from now on: a window that goes on updating after `evaluate` keeps one list
        self.overflowed = true;
        // a group lists scores only once it counts none (`list_all`), so the expanded counts
        // alone are sorted already
        if listed_before {
            for side in &mut self.listed {
                side.sort_unstable_by(f64::total_cmp);
            }
        }
    }
}

/// The `counted_scores` and `counts` state columns of `groups`.
fn counted_state(name: &'static str, groups: &[Scored]) -> Result<[ArrayRef; 2]> {
    let (mut score_offsets, mut count_offsets) = (ListOffsets::new(name), ListOffsets::new(name));
    let (mut scores, mut counts) = (Vec::new(), Vec::new());
    for group in groups {
        for (score, [negatives, positives]) in group.counted_scores() {
            scores.push(score);
            counts.extend([negatives, positives]);
        }
        score_offsets.push(scores.len())?;
        count_offsets.push(counts.len())?;
    }
    Ok([
        score_offsets.into_list(Arc::new(arrow::array::Float64Array::from(scores))),
        count_offsets.into_list(Arc::new(UInt64Array::from(counts))),
    ])
}

impl GroupState for Scored {
    type Params = Box<dyn ScoreMeasure>;

    fn update(
        measure: &Self::Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let name = measure.name();
        let scores = values[0].as_primitive::<Float64Type>();
        if let (Some(labels), 0) = (values[1].as_boolean_opt(), values[1].null_count()) {
            // boolean labels without NULLs: no per-row label checks
            for (row, (&score, label)) in scores.values().iter().zip(labels.values()).enumerate() {
                let Some(g) = group_of(row) else { continue };
                if scores.is_valid(row) && !score.is_nan() {
                    groups[g].add(score, usize::from(label), 1);
                }
            }
            return Ok(());
        }
        let labels = Labels::new(name, &values[1])?;
        for row in 0..scores.len() {
            let Some(g) = group_of(row) else { continue };
            let Some(label) = labels.get(name, row)? else { continue };
            if scores.is_valid(row) && !scores.value(row).is_nan() {
                groups[g].add(scores.value(row), usize::from(label), 1);
            }
        }
        Ok(())
    }

    fn state(measure: &Self::Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let name = measure.name();
        let mut state: Vec<ArrayRef> = (0..2)
            .map(|side| float_list_array(name, groups.iter().map(|g| Some(g.listed[side].as_slice()))))
            .collect::<Result<_>>()?;
        state.extend(counted_state(name, groups)?);
        Ok(state)
    }

    fn merge(
        measure: &Self::Params,
        groups: &mut [Self],
        states: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()> {
        for_each_float_list(&states[..2], |row, side, values| {
            let group = &mut groups[group_of(row)];
            if !values.is_empty() && !group.overflowed {
                group.list_all();
            }
            group.listed[side].extend_from_slice(values);
        });
        let scores = FloatLists::new(states[2].as_list::<i32>());
        let counts = states[3].as_list::<i32>();
        let count_values = counts.values().as_primitive::<UInt64Type>().values();
        let offsets = counts.value_offsets();
        for row in 0..states[2].len().min(counts.len()) {
            let FloatListRow::Values(values) = scores.row(row) else { continue };
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            if end - start != 2 * values.len() || counts.is_null(row) {
                return exec_err!(
                    "{}: a state row has {} counted scores and {} counts (two per score expected)",
                    measure.name(),
                    values.len(),
                    end - start
                );
            }
            let group = &mut groups[group_of(row)];
            for (score, pair) in values.iter().zip(count_values[start..end].chunks_exact(2)) {
                group.add(*score, 0, pair[0]);
                group.add(*score, 1, pair[1]);
            }
        }
        Ok(())
    }

    /// Sorts each group's scores in place (the counted ones by distinct score) and hands them
    /// to the measure.
    fn evaluate(measure: &Self::Params, groups: &mut [Self]) -> Result<ArrayRef> {
        for group in groups.iter_mut() {
            group.sort(false);
        }
        measure.evaluate(groups)
    }

    fn size(&self) -> usize {
        (self.listed[0].capacity() + self.listed[1].capacity()) * size_of::<f64>()
            + self.counted.capacity() * (size_of::<u64>() + size_of::<[u64; 2]>() + 1)
            + self.dense.as_ref().map_or(0, |dense| dense.counts.capacity() * size_of::<[u64; 2]>())
            + self.runs.capacity() * size_of::<ScoreRun>()
    }
}

#[cfg(test)]
mod tests {
    use super::{counted_state, Scored, COUNTED_SCORES, DENSE_FIRST_TRY, DENSE_TRIES};
    use arrow::array::AsArray;
    use arrow::datatypes::UInt64Type;

    fn sorted(mut group: Scored) -> (Vec<f64>, Vec<f64>) {
        group.sort(true);
        let [negatives, positives] = group.listed;
        (negatives, positives)
    }

    /// Counted and listed groups hold the same scores: whichever way a group's rows arrive
    /// (counted, past the limit, merged into a group that lists), the sorted scores agree.
    #[test]
    fn counted_and_listed_scores_agree() {
        let rows: Vec<(f64, usize)> = (0..3 * COUNTED_SCORES)
            .map(|i| (f64::from(u32::try_from(i % 700).unwrap_or(0)) - 350.0, usize::from(i % 3 == 0)))
            .collect();
        let mut counted = Scored::default();
        for &(score, label) in &rows {
            counted.add(score, label, 1);
        }
        assert!(!counted.overflowed && counted.distinct() == 700);
        let mut listed = Scored::default();
        listed.list_all();
        for &(score, label) in &rows {
            listed.add(score, label, 1);
        }
        let (counted, listed) = (sorted(counted), sorted(listed));
        assert_eq!(counted, listed);
        assert_eq!(counted.0.len() + counted.1.len(), rows.len());
        assert!(counted.0.is_sorted() && counted.1.is_sorted());

        // past the limit a group lists everything it had counted
        let mut many = Scored::default();
        for i in 0..=COUNTED_SCORES {
            many.add(f64::from(u32::try_from(i).unwrap_or(0)), i % 2, 2);
        }
        assert!(many.overflowed && many.counted.is_empty());
        let (negatives, positives) = sorted(many);
        assert_eq!(negatives.len() + positives.len(), 2 * (COUNTED_SCORES + 1));
    }

    /// The same rows added to a group that lists every score.
    fn listed(rows: &[(f64, usize)]) -> (Vec<f64>, Vec<f64>) {
        let mut listed = Scored::default();
        listed.list_all();
        for &(score, label) in rows {
            listed.add(score, label, 1);
        }
        sorted(listed)
    }

    /// A group that counts integer scores by position holds the same scores as one that lists
    /// them: past the last try, with a span that grows down and up, signed zeros, an
    /// integer too far away and a fraction hashed beside the positions, and in its state.
    #[test]
    fn dense_counts_agree_with_listed_scores() {
        let rows_before = usize::try_from(DENSE_FIRST_TRY << (2 * DENSE_TRIES)).unwrap_or(usize::MAX) + 1000;
        let mut rows: Vec<(f64, usize)> = (0..rows_before)
            .map(|i| (f64::from(u32::try_from(i % 400).unwrap_or(0)) + 300.0, usize::from(i % 5 == 0)))
            .collect();
        rows.extend([(0.0, 1), (-0.0, 0), (299.0, 0), (2000.0, 1), (1.0e6, 0), (0.5, 1), (-3.0, 0), (1.0e6, 1)]);
        let mut dense = Scored::default();
        for &(score, label) in &rows {
            dense.add(score, label, 1);
        }
        assert!(dense.dense.is_some() && !dense.overflowed);
        // 300..=699, 299, 0 and -3 by position; 2000 (too wide a span for 405 scores), 1e6 and
        // 0.5 hashed
        assert_eq!((dense.distinct(), dense.counted.len()), (406, 3));

        let [scores, counts] = counted_state("auc", std::slice::from_ref(&dense)).expect("state");
        assert_eq!(scores.as_list::<i32>().value(0).len(), 406);
        let total: u64 = counts.as_list::<i32>().value(0).as_primitive::<UInt64Type>().values().iter().sum();
        assert_eq!(total, rows.len() as u64);

        let (negatives, positives) = sorted(dense);
        assert_eq!((negatives.clone(), positives.clone()), listed(&rows));
        assert_eq!(negatives.iter().filter(|s| **s == 0.0).count(), 1);
        assert!(negatives.iter().chain(&positives).all(|s| s.to_bits() != (-0.0f64).to_bits()));
    }

    /// Past `COUNTED_SCORES` distinct scores, positions and hashed ones together, a group lists.
    #[test]
    fn dense_counts_overflow_to_listed() {
        let mut rows: Vec<(f64, usize)> =
            vec![(0.0, 0); usize::try_from(DENSE_FIRST_TRY << (2 * DENSE_TRIES)).unwrap_or(usize::MAX)];
        rows.extend((1..=2 * COUNTED_SCORES).map(|i| (f64::from(u32::try_from(i).unwrap_or(0)), i % 2)));
        let mut group = Scored::default();
        for &(score, label) in &rows {
            group.add(score, label, 1);
        }
        assert!(group.overflowed && group.dense.is_none() && group.counted.is_empty());
        assert_eq!(sorted(group), listed(&rows));
    }

    /// Rows of a fractional score keep a group hashing: it never counts by position.
    #[test]
    fn fractional_scores_stay_hashed() {
        let rows: Vec<(f64, usize)> = (0..usize::try_from(DENSE_FIRST_TRY << (2 * DENSE_TRIES)).unwrap_or(usize::MAX)
            + 10)
            .map(|i| (if i == 0 { 0.25 } else { f64::from(u32::try_from(i % 50).unwrap_or(0)) }, i % 2))
            .collect();
        let mut group = Scored::default();
        for &(score, label) in &rows {
            group.add(score, label, 1);
        }
        assert!(group.dense.is_none() && group.counted.len() == 51);
        assert_eq!(sorted(group), listed(&rows));
    }

    /// A group that counts hands the measures the same runs as one that lists, also when it
    /// goes on counting after an evaluate (a window frame that grows).
    #[test]
    fn runs_of_counted_and_listed_groups_agree() {
        let rows: Vec<(f64, usize)> = (0..5000).map(|i| (f64::from(i % 37) * 0.5, usize::from(i % 3 == 0))).collect();
        let (mut counted, mut listed) = (Scored::default(), Scored::default());
        listed.list_all();
        for part in [&rows[..3000], &rows[3000..]] {
            for &(score, label) in part {
                counted.add(score, label, 1);
                listed.add(score, label, 1);
            }
            counted.sort(false);
            listed.sort(false);
            assert!(!counted.overflowed);
            assert_eq!(counted.runs(), listed.runs());
        }
        let runs = counted.runs();
        assert_eq!(runs.len(), 37);
        assert_eq!(runs.iter().map(|(_, [n, p])| n + p).sum::<u64>(), 5000);
    }

    #[test]
    fn signed_zeros_are_one_score() {
        let mut group = Scored::default();
        group.add(-0.0, 0, 1);
        group.add(0.0, 1, 1);
        assert_eq!(group.counted.len(), 1);
        let (negatives, positives) = sorted(group);
        assert_eq!((negatives, positives), (vec![0.0], vec![0.0]));
    }
}
