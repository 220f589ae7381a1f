//! Lake registration: every sub-folder of the lake is a table of Parquet files.
//!
//! `register_lake(ctx, "DIR" | "file:///DIR")` lists the lake's immediate sub-folders and
//! makes each a table under its folder name, in a [`LakeSchema`] that replaces the session's
//! default schema. Registration lists every table (one request per table on an object store,
//! kept in DataFusion's listing cache); a table's Parquet footers are read when a statement
//! first names it — one request per file, checked and decoded here and put in DataFusion's
//! file-metadata cache, where schema inference and the scans find them — so a query over
//! two tables of a remote lake does not pay for the footers of the other five. A file that
//! cannot be read fails the statement that names its table, with an error naming the file,
//! and the table is tried again by the next statement; so do files of one table that disagree
//! (a column of two types, or a NOT NULL column some files lack). Hive-style partition
//! folders (`month=2025-01/`) below a table become partition columns (strings); files are
//! found recursively. Folders whose names start with `.` or `_` are skipped, as are
//! folders without any `.parquet` file. Listing goes through the session's object store, so a
//! remote lake (`s3://bucket/prefix`, `gs://`, `az://`/`abfss://`, `http(s)://` with WebDAV
//! listing) follows the same rules; its store is built by [`crate::store::object_store_for`]
//! from the [`StorageOptions`] and the environment.
//!
//! **Complete lakes only.** `persona generate --out s3://…` writes the lake's objects under
//! `<lake>/_persona_staging/` first, then copies them to their places, writes `<lake>/_SUCCESS`
//! and deletes the staging prefix (see [`crate::generate`]). A lake root that holds
//! `_persona_staging/` but no `_SUCCESS` is being written (or its writer failed), and
//! registering it is an error; a lake without either (written by other tools) registers as
//! before.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::common::{plan_datafusion_err, plan_err, DataFusionError, Result};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::physical_plan::parquet::metadata::CachedParquetMetaData;
use datafusion::execution::cache::cache_manager::{CachedFileMetadataEntry, FileMetadataCache};
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore};
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataPushDecoder};
use parquet::DecodeResult;
use tokio::sync::OnceCell;
use url::Url;

use crate::store::{display_url, object_store_for, redact_error, StorageOptions};

/// Registers every table of the lake at `location` with `ctx`; returns the table names in
/// alphabetical order. Tables the session had in its default schema stay unless the lake has a
/// table of the same name.
///
/// # Errors
/// A missing or unreadable lake or an unsupported URL scheme. (A table with Parquet files of
/// incompatible schemas or a Parquet file that cannot be read fails the first statement that
/// names the table; the error names the file.)
pub async fn register_lake(ctx: &SessionContext, location: &str) -> Result<Vec<String>> {
    register_lake_with(ctx, location, &StorageOptions::new()).await
}

/// [`register_lake`] with options for a remote lake's object store (ignored for a local lake).
///
/// # Errors
/// As [`register_lake`], and a remote lake that is incomplete (see the module docs), cannot be
/// listed (a missing bucket, wrong credentials, an unreachable endpoint) or whose store
/// cannot be configured. Messages name the URL, never a credential.
pub async fn register_lake_with(ctx: &SessionContext, location: &str, options: &StorageOptions) -> Result<Vec<String>> {
    register(ctx, location, options).await.map_err(redact_error)
}

