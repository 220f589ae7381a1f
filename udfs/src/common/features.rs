//! The `features` argument of the model and segmentation functions: an array of numbers
//! (`[x1, x2, x3]`, a list column) or a struct of numbers (`struct(x1, x2, x3)`, a struct
//! column), read as rows of a List(Float64).
//!
//! DataFusion builds an array literal `[x1, x2, x3]` with `make_array`, which copies every value
//! of every row one at a time (on ten features it costs four times the Parquet scan). The
//! functions that take features therefore rewrite the literal at planning time into
//! `struct(x1, x2, x3)` ([`columns_instead_of_array`]): the struct only wraps the columns, and
//! [`feature_lists`] interleaves them into the rows the functions read, column by column.
//! Same values either way: the planner has already cast `make_array`'s arguments to their common
//! type, and every column goes to Float64 as the list would.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, ListArray};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::{DataType, Field, Float64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::function::AggregateFunctionSimplification;
use datafusion::logical_expr::simplify::ExprSimplifyResult;
use datafusion::logical_expr::{Cast, Expr, ScalarUDF, ScalarUDFImpl};

use super::fixed_offsets;

/// Coerces a feature argument: a list of numbers to List(Float64); a struct whose fields are all
/// numbers stays as it is ([`feature_lists`] reads it). The error names `name`.
pub(crate) fn coerce_features(name: &str, t: &DataType) -> Result<DataType> {
    let number = |t: &DataType| t.is_numeric() || t.is_null();
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) if number(f.data_type()) => {
            Ok(DataType::new_list(DataType::Float64, true))
        }
        DataType::Struct(fields) if !fields.is_empty() && fields.iter().all(|f| number(f.data_type())) => Ok(t.clone()),
        other => plan_err!("{name}: features must be an array or a struct of numbers, got {other}"),
    }
}

/// The features as List(Float64): a list as it is; a struct interleaved into one list per row
/// (NULL where the struct is NULL, a NULL element where a field is NULL).
pub(crate) fn feature_lists(name: &'static str, features: &ArrayRef) -> Result<ArrayRef> {
    let DataType::Struct(fields) = features.data_type() else {
        return Ok(Arc::clone(features));
    };
    let columns = features.as_struct();
    let width = fields.len();
    let rows = features.len();
    if rows * width > i32::MAX as usize {
        return exec_err!("{name}: a batch of {rows} rows of {width} features is more than a list array holds");
    }
    let mut values = vec![0.0; rows * width];
    let mut element_nulls: Option<Vec<bool>> = None;
    for (j, column) in columns.columns().iter().enumerate() {
        let column = arrow::compute::cast(column, &DataType::Float64)?;
        let column = column.as_primitive::<Float64Type>();
        for (slot, v) in values.iter_mut().skip(j).step_by(width).zip(column.values()) {
            *slot = *v;
        }
        if let Some(nulls) = column.nulls().filter(|n| n.null_count() > 0) {
            let valid = element_nulls.get_or_insert_with(|| vec![true; rows * width]);
            for (slot, ok) in valid.iter_mut().skip(j).step_by(width).zip(nulls.iter()) {
                *slot = ok;
            }
        }
    }
    let values = Float64Array::new(values.into(), element_nulls.map(|v| NullBuffer::new(BooleanBuffer::from(v))));
    Ok(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Float64, true)),
        fixed_offsets(name, width, rows)?,
        Arc::new(values),
        columns.nulls().cloned(),
    )))
}

