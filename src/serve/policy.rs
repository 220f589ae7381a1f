//! Roles as catalogs: each role gets its own `SessionContext` holding only the lake tables it
//! may read (masked where it lacks `pii`) and the configured views built over them. Contexts
//! share the server's runtime (memory pool, disk manager, object stores) and the lake's table
//! providers, so a role costs a few catalog entries, not a copy of the lake.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;
use persona_udfs::privacy::Pseudonym;

use super::config::{RoleConfig, ServerConfig};
use super::masking::MaskedTable;

/// A role's catalog and limits.
pub struct RoleContext {
    pub name: String,
    pub config: RoleConfig,
    pub ctx: SessionContext,
}

impl std::fmt::Debug for RoleContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleContext").field("name", &self.name).field("config", &self.config).finish_non_exhaustive()
    }
}

/// The lake's tables and every role's context.
#[derive(Debug)]
pub struct Policy {
    lake_tables: Vec<String>,
    roles: HashMap<String, Arc<RoleContext>>,
}

impl Policy {
    /// Builds every role's context from `base`, the engine with the lake registered.
    ///
    /// # Errors
    /// A missing pseudonym key, or a masking plan that does not build.
    pub async fn build(base: &SessionContext, config: &ServerConfig) -> Result<Self> {
        let lake = lake_tables(base).await?;
        check_pii_columns(config, &lake)?;
        // one instance for every masked column of every role
        let pseudonym = Arc::new(ScalarUDF::from(Pseudonym::new(pseudonym_key(config)?)));
        let mut roles = HashMap::new();
        for (name, role) in &config.roles {
            let ctx = role_context(base)?;
            for (table, provider) in &lake {
                if !role.may_read(table) {
                    continue;
                }
                let provider: Arc<dyn TableProvider> = match config.pii.get(table) {
                    Some(masks) if !role.pii => {
                        Arc::new(MaskedTable::try_new(table, Arc::clone(provider), masks, &pseudonym)?)
                    }
                    _ => Arc::clone(provider),
                };
                ctx.register_table(table.as_str(), provider)?;
            }
            for (view, sql) in &config.views {
                let created = async {
                    let plan = ctx.state().create_logical_plan(sql).await?;
                    ctx.register_table(
                        view.as_str(),
                        Arc::new(datafusion::datasource::ViewTable::new(plan, Some(sql.clone()))),
                    )
                }
                .await;
                if let Err(e) = created {
                    tracing::info!(role = %name, view = %view, reason = %e, "view not available to role");
                }
            }
            let context = RoleContext { name: name.clone(), config: role.clone(), ctx };
            roles.insert(name.clone(), Arc::new(context));
        }
        Ok(Self { lake_tables: lake.into_keys().collect(), roles })
    }

    /// The context of `role`, if defined.
    #[must_use]
    pub fn role(&self, role: &str) -> Option<Arc<RoleContext>> {
        self.roles.get(role).cloned()
    }

    /// Whether `table` is a lake table (readable by someone or not).
    #[must_use]
    pub fn is_lake_table(&self, table: &str) -> bool {
        self.lake_tables.iter().any(|t| t == table)
    }
}

/// An empty context that plans and executes as `base` does: its configuration, runtime, query
/// planner (on a cluster, Ballista's: the role's masked plan is what is shipped) and logical
/// optimizer rules, with every Persona function.
fn role_context(base: &SessionContext) -> Result<SessionContext> {
    let state = base.state();
    let role = SessionStateBuilder::new()
        .with_default_features()
        // a state rebuilt from another (as a cluster client's is) stops creating the default
        // catalog; the role's own catalog needs it
        .with_config(base.copied_config().with_create_default_catalog_and_schema(true))
        .with_runtime_env(base.runtime_env())
        .with_query_planner(Arc::clone(state.query_planner()))
        .with_optimizer_rules(state.optimizers().to_vec())
        .build();
    let ctx = SessionContext::new_with_state(role);
    persona_udfs::register_all(&ctx)?;
    Ok(ctx)
}

/// Every `[pii]` table and column must exist: a typo must not serve a column in clear.
fn check_pii_columns(config: &ServerConfig, lake: &BTreeMap<String, Arc<dyn TableProvider>>) -> Result<()> {
    for (table, columns) in &config.pii {
        let Some(provider) = lake.get(table) else {
            let names: Vec<&str> = lake.keys().map(String::as_str).collect();
            return Err(DataFusionError::Configuration(format!(
                "[pii.{table}]: the lake has no table '{table}' (tables: {})",
                names.join(", ")
            )));
        };
        let schema = provider.schema();
        for column in columns.keys() {
            if schema.field_with_name(column).is_err() {
                return Err(DataFusionError::Configuration(format!(
                    "[pii.{table}]: table '{table}' has no column '{column}'"
                )));
            }
        }
    }
    Ok(())
}

async fn lake_tables(base: &SessionContext) -> Result<BTreeMap<String, Arc<dyn TableProvider>>> {
    let mut tables = BTreeMap::new();
    let Some(schema) = base.catalog("datafusion").and_then(|c| c.schema("public")) else {
        return Ok(tables);
    };
    for name in schema.table_names() {
        if let Some(provider) = schema.table(&name).await? {
            tables.insert(name, provider);
        }
    }
    Ok(tables)
}

fn pseudonym_key(config: &ServerConfig) -> Result<String> {
    match &config.server.pseudonym_key_env {
        None => Ok(String::new()),
        Some(var) => read_pseudonym_key(var, "server.pseudonym_key_env"),
    }
}

/// The pseudonym key in the environment variable `var` (at least 16 bytes); `setting` names
/// where `var` was given, for the error.
///
/// # Errors
/// A variable that is not set or holds fewer than 16 bytes.
pub fn read_pseudonym_key(var: &str, setting: &str) -> Result<String> {
    match std::env::var(var) {
        Ok(key) if key.len() >= 16 => Ok(key),
        Ok(_) => {
            Err(DataFusionError::Configuration(format!("the pseudonym key in ${var} must have at least 16 bytes")))
        }
        Err(_) => Err(DataFusionError::Configuration(format!("{setting} names ${var}, which is not set"))),
    }
}