async fn register(ctx: &SessionContext, location: &str, options: &StorageOptions) -> Result<Vec<String>> {
    let root = lake_url(location)?;
    let shown = display_url(&root);
    if root.scheme() != "file" {
        ctx.register_object_store(&root, object_store_for(&root, options)?);
    }
    let store = ctx.runtime_env().object_store(ListingTableUrl::parse(root.as_str())?)?;
    let prefix = ObjectPath::from_url_path(root.path())
        .map_err(|e| plan_datafusion_err!("invalid lake location {shown}: {e}"))?;
    let listing = store
        .list_with_delimiter(Some(&prefix))
        .await
        .map_err(|e| plan_datafusion_err!("cannot list the lake {shown}: {e}"))?;
    let staging = listing.common_prefixes.iter().any(|p| p.filename() == Some(STAGING));
    let success = listing.objects.iter().any(|o| o.location.filename() == Some(SUCCESS));
    if staging && !success {
        return plan_err!(
            "the lake {shown} is incomplete: it has {STAGING}/ but no {SUCCESS} (a `persona generate` is writing it or failed; rerun it)"
        );
    }
    if root.scheme() != "file" && listing.common_prefixes.is_empty() && listing.objects.is_empty() {
        return plan_err!("the lake {shown} is empty or does not exist (no objects under it)");
    }
    let mut names: Vec<String> = listing
        .common_prefixes
        .iter()
        .filter_map(|p| p.filename().map(str::to_string))
        .filter(|name| !name.starts_with('.') && !name.starts_with('_'))
        .collect();
    names.sort();
    // list every table now (a folder without Parquet files is not a table; DataFusion's
    // listing cache keeps the lists for the first queries); the footers wait for a statement
    let state = ctx.state();
    let (root_ref, store_ref, state_ref) = (&root, &store, &state);
    let has_parquet = futures::future::try_join_all(names.iter().map(|name| async move {
        let url = table_url(root_ref, name)?;
        let mut files = url.list_all_files(state_ref, store_ref.as_ref(), ".parquet").await?;
        Ok::<_, DataFusionError>(files.try_next().await?.is_some())
    }))
    .await?;
    let names: Vec<String> = names.into_iter().zip(has_parquet).filter_map(|(name, has)| has.then_some(name)).collect();
    let options = &state.config().options().catalog;
    let (catalog_name, schema_name) = (options.default_catalog.clone(), options.default_schema.clone());
    let Some(catalog) = ctx.catalog(&catalog_name) else {
        return plan_err!("the session has no default catalog '{catalog_name}' to register the lake in");
    };
    let lake = Arc::new(Lake { root, store, config: state.config().clone(), runtime: ctx.runtime_env() });
    let schema = LakeSchema::new(lake, &names);
    if let Some(previous) = catalog.schema(&schema_name) {
        schema.adopt(previous.as_ref()).await?;
    }
    catalog.register_schema(&schema_name, Arc::new(schema))?;
    Ok(names)
}

/// The lake's root as a URL ending in `/`: a local directory (which must exist) or a URL.
fn lake_url(location: &str) -> Result<Url> {
    if location.contains("://") {
        let mut url = Url::parse(location).map_err(|e| plan_datafusion_err!("invalid lake URL {location}: {e}"))?;
        if url.scheme() == "file" {
            let path = url.to_file_path().map_err(|()| plan_datafusion_err!("invalid file URL {location}"))?;
            return local_dir_url(&path);
        }
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        Ok(url)
    } else {
        local_dir_url(Path::new(location))
    }
}

fn local_dir_url(path: &Path) -> Result<Url> {
    if !path.is_dir() {
        return plan_err!("lake directory {} does not exist or is not a directory", path.display());
    }
    let absolute = path.canonicalize()?;
    Url::from_directory_path(&absolute)
        .map_err(|()| plan_datafusion_err!("cannot use {} as a lake", absolute.display()))
}

/// The folder under a lake root where `persona generate` stages a remote lake.
pub const STAGING: &str = "_persona_staging";
/// The object whose presence marks a generated remote lake as complete.
pub const SUCCESS: &str = "_SUCCESS";

/// The URL of an object of the lake's store, for messages (without credentials).
fn object_url(root: &Url, location: &ObjectPath) -> String {
    if root.scheme() == "file" {
        return format!("/{location}");
    }
    let mut url = root.clone();
    url.set_path(&format!("/{location}"));
    display_url(&url)
}

/// Where a lake's tables come from: its root, its store, and the session's configuration and
/// runtime (memory pool, object stores, listing and footer caches) at registration. It holds
/// no session state, so a context does not keep itself alive through its own catalog.
#[derive(Debug)]
struct Lake {
    root: Url,
    store: Arc<dyn ObjectStore>,
    config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
}

