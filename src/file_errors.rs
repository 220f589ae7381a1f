//! Errors that name the file they come from: a physical optimizer rule that wraps the source of
//! every file scan so that an error raised while a file is opened, planned or decoded carries
//! the file's URL.
//!
//! DataFusion reports a broken page of a Parquet file as, for example, `Arrow error: Parquet
//! argument error: Parquet error: Required field type_ is missing` — with no word of which of a
//! table's hundreds of files is broken. The files are read through a `Morselizer` (one per scan
//! partition; it plans each file into morsels, which become record batch streams). The wrapper
//! [`NamingSource`] delegates everything to the format's own source and wraps its morselizer,
//! whose planners and morsels add `cannot read <url>` as context to an error unless the message
//! already holds the file's path. Memory, cancellation and planning errors pass unchanged; so
//! do the answers and the plans' text (the wrapper shows as the source it wraps). The rule runs
//! after DataFusion's own, which still see (and may downcast) the format's source.

use std::fmt;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::physical_plan::{FileOpener, FileScanConfig, FileScanConfigBuilder, FileSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::physical_expr::projection::ProjectionExprs;
use datafusion::physical_expr::{EquivalenceProperties, LexOrdering, PhysicalExpr, PhysicalSortExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::filter_pushdown::FilterPushdownPropagation;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::{DisplayFormatType, ExecutionPlan, SortOrderPushdownResult};
use datafusion_datasource::morsel::{Morsel, MorselPlan, MorselPlanner, Morselizer};
use datafusion_datasource::PartitionedFile;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;

/// Wraps the source of every file scan (`DataSourceExec` over a `FileScanConfig`) in a
/// [`NamingSource`] (see the module documentation).
#[derive(Debug, Default)]
pub struct NameFilesInErrors;

impl PhysicalOptimizerRule for NameFilesInErrors {
    fn name(&self) -> &'static str {
        "persona_name_files_in_errors"
    }

    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(scan) = node.downcast_ref::<DataSourceExec>() else {
                return Ok(Transformed::no(node));
            };
            let Some(config) = scan.data_source().downcast_ref::<FileScanConfig>() else {
                return Ok(Transformed::no(node));
            };
            if config.file_source.is::<NamingSource>() {
                return Ok(Transformed::no(node));
            }
            let named = FileScanConfigBuilder::from(config.clone())
                .with_source(NamingSource::wrap(Arc::clone(&config.file_source)))
                .build();
            Ok(Transformed::yes(DataSourceExec::from_data_source(named) as Arc<dyn ExecutionPlan>))
        })
        .map(|transformed| transformed.data)
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A file format's source whose errors name the file (see the module documentation).
#[derive(Clone)]
pub struct NamingSource {
    inner: Arc<dyn FileSource>,
}

impl NamingSource {
    /// `inner` wrapped, unless it is wrapped already.
    #[must_use]
    pub fn wrap(inner: Arc<dyn FileSource>) -> Arc<dyn FileSource> {
        if inner.is::<Self>() {
            inner
        } else {
            Arc::new(Self { inner })
        }
    }
}

impl fmt::Debug for NamingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamingSource").field("file_type", &self.inner.file_type()).finish_non_exhaustive()
    }
}

impl FileSource for NamingSource {
    fn create_file_opener(
        &self,
        object_store: Arc<dyn ObjectStore>,
        base_config: &FileScanConfig,
        partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        self.inner.create_file_opener(object_store, base_config, partition)
    }

    fn create_morselizer(
        &self,
        object_store: Arc<dyn ObjectStore>,
        base_config: &FileScanConfig,
        partition: usize,
    ) -> Result<Box<dyn Morselizer>> {
        let inner = self.inner.create_morselizer(object_store, base_config, partition)?;
        Ok(Box::new(NamingMorselizer { inner, store: base_config.object_store_url.clone() }))
    }

