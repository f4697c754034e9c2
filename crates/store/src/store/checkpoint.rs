//! `Store::checkpoint`: a consistent copy of the live segments while writes go on.

use std::fs::{self, File};
use std::path::Path;

use crate::bucket::parse_partition;
use crate::error::{IoContext, Result};
use crate::manifest::sync_dir;
use crate::segment::{FileKind, SegmentFile};
use crate::{Checkpoint, StoreError};

use super::Store;

impl Store {
    /// Writes a consistent copy of the store into `dest` (a directory that must not exist yet)
    /// while writes go on: the memtable is flushed first, so every write acknowledged before
    /// the call is in a segment; then, with flushes and compactions held back, the live
    /// segment files are hard-linked into `dest` (copied where `dest` is on another file
    /// system; segment files are immutable, so a link is a copy) next to a manifest naming
    /// exactly them. The copy needs no WAL and opens as a store of its own.
    pub fn checkpoint(&self, dest: &Path) -> Result<Checkpoint, StoreError> {
        if dest.exists() {
            return Err(StoreError::io(
                dest,
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "the checkpoint directory exists already",
                ),
            ));
        }
        let _g = self.core.maint.lock();
        self.core.flush_locked()?;
        let manifest = self.core.manifest.lock().clone();
        let segments = dest.join("segments");
        let wal_dir = dest.join("wal");
        fs::create_dir_all(&segments).at(&segments)?;
        fs::create_dir_all(&wal_dir).at(&wal_dir)?;
        let mut done = Checkpoint::default();
        let mut dirs = std::collections::BTreeSet::new();
        for e in &manifest.files {
            let p = parse_partition(&e.partition).ok_or_else(|| {
                StoreError::corrupt(&self.core.cfg.dir, format!("bad partition {}", e.partition))
            })?;
            let seg = SegmentFile::new(e.id, p, e.kind, e.rows, e.bytes, &self.core.segments);
            let part_dir = segments.join(&e.partition);
            if dirs.insert(part_dir.clone()) {
                fs::create_dir_all(&part_dir).at(&part_dir)?;
            }
            for path in seg.paths() {
                let to = part_dir.join(path.file_name().unwrap_or_default());
                done.bytes += link_or_copy(&path, &to)?;
                done.files += 1;
            }
            done.points += if e.kind == FileKind::Raw { e.rows } else { 0 };
        }
        for d in &dirs {
            sync_dir(d)?;
        }
        sync_dir(&segments)?;
        sync_dir(&wal_dir)?;
        // No WAL file is needed: every acknowledged point is in the segments above.
        manifest.save(dest)?;
        Ok(done)
    }
}

/// Hard-links `from` to `to`, or copies it where links are not possible; returns its size.
fn link_or_copy(from: &Path, to: &Path) -> Result<u64> {
    let len = fs::metadata(from).at(from)?.len();
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to).at(to)?;
        File::open(to).and_then(|f| f.sync_all()).at(to)?;
    }
    Ok(len)
}