/// A table of the lake, resolved once: `None` inside when its folder has no Parquet file.
type LakeEntry = Arc<OnceCell<Option<Arc<dyn TableProvider>>>>;

/// The default schema of a session with a lake: the lake's folders, each resolved into a
/// [`ListingTable`] the first time a statement names it, and the tables and views statements
/// create (`CREATE TABLE`, `CREATE EXTERNAL TABLE`, `CREATE VIEW`, `register_table`).
#[derive(Debug)]
pub struct LakeSchema {
    lake: Arc<Lake>,
    tables: RwLock<BTreeMap<String, LakeEntry>>,
}

impl LakeSchema {
    fn new(lake: Arc<Lake>, names: &[String]) -> Self {
        let tables = names.iter().map(|name| (name.clone(), LakeEntry::default())).collect();
        Self { lake, tables: RwLock::new(tables) }
    }

    /// Takes over the tables of the schema this one replaces (a second lake keeps the first
    /// one's tables unless it has a table of the same name).
    async fn adopt(&self, previous: &dyn SchemaProvider) -> Result<()> {
        if let Some(lake) = previous.downcast_ref::<LakeSchema>() {
            let theirs = lake.tables.read().map_err(poisoned)?.clone();
            let mut ours = self.tables.write().map_err(poisoned)?;
            for (name, entry) in theirs {
                ours.entry(name).or_insert(entry);
            }
            return Ok(());
        }
        for name in previous.table_names() {
            if let Some(table) = previous.table(&name).await? {
                let mut ours = self.tables.write().map_err(poisoned)?;
                ours.entry(name).or_insert_with(|| resolved(Some(table)));
            }
        }
        Ok(())
    }

    fn entry(&self, name: &str) -> Option<LakeEntry> {
        self.tables.read().ok()?.get(name).cloned()
    }
}

fn resolved(table: Option<Arc<dyn TableProvider>>) -> LakeEntry {
    Arc::new(OnceCell::new_with(Some(table)))
}

fn poisoned<T>(_: T) -> DataFusionError {
    DataFusionError::Internal("the lake's table list lock is poisoned".to_string())
}

#[async_trait]
impl SchemaProvider for LakeSchema {
    fn table_names(&self) -> Vec<String> {
        self.tables.read().map(|tables| tables.keys().cloned().collect()).unwrap_or_default()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let Some(entry) = self.entry(name) else { return Ok(None) };
        let table = entry.get_or_try_init(|| self.lake.resolve(name)).await.map_err(redact_error)?;
        Ok(table.clone())
    }

    fn register_table(&self, name: String, table: Arc<dyn TableProvider>) -> Result<Option<Arc<dyn TableProvider>>> {
        let mut tables = self.tables.write().map_err(poisoned)?;
        let previous = tables.insert(name, resolved(Some(table)));
        Ok(previous.and_then(|entry| entry.get().cloned().flatten()))
    }

    fn deregister_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let mut tables = self.tables.write().map_err(poisoned)?;
        Ok(tables.remove(name).and_then(|entry| entry.get().cloned().flatten()))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables.read().is_ok_and(|tables| tables.contains_key(name))
    }
}

/// Footer bytes read from the end of a Parquet file when a table is resolved or scanned: one
/// request reads the footer and, on the demo lake, the page index before it (footers of
/// 1–3 KiB in 1.5 MB files). DataFusion's default (512 KiB) read a third of every demo file:
/// ~170 MB over the network for the 1M-customer lake. A larger footer costs one more read.
const METADATA_SIZE_HINT: usize = 64 * 1024;

