//! Small helpers shared by the function implementations.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringArrayType};
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::PhysicalExpr;

pub(crate) mod cached_arg;
pub(crate) mod features;
pub(crate) mod item_pairs;
pub(crate) mod validate;

pub(crate) use features::{aggregate_reading_columns, coerce_features, feature_lists, scalar_reading_columns};

/// The rows a scalar function computes: `number_rows`, or 1 when every argument is a constant
/// (the result is then a constant too, whatever the batch's size — even 0 rows).
pub(crate) fn evaluated_rows(args: &[ColumnarValue], number_rows: usize) -> usize {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        1
    } else {
        number_rows
    }
}

/// Applies a string predicate to every row of a string argument (Utf8, LargeUtf8 or
/// Utf8View, array or scalar); NULL in gives NULL out.
pub(crate) fn string_predicate(
    name: &str,
    arg: &ColumnarValue,
    number_rows: usize,
    predicate: fn(&str) -> bool,
) -> Result<ColumnarValue> {
    let array = arg.to_array(evaluated_rows(std::slice::from_ref(arg), number_rows))?;
    let result: BooleanArray = match array.data_type() {
        DataType::Utf8 => map_strings(array.as_string::<i32>(), predicate),
        DataType::LargeUtf8 => map_strings(array.as_string::<i64>(), predicate),
        DataType::Utf8View => map_strings(array.as_string_view(), predicate),
        DataType::Null => BooleanArray::new_null(array.len()),
        other => return exec_err!("{name} expects a string argument, got {other}"),
    };
    let result: ArrayRef = Arc::new(result);
    Ok(match arg {
        ColumnarValue::Scalar(_) => ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?),
        ColumnarValue::Array(_) => ColumnarValue::Array(result),
    })
}

fn map_strings<'a, S: StringArrayType<'a>>(strings: S, predicate: fn(&str) -> bool) -> BooleanArray {
    (0..strings.len()).map(|i| (!strings.is_null(i)).then(|| predicate(strings.value(i)))).collect()
}

/// Rows of a List(Float64) array read as slices of the child values, without the per-row
/// allocation of `ListArray::value`.
pub(crate) struct FloatLists<'a> {
    list: &'a arrow::array::ListArray,
    values: &'a arrow::array::Float64Array,
}

/// One row of a [`FloatLists`].
pub(crate) enum FloatListRow<'a> {
    Null,
    /// The list holds a NULL element.
    HasNull,
    Values(&'a [f64]),
}

impl<'a> FloatLists<'a> {
    pub(crate) fn new(list: &'a arrow::array::ListArray) -> Self {
        Self { list, values: list.values().as_primitive::<arrow::datatypes::Float64Type>() }
    }

    #[inline]
    pub(crate) fn row(&self, row: usize) -> FloatListRow<'a> {
        if self.list.is_null(row) {
            return FloatListRow::Null;
        }
        let offsets = self.list.value_offsets();
        let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
        if self.values.null_count() > 0 && (start..end).any(|i| self.values.is_null(i)) {
            return FloatListRow::HasNull;
        }
        FloatListRow::Values(&self.values.values()[start..end])
    }
}

/// Applies a string function to every row of a string argument (Utf8, LargeUtf8 or Utf8View,
/// array or scalar); NULL in gives NULL out. The result is Utf8.
pub(crate) fn string_map(
    name: &str,
    arg: &ColumnarValue,
    number_rows: usize,
    f: fn(&str) -> String,
) -> Result<ColumnarValue> {
    let array = arg.to_array(evaluated_rows(std::slice::from_ref(arg), number_rows))?;
    let result: arrow::array::StringArray = match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().map(|v| v.map(f)).collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().map(|v| v.map(f)).collect(),
        DataType::Utf8View => array.as_string_view().iter().map(|v| v.map(f)).collect(),
        DataType::Null => std::iter::repeat_n(None::<String>, array.len()).collect(),
        other => return exec_err!("{name} expects a string argument, got {other}"),
    };
    let result: ArrayRef = Arc::new(result);
    Ok(match arg {
        ColumnarValue::Scalar(_) => ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?),
        ColumnarValue::Array(_) => ColumnarValue::Array(result),
    })
}

/// Keeps the first `head` and last `tail` characters and replaces each character between them
/// with `*`; strings of at most `head + tail` characters are masked entirely.
pub(crate) fn mask_middle(value: &str, head: usize, tail: usize) -> String {
    let n = value.chars().count();
    if n <= head + tail {
        return "*".repeat(n);
    }
    value.chars().enumerate().map(|(i, c)| if i < head || i >= n - tail { c } else { '*' }).collect()
}

/// Upper bound on the number of cut points a binned aggregate accepts.
const MAX_CUT_POINTS: usize = 10_000;

