//! The state `velocity_count` and `velocity_sum` share: a partition's rows of the last `window`
//! microseconds (time and value), oldest first, with their count and compensated sum.

use std::collections::VecDeque;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, IntervalMonthDayNanoType, IntervalUnit, TimeUnit};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::PartitionEvaluatorArgs;
use datafusion::logical_expr::{Signature, TypeSignature, Volatility};

use super::running::micros;
use crate::common::{literal_arg, LiteralArg};

/// The window argument as microseconds: a constant interval of days and time, no months (a month
/// has no fixed length), longer than zero.
pub fn window_micros(function: &str, args: &PartitionEvaluatorArgs, index: usize) -> Result<i64> {
    let interval = match literal_arg(args.input_exprs(), index) {
        LiteralArg::Value(ScalarValue::IntervalMonthDayNano(Some(v))) => *v,
        LiteralArg::Value(other) => return plan_err!("{function}: window must be an interval, got {other}"),
        LiteralArg::NotLiteral | LiteralArg::Absent => {
            return plan_err!("{function}: window must be a constant interval such as INTERVAL '1' HOUR")
        }
    };
    let (months, days, nanos) = IntervalMonthDayNanoType::to_parts(interval);
    if months != 0 {
        return plan_err!("{function}: window must be given in days, hours, minutes or seconds, not months");
    }
    let micros = i64::from(days).checked_mul(86_400_000_000).and_then(|d| d.checked_add(nanos / 1_000));
    match micros {
        Some(m) if m > 0 => Ok(m),
        _ => plan_err!("{function}: window must be longer than zero and shorter than 290,000 years"),
    }
}

/// The signature of velocity_count (`with_value` false) and velocity_sum: coerce_types decides;
/// the Exact form names the argument types for SHOW FUNCTIONS.
pub fn signature(with_value: bool) -> Signature {
    let mut exact =
        vec![DataType::Timestamp(TimeUnit::Microsecond, None), DataType::Interval(IntervalUnit::MonthDayNano)];
    if with_value {
        exact.insert(0, DataType::Float64);
    }
    Signature::one_of(vec![TypeSignature::UserDefined, TypeSignature::Exact(exact)], Volatility::Immutable)
}

/// Coerces (value,) ts, window: a number to Float64, a timestamp as it is, an interval as
/// month-day-nano.
pub fn coerce(function: &str, arg_types: &[DataType], with_value: bool) -> Result<Vec<DataType>> {
    let expected = if with_value { 3 } else { 2 };
    if arg_types.len() != expected {
        let names = if with_value { "value, ts, window" } else { "ts, window" };
        return plan_err!("{function} takes {expected} arguments ({names}), got {}", arg_types.len());
    }
    let mut coerced = Vec::with_capacity(expected);
    if with_value {
        match &arg_types[0] {
            t if t.is_numeric() || t.is_null() => coerced.push(DataType::Float64),
            t => return plan_err!("{function}: value must be a number, got {t}"),
        }
    }
    coerced.push(super::running::timestamp_type(function, &arg_types[expected - 2])?);
    match &arg_types[expected - 1] {
        DataType::Interval(_) | DataType::Null => {
            coerced.push(DataType::Interval(IntervalUnit::MonthDayNano));
        }
        t => return plan_err!("{function}: window must be an interval, got {t}"),
    }
    Ok(coerced)
}

/// The rows of the current partition within `window` of the latest one.
#[derive(Debug)]
pub struct Recent {
    function: &'static str,
    window: i64,
    /// (time, value) of the rows in the window, oldest first; NaN for a NULL value.
    rows: VecDeque<(i64, f64)>,
    /// Sum of the non-NULL values in `rows` (Neumaier: `sum + compensation`).
    sum: f64,
    compensation: f64,
    /// Non-NULL values in `rows`.
    values: usize,
    last: Option<i64>,
}

impl Recent {
    pub fn new(function: &'static str, window: i64) -> Self {
        Self { function, window, rows: VecDeque::new(), sum: 0.0, compensation: 0.0, values: 0, last: None }
    }

    /// Adds the row at `row` (time from `ts`, value from `value` if given) and drops the rows
    /// older than `window` before it; `false` when its time is NULL (nothing changes).
    pub fn push(&mut self, ts: &ArrayRef, value: Option<&ArrayRef>, row: usize) -> Result<bool> {
        let Some(t) = micros(self.function, ts, row)? else {
            return Ok(false);
        };
        if let Some(last) = self.last.filter(|&last| t < last) {
            return exec_err!(
                "{}: rows must come in time order (ORDER BY ts in the window): a row at {t} µs follows one at {last} µs",
                self.function
            );
        }
        self.last = Some(t);
        let x = match value {
            Some(v) => {
                let v = v.as_primitive::<Float64Type>();
                if v.is_null(row) {
                    f64::NAN
                } else if v.value(row).is_infinite() {
                    return exec_err!("{}: value must be finite, got {}", self.function, v.value(row));
                } else {
                    v.value(row)
                }
            }
            None => f64::NAN,
        };
        let from = t.saturating_sub(self.window);
        while let Some(&(old, v)) = self.rows.front() {
            if old >= from {
                break;
            }
            self.rows.pop_front();
            if !v.is_nan() {
                self.add(-v);
                self.values -= 1;
            }
        }
        if self.values == 0 {
            self.sum = 0.0;
            self.compensation = 0.0;
        }
        self.rows.push_back((t, x));
        if !x.is_nan() {
            self.add(x);
            self.values += 1;
        }
        Ok(true)
    }

    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        self.compensation += if self.sum.abs() >= x.abs() { (self.sum - t) + x } else { (x - t) + self.sum };
        self.sum = t;
    }

    /// Rows in the window, the current one included.
    pub fn count(&self) -> usize {
        self.rows.len()
    }

    /// Sum of the non-NULL values in the window; `None` when there are none.
    pub fn sum(&self) -> Option<f64> {
        (self.values > 0).then_some(self.sum + self.compensation)
    }
}
