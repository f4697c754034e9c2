//! The latest report of every collector: kept in memory and, one file per collector, in
//! `<data dir>/collectors/<name>.json` (written to a temporary file, fsync'd and renamed, so a
//! crash leaves the old or the new report), read back at start so a restart still shows them.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::report::{check_name, CollectorReport};

/// Most collectors the server keeps.
pub const MAX_COLLECTORS: usize = 64;

/// A report as kept: what the collector sent, when it arrived and under which scope.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Entry {
    /// When the server received it (ms UTC, the server's clock).
    pub received_ms: i64,
    /// Scope of the credential that posted it (`*` or a node id).
    pub scope: String,
    /// The report.
    pub report: CollectorReport,
}

/// Why a report was not kept.
#[derive(Debug)]
pub enum KeepError {
    /// The book is full ([`MAX_COLLECTORS`]).
    Full,
    /// The file could not be written (the report is kept in memory all the same).
    Io(String),
}

/// Latest reports by collector name.
pub struct Book {
    dir: PathBuf,
    entries: Mutex<BTreeMap<String, Entry>>,
    /// Serialises file writes, so an older report never replaces a newer one on disk.
    files: Mutex<()>,
}

impl Book {
    /// Opens the book in `<data_dir>/collectors`. Files that cannot be read are logged and
    /// skipped: a report is replaced by the collector's next one within 30 s.
    pub fn open(data_dir: &Path) -> Book {
        let dir = data_dir.join("collectors");
        let mut entries = BTreeMap::new();
        if let Ok(list) = fs::read_dir(&dir) {
            for file in list.flatten() {
                let path = file.path();
                let Some(name) = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".json"))
                else {
                    continue;
                };
                if check_name(name).is_err() || entries.len() >= MAX_COLLECTORS {
                    continue;
                }
                match fs::read(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|b| serde_json::from_slice::<Entry>(&b).map_err(|e| e.to_string()))
                {
                    Ok(entry) => {
                        entries.insert(name.to_string(), entry);
                    }
                    Err(e) => tracing::warn!("collector status {}: {e}; skipped", path.display()),
                }
            }
        }
        Book {
            dir,
            entries: Mutex::new(entries),
            files: Mutex::new(()),
        }
    }

    /// The entry of `name`.
    pub fn get(&self, name: &str) -> Option<Entry> {
        self.entries.lock().get(name).cloned()
    }

    /// Every entry, by name.
    pub fn all(&self) -> Vec<(String, Entry)> {
        let entries = self.entries.lock();
        entries
            .iter()
            .map(|(n, e)| (n.clone(), e.clone()))
            .collect()
    }

    /// Keeps `entry` as the latest of `name` (checked with [`check_name`]) and writes it to
    /// disk. Blocks on the file write: call it off the async runtime.
    pub fn keep(&self, name: &str, entry: Entry) -> Result<(), KeepError> {
        let _files = self.files.lock();
        let bytes = serde_json::to_vec(&entry).map_err(|e| KeepError::Io(e.to_string()))?;
        {
            let mut entries = self.entries.lock();
            if !entries.contains_key(name) && entries.len() >= MAX_COLLECTORS {
                return Err(KeepError::Full);
            }
            entries.insert(name.to_string(), entry);
        }
        write_atomically(&self.dir, &format!("{name}.json"), &bytes).map_err(KeepError::Io)
    }

    /// Forgets `name`; false if it was not kept.
    pub fn remove(&self, name: &str) -> Result<bool, String> {
        let _files = self.files.lock();
        if self.entries.lock().remove(name).is_none() {
            return Ok(false);
        }
        let path = self.dir.join(format!("{name}.json"));
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}

fn write_atomically(dir: &Path, file: &str, bytes: &[u8]) -> Result<(), String> {
    let path = dir.join(file);
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    fs::create_dir_all(dir).map_err(io)?;
    let tmp = dir.join(format!("{file}.tmp"));
    let mut f = fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, &path).map_err(io)?;
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::report::ReportedQueue;

    fn entry(sent_ms: i64) -> Entry {
        Entry {
            received_ms: sent_ms,
            scope: "*".into(),
            report: CollectorReport {
                started_ms: 0,
                sent_ms,
                devices: vec![],
                gateways: vec![],
                queue: ReportedQueue::default(),
            },
        }
    }

    #[test]
    fn reports_survive_a_restart_and_the_book_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let book = Book::open(dir.path());
        for i in 0..MAX_COLLECTORS {
            book.keep(&format!("c{i}"), entry(i as i64)).unwrap();
        }
        assert!(matches!(
            book.keep("one-more", entry(1)),
            Err(KeepError::Full)
        ));
        book.keep("c3", entry(33)).unwrap();
        assert!(book.remove("c5").unwrap());
        assert!(!book.remove("c5").unwrap());
        let again = Book::open(dir.path());
        assert_eq!(again.all().len(), MAX_COLLECTORS - 1);
        assert_eq!(again.get("c3").unwrap().report.sent_ms, 33);
        assert!(again.get("c5").is_none());
    }
}
