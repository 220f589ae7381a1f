//! The engine: a plain DataFusion [`SessionContext`] with every Persona function
//! registered, a memory limit, a number of target partitions and a lake.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::memory_pool::GreedyMemoryPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::optimizer::OptimizerRule;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::label_codes::GroupLabelsAsCodes;
use crate::lake::register_lake_with;
use crate::settings::PersonaOptions;
use crate::store::StorageOptions;
use crate::unpivot::SplitUnpivotAggregate;

/// Joins whose build side has at most this many rows (and [`COLLECT_BUILD_SIDE_BYTES`]) build
/// one shared hash table instead of hash-partitioning both sides (DataFusion's defaults are
/// 128 Ki rows and 1 MiB). Customer analytics joins fact tables (contacts, transactions) to
/// dimension tables keyed by dense customer ids, and a dense build side becomes a direct
/// array lookup: the campaign evaluation at 5M customers (15M contacts × 5M customers) took
/// 0.94 s partitioned and 0.74 s collected on 2 cores. Settable per session
/// (`SET datafusion.optimizer.hash_join_single_partition_threshold_rows = …`).
pub const COLLECT_BUILD_SIDE_ROWS: usize = 16 << 20;
/// Bytes of the build side under which a join collects it; see [`COLLECT_BUILD_SIDE_ROWS`].
pub const COLLECT_BUILD_SIDE_BYTES: usize = 512 << 20;

/// How long a table's file listing is reused (DataFusion's list-files cache; its default
/// keeps a listing forever, so a long-running server would never see files added to the lake).
/// Within this time a query plans without listing requests — on an object store one request
/// per 1,000 objects and per partition folder.
pub const LIST_FILES_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Builds a [`SessionContext`] for Persona.
///
/// ```no_run
/// # async fn example() -> datafusion::common::Result<()> {
/// let ctx = persona::EngineBuilder::new()
///     .lake("/data/lake")
///     .memory_limit(4 << 30)
///     .target_partitions(8)
///     .build()
///     .await?;
/// ctx.sql("SELECT count(*) FROM customers").await?.show().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct EngineBuilder {
    lake: Option<String>,
    storage: StorageOptions,
    memory_limit: Option<usize>,
    target_partitions: Option<usize>,
    #[cfg(feature = "cluster")]
    cluster: Option<String>,
}

impl EngineBuilder {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A lake directory or URL whose sub-folders are registered as tables
    /// (see [`crate::lake::register_lake`]).
    #[must_use]
    pub fn lake(mut self, location: impl Into<String>) -> Self {
        self.lake = Some(location.into());
        self
    }

    /// An option for a remote lake's object store, e.g. `("aws.endpoint", "http://127.0.0.1:9000")`
    /// (see [`crate::store`]; the standard environment variables apply without it).
    #[must_use]
    pub fn storage_option(mut self, key: &str, value: impl Into<String>) -> Self {
        self.storage.set(key, value);
        self
    }

    /// Every option for a remote lake's object store at once (replacing earlier ones).
    #[must_use]
    pub fn storage(mut self, options: StorageOptions) -> Self {
        self.storage = options;
        self
    }

    /// Bytes of memory that queries may hold at once (a greedy pool, as datafusion-cli's
    /// default); operators that can spill do so when the pool is full, others fail with a
    /// resources-exhausted error. Unlimited by default. Not a fair spill pool: it splits the
    /// memory left by unspillable states (per-customer `rfm` days, `psi_edges` samples) evenly
    /// among the spillable operators, and at 1M customers under 512 MB the RFM and PSI recipes
    /// then failed on one-shot reservations of 30–70 MB that the greedy pool grants.
    #[must_use]
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// Partitions (threads) per query; defaults to the number of cores.
    #[must_use]
    pub fn target_partitions(mut self, partitions: usize) -> Self {
        self.target_partitions = Some(partitions);
        self
    }

