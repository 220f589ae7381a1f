//! The state behind `clv_summary` and `clv_holdout`: a customer's purchase days with the
//! amount spent on each. All purchases of one calendar day are one purchase occasion (as
//! lifetimes' `summary_data_from_transaction_data(freq='D')`), so the state is compacted to
//! one entry per day whenever it has doubled. Each function implements [`OccasionMeasure`]:
//! its constant arguments, which days it keeps and how it turns the days into its result.

use std::fmt::Debug;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int32Array, ListArray};
use arrow::datatypes::{DataType, Date32Type, Field, FieldRef, Float64Type, Int32Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;

use crate::common::{literal_arg, purchase_days, ListOffsets, LiteralArg};
use crate::group_state::GroupState;

/// What a function does with a customer's purchase days.
pub(super) trait OccasionMeasure: Debug + Send + Sync + Sized + 'static {
    const NAME: &'static str;
    /// Constant arguments read at plan time.
    type Params: Debug + Send + Sync + 'static;
    /// Where the amount argument is, if the function has one.
    const AMOUNT: Option<usize>;
    /// The last day whose purchases count (later ones are ignored).
    fn last_day(params: &Self::Params) -> i32;
    /// The result of every group, one row each.
    fn evaluate(params: &Self::Params, groups: &mut [Occasions<Self>]) -> Result<ArrayRef>;
}

/// A customer's purchase days and the amount of each, as (day, amount) pairs; sorted by day
/// with one entry per day after [`Occasions::compact`].
#[derive(Debug)]
pub(super) struct Occasions<M> {
    entries: Vec<(i32, f64)>,
    /// The first `compacted` entries are sorted and distinct.
    compacted: usize,
    measure: std::marker::PhantomData<M>,
}

impl<M> Default for Occasions<M> {
    fn default() -> Self {
        Self { entries: Vec::new(), compacted: 0, measure: std::marker::PhantomData }
    }
}

impl<M> Occasions<M> {
    fn push(&mut self, day: i32, amount: f64) {
        // consecutive purchases on one day (the common case) are summed in place
        if self.entries.len() > self.compacted {
            if let Some(last) = self.entries.last_mut().filter(|e| e.0 == day) {
                last.1 += amount;
                return;
            }
        }
        self.entries.push((day, amount));
        if self.entries.len() >= 2 * self.compacted.max(16) {
            self.compact();
        }
    }

    /// Sorts by day (stable: the amounts of a day are added in arrival order) and sums the
    /// amounts of each day, in place.
    pub(super) fn compact(&mut self) {
        if self.compacted == self.entries.len() {
            return;
        }
        self.entries.sort_by_key(|e| e.0);
        let mut kept = 0;
        for i in 0..self.entries.len() {
            let (day, amount) = self.entries[i];
            if kept > 0 && self.entries[kept - 1].0 == day {
                self.entries[kept - 1].1 += amount;
            } else {
                self.entries[kept] = (day, amount);
                kept += 1;
            }
        }
        self.entries.truncate(kept);
        self.compacted = kept;
    }

    /// The distinct purchase days (sorted) with the amount of each; call [`Occasions::compact`] first.
    pub(super) fn days(&self) -> &[(i32, f64)] {
        &self.entries
    }
}

/// A constant DATE argument.
pub(super) fn date_arg(name: &str, args: &AccumulatorArgs, index: usize, what: &str) -> Result<i32> {
    match literal_arg(args.exprs, index) {
        LiteralArg::Value(ScalarValue::Date32(Some(day))) => Ok(*day),
        LiteralArg::Value(other) => plan_err!("{name}: {what} must be a non-NULL date, got {other}"),
        LiteralArg::Absent | LiteralArg::NotLiteral => plan_err!("{name}: {what} must be a constant date"),
    }
}

