//! Publishing a generated lake to an object store, so that readers never see half of it.
//!
//! Object stores have no atomic rename. [`publish_to_store`] therefore:
//! 1. refuses a non-empty destination unless `force` is set;
//! 2. uploads every file of the local lake under `<lake>/_persona_staging/` (a `_` folder, which
//!    lake registration skips), four at a time, large files in multipart uploads;
//! 3. deletes `<lake>/_SUCCESS` and, with `force`, the objects of the previous lake;
//! 4. copies each staged object to its place (a server-side copy: no data passes through
//!    Persona), writes `<lake>/_SUCCESS` (a JSON list of the lake's objects and sizes) and
//!    deletes the staging prefix.
//!
//! From step 2 until `_SUCCESS` exists the lake root holds `_persona_staging/` without
//! `_SUCCESS`, and [`crate::lake::register_lake`] refuses it as incomplete; a writer that dies
//! leaves it refused until `persona generate --force` is run again.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::common::{plan_datafusion_err, plan_err, Result};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;
use url::Url;

use crate::lake::{STAGING, SUCCESS};
use crate::store::{display_url, object_store_for, redact_error, StorageOptions};

/// Parts of a multipart upload (S3's minimum part size is 5 MiB).
const PART_BYTES: usize = 8 << 20;
/// Uploads, copies and deletes in flight at once.
const CONCURRENCY: usize = 4;

/// Uploads the local lake `dir` to the object-store URL `url` (see the module docs).
///
/// # Errors
/// An existing lake at `url` without `force`, an object store that cannot be configured or
/// reached, or any failed request; messages name the URL, never a credential.
pub async fn publish_to_store(dir: &Path, url: &str, options: &StorageOptions, force: bool) -> Result<()> {
    publish(dir, url, options, force).await.map_err(redact_error)
}

async fn publish(dir: &Path, url: &str, options: &StorageOptions, force: bool) -> Result<()> {
    let mut root = Url::parse(url).map_err(|e| plan_datafusion_err!("generate: invalid out URL: {e}"))?;
    if !root.path().ends_with('/') {
        root.set_path(&format!("{}/", root.path()));
    }
    let shown = display_url(&root);
    if matches!(root.scheme(), "http" | "https") {
        return plan_err!(
            "generate: {shown} is read-only (http(s) lakes cannot be written); use s3://, gs:// or az://"
        );
    }
    let prefix = ObjectPath::from_url_path(root.path())
        .map_err(|e| plan_datafusion_err!("generate: invalid out URL {shown}: {e}"))?;
    if prefix.as_ref().is_empty() {
        return plan_err!("generate: out {shown} must name a prefix inside the bucket (e.g. s3://bucket/lake)");
    }
    let store = object_store_for(&root, options)?;
    let failed = |what: &str, e: object_store::Error| plan_datafusion_err!("generate: cannot {what} {shown}: {e}");

    let existing: Vec<ObjectPath> =
        store.list(Some(&prefix)).map_ok(|meta| meta.location).try_collect().await.map_err(|e| failed("list", e))?;
    if !existing.is_empty() && !force {
        return plan_err!("generate: out {shown} already holds {} objects and force is not set", existing.len());
    }
    let staging = prefix.clone().join(STAGING);
    let files = local_files(dir)?;

    // 2. stage
    futures::stream::iter(files.iter().map(|relative| {
        let store = Arc::clone(&store);
        let target = child(&staging, relative);
        let source = dir.join(relative);
        async move { upload(store.as_ref(), &source, &target).await }
    }))
    .buffer_unordered(CONCURRENCY)
    .try_collect::<Vec<()>>()
    .await
    .map_err(|e| plan_datafusion_err!("generate: cannot upload to {shown}: {e}"))?;

    // 3. retire the previous lake, and what a writer that died left under the staging prefix
    let staged: std::collections::HashSet<ObjectPath> =
        files.iter().map(|relative| child(&staging, relative)).collect();
    let old: Vec<ObjectPath> = existing.into_iter().filter(|p| !staged.contains(p)).collect();
    let success = prefix.clone().join(SUCCESS);
    if old.contains(&success) {
        store.delete(&success).await.map_err(|e| failed("delete _SUCCESS of", e))?;
    }
    delete_all(store.as_ref(), old).await.map_err(|e| failed("delete the previous lake at", e))?;

    // 4. publish
    futures::stream::iter(files.iter().map(|relative| {
        let store = Arc::clone(&store);
        let (from, to) = (child(&staging, relative), child(&prefix, relative));
        async move { store.copy(&from, &to).await }
    }))
    .buffer_unordered(CONCURRENCY)
    .try_collect::<Vec<()>>()
    .await
    .map_err(|e| failed("copy the staged lake into", e))?;
    store.put(&success, PutPayload::from(manifest(dir, &files)?)).await.map_err(|e| failed("write _SUCCESS of", e))?;
    delete_all(store.as_ref(), staged.into_iter().collect())
        .await
        .map_err(|e| failed("delete the staging prefix of", e))?;
    Ok(())
}

/// Every file below `dir`, as `/`-separated paths relative to it, sorted.
fn local_files(dir: &Path) -> Result<Vec<String>> {
    fn walk(dir: &Path, relative: &Path, out: &mut Vec<String>) -> Result<()> {
        for entry in std::fs::read_dir(dir.join(relative))? {
            let entry = entry?;
            let path = relative.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                walk(dir, &path, out)?;
            } else {
                let parts: Vec<String> =
                    path.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, &PathBuf::new(), &mut files)?;
    files.sort();
    Ok(files)
}

fn child(prefix: &ObjectPath, relative: &str) -> ObjectPath {
    relative.split('/').fold(prefix.clone(), |path, part| path.join(part))
}

async fn upload(store: &dyn ObjectStore, source: &Path, target: &ObjectPath) -> object_store::Result<()> {
    let io = |e: std::io::Error| object_store::Error::Generic { store: "local", source: Box::new(e) };
    let mut file = tokio::fs::File::open(source).await.map_err(io)?;
    let size = file.metadata().await.map_err(io)?.len();
    if size <= PART_BYTES as u64 {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).await.map_err(io)?;
        store.put(target, PutPayload::from(bytes)).await?;
        return Ok(());
    }
    let mut upload = WriteMultipart::new_with_chunk_size(store.put_multipart(target).await?, PART_BYTES);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).await.map_err(io)?;
        if read == 0 {
            break;
        }
        upload.wait_for_capacity(2).await?;
        upload.write(&buffer[..read]);
    }
    upload.finish().await?;
    Ok(())
}

async fn delete_all(store: &dyn ObjectStore, paths: Vec<ObjectPath>) -> object_store::Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let locations = futures::stream::iter(paths.into_iter().map(Ok)).boxed();
    store.delete_stream(locations).try_collect::<Vec<_>>().await?;
    Ok(())
}

/// `_SUCCESS`: the lake's objects and their sizes, as JSON.
fn manifest(dir: &Path, files: &[String]) -> Result<Vec<u8>> {
    let objects = files
        .iter()
        .map(|relative| {
            let size = std::fs::metadata(dir.join(relative))?.len();
            Ok(serde_json::json!({ "path": relative, "bytes": size }))
        })
        .collect::<Result<Vec<_>>>()?;
    serde_json::to_vec_pretty(&serde_json::json!({ "writer": "persona generate", "objects": objects }))
        .map_err(|e| plan_datafusion_err!("generate: cannot write _SUCCESS: {e}"))
}