    /// Run queries on the Apache DataFusion Ballista cluster whose scheduler is at `url`
    /// (`df://HOST:PORT`; see [`crate::cluster`]). Planning stays here; the scheduler and its
    /// executors (`persona scheduler`, `persona executor`) run the plans, reading the lake
    /// themselves, so the lake must be a URL or path every node reaches. Ballista's settings
    /// for distribution apply (sort-merge joins, its broadcast thresholds instead of
    /// [`COLLECT_BUILD_SIDE_ROWS`]), and `target_partitions` is the number of shuffle
    /// partitions (16 unless set).
    #[cfg(feature = "cluster")]
    #[must_use]
    pub fn cluster(mut self, url: impl Into<String>) -> Self {
        self.cluster = Some(url.into());
        self
    }

    /// The session, with `information_schema` enabled so `SHOW FUNCTIONS` lists Persona's
    /// functions.
    ///
    /// # Errors
    /// A lake that cannot be registered, or a zero `target_partitions`.
    pub async fn build(self) -> Result<SessionContext> {
        let mut config =
            SessionConfig::new().with_information_schema(true).with_option_extension(PersonaOptions::default());
        let optimizer = &mut config.options_mut().optimizer;
        optimizer.hash_join_single_partition_threshold_rows = COLLECT_BUILD_SIDE_ROWS;
        optimizer.hash_join_single_partition_threshold = COLLECT_BUILD_SIDE_BYTES;
        #[cfg(feature = "cluster")]
        if self.cluster.is_some() {
            config = crate::cluster::session_config();
        }
        if let Some(partitions) = self.target_partitions {
            if partitions == 0 {
                return datafusion::common::plan_err!("target partitions must be at least 1");
            }
            config = config.with_target_partitions(partitions);
        }
        let caches = CacheManagerConfig::default().with_list_files_cache_ttl(Some(LIST_FILES_CACHE_TTL));
        let mut runtime = RuntimeEnvBuilder::new().with_cache_manager(caches);
        if let Some(bytes) = self.memory_limit {
            runtime = runtime.with_memory_pool(Arc::new(GreedyMemoryPool::new(bytes)));
        }
        #[cfg(feature = "cluster")]
        let ctx = match &self.cluster {
            Some(url) => {
                let state = datafusion::execution::session_state::SessionStateBuilder::new()
                    .with_default_features()
                    .with_config(config)
                    .with_runtime_env(runtime.build_arc()?)
                    .build();
                crate::cluster::connect(url, state).await?
            }
            None => local(config, runtime)?,
        };
        #[cfg(not(feature = "cluster"))]
        let ctx = local(config, runtime)?;
        if let Some(lake) = &self.lake {
            register_lake_with(&ctx, lake, &self.storage).await?;
        }
        Ok(ctx)
    }
}

/// Persona's own logical optimizer rules, run after DataFusion's: `unpivot` and `label_codes`
/// (each switched by a [`PersonaOptions`] setting).
pub(crate) fn persona_rules() -> Vec<Arc<dyn OptimizerRule + Send + Sync>> {
    vec![Arc::new(SplitUnpivotAggregate), Arc::new(GroupLabelsAsCodes)]
}

/// A local session with every Persona function, whose aggregates over an unpivot joined on its
/// label are planned a branch at a time (see `unpivot`), whose joins yield to the runtime so that a
/// cancellation takes effect inside them (see `yields`), whose file scans name the file in
/// their errors (see `file_errors`) and whose argument errors name the function (see
/// `arguments`).
fn local(config: SessionConfig, runtime: RuntimeEnvBuilder) -> Result<SessionContext> {
    // appended after DataFusion's rules (`with_optimizer_rules` would replace them)
    let builder = persona_rules().into_iter().fold(
        datafusion::execution::session_state::SessionStateBuilder::new(),
        datafusion::execution::session_state::SessionStateBuilder::with_optimizer_rule,
    );
    let state = builder
        .with_config(config)
        .with_runtime_env(runtime.build_arc()?)
        .with_default_features()
        .with_analyzer_rules(crate::arguments::CheckFunctionArguments::in_analyzer(
            &datafusion::optimizer::Analyzer::new().rules,
        ))
        .with_physical_optimizer_rule(Arc::new(crate::yields::YieldInJoins))
        .with_physical_optimizer_rule(Arc::new(crate::file_errors::NameFilesInErrors))
        .build();
    let ctx = SessionContext::new_with_state(state);
    persona_udfs::register_all(&ctx)?;
    Ok(ctx)
}