impl Lake {
    /// The table in the folder `name`: its files listed (through DataFusion's listing cache),
    /// every footer read once — checked, decoded and put in DataFusion's file-metadata cache,
    /// where schema inference and the scans find it — and the schema merged.
    async fn resolve(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let state = SessionStateBuilder::new()
            .with_config(self.config.clone())
            .with_runtime_env(Arc::clone(&self.runtime))
            .build();
        let table_url = table_url(&self.root, name)?;
        if self.root.scheme() == "file" {
            if let Ok(root) = self.root.to_file_path() {
                check_local_tree(name, &root.join(name))?;
            }
        }
        let mut format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let hint = format.metadata_size_hint().map_or(METADATA_SIZE_HINT, |h| h.min(METADATA_SIZE_HINT));
        format = format.with_metadata_size_hint(Some(hint));
        let options = ListingOptions::new(Arc::new(format)).with_file_extension(".parquet");
        let files: Vec<_> =
            table_url.list_all_files(&state, self.store.as_ref(), ".parquet").await?.try_collect().await?;
        if files.is_empty() {
            return Ok(None);
        }
        let cache = self.runtime.cache_manager.get_file_metadata_cache();
        let reads: Vec<_> = files.iter().map(|file| self.read_footer(file, hint, &cache)).collect();
        futures::stream::iter(reads)
            .buffer_unordered(state.config_options().execution.meta_fetch_concurrency.get())
            .try_collect::<Vec<()>>()
            .await?;
        check_file_schemas(name, &files, &cache, &self.root)?;
        let config = ListingTableConfig::new(table_url)
            .with_listing_options(options)
            .infer_partitions_from_path(&state)
            .await?
            .infer_schema(&state)
            .await?;
        Ok(Some(Arc::new(ListingTable::try_new(config)?)))
    }

    /// Reads a Parquet file's footer in one request (two when it is larger than `hint`) and
    /// caches the decoded metadata, page index included. A Parquet file starts and ends with
    /// `PAR1`, and the 4-byte metadata length before the final magic must fit in the file:
    /// checked before decoding, with an error naming the object (parquet 59 panics on a
    /// length past the start of the file).
    async fn read_footer(&self, file: &ObjectMeta, hint: usize, cache: &Arc<FileMetadataCache>) -> Result<()> {
        if cache.get(&file.location).is_some_and(|cached| cached.is_valid_for(file)) {
            return Ok(());
        }
        let size = file.size;
        let name = object_url(&self.root, &file.location);
        let unreadable = |e: &dyn std::fmt::Display| plan_datafusion_err!("cannot read Parquet file {name}: {e}");
        if size < 12 {
            return Err(unreadable(&format!("{size} bytes is too small for Parquet")));
        }
        let tail_range = size.saturating_sub(hint as u64)..size;
        let tail = self
            .store
            .get_ranges(&file.location, std::slice::from_ref(&tail_range))
            .await
            .map_err(|e| unreadable(&e))?
            .concat();
        let footer = tail.len().checked_sub(8).and_then(|at| tail.get(at..)).unwrap_or_default();
        if footer.len() != 8 || &footer[4..] != b"PAR1" {
            return Err(unreadable(&"it does not end with the Parquet magic PAR1"));
        }
        let metadata_len = u64::from(u32::from_le_bytes([footer[0], footer[1], footer[2], footer[3]]));
        if metadata_len + 12 > size {
            return Err(unreadable(&format!(
                "its footer claims {metadata_len} bytes of metadata in a file of {size} bytes (truncated or corrupt)"
            )));
        }
        let mut decoder = ParquetMetaDataPushDecoder::try_new(size)
            .map_err(|e| unreadable(&e))?
            .with_page_index_policy(PageIndexPolicy::Optional);
        decoder.push_ranges(vec![tail_range], vec![tail.into()]).map_err(|e| unreadable(&e))?;
        let metadata = loop {
            match decoder.try_decode().map_err(|e| unreadable(&e))? {
                DecodeResult::Data(metadata) => break metadata,
                DecodeResult::NeedsData(ranges) => {
                    let data = self.store.get_ranges(&file.location, &ranges).await.map_err(|e| unreadable(&e))?;
                    decoder.push_ranges(ranges, data).map_err(|e| unreadable(&e))?;
                }
                DecodeResult::Finished => return Err(unreadable(&"its metadata decoder finished without metadata")),
            }
        };
        let entry =
            CachedFileMetadataEntry::new(file.clone(), Arc::new(CachedParquetMetaData::new(Arc::new(metadata))));
        cache.put(&file.location, entry);
        Ok(())
    }
}

