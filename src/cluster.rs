//! Scale-out on Apache DataFusion Ballista: the scheduler and executor processes with every
//! Persona function, and client sessions whose queries run on them.
//!
//! Ballista finds functions **by name**: a plan carries `rfm`, `psi` or `quantile_score` as a
//! name and its arguments, and the scheduler (which re-plans each job) and the executors (which
//! run its stages) look the name up in their own registries. [`session_state`] and
//! [`function_registry`] are the one registration path for all three places, so a function
//! added to `persona-udfs` works on a cluster without further work. Partial aggregate states
//! (rfm's day words, FP-growth's pairs, the samples of psi/auc/ks) cross the shuffle as
//! ordinary Arrow columns.
//!
//! What is shipped is the optimised **logical** plan: the client plans and optimises, the
//! scheduler decodes the plan against its registry, plans it physically and splits it into
//! stages. Tables are the lake's Parquet folders (rebuilt from their paths on the scheduler,
//! read by the executors, so every node must reach the lake: an object store, or a directory
//! mounted at the same path everywhere), views, `VALUES`, and in-memory tables created with
//! `CREATE TABLE` (shipped inside the plan by [`PersonaLogicalCodec`], so keep them small).
//! Object-store credentials are never shipped: every node reads its own environment and
//! `--storage` options (see [`LakeStores`]).
//!
//! Ballista changes a few DataFusion settings for distribution (sort-merge joins, scalar
//! subqueries planned as joins, no dynamic filters; `ballista_restricted_configuration`), and
//! runs a query locally only when it reads nothing but `information_schema` (`SHOW TABLES`,
//! `SHOW FUNCTIONS`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::{BallistaCodec, BallistaLogicalExtensionCodec};
use ballista_core::{ConfigProducer, RuntimeProducer};
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use ballista_scheduler::SessionBuilder;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::common::{exec_datafusion_err, plan_err, DataFusionError, Result, TableReference};
use datafusion::datasource::MemTable;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::memory_pool::GreedyMemoryPool;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::execution::TaskContext;
use datafusion::functions_table::generate_series::GenerateSeriesTable;
use datafusion::logical_expr::{Extension, LogicalPlan, ScalarUDF};
use datafusion::optimizer::OptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use object_store::ObjectStore;
use url::Url;

use crate::store::{is_remote_scheme, object_store_for, StorageOptions};
use crate::LIST_FILES_CACHE_TTL;

/// The scheduler's default port (Ballista's).
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;
/// The executor's default Arrow Flight port; its gRPC port is the next one up.
pub const DEFAULT_EXECUTOR_PORT: u16 = 50051;
/// Seconds between an executor's heartbeats; the scheduler counts an executor as lost after
/// [`EXECUTOR_TIMEOUT_SECONDS`] without one (Ballista's defaults are 60 s and 180 s; a lost
/// executor's tasks are retried elsewhere only once it is counted lost).
pub const HEARTBEAT_SECONDS: u64 = 5;
/// See [`HEARTBEAT_SECONDS`].
pub const EXECUTOR_TIMEOUT_SECONDS: u64 = 30;

/// Stack size for the threads of a runtime that runs cluster nodes or clients: encoding and
/// decoding plans recurse deeply (Ballista's own tests raise it too).
pub const THREAD_STACK_BYTES: usize = 32 << 20;

/// A session state with DataFusion's defaults, Ballista's optimizer rules, every Persona
/// function (and the shell's `to_json_text`) and `runtime`: what the scheduler plans each job
/// with and what executors resolve function names from.
///
/// # Errors
/// A function that does not register (a name clash).
pub fn session_state(
    config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
    pseudonym_key: Option<&str>,
) -> Result<SessionState> {
    let mut state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_optimizer_rules(cluster_rules(&ballista_core::optimizer::ballista_default_optimizer_rules()))
        // joins yield to the executor's runtime, as in a local session: a cancelled job's tasks stop
        // inside them (`CooperativeExec` travels in the plan as datafusion-proto encodes it)
        .with_physical_optimizer_rule(Arc::new(crate::yields::YieldInJoins))
        .build();
    register_functions(&mut state, pseudonym_key)?;
    Ok(state)
}

