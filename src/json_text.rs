//! Nested values (structs, lists, maps) as JSON text, for output formats that cannot hold them.
//!
//! Arrow's CSV writer refuses nested columns ("Nested type … is not supported in CSV"), and most
//! Persona aggregates return structs. As DuckDB does, the shell then prints each nested value as
//! one JSON text cell: `{"recency":3,"frequency":12,"monetary":104.5}`, `[1,2,3]`; a NULL value
//! stays NULL, NULL fields inside a struct are written as `null`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringBuilder};
use arrow::datatypes::{DataType, FieldRef};
use arrow::json::writer::{make_encoder, EncoderOptions};
use datafusion::common::{exec_err, Column, Result, ScalarValue};
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The `to_json_text` function [`nested_columns_as_json`] projects with.
#[must_use]
pub fn to_json_text() -> ScalarUDF {
    ScalarUDF::from(NestedJson::new())
}

/// `df` with each nested column replaced by its JSON text under the same (qualified) name;
/// `df` itself when it has no nested column.
///
/// # Errors
/// Planning errors of the projection.
pub fn nested_columns_as_json(df: DataFrame) -> Result<DataFrame> {
    if !df.schema().fields().iter().any(|f| f.data_type().is_nested()) {
        return Ok(df);
    }
    let to_json = Arc::new(to_json_text());
    let exprs: Vec<Expr> = df
        .schema()
        .iter()
        .map(|(qualifier, field)| {
            let column = Expr::Column(Column::from((qualifier, field)));
            if field.data_type().is_nested() {
                Expr::ScalarFunction(ScalarFunction::new_udf(Arc::clone(&to_json), vec![column]))
                    .alias_qualified(qualifier.cloned(), field.name())
            } else {
                column
            }
        })
        .collect();
    df.select(exprs)
}

/// The JSON text of a nested value (arrow-json's encoding); NULL stays NULL. Used in the
/// projections of [`nested_columns_as_json`]; registered only on cluster nodes (which resolve
/// functions by name), never in a local session.
#[derive(Debug, PartialEq, Eq, Hash)]
struct NestedJson {
    signature: Signature,
}

impl NestedJson {
    fn new() -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for NestedJson {
    fn name(&self) -> &'static str {
        "to_json_text"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let ([value], [field]) = (args.args.as_slice(), args.arg_fields.as_slice()) else {
            return exec_err!("to_json_text takes one argument, got {}", args.args.len());
        };
        let is_scalar = matches!(value, ColumnarValue::Scalar(_));
        let values = value.to_array(if is_scalar { 1 } else { args.number_rows })?;
        let json = json_text(field, &values)?;
        Ok(if is_scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&json, 0)?)
        } else {
            ColumnarValue::Array(json)
        })
    }
}

/// Each value of `values` as JSON text (NULL fields written as `null`), NULL for NULL.
fn json_text(field: &FieldRef, values: &ArrayRef) -> Result<ArrayRef> {
    let options = EncoderOptions::default().with_explicit_nulls(true);
    let mut encoder = make_encoder(field, values.as_ref(), &options)?;
    let mut out = StringBuilder::with_capacity(values.len(), values.len() * 32);
    let mut buffer = Vec::new();
    for row in 0..values.len() {
        if values.is_null(row) || encoder.is_null(row) {
            out.append_null();
            continue;
        }
        buffer.clear();
        encoder.encode(row, &mut buffer);
        match std::str::from_utf8(&buffer) {
            Ok(text) => out.append_value(text),
            Err(e) => return exec_err!("to_json_text: invalid UTF-8 in the JSON of row {row}: {e}"),
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Int64Array, ListArray, StructArray};
    use arrow::datatypes::{Field, Int64Type};
    use datafusion::prelude::SessionContext;

    #[test]
    fn nested_values_become_json_text() {
        let list = ListArray::from_iter_primitive::<Int64Type, _, _>([Some(vec![Some(1), None]), None, Some(vec![])]);
        let field = Arc::new(Field::new("l", list.data_type().clone(), true));
        let json = json_text(&field, &(Arc::new(list) as ArrayRef)).expect("json");
        let json = json.as_string::<i32>();
        assert_eq!(json.value(0), "[1,null]");
        assert!(json.is_null(1));
        assert_eq!(json.value(2), "[]");

        let structs = StructArray::from(vec![(
            Arc::new(Field::new("n", DataType::Int64, true)),
            Arc::new(Int64Array::from(vec![Some(3), None])) as ArrayRef,
        )]);
        let field = Arc::new(Field::new("s", structs.data_type().clone(), true));
        let json = json_text(&field, &(Arc::new(structs) as ArrayRef)).expect("json");
        let json = json.as_string::<i32>();
        assert_eq!(json.value(0), r#"{"n":3}"#);
        assert_eq!(json.value(1), r#"{"n":null}"#);
    }

    #[tokio::test]
    async fn only_nested_columns_are_projected_and_names_are_kept() {
        let ctx = SessionContext::new();
        let df =
            ctx.sql("SELECT 1 AS a, named_struct('x', 1, 'y', 'b') AS s, make_array(1, 2) AS l").await.expect("sql");
        let batches = nested_columns_as_json(df).expect("project").collect().await.expect("collect");
        let batch = &batches[0];
        let names: Vec<_> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, ["a", "s", "l"]);
        assert_eq!(batch.column(0).data_type(), &DataType::Int64);
        assert_eq!(batch.column(1).as_string::<i32>().value(0), r#"{"x":1,"y":"b"}"#);
        assert_eq!(batch.column(2).as_string::<i32>().value(0), "[1,2]");
    }
}
