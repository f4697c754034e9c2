//! The writer thread of the audit log: group commits, rotation by size, and recovery from a
//! failed write (a full disk): the entries stay queued and are retried until they are written,
//! and the error clears by itself at the first write that succeeds.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

use super::clients::Clients;
use super::files;
use super::AuditEntry;

/// How often the writer looks for ended client windows when idle.
const TICK: Duration = Duration::from_secs(1);
/// How long the writer waits before it retries a failed write.
const RETRY: Duration = Duration::from_millis(200);

/// Entries waiting for the writer.
#[derive(Default)]
pub(crate) struct Queue {
    pub pending: Vec<u8>,
    pub queued_seq: u64,
    pub durable_seq: u64,
    /// The last write error, until a write succeeds.
    pub error: Option<String>,
    /// Entries refused because too many bytes waited, by action.
    pub dropped: BTreeMap<String, u64>,
    pub shutdown: bool,
}

/// What the log's handle and its writer thread share.
pub(crate) struct Shared {
    pub queue: Mutex<Queue>,
    pub work: Condvar,
    pub done: Condvar,
    pub clients: Clients,
    /// Held by a rotation (write) and by readers while they open the files (read).
    pub rotation: RwLock<()>,
    /// Bytes that may wait for the writer; beyond, entries are refused and counted.
    pub max_pending: usize,
}

impl Shared {
    /// Queues `entry`; returns its sequence number, or says why it is refused (counted then).
    pub fn push(&self, entry: &AuditEntry) -> Result<u64, String> {
        let mut line = serde_json::to_vec(entry).map_err(|e| e.to_string())?;
        line.push(b'\n');
        let mut q = self.queue.lock();
        if q.pending.len() + line.len() > self.max_pending {
            *q.dropped.entry(entry.action.clone()).or_default() += 1;
            let why = match &q.error {
                Some(e) => format!("the audit log cannot be written ({e})"),
                None => "the audit log's writer is behind".to_string(),
            };
            return Err(format!(
                "{why} and {} bytes of entries wait already; this '{}' entry is refused and counted in an audit.dropped entry",
                q.pending.len(),
                entry.action
            ));
        }
        q.pending.extend_from_slice(&line);
        q.queued_seq += 1;
        self.work.notify_one();
        Ok(q.queued_seq)
    }
}

/// Appends to the current file and rotates it by size.
pub(crate) struct Writer {
    dir: PathBuf,
    file: File,
    len: u64,
    /// The file ends with an unterminated line (a crash in the middle of a write).
    torn: bool,
    max_file_bytes: u64,
    max_files: u32,
}

impl Writer {
    /// Opens the current file of `dir` without writing anything (so that it opens on a full
    /// disk); a torn last line is terminated by the first append.
    pub fn open(dir: &Path, max_file_bytes: u64, max_files: u32) -> io::Result<Writer> {
        let mut file = files::open_current(dir)?;
        let len = file.metadata()?.len();
        let mut torn = false;
        if len > 0 {
            file.seek(SeekFrom::Start(len - 1))?;
            let mut last = [0u8; 1];
            file.read_exact(&mut last)?;
            torn = last[0] != b'\n';
        }
        Ok(Writer {
            dir: dir.to_path_buf(),
            file,
            len,
            torn,
            max_file_bytes,
            max_files,
        })
    }

    /// Appends whole lines durably; after a failure the file is cut back to its last good
    /// length, so a retry never leaves half a line.
    fn append(&mut self, bytes: &[u8], rotation: &RwLock<()>) -> Result<(), String> {
        if self.len > 0 && self.len + bytes.len() as u64 > self.max_file_bytes {
            self.rotate(rotation)?;
        }
        let terminated;
        let data = if self.torn {
            terminated = [b"\n", bytes].concat();
            &terminated[..]
        } else {
            bytes
        };
        match self
            .file
            .write_all(data)
            .and_then(|()| self.file.sync_data())
        {
            Ok(()) => {
                self.len += data.len() as u64;
                self.torn = false;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(files::describe(&self.dir.join(files::CURRENT), &e))
            }
        }
    }

    fn rotate(&mut self, rotation: &RwLock<()>) -> Result<(), String> {
        let _readers_wait = rotation.write();
        files::rotate(&self.dir, self.max_files).map_err(|e| files::describe(&self.dir, &e))?;
        self.file = files::open_current(&self.dir)
            .map_err(|e| files::describe(&self.dir.join(files::CURRENT), &e))?;
        self.len = 0;
        self.torn = false;
        Ok(())
    }
}

/// The entry that counts the entries refused while the log could not keep up.
fn dropped_entry(dropped: BTreeMap<String, u64>) -> Vec<u8> {
    let entry = AuditEntry::now("shulv", "audit.dropped", "audit log")
        .outcome("failed")
        .details(serde_json::json!({ "refused_entries": dropped }));
    let mut line = serde_json::to_vec(&entry).unwrap_or_default();
    line.push(b'\n');
    line
}

/// The writer thread: writes what is queued, one fsync per group, until shutdown.
pub(crate) fn run(mut writer: Writer, shared: &Shared) {
    let mut retry_at: Option<Instant> = None;
    loop {
        let shutdown = shared.queue.lock().shutdown;
        for summary in shared.clients.due(Instant::now(), shutdown) {
            if let Err(e) = shared.push(&summary) {
                tracing::error!("audit log: {e}");
            }
        }
        let mut q = shared.queue.lock();
        let idle = q.pending.is_empty() && q.dropped.is_empty();
        if idle && q.shutdown {
            return;
        }
        let wake = match retry_at {
            Some(t) if !q.shutdown => Some(t),
            _ if idle => Some(Instant::now() + TICK),
            _ => None,
        };
        if let Some(t) = wake {
            if Instant::now() < t {
                shared.work.wait_until(&mut q, t);
                continue;
            }
        }
        retry_at = None;
        let mut bytes = std::mem::take(&mut q.pending);
        if !q.dropped.is_empty() {
            bytes.extend(dropped_entry(std::mem::take(&mut q.dropped)));
        }
        let seq = q.queued_seq;
        drop(q);
        let result = writer.append(&bytes, &shared.rotation);
        let mut q = shared.queue.lock();
        match result {
            Ok(()) => {
                q.durable_seq = seq;
                if let Some(e) = q.error.take() {
                    tracing::warn!("audit log: written again after a failure ({e})");
                }
            }
            Err(e) => {
                if q.error.is_none() {
                    tracing::error!(
                        "audit log: {e}; changes are refused until it can be written again"
                    );
                }
                q.error = Some(e);
                bytes.extend_from_slice(&q.pending);
                q.pending = bytes;
                if q.shutdown {
                    tracing::error!(
                        "audit log: {} bytes of entries could not be written before shutdown",
                        q.pending.len()
                    );
                    shared.done.notify_all();
                    return;
                }
                retry_at = Some(Instant::now() + RETRY);
            }
        }
        shared.done.notify_all();
    }
}
