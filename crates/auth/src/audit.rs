//! The audit log: one JSON object per line in `<data>/audit/audit.jsonl`, only ever appended,
//! fsynced before a change is acknowledged.
//!
//! A writer thread commits in groups: every entry queued while one fsync runs is written and
//! synced by the next, so concurrent requests share fsyncs. [`AuditLog::record`] returns once its
//! entry is durable; [`AuditLog::record_queued`] returns at once (used for readings batches and
//! refused requests, which should not pay an extra fsync each; they are durable within one
//! commit, a few milliseconds).

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};

/// One audited event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When (ms UTC).
    pub ts_ms: i64,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// Who: `token:<name>`, `user:<name>`, `cli:<os user>`, or the name tried at a failed login.
    pub actor: String,
    /// Token id or user id (empty when unknown).
    #[serde(default)]
    pub actor_id: String,
    /// Client address (from the connection, or `X-Forwarded-For` when configured).
    #[serde(default)]
    pub ip: String,
    /// What: `registry.apply`, `meter.replacement`, `readings.write`, `user.create`,
    /// `user.disable`, `token.create`, `token.revoke`, `login`, `logout`, `access.denied`.
    pub action: String,
    /// On what: a meter, node, user or token id, or a route.
    pub target: String,
    /// `ok`, `failed` or `denied`.
    pub outcome: String,
    /// Details (JSON), e.g. added meters, counts, the reason of a failure.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

impl AuditEntry {
    /// An entry stamped now.
    pub fn now(actor: impl Into<String>, action: &str, target: impl Into<String>) -> Self {
        let now = chrono::Utc::now();
        AuditEntry {
            ts_ms: now.timestamp_millis(),
            time: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            actor: actor.into(),
            actor_id: String::new(),
            ip: String::new(),
            action: action.to_string(),
            target: target.into(),
            outcome: "ok".to_string(),
            details: serde_json::Value::Null,
        }
    }

    /// Sets the actor id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.actor_id = id.into();
        self
    }

    /// Sets the client address.
    pub fn ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = ip.into();
        self
    }

    /// Sets the outcome.
    pub fn outcome(mut self, outcome: &str) -> Self {
        self.outcome = outcome.to_string();
        self
    }

    /// Sets the details.
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Which entries to read.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// From (ms UTC, inclusive).
    pub from_ms: Option<i64>,
    /// To (ms UTC, exclusive).
    pub to_ms: Option<i64>,
    /// Exact actor (`user:alice`), or a name matched against the part after the colon.
    pub actor: Option<String>,
    /// Exact action.
    pub action: Option<String>,
    /// At most this many (the newest are kept).
    pub limit: Option<usize>,
}

impl AuditFilter {
    fn matches(&self, e: &AuditEntry) -> bool {
        self.from_ms.is_none_or(|f| e.ts_ms >= f)
            && self.to_ms.is_none_or(|t| e.ts_ms < t)
            && self.action.as_deref().is_none_or(|a| e.action == a)
            && self.actor.as_deref().is_none_or(|a| {
                e.actor == a || e.actor.split_once(':').is_some_and(|(_, n)| n == a)
            })
    }
}

#[derive(Default)]
struct Queue {
    pending: Vec<u8>,
    queued_seq: u64,
    durable_seq: u64,
    error: Option<String>,
    shutdown: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    work: Condvar,
    done: Condvar,
}