    fn table_schema(&self) -> &TableSchema {
        self.inner.table_schema()
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        Self::wrap(self.inner.with_batch_size(batch_size))
    }

    fn filter(&self) -> Option<Arc<dyn PhysicalExpr>> {
        self.inner.filter()
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        self.inner.projection()
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        self.inner.metrics()
    }

    fn file_type(&self) -> &str {
        self.inner.file_type()
    }

    fn fmt_extra(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        self.inner.fmt_extra(t, f)
    }

    fn supports_repartitioning(&self) -> bool {
        self.inner.supports_repartitioning()
    }

    fn repartitioned(
        &self,
        target_partitions: usize,
        repartition_file_min_size: usize,
        output_ordering: Option<LexOrdering>,
        config: &FileScanConfig,
    ) -> Result<Option<FileScanConfig>> {
        self.inner.repartitioned(target_partitions, repartition_file_min_size, output_ordering, config)
    }

    fn try_pushdown_filters(
        &self,
        filters: Vec<Arc<dyn PhysicalExpr>>,
        config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn FileSource>>> {
        let mut propagation = self.inner.try_pushdown_filters(filters, config)?;
        propagation.updated_node = propagation.updated_node.map(Self::wrap);
        Ok(propagation)
    }

    fn try_pushdown_sort(
        &self,
        order: &[PhysicalSortExpr],
        eq_properties: &EquivalenceProperties,
    ) -> Result<SortOrderPushdownResult<Arc<dyn FileSource>>> {
        Ok(self.inner.try_pushdown_sort(order, eq_properties)?.map(Self::wrap))
    }

    fn reorder_files(&self, files: Vec<PartitionedFile>) -> Vec<PartitionedFile> {
        self.inner.reorder_files(files)
    }

    fn try_pushdown_projection(&self, projection: &ProjectionExprs) -> Result<Option<Arc<dyn FileSource>>> {
        Ok(self.inner.try_pushdown_projection(projection)?.map(Self::wrap))
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.inner.apply_expressions(f)
    }
}

/// A file's URL and its path in the object store (what the store's own messages show).
#[derive(Debug)]
struct FileName {
    url: String,
    location: String,
}

impl FileName {
    fn new(store: &ObjectStoreUrl, file: &PartitionedFile) -> Arc<Self> {
        let location = file.object_meta.location.to_string();
        let url = format!("{}{}", store.as_str(), location);
        Arc::new(Self { url, location })
    }

    /// `error` with `cannot read <url>` as context when it is an I/O, decoding or store error
    /// whose message does not already hold the file's path.
    fn attach(&self, error: DataFusionError) -> DataFusionError {
        let from_the_file = matches!(
            error,
            DataFusionError::ArrowError(..)
                | DataFusionError::ParquetError(..)
                | DataFusionError::ObjectStore(..)
                | DataFusionError::IoError(..)
                | DataFusionError::External(..)
        );
        if from_the_file && !error.to_string().contains(&self.location) {
            error.context(format!("cannot read {}", self.url))
        } else {
            error
        }
    }
}

#[derive(Debug)]
struct NamingMorselizer {
    inner: Box<dyn Morselizer>,
    store: ObjectStoreUrl,
}

impl Morselizer for NamingMorselizer {
    fn plan_file(&self, file: PartitionedFile) -> Result<Box<dyn MorselPlanner>> {
        let name = FileName::new(&self.store, &file);
        match self.inner.plan_file(file) {
            Ok(planner) => Ok(NamingPlanner::wrap(planner, name)),
            Err(e) => Err(name.attach(e)),
        }
    }
}

#[derive(Debug)]
struct NamingPlanner {
    inner: Box<dyn MorselPlanner>,
    name: Arc<FileName>,
}

impl NamingPlanner {
    fn wrap(inner: Box<dyn MorselPlanner>, name: Arc<FileName>) -> Box<dyn MorselPlanner> {
        Box::new(Self { inner, name })
    }
}

impl MorselPlanner for NamingPlanner {
    fn plan(self: Box<Self>) -> Result<Option<MorselPlan>> {
        let Self { inner, name } = *self;
        match inner.plan() {
            Ok(Some(mut plan)) => {
                let morsels = plan
                    .take_morsels()
                    .into_iter()
                    .map(|inner| Box::new(NamingMorsel { inner, name: Arc::clone(&name) }) as Box<dyn Morsel>)
                    .collect();
                let planners =
                    plan.take_ready_planners().into_iter().map(|p| Self::wrap(p, Arc::clone(&name))).collect();
                let mut named = MorselPlan::new().with_morsels(morsels).with_planners(planners);
                if let Some(pending) = plan.take_pending_planner() {
                    named.set_pending_planner(async move {
                        match pending.await {
                            Ok(planner) => Ok(Self::wrap(planner, name)),
                            Err(e) => Err(name.attach(e)),
                        }
                    });
                }
                Ok(Some(named))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(name.attach(e)),
        }
    }
}

#[derive(Debug)]
struct NamingMorsel {
    inner: Box<dyn Morsel>,
    name: Arc<FileName>,
}

impl Morsel for NamingMorsel {
    fn into_stream(self: Box<Self>) -> BoxStream<'static, Result<RecordBatch>> {
        let Self { inner, name } = *self;
        inner.into_stream().map_err(move |e| name.attach(e)).boxed()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::physical_plan::displayable;

