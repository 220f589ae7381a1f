//! Scores with binary labels: the per-group state behind `auc`, `gini`, `ks_statistic` and
//! `gains_table`. Each of those files implements [`ScoreMeasure`] (what to compute from the
//! group's sorted scores); this file only holds, merges and sorts the scores.

use std::fmt::Debug;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::utils::format_state_name;

use super::label_args::{coerce_label, Labels};
use crate::common::{float_list_array, for_each_float_list};
use crate::group_state::{GroupState, GroupsOf};

/// What one scored-label aggregate computes from a group's sorted scores.
pub(crate) trait ScoreMeasure: Debug + Send + Sync + 'static {
    /// The SQL function, for errors.
    fn name(&self) -> &'static str;

    /// One result row per group; every group's scores are sorted ascending.
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

pub(crate) fn scored_state_fields(name: &str) -> Vec<FieldRef> {
    ["negatives", "positives"]
        .iter()
        .map(|side| {
            Arc::new(Field::new(format_state_name(name, side), DataType::new_list(DataType::Float64, true), true))
        })
        .collect()
}

/// Scores of the negative [0] and positive [1] rows of one group.
#[derive(Debug, Default)]
pub(crate) struct Scored([Vec<f64>; 2]);

impl Scored {
    /// The scores of the rows labelled 0, ascending once `evaluate` runs.
    pub(crate) fn negatives(&self) -> &[f64] {
        &self.0[0]
    }

    /// The scores of the rows labelled 1, ascending once `evaluate` runs.
    pub(crate) fn positives(&self) -> &[f64] {
        &self.0[1]
    }
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
        let labels = Labels::new(name, &values[1])?;
        for row in 0..scores.len() {
            let Some(g) = group_of(row) else { continue };
            let Some(label) = labels.get(name, row)? else { continue };
            if scores.is_valid(row) && !scores.value(row).is_nan() {
                groups[g].0[usize::from(label)].push(scores.value(row));
            }
        }
        Ok(())
    }

    fn state(measure: &Self::Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        (0..2).map(|side| float_list_array(measure.name(), groups.iter().map(|g| Some(g.0[side].as_slice())))).collect()
    }

    fn merge(
        _: &Self::Params,
        groups: &mut [Self],
        states: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()> {
        for_each_float_list(&states[..2], |row, side, values| groups[group_of(row)].0[side].extend_from_slice(values));
        Ok(())
    }

    /// Sorts each group's scores in place (no copy) and hands them to the measure.
    fn evaluate(measure: &Self::Params, groups: &mut [Self]) -> Result<ArrayRef> {
        for group in groups.iter_mut() {
            for side in &mut group.0 {
                side.sort_unstable_by(f64::total_cmp);
            }
        }
        measure.evaluate(groups)
    }

    fn size(&self) -> usize {
        (self.0[0].capacity() + self.0[1].capacity()) * size_of::<f64>()
    }
}