/// `rules` without DataFusion 55's leaf-expression extraction (`extract_leaf_expressions`,
/// `push_down_leaf_projections`): the `__datafusion_extracted_N` columns it adds below
/// aggregates do not survive a plan's round trip through datafusion-proto ("No field named
/// rfm(…, __datafusion_extracted_1)"), so a plan the client optimised could not be decoded by the
/// scheduler. Struct field access is then evaluated where the query wrote it.
fn shippable_rules(rules: &[Arc<dyn OptimizerRule + Send + Sync>]) -> Vec<Arc<dyn OptimizerRule + Send + Sync>> {
    rules
        .iter()
        .filter(|rule| !matches!(rule.name(), "extract_leaf_expressions" | "push_down_leaf_projections"))
        .cloned()
        .collect()
}

/// The rules a cluster session optimises with: `rules` made shippable, then Persona's own
/// (`crate::unpivot`, `crate::label_codes`; always on: a cluster session has no `persona.`
/// settings).
fn cluster_rules(rules: &[Arc<dyn OptimizerRule + Send + Sync>]) -> Vec<Arc<dyn OptimizerRule + Send + Sync>> {
    let mut rules = shippable_rules(rules);
    rules.extend(crate::engine::persona_rules());
    rules
}

/// Every Persona function, `to_json_text` (which the shell appends to plans to print nested
/// results as JSON) and, with a key, the keyed `pseudonym` that `persona serve` masks columns
/// with. Registered one by one: `SessionStateBuilder::with_*_functions` would replace
/// DataFusion's built-ins.
fn register_functions(state: &mut SessionState, pseudonym_key: Option<&str>) -> Result<()> {
    persona_udfs::register_all_in(state)?;
    datafusion::execution::FunctionRegistry::register_udf(state, Arc::new(crate::json_text::to_json_text()))?;
    if let Some(key) = pseudonym_key {
        let pseudonym = ScalarUDF::from(persona_udfs::privacy::Pseudonym::new(key));
        datafusion::execution::FunctionRegistry::register_udf(state, Arc::new(pseudonym))?;
    }
    Ok(())
}

/// The registry an executor resolves function names with: DataFusion's built-ins (nested ones
/// included) and every Persona function (see [`session_state`]).
///
/// # Errors
/// As [`session_state`].
pub fn function_registry(pseudonym_key: Option<&str>) -> Result<BallistaFunctionRegistry> {
    let state = session_state(SessionConfig::new(), Arc::new(RuntimeEnv::default()), pseudonym_key)?;
    Ok(BallistaFunctionRegistry::from(&state))
}

/// The configuration every node starts a session from: Ballista's (its extension, restricted
/// settings and [`PersonaLogicalCodec`]) with `information_schema`, and Ballista's static
/// planner: its adaptive planner (`ballista.planner.adaptive.enabled`) fails a sort over a
/// `UNION ALL` in its plan sanity check and leaves the job hanging (55.0.0).
///
/// Joins stay Ballista's sort-merge joins although hash joins are much faster (the PSI
/// workload's join of 93M values with their cut points: 35 s against 3.9 s on two executors at
/// 1M customers): with `datafusion.optimizer.prefer_hash_join = true`, Ballista 55.0.0 returned
/// no rows for a `LEFT JOIN` of two small tables (tests/sql/segmentation.slt), so do not set it.
#[must_use]
pub fn session_config() -> SessionConfig {
    SessionConfig::new_with_ballista()
        .with_ballista_adaptive_query_planner(false)
        .with_information_schema(true)
        .with_ballista_logical_extension_codec(Arc::new(PersonaLogicalCodec::default()))
}

fn config_producer() -> ConfigProducer {
    Arc::new(session_config)
}

/// The object stores of a cluster node: a lake URL's store is built on first use from the
/// node's own `--storage` options and environment (as [`object_store_for`] does for the local
/// engine) and kept per bucket; `file://` paths are the local file system.
#[derive(Debug)]
pub struct LakeStores {
    options: StorageOptions,
    stores: DefaultObjectStoreRegistry,
}

impl LakeStores {
    #[must_use]
    pub fn new(options: StorageOptions) -> Self {
        Self { options, stores: DefaultObjectStoreRegistry::new() }
    }
}

impl ObjectStoreRegistry for LakeStores {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.stores.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.stores.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        match self.stores.get_store(url) {
            Ok(store) => Ok(store),
            Err(_) if is_remote_scheme(url.scheme()) => {
                let store = object_store_for(url, &self.options)?;
                self.stores.register_store(url, Arc::clone(&store));
                Ok(store)
            }
            Err(e) => Err(e),
        }
    }
}

