//! Arguments of the lifetime predictions: a model's parameters given as a struct (the fit's
//! output or any struct with those fields, e.g. `named_struct('r', 0.243, 'alpha', 4.414, …)`)
//! followed by numbers, evaluated row by row into a Float64 column.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Float64Builder};
use arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

/// Checks one customer's (frequency, recency, T).
pub(super) fn check_customer(name: &str, x: f64, t_x: f64, age: f64) -> Result<()> {
    if x < 0.0 || x.fract() != 0.0 {
        return exec_err!("{name}: frequency must be a whole number >= 0, got {x}");
    }
    if t_x < 0.0 || t_x > age {
        return exec_err!("{name}: recency must be between 0 and T, got recency {t_x} and T {age}");
    }
    Ok(())
}

/// Checks a parameter argument: a struct with every field of `fields`, each numeric.
fn check_params(name: &str, arg: &DataType, fields: &[&str]) -> Result<()> {
    let DataType::Struct(have) = arg else {
        return plan_err!("{name}: the model must be a struct with fields {}, got {arg}", fields.join(", "));
    };
    for field in fields {
        match have.iter().find(|f| f.name() == field) {
            Some(f) if f.data_type().is_numeric() || f.data_type().is_null() => {}
            Some(f) => return plan_err!("{name}: model field '{field}' must be numeric, got {}", f.data_type()),
            None => {
                return plan_err!("{name}: the model struct has no field '{field}' (it needs {})", fields.join(", "))
            }
        }
    }
    Ok(())
}

/// The signature of a prediction: `UserDefined` coerces (any struct with the fields, any
/// numbers); the `Exact` variant documents the argument types for `SHOW FUNCTIONS`.
pub(super) fn signature(models: &[&[&str]], numbers: usize, extra: &[DataType]) -> datafusion::logical_expr::Signature {
    use arrow::datatypes::{Field, Fields};
    use datafusion::logical_expr::{Signature, TypeSignature, Volatility};
    let mut exact: Vec<DataType> = models
        .iter()
        .map(|fields| {
            DataType::Struct(Fields::from(
                fields.iter().map(|f| Field::new(*f, DataType::Float64, true)).collect::<Vec<_>>(),
            ))
        })
        .collect();
    exact.extend(std::iter::repeat_n(DataType::Float64, numbers));
    exact.extend_from_slice(extra);
    Signature::one_of(vec![TypeSignature::UserDefined, TypeSignature::Exact(exact)], Volatility::Immutable)
}

/// Argument types: `models` structs (kept as they are), then `numbers` numbers as Float64, then
/// the types of any trailing arguments up to `extra` (checked by the caller).
pub(super) fn coerce(
    name: &str,
    arg_types: &[DataType],
    models: &[&[&str]],
    numbers: usize,
    extra: usize,
    usage: &str,
) -> Result<Vec<DataType>> {
    let least = models.len() + numbers;
    if !(least..=least + extra).contains(&arg_types.len()) {
        return plan_err!("{name} takes {least} arguments ({usage}), got {}", arg_types.len());
    }
    let mut coerced = Vec::with_capacity(arg_types.len());
    for (arg, fields) in arg_types.iter().zip(models) {
        check_params(name, arg, fields)?;
        coerced.push(arg.clone());
    }
    for arg in &arg_types[models.len()..least] {
        if !arg.is_numeric() && !arg.is_null() {
            return plan_err!("{name}: expected a number ({usage}), got {arg}");
        }
        coerced.push(DataType::Float64);
    }
    coerced.extend_from_slice(&arg_types[least..]);
    Ok(coerced)
}

/// The parameter columns of one model argument.
struct ModelColumns {
    name: &'static str,
    structs: ArrayRef,
    fields: Vec<Float64Array>,
    names: &'static [&'static str],
}