/// The constant time unit argument: days per unit (1 for 'day', 7 for 'week').
pub(super) fn unit_arg(name: &str, args: &AccumulatorArgs, index: usize) -> Result<f64> {
    match literal_arg(args.exprs, index) {
        LiteralArg::Absent => Ok(1.0),
        LiteralArg::Value(
            ScalarValue::Utf8(Some(unit)) | ScalarValue::LargeUtf8(Some(unit)) | ScalarValue::Utf8View(Some(unit)),
        ) => match unit.as_str() {
            "day" => Ok(1.0),
            "week" => Ok(7.0),
            other => plan_err!("{name}: unit must be 'day' or 'week', got '{other}'"),
        },
        LiteralArg::Value(other) => plan_err!("{name}: unit must be 'day' or 'week', got {other}"),
        LiteralArg::NotLiteral => plan_err!("{name}: unit must be a constant string"),
    }
}

pub(super) fn state_fields(args: &StateFieldsArgs) -> Vec<FieldRef> {
    vec![
        Arc::new(Field::new(format_state_name(args.name, "days"), DataType::new_list(DataType::Int32, true), true)),
        Arc::new(Field::new(
            format_state_name(args.name, "amounts"),
            DataType::new_list(DataType::Float64, true),
            true,
        )),
    ]
}

impl<M: OccasionMeasure> GroupState for Occasions<M> {
    type Params = M::Params;

    fn update(
        params: &M::Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let days = purchase_days(&values[0])?;
        let days = days.as_primitive::<Date32Type>();
        let amounts = M::AMOUNT.map(|i| values[i].as_primitive::<Float64Type>());
        let last = M::last_day(params);
        for row in 0..days.len() {
            let Some(group) = group_of(row) else { continue };
            if days.is_null(row) || days.value(row) > last {
                continue;
            }
            let amount = match amounts {
                Some(a) if a.is_null(row) || a.value(row).is_nan() => continue,
                Some(a) if a.value(row).is_infinite() => {
                    return exec_err!("{}: amount must be a finite number, got {}", M::NAME, a.value(row));
                }
                Some(a) => a.value(row),
                None => 0.0,
            };
            groups[group].push(days.value(row), amount);
        }
        Ok(())
    }

    fn state(_: &M::Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let mut offsets = ListOffsets::new(M::NAME);
        let mut days = Vec::new();
        let mut amounts = Vec::new();
        for group in groups.iter_mut() {
            group.compact();
            days.extend(group.entries.iter().map(|e| e.0));
            amounts.extend(group.entries.iter().map(|e| e.1));
            offsets.push(days.len())?;
        }
        let offsets = offsets.finish();
        let days = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Int32, true)),
            offsets.clone(),
            Arc::new(Int32Array::from(days)),
            None,
        );
        let amounts = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Float64, true)),
            offsets,
            Arc::new(Float64Array::from(amounts)),
            None,
        );
        Ok(vec![Arc::new(days), Arc::new(amounts)])
    }

    fn merge(_: &M::Params, groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        let days = states[0].as_list::<i32>();
        let amounts = states[1].as_list::<i32>();
        for i in 0..days.len() {
            if days.is_null(i) || amounts.is_null(i) {
                continue;
            }
            let d = days.value(i);
            let d = d.as_primitive::<Int32Type>();
            let a = amounts.value(i);
            let a = a.as_primitive::<Float64Type>();
            if d.len() != a.len() || d.null_count() > 0 || a.null_count() > 0 {
                return exec_err!("{}: malformed partial state: {} days for {} amounts", M::NAME, d.len(), a.len());
            }
            let group = &mut groups[group_of(i)];
            for (day, amount) in d.values().iter().zip(a.values()) {
                group.push(*day, *amount);
            }
        }
        Ok(())
    }

    fn evaluate(params: &M::Params, groups: &mut [Self]) -> Result<ArrayRef> {
        groups.iter_mut().for_each(Occasions::compact);
        M::evaluate(params, groups)
    }

    fn size(&self) -> usize {
        self.entries.capacity() * size_of::<(i32, f64)>()
    }
}
