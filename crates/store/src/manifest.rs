//! The manifest: the one file that says which segment files are live, which WAL files are
//! still needed and which series exist. Replaced atomically (tmp, fsync, rename, fsync dir).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result};
use crate::segment::FileKind;
use crate::StoreError;

pub(crate) const MANIFEST: &str = "MANIFEST.json";

/// One live segment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct FileEntry {
    pub id: u64,
    /// `YYYY-MM`
    pub partition: String,
    pub kind: FileKind,
    pub rows: u64,
    /// Bytes of all files of the segment (raw + partials).
    pub bytes: u64,
}

/// Persisted state of the store.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Manifest {
    pub version: u32,
    pub next_file_id: u64,
    /// Lowest WAL sequence number not yet covered by segments.
    pub wal_start: u64,
    /// Registered series and their IANA time zone.
    pub series: BTreeMap<u32, String>,
    pub files: Vec<FileEntry>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            version: 1,
            next_file_id: 1,
            wal_start: 1,
            series: BTreeMap::new(),
            files: Vec::new(),
        }
    }
}

/// fsync a directory so renames and new entries in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

impl Manifest {
    /// Load from `dir`, or `None` if there is none yet.
    pub fn load(dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::corrupt(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    /// Atomically replace the manifest in `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let tmp = dir.join(format!("{MANIFEST}.tmp"));
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| StoreError::corrupt(&tmp, e))?;
        let mut f = File::create(&tmp).at(&tmp)?;
        f.write_all(&bytes).at(&tmp)?;
        f.sync_all().at(&tmp)?;
        let path = dir.join(MANIFEST);
        fs::rename(&tmp, &path).at(&path)?;
        sync_dir(dir)
    }
}
