//! The one aggregate framework of Persona: every aggregate's per-group state (a histogram, a
//! sample, a list of pairs, four counters) implements [`GroupState`] — how to add a batch, how
//! to (de)serialise and how to evaluate — and [`GroupsOf`] turns it into both an
//! [`Accumulator`] and a [`GroupsAccumulator`] (the per-group fast path), `convert_to_state`
//! included. The row filter (`FILTER (WHERE …)`) is applied here once, through `group_of`.
//!
//! `state` and `evaluate` get `&mut` access to the groups being emitted (taken out of the
//! accumulator by [`EmitTo`], so they are owned and dropped afterwards): a state may sort its
//! sample in place or run an iterative fit over its points without copying them.

use std::fmt::Debug;
use std::mem::size_of;

use arrow::array::{Array, ArrayRef, BooleanArray};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{Accumulator, EmitTo, GroupsAccumulator};

/// The state of one group.
pub(crate) trait GroupState: Debug + Default + Send + Sync + Sized + 'static {
    /// Constant arguments (literals) read at plan time.
    type Params: Debug + Send + Sync + 'static;

    /// Adds the rows of `values`: row `i` goes to `groups[g]` where `group_of(i) == Some(g)`;
    /// rows mapped to `None` are filtered out.
    fn update(
        params: &Self::Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()>;

    /// The states of `groups` as arrays, one row per group, matching the aggregate's state fields.
    /// The groups may be reordered internally (sorted, deduplicated) but must keep their meaning:
    /// the single-group [`Accumulator`] path can call `state` and go on updating.
    fn state(params: &Self::Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>>;

    /// Merges state row `i` into `groups[group_of(i)]`.
    fn merge(
        params: &Self::Params,
        groups: &mut [Self],
        states: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()>;

    /// The final values of `groups`, one row per group. The same rule as `state`: the groups may
    /// be sorted or fitted in place, never emptied of what they hold.
    fn evaluate(params: &Self::Params, groups: &mut [Self]) -> Result<ArrayRef>;

    /// Heap bytes held by this group.
    fn size(&self) -> usize;

    /// The states of `values` with every row its own group (row `i` alone in group `i`; a row
    /// where `keeps(i)` is false an empty group), as `state` would write them — what DataFusion
    /// asks for when it skips the partial aggregation and hands the rows on as states. The default
    /// builds a group per row and calls `state`; a state that can write its arrays straight from
    /// the rows overrides it.
    fn convert_to_state(
        params: &Self::Params,
        values: &[ArrayRef],
        keeps: impl Fn(usize) -> bool,
    ) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map_or(0, |v| v.len());
        let mut groups: Vec<Self> = (0..rows).map(|_| Self::default()).collect();
        Self::update(params, &mut groups, values, |row| keeps(row).then_some(row))?;
        Self::state(params, &mut groups)
    }

    /// False when `size` is always 0 (fixed-size counters): the per-batch heap tracking is skipped.
    const HOLDS_HEAP: bool = true;
}

/// Per-group states of an aggregate.
#[derive(Debug)]
pub(crate) struct GroupsOf<S: GroupState> {
    params: S::Params,
    groups: Vec<S>,
    heap: GroupHeap,
}

impl<S: GroupState> GroupsOf<S> {
    pub(crate) fn new(params: S::Params) -> Self {
        Self { params, groups: Vec::new(), heap: GroupHeap::default() }
    }

    fn resize(&mut self, total_num_groups: usize) {
        if self.groups.len() < total_num_groups {
            self.groups.resize_with(total_num_groups, S::default);
        }
    }

    fn recount(&mut self) {
        self.heap.bytes = self.groups.iter().map(S::size).sum();
    }
}

/// The heap bytes held by an accumulator's groups (the sum of a per-group `size`), kept up to
/// date from the groups each batch touches rather than by walking every group.
#[derive(Debug, Default)]
pub(crate) struct GroupHeap {
    bytes: usize,
    /// `mark[g] == epoch` once group `g` is in `touched` for the current batch.
    mark: Vec<u32>,
    epoch: u32,
    /// The distinct groups of the current batch, in first-seen order.
    touched: Vec<usize>,
}

impl GroupHeap {
    /// The groups' heap bytes plus this tracker's own.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes + self.mark.capacity() * size_of::<u32>() + self.touched.capacity() * size_of::<usize>()
    }

    /// Records that one group went from `before` to `after` heap bytes.
    pub(crate) fn resize(&mut self, before: usize, after: usize) {
        self.bytes = (self.bytes + after).saturating_sub(before);
    }

    /// Records that groups holding `bytes` were emitted.
    pub(crate) fn release(&mut self, bytes: usize) {
        self.bytes = self.bytes.saturating_sub(bytes);
    }

    /// Runs `change` on `groups` and moves the total by the change in `size` of the groups in
    /// `indices` only. Finding the distinct groups is one pass with a mark per group (no sort).
    pub(crate) fn track<S>(
        &mut self,
        groups: &mut [S],
        indices: &[usize],
        size: impl Fn(&S) -> usize,
        change: impl FnOnce(&mut [S]) -> Result<()>,
    ) -> Result<()> {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.mark.fill(0);
            self.epoch = 1;
        }
        if self.mark.len() < groups.len() {
            self.mark.resize(groups.len(), 0);
        }
        self.touched.clear();
        for &g in indices {
            if self.mark[g] != self.epoch {
                self.mark[g] = self.epoch;
                self.touched.push(g);
            }
        }
        let before: usize = self.touched.iter().map(|&g| size(&groups[g])).sum();
        change(groups)?;
        let after: usize = self.touched.iter().map(|&g| size(&groups[g])).sum();
        self.resize(before, after);
        Ok(())
    }
}

