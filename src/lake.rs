//! Lake registration: every sub-folder of the lake is a table of Parquet files.
//!
//! `register_lake(ctx, "DIR" | "file:///DIR")` lists the lake's immediate sub-folders and
//! registers each as a [`ListingTable`] under its folder name. Hive-style partition
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

use std::path::Path;
use std::sync::Arc;

use datafusion::common::{plan_datafusion_err, plan_err, DataFusionError, Result};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::prelude::SessionContext;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore};
use url::Url;

use crate::store::{display_url, object_store_for, redact_error, StorageOptions};

/// Registers every table of the lake at `location` with `ctx`; returns the table names in
/// alphabetical order.
///
/// # Errors
/// A missing or unreadable lake, an unsupported URL scheme, a table with Parquet files of
/// incompatible schemas or a Parquet file that cannot be read (the error names the file).
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
    // the tables' footers are read concurrently; registration keeps the alphabetical order
    let (root, store) = (&root, &store);
    let tables = futures::future::try_join_all(names.iter().map(|name| async move {
        let table_url = ListingTableUrl::parse(root.join(&format!("{name}/")).map_err(to_plan_error)?.as_str())?;
        listing_table(ctx, &table_url, store, root).await
    }))
    .await?;
    let mut registered = Vec::with_capacity(names.len());
    for (name, table) in names.into_iter().zip(tables) {
        if let Some(table) = table {
            ctx.register_table(name.as_str(), Arc::new(table))?;
            registered.push(name);
        }
    }
    Ok(registered)
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

/// Footer bytes read optimistically from a Parquet file when a table is registered or
/// scanned. DataFusion's default (512 KiB) saves a round trip for very wide schemas, but on the
/// demo lake (footers of 1–3 KiB in 1.5 MB files) it read a third of every file at
/// registration: on a local disk a copy, on an object store ~170 MB over the network for the
/// 1M-customer lake before the first query. A footer larger than this costs one more read.
const METADATA_SIZE_HINT: usize = 64 * 1024;

async fn listing_table(
    ctx: &SessionContext,
    table_url: &ListingTableUrl,
    store: &Arc<dyn ObjectStore>,
    root: &Url,
) -> Result<Option<ListingTable>> {
    let state = ctx.state();
    let mut format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
    let hint = format.metadata_size_hint().map_or(METADATA_SIZE_HINT, |h| h.min(METADATA_SIZE_HINT));
    format = format.with_metadata_size_hint(Some(hint));
    let format = Arc::new(format);
    let options = ListingOptions::new(format.clone()).with_file_extension(".parquet");
    let files: Vec<_> = table_url.list_all_files(&state, store.as_ref(), ".parquet").await?.try_collect().await?;
    if files.is_empty() {
        return Ok(None);
    }
    // check every footer before DataFusion parses it: parquet 59 panics on a footer whose
    // metadata length exceeds the file
    futures::stream::iter(files.iter().map(|file| check_footer(store, file, root)))
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    let config = ListingTableConfig::new(table_url.clone())
        .with_listing_options(options)
        .infer_partitions_from_path(&state)
        .await?;
    let config = match config.infer_schema(&state).await {
        Ok(config) => config,
        Err(error) => {
            // name the file that cannot be read, rather than only the reader's complaint
            for file in &files {
                if let Err(file_error) = format.infer_schema(&state, store, std::slice::from_ref(file)).await {
                    return plan_err!("cannot read Parquet file {}: {file_error}", object_url(root, &file.location));
                }
            }
            return Err(error);
        }
    };
    Ok(Some(ListingTable::try_new(config)?))
}

/// A Parquet file ends with a 4-byte little-endian metadata length and the magic `PAR1`,
/// and starts with `PAR1`; the metadata must fit between them.
async fn check_footer(store: &Arc<dyn ObjectStore>, file: &ObjectMeta, root: &Url) -> Result<()> {
    let size = file.size;
    let name = object_url(root, &file.location);
    if size < 12 {
        return plan_err!("cannot read Parquet file {}: {size} bytes is too small for Parquet", name);
    }
    let footer = size - 8..size;
    let tail = store
        .get_ranges(&file.location, std::slice::from_ref(&footer))
        .await
        .map_err(|e| plan_datafusion_err!("cannot read Parquet file {}: {e}", name))?
        .concat();
    if tail.len() != 8 || &tail[4..] != b"PAR1" {
        return plan_err!("cannot read Parquet file {}: it does not end with the Parquet magic PAR1", name);
    }
    let metadata_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if metadata_len + 12 > size {
        return plan_err!(
            "cannot read Parquet file {}: its footer claims {metadata_len} bytes of metadata in a file of {size} bytes (truncated or corrupt)",
            name
        );
    }
    Ok(())
}

fn to_plan_error(e: url::ParseError) -> DataFusionError {
    plan_datafusion_err!("invalid table path: {e}")
}