/// The append-only audit log of a data directory.
pub struct AuditLog {
    path: PathBuf,
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

impl AuditLog {
    /// Opens (or creates) `<data>/audit/audit.jsonl` and starts its writer thread. A torn last
    /// line (a crash in the middle of a write) is terminated so that it cannot swallow the next
    /// entry; readers skip it.
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        let dir = data_dir.join("audit");
        fs::create_dir_all(&dir)?;
        let path = dir.join("audit.jsonl");
        let mut options = OpenOptions::new();
        options.create(true).append(true).read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path)?;
        let len = file.metadata()?.len();
        if len > 0 {
            file.seek(SeekFrom::Start(len - 1))?;
            let mut last = [0u8; 1];
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
                file.sync_data()?;
            }
        }
        File::open(&dir)?.sync_all()?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            done: Condvar::new(),
        });
        let thread_shared = shared.clone();
        let writer = std::thread::Builder::new()
            .name("shulv-audit".into())
            .spawn(move || writer_loop(file, &thread_shared))?;
        Ok(AuditLog {
            path,
            shared,
            writer: Some(writer),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies the complete lines of the log into `<dir>/audit/audit.jsonl` (for a backup).
    pub fn copy_to(&self, dir: &Path) -> std::io::Result<()> {
        let mut bytes = fs::read(&self.path)?;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(complete);
        let target = dir.join("audit");
        fs::create_dir_all(&target)?;
        let path = target.join("audit.jsonl");
        let mut f = File::create(&path)?;
        f.write_all(&bytes)?;
        f.sync_all()
    }

    /// False once a write or fsync failed: changes must be refused then (nothing unaudited).
    pub fn healthy(&self) -> bool {
        self.shared.queue.lock().error.is_none()
    }

    fn enqueue(&self, entry: &AuditEntry) -> std::io::Result<u64> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut q = self.shared.queue.lock();
        if let Some(e) = &q.error {
            return Err(std::io::Error::other(format!("audit log: {e}")));
        }
        q.pending.extend_from_slice(&line);
        q.queued_seq += 1;
        let seq = q.queued_seq;
        self.shared.work.notify_one();
        Ok(seq)
    }

    /// Appends `entry` and waits until it is durable (blocking).
    pub fn record(&self, entry: &AuditEntry) -> std::io::Result<()> {
        let seq = self.enqueue(entry)?;
        let mut q = self.shared.queue.lock();
        while q.durable_seq < seq && q.error.is_none() {
            self.shared.done.wait(&mut q);
        }
        match &q.error {
            Some(e) if q.durable_seq < seq => Err(std::io::Error::other(format!("audit log: {e}"))),
            _ => Ok(()),
        }
    }

    /// Appends `entry` without waiting for the fsync.
    pub fn record_queued(&self, entry: &AuditEntry) {
        if let Err(e) = self.enqueue(entry) {
            tracing::error!("audit log: {e}");
        }
    }

    /// Reads the entries that match `filter`, oldest first (lines that do not parse, such as a
    /// torn last line, are skipped).
    pub fn read(&self, filter: &AuditFilter) -> std::io::Result<Vec<AuditEntry>> {
        let file = File::open(&self.path)?;
        let mut out = Vec::new();
        for line in BufReader::new(file).split(b'\n') {
            let line = line?;
            if let Ok(e) = serde_json::from_slice::<AuditEntry>(&line) {
                if filter.matches(&e) {
                    out.push(e);
                }
            }
        }
        if let Some(limit) = filter.limit {
            if out.len() > limit {
                out.drain(..out.len() - limit);
            }
        }
        Ok(out)
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.shared.queue.lock().shutdown = true;
        self.shared.work.notify_one();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

fn writer_loop(mut file: File, shared: &Shared) {
    loop {
        let (bytes, seq) = {
            let mut q = shared.queue.lock();
            while q.pending.is_empty() && !q.shutdown {
                shared.work.wait(&mut q);
            }
            if q.pending.is_empty() {
                return;
            }
            (std::mem::take(&mut q.pending), q.queued_seq)
        };
        let result = file.write_all(&bytes).and_then(|()| file.sync_data());
        let mut q = shared.queue.lock();
        match result {
            Ok(()) => q.durable_seq = seq,
            Err(e) => {
                tracing::error!("audit log write failed: {e}");
                q.error = Some(e.to_string());
            }
        }
        shared.done.notify_all();
        if q.error.is_some() {
            return;
        }
    }
}

/// A CSV cell that a spreadsheet will not run as a formula.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The entries as CSV: `time,ts_ms,actor,actor_id,ip,action,target,outcome,details`.
pub fn csv_export(entries: &[AuditEntry]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "time", "ts_ms", "actor", "actor_id", "ip", "action", "target", "outcome", "details",
    ]);
    for e in entries {
        let details = if e.details.is_null() {
            String::new()
        } else {
            e.details.to_string()
        };
        let _ = w.write_record([
            cell(&e.time),
            e.ts_ms.to_string(),
            cell(&e.actor),
            cell(&e.actor_id),
            cell(&e.ip),
            cell(&e.action),
            cell(&e.target),
            cell(&e.outcome),
            cell(&details),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_read_filter_and_survive_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        {
            let log = AuditLog::open(dir.path()).unwrap();
            log.record(&AuditEntry::now("user:alice", "login", "alice").ip("10.0.0.1"))
                .unwrap();
            log.record(
                &AuditEntry::now("token:ops", "registry.apply", "ent1")
                    .details(serde_json::json!({"added_meters": ["m1"]})),
            )
            .unwrap();
            log.record_queued(&AuditEntry::now("token:dev", "readings.write", "/write"));
        }
        // A crash in the middle of a line.
        let path = dir.path().join("audit/audit.jsonl");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"ts_ms":1,"time":"x","act"#).unwrap();
        drop(f);
        let log = AuditLog::open(dir.path()).unwrap();
        log.record(&AuditEntry::now("user:bob", "logout", "bob").outcome("ok"))
            .unwrap();
        let all = log.read(&AuditFilter::default()).unwrap();
        assert_eq!(all.len(), 4, "{all:?}");
        assert_eq!(all[3].actor, "user:bob");
        let alice = log
            .read(&AuditFilter {
                actor: Some("alice".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(alice.len(), 1);
        assert_eq!(alice[0].ip, "10.0.0.1");
        let none = log
            .read(&AuditFilter {
                from_ms: Some(all[3].ts_ms + 1),
                ..Default::default()
            })
            .unwrap();
        assert!(none.is_empty());
        let last = log
            .read(&AuditFilter {
                limit: Some(1),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(last[0].actor, "user:bob");
        let csv = csv_export(&all);
        assert!(csv.starts_with("time,ts_ms,actor"));
        assert!(csv.contains("registry.apply"));
        assert!(csv.contains("\"{\"\"added_meters\"\":[\"\"m1\"\"]}\""));
        assert_eq!(cell("=cmd()"), "'=cmd()");
    }

    #[test]
    fn concurrent_records_are_all_durable() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(AuditLog::open(dir.path()).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        log.record(&AuditEntry::now(format!("t{t}"), "x", i.to_string()))
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(log.read(&AuditFilter::default()).unwrap().len(), 200);
    }
}