impl ModelColumns {
    fn new(name: &'static str, array: ArrayRef, names: &'static [&'static str]) -> Result<Self> {
        let Some(structs) = array.as_struct_opt() else {
            return exec_err!("{name}: the model must be a struct, got {}", array.data_type());
        };
        let mut fields = Vec::with_capacity(names.len());
        for field in names {
            let Some(column) = structs.column_by_name(field) else {
                return exec_err!("{name}: the model struct has no field '{field}'");
            };
            let column = arrow::compute::cast(column, &DataType::Float64)?;
            fields.push(column.as_primitive::<Float64Type>().clone());
        }
        Ok(Self { name, structs: array, fields, names })
    }

    /// The parameters of row `i`, `None` when the struct or a field is NULL or NaN; an error
    /// when a parameter is not a positive finite number.
    fn row(&self, i: usize, out: &mut Vec<f64>) -> Result<bool> {
        out.clear();
        if self.structs.is_null(i) {
            return Ok(false);
        }
        for (column, field) in self.fields.iter().zip(self.names) {
            if column.is_null(i) || column.value(i).is_nan() {
                return Ok(false);
            }
            let v = column.value(i);
            if !(v.is_finite() && v > 0.0) {
                return exec_err!("{}: model parameter {field} must be a positive finite number, got {v}", self.name);
            }
            out.push(v);
        }
        Ok(true)
    }
}

/// Evaluates `f(models, numbers)` row by row: NULL (or NaN) in any argument gives NULL, and so
/// does `f` returning `None`. Arguments after the numbers are left to the caller.
pub(super) fn invoke(
    name: &'static str,
    args: &ScalarFunctionArgs,
    models: &[&'static [&'static str]],
    numbers: usize,
    f: impl Fn(&[Vec<f64>], &[f64]) -> Result<Option<f64>>,
) -> Result<ColumnarValue> {
    let rows = args.number_rows;
    let mut model_columns = Vec::with_capacity(models.len());
    for (arg, names) in args.args.iter().zip(models) {
        model_columns.push(ModelColumns::new(name, arg.to_array(rows)?, names)?);
    }
    let mut number_columns = Vec::with_capacity(numbers);
    for arg in &args.args[models.len()..models.len() + numbers] {
        let array = arg.to_array(rows)?;
        number_columns.push(arrow::compute::cast(&array, &DataType::Float64)?.as_primitive::<Float64Type>().clone());
    }
    let mut params: Vec<Vec<f64>> = vec![Vec::new(); models.len()];
    let mut values = vec![0.0; numbers];
    let mut out = Float64Builder::with_capacity(rows);
    'rows: for i in 0..rows {
        for (column, slot) in model_columns.iter().zip(params.iter_mut()) {
            if !column.row(i, slot)? {
                out.append_null();
                continue 'rows;
            }
        }
        for (column, slot) in number_columns.iter().zip(values.iter_mut()) {
            if column.is_null(i) || column.value(i).is_nan() {
                out.append_null();
                continue 'rows;
            }
            *slot = column.value(i);
        }
        match f(&params, &values)? {
            Some(v) if v.is_finite() => out.append_value(v),
            Some(v) => return exec_err!("{name}: the result is not finite ({v}) for the inputs {values:?}"),
            None => out.append_null(),
        }
    }
    let result: ArrayRef = Arc::new(out.finish());
    Ok(ColumnarValue::Array(result))
}

/// The first K values of a model's parameters as an array.
pub(super) fn fixed<const K: usize>(name: &str, values: &[f64]) -> Result<[f64; K]> {
    match values.get(..K).and_then(|v| <[f64; K]>::try_from(v).ok()) {
        Some(params) => Ok(params),
        None => exec_err!("{name}: expected {K} model parameters, got {}", values.len()),
    }
}

/// A prediction: a scalar function over model structs and numbers, one file each. The
/// attributes (the `#[user_doc]`) go on the generated struct.
macro_rules! prediction {
    ($(#[$attr:meta])* $udf:ident, $name:literal, models: [$($model:expr),*], numbers: $numbers:expr, usage: $usage:literal, eval: $eval:expr) => {
        $(#[$attr])*
        #[derive(Debug, PartialEq, Eq, Hash)]
        pub struct $udf {
            signature: datafusion::logical_expr::Signature,
        }

        impl Default for $udf {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $udf {
            #[must_use]
            pub fn new() -> Self {
                Self { signature: super::model_args::signature(&[$($model),*], $numbers, &[]) }
            }
        }

        impl datafusion::logical_expr::ScalarUDFImpl for $udf {
            fn name(&self) -> &'static str {
                $name
            }

            fn signature(&self) -> &datafusion::logical_expr::Signature {
                &self.signature
            }

            fn coerce_types(
                &self,
                arg_types: &[arrow::datatypes::DataType],
            ) -> datafusion::common::Result<Vec<arrow::datatypes::DataType>> {
                super::model_args::coerce($name, arg_types, &[$($model),*], $numbers, 0, $usage)
            }

            fn return_type(
                &self,
                _arg_types: &[arrow::datatypes::DataType],
            ) -> datafusion::common::Result<arrow::datatypes::DataType> {
                Ok(arrow::datatypes::DataType::Float64)
            }

            fn invoke_with_args(
                &self,
                args: datafusion::logical_expr::ScalarFunctionArgs,
            ) -> datafusion::common::Result<datafusion::logical_expr::ColumnarValue> {
                super::model_args::invoke($name, &args, &[$($model),*], $numbers, $eval)
            }

            fn documentation(&self) -> Option<&datafusion::logical_expr::Documentation> {
                self.doc()
            }
        }
    };
}

pub(super) use prediction;