/// A node's runtime: [`LakeStores`], DataFusion's listing cache with Persona's TTL, spill files
/// under `work_dir`, and a greedy memory pool of `memory_limit` bytes when given.
fn node_runtime(
    stores: &Arc<LakeStores>,
    work_dir: Option<&PathBuf>,
    memory_limit: Option<usize>,
) -> Result<Arc<RuntimeEnv>> {
    let caches = CacheManagerConfig::default().with_list_files_cache_ttl(Some(LIST_FILES_CACHE_TTL));
    let registry: Arc<dyn ObjectStoreRegistry> = Arc::clone(stores) as _;
    let mut runtime = RuntimeEnvBuilder::new().with_cache_manager(caches).with_object_store_registry(registry);
    if let Some(dir) = work_dir {
        runtime = runtime.with_temp_file_path(dir.clone());
    }
    if let Some(bytes) = memory_limit {
        runtime = runtime.with_memory_pool(Arc::new(GreedyMemoryPool::new(bytes)));
    }
    runtime.build_arc()
}

/// How the scheduler builds each job's session: [`session_state`] over one shared runtime
/// (the node's object stores and listing cache).
fn session_builder(runtime: Arc<RuntimeEnv>, pseudonym_key: Option<String>) -> SessionBuilder {
    Arc::new(move |config: SessionConfig| session_state(config, Arc::clone(&runtime), pseudonym_key.as_deref()))
}

fn codec() -> BallistaCodec {
    BallistaCodec::new(Arc::new(PersonaLogicalCodec::default()), session_config().ballista_physical_extension_codec())
}

fn ballista_error(what: &str) -> impl Fn(ballista_core::error::BallistaError) -> DataFusionError + '_ {
    move |e| DataFusionError::Execution(format!("{what}: {e}"))
}

/// `persona scheduler`: where it listens and how it reaches the lake.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// The gRPC address clients and executors connect to.
    pub bind: SocketAddr,
    /// Options of the lake's object store (the scheduler lists files and reads footers).
    pub storage: StorageOptions,
    /// The key of `persona serve`'s `pseudonym` masking (its `pseudonym_key_env`), when a
    /// server with pseudonymised columns runs on this cluster: the scheduler and every
    /// executor need the same key.
    pub pseudonym_key: Option<String>,
}

/// Runs a scheduler until `shutdown` completes (Ballista's own server has no stop hook).
///
/// # Errors
/// An address that cannot be bound, or a scheduler that fails.
pub async fn run_scheduler(options: SchedulerOptions, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
    let stores = Arc::new(LakeStores::new(options.storage));
    let runtime = node_runtime(&stores, None, None)?;
    let config = SchedulerConfig {
        bind_host: options.bind.ip().to_string(),
        bind_port: options.bind.port(),
        external_host: options.bind.ip().to_string(),
        scheduling_policy: TaskSchedulingPolicy::PushStaged,
        executor_timeout_seconds: EXECUTOR_TIMEOUT_SECONDS,
        expire_dead_executor_interval_seconds: HEARTBEAT_SECONDS,
        no_executors_grace_period_seconds: EXECUTOR_TIMEOUT_SECONDS,
        executor_termination_grace_period: HEARTBEAT_SECONDS,
        // Ballista 55.0.0 re-runs a stage whose shuffle input was lost, but when that stage is the
        // job's last one the partitions it had already finished are delivered twice (the job's
        // output locations are only ever appended to): a self-join returned 2 637 635 rows
        // instead of 2 059 507 after an executor was killed (tests/cluster_processes.rs). A wrong
        // answer is worse than an error, so the first lost shuffle input fails the job.
        stage_max_failures: 1,
        override_config_producer: Some(config_producer()),
        override_session_builder: Some(session_builder(runtime, options.pseudonym_key)),
        override_logical_codec: Some(Arc::new(PersonaLogicalCodec::default())),
        ..SchedulerConfig::default()
    };
    let cluster = BallistaCluster::new_from_config(&config).await.map_err(ballista_error("scheduler"))?;
    tokio::select! {
        served = start_server(cluster, options.bind, Arc::new(config)) => {
            served.map_err(ballista_error("scheduler"))
        }
        () = shutdown => Ok(()),
    }
}

