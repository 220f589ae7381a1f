//! The `persona` shell's layer over datafusion-cli (feature `cli`): the banner, and a session
//! context that writes nested values (structs, lists, maps) as JSON text in CSV and TSV output.
//!
//! Arrow's CSV writer refuses nested columns ("Nested type … is not supported in CSV"), and most
//! Persona aggregates return structs. As DuckDB does, the shell then prints each nested value as
//! one JSON text cell: `{"recency":3,"frequency":12,"monetary":104.5}`, `[1,2,3]`; a NULL value
//! stays an empty cell, NULL fields inside a struct are written as `null`. Table and JSON output
//! keep the nested values as they are.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringBuilder};
use arrow::datatypes::{DataType, FieldRef};
use arrow::json::writer::{make_encoder, EncoderOptions};
use datafusion::common::{exec_err, Column, Result, ScalarValue};
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SessionState;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{
    ColumnarValue, DdlStatement, Expr, LogicalPlan, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use datafusion_cli::cli_context::CliSessionContext;
use datafusion_cli::print_format::PrintFormat;
use object_store::ObjectStore;

use crate::store;

/// The line the interactive shell prints on start: versions and the number of tables in the
/// default schema (the lake's tables).
#[must_use]
pub fn banner(ctx: &SessionContext) -> String {
    let tables = table_count(ctx);
    format!(
        "Persona {} on DataFusion {} ({tables} {}). Type \\? for help, \\d to list tables, \\q to quit.",
        env!("CARGO_PKG_VERSION"),
        datafusion::DATAFUSION_VERSION,
        if tables == 1 { "table" } else { "tables" }
    )
}

/// Tables of the session's default catalog and schema.
fn table_count(ctx: &SessionContext) -> usize {
    let state = ctx.state();
    let options = &state.config().options().catalog;
    ctx.catalog(&options.default_catalog)
        .and_then(|catalog| catalog.schema(&options.default_schema))
        .map_or(0, |schema| schema.table_names().len())
}

/// A [`SessionContext`] for datafusion-cli's `exec_*` functions that, for CSV and TSV output,
/// projects every nested result column to its JSON text (see the module docs).
#[derive(Clone)]
pub struct ShellContext {
    ctx: SessionContext,
    nested_as_json: bool,
}

impl std::fmt::Debug for ShellContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShellContext")
            .field("session_id", &self.ctx.session_id())
            .field("nested_as_json", &self.nested_as_json)
            .finish()
    }
}

impl ShellContext {
    /// Wraps `ctx` for printing in `format`: nested columns become JSON text for
    /// [`PrintFormat::Csv`] and [`PrintFormat::Tsv`] only.
    #[must_use]
    pub fn new(ctx: SessionContext, format: PrintFormat) -> Self {
        Self { ctx, nested_as_json: matches!(format, PrintFormat::Csv | PrintFormat::Tsv) }
    }

    /// The wrapped context.
    #[must_use]
    pub fn inner(&self) -> &SessionContext {
        &self.ctx
    }
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
    let to_json = Arc::new(ScalarUDF::from(NestedJson::new()));
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

#[async_trait::async_trait]
impl CliSessionContext for ShellContext {
    fn task_ctx(&self) -> Arc<TaskContext> {
        self.ctx.task_ctx()
    }

    fn session_state(&self) -> SessionState {
        self.ctx.state()
    }

    fn register_object_store(
        &self,
        url: &url::Url,
        object_store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore + 'static>> {
        self.ctx.register_object_store(url, object_store)
    }

    fn register_table_options_extension_from_scheme(&self, scheme: &str) {
        CliSessionContext::register_table_options_extension_from_scheme(&self.ctx, scheme);
    }

    async fn execute_logical_plan(&self, mut plan: LogicalPlan) -> Result<DataFrame, DataFusionError> {
        if let LogicalPlan::Ddl(DdlStatement::CreateExternalTable(create)) = &mut plan {
            // `OPTIONS ('aws.secret_access_key' …)`: keep the credential out of the table's
            // stored definition (SHOW CREATE TABLE, information_schema) and out of messages
            store::remember_option_secrets(&create.options);
            create.definition = create.definition.as_deref().map(store::redact);
        }
        let df = self.ctx.execute_logical_plan(plan).await.map_err(store::redact_error)?;
        if self.nested_as_json {
            nested_columns_as_json(df)
        } else {
            Ok(df)
        }
    }
}

/// The JSON text of a nested value (arrow-json's encoding); NULL stays NULL. Only used in
/// the projections of [`nested_columns_as_json`], never registered.
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

    #[tokio::test]
    async fn the_banner_counts_tables_not_catalogs() {
        let ctx = SessionContext::new();
        assert!(banner(&ctx).contains("(0 tables)"), "{}", banner(&ctx));
        ctx.sql("CREATE TABLE t1 AS SELECT 1 AS a").await.expect("t1");
        assert!(banner(&ctx).contains("(1 table)"), "{}", banner(&ctx));
        ctx.sql("CREATE VIEW v AS SELECT 1 AS a").await.expect("v");
        ctx.sql("CREATE TABLE t2 AS SELECT 1 AS a").await.expect("t2");
        assert!(banner(&ctx).contains("(3 tables)"), "{}", banner(&ctx));
    }
}
