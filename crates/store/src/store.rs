//! The `Store`: its shared state, and registering series, writing, flushing, compacting,
//! stats and closing. Opening, queries, checkpoints, verification and the flush and
//! compaction work are in the submodules.

mod checkpoint;
mod maintenance;
mod open;
mod query;
mod verify;

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use chrono_tz::Tz;
use parking_lot::{Mutex, RwLock};

use crate::bucket::{valid_ts, Partition};
use crate::error::Result;
use crate::manifest::Manifest;
use crate::memtable::Memtable;
use crate::rollup::{merge_partials, read_partials, Partial};
use crate::segment::{FileKind, SegmentFile};
use crate::wal::{self, WalMsg, WalSink};
use crate::{Level, Point, SeriesId, SeriesMap, StoreConfig, StoreError, StoreStats, TzMap};

/// Live files of one partition and their combined month partials.
#[derive(Default)]
struct PartState {
    files: Vec<Arc<SegmentFile>>,
    /// Month partials of all files, combined, sorted by (series, start).
    month: Vec<Partial>,
}

type Parts = Arc<BTreeMap<Partition, Arc<PartState>>>;

#[derive(Default)]
struct State {
    tzs: TzMap,
    active: Memtable,
    frozen: Option<Arc<Memtable>>,
    parts: Parts,
    /// Per series, hull of persisted raw timestamps (conservative).
    hull: SeriesMap<(i64, i64)>,
}

impl State {
    fn overlap(&self) -> bool {
        self.active.overlap || self.frozen.as_ref().is_some_and(|f| f.overlap)
    }

    /// Puts `p` in the active memtable, marking it as overlapping when `p` falls inside the
    /// persisted range of its series (a rewrite the next flush must merge).
    fn insert(&mut self, p: &Point) {
        if self
            .hull
            .get(&p.series)
            .is_some_and(|&(lo, hi)| lo <= p.ts && p.ts <= hi)
        {
            self.active.overlap = true;
        }
        self.active.insert(p.series, p.ts, p.value);
    }
}

#[derive(Default)]
struct Counters {
    written: AtomicU64,
    syncs: AtomicU64,
    wal_bytes: AtomicU64,
    flushes: AtomicU64,
    compactions: AtomicU64,
}

struct Shared {
    state: RwLock<State>,
    counters: Counters,
}

struct Sink(Arc<Shared>);

impl WalSink for Sink {
    fn apply(&self, writes: &[Vec<Point>]) {
        let mut st = self.0.state.write();
        let st = &mut *st;
        let mut n = 0;
        for p in writes.iter().flatten() {
            st.insert(p);
            n += 1;
        }
        self.0.counters.written.fetch_add(n, Ordering::Relaxed);
    }

    fn freeze(&self) {
        let mut st = self.0.state.write();
        let active = std::mem::take(&mut st.active);
        let mut f = st
            .frozen
            .take()
            .map(Arc::unwrap_or_clone)
            .unwrap_or_default();
        f.absorb(active);
        st.frozen = Some(Arc::new(f));
    }

    fn synced(&self, bytes: u64) {
        self.0.counters.syncs.fetch_add(1, Ordering::Relaxed);
        self.0
            .counters
            .wal_bytes
            .fetch_add(bytes, Ordering::Relaxed);
    }
}

struct Core {
    cfg: StoreConfig,
    segments: PathBuf,
    wal_dir: PathBuf,
    shared: Arc<Shared>,
    tx: Mutex<Sender<WalMsg>>,
    /// Serializes flush and compaction.
    maint: Mutex<()>,
    manifest: Mutex<Manifest>,
    next_id: AtomicU64,
}

/// The store. Thread-safe; all methods block.
pub struct Store {
    core: Arc<Core>,
    bg: Option<(Sender<()>, JoinHandle<()>)>,
    writer: Option<JoinHandle<()>>,
    _lock: File,
}

/// Combined month partials of the given segments (new ones carry theirs).
fn month_of(
    files: &[Arc<SegmentFile>],
    fresh: &HashMap<u64, Vec<Partial>>,
) -> Result<Vec<Partial>> {
    let mut all = Vec::new();
    for f in files {
        match fresh.get(&f.id) {
            Some(m) => all.extend_from_slice(m),
            None => all.extend(read_partials(
                &f.partial_path(Level::Month),
                None,
                i64::MIN,
                i64::MAX,
            )?),
        }
    }
    Ok(merge_partials(all))
}

impl Store {
    /// Register `series` with the time zone of its local day/month buckets. Idempotent.
    pub fn register_series(&self, series: SeriesId, tz: Tz) -> Result<(), StoreError> {
        self.register_many(&[(series, tz)])
    }