/// `persona executor`: its scheduler, addresses, task slots, spill directory, memory and
/// object-store options.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's gRPC address (`HOST:PORT`).
    pub scheduler: String,
    /// The Arrow Flight address the executor serves shuffle data and results on.
    pub bind: SocketAddr,
    /// The gRPC port the scheduler pushes tasks to; `bind`'s port + 1 when `None`.
    pub grpc_port: Option<u16>,
    /// Tasks run at once; the number of cores when `None`.
    pub concurrent_tasks: Option<usize>,
    /// Shuffle files and spills; a directory under the system's temporary directory (removed
    /// when the executor stops) when `None`.
    pub work_dir: Option<PathBuf>,
    /// A greedy memory pool of this many bytes per session on this executor; unlimited when
    /// `None`.
    pub memory_limit: Option<usize>,
    /// Options of the lake's object store.
    pub storage: StorageOptions,
    /// See [`SchedulerOptions::pseudonym_key`].
    pub pseudonym_key: Option<String>,
}

/// Runs an executor until Ctrl-C or SIGTERM (it then finishes its running tasks and removes
/// its shuffle files).
///
/// # Errors
/// A bad scheduler address, a work directory that cannot be created, a scheduler that cannot
/// be reached within 30 s, or an executor that fails.
pub async fn run_executor(options: ExecutorOptions) -> Result<()> {
    let Some((host, port)) = options.scheduler.rsplit_once(':') else {
        return plan_err!("the scheduler address must be HOST:PORT, got {}", options.scheduler);
    };
    let Ok(scheduler_port) = port.parse::<u16>() else {
        return plan_err!("the scheduler address must be HOST:PORT, got {}", options.scheduler);
    };
    let grpc_port = match options.grpc_port {
        Some(port) => port,
        None => match options.bind.port().checked_add(1) {
            Some(port) if options.bind.port() != 0 => port,
            _ => return plan_err!("give --grpc-port when --bind has port {}", options.bind.port()),
        },
    };
    if options.concurrent_tasks == Some(0) {
        return plan_err!("--concurrent-tasks must be at least 1");
    }
    let (work_dir, owned) = match options.work_dir {
        Some(dir) => (dir, false),
        None => (std::env::temp_dir().join(format!("persona-executor-{}", std::process::id())), true),
    };
    std::fs::create_dir_all(&work_dir)
        .map_err(|e| exec_datafusion_err!("cannot create the work directory {}: {e}", work_dir.display()))?;
    let stores = Arc::new(LakeStores::new(options.storage));
    let (runtime_dir, memory_limit) = (work_dir.clone(), options.memory_limit);
    let runtime_producer: RuntimeProducer =
        Arc::new(move |_: &SessionConfig| node_runtime(&stores, Some(&runtime_dir), memory_limit));
    let config = ExecutorProcessConfig {
        bind_host: options.bind.ip().to_string(),
        port: options.bind.port(),
        grpc_port,
        external_host: (!options.bind.ip().is_unspecified()).then(|| options.bind.ip().to_string()),
        scheduler_host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
        scheduler_port,
        scheduler_connect_timeout_seconds: 30,
        vcores: options.concurrent_tasks.unwrap_or(0),
        task_scheduling_policy: TaskSchedulingPolicy::PushStaged,
        work_dir: Some(work_dir.display().to_string()),
        executor_heartbeat_interval_seconds: HEARTBEAT_SECONDS,
        // the runtime producer installs Persona's greedy pool; Ballista's is a fair spill
        // pool split per task slot
        memory_pool_size: Some(0),
        override_function_registry: Some(Arc::new(function_registry(options.pseudonym_key.as_deref())?)),
        override_runtime_producer: Some(runtime_producer),
        override_config_producer: Some(config_producer()),
        override_logical_codec: Some(Arc::new(PersonaLogicalCodec::default())),
        ..ExecutorProcessConfig::default()
    };
    let result = start_executor_process(Arc::new(config)).await.map_err(ballista_error("executor"));
    if owned {
        // best effort: the directory is this process's own
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    result
}

/// A client session on the cluster at `url` (`df://HOST:PORT`) from `state` (the local
/// engine's configuration and runtime), with every Persona function registered again:
/// Ballista's upgrade replaces the state's function lists.
pub(crate) async fn connect(url: &str, state: SessionState) -> Result<SessionContext> {
    let parsed =
        Url::parse(url).map_err(|e| DataFusionError::Configuration(format!("invalid cluster URL {url}: {e}")))?;
    if parsed.scheme() != "df" || parsed.host_str().is_none() {
        return plan_err!("a cluster URL is df://HOST:PORT, got {url}");
    }
    let ctx = SessionContext::remote_with_state(url, state).await?;
    let state = ctx.state();
    let rules = cluster_rules(state.optimizers());
    let planner = Arc::new(ClusterPlanner { ballista: Arc::clone(state.query_planner()) });
    let analyzer = crate::arguments::CheckFunctionArguments::in_analyzer(&state.analyzer().rules);
    let mut state = SessionStateBuilder::new_from_existing(state)
        .with_analyzer_rules(analyzer)
        .with_optimizer_rules(rules)
        .with_query_planner(planner)
        .build();
    register_functions(&mut state, None)?;
    Ok(SessionContext::new_with_state(state))
}

/// Ballista's query planner, except for `DESCRIBE`, which only reads a schema and which
/// Ballista cannot ship ("LogicalPlan serde is not yet implemented for DescribeTable"): it is
/// answered here.
#[derive(Debug)]
struct ClusterPlanner {
    ballista: Arc<dyn QueryPlanner + Send + Sync>,
}

#[async_trait::async_trait]
impl QueryPlanner for ClusterPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session_state: &dyn datafusion::catalog::Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if matches!(logical_plan, LogicalPlan::DescribeTable(_)) || reads_catalog(logical_plan) {
            return DefaultPhysicalPlanner::default().create_physical_plan(logical_plan, session_state).await;
        }
        self.ballista.create_physical_plan(logical_plan, session_state).await
    }
}

