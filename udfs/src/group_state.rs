//! One adapter for aggregates whose per-group state is a value of its own (a histogram, a
//! sample, a list of pairs): the state type says how to add a batch, how to (de)serialise
//! and how to evaluate, and [`GroupsOf`] turns it into both an [`Accumulator`] and a
//! [`GroupsAccumulator`] (the per-group fast path), `convert_to_state` included.

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
    fn state(params: &Self::Params, groups: &[Self]) -> Result<Vec<ArrayRef>>;

    /// Merges state row `i` into `groups[group_of(i)]`.
    fn merge(
        params: &Self::Params,
        groups: &mut [Self],
        states: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()>;

    /// The final values of `groups`, one row per group.
    fn evaluate(params: &Self::Params, groups: &[Self]) -> Result<ArrayRef>;

    /// Heap bytes held by this group.
    fn size(&self) -> usize;
}

/// Per-group states of an aggregate.
#[derive(Debug)]
pub(crate) struct GroupsOf<S: GroupState> {
    params: S::Params,
    groups: Vec<S>,
    /// Sum of `S::size` over `groups`, kept up to date after every batch.
    heap: usize,
}

impl<S: GroupState> GroupsOf<S> {
    pub(crate) fn new(params: S::Params) -> Self {
        Self { params, groups: Vec::new(), heap: 0 }
    }

    fn resize(&mut self, total_num_groups: usize) {
        if self.groups.len() < total_num_groups {
            self.groups.resize_with(total_num_groups, S::default);
        }
    }

    fn recount(&mut self) {
        self.heap = self.groups.iter().map(S::size).sum();
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
        S::update(&self.params, &mut self.groups, values, |row| keeps(opt_filter, row).then(|| group_indices[row]))?;
        self.recount();
        Ok(())
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.resize(total_num_groups);
        S::merge(&self.params, &mut self.groups, values, |row| group_indices[row])?;
        self.recount();
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = emit_to.take_needed(&mut self.groups);
        self.recount();
        S::evaluate(&self.params, &groups)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = emit_to.take_needed(&mut self.groups);
        self.recount();
        S::state(&self.params, &groups)
    }

    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map_or(0, |v| v.len());
        let mut groups: Vec<S> = (0..rows).map(|_| S::default()).collect();
        S::update(&self.params, &mut groups, values, |row| keeps(opt_filter, row).then_some(row))?;
        S::state(&self.params, &groups)
    }

    fn size(&self) -> usize {
        self.groups.capacity() * size_of::<S>() + self.heap
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
        S::state(&self.params, &self.groups)?.iter().map(|a| ScalarValue::try_from_array(a, 0)).collect()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.resize(1);
        ScalarValue::try_from_array(&S::evaluate(&self.params, &self.groups)?, 0)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + GroupsAccumulator::size(self)
    }
}
