//! What the predictions share: a model struct's `coefficients` list (intercept first) applied
//! to a feature list, row by row, into a Float64 column.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Builder};
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, Signature, TypeSignature, Volatility};

use crate::common::{coerce_features, feature_lists, FloatListRow, FloatLists};

/// `UserDefined` coerces any struct with a `coefficients` list; the `Exact` variant documents
/// the argument types for `SHOW FUNCTIONS`.
pub(super) fn signature() -> Signature {
    let list = DataType::new_list(DataType::Float64, true);
    let model = DataType::Struct(Fields::from(vec![Field::new("coefficients", list.clone(), true)]));
    Signature::one_of(vec![TypeSignature::UserDefined, TypeSignature::Exact(vec![model, list])], Volatility::Immutable)
}

pub(super) fn coerce(name: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    let [model, features] = arg_types else {
        return plan_err!("{name} takes 2 arguments (model, features), got {}", arg_types.len());
    };
    let DataType::Struct(fields) = model else {
        return plan_err!("{name}: the model must be a struct with a 'coefficients' list, got {model}");
    };
    match fields.iter().find(|f| f.name() == "coefficients").map(|f| f.data_type()) {
        Some(DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _))
            if f.data_type().is_numeric() || f.data_type().is_null() => {}
        Some(other) => return plan_err!("{name}: the model's 'coefficients' must be a list of numbers, got {other}"),
        None => return plan_err!("{name}: the model struct has no field 'coefficients'"),
    }
    Ok(vec![model.clone(), coerce_features(name, features)?])
}

/// The coefficients of the model argument: one list for a constant model (a scalar subquery),
/// or a List(Float64) column.
enum Coefficients {
    Constant(Option<Vec<f64>>),
    Column(ArrayRef),
}

fn coefficients_of(array: &ArrayRef) -> Result<ArrayRef> {
    let structs = array.as_struct();
    let Some(column) = structs.column_by_name("coefficients") else {
        return exec_err!("the model struct has no field 'coefficients'");
    };
    let column = arrow::compute::cast(column, &DataType::new_list(DataType::Float64, true))?;
    // a NULL model is NULL coefficients
    Ok(match structs.nulls() {
        Some(nulls) if structs.null_count() > 0 => {
            let list = column.as_list::<i32>();
            let combined = arrow::buffer::NullBuffer::union(Some(nulls), list.nulls());
            Arc::new(arrow::array::ListArray::try_new(
                Arc::new(Field::new_list_field(DataType::Float64, true)),
                list.offsets().clone(),
                list.values().clone(),
                combined,
            )?)
        }
        _ => column,
    })
}

/// η = b0 + b1·x1 + … + bp·xp for every row, mapped through `link`; NULL where the model, the
/// features or one of their elements is NULL or NaN.
pub(super) fn linear_predictor(
    name: &'static str,
    args: ScalarFunctionArgs,
    link: impl Fn(f64) -> f64,
) -> Result<ColumnarValue> {
    let rows = crate::common::evaluated_rows(&args.args, args.number_rows);
    let coefficients = match &args.args[0] {
        ColumnarValue::Scalar(scalar) => {
            let column = coefficients_of(&scalar.to_array_of_size(1)?)?;
            Coefficients::Constant(match FloatLists::new(column.as_list::<i32>()).row(0) {
                FloatListRow::Values(values) if !values.iter().any(|b| b.is_nan()) => Some(values.to_vec()),
                _ => None,
            })
        }
        ColumnarValue::Array(array) => Coefficients::Column(coefficients_of(array)?),
    };
    let features = feature_lists(name, &args.args[1].to_array(rows)?)?;
    let features = FloatLists::new(features.as_list::<i32>());
    let per_row = match &coefficients {
        Coefficients::Column(column) => Some(FloatLists::new(column.as_list::<i32>())),
        Coefficients::Constant(_) => None,
    };
    let mut out = Float64Builder::with_capacity(rows);
    for row in 0..rows {
        let b = match (&coefficients, &per_row) {
            (Coefficients::Constant(b), _) => b.as_deref(),
            (_, Some(lists)) => match lists.row(row) {
                FloatListRow::Values(values) => Some(values),
                _ => None,
            },
            _ => None,
        };
        let (Some(b), FloatListRow::Values(x)) = (b, features.row(row)) else {
            out.append_null();
            continue;
        };
        if b.len() != x.len() + 1 {
            return exec_err!(
                "{name}: the model has {} coefficients (intercept first) but the row has {} features",
                b.len(),
                x.len()
            );
        }
        let eta = b[0] + b[1..].iter().zip(x).map(|(b, x)| b * x).sum::<f64>();
        if eta.is_nan() {
            out.append_null();
        } else {
            out.append_value(link(eta));
        }
    }
    let result: ArrayRef = Arc::new(out.finish());
    if args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
    }
    Ok(ColumnarValue::Array(result))
}