/// Whether the plan reads `information_schema` or `pg_catalog` (the catalog queries of BI tools
/// and PostgreSQL clients): those tables live in the client's session, so such a query runs
/// there, not on the cluster.
fn reads_catalog(plan: &LogicalPlan) -> bool {
    use datafusion::common::tree_node::TreeNodeRecursion;
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        if matches!(node, LogicalPlan::TableScan(scan)
            if matches!(scan.table_name.schema(), Some("information_schema" | "pg_catalog")))
        {
            found = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// An in-process cluster for tests and trials: a scheduler and `executors` executors with
/// `slots` task slots each on loopback ports, wired as the processes are (the same session
/// builder, registry and codec), sharing this process's local file system. Returns the
/// scheduler's `df://` URL; the servers live as long as the tokio runtime.
///
/// # Errors
/// A port that cannot be bound or a scheduler that does not answer.
pub async fn standalone(
    executors: usize,
    slots: usize,
    storage: StorageOptions,
    pseudonym_key: Option<&str>,
) -> Result<String> {
    use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
    let stores = Arc::new(LakeStores::new(storage));
    let runtime = node_runtime(&stores, None, None)?;
    let addr = ballista_scheduler::standalone::new_standalone_scheduler_with_builder(
        session_builder(Arc::clone(&runtime), pseudonym_key.map(str::to_string)),
        config_producer(),
        codec(),
    )
    .await
    .map_err(ballista_error("standalone scheduler"))?;
    let url = format!("http://localhost:{}", addr.port());
    let mut attempts = 0;
    let client = loop {
        match SchedulerGrpcClient::connect(url.clone()).await {
            Ok(client) => break client,
            Err(e) if attempts >= 50 => return Err(DataFusionError::Execution(format!("standalone scheduler: {e}"))),
            Err(_) => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    };
    for _ in 0..executors {
        let runtime = Arc::clone(&runtime);
        let runtime_producer: RuntimeProducer = Arc::new(move |_: &SessionConfig| Ok(Arc::clone(&runtime)));
        ballista_executor::new_standalone_executor_from_builder(
            client.clone(),
            slots,
            config_producer(),
            runtime_producer,
            codec(),
            function_registry(pseudonym_key)?,
        )
        .await
        .map_err(ballista_error("standalone executor"))?;
    }
    Ok(format!("df://localhost:{}", addr.port()))
}

/// Ballista's logical codec plus in-memory tables (`CREATE TABLE … AS`, `register_batch`) and
/// the `generate_series`/`range` table functions: their rows travel inside the plan as Arrow
/// IPC, up to [`MAX_SHIPPED_TABLE_BYTES`]. Other custom tables are refused by name.
#[derive(Debug, Default)]
pub struct PersonaLogicalCodec {
    inner: BallistaLogicalExtensionCodec,
}

/// Marks an in-memory table's bytes.
const MEM_TABLE_MAGIC: &[u8] = b"PERSONA-MEMTABLE-1\n";

/// The most data a plan carries for a table (Ballista's gRPC messages are limited to 16 MiB).
pub const MAX_SHIPPED_TABLE_BYTES: usize = 12 << 20;

fn too_large<T>(table_ref: &TableReference) -> Result<T> {
    plan_err!(
        "table {table_ref} is too large to ship to the cluster inside a plan (over {} MiB); write it to the lake instead",
        MAX_SHIPPED_TABLE_BYTES >> 20
    )
}

/// `batches` as an in-memory table in Arrow IPC after [`MEM_TABLE_MAGIC`].
fn encode_batches(
    table_ref: &TableReference,
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
    buf: &mut Vec<u8>,
) -> Result<()> {
    let start = buf.len();
    buf.extend_from_slice(MEM_TABLE_MAGIC);
    let mut writer = StreamWriter::try_new(&mut *buf, schema)?;
    for batch in &batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    drop(writer);
    if buf.len() - start > MAX_SHIPPED_TABLE_BYTES {
        return too_large(table_ref);
    }
    Ok(())
}

impl LogicalExtensionCodec for PersonaLogicalCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[LogicalPlan], ctx: &TaskContext) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        let Some(ipc) = buf.strip_prefix(MEM_TABLE_MAGIC) else {
            return self.inner.try_decode_table_provider(buf, table_ref, schema, ctx);
        };
        let reader = StreamReader::try_new(ipc, None)?;
        let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Arc::new(MemTable::try_new(schema, vec![batches])?))
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(table) = node.downcast_ref::<MemTable>() {
            let mut batches = Vec::new();
            for partition in &table.batches {
                let Ok(partition) = partition.try_read() else {
                    return plan_err!("table {table_ref} is being written to; run the query again");
                };
                batches.extend(partition.iter().cloned());
            }
            return encode_batches(table_ref, &table.schema(), batches, buf);
        }
        if let Some(series) = node.downcast_ref::<GenerateSeriesTable>() {
            // generate_series() and range(): generated here, shipped as data
            let generator = series.as_generator(8192)?;
            let mut batches = Vec::new();
            let mut bytes = 0;
            while let Some(batch) = generator.write().generate_next_batch()? {
                bytes += batch.get_array_memory_size();
                if bytes > MAX_SHIPPED_TABLE_BYTES {
                    return too_large(table_ref);
                }
                batches.push(batch);
            }
            return encode_batches(table_ref, &series.schema(), batches, buf);
        }
        plan_err!(
            "table {table_ref} cannot run on a cluster: only lake tables, views, in-memory tables and generate_series/range are shipped to it"
        )
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn datafusion::datasource::file_format::FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn datafusion::datasource::file_format::FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::physical_plan::displayable;

    use super::*;

    /// The scheduler plans each job with this state: its joins must yield as a local session's do.
    #[tokio::test]
    async fn the_schedulers_joins_yield() {
        let state = session_state(SessionConfig::new(), Arc::new(RuntimeEnv::default()), None).expect("state");
        let ctx = SessionContext::new_with_state(state);
        ctx.sql("CREATE TABLE a AS VALUES (1), (2)").await.expect("a").collect().await.expect("a");
        ctx.sql("CREATE TABLE b AS VALUES (2), (3)").await.expect("b").collect().await.expect("b");
        let plan = ctx
            .sql("SELECT * FROM a JOIN b ON a.column1 = b.column1")
            .await
            .expect("sql")
            .create_physical_plan()
            .await
            .expect("plan");
        let text = displayable(plan.as_ref()).indent(true).to_string();
        let lines: Vec<&str> = text.lines().map(str::trim_start).collect();
        let over_the_join =
            lines.windows(2).any(|pair| pair[0].starts_with("CooperativeExec") && pair[1].starts_with("HashJoinExec"));
        assert!(over_the_join, "{text}");
    }
}
