//! Argument handling shared by the score functions.

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::ScalarFunctionArgs;

/// The `N` arguments as Int64 arrays of the batch's length (scalars expanded).
pub(crate) fn int64_args<const N: usize>(name: &str, args: &ScalarFunctionArgs) -> Result<[ArrayRef; N]> {
    let arrays = args.args.iter().map(|a| a.to_array(args.number_rows)).collect::<Result<Vec<_>>>()?;
    if let Some(array) = arrays.iter().find(|a| a.data_type() != &DataType::Int64) {
        return exec_err!("{name} expects Int64 arguments, got {}", array.data_type());
    }
    match arrays.try_into() {
        Ok(arrays) => Ok(arrays),
        Err(arrays) => exec_err!("{name} takes {N} arguments, got {}", arrays.len()),
    }
}
