//! The `persona` shell's layer over datafusion-cli (feature `cli`): the banner, and a session
//! context that writes nested values (structs, lists, maps) as JSON text in CSV and TSV output.
//!
//! Arrow's CSV writer refuses nested columns ("Nested type … is not supported in CSV"), and most
//! Persona aggregates return structs. As DuckDB does, the shell then prints each nested value as
//! one JSON text cell: `{"recency":3,"frequency":12,"monetary":104.5}`, `[1,2,3]`; a NULL value
//! stays an empty cell, NULL fields inside a struct are written as `null`. Table and JSON output
//! keep the nested values as they are.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SessionState;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion_cli::cli_context::CliSessionContext;
use datafusion_cli::print_format::PrintFormat;
use object_store::ObjectStore;

pub use crate::json_text::nested_columns_as_json;
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

#[cfg(test)]
mod tests {
    use super::*;

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
