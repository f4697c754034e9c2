//! Publishing a node's store files and registry to a shared store.
//!
//! One publication: the store's checkpoint (hard links to every live segment file, taken while
//! writes go on; every write acknowledged before it is in the files) → upload the files the
//! shared store does not have yet (segment files are immutable and their ids never reused, so a
//! name and size identify the content) → the registry snapshot → the manifest as
//! `<seq>.json`, then `current.json` → delete the node's files no manifest lists any more
//! (segments merged by compaction). A publication interrupted anywhere leaves the previous
//! `current.json` valid, and the next one completes the work. Publishing twice with nothing
//! new changes nothing.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use shulv_platform::Platform;

use crate::layout::{self, FileEntry, Manifest, RegistryEntry};
use crate::transfer::{self, sha256_hex};
use crate::{Location, RegionError};

/// Folder of the data directory where a publication's checkpoint is assembled.
pub const STAGING_DIR: &str = ".publish-tmp";

/// What one [`publish`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishReport {
    /// The node's current publication afterwards.
    pub seq: u64,
    /// False if the current manifest already listed this content (files missing at the
    /// shared store may still have been uploaded again).
    pub changed: bool,
    /// Data files in the publication.
    pub files: usize,
    /// Raw points in them.
    pub points: u64,
    /// Files uploaded now.
    pub uploaded: usize,
    /// Their bytes.
    pub uploaded_bytes: u64,
    /// Files of earlier publications deleted.
    pub deleted: usize,
}

/// A data file of the checkpoint.
struct LocalFile {
    path: PathBuf,
    entry: FileEntry,
}

/// Publishes `platform`'s store and registry as node `node` to `to`. Blocks the calling
/// thread for the checkpoint (milliseconds: hard links); ingest goes on meanwhile.
pub async fn publish(
    platform: &Platform,
    node: &str,
    to: &Location,
) -> Result<PublishReport, RegionError> {
    layout::check_node_name(node).map_err(|m| RegionError::invalid(node, m))?;
    let staging_root = platform.data_dir().join(STAGING_DIR);
    remove_dir(&staging_root)?;
    let staging = staging_root.join("checkpoint");
    let result = publish_from(platform, node, to, &staging).await;
    remove_dir(&staging_root)?;
    result
}

async fn publish_from(
    platform: &Platform,
    node: &str,
    to: &Location,
    staging: &Path,
) -> Result<PublishReport, RegionError> {
    // The store first, then the registry: every series in the files has its meter.
    platform
        .store()
        .checkpoint(staging)
        .map_err(shulv_platform::PlatformError::from)?;
    let (table, document) = platform.with_series(|tree, series_of| {
        let table = crate::registry_table::registry_parquet(tree, series_of);
        let document = serde_json::to_vec_pretty(&tree.to_file());
        (table, document)
    });
    let table = table.map_err(|e| RegionError::invalid("registry snapshot", e.to_string()))?;
    let document =
        document.map_err(|e| RegionError::invalid("registry snapshot", e.to_string()))?;

    let previous = transfer::read_current(to, node).await?;
    let known: HashMap<&str, &FileEntry> = previous
        .iter()
        .flat_map(|m| m.files.iter())
        .map(|f| (f.path.as_str(), f))
        .collect();
    let mut local = Vec::new();
    for (path, kind, month, segment) in checkpoint_files(&staging.join("segments"))? {
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let relative = layout::data_path(node, kind, &month, file_name);
        let bytes = fs::metadata(&path)
            .map_err(|e| RegionError::io(path.display(), e))?
            .len();
        let entry = match known.get(relative.as_str()) {
            Some(f) if f.bytes == bytes => (*f).clone(),
            _ => FileEntry {
                rows: parquet_rows(&path)?,
                sha256: transfer::hash_file(&path).await?.1,
                path: relative,
                kind: kind.to_string(),
                month,
                segment,
                bytes,
            },
        };
        local.push(LocalFile { path, entry });
    }
    local.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));

    let seq = previous.as_ref().map_or(1, |m| m.seq + 1);
    let registry = RegistryEntry {
        path: layout::registry_path(node, seq, false),
        json: layout::registry_path(node, seq, true),
        bytes: table.len() as u64,
        sha256: sha256_hex(&table),
        json_bytes: document.len() as u64,
        json_sha256: sha256_hex(&document),
    };
    let mut manifest = Manifest {
        format: layout::FORMAT.to_string(),
        node: node.to_string(),
        seq,
        published_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        store_format: 2,
        registry,
        files: local.iter().map(|f| f.entry.clone()).collect(),
    };
    // Upload what the shared store lacks (also after an interrupted publication, or files
    // deleted there), then switch the manifest unless the content is what it already lists.
    let present = transfer::list_sizes(to, &layout::data_prefix(node)).await?;
    let (mut uploaded, mut uploaded_bytes) = (0, 0);
    for file in &local {
        if present.get(&file.entry.path) == Some(&file.entry.bytes) {
            continue;
        }
        transfer::upload_file(to, &file.entry.path, &file.path).await?;
        uploaded += 1;
        uploaded_bytes += file.entry.bytes;
    }
    if let Some(prev) = &previous {
        if prev.same_content(&manifest) {
            let deleted = transfer::prune(to, prev).await?;
            return Ok(PublishReport {
                seq: prev.seq,
                changed: false,
                files: prev.files.len(),
                points: prev.points(),
                uploaded,
                uploaded_bytes,
                deleted,
            });
        }
        if prev.registry.sha256 == manifest.registry.sha256
            && prev.registry.json_sha256 == manifest.registry.json_sha256
        {
            manifest.registry = prev.registry.clone();
        }
    }
    if manifest.registry.path == layout::registry_path(node, seq, false) {
        transfer::put_bytes(to, &manifest.registry.path, table).await?;
        transfer::put_bytes(to, &manifest.registry.json, document).await?;
    }
    transfer::write_manifest(to, &manifest).await?;
    let deleted = transfer::prune(to, &manifest).await?;
    Ok(PublishReport {
        seq,
        changed: true,
        files: manifest.files.len(),
        points: manifest.points(),
        uploaded,
        uploaded_bytes,
        deleted,
    })
}

