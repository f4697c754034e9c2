//! The audit log: one JSON object per line in `<data>/audit/audit.jsonl`, only ever appended,
//! fsynced before a change is acknowledged, rotated by size to `audit.jsonl.1` … `.N`.
//!
//! A writer thread commits in groups: every entry queued while one fsync runs is written and
//! synced by the next, so concurrent requests share fsyncs. [`AuditLog::record`] returns once its
//! entry is durable; [`AuditLog::record_queued`] returns at once (used for readings batches and
//! refused requests, which should not pay an extra fsync each; they are durable within one
//! commit, a few milliseconds).
//!
//! What a request without a credential (a login) makes the log write is bounded:
//! [`AuditLog::record_client`] writes the first entries of a client per window in full and counts
//! the rest, and [`AuditLog::record_refused`] writes only the first refusal by a rate limit of a
//! client per window; one `audit.summary` entry per client and window holds the counts. User names are cut by
//! [`bounded_name`].
//!
//! A failed write (a full disk) keeps its entries queued and is retried every 200 ms; until one
//! succeeds, [`AuditLog::healthy`] is false (changes are refused) and [`AuditLog::record`]
//! answers an error at once. Entries beyond [`AuditConfig::max_pending_bytes`] are refused and
//! counted in one `audit.dropped` entry, written with the others once the disk has room.

mod clients;
mod export;
mod files;
mod writer;

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use export::csv_export;

use clients::Clients;
use writer::{Queue, Shared, Writer};

/// Size limits of the audit log and per-client bounds of entries without a credential.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// `audit.jsonl` is rotated before it would grow past this many bytes.
    pub max_file_bytes: u64,
    /// Rotated files kept (`audit.jsonl.1` … `.N`, at least 1); older ones are deleted.
    pub max_files: u32,
    /// Entries of one client without a credential (failed logins) written in full per
    /// window; the rest are counted in one `audit.summary` entry per client and window.
    pub client_entries_per_window: u32,
    /// The window of `client_entries_per_window`.
    pub client_window: Duration,
    /// Bytes of entries that may wait in memory while the log cannot be written.
    pub max_pending_bytes: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            max_file_bytes: 32 * 1024 * 1024,
            max_files: 8,
            client_entries_per_window: 20,
            client_window: Duration::from_secs(60),
            max_pending_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Longest user name an entry of a request without a credential keeps whole.
pub const MAX_NAME_CHARS: usize = 64;

