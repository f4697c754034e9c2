//! Opening a store: the directory lock, the live segments of the manifest, orphan files,
//! WAL replay and the writer and background threads.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, OpenOptions};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use parking_lot::{Mutex, RwLock};

use crate::bucket::{parse_partition, Partition};
use crate::compaction::ranges_of;
use crate::error::{IoContext, Result};
use crate::manifest::Manifest;
use crate::rollup::read_partials;
use crate::segment::{FileKind, SegmentFile};
use crate::wal::{self, WalWriter};
use crate::{Level, StoreConfig, StoreError};

use super::{month_of, Core, Counters, PartState, Shared, Sink, State, Store};

fn parse_tz(name: &str, path: &Path) -> Result<Tz> {
    name.parse::<Tz>()
        .map_err(|e| StoreError::corrupt(path, format!("bad time zone {name}: {e}")))
}

impl Store {
    /// Open (or create) the store in `config.dir`: lock the directory, delete orphan files,
    /// replay the WAL, start the WAL writer and the background flusher/compactor.
    pub fn open(config: StoreConfig) -> Result<Store, StoreError> {
        let dir = config.dir.clone();
        let segments = dir.join("segments");
        let wal_dir = dir.join("wal");
        for d in [&dir, &segments, &wal_dir] {
            fs::create_dir_all(d).at(d)?;
        }
        let lock_path = dir.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .at(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StoreError::Locked(dir)),
            Err(fs::TryLockError::Error(e)) => return Err(StoreError::io(&lock_path, e)),
        }
        let manifest = match Manifest::load(&dir)? {
            Some(m) => m,
            None => {
                let m = Manifest::default();
                m.save(&dir)?;
                m
            }
        };
        let mpath = dir.join(crate::manifest::MANIFEST);
        let mut st = State::default();
        for (s, name) in &manifest.series {
            st.tzs.insert(*s, parse_tz(name, &mpath)?);
        }
        // Live segments.
        let mut by_part: BTreeMap<Partition, Vec<Arc<SegmentFile>>> = BTreeMap::new();
        for e in &manifest.files {
            let p = parse_partition(&e.partition).ok_or_else(|| {
                StoreError::corrupt(&mpath, format!("bad partition {}", e.partition))
            })?;
            let mut seg = SegmentFile::new(e.id, p, e.kind, e.rows, e.bytes, &segments);
            for path in seg.paths() {
                if !path.is_file() {
                    return Err(StoreError::corrupt(
                        &path,
                        "segment listed in the manifest is missing",
                    ));
                }
            }
            if e.kind == FileKind::Raw {
                let month =
                    read_partials(&seg.partial_path(Level::Month), None, i64::MIN, i64::MAX)?;
                seg.ranges = ranges_of(&month);
            }
            by_part.entry(p).or_default().push(Arc::new(seg));
        }
        let mut parts = BTreeMap::new();
        for (p, files) in by_part {
            for f in &files {
                for &(s, lo, hi) in &f.ranges {
                    let h = st.hull.entry(s).or_insert((lo, hi));
                    *h = (h.0.min(lo), h.1.max(hi));
                }
            }
            let month = month_of(&files, &HashMap::new())?;
            parts.insert(p, Arc::new(PartState { files, month }));
        }
        st.parts = Arc::new(parts);
        delete_orphans(&segments, &manifest)?;
        // WAL replay.
        let mut last_seq = manifest.wal_start.saturating_sub(1);
        let mut wal_bytes = 0;
        for seq in wal::list(&wal_dir)? {
            let path = wal::wal_path(&wal_dir, seq);
            if seq < manifest.wal_start {
                fs::remove_file(&path).at(&path)?;
                continue;
            }
            let (points, len) = wal::replay(&path)?;
            wal_bytes += len;
            for p in &points {
                st.insert(p);
            }
            last_seq = last_seq.max(seq);
        }
        let shared = Arc::new(Shared {
            state: RwLock::new(st),
            counters: Counters::default(),
        });
        shared
            .counters
            .wal_bytes
            .store(wal_bytes, Ordering::Relaxed);
        let writer = WalWriter::create(wal_dir.clone(), last_seq + 1, Sink(shared.clone()))?;
        let (tx, rx) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("shulv-wal".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::io(&wal_dir, e))?;
        let core = Arc::new(Core {
            next_id: AtomicU64::new(manifest.next_file_id),
            cfg: config,
            segments,
            wal_dir,
            shared,
            tx: Mutex::new(tx),
            maint: Mutex::new(()),
            manifest: Mutex::new(manifest),
        });
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let bg_core = core.clone();
        let bg = std::thread::Builder::new()
            .name("shulv-flush".into())
            .spawn(move || {
                let tick = (bg_core.cfg.flush_interval / 4)
                    .clamp(Duration::from_millis(10), Duration::from_millis(250));
                // After a failure (a full disk), retries back off to at most every 2 s.
                let (mut pause, mut next) = (tick, std::time::Instant::now());
                while let Err(mpsc::RecvTimeoutError::Timeout) = stop_rx.recv_timeout(tick) {
                    if std::time::Instant::now() < next {
                        continue;
                    }
                    match bg_core.background() {
                        Ok(()) => pause = tick,
                        Err(e) => {
                            tracing::warn!("background flush/compaction failed: {e}");
                            pause = (pause * 2).min(Duration::from_secs(2));
                        }
                    }
                    next = std::time::Instant::now() + pause;
                }
            })
            .map_err(|e| StoreError::io(&dir, e))?;
        Ok(Store {
            core,
            bg: Some((stop_tx, bg)),
            writer: Some(writer),
            _lock: lock,
        })
    }
}

/// Delete files under `segments/` that the manifest does not list (crash leftovers).
fn delete_orphans(segments: &Path, m: &Manifest) -> Result<()> {
    let live: std::collections::HashSet<u64> = m.files.iter().map(|e| e.id).collect();
    for part in fs::read_dir(segments).at(segments)? {
        let part = part.at(segments)?.path();
        if !part.is_dir() {
            continue;
        }
        let mut left = 0;
        for e in fs::read_dir(&part).at(&part)? {
            let path = e.at(&part)?.path();
            let id = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('.').next())
                .and_then(|n| n.parse::<u64>().ok());
            if id.is_some_and(|id| live.contains(&id)) {
                left += 1;
            } else {
                tracing::info!("deleting orphan {}", path.display());
                fs::remove_file(&path).at(&path)?;
            }
        }
        if left == 0 {
            fs::remove_dir(&part).at(&part)?;
        }
    }
    Ok(())
}