/// The checkpoint's data files: (path, kind, month partition, segment id).
fn checkpoint_files(
    segments: &Path,
) -> Result<Vec<(PathBuf, &'static str, String, u64)>, RegionError> {
    let mut out = Vec::new();
    let read = |dir: &Path| fs::read_dir(dir).map_err(|e| RegionError::io(dir.display(), e));
    for month in read(segments)? {
        let month = month
            .map_err(|e| RegionError::io(segments.display(), e))?
            .path();
        let month_name = month
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        for file in read(&month)? {
            let path = file
                .map_err(|e| RegionError::io(month.display(), e))?
                .path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let Some((segment, kind)) = classify(name) else {
                return Err(RegionError::invalid(
                    path.display(),
                    "not a segment file of the store's layout",
                ));
            };
            out.push((path.clone(), kind, month_name.clone(), segment));
        }
    }
    Ok(out)
}

/// `<id>.parquet` → raw, `<id>.<level>.parquet` → that level.
fn classify(name: &str) -> Option<(u64, &'static str)> {
    let stem = name.strip_suffix(".parquet")?;
    let (id, kind) = match stem.split_once('.') {
        None => (stem, "raw"),
        Some((id, "hour")) => (id, "hour"),
        Some((id, "day")) => (id, "day"),
        Some((id, "month")) => (id, "month"),
        Some(_) => return None,
    };
    Some((id.parse().ok()?, kind))
}

/// Rows of a Parquet file, from its footer.
fn parquet_rows(path: &Path) -> Result<u64, RegionError> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let file = fs::File::open(path).map_err(|e| RegionError::io(path.display(), e))?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| RegionError::invalid(path.display(), e.to_string()))?;
    Ok(reader.metadata().file_metadata().num_rows().max(0) as u64)
}

fn remove_dir(dir: &Path) -> Result<(), RegionError> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(RegionError::io(dir.display(), e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::classify;

    #[test]
    fn segment_file_names_are_classified() {
        assert_eq!(classify("0000000000000042.parquet"), Some((42, "raw")));
        assert_eq!(
            classify("0000000000000042.month.parquet"),
            Some((42, "month"))
        );
        assert_eq!(classify("0000000000000007.hour.parquet"), Some((7, "hour")));
        assert_eq!(classify("MANIFEST.json"), None);
        assert_eq!(classify("x.week.parquet"), None);
    }
}
