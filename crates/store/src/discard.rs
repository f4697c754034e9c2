//! Cleanup after a flush or compaction that failed (a full disk) or was abandoned (its inputs
//! changed while it merged): the files of the segments it built are deleted, so that they do
//! not keep the space a retry needs.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;

use crate::bucket::Partition;
use crate::manifest::Manifest;
use crate::segment::{FileKind, SegmentFile};

/// Deletes the files of segments `ids` (partition, id) unless the manifest in `dir` lists them
/// (a commit that failed after the manifest was replaced). Nothing is deleted when the
/// manifest cannot be read.
pub(crate) fn discard_unlisted(dir: &Path, segments: &Path, ids: &[(Partition, u64)]) {
    let listed: HashSet<u64> = match Manifest::load(dir) {
        Ok(m) => m
            .map(|m| m.files.iter().map(|e| e.id).collect())
            .unwrap_or_default(),
        Err(e) => {
            tracing::warn!("not deleting the files of a failed flush: {e}");
            return;
        }
    };
    for &(p, id) in ids.iter().filter(|(_, id)| !listed.contains(id)) {
        // A raw segment's paths include every path a rollup-only one can have.
        for path in SegmentFile::new(id, p, FileKind::Raw, 0, 0, segments).all_paths() {
            match fs::remove_file(&path) {
                Ok(()) => tracing::info!("deleted {} (not committed)", path.display()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!("cannot delete {}: {e}", path.display()),
            }
        }
    }
}
