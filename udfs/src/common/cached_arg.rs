//! An argument that is expensive to read (a similarity list, a model) and usually the same on
//! every row: from a scalar subquery it is parsed once per call; as a column (one list or model
//! per segment, joined to the customers) each distinct value of a batch is parsed once — a row's
//! value is compared with the last [`KEPT`] parsed ones.

use arrow::array::{Array, ArrayRef};
use datafusion::common::Result;
use datafusion::logical_expr::ColumnarValue;

/// Parsed values kept per call when the argument is a column.
const KEPT: usize = 16;

pub(crate) enum Cached<T> {
    Constant(Option<T>),
    Column { values: ArrayRef, seen: Vec<(ArrayRef, T)> },
}

impl<T> Cached<T> {
    /// `parse(array, row)` reads one value; a NULL value is `None`.
    pub(crate) fn new(arg: &ColumnarValue, parse: impl Fn(&ArrayRef, usize) -> Result<T>) -> Result<Self> {
        Ok(match arg {
            ColumnarValue::Scalar(value) => {
                let array = value.to_array_of_size(1)?;
                Self::Constant(if array.is_null(0) { None } else { Some(parse(&array, 0)?) })
            }
            ColumnarValue::Array(values) => Self::Column { values: ArrayRef::clone(values), seen: Vec::new() },
        })
    }

    /// The parsed value of `row`, or `None` when it is NULL.
    pub(crate) fn get(&mut self, row: usize, parse: impl Fn(&ArrayRef, usize) -> Result<T>) -> Result<Option<&T>> {
        match self {
            Self::Constant(value) => Ok(value.as_ref()),
            Self::Column { values, seen } => {
                if values.is_null(row) {
                    return Ok(None);
                }
                let value = values.slice(row, 1);
                let at = match seen.iter().position(|(v, _)| v.as_ref() == value.as_ref()) {
                    Some(at) => at,
                    None => {
                        if seen.len() == KEPT {
                            seen.remove(0);
                        }
                        seen.push((value, parse(values, row)?));
                        seen.len() - 1
                    }
                };
                Ok(Some(&seen[at].1))
            }
        }
    }
}
