//! The persisted meter registry: the organisation tree, the stable series index of every meter
//! and the declared meter replacements.
//!
//! It lives in `registry.json` in the data directory and is replaced atomically (write a
//! temporary file, fsync, rename, fsync the directory) on every change.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use shulv_model::{MeterSpec, RegistryFile, Replacement, Tree};

use crate::PlatformError;

/// What is written to `registry.json`.
#[derive(Serialize, Deserialize, Default)]
struct RegistryDocument {
    #[serde(default)]
    nodes: Vec<shulv_model::NodeSpec>,
    #[serde(default)]
    meters: Vec<MeterSpec>,
    /// Meter id → stable index; series `2*i` and `2*i+1` belong to index `i`.
    #[serde(default)]
    meter_index: HashMap<String, u32>,
    #[serde(default)]
    replacements: HashMap<String, Vec<ReplacementRecord>>,
}

/// A declared meter replacement, as persisted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct ReplacementRecord {
    /// Instant of the swap (ms UTC).
    pub at: i64,
    /// Final register value of the old meter.
    pub old_final: f64,
    /// Initial register value of the new meter.
    pub new_initial: f64,
}

impl From<ReplacementRecord> for Replacement {
    fn from(r: ReplacementRecord) -> Self {
        Replacement {
            at: r.at,
            old_final: r.old_final,
            new_initial: r.new_initial,
        }
    }
}

/// What the ingest path needs of a meter, found with one hash lookup per reading.
#[derive(Clone, Copy, Debug)]
pub struct IngestTarget {
    /// Position of the meter in [`Tree::meters`].
    position: usize,
    /// Its series.
    pub series: MeterSeries,
    /// Time zone of its node (for local timestamps).
    pub tz: Tz,
}

/// Meter id → [`IngestTarget`], rebuilt on every registry change.
type IngestIndex = HashMap<String, IngestTarget, ahash::RandomState>;

fn ingest_index(tree: &Tree, meter_index: &HashMap<String, u32>) -> IngestIndex {
    tree.meters()
        .iter()
        .enumerate()
        .filter_map(|(position, m)| {
            let i = *meter_index.get(&m.id)?;
            let target = IngestTarget {
                position,
                series: MeterSeries::of_index(i),
                tz: tree.timezone_of_node(&m.node),
            };
            Some((m.id.clone(), target))
        })
        .collect()
}

/// The registry in memory: the validated tree plus the series index.
pub struct Registry {
    path: PathBuf,
    tree: Tree,
    ingest: IngestIndex,
    meter_index: HashMap<String, u32>,
    index_meter: HashMap<u32, String>,
    replacements: HashMap<String, Vec<ReplacementRecord>>,
}

fn reverse(index: &HashMap<String, u32>) -> HashMap<u32, String> {
    index.iter().map(|(k, &v)| (v, k.clone())).collect()
}

/// Series ids owned by a meter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeterSeries {
    /// The quantity series (interval energy or amount), summed and rolled up.
    pub quantity: u32,
    /// The raw reading series (register values or power samples).
    pub raw: u32,
}

impl MeterSeries {
    /// Series of the meter with registry index `index`.
    pub fn of_index(index: u32) -> Self {
        MeterSeries {
            quantity: index * 2,
            raw: index * 2 + 1,
        }
    }
}

impl Registry {
    /// Loads `registry.json` from `dir`, or starts an empty registry.
    pub fn open(dir: &Path) -> Result<Self, PlatformError> {
        let path = dir.join("registry.json");
        let doc: RegistryDocument = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| PlatformError::Corrupt(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RegistryDocument::default(),
            Err(e) => return Err(PlatformError::Io(format!("{}: {e}", path.display()))),
        };
        let tree = Tree::new(RegistryFile {
            nodes: doc.nodes,
            meters: doc.meters,
        })
        .map_err(|e| PlatformError::Corrupt(format!("{}: {e}", path.display())))?;
        Ok(Registry {
            path,
            ingest: ingest_index(&tree, &doc.meter_index),
            tree,
            index_meter: reverse(&doc.meter_index),
            meter_index: doc.meter_index,
            replacements: doc.replacements,
        })
    }

