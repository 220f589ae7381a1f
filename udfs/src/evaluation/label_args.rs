//! Binary labels and outcomes: booleans, or integers that must be 0 or 1.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{exec_err, plan_err, Result};

/// Booleans stay booleans; integers become Int64 (checked to be 0 or 1 when read).
pub(crate) fn coerce_label(function: &str, argument: &str, data_type: &DataType) -> Result<DataType> {
    match data_type {
        DataType::Boolean | DataType::Null => Ok(DataType::Boolean),
        t if t.is_integer() => Ok(DataType::Int64),
        other => plan_err!("{function}: {argument} must be a boolean or a 0/1 integer, got {other}"),
    }
}

/// Reads the labels of a Boolean or Int64 array: `None` for NULL, an error for integers other than 0 and 1.
pub(crate) struct Labels<'a>(LabelArray<'a>);

enum LabelArray<'a> {
    Boolean(&'a arrow::array::BooleanArray),
    Integer(&'a arrow::array::PrimitiveArray<Int64Type>),
}

impl<'a> Labels<'a> {
    pub(crate) fn new(function: &str, array: &'a ArrayRef) -> Result<Self> {
        match array.data_type() {
            DataType::Boolean => Ok(Self(LabelArray::Boolean(array.as_boolean()))),
            DataType::Int64 => Ok(Self(LabelArray::Integer(array.as_primitive::<Int64Type>()))),
            other => exec_err!("{function}: unexpected label type {other}"),
        }
    }

    pub(crate) fn get(&self, function: &str, row: usize) -> Result<Option<bool>> {
        match &self.0 {
            LabelArray::Boolean(a) => Ok(a.is_valid(row).then(|| a.value(row))),
            LabelArray::Integer(a) => match a.is_valid(row).then(|| a.value(row)) {
                None => Ok(None),
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                Some(other) => exec_err!("{function}: labels must be 0 or 1, got {other}"),
            },
        }
    }
}
