//! Moving objects in and out of a shared store, with their checksums, and the manifests.

use std::collections::HashMap;
use std::path::Path as FsPath;

use futures_util::StreamExt;
use object_store::buffered::BufWriter;
use object_store::{ObjectStore, PutPayload};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::layout::{self, Manifest};
use crate::{Location, RegionError};

/// Lower-case hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Size and SHA-256 of a local file.
pub(crate) async fn hash_file(path: &FsPath) -> Result<(u64, String), RegionError> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| RegionError::io(path.display(), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .await
            .map_err(|e| RegionError::io(path.display(), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex(&hasher.finalize())))
}

/// Uploads a local file to `relative` (multipart when it is large; the object appears whole
/// or not at all).
pub(crate) async fn upload_file(
    to: &Location,
    relative: &str,
    path: &FsPath,
) -> Result<(), RegionError> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| RegionError::io(path.display(), e))?;
    let mut writer = BufWriter::new(to.store.clone(), to.path(relative));
    let copied = tokio::io::copy(&mut file, &mut writer).await;
    match copied {
        Ok(_) => writer
            .shutdown()
            .await
            .map_err(|e| RegionError::io(format!("{}/{relative}", to.name), e)),
        Err(e) => {
            let _ = writer.abort().await;
            Err(RegionError::io(path.display(), e))
        }
    }
}

/// Copies object `relative` from one store to another, checking its size and SHA-256 against
/// what the manifest says; a mismatch leaves nothing at the destination.
pub(crate) async fn copy_checked(
    from: &Location,
    to: &Location,
    relative: &str,
    bytes: u64,
    sha256: &str,
) -> Result<(), RegionError> {
    let mut stream = from.store.get(&from.path(relative)).await?.into_stream();
    let mut writer = BufWriter::new(to.store.clone(), to.path(relative));
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let fail = |message: String| RegionError::invalid(format!("{}/{relative}", from.name), message);
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                let _ = writer.abort().await;
                return Err(e.into());
            }
        };
        hasher.update(&chunk);
        total += chunk.len() as u64;
        if let Err(e) = writer.write_all(&chunk).await {
            let _ = writer.abort().await;
            return Err(RegionError::io(format!("{}/{relative}", to.name), e));
        }
    }
    let got = hex(&hasher.finalize());
    if total != bytes || got != sha256 {
        let _ = writer.abort().await;
        return Err(fail(format!(
            "{total} bytes with SHA-256 {got}; the manifest says {bytes} bytes, {sha256}"
        )));
    }
    writer
        .shutdown()
        .await
        .map_err(|e| RegionError::io(format!("{}/{relative}", to.name), e))
}

/// Writes `bytes` to `relative` in one request.
pub(crate) async fn put_bytes(
    to: &Location,
    relative: &str,
    bytes: Vec<u8>,
) -> Result<(), RegionError> {
    to.store
        .put(&to.path(relative), PutPayload::from(bytes))
        .await?;
    Ok(())
}

/// Reads a whole object, or `None` if there is none.
pub(crate) async fn get_bytes(
    from: &Location,
    relative: &str,
) -> Result<Option<Vec<u8>>, RegionError> {
    match from.store.get(&from.path(relative)).await {
        Ok(r) => Ok(Some(r.bytes().await?.to_vec())),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Objects under `prefix` (relative paths, a plain string prefix) and their sizes.
pub(crate) async fn list_sizes(
    at: &Location,
    prefix: &str,
) -> Result<HashMap<String, u64>, RegionError> {
    // List the node's folder and filter by the string prefix: object_store lists by whole
    // path segments, and `kind=` is only the start of one.
    let folder = prefix.rsplit_once('/').map_or("", |(folder, _)| folder);
    let mut out = HashMap::new();
    let mut listing = at.store.list(Some(&at.path(folder)));
    while let Some(meta) = listing.next().await {
        let meta = meta?;
        let relative = at.relative(&meta.location);
        if relative.starts_with(prefix) {
            out.insert(relative, meta.size);
        }
    }
    Ok(out)
}

/// Deletes an object (absent is fine).
pub(crate) async fn delete(at: &Location, relative: &str) -> Result<(), RegionError> {
    match at.store.delete(&at.path(relative)).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The node's current manifest, or `None` if it never published.
pub(crate) async fn read_current(
    at: &Location,
    node: &str,
) -> Result<Option<Manifest>, RegionError> {
    let relative = layout::current_path(node);
    let Some(bytes) = get_bytes(at, &relative).await? else {
        return Ok(None);
    };
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| RegionError::invalid(format!("{}/{relative}", at.name), e.to_string()))?;
    if manifest.format != layout::FORMAT || manifest.node != node {
        return Err(RegionError::invalid(
            format!("{}/{relative}", at.name),
            format!(
                "format '{}' of node '{}'; expected {} of node '{node}'",
                manifest.format,
                manifest.node,
                layout::FORMAT
            ),
        ));
    }
    Ok(Some(manifest))
}

/// Writes a manifest as `<seq>.json`, then as `current.json` (the switch readers see).
pub(crate) async fn write_manifest(at: &Location, manifest: &Manifest) -> Result<(), RegionError> {
    let bytes = serde_json::to_vec_pretty(manifest)
        .map_err(|e| RegionError::invalid(&manifest.node, e.to_string()))?;
    put_bytes(
        at,
        &layout::manifest_path(&manifest.node, manifest.seq),
        bytes.clone(),
    )
    .await?;
    put_bytes(at, &layout::current_path(&manifest.node), bytes).await
}

/// Deletes the node's data files that `manifest` does not list (replaced by compaction, or left
/// by an interrupted publication). Returns how many.
pub(crate) async fn prune(at: &Location, manifest: &Manifest) -> Result<usize, RegionError> {
    let live: std::collections::HashSet<&str> =
        manifest.files.iter().map(|f| f.path.as_str()).collect();
    let present = list_sizes(at, &layout::data_prefix(&manifest.node)).await?;
    let mut deleted = 0;
    for relative in present.keys() {
        if !live.contains(relative.as_str()) {
            delete(at, relative).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}