    /// Copies `registry.json` into `dir` (for a snapshot; nothing if none was written yet).
    pub fn copy_to(&self, dir: &Path) -> Result<(), PlatformError> {
        if !self.path.exists() {
            return Ok(());
        }
        let bytes = fs::read(&self.path)
            .map_err(|e| PlatformError::Io(format!("{}: {e}", self.path.display())))?;
        fs::create_dir_all(dir)
            .map_err(|e| PlatformError::Io(format!("{}: {e}", dir.display())))?;
        write_atomically(&dir.join("registry.json"), &bytes)
    }

    /// The validated organisation tree.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The meter, its series and its time zone, in one lookup (the ingest hot path).
    pub fn ingest_target(&self, meter_id: &str) -> Option<(&MeterSpec, IngestTarget)> {
        let target = self.ingest.get(meter_id)?;
        Some((&self.tree.meters()[target.position], *target))
    }

    /// Series of a meter, if it is registered.
    pub fn series_of(&self, meter_id: &str) -> Option<MeterSeries> {
        self.meter_index
            .get(meter_id)
            .map(|&i| MeterSeries::of_index(i))
    }

    /// Meter id of a registry index.
    pub fn meter_id_of_index(&self, index: u32) -> Option<&str> {
        self.index_meter.get(&index).map(String::as_str)
    }

    /// Declared replacements of a meter, oldest first.
    pub fn replacements(&self, meter_id: &str) -> Vec<Replacement> {
        self.replacements
            .get(meter_id)
            .map(|v| v.iter().map(|&r| r.into()).collect())
            .unwrap_or_default()
    }

    /// Merges `file` into the tree, assigns series to new meters and persists the result.
    /// Returns the meters that are new (their series must be registered with the store).
    pub fn apply(&mut self, file: RegistryFile) -> Result<Vec<String>, PlatformError> {
        let mut tree = self.tree.clone();
        tree.merge(file)
            .map_err(|e| PlatformError::Invalid(e.to_string()))?;
        let mut meter_index = self.meter_index.clone();
        let mut next = meter_index.values().max().map_or(0, |m| m + 1);
        let mut added = Vec::new();
        for meter in tree.to_file().meters {
            if !meter_index.contains_key(&meter.id) {
                meter_index.insert(meter.id.clone(), next);
                next += 1;
                added.push(meter.id);
            }
        }
        self.persist(&tree, &meter_index, &self.replacements)?;
        self.ingest = ingest_index(&tree, &meter_index);
        self.tree = tree;
        self.index_meter = reverse(&meter_index);
        self.meter_index = meter_index;
        Ok(added)
    }

    /// Declares a meter replacement and persists it.
    pub fn add_replacement(
        &mut self,
        meter_id: &str,
        record: ReplacementRecord,
    ) -> Result<(), PlatformError> {
        if self.tree.meter(meter_id).is_none() {
            return Err(PlatformError::NotFound(format!("meter {meter_id}")));
        }
        let mut replacements = self.replacements.clone();
        let list = replacements.entry(meter_id.to_string()).or_default();
        list.push(record);
        list.sort_by_key(|r| r.at);
        self.persist(&self.tree, &self.meter_index, &replacements)?;
        self.replacements = replacements;
        Ok(())
    }

    fn persist(
        &self,
        tree: &Tree,
        meter_index: &HashMap<String, u32>,
        replacements: &HashMap<String, Vec<ReplacementRecord>>,
    ) -> Result<(), PlatformError> {
        let file = tree.to_file();
        let doc = RegistryDocument {
            nodes: file.nodes,
            meters: file.meters,
            meter_index: meter_index.clone(),
            replacements: replacements.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&doc)
            .map_err(|e| PlatformError::Io(format!("encoding the registry: {e}")))?;
        write_atomically(&self.path, &bytes)
    }
}

/// The files of `dir`, sorted by path; none when the folder does not exist.
pub(crate) fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    files
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PlatformError> {
    let io = |e: std::io::Error| PlatformError::Io(format!("{}: {e}", path.display()));
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}