    use super::*;

    #[test]
    fn only_errors_from_the_file_get_its_name() {
        let store = ObjectStoreUrl::parse("s3://bucket").expect("url");
        let file = PartitionedFile::new("lake/t/part-0.parquet", 10);
        let name = FileName::new(&store, &file);
        let decoding = DataFusionError::ArrowError(
            Box::new(arrow::error::ArrowError::ParquetError("Required field type_ is missing".into())),
            None,
        );
        let named = name.attach(decoding).to_string();
        assert!(named.starts_with("cannot read s3://bucket/lake/t/part-0.parquet"), "{named}");
        assert!(named.contains("Required field type_ is missing"), "{named}");
        let store_error = DataFusionError::External("Object at location lake/t/part-0.parquet not found".into());
        assert_eq!(
            name.attach(store_error).to_string(),
            "External error: Object at location lake/t/part-0.parquet not found"
        );
        let memory = DataFusionError::ResourcesExhausted("pool".into());
        assert!(matches!(name.attach(memory), DataFusionError::ResourcesExhausted(_)));
    }

    #[tokio::test]
    async fn scans_are_wrapped_and_print_as_before() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.parquet");
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.sql(&format!("COPY (SELECT 1 AS a) TO '{}' STORED AS PARQUET", path.display()))
            .await
            .expect("copy")
            .collect()
            .await
            .expect("write");
        ctx.register_parquet("t", path.display().to_string(), datafusion::prelude::ParquetReadOptions::default())
            .await
            .expect("register");
        let plan = ctx.sql("SELECT a FROM t").await.expect("sql").create_physical_plan().await.expect("plan");
        let before = displayable(plan.as_ref()).indent(true).to_string();
        let named = NameFilesInErrors.optimize(plan, &ConfigOptions::default()).expect("rule");
        assert_eq!(displayable(named.as_ref()).indent(true).to_string(), before);
        let mut wrapped = 0;
        named
            .apply(|node| {
                if let Some(config) = node
                    .downcast_ref::<DataSourceExec>()
                    .and_then(|scan| scan.data_source().downcast_ref::<FileScanConfig>())
                {
                    assert!(config.file_source.is::<NamingSource>());
                    wrapped += 1;
                }
                Ok(TreeNodeRecursion::Continue)
            })
            .expect("walk");
        assert_eq!(wrapped, 1);
        let batches = datafusion::physical_plan::collect(named, ctx.task_ctx()).await.expect("runs");
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);
    }
}
