//! Scores with binary labels, the state behind `auc`, `gini`, `ks_statistic` and `gains_table`.

use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, StructArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::utils::format_state_name;
use datafusion::physical_expr::expressions::Literal;

use super::labels::{coerce_label, Labels};
use crate::common::{float_list_array, for_each_float_list};
use crate::drift::ks_2samp::ks_statistic;
use crate::group_state::GroupState;

/// What a scored-label aggregate returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScoreMeasure {
    Auc,
    Gini,
    Ks,
    /// A gains table with this many groups.
    Gains(usize),
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

/// The number of gains groups: a literal >= 1 at argument 2, default 10.
pub(crate) fn gains_groups(args: &AccumulatorArgs) -> Result<usize> {
    match args.exprs.get(2).map(|e| e.downcast_ref::<Literal>().map(Literal::value)) {
        None => Ok(10),
        Some(Some(ScalarValue::Int64(Some(n)))) if (1..=10_000).contains(n) => Ok(*n as usize),
        Some(Some(other)) => plan_err!("gains_table: n_groups must be between 1 and 10000, got {other}"),
        Some(None) => plan_err!("gains_table: n_groups must be a literal"),
    }
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

impl GroupState for Scored {
    type Params = (&'static str, ScoreMeasure);

    fn update(
        params: &Self::Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let scores = values[0].as_primitive::<Float64Type>();
        let labels = Labels::new(params.0, &values[1])?;
        for row in 0..scores.len() {
            let Some(g) = group_of(row) else { continue };
            let Some(label) = labels.get(params.0, row)? else { continue };
            if scores.is_valid(row) && !scores.value(row).is_nan() {
                groups[g].0[usize::from(label)].push(scores.value(row));
            }
        }
        Ok(())
    }

    fn state(_: &Self::Params, groups: &[Self]) -> Result<Vec<ArrayRef>> {
        Ok((0..2).map(|side| float_list_array(groups.iter().map(|g| Some(g.0[side].as_slice())))).collect())
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

    fn evaluate(params: &Self::Params, groups: &[Self]) -> Result<ArrayRef> {
        let sorted: Vec<[Vec<f64>; 2]> = groups
            .iter()
            .map(|g| {
                let mut sides = [g.0[0].clone(), g.0[1].clone()];
                for side in &mut sides {
                    side.sort_unstable_by(f64::total_cmp);
                }
                sides
            })
            .collect();
        Ok(match params.1 {
            ScoreMeasure::Auc => Arc::new(sorted.iter().map(|[neg, pos]| auc(neg, pos)).collect::<Float64Array>()),
            ScoreMeasure::Gini => {
                Arc::new(sorted.iter().map(|[neg, pos]| auc(neg, pos).map(|a| 2.0 * a - 1.0)).collect::<Float64Array>())
            }
            ScoreMeasure::Ks => Arc::new(
                sorted
                    .iter()
                    .map(|[neg, pos]| (!neg.is_empty() && !pos.is_empty()).then(|| ks_statistic(pos, neg)))
                    .collect::<Float64Array>(),
            ),
            ScoreMeasure::Gains(n_groups) => gains_array(&sorted, n_groups),
        })
    }

    fn size(&self) -> usize {
        (self.0[0].capacity() + self.0[1].capacity()) * size_of::<f64>()
    }
}

/// Area under the ROC curve from ascending negative and positive scores: the share of
/// (positive, negative) pairs where the positive scores higher, ties counting ½.
fn auc(neg: &[f64], pos: &[f64]) -> Option<f64> {
    if neg.is_empty() || pos.is_empty() {
        return None;
    }
    let (mut below, mut j) = (0usize, 0usize);
    let mut wins = 0.0;
    let mut i = 0;
    while i < pos.len() {
        let s = pos[i];
        let mut run = 0usize;
        while i < pos.len() && pos[i] == s {
            run += 1;
            i += 1;
        }
        while j < neg.len() && neg[j] < s {
            below += 1;
            j += 1;
        }
        let mut equal = 0usize;
        while j + equal < neg.len() && neg[j + equal] == s {
            equal += 1;
        }
        wins += run as f64 * (below as f64 + 0.5 * equal as f64);
    }
    Some(wins / (neg.len() as f64 * pos.len() as f64))
}

pub(crate) fn gains_fields() -> Fields {
    let mut fields = vec![Field::new("group", DataType::Int64, true), Field::new("n", DataType::Int64, true)];
    fields.push(Field::new("responders", DataType::Int64, true));
    for name in ["response_rate", "lift"] {
        fields.push(Field::new(name, DataType::Float64, true));
    }
    fields.push(Field::new("cum_n", DataType::Int64, true));
    fields.push(Field::new("cum_responders", DataType::Int64, true));
    for name in ["cum_capture", "cum_lift", "min_score", "max_score"] {
        fields.push(Field::new(name, DataType::Float64, true));
    }
    Fields::from(fields)
}

/// One row of a gains table.
struct GainsRow {
    group: i64,
    n: i64,
    responders: i64,
    min_score: f64,
    max_score: f64,
}

/// Rows by score descending; a tie group goes whole to group ceil(n_groups · r / N), r = the
/// number of rows scoring at least its score.
fn gains_rows(neg: &[f64], pos: &[f64], n_groups: usize) -> Vec<GainsRow> {
    let total = neg.len() + pos.len();
    let mut rows: Vec<GainsRow> = Vec::new();
    let (mut i, mut j) = (neg.len(), pos.len());
    let mut seen = 0usize;
    while i > 0 || j > 0 {
        let s = match (i.checked_sub(1).map(|k| neg[k]), j.checked_sub(1).map(|k| pos[k])) {
            (Some(a), Some(b)) => a.max(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => break,
        };
        let (mut n, mut responders) = (0i64, 0i64);
        while i > 0 && neg[i - 1] == s {
            i -= 1;
            n += 1;
        }
        while j > 0 && pos[j - 1] == s {
            j -= 1;
            n += 1;
            responders += 1;
        }
        seen += n as usize;
        let group = (n_groups * seen).div_ceil(total) as i64;
        match rows.last_mut() {
            Some(last) if last.group == group => {
                last.n += n;
                last.responders += responders;
                last.min_score = s;
            }
            _ => rows.push(GainsRow { group, n, responders, min_score: s, max_score: s }),
        }
    }
    rows
}

fn gains_array(groups: &[[Vec<f64>; 2]], n_groups: usize) -> ArrayRef {
    let mut offsets = vec![0i32];
    let mut ints: [Vec<i64>; 5] = Default::default();
    let mut floats: [Vec<Option<f64>>; 6] = Default::default();
    for [neg, pos] in groups {
        let rows = gains_rows(neg, pos, n_groups);
        let total_n = (neg.len() + pos.len()) as f64;
        let total_responders = pos.len() as f64;
        let overall = total_responders / total_n;
        let (mut cum_n, mut cum_responders) = (0i64, 0i64);
        for row in &rows {
            cum_n += row.n;
            cum_responders += row.responders;
            let rate = row.responders as f64 / row.n as f64;
            let cum_rate = cum_responders as f64 / cum_n as f64;
            for (column, value) in ints.iter_mut().zip([row.group, row.n, row.responders, cum_n, cum_responders]) {
                column.push(value);
            }
            let lift = (overall > 0.0).then(|| rate / overall);
            let cum_capture = (total_responders > 0.0).then(|| cum_responders as f64 / total_responders);
            let cum_lift = (overall > 0.0).then(|| cum_rate / overall);
            for (column, value) in floats.iter_mut().zip([
                Some(rate),
                lift,
                cum_capture,
                cum_lift,
                Some(row.min_score),
                Some(row.max_score),
            ]) {
                column.push(value);
            }
        }
        offsets.push(ints[0].len() as i32);
    }
    let [group, n, responders, cum_n, cum_responders] = ints;
    let [rate, lift, cum_capture, cum_lift, min_score, max_score] = floats;
    let int = |v: Vec<i64>| Arc::new(Int64Array::from(v)) as ArrayRef;
    let float = |v: Vec<Option<f64>>| Arc::new(Float64Array::from(v)) as ArrayRef;
    let columns = vec![
        int(group),
        int(n),
        int(responders),
        float(rate),
        float(lift),
        int(cum_n),
        int(cum_responders),
        float(cum_capture),
        float(cum_lift),
        float(min_score),
        float(max_score),
    ];
    Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Struct(gains_fields()), true)),
        OffsetBuffer::new(offsets.into()),
        Arc::new(StructArray::new(gains_fields(), columns, None)),
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::{auc, gains_rows};

    #[test]
    fn auc_counts_ties_as_half() {
        // sklearn roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        assert_eq!(auc(&[0.1, 0.4], &[0.35, 0.8]), Some(0.75));
        // all scores equal: 0.5
        assert_eq!(auc(&[1.0, 1.0], &[1.0]), Some(0.5));
        assert_eq!(auc(&[], &[1.0]), None);
    }

    #[test]
    fn gains_keep_ties_together() {
        // scores 5 (pos), 4 (neg), 4 (pos), 1 (neg) in 2 groups: r = 1, 3, 3, 4 -> groups 1, 2, 2, 2
        let rows = gains_rows(&[1.0, 4.0], &[4.0, 5.0], 2);
        let summary: Vec<(i64, i64, i64)> = rows.iter().map(|r| (r.group, r.n, r.responders)).collect();
        assert_eq!(summary, [(1, 1, 1), (2, 3, 1)]);
    }
}
