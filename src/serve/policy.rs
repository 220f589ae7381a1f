//! Roles as catalogs: each role gets its own `SessionContext` holding only the lake tables it
//! may read (masked where it lacks `pii`) and the configured views built over them. Contexts
//! share the server's runtime (memory pool, disk manager, object stores) and the lake's table
//! providers, so a role costs a few catalog entries, not a copy of the lake.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::context::SessionState;
use datafusion::execution::memory_pool::MemoryPool;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{LogicalPlan, ScalarUDF};
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use datafusion::sql::parser::Statement;
use persona_udfs::privacy::Pseudonym;

use super::config::{RoleConfig, ServerConfig};
use super::limits::QueryMemoryPool;
use super::masking::MaskedTable;

/// The database name PostgreSQL clients connect to; the catalog of the role's PostgreSQL context.
pub const PG_DATABASE: &str = "persona";

/// A role's catalog and limits.
pub struct RoleContext {
    pub name: String,
    pub config: RoleConfig,
    pub ctx: SessionContext,
    /// The same tables for PostgreSQL clients (only with `server.pg_addr`): catalog
    /// [`PG_DATABASE`], with `pg_catalog` and the PostgreSQL functions clients query on connect.
    pub pg: Option<SessionContext>,
}

/// Why a statement is not planned: the caller may not do it, or the engine refuses it.
#[derive(Debug)]
pub enum Refusal {
    Denied(String),
    Engine(DataFusionError),
}

impl From<DataFusionError> for Refusal {
    fn from(e: DataFusionError) -> Self {
        Self::Engine(e)
    }
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
    shared_pool: Arc<dyn MemoryPool>,
    /// Where queries run (`server.max_running_queries` slots and a runtime of their own),
    /// shared by both front ends.
    pub compute: super::guard::Compute,
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
            let tables = role_tables(config, role, &lake, &pseudonym)?;
            let ctx = role_context(base, None)?;
            fill(&ctx, name, &tables, &config.views).await?;
            let pg = match config.server.pg_addr {
                None => None,
                Some(_) => {
                    let pg = role_context(base, Some(PG_DATABASE))?;
                    fill(&pg, name, &tables, &config.views).await?;
                    super::pg::add_pg_catalog(&pg, name)?;
                    Some(pg)
                }
            };
            let context = RoleContext { name: name.clone(), config: role.clone(), ctx, pg };
            roles.insert(name.clone(), Arc::new(context));
        }
        Ok(Self {
            lake_tables: lake.into_keys().collect(),
            roles,
            shared_pool: Arc::clone(&base.runtime_env().memory_pool),
            compute: super::guard::Compute::new(config.server.max_running_queries)
                .map_err(|e| DataFusionError::External(format!("cannot start the query threads: {e}").into()))?,
        })
    }

    /// A session for one query of `role` over `ctx` (the role's Flight or PostgreSQL context):
    /// the role's catalog with a memory budget of its own within the server's pool.
    #[must_use]
    pub fn query_state(&self, role: &RoleContext, ctx: &SessionContext) -> SessionState {
        let state = ctx.state();
        match role.config.memory_limit {
            None => state,
            Some(limit) => {
                let mut runtime = datafusion::execution::runtime_env::RuntimeEnv::clone(state.runtime_env());
                runtime.memory_pool = Arc::new(QueryMemoryPool::new(Arc::clone(&self.shared_pool), limit));
                SessionStateBuilder::new_from_existing(state).with_runtime_env(Arc::new(runtime)).build()
            }
        }
    }

    /// Checks a parsed statement against the role (tables it may read, EXPLAIN only with `pii`,
    /// DDL/DML only when allowed, no `SET` of the engine) and plans it. Both front ends plan
    /// every statement here.
    ///
    /// # Errors
    /// [`Refusal::Denied`] naming what the role may not do, or the planner's error.
    pub async fn plan(
        &self,
        role: &RoleContext,
        state: &SessionState,
        statement: Statement,
    ) -> std::result::Result<LogicalPlan, Refusal> {
        for table in state.resolve_table_references(&statement)? {
            if matches!(table.schema(), Some("information_schema" | "pg_catalog")) {
                continue;
            }
            let name = table.table();
            if self.is_lake_table(name) && !role.config.may_read(name) {
                return Err(Refusal::Denied(format!("role '{}' may not read table '{name}'", role.name)));
            }
        }
        let plan = state.statement_to_plan(statement).await?;
        // plans print scan statistics (EXPLAIN VERBOSE, EXPLAIN (COSTS)): raw min and max of PII
        // columns, and file paths (hive partition values)
        if matches!(plan, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)) && !role.config.pii {
            return Err(Refusal::Denied(
                "EXPLAIN shows statistics and file paths of the raw data; it needs the pii permission".into(),
            ));
        }
        SQLOptions::new()
            .with_allow_ddl(role.config.ddl)
            .with_allow_dml(role.config.dml)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|e| Refusal::Denied(e.to_string()))?;
        Ok(plan)
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

/// The lake tables `role` may read, masked where it lacks `pii`.
fn role_tables(
    config: &ServerConfig,
    role: &RoleConfig,
    lake: &BTreeMap<String, Arc<dyn TableProvider>>,
    pseudonym: &Arc<ScalarUDF>,
) -> Result<Vec<(String, Arc<dyn TableProvider>)>> {
    let mut tables = Vec::new();
    for (table, provider) in lake {
        if !role.may_read(table) {
            continue;
        }
        let provider: Arc<dyn TableProvider> = match config.pii.get(table) {
            Some(masks) if !role.pii => Arc::new(MaskedTable::try_new(table, Arc::clone(provider), masks, pseudonym)?),
            _ => Arc::clone(provider),
        };
        tables.push((table.clone(), provider));
    }
    Ok(tables)
}

/// Registers the role's tables and the configured views it can build in `ctx`.
async fn fill(
    ctx: &SessionContext,
    role: &str,
    tables: &[(String, Arc<dyn TableProvider>)],
    views: &BTreeMap<String, String>,
) -> Result<()> {
    for (table, provider) in tables {
        ctx.register_table(table.as_str(), Arc::clone(provider))?;
    }
    for (view, sql) in views {
        let created = async {
            let plan = ctx.state().create_logical_plan(sql).await?;
            ctx.register_table(view.as_str(), Arc::new(datafusion::datasource::ViewTable::new(plan, Some(sql.clone()))))
        }
        .await;
        if let Err(e) = created {
            tracing::info!(role = %role, view = %view, reason = %e, "view not available to role");
        }
    }
    Ok(())
}

/// An empty context that plans and executes as `base` does: its configuration, runtime, query
/// planner (on a cluster, Ballista's: the role's masked plan is what is shipped) and logical
/// optimizer rules, with every Persona function; its default catalog is `catalog` if given.
fn role_context(base: &SessionContext, catalog: Option<&str>) -> Result<SessionContext> {
    let state = base.state();
    // a state rebuilt from another (as a cluster client's is) stops creating the default
    // catalog; the role's own catalog needs it
    let mut config: SessionConfig = base.copied_config().with_create_default_catalog_and_schema(true);
    if let Some(catalog) = catalog {
        config = config.with_default_catalog_and_schema(catalog, "public");
    }
    let role = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(base.runtime_env())
        .with_query_planner(Arc::clone(state.query_planner()))
        .with_analyzer_rules(state.analyzer().rules.clone())
        .with_optimizer_rules(state.optimizers().to_vec())
        .with_physical_optimizer_rules(state.physical_optimizers().to_vec())
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