/// `args` with the array literal at `index` (`make_array(x1, …)`, maybe cast to another list
/// type) replaced by `struct(x1, …)`; `None` when that argument is something else.
pub(crate) fn columns_instead_of_array(args: &[Expr], index: usize) -> Option<Vec<Expr>> {
    let mut features = args.get(index)?;
    if let Expr::Cast(Cast { expr, field }) = features {
        if !matches!(field.data_type(), DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)) {
            return None;
        }
        features = expr;
    }
    let Expr::ScalarFunction(ScalarFunction { func, args: columns }) = features else { return None };
    if func.name() != "make_array" || columns.is_empty() {
        return None;
    }
    let mut rewritten = args.to_vec();
    rewritten[index] =
        Expr::ScalarFunction(ScalarFunction::new_udf(datafusion::functions::core::r#struct(), columns.clone()));
    Some(rewritten)
}

/// An aggregate's `simplify`: the array literal of features at argument `index` becomes a struct.
pub(crate) fn aggregate_reading_columns(index: usize) -> AggregateFunctionSimplification {
    Box::new(move |mut aggregate, _| {
        if let Some(args) = columns_instead_of_array(&aggregate.params.args, index) {
            aggregate.params.args = args;
        }
        Ok(Expr::AggregateFunction(aggregate))
    })
}

/// A scalar function's `simplify`: the call of `function` with the array literal of features at
/// argument `index` replaced by a struct.
pub(crate) fn scalar_reading_columns(
    function: impl ScalarUDFImpl,
    args: Vec<Expr>,
    index: usize,
) -> ExprSimplifyResult {
    match columns_instead_of_array(&args, index) {
        Some(args) => ExprSimplifyResult::Simplified(Expr::ScalarFunction(ScalarFunction::new_udf(
            Arc::new(ScalarUDF::new_from_impl(function)),
            args,
        ))),
        None => ExprSimplifyResult::Original(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StructArray};
    use arrow::datatypes::Fields;

    #[test]
    fn a_struct_reads_as_the_list_of_its_fields() -> Result<()> {
        let fields =
            Fields::from(vec![Field::new("a", DataType::Int64, true), Field::new("b", DataType::Float64, true)]);
        let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(3)]));
        let b: ArrayRef = Arc::new(Float64Array::from(vec![0.5, 1.5, -0.0]));
        let structs: ArrayRef =
            Arc::new(StructArray::try_new(fields, vec![a, b], Some(NullBuffer::from(vec![true, true, false])))?);
        let lists = feature_lists("f", &structs)?;
        let lists = lists.as_list::<i32>();
        assert_eq!(lists.value(0).as_primitive::<Float64Type>(), &Float64Array::from(vec![1.0, 0.5]));
        assert_eq!(lists.value(1).as_primitive::<Float64Type>(), &Float64Array::from(vec![None, Some(1.5)]));
        assert!(lists.is_null(2));
        Ok(())
    }

    #[test]
    fn an_array_literal_becomes_a_struct() {
        use datafusion::functions_nested::expr_fn::make_array;
        use datafusion::prelude::{cast, col, lit};
        let args = vec![col("y"), make_array(vec![col("a"), col("b") * lit(2.0)]), lit(1.0)];
        let rewritten = columns_instead_of_array(&args, 1).expect("rewritten");
        assert_eq!(rewritten[1].to_string(), "struct(a, b * Float64(2))");
        assert_eq!((&rewritten[0], &rewritten[2]), (&args[0], &args[2]));
        // through the list cast coercion adds, and only for make_array with arguments
        let list = DataType::new_list(DataType::Float64, true);
        let cast_args = vec![cast(make_array(vec![col("a")]), list)];
        assert_eq!(columns_instead_of_array(&cast_args, 0).expect("rewritten")[0].to_string(), "struct(a)");
        assert!(columns_instead_of_array(&[make_array(vec![])], 0).is_none());
        assert!(columns_instead_of_array(&[col("features")], 0).is_none());
        assert!(columns_instead_of_array(&[cast(col("f"), DataType::Utf8)], 0).is_none());
        assert!(columns_instead_of_array(&[col("y")], 1).is_none());
    }

    #[test]
    fn only_numbers_are_features() {
        let numbers = DataType::Struct(Fields::from(vec![Field::new("a", DataType::Int32, true)]));
        assert_eq!(coerce_features("f", &numbers).ok(), Some(numbers));
        let text = DataType::Struct(Fields::from(vec![Field::new("a", DataType::Utf8, true)]));
        let err = coerce_features("f", &text).unwrap_err().to_string();
        assert!(err.contains("f: features must be an array or a struct of numbers"), "{err}");
        assert!(coerce_features("f", &DataType::Struct(Fields::empty())).is_err());
    }
}
