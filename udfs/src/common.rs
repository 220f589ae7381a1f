//! Small helpers shared by the function implementations.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringArrayType};
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::ColumnarValue;

/// Applies a string predicate to every row of a string argument (Utf8, LargeUtf8 or
/// Utf8View, array or scalar); NULL in gives NULL out.
pub(crate) fn string_predicate(
    name: &str,
    arg: &ColumnarValue,
    number_rows: usize,
    predicate: fn(&str) -> bool,
) -> Result<ColumnarValue> {
    let array = arg.to_array(number_rows)?;
    let result: BooleanArray = match array.data_type() {
        DataType::Utf8 => map_strings(array.as_string::<i32>(), predicate),
        DataType::LargeUtf8 => map_strings(array.as_string::<i64>(), predicate),
        DataType::Utf8View => map_strings(array.as_string_view(), predicate),
        DataType::Null => BooleanArray::new_null(array.len()),
        other => return exec_err!("{name} expects a string argument, got {other}"),
    };
    let result: ArrayRef = Arc::new(result);
    Ok(match arg {
        ColumnarValue::Scalar(_) => ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&result, 0)?),
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
    let array = arg.to_array(number_rows)?;
    let result: arrow::array::StringArray = match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().map(|v| v.map(f)).collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().map(|v| v.map(f)).collect(),
        DataType::Utf8View => array.as_string_view().iter().map(|v| v.map(f)).collect(),
        DataType::Null => std::iter::repeat_n(None::<String>, array.len()).collect(),
        other => return exec_err!("{name} expects a string argument, got {other}"),
    };
    let result: ArrayRef = Arc::new(result);
    Ok(match arg {
        ColumnarValue::Scalar(_) => ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&result, 0)?),
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