fn keeps(filter: Option<&BooleanArray>, row: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(row) && f.value(row))
}

impl<S: GroupState> GroupsAccumulator for GroupsOf<S> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let params = &self.params;
        let change = |groups: &mut [S]| {
            S::update(params, groups, values, |row| keeps(opt_filter, row).then(|| group_indices[row]))
        };
        if S::HOLDS_HEAP {
            self.heap.track(&mut self.groups, group_indices, S::size, change)
        } else {
            change(&mut self.groups)
        }
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.resize(total_num_groups);
        let params = &self.params;
        let change = |groups: &mut [S]| S::merge(params, groups, values, |row| group_indices[row]);
        if S::HOLDS_HEAP {
            self.heap.track(&mut self.groups, group_indices, S::size, change)
        } else {
            change(&mut self.groups)
        }
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let mut groups = emit_to.take_needed(&mut self.groups);
        self.heap.release(groups.iter().map(S::size).sum());
        S::evaluate(&self.params, &mut groups)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let mut groups = emit_to.take_needed(&mut self.groups);
        self.heap.release(groups.iter().map(S::size).sum());
        S::state(&self.params, &mut groups)
    }

    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        S::convert_to_state(&self.params, values, |row| keeps(opt_filter, row))
    }

    fn size(&self) -> usize {
        self.groups.capacity() * size_of::<S>() + self.heap.bytes()
    }
}

impl<S: GroupState> Accumulator for GroupsOf<S> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.resize(1);
        S::update(&self.params, &mut self.groups, values, |_| Some(0))?;
        self.recount();
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.resize(1);
        S::merge(&self.params, &mut self.groups, states, |_| 0)?;
        self.recount();
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.resize(1);
        S::state(&self.params, &mut self.groups)?.iter().map(|a| ScalarValue::try_from_array(a, 0)).collect()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.resize(1);
        let value = ScalarValue::try_from_array(&S::evaluate(&self.params, &mut self.groups)?, 0);
        self.recount();
        value
    }

    fn size(&self) -> usize {
        size_of::<Self>() + GroupsAccumulator::size(self)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, AsArray, Int64Array};
    use arrow::datatypes::Int64Type;
    use datafusion::common::Result;
    use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

    use super::{GroupState, GroupsOf};

    /// Keeps every value of its group.
    #[derive(Debug, Default)]
    struct Kept(Vec<i64>);

    impl GroupState for Kept {
        type Params = ();

        fn update(
            _: &(),
            groups: &mut [Self],
            values: &[ArrayRef],
            group_of: impl Fn(usize) -> Option<usize>,
        ) -> Result<()> {
            let v = values[0].as_primitive::<Int64Type>();
            for row in 0..v.len() {
                if let Some(g) = group_of(row) {
                    groups[g].0.push(v.value(row));
                }
            }
            Ok(())
        }

        fn state(_: &(), groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
            Ok(vec![Arc::new(groups.iter().map(|g| g.0.len() as i64).collect::<Int64Array>())])
        }

        fn merge(_: &(), _: &mut [Self], _: &[ArrayRef], _: impl Fn(usize) -> usize) -> Result<()> {
            Ok(())
        }

        fn evaluate(_: &(), groups: &mut [Self]) -> Result<ArrayRef> {
            Ok(Arc::new(groups.iter().map(|g| g.0.iter().sum::<i64>()).collect::<Int64Array>()))
        }

        fn size(&self) -> usize {
            self.0.capacity() * 8
        }
    }

    #[test]
    fn heap_follows_the_touched_groups() -> Result<()> {
        let mut acc = GroupsOf::<Kept>::new(());
        let values: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5]))];
        acc.update_batch(&values, &[0, 1, 0, 2, 0], None, 3)?;
        acc.update_batch(&values, &[2, 2, 2, 2, 2], None, 3)?;
        let recounted: usize = acc.groups.iter().map(Kept::size).sum();
        assert_eq!(acc.heap.bytes, recounted);
        let first = acc.evaluate(EmitTo::First(2))?;
        assert_eq!(first.as_primitive::<Int64Type>().values(), &[9, 2]);
        assert_eq!(acc.heap.bytes, acc.groups.iter().map(Kept::size).sum::<usize>());
        let rest = acc.evaluate(EmitTo::All)?;
        assert_eq!(rest.as_primitive::<Int64Type>().values(), &[4 + 15]);
        assert_eq!(acc.heap.bytes, 0);
        Ok(())
    }
}