/// `name` as an entry of a request without a credential records it: names of up to
/// [`MAX_NAME_CHARS`] characters whole, longer ones cut there and followed by `…sha256:` and the
/// first 16 hex digits of the whole name's digest (so tries of one long name still match).
pub fn bounded_name(name: &str) -> String {
    match name.char_indices().nth(MAX_NAME_CHARS) {
        None => name.to_string(),
        Some((cut, _)) => {
            let digest = crate::hex(&Sha256::digest(name.as_bytes()));
            format!("{}…sha256:{}", &name[..cut], &digest[..16])
        }
    }
}

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

    /// Records how an operation ended: `details` (an object, or null for none) when it
    /// succeeded; outcome `failed`, with its `error` added to `details`, when it did not.
    pub fn result<T, E: std::fmt::Display>(
        self,
        result: &Result<T, E>,
        details: serde_json::Value,
    ) -> Self {
        match result {
            Ok(_) if details.is_null() => self,
            Ok(_) => self.details(details),
            Err(e) => {
                let mut fields = match details {
                    serde_json::Value::Object(fields) => fields,
                    _ => serde_json::Map::new(),
                };
                fields.insert("error".into(), e.to_string().into());
                self.outcome("failed").details(fields.into())
            }
        }
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

/// The append-only, rotated audit log of a data directory.
pub struct AuditLog {
    dir: PathBuf,
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

impl AuditLog {
    /// Opens (or creates) `<data>/audit/audit.jsonl` and starts its writer thread. Nothing is
    /// written at open, so a log on a full disk opens; a torn last line (a crash in the middle
    /// of a write) is terminated by the next append, and readers skip it.
    pub fn open(data_dir: &Path, config: &AuditConfig) -> std::io::Result<Self> {
        let dir = data_dir.join("audit");
        fs::create_dir_all(&dir)?;
        let writer = Writer::open(&dir, config.max_file_bytes, config.max_files.max(1))?;
        files::sync_dir(&dir)?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            done: Condvar::new(),
            clients: Clients::new(config.client_window, config.client_entries_per_window),
            rotation: RwLock::new(()),
            max_pending: config.max_pending_bytes,
        });
        let thread_shared = shared.clone();
        let writer = std::thread::Builder::new()
            .name("shulv-audit".into())
            .spawn(move || writer::run(writer, &thread_shared))?;
        Ok(AuditLog {
            dir,
            shared,
            writer: Some(writer),
        })
    }

    /// The file being appended.
    pub fn path(&self) -> PathBuf {
        self.dir.join(files::CURRENT)
    }

    /// Copies the complete lines of the log, rotated files included, into `<dir>/audit/` (for
    /// a backup).
    pub fn copy_to(&self, dir: &Path) -> std::io::Result<()> {
        let _no_rotation = self.shared.rotation.read();
        files::copy_all(&self.dir, &dir.join("audit"))
    }

    /// False while the log cannot be written (the last write failed): changes must be refused
    /// then (nothing unaudited). It turns true again by itself at the first write that succeeds.
    pub fn healthy(&self) -> bool {
        self.shared.queue.lock().error.is_none()
    }

    /// Why the log cannot be written now, if it cannot.
    pub fn error(&self) -> Option<String> {
        self.shared.queue.lock().error.clone()
    }

    /// Appends `entry` and waits until it is durable (blocking). While the log cannot be
    /// written, answers an error at once; the entry stays queued and is written as soon as the
    /// disk has room (or, when too much waits already, is refused and counted).
    pub fn record(&self, entry: &AuditEntry) -> std::io::Result<()> {
        let seq = self.shared.push(entry).map_err(std::io::Error::other)?;
        let mut q = self.shared.queue.lock();
        loop {
            if q.durable_seq >= seq {
                return Ok(());
            }
            if let Some(e) = &q.error {
                return Err(std::io::Error::other(format!(
                    "the audit log cannot be written now ({e}); this '{}' entry is kept in memory and written as soon as the disk has room",
                    entry.action
                )));
            }
            self.shared.done.wait(&mut q);
        }
    }

    /// Appends `entry` without waiting for the fsync.
    pub fn record_queued(&self, entry: &AuditEntry) {
        if let Err(e) = self.shared.push(entry) {
            tracing::error!("audit log: {e}");
        }
    }

    /// Appends `entry` of a request without a credential from `client` (its address) without
    /// waiting, if the client has entries left in this window; otherwise counts it in the
    /// client's `audit.summary` entry (as `<action> <outcome>`).
    pub fn record_client(&self, client: &str, entry: &AuditEntry) {
        let what = format!("{} {}", entry.action, entry.outcome);
        if self
            .shared
            .clients
            .admit(client, &what, false, Instant::now())
        {
            self.record_queued(entry);
        }
    }

    /// Like [`AuditLog::record_client`] for a request a rate limit refused: only the client's
    /// first refusal in the window is written in full, the others are counted.
    pub fn record_refused(&self, client: &str, entry: &AuditEntry) {
        let what = format!("{} {}", entry.action, entry.outcome);
        if self
            .shared
            .clients
            .admit(client, &what, true, Instant::now())
        {
            self.record_queued(entry);
        }
    }

    /// Reads the entries that match `filter` from every file of the log, oldest first (lines
    /// that do not parse, such as a torn last line, are skipped).
    pub fn read(&self, filter: &AuditFilter) -> std::io::Result<Vec<AuditEntry>> {
        let opened = {
            let _no_rotation = self.shared.rotation.read();
            let mut opened = Vec::new();
            for path in files::all(&self.dir)? {
                match File::open(&path) {
                    Ok(f) => opened.push(f),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            opened
        };
        let mut out = VecDeque::new();
        for file in opened {
            for line in BufReader::new(file).split(b'\n') {
                let line = line?;
                if let Ok(e) = serde_json::from_slice::<AuditEntry>(&line) {
                    if filter.matches(&e) {
                        out.push_back(e);
                        if filter.limit.is_some_and(|l| out.len() > l) {
                            out.pop_front();
                        }
                    }
                }
            }
        }
        Ok(out.into())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_records_how_an_operation_ended() {
        let entry = || AuditEntry::now("token:t", "tariffs.add", "tariff");
        let ok: Result<u32, String> = Ok(3);
        let done = entry().result(&ok, serde_json::json!({ "rows": 3 }));
        assert_eq!(
            (done.outcome.as_str(), done.details["rows"].as_u64()),
            ("ok", Some(3))
        );
        let quiet = entry().result(&ok, serde_json::Value::Null);
        assert!(quiet.details.is_null());
        let failed: Result<u32, String> = Err("bad line 2".into());
        let entry = entry().result(&failed, serde_json::json!({ "ids": ["a"] }));
        assert_eq!(entry.outcome, "failed");
        assert_eq!(
            entry.details,
            serde_json::json!({ "ids": ["a"], "error": "bad line 2" })
        );
    }

    #[test]
    fn append_read_filter_and_survive_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        {
            let log = AuditLog::open(dir.path(), &AuditConfig::default()).unwrap();
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
        let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
        std::io::Write::write_all(&mut f, br#"{"ts_ms":1,"time":"x","act"#).unwrap();
        drop(f);
        let log = AuditLog::open(dir.path(), &AuditConfig::default()).unwrap();
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
    }

    #[test]
    fn concurrent_records_are_all_durable() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(AuditLog::open(dir.path(), &AuditConfig::default()).unwrap());
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

    #[test]
    fn rotates_by_size_and_reads_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let config = AuditConfig {
            max_file_bytes: 2_000,
            max_files: 3,
            ..Default::default()
        };
        let log = AuditLog::open(dir.path(), &config).unwrap();
        for i in 0..100 {
            log.record(&AuditEntry::now("user:a", "login", i.to_string()))
                .unwrap();
        }
        let audit = dir.path().join("audit");
        assert!(audit.join("audit.jsonl.3").exists());
        assert!(!audit.join("audit.jsonl.4").exists());
        for path in files::all(&audit).unwrap() {
            assert!(fs::metadata(&path).unwrap().len() <= 2_000, "{path:?}");
        }
        let all = log.read(&AuditFilter::default()).unwrap();
        let targets: Vec<i64> = all.iter().map(|e| e.target.parse().unwrap()).collect();
        assert_eq!(targets.last(), Some(&99));
        assert!(targets.windows(2).all(|w| w[1] == w[0] + 1), "{targets:?}");
        assert!(targets.len() < 100, "the oldest files were deleted");
        let last = log
            .read(&AuditFilter {
                limit: Some(5),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(last.len(), 5);
        assert_eq!(last[4].target, "99");
        let backup = tempfile::tempdir().unwrap();
        log.copy_to(backup.path()).unwrap();
        assert!(backup.path().join("audit/audit.jsonl.3").exists());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_refuses_at_once_and_bounds_what_waits() {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit");
        fs::create_dir_all(&audit).unwrap();
        std::os::unix::fs::symlink("/dev/full", audit.join("audit.jsonl")).unwrap();
        let config = AuditConfig {
            max_pending_bytes: 1_000,
            ..Default::default()
        };
        let log = AuditLog::open(dir.path(), &config).unwrap();
        let err = log
            .record(&AuditEntry::now("user:a", "user.create", "b"))
            .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert!(err.to_string().contains("audit.jsonl"), "{err}");
        assert!(!log.healthy());
        assert!(log.error().unwrap().contains("disk full"));
        let err = log
            .record(&AuditEntry::now("user:a", "user.create", "c"))
            .unwrap_err();
        assert!(err.to_string().contains("kept in memory"), "{err}");
        for _ in 0..20 {
            log.record_queued(&AuditEntry::now("user:a", "readings.write", "/write"));
        }
        let err = log
            .record(&AuditEntry::now("user:a", "token.create", "t"))
            .unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        assert!(log.shared.queue.lock().pending.len() <= 1_000);
        assert!(log.shared.queue.lock().dropped["readings.write"] > 0);
    }

    #[test]
    fn long_names_are_cut_and_digested() {
        assert_eq!(bounded_name("alice"), "alice");
        let long = "x".repeat(1 << 20);
        let b = bounded_name(&long);
        assert!(b.starts_with(&"x".repeat(MAX_NAME_CHARS)));
        assert!(b.len() < MAX_NAME_CHARS + 40, "{b}");
        assert_ne!(b, bounded_name(&"x".repeat((1 << 20) + 1)));
        assert_eq!(bounded_name(&"数".repeat(64)), "数".repeat(64));
    }

    #[test]
    fn client_entries_are_bounded_per_window() {
        let dir = tempfile::tempdir().unwrap();
        let config = AuditConfig {
            client_entries_per_window: 3,
            ..Default::default()
        };
        {
            let log = AuditLog::open(dir.path(), &config).unwrap();
            for i in 0..10 {
                let e = AuditEntry::now("user:x", "login", i.to_string()).outcome("failed");
                log.record_client("1.2.3.4", &e);
            }
            for _ in 0..1000 {
                let e = AuditEntry::now("user:x", "login", "x").outcome("denied");
                log.record_refused("1.2.3.4", &e);
            }
        }
        let log = AuditLog::open(dir.path(), &config).unwrap();
        let all = log.read(&AuditFilter::default()).unwrap();
        assert_eq!(all.len(), 5, "{all:?}");
        assert_eq!(all[3].outcome, "denied");
        let summary = &all[4];
        assert_eq!(summary.action, "audit.summary");
        assert_eq!(summary.details["counted"]["login failed"], 7);
        assert_eq!(summary.details["counted"]["login denied"], 999);
    }
}
