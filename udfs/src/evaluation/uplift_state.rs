//! Scores with an outcome and a treatment flag, the state behind the uplift functions, and the
//! Qini and uplift curves as scikit-uplift 0.5.1 defines them.

use std::fmt::Debug;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, ListArray, StructArray, UInt8Array};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, UInt8Type};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::utils::format_state_name;

use super::label_args::{coerce_label, Labels};
use crate::common::ListOffsets;
use crate::group_state::{GroupState, GroupsOf};

/// Which curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    Qini,
    Uplift,
}

/// What one uplift aggregate computes from its groups' rows.
pub(crate) trait UpliftMeasure: Debug + Send + Sync + 'static {
    /// The SQL function, for errors.
    fn name(&self) -> &'static str;

    /// One result row per group.
    fn evaluate(&self, groups: &[UpliftSample]) -> Result<ArrayRef>;
}

/// The accumulator of an uplift aggregate.
pub(crate) fn uplift_accumulator(measure: impl UpliftMeasure) -> GroupsOf<UpliftSample> {
    GroupsOf::new(Box::new(measure) as Box<dyn UpliftMeasure>)
}

/// The normalised area under a curve (`qini_auc_score`, `uplift_auc_score`).
#[derive(Debug)]
pub(crate) struct AreaScore {
    pub name: &'static str,
    pub curve: Curve,
}

impl UpliftMeasure for AreaScore {
    fn name(&self) -> &'static str {
        self.name
    }

    fn evaluate(&self, groups: &[UpliftSample]) -> Result<ArrayRef> {
        Ok(Arc::new(
            groups
                .iter()
                .map(|g| g.has_both_arms().then(|| area_score(self.curve, g)).flatten())
                .collect::<Float64Array>(),
        ))
    }
}

/// The points of a curve (`qini_curve`, `uplift_curve`).
#[derive(Debug)]
pub(crate) struct CurvePoints {
    pub name: &'static str,
    pub curve: Curve,
}

impl UpliftMeasure for CurvePoints {
    fn name(&self) -> &'static str {
        self.name
    }

    fn evaluate(&self, groups: &[UpliftSample]) -> Result<ArrayRef> {
        let mut offsets = ListOffsets::new(self.name);
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for g in groups {
            if g.has_both_arms() {
                for (x, y) in curve(self.curve, &g.scores, &g.flags) {
                    xs.push(x);
                    ys.push(y);
                }
            }
            offsets.push(xs.len())?;
        }
        let columns: Vec<ArrayRef> = vec![Arc::new(Float64Array::from(xs)), Arc::new(Float64Array::from(ys))];
        Ok(Arc::new(ListArray::new(
            Arc::new(Field::new_list_field(DataType::Struct(point_fields()), true)),
            offsets.finish(),
            Arc::new(StructArray::new(point_fields(), columns, None)),
            Some(groups.iter().map(UpliftSample::has_both_arms).collect::<Vec<_>>().into()),
        )))
    }
}

/// Coerces `(score, outcome, is_treatment [, k [, strategy]])`.
pub(crate) fn coerce_uplift_args(name: &str, arg_types: &[DataType], extra: usize) -> Result<Vec<DataType>> {
    if !(3..=3 + extra).contains(&arg_types.len()) {
        return plan_err!("{name}: wrong number of arguments, got {}", arg_types.len());
    }
    if !(arg_types[0].is_numeric() || arg_types[0].is_null()) {
        return plan_err!("{name}: the score must be a number, got {}", arg_types[0]);
    }
    let mut coerced = vec![
        DataType::Float64,
        coerce_label(name, "outcome", &arg_types[1])?,
        coerce_label(name, "is_treatment", &arg_types[2])?,
    ];
    if let Some(k) = arg_types.get(3) {
        if !k.is_numeric() {
            return plan_err!("{name}: k must be a number, got {k}");
        }
        coerced.push(DataType::Float64);
    }
    if let Some(strategy) = arg_types.get(4) {
        if !matches!(strategy, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) {
            return plan_err!("{name}: strategy must be 'overall' or 'by_group', got {strategy}");
        }
        coerced.push(DataType::Utf8);
    }
    Ok(coerced)
}

pub(crate) fn uplift_state_fields(name: &str) -> Vec<FieldRef> {
    vec![
        Arc::new(Field::new(format_state_name(name, "scores"), DataType::new_list(DataType::Float64, true), true)),
        Arc::new(Field::new(format_state_name(name, "flags"), DataType::new_list(DataType::UInt8, true), true)),
    ]
}

pub(crate) fn point_fields() -> Fields {
    Fields::from(vec![Field::new("n", DataType::Float64, true), Field::new("value", DataType::Float64, true)])
}

/// A row's outcome (bit 0) and treatment (bit 1).
pub(crate) const OUTCOME: u8 = 1;
pub(crate) const TREATED: u8 = 2;

/// Scores and flags of one group.
#[derive(Debug, Default)]
pub(crate) struct UpliftSample {
    pub(crate) scores: Vec<f64>,
    /// [`OUTCOME`] | [`TREATED`] bits of each row.
    pub(crate) flags: Vec<u8>,
}

impl UpliftSample {
    /// Row indices by score descending (ties in any order: results only use tie-group ends,
    /// except `at_k`, which takes tie groups fractionally).
    pub(crate) fn order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.scores.len()).collect();
        order.sort_unstable_by(|&a, &b| self.scores[b].total_cmp(&self.scores[a]));
        order
    }

    pub(crate) fn has_both_arms(&self) -> bool {
        self.flags.iter().any(|f| f & TREATED != 0) && self.flags.iter().any(|f| f & TREATED == 0)
    }
}

