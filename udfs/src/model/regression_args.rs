//! What the regressions share: the argument checks (a label or response, then a feature list),
//! the literal options, and the result struct's columns.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, StringArray, StructArray};
use arrow::datatypes::{DataType, Field, Fields, Float64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::AccumulatorArgs;

use crate::common::{coerce_features, float_list_array, literal_arg, LiteralArg};

/// Coerces `(label_or_response, features, options…)`: the first argument to Float64 (a BOOLEAN
/// label stays BOOLEAN), the second to List(Float64), the options to `options` in order.
pub(super) fn coerce(name: &str, usage: &str, arg_types: &[DataType], options: &[DataType]) -> Result<Vec<DataType>> {
    if !(2..=2 + options.len()).contains(&arg_types.len()) {
        return plan_err!("{name} takes 2 to {} arguments ({usage}), got {}", 2 + options.len(), arg_types.len());
    }
    let first = match &arg_types[0] {
        DataType::Boolean => DataType::Boolean,
        t if t.is_numeric() || t.is_null() => DataType::Float64,
        t => return plan_err!("{name}: the first argument must be a number or a boolean ({usage}), got {t}"),
    };
    let mut coerced = vec![first, coerce_features(name, &arg_types[1])?];
    for (t, want) in arg_types[2..].iter().zip(options) {
        if !(t.is_numeric() || t.is_null()) {
            return plan_err!("{name}: options must be numbers ({usage}), got {t}");
        }
        coerced.push(want.clone());
    }
    Ok(coerced)
}

/// The value of row `i` of the first argument as a number (a BOOLEAN is 0 or 1); `None` for
/// NULL or NaN.
pub(super) fn first_value(column: &ArrayRef, i: usize) -> Option<f64> {
    if column.is_null(i) {
        return None;
    }
    let value = match column.data_type() {
        DataType::Boolean => f64::from(u8::from(column.as_boolean().value(i))),
        _ => column.as_primitive::<Float64Type>().value(i),
    };
    (!value.is_nan()).then_some(value)
}

/// The label of row `i` as 0.0 or 1.0: None when NULL or NaN (the row is skipped), an error
/// naming `name` for any other value.
pub(super) fn binary_label(name: &str, column: &ArrayRef, i: usize) -> Result<Option<f64>> {
    match first_value(column, i) {
        Some(label) if label != 0.0 && label != 1.0 => {
            exec_err!("{name}: the label must be 0 or 1 (or a boolean), got {label}")
        }
        label => Ok(label),
    }
}

/// A literal option at argument `index`: its default when absent, an error when it is not a
/// constant or not finite.
pub(super) fn literal_f64(name: &str, args: &AccumulatorArgs, index: usize, option: &str, default: f64) -> Result<f64> {
    match literal_arg(args.exprs, index) {
        LiteralArg::Absent => Ok(default),
        LiteralArg::Value(value) => match value.cast_to(&DataType::Float64)? {
            ScalarValue::Float64(Some(v)) if v.is_finite() => Ok(v),
            other => plan_err!("{name}: {option} must be a finite number, got {other}"),
        },
        LiteralArg::NotLiteral => plan_err!("{name}: {option} must be a constant"),
    }
}

/// Checks a feature vector against the length the group has seen.
pub(super) fn check_dim(name: &str, dim: &mut Option<usize>, features: &[f64]) -> Result<()> {
    match *dim {
        Some(d) if d != features.len() => {
            exec_err!("{name}: feature vectors must all have the same length, got {d} and {}", features.len())
        }
        None if features.is_empty() => exec_err!("{name}: the feature vector must not be empty"),
        _ => {
            if let Some(bad) = features.iter().find(|x| x.is_infinite()) {
                return exec_err!("{name}: features must be finite numbers, got {bad}");
            }
            *dim = Some(features.len());
            Ok(())
        }
    }
}

/// One column of the result struct, built group by group.
pub(super) enum Column {
    Lists(Vec<Option<Vec<f64>>>),
    Floats(Vec<Option<f64>>),
    Ints(Vec<Option<i64>>),
    Bools(Vec<Option<bool>>),
    Texts(Vec<Option<String>>),
}

impl Column {
    fn data_type(&self) -> DataType {
        match self {
            Column::Lists(_) => DataType::new_list(DataType::Float64, true),
            Column::Floats(_) => DataType::Float64,
            Column::Ints(_) => DataType::Int64,
            Column::Bools(_) => DataType::Boolean,
            Column::Texts(_) => DataType::Utf8,
        }
    }

    fn array(self, name: &'static str) -> Result<ArrayRef> {
        Ok(match self {
            Column::Lists(lists) => float_list_array(name, lists.iter().map(Option::as_deref))?,
            Column::Floats(v) => Arc::new(Float64Array::from(v)),
            Column::Ints(v) => Arc::new(Int64Array::from(v)),
            Column::Bools(v) => Arc::new(BooleanArray::from(v)),
            Column::Texts(v) => Arc::new(StringArray::from(v)),
        })
    }
}

/// The fields of a result struct whose columns are `columns` (name, empty column of its kind).
pub(super) fn fields(columns: &[(&str, Column)]) -> Fields {
    columns.iter().map(|(name, column)| Field::new(*name, column.data_type(), true)).collect()
}

/// The result struct (never NULL itself: a group without a fit has NULL fields and a reason).
pub(super) fn struct_array(function: &'static str, columns: Vec<(&str, Column)>) -> Result<ArrayRef> {
    let fields = fields(&columns);
    let arrays = columns.into_iter().map(|(_, c)| c.array(function)).collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(StructArray::try_new(fields, arrays, None)?))
}