    /// Register many series at once (one manifest write for all the new ones). Idempotent;
    /// a series registered before with another time zone is refused, and then none is added.
    pub fn register_many(&self, series: &[(SeriesId, Tz)]) -> Result<(), StoreError> {
        let is_new = |tzs: &TzMap| -> Result<Vec<(SeriesId, Tz)>> {
            let mut new = Vec::new();
            for &(s, tz) in series {
                match tzs.get(&s) {
                    Some(existing) => self.same_tz(s, *existing, tz)?,
                    None => new.push((s, tz)),
                }
            }
            Ok(new)
        };
        if is_new(&self.core.shared.state.read().tzs)?.is_empty() {
            return Ok(());
        }
        let mut m = self.core.manifest.lock();
        let new = is_new(&self.core.shared.state.read().tzs)?;
        if new.is_empty() {
            return Ok(());
        }
        let mut next = m.clone();
        for &(s, tz) in &new {
            if let Some(other) = next.series.insert(s, tz.name().to_string()) {
                if other != tz.name() {
                    return Err(StoreError::SeriesConflict {
                        series: s,
                        existing: other,
                        requested: tz.name().into(),
                    });
                }
            }
        }
        next.next_file_id = next
            .next_file_id
            .max(self.core.next_id.load(Ordering::SeqCst));
        next.save(&self.core.cfg.dir)?;
        *m = next;
        self.core.shared.state.write().tzs.extend(new);
        Ok(())
    }

    fn same_tz(&self, series: SeriesId, existing: Tz, tz: Tz) -> Result<()> {
        if existing == tz {
            Ok(())
        } else {
            Err(StoreError::SeriesConflict {
                series,
                existing: existing.name().into(),
                requested: tz.name().into(),
            })
        }
    }

    /// Registered series, ascending.
    pub fn series(&self) -> Vec<SeriesId> {
        let mut v: Vec<SeriesId> = self.core.shared.state.read().tzs.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Durably write points (all or nothing). Returns once the WAL holds them on stable storage.
    pub fn write(&self, points: &[Point]) -> Result<(), StoreError> {
        if points.is_empty() {
            return Ok(());
        }
        {
            let st = self.core.shared.state.read();
            for p in points {
                if !st.tzs.contains_key(&p.series) {
                    return Err(StoreError::UnknownSeries(p.series));
                }
                if !valid_ts(p.ts) {
                    return Err(StoreError::corrupt(
                        PathBuf::from("<input>"),
                        format!("timestamp {} of series {} out of range", p.ts, p.series),
                    ));
                }
            }
        }
        let (reply, rx) = mpsc::sync_channel(1);
        self.core
            .tx
            .lock()
            .send(WalMsg::Write {
                points: points.to_vec(),
                reply,
            })
            .map_err(|_| StoreError::Closed)?;
        rx.recv().map_err(|_| StoreError::Closed)??;
        // Backpressure: do not let the memtable grow far past its bound.
        if self.core.shared.state.read().active.points
            >= self.core.cfg.memtable_max_points.saturating_mul(2)
        {
            self.core.flush_if(|st, max, _| st.active.points >= max)?;
        }
        Ok(())
    }

    /// Move the memtable into segment files now.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.core
            .flush_if(|st, _, _| st.active.points > 0 || st.frozen.is_some())
    }

    /// Compact every partition with more than one segment or a raw file in format 1 (which
    /// is rewritten in format 2), and apply raw retention.
    pub fn compact(&self) -> Result<(), StoreError> {
        let _g = self.core.maint.lock();
        let parts = self.core.shared.state.read().parts.clone();
        let cutoff = self.core.cutoff();
        for (p, ps) in parts.iter() {
            let expired = ps
                .files
                .iter()
                .any(|f| f.min_ts().is_some_and(|m| m < cutoff));
            let mut format_1 = false;
            for f in &ps.files {
                format_1 |= f.is_format_1()?;
            }
            if ps.files.len() > 1 || expired || format_1 {
                self.core.compact_partition(*p, cutoff)?;
            }
        }
        Ok(())
    }

    /// Sizes and counters.
    pub fn stats(&self) -> StoreStats {
        let c = &self.core.shared.counters;
        let st = self.core.shared.state.read();
        let files = st.parts.values().flat_map(|p| p.files.iter());
        let mut s = StoreStats {
            memtable_points: (st.active.points + st.frozen.as_ref().map_or(0, |f| f.points)) as u64,
            points_written_total: c.written.load(Ordering::Relaxed),
            wal_syncs: c.syncs.load(Ordering::Relaxed),
            flushes: c.flushes.load(Ordering::Relaxed),
            compactions: c.compactions.load(Ordering::Relaxed),
            ..StoreStats::default()
        };
        for f in files {
            s.segment_files += 1;
            s.segment_bytes += f.bytes;
            s.points_persisted += f.rows;
            if f.kind == FileKind::Raw {
                s.raw_bytes += fs::metadata(f.raw_path()).map(|m| m.len()).unwrap_or(0);
            }
        }
        drop(st);
        s.wal_bytes = wal::list(&self.core.wal_dir)
            .map(|seqs| {
                seqs.iter()
                    .filter_map(|&q| fs::metadata(wal::wal_path(&self.core.wal_dir, q)).ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        s
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some((stop, h)) = self.bg.take() {
            let _ = stop.send(());
            let _ = h.join();
        }
        let _ = self.core.tx.lock().send(WalMsg::Shutdown);
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
    }
}