/// The Arrow schema of a file whose footer is in `cache`.
fn cached_schema(cache: &Arc<FileMetadataCache>, file: &ObjectMeta) -> Option<arrow::datatypes::Schema> {
    let entry = cache.get(&file.location)?;
    let parquet = entry.file_metadata.as_any().downcast_ref::<CachedParquetMetaData>()?;
    let metadata = parquet.parquet_metadata().file_metadata();
    parquet::arrow::parquet_to_arrow_schema(metadata.schema_descr(), metadata.key_value_metadata()).ok()
}

/// The files of one table must agree: a column two files both have has one type, and a
/// column some files lack is nullable wherever it appears (the files without it read as
/// NULL). Otherwise the table's scans fail later with errors that name no file ("Column
/// 'amount' is declared as non-nullable but contains null values"); here the error names the
/// two files and the column.
fn check_file_schemas(table: &str, files: &[ObjectMeta], cache: &Arc<FileMetadataCache>, root: &Url) -> Result<()> {
    let schemas: Vec<(&ObjectMeta, arrow::datatypes::Schema)> =
        files.iter().filter_map(|file| cached_schema(cache, file).map(|schema| (file, schema))).collect();
    let mut first_seen: BTreeMap<&str, (&ObjectMeta, &arrow::datatypes::Field)> = BTreeMap::new();
    for (file, schema) in &schemas {
        for field in schema.fields() {
            let Some((other, seen)) = first_seen.get(field.name().as_str()) else {
                first_seen.insert(field.name(), (file, field));
                continue;
            };
            if seen.data_type() != field.data_type() {
                return plan_err!(
                    "table '{table}': column '{}' is {} in {} but {} in {}",
                    field.name(),
                    seen.data_type(),
                    object_url(root, &other.location),
                    field.data_type(),
                    object_url(root, &file.location)
                );
            }
        }
    }
    for (name, (holder, field)) in &first_seen {
        if field.is_nullable() {
            continue;
        }
        let lacking: Vec<&ObjectMeta> =
            schemas.iter().filter(|(_, schema)| schema.field_with_name(name).is_err()).map(|(file, _)| *file).collect();
        let Some(first_lacking) = lacking.first() else { continue };
        let holders = schemas.len() - lacking.len();
        if holders < lacking.len() {
            // the odd one out is the file with the column
            return plan_err!(
                "table '{table}': Parquet file {} has a NOT NULL column '{name}' that {} other file(s) of the table \
                 (e.g. {}) do not have (files of one table must agree)",
                object_url(root, &holder.location),
                lacking.len(),
                object_url(root, &first_lacking.location)
            );
        }
        if let Some(lacking) = lacking.first() {
            return plan_err!(
                "table '{table}': Parquet file {} has no column '{name}', which {} has as NOT NULL (files of one \
                 table must agree; a column missing from some files must be nullable)",
                object_url(root, &lacking.location),
                object_url(root, &holder.location)
            );
        }
    }
    Ok(())
}

/// The URL of the table in the lake's folder `name`.
/// A local table's folder, walked before it is listed: the object store's listing skips links
/// to missing paths and folders it cannot read, which would drop their files from every answer
/// without a word. Either is an error naming the path.
fn check_local_tree(table: &str, folder: &Path) -> Result<()> {
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            DataFusionError::Plan(format!("table '{table}': cannot read folder {}: {e}", dir.display()))
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| {
                DataFusionError::Plan(format!("table '{table}': cannot read folder {}: {e}", dir.display()))
            })?;
            let path = entry.path();
            let metadata = std::fs::metadata(&path).map_err(|e| {
                DataFusionError::Plan(format!(
                    "table '{table}': {} cannot be read (a link to a missing path?): {e}",
                    path.display()
                ))
            })?;
            // descend into real folders only (a link to an ancestor would never end)
            let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
            if metadata.is_dir() && !is_link {
                pending.push(path);
            }
        }
    }
    Ok(())
}

fn table_url(root: &Url, name: &str) -> Result<ListingTableUrl> {
    let url = root.join(&format!("{name}/")).map_err(|e| plan_datafusion_err!("invalid table path {name}: {e}"))?;
    ListingTableUrl::parse(url.as_str())
}