/// The same floats bit for bit: a branch-free comparison (-0.0 and 0.0 differ, NaNs of the
/// same payload agree), what a later row's cut points must be to skip [`fix_cut_points`]' checks.
#[inline]
pub(crate) fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x.to_bits() ^ y.to_bits())) == 0
}

/// A group's cut points arrive on every row: the first row's are checked (finite, strictly
/// increasing, at most 10,000) and kept in `own`, later rows must repeat them. Returns true when
/// they were set by this call, so the caller sizes its counts. Errors name `function` when given.
/// The per-row case (the same cut points again) is a branch-free bitwise comparison inlined
/// into the caller's loop; anything else takes the out-of-line path.
#[inline]
pub(crate) fn fix_cut_points(own: &mut Option<Vec<f64>>, cuts: &[f64], function: &str) -> Result<bool> {
    if own.as_ref().is_some_and(|kept| same_bits(kept, cuts)) {
        return Ok(false);
    }
    set_cut_points(own, cuts, function)
}

#[cold]
fn set_cut_points(own: &mut Option<Vec<f64>>, cuts: &[f64], function: &str) -> Result<bool> {
    let prefix = || if function.is_empty() { String::new() } else { format!("{function}: ") };
    match own {
        Some(kept) if kept.as_slice() == cuts => Ok(false),
        Some(_) => exec_err!("{}the cut points must be the same on every row of a group", prefix()),
        None => {
            if cuts.len() > MAX_CUT_POINTS {
                return exec_err!("{}invalid cut points: at most {MAX_CUT_POINTS}, got {}", prefix(), cuts.len());
            }
            if let Some(bad) = cuts.iter().find(|c| !c.is_finite()) {
                return exec_err!("{}invalid cut points: they must be finite, got {bad}", prefix());
            }
            if cuts.windows(2).any(|w| w[0] >= w[1]) {
                return exec_err!("{}invalid cut points: cut points must be strictly increasing", prefix());
            }
            *own = Some(cuts.to_vec());
            Ok(true)
        }
    }
}

/// A List(Float64) array with one list per entry (NULL for `None`), for aggregate states.
/// Errors (naming `function`) past 2^31 - 1 values.
pub(crate) fn float_list_array<'a>(
    function: &'static str,
    lists: impl IntoIterator<Item = Option<&'a [f64]>>,
) -> Result<ArrayRef> {
    let mut offsets = ListOffsets::new(function);
    let mut values: Vec<f64> = Vec::new();
    let mut valid = Vec::new();
    for list in lists {
        valid.push(list.is_some());
        values.extend_from_slice(list.unwrap_or_default());
        offsets.push(values.len())?;
    }
    let nulls = valid.contains(&false).then(|| valid.into());
    Ok(Arc::new(arrow::array::ListArray::new(
        Arc::new(arrow::datatypes::Field::new_list_field(DataType::Float64, true)),
        offsets.finish(),
        Arc::new(arrow::array::Float64Array::from(values)),
        nulls,
    )))
}

/// Calls `each(row, column, values)` for every non-NULL list of the List(Float64) state columns.
pub(crate) fn for_each_float_list(states: &[ArrayRef], mut each: impl FnMut(usize, usize, &[f64])) {
    let columns: Vec<FloatLists> = states.iter().map(|s| FloatLists::new(s.as_list::<i32>())).collect();
    for row in 0..states.first().map_or(0, |s| s.len()) {
        for (column, lists) in columns.iter().enumerate() {
            if let FloatListRow::Values(values) = lists.row(row) {
                each(row, column, values);
            }
        }
    }
}

/// A constant argument of a function, as the planner passed it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LiteralArg<'a> {
    /// The call has fewer arguments.
    Absent,
    /// The argument is an expression (a column, a computation), not a constant.
    NotLiteral,
    Value(&'a ScalarValue),
}

/// Argument `index` of `exprs` (an aggregate's `AccumulatorArgs::exprs`, a window function's
/// `PartitionEvaluatorArgs::input_exprs`) read as a literal.
pub(crate) fn literal_arg(exprs: &[Arc<dyn PhysicalExpr>], index: usize) -> LiteralArg<'_> {
    match exprs.get(index) {
        None => LiteralArg::Absent,
        Some(expr) => expr.downcast_ref::<Literal>().map_or(LiteralArg::NotLiteral, |l| LiteralArg::Value(l.value())),
    }
}

/// The offsets of a List array under construction, checked against the 2^31 - 1 values an
/// `i32` offset can address: past that, `push` is an error naming `function` instead of a
/// wrapped offset (a panic or a corrupt array further on).
#[derive(Debug, Clone)]
pub(crate) struct ListOffsets {
    function: &'static str,
    offsets: Vec<i32>,
}

impl ListOffsets {
    pub(crate) fn new(function: &'static str) -> Self {
        Self { function, offsets: vec![0] }
    }