/// The points (n, value) of a curve over rows sorted by `score` descending, one point at the
/// end of each tie group, (0, 0) first. Qini: Y_t - Y_c N_t / N_c (0 while N_c = 0);
/// uplift: (Y_t / N_t - Y_c / N_c) n (each ratio 0 while its denominator is 0).
fn curve(curve: Curve, scores: &[f64], flags: &[u8]) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = vec![(0.0, 0.0)];
    let (mut n_t, mut n_c, mut y_t, mut y_c) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for (position, &row) in order.iter().enumerate() {
        let f = flags[row];
        let y = f64::from(f & OUTCOME);
        if f & TREATED != 0 {
            n_t += 1.0;
            y_t += y;
        } else {
            n_c += 1.0;
            y_c += y;
        }
        let last_of_ties = order.get(position + 1).is_none_or(|&next| scores[next] != scores[row]);
        if last_of_ties {
            let n = (position + 1) as f64;
            let value = match curve {
                Curve::Qini => y_t - if n_c > 0.0 { y_c * n_t / n_c } else { 0.0 },
                Curve::Uplift => {
                    let rate_t = if n_t > 0.0 { y_t / n_t } else { 0.0 };
                    let rate_c = if n_c > 0.0 { y_c / n_c } else { 0.0 };
                    (rate_t - rate_c) * n
                }
            };
            points.push((n, value));
        }
    }
    points
}

/// Trapezoid area under the points.
fn area(points: &[(f64, f64)]) -> f64 {
    points.windows(2).map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0).sum()
}

/// The perfect model's score: Qini (negative_effect) +1 treated responders, -1 control
/// responders; uplift 2 [y = t] + (y if control responders outnumber treated non-responders, else t).
fn perfect_scores(curve: Curve, flags: &[u8]) -> Vec<f64> {
    let y = |f: u8| f64::from(f & OUTCOME);
    let t = |f: u8| f64::from((f & TREATED) >> 1);
    match curve {
        Curve::Qini => flags.iter().map(|&f| y(f) * t(f) - y(f) * (1.0 - t(f))).collect(),
        Curve::Uplift => {
            let control_responders = flags.iter().filter(|&&f| f == OUTCOME).count();
            let treated_non_responders = flags.iter().filter(|&&f| f == TREATED).count();
            flags
                .iter()
                .map(|&f| {
                    let same = if y(f) == t(f) { 2.0 } else { 0.0 };
                    same + if control_responders > treated_non_responders { y(f) } else { t(f) }
                })
                .collect()
        }
    }
}

/// (area(actual) - base) / (area(perfect) - base), base = n_last value_last / 2 of the perfect curve.
fn area_score(kind: Curve, sample: &UpliftSample) -> Option<f64> {
    let actual = curve(kind, &sample.scores, &sample.flags);
    let perfect = curve(kind, &perfect_scores(kind, &sample.flags), &sample.flags);
    let &(x_last, y_last) = perfect.last()?;
    let base = x_last * y_last / 2.0;
    let denominator = area(&perfect) - base;
    (denominator != 0.0).then(|| (area(&actual) - base) / denominator)
}

impl GroupState for UpliftSample {
    type Params = Box<dyn UpliftMeasure>;

    fn update(
        params: &Self::Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let name = params.name();
        let scores = values[0].as_primitive::<Float64Type>();
        let outcome = Labels::new(name, &values[1])?;
        let treated = Labels::new(name, &values[2])?;
        for row in 0..scores.len() {
            let Some(g) = group_of(row) else { continue };
            let (Some(y), Some(t)) = (outcome.get(name, row)?, treated.get(name, row)?) else { continue };
            if scores.is_valid(row) && !scores.value(row).is_nan() {
                groups[g].scores.push(scores.value(row));
                groups[g].flags.push(u8::from(y) | (u8::from(t) << 1));
            }
        }
        Ok(())
    }

    fn state(measure: &Self::Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let mut offsets = ListOffsets::new(measure.name());
        let (mut scores, mut flags) = (Vec::new(), Vec::new());
        for g in groups {
            scores.extend_from_slice(&g.scores);
            flags.extend_from_slice(&g.flags);
            offsets.push(scores.len())?;
        }
        let offsets = offsets.finish();
        Ok(vec![
            Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(DataType::Float64, true)),
                offsets.clone(),
                Arc::new(Float64Array::from(scores)),
                None,
            )),
            Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(DataType::UInt8, true)),
                offsets,
                Arc::new(UInt8Array::from(flags)),
                None,
            )),
        ])
    }

    fn merge(
        _: &Self::Params,
        groups: &mut [Self],
        states: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()> {
        let (scores, flags) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        for row in 0..scores.len() {
            let group = &mut groups[group_of(row)];
            group.scores.extend_from_slice(scores.value(row).as_primitive::<Float64Type>().values());
            group.flags.extend_from_slice(flags.value(row).as_primitive::<UInt8Type>().values());
        }
        Ok(())
    }

    fn evaluate(measure: &Self::Params, groups: &mut [Self]) -> Result<ArrayRef> {
        measure.evaluate(groups)
    }

    fn size(&self) -> usize {
        self.scores.capacity() * size_of::<f64>() + self.flags.capacity()
    }
}