    /// Closes the current list at `end` values in all.
    pub(crate) fn push(&mut self, end: usize) -> Result<()> {
        let Ok(end) = i32::try_from(end) else {
            return exec_err!(
                "{}: a result or state batch holds more than {} list values (got {end}); use fewer groups per batch",
                self.function,
                i32::MAX
            );
        };
        self.offsets.push(end);
        Ok(())
    }

    pub(crate) fn finish(self) -> arrow::buffer::OffsetBuffer<i32> {
        arrow::buffer::OffsetBuffer::new(self.offsets.into())
    }

    /// The List array of `values` cut at these offsets, without NULL lists.
    pub(crate) fn into_list(self, values: ArrayRef) -> ArrayRef {
        let item = Arc::new(arrow::datatypes::Field::new_list_field(values.data_type().clone(), true));
        Arc::new(arrow::array::ListArray::new(item, self.finish(), values, None))
    }
}

/// The offsets of `lists` lists of `len` values each, or an error naming `function` past the
/// 2^31 - 1 values an `i32` offset can address.
pub(crate) fn fixed_offsets(
    function: &'static str,
    len: usize,
    lists: usize,
) -> Result<arrow::buffer::OffsetBuffer<i32>> {
    let mut offsets = ListOffsets::new(function);
    for i in 1..=lists {
        offsets.push(i.saturating_mul(len))?;
    }
    Ok(offsets.finish())
}

/// A DATE or TIMESTAMP type (what the purchase-date arguments accept).
pub(crate) fn is_date_like(t: &DataType) -> bool {
    matches!(t, DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _))
}

/// Days since 1970-01-01 of the dates or timestamps in `ts` (timestamps in UTC, truncated
/// toward the earlier day; a timestamp whose date does not fit a Date32 is NULL, as a cast).
pub(crate) fn purchase_days(ts: &ArrayRef) -> Result<ArrayRef> {
    /// `PER_DAY` is a constant so the division compiles to a multiplication. When the batch's
    /// extremes fit a Date32 (always, for real dates) the conversion keeps the input's null
    /// buffer and runs without a branch per row; otherwise out-of-range values become NULL.
    fn days<T: arrow::datatypes::ArrowPrimitiveType<Native = i64>, const PER_DAY: i64>(ts: &ArrayRef) -> ArrayRef {
        let ts = ts.as_primitive::<T>();
        let fits = |t: Option<i64>| t.is_none_or(|t| i32::try_from(t.div_euclid(PER_DAY)).is_ok());
        let days: arrow::array::Date32Array = if fits(arrow::compute::min(ts)) && fits(arrow::compute::max(ts)) {
            #[allow(clippy::cast_possible_truncation)] // checked above: min and max fit
            ts.unary(|t| t.div_euclid(PER_DAY) as i32)
        } else {
            ts.unary_opt(|t| i32::try_from(t.div_euclid(PER_DAY)).ok())
        };
        Arc::new(days)
    }
    Ok(match ts.data_type() {
        DataType::Date32 => Arc::clone(ts),
        DataType::Timestamp(arrow::datatypes::TimeUnit::Second, _) => {
            days::<arrow::datatypes::TimestampSecondType, 86_400>(ts)
        }
        DataType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, _) => {
            days::<arrow::datatypes::TimestampMillisecondType, 86_400_000>(ts)
        }
        DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, _) => {
            days::<arrow::datatypes::TimestampMicrosecondType, 86_400_000_000>(ts)
        }
        DataType::Timestamp(arrow::datatypes::TimeUnit::Nanosecond, _) => {
            days::<arrow::datatypes::TimestampNanosecondType, 86_400_000_000_000>(ts)
        }
        _ => arrow::compute::cast(ts, &DataType::Date32)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Date32Array;
    use arrow::datatypes::Date32Type;

    #[test]
    fn purchase_days_floor_timestamps_and_null_dates_out_of_range() -> Result<()> {
        use arrow::array::{TimestampMicrosecondArray, TimestampSecondArray};
        let day = 86_400_i64;
        // in range: the fast path keeps NULLs and floors negative times to the earlier day
        let ts: ArrayRef =
            Arc::new(TimestampSecondArray::from(vec![Some(0), Some(day - 1), None, Some(-1), Some(3 * day)]));
        let days = purchase_days(&ts)?;
        assert_eq!(
            days.as_primitive::<Date32Type>(),
            &Date32Array::from(vec![Some(0), Some(0), None, Some(-1), Some(3)])
        );
        // a date beyond Date32 is NULL, the others are still converted
        let ts: ArrayRef = Arc::new(TimestampSecondArray::from(vec![Some(day), Some(i64::MAX), Some(i64::MIN)]));
        let days = purchase_days(&ts)?;
        assert_eq!(days.as_primitive::<Date32Type>(), &Date32Array::from(vec![Some(1), None, None]));
        let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![Some(day * 1_000_000 * 2 + 5)]));
        assert_eq!(purchase_days(&ts)?.as_primitive::<Date32Type>().value(0), 2);
        Ok(())
    }
}
