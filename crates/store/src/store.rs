//! The `Store`: open/recovery, write path, flush, compaction scheduling and queries.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono_tz::Tz;
use parking_lot::{Mutex, RwLock};

use crate::bucket::{
    parse_partition, partition_name, partition_of, valid_ts, Partition, MAX_BUCKET_MS, MAX_TS,
    MIN_TS,
};
use crate::compaction::{build_raw, build_rollup_only, ranges_of, Built, Run};
use crate::discard::discard_unlisted;
use crate::error::{IoContext, Result};
use crate::manifest::{sync_dir, FileEntry, Manifest};
use crate::memtable::{merged, Memtable};
use crate::rollup::{merge_partials, partial_eq, read_partials, Partial, PartialBuilder};
use crate::scan::Scanner;
use crate::segment::{prune_row_groups, Batch, Effort, FileKind, SegmentFile};
use crate::wal::{self, WalMsg, WalSink, WalWriter};
use crate::{
    Checkpoint, Level, Point, Rollup, SeriesId, SeriesMap, StoreConfig, StoreError, StoreStats,
    TzMap, VerifyReport,
};

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
            if st
                .hull
                .get(&p.series)
                .is_some_and(|&(lo, hi)| lo <= p.ts && p.ts <= hi)
            {
                st.active.overlap = true;
            }
            st.active.insert(p.series, p.ts, p.value);
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

/// How a compaction commits.
#[derive(Clone, Copy)]
enum Commit {
    /// The caller holds the maintenance lock throughout.
    Held,
    /// The merge ran without the lock: take it, and commit only if the inputs are still live.
    IfStillLive,
}

/// A change of one partition: files removed, files added.
struct Change {
    p: Partition,
    removed: Vec<Arc<SegmentFile>>,
    added: Vec<Built>,
}

/// The store. Thread-safe; all methods block.
pub struct Store {
    core: Arc<Core>,
    bg: Option<(Sender<()>, JoinHandle<()>)>,
    writer: Option<JoinHandle<()>>,
    _lock: File,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn parse_tz(name: &str, path: &Path) -> Result<Tz> {
    name.parse::<Tz>()
        .map_err(|e| StoreError::corrupt(path, format!("bad time zone {name}: {e}")))
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

/// `ranges` clipped to the valid timestamps, sorted, with overlapping ones joined.
fn normalise_ranges(ranges: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut v: Vec<(i64, i64)> = ranges
        .iter()
        .map(|&(a, b)| (a.max(MIN_TS), b.min(MAX_TS)))
        .filter(|(a, b)| a < b)
        .collect();
    v.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(l) if a <= l.1 => l.1 = l.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

fn sorted_unique(series: &[SeriesId]) -> Vec<SeriesId> {
    let mut q = series.to_vec();
    q.sort_unstable();
    q.dedup();
    q
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
            for p in points {
                if st
                    .hull
                    .get(&p.series)
                    .is_some_and(|&(lo, hi)| lo <= p.ts && p.ts <= hi)
                {
                    st.active.overlap = true;
                }
                st.active.insert(p.series, p.ts, p.value);
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

    /// Points of `series` in `[from, to)`, sorted by time, last write wins.
    pub fn raw(&self, series: SeriesId, from: i64, to: i64) -> Result<Vec<(i64, f64)>, StoreError> {
        self.core.check_series(&[series])?;
        let (from, to) = (from.max(MIN_TS), to.min(MAX_TS));
        if from >= to {
            return Ok(Vec::new());
        }
        let (parts, mem) = {
            let st = self.core.shared.state.read();
            (
                st.parts.clone(),
                merged(st.frozen.as_deref(), &st.active, series),
            )
        };
        let mut pts = Vec::new();
        for (_, ps) in parts.range(partition_of(from)..=partition_of(to - 1)) {
            for f in &ps.files {
                if f.range(series)
                    .is_some_and(|(lo, hi)| lo < to && hi >= from)
                {
                    pts.extend(f.read_series(series, from, to)?);
                }
            }
        }
        pts.sort_by_key(|p| p.0);
        let mem: Vec<(i64, f64)> = mem
            .into_iter()
            .filter(|p| p.0 >= from && p.0 < to)
            .collect();
        Ok(merge_prefer_newer(pts, mem))
    }

    /// Points of each of `series` inside any of `ranges` (`[from, to)` ms, any order),
    /// as [`Self::raw`] answers them one series at a time, but reading each segment file's row
    /// groups once for all the series: a node's month of 15-minute data costs one pass over the
    /// month's files instead of one per meter.
    pub fn raw_many(
        &self,
        series: &[SeriesId],
        ranges: &[(i64, i64)],
    ) -> Result<BTreeMap<SeriesId, Vec<(i64, f64)>>, StoreError> {
        self.core.check_series(series)?;
        let q = sorted_unique(series);
        let ranges = normalise_ranges(ranges);
        let mut out: BTreeMap<SeriesId, Vec<(i64, f64)>> = BTreeMap::new();
        let (Some(&(from, _)), Some(&(_, to))) = (ranges.first(), ranges.last()) else {
            return Ok(out);
        };
        let (parts, mem) = {
            let st = self.core.shared.state.read();
            let mem: Vec<_> = q
                .iter()
                .map(|&s| merged(st.frozen.as_deref(), &st.active, s))
                .collect();
            (st.parts.clone(), mem)
        };
        for (_, ps) in parts.range(partition_of(from)..=partition_of(to - 1)) {
            for f in &ps.files {
                let holds = q
                    .iter()
                    .any(|&s| f.range(s).is_some_and(|(lo, hi)| lo < to && hi >= from));
                if holds {
                    f.read_many(&q, &ranges, &mut out)?;
                }
            }
        }
        let inside = |t: i64| {
            let i = ranges.partition_point(|r| r.1 <= t);
            i < ranges.len() && ranges[i].0 <= t
        };
        for (&s, mem) in q.iter().zip(mem) {
            let mut pts = out.remove(&s).unwrap_or_default();
            pts.sort_by_key(|p| p.0);
            let mem = mem.into_iter().filter(|p| inside(p.0)).collect();
            let pts = merge_prefer_newer(pts, mem);
            if !pts.is_empty() {
                out.insert(s, pts);
            }
        }
        Ok(out)
    }

    /// Latest point with ts < `ts`.
    pub fn last_before(&self, series: SeriesId, ts: i64) -> Result<Option<(i64, f64)>, StoreError> {
        self.core.check_series(&[series])?;
        let ts = ts.min(MAX_TS);
        let (parts, mem) = {
            let st = self.core.shared.state.read();
            (
                st.parts.clone(),
                merged(st.frozen.as_deref(), &st.active, series),
            )
        };
        let m = mem.iter().rev().find(|p| p.0 < ts).copied();
        let mut f_best: Option<(i64, f64)> = None;
        for (_, ps) in parts
            .range(..=partition_of(ts.saturating_sub(1).max(MIN_TS)))
            .rev()
        {
            for f in &ps.files {
                if let Some((lo, _)) = f.range(series).filter(|r| r.0 < ts) {
                    if let Some(&p) = f.read_series(series, lo, ts)?.last() {
                        if f_best.is_none_or(|b| p.0 > b.0) {
                            f_best = Some(p);
                        }
                    }
                }
            }
            if f_best.is_some() {
                break;
            }
        }
        Ok(match (f_best, m) {
            (Some(f), Some(m)) => Some(if f.0 > m.0 { f } else { m }),
            (f, m) => m.or(f),
        })
    }

    /// Earliest point with ts > `ts`.
    pub fn first_after(&self, series: SeriesId, ts: i64) -> Result<Option<(i64, f64)>, StoreError> {
        self.core.check_series(&[series])?;
        let ts = ts.max(MIN_TS - 1);
        let (parts, mem) = {
            let st = self.core.shared.state.read();
            (
                st.parts.clone(),
                merged(st.frozen.as_deref(), &st.active, series),
            )
        };
        let m = mem.iter().find(|p| p.0 > ts).copied();
        let mut f_best: Option<(i64, f64)> = None;
        for (_, ps) in parts.range(partition_of(ts.saturating_add(1).min(MAX_TS))..) {
            for f in &ps.files {
                if let Some((_, hi)) = f.range(series).filter(|r| r.1 > ts) {
                    if let Some(&p) = f.read_series(series, ts + 1, hi + 1)?.first() {
                        if f_best.is_none_or(|b| p.0 < b.0) {
                            f_best = Some(p);
                        }
                    }
                }
            }
            if f_best.is_some() {
                break;
            }
        }
        Ok(match (f_best, m) {
            (Some(f), Some(m)) => Some(if f.0 < m.0 { f } else { m }),
            (f, m) => m.or(f),
        })
    }

    /// Latest point of `series`.
    pub fn last_point(&self, series: SeriesId) -> Result<Option<(i64, f64)>, StoreError> {
        self.last_before(series, MAX_TS)
    }

    /// Timestamp of the latest point of `series`, from the per-file series ranges and the
    /// memtable, without reading any points (cheap enough to ask for every meter at once).
    pub fn last_ts(&self, series: SeriesId) -> Result<Option<i64>, StoreError> {
        self.core.check_series(&[series])?;
        let (parts, mem) = {
            let st = self.core.shared.state.read();
            (
                st.parts.clone(),
                merged(st.frozen.as_deref(), &st.active, series),
            )
        };
        let mut best = mem.iter().map(|p| p.0).max();
        for (_, ps) in parts.iter().rev() {
            let in_files = ps
                .files
                .iter()
                .filter_map(|f| f.range(series))
                .map(|r| r.1)
                .max();
            if let Some(hi) = in_files {
                best = Some(best.map_or(hi, |b| b.max(hi)));
                break;
            }
        }
        Ok(best)
    }

    /// Rollups with bucket start in `[from, to)`, from maintained partials (plus the memtable);
    /// hour and day rollups of raw points from a scan of their raw files
    /// ([`Level::KEPT_FOR_RAW`]).
    pub fn rollups(
        &self,
        series: &[SeriesId],
        level: Level,
        from: i64,
        to: i64,
    ) -> Result<Vec<Rollup>, StoreError> {
        self.core.check_series(series)?;
        let q = sorted_unique(series);
        let (from, to) = (from.max(MIN_TS), to.min(MAX_TS));
        if from >= to || q.is_empty() {
            return Ok(Vec::new());
        }
        let (parts, mut all) = self.core.memtable_partials(Some(&q), level, from, to)?;
        let hi = partition_of(to.saturating_add(MAX_BUCKET_MS).min(MAX_TS - 1));
        let mut jobs = Vec::new();
        let mut raw = Vec::new();
        for (_, ps) in parts.range(partition_of(from)..=hi) {
            if level == Level::Month {
                for &s in &q {
                    let a = ps.month.partition_point(|p| p.series < s);
                    let z = ps.month.partition_point(|p| p.series <= s);
                    all.extend(
                        ps.month[a..z]
                            .iter()
                            .filter(|p| p.start >= from && p.start < to),
                    );
                }
            } else {
                for f in &ps.files {
                    if f.partial_levels().contains(&level) {
                        jobs.push(f.partial_path(level));
                    } else {
                        raw.push(f.clone());
                    }
                }
            }
        }
        let res = par_map(&jobs, |path| read_partials(path, Some(&q), from, to));
        for r in res {
            all.extend(r?);
        }
        all.extend(self.scan_raw(&raw, Some(&q), level, from, to)?);
        Ok(merge_partials(all)
            .into_iter()
            .map(Partial::to_rollup)
            .collect())
    }

    /// Rollups computed by scanning raw points (`None` = all series), in parallel.
    pub fn scan_rollups(
        &self,
        series: Option<&[SeriesId]>,
        level: Level,
        from: i64,
        to: i64,
    ) -> Result<Vec<Rollup>, StoreError> {
        let q = match series {
            Some(s) => {
                self.core.check_series(s)?;
                Some(sorted_unique(s))
            }
            None => None,
        };
        let (from, to) = (from.max(MIN_TS), to.min(MAX_TS));
        if from >= to {
            return Ok(Vec::new());
        }
        let (parts, mut all) = self.core.memtable_partials(q.as_deref(), level, from, to)?;
        let hi = partition_of(to.saturating_add(MAX_BUCKET_MS).min(MAX_TS - 1));
        let raw: Vec<Arc<SegmentFile>> = parts
            .range(partition_of(from)..=hi)
            .flat_map(|(_, ps)| ps.files.iter().filter(|f| f.kind == FileKind::Raw))
            .cloned()
            .collect();
        all.extend(self.scan_raw(&raw, q.as_deref(), level, from, to)?);
        Ok(merge_partials(all)
            .into_iter()
            .map(Partial::to_rollup)
            .collect())
    }

    /// Partials of `level` with bucket start in `[from, to)` computed from the points of the
    /// raw `files` (of `series`, sorted; `None` = all), their row groups in parallel.
    fn scan_raw(
        &self,
        files: &[Arc<SegmentFile>],
        series: Option<&[SeriesId]>,
        level: Level,
        from: i64,
        to: i64,
    ) -> Result<Vec<Partial>> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let tzs = self.core.shared.state.read().tzs.clone();
        let span = (from, to.saturating_add(MAX_BUCKET_MS));
        let mut items = Vec::new();
        for f in files {
            let (_, meta) = f.open_raw()?;
            for g in prune_row_groups(&meta, &f.raw_path(), series, Some(span))? {
                items.push((f.clone(), g));
            }
        }
        let res = par_map(&items, |(f, g)| {
            Scanner::new(&tzs, level, from, to, series).scan_group(f, *g)
        });
        let mut all = Vec::new();
        for r in res {
            all.extend(r?);
        }
        Ok(all)
    }

    /// Move the memtable into segment files now.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.core
            .flush_if(|st, _, _| st.active.points > 0 || st.frozen.is_some())
    }

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

    /// Read every segment, recompute its partials from raw points and compare with the stored
    /// ones; check sort order, row counts and that no (series, ts) is in two files.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let (parts, tzs) = {
            let st = self.core.shared.state.read();
            (st.parts.clone(), st.tzs.clone())
        };
        let mut rep = VerifyReport::default();
        for (p, ps) in parts.iter() {
            for f in &ps.files {
                rep.files_checked += 1;
                let levels = f.partial_levels();
                let stored: Vec<Vec<Partial>> = levels
                    .iter()
                    .map(|&l| read_partials(&f.partial_path(l), None, i64::MIN, i64::MAX))
                    .collect::<Result<_>>()?;
                if f.kind == FileKind::Rollup {
                    continue;
                }
                let mut b = PartialBuilder::new(&tzs, levels, i64::MIN, i64::MAX);
                let mut prev: Option<(u32, i64)> = None;
                let mut rows = 0u64;
                for batch in f.batches(1 << 16)? {
                    let batch = batch?;
                    for i in 0..batch.len() {
                        let k = (batch.series[i], batch.ts[i]);
                        if prev.is_some_and(|p| p >= k) {
                            rep.mismatches.push(format!(
                                "{}: rows not strictly sorted at {k:?}",
                                f.raw_path().display()
                            ));
                            break;
                        }
                        prev = Some(k);
                    }
                    rows += batch.len() as u64;
                    b.push_batch(&batch.series, &batch.ts, &batch.vals, |_| true);
                }
                rep.points_checked += rows;
                if rows != f.rows {
                    rep.mismatches.push(format!(
                        "{}: {rows} rows, manifest says {}",
                        f.raw_path().display(),
                        f.rows
                    ));
                }
                for ((l, got), want) in levels.iter().zip(b.finish()).zip(&stored) {
                    rep.rollups_checked += want.len() as u64;
                    if got.len() != want.len() {
                        rep.mismatches.push(format!(
                            "{}: {} {} partials recomputed, {} stored",
                            f.raw_path().display(),
                            got.len(),
                            l.name(),
                            want.len()
                        ));
                        continue;
                    }
                    for (g, w) in got.iter().zip(want) {
                        if !partial_eq(g, w) {
                            rep.mismatches.push(format!(
                                "{}: {} partial differs: stored {w:?}, recomputed {g:?}",
                                f.raw_path().display(),
                                l.name()
                            ));
                        }
                    }
                }
            }
            let raw: Vec<&Arc<SegmentFile>> = ps
                .files
                .iter()
                .filter(|f| f.kind == FileKind::Raw)
                .collect();
            for (i, a) in raw.iter().enumerate() {
                for b in &raw[i + 1..] {
                    let touch = a.ranges.iter().any(|&(s, lo, hi)| {
                        b.range(s).is_some_and(|(l2, h2)| l2 <= hi && lo <= h2)
                    });
                    if touch {
                        let dups = common_keys(a, b)?;
                        if dups > 0 {
                            rep.mismatches.push(format!(
                                "partition {}: {dups} points stored in both segment {} and {}",
                                partition_name(*p),
                                a.id,
                                b.id
                            ));
                        }
                    }
                }
            }
        }
        Ok(rep)
    }
}

/// Number of (series, ts) keys present in both files.
fn common_keys(a: &SegmentFile, b: &SegmentFile) -> Result<u64> {
    let keys = |f: &SegmentFile| -> Result<Vec<(u32, i64)>> {
        let mut v = Vec::new();
        for batch in f.batches(1 << 16)? {
            let batch = batch?;
            v.extend(batch.series.iter().copied().zip(batch.ts.iter().copied()));
        }
        Ok(v)
    };
    let (ka, kb) = (keys(a)?, keys(b)?);
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < ka.len() && j < kb.len() {
        match ka[i].cmp(&kb[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    Ok(n)
}

/// Merge two ts-sorted lists; on equal ts the second (newer) wins.
fn merge_prefer_newer(old: Vec<(i64, f64)>, new: Vec<(i64, f64)>) -> Vec<(i64, f64)> {
    if new.is_empty() {
        return old;
    }
    let mut out = Vec::with_capacity(old.len() + new.len());
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if j >= new.len() || (i < old.len() && old[i].0 < new[j].0) {
            out.push(old[i]);
            i += 1;
        } else {
            if i < old.len() && old[i].0 == new[j].0 {
                i += 1;
            }
            out.push(new[j]);
            j += 1;
        }
    }
    out
}

/// Map over items on all cores.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicU64::new(0);
    let mut out: Vec<(usize, R)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                sc.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                        if i >= items.len() {
                            break;
                        }
                        mine.push((i, f(&items[i])));
                    }
                    mine
                })
            })
            .collect();
        hs.into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    out.sort_by_key(|r| r.0);
    out.into_iter().map(|r| r.1).collect()
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

impl Core {
    fn check_series(&self, series: &[SeriesId]) -> Result<()> {
        let st = self.shared.state.read();
        match series.iter().find(|s| !st.tzs.contains_key(s)) {
            Some(&s) => Err(StoreError::UnknownSeries(s)),
            None => Ok(()),
        }
    }

    fn cutoff(&self) -> i64 {
        self.cfg
            .raw_retention
            .map_or(i64::MIN, |r| now_ms().saturating_sub(r.as_millis() as i64))
    }

    /// Partitions snapshot plus partials of the memtable for `series` (None = all). Flushes first
    /// while the memtable may duplicate persisted points.
    fn memtable_partials(
        &self,
        series: Option<&[SeriesId]>,
        level: Level,
        from: i64,
        to: i64,
    ) -> Result<(Parts, Vec<Partial>)> {
        loop {
            {
                let st = self.shared.state.read();
                if !st.overlap() {
                    let ids: Vec<SeriesId> = match series {
                        Some(q) => q.to_vec(),
                        None => {
                            let mut v: Vec<SeriesId> = st
                                .active
                                .series_ids()
                                .chain(st.frozen.iter().flat_map(|f| f.series_ids()))
                                .collect();
                            v.sort_unstable();
                            v.dedup();
                            v
                        }
                    };
                    let mut b = PartialBuilder::new(&st.tzs, &[level], from, to);
                    for s in ids {
                        let pts = merged(st.frozen.as_deref(), &st.active, s);
                        if !pts.is_empty() {
                            let (ts, vals): (Vec<i64>, Vec<f64>) = pts.into_iter().unzip();
                            b.push_series(s, &ts, &vals);
                        }
                    }
                    let parts = st.parts.clone();
                    return Ok((parts, b.finish().into_iter().flatten().collect()));
                }
            }
            self.flush_if(|st, _, _| st.overlap())?;
        }
    }

    /// Periodic work of the background thread.
    fn background(&self) -> Result<()> {
        self.flush_if(|st, max, interval| {
            st.active.points >= max
                || st.frozen.is_some()
                || st
                    .active
                    .first_insert
                    .is_some_and(|t| t.elapsed() >= interval)
        })?;
        let cutoff = self.cutoff();
        let partitions: Vec<Partition> = self.shared.state.read().parts.keys().copied().collect();
        for p in partitions {
            // Choose under the lock, from the current files: a flush may have merged some.
            let pick = {
                let _g = self.maint.lock();
                let Some(ps) = self.shared.state.read().parts.get(&p).cloned() else {
                    continue;
                };
                self.background_pick(&ps.files, cutoff)
            };
            // Merge without the lock, so flushes (and the writers they hold back) never wait
            // for a compaction; the lock is taken only to commit.
            if let Some((files, cutoff)) = pick {
                self.compact_files(p, &files, cutoff, Commit::IfStillLive)?;
            }
        }
        Ok(())
    }

    /// What the background compacts in a partition, and with which retention cutoff.
    ///
    /// Raw files are tiered by size (tier `k` holds files of `4^k` to `4^(k+1)` quarter
    /// memtables): when a tier has `compaction_trigger_files` files, those files alone are
    /// merged, so one merge never rewrites the month's big file for a handful of new flushes
    /// and holds the maintenance lock (which flushes wait for) only briefly. Expired raw data
    /// or too many files in all (four tiers' worth) make it merge the whole partition.
    fn background_pick(
        &self,
        files: &[Arc<SegmentFile>],
        cutoff: i64,
    ) -> Option<(Vec<Arc<SegmentFile>>, i64)> {
        let trigger = self.cfg.compaction_trigger_files.max(2);
        // A day of hysteresis so a partition is not rewritten on every tick for retention.
        let lazy_cutoff = cutoff.saturating_sub(86_400_000);
        let expired = files
            .iter()
            .any(|f| f.min_ts().is_some_and(|m| m < lazy_cutoff));
        if expired || files.len() >= 4 * trigger {
            return Some((files.to_vec(), cutoff));
        }
        let base = (self.cfg.memtable_max_points as u64 / 4).max(1);
        let tier = |rows: u64| {
            let (mut t, mut cap) = (0u32, base.saturating_mul(4));
            while rows >= cap {
                t += 1;
                cap = cap.saturating_mul(4);
            }
            t
        };
        let mut tiers: BTreeMap<u32, Vec<Arc<SegmentFile>>> = BTreeMap::new();
        for f in files.iter().filter(|f| f.kind == FileKind::Raw) {
            tiers.entry(tier(f.rows)).or_default().push(f.clone());
        }
        tiers
            .into_values()
            .find(|t| t.len() >= trigger)
            .map(|t| (t, i64::MIN))
    }

    fn flush_if(&self, cond: impl Fn(&State, usize, Duration) -> bool) -> Result<()> {
        let _g = self.maint.lock();
        if !cond(
            &self.shared.state.read(),
            self.cfg.memtable_max_points,
            self.cfg.flush_interval,
        ) {
            return Ok(());
        }
        self.flush_locked()
    }

    fn rotate(&self) -> Result<u64> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.tx
            .lock()
            .send(WalMsg::Rotate { reply })
            .map_err(|_| StoreError::Closed)?;
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    fn flush_locked(&self) -> Result<()> {
        let old_seq = self.rotate()?;
        let (frozen, tzs, parts) = {
            let st = self.shared.state.read();
            (
                st.frozen.clone().unwrap_or_default(),
                st.tzs.clone(),
                st.parts.clone(),
            )
        };
        let mut ids = Vec::new();
        let flushed = (|| {
            let mut changes = Vec::new();
            for (p, batch) in frozen.to_partitions() {
                let overl: Vec<Arc<SegmentFile>> = parts
                    .get(&p)
                    .map(|ps| {
                        ps.files
                            .iter()
                            .filter(|f| f.kind == FileKind::Raw && overlaps(f, &batch))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                let mut runs: Vec<Run<'_>> = Vec::new();
                for f in &overl {
                    runs.push(Box::new(f.batches(1 << 16)?));
                }
                runs.push(Box::new(std::iter::once(Ok(batch))));
                let id = self.next_id.fetch_add(1, Ordering::SeqCst);
                ids.push((p, id));
                let (built, _) =
                    build_raw(&self.segments, p, id, runs, &tzs, i64::MIN, Effort::Flush)?;
                changes.push(Change {
                    p,
                    removed: overl,
                    added: built.into_iter().collect(),
                });
            }
            self.commit(changes, Some(old_seq + 1))
        })();
        if let Err(e) = flushed {
            discard_unlisted(&self.cfg.dir, &self.segments, &ids);
            return Err(e);
        }
        for seq in wal::list(&self.wal_dir)? {
            if seq <= old_seq {
                let path = wal::wal_path(&self.wal_dir, seq);
                fs::remove_file(&path).at(&path)?;
            }
        }
        self.shared.counters.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Merge all segments of partition `p` into one raw file (points ≥ cutoff) and one
    /// rollup-only file (partials of everything dropped by retention, old and new).
    fn compact_partition(&self, p: Partition, cutoff: i64) -> Result<()> {
        let files = match self.shared.state.read().parts.get(&p) {
            Some(ps) => ps.files.clone(),
            None => return Ok(()),
        };
        self.compact_files(p, &files, cutoff, Commit::Held)
    }

    /// Merge `files` (live files of partition `p`) into one raw file (points ≥ cutoff) and one
    /// rollup-only file (partials of everything dropped by retention, and of the rollup-only
    /// files among `files`). With [`Commit::IfStillLive`] the caller does not hold the
    /// maintenance lock: it is taken to commit, and if a flush replaced one of `files` in the
    /// meantime the new files are discarded (the next round merges again).
    fn compact_files(
        &self,
        p: Partition,
        files: &[Arc<SegmentFile>],
        cutoff: i64,
        commit: Commit,
    ) -> Result<()> {
        let tzs = self.shared.state.read().tzs.clone();
        let raw: Vec<&Arc<SegmentFile>> =
            files.iter().filter(|f| f.kind == FileKind::Raw).collect();
        let expired = raw.iter().any(|f| f.min_ts().is_some_and(|m| m < cutoff));
        let mut format_1 = false;
        for f in &raw {
            format_1 |= f.is_format_1()?;
        }
        if files.len() <= 1 && !expired && !format_1 {
            return Ok(());
        }
        let mut runs: Vec<Run<'_>> = Vec::new();
        for f in &raw {
            runs.push(Box::new(f.batches(1 << 16)?));
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let mut ids = vec![(p, id)];
        let compacted = (|| {
            let (built, mut dropped) = if runs.is_empty() {
                (None, vec![Vec::new(), Vec::new(), Vec::new()])
            } else {
                build_raw(
                    &self.segments,
                    p,
                    id,
                    runs,
                    &tzs,
                    cutoff,
                    Effort::Compaction,
                )?
            };
            for f in files.iter().filter(|f| f.kind == FileKind::Rollup) {
                for (l, d) in Level::ALL.iter().zip(dropped.iter_mut()) {
                    d.extend(read_partials(
                        &f.partial_path(*l),
                        None,
                        i64::MIN,
                        i64::MAX,
                    )?);
                }
            }
            let mut added: Vec<Built> = built.into_iter().collect();
            if dropped.iter().any(|d| !d.is_empty()) {
                let rid = self.next_id.fetch_add(1, Ordering::SeqCst);
                ids.push((p, rid));
                added.push(build_rollup_only(&self.segments, p, rid, dropped)?);
            }
            let change = vec![Change {
                p,
                removed: files.to_vec(),
                added,
            }];
            match commit {
                Commit::Held => self.commit(change, None).map(|()| true),
                Commit::IfStillLive => {
                    let _g = self.maint.lock();
                    if !self.all_live(p, files) {
                        return Ok(false);
                    }
                    self.commit(change, None).map(|()| true)
                }
            }
        })();
        match compacted {
            Ok(true) => {
                self.shared
                    .counters
                    .compactions
                    .fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Ok(false) => {
                discard_unlisted(&self.cfg.dir, &self.segments, &ids);
                Ok(())
            }
            Err(e) => {
                discard_unlisted(&self.cfg.dir, &self.segments, &ids);
                Err(e)
            }
        }
    }

    /// Whether every one of `files` is still a live file of partition `p`.
    fn all_live(&self, p: Partition, files: &[Arc<SegmentFile>]) -> bool {
        let st = self.shared.state.read();
        let Some(ps) = st.parts.get(&p) else {
            return files.is_empty();
        };
        files
            .iter()
            .all(|f| ps.files.iter().any(|live| live.id == f.id))
    }

    /// Make new segments durable and visible, retire replaced ones.
    fn commit(&self, changes: Vec<Change>, wal_start: Option<u64>) -> Result<()> {
        let mut dirs: Vec<PathBuf> = changes
            .iter()
            .flat_map(|c| c.added.iter().map(|b| b.seg.dir.clone()))
            .collect();
        dirs.sort();
        dirs.dedup();
        for d in &dirs {
            sync_dir(d)?;
        }
        sync_dir(&self.segments)?;
        let old_parts = self.shared.state.read().parts.clone();
        let mut new_parts: BTreeMap<Partition, Arc<PartState>> = (*old_parts).clone();
        let mut retired = Vec::new();
        let mut added_entries = Vec::new();
        let mut new_ranges = Vec::new();
        for c in changes {
            let gone: std::collections::HashSet<u64> = c.removed.iter().map(|f| f.id).collect();
            let mut files: Vec<Arc<SegmentFile>> = new_parts
                .get(&c.p)
                .map(|ps| {
                    ps.files
                        .iter()
                        .filter(|f| !gone.contains(&f.id))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let mut fresh = HashMap::new();
            for b in c.added {
                added_entries.push(FileEntry {
                    id: b.seg.id,
                    partition: partition_name(c.p),
                    kind: b.seg.kind,
                    rows: b.seg.rows,
                    bytes: b.seg.bytes,
                });
                new_ranges.extend(b.seg.ranges.iter().copied());
                fresh.insert(b.seg.id, b.month);
                files.push(Arc::new(b.seg));
            }
            files.sort_by_key(|f| f.id);
            let month = month_of(&files, &fresh)?;
            if files.is_empty() {
                new_parts.remove(&c.p);
            } else {
                new_parts.insert(c.p, Arc::new(PartState { files, month }));
            }
            retired.extend(c.removed);
        }
        {
            let mut m = self.manifest.lock();
            let mut next = m.clone();
            let gone: std::collections::HashSet<u64> = retired.iter().map(|f| f.id).collect();
            next.files.retain(|e| !gone.contains(&e.id));
            next.files.extend(added_entries);
            next.next_file_id = self.next_id.load(Ordering::SeqCst);
            if let Some(w) = wal_start {
                next.wal_start = w;
            }
            next.save(&self.cfg.dir)?;
            *m = next;
        }
        let mut st = self.shared.state.write();
        st.parts = Arc::new(new_parts);
        for (s, lo, hi) in new_ranges {
            let h = st.hull.entry(s).or_insert((lo, hi));
            *h = (h.0.min(lo), h.1.max(hi));
        }
        if wal_start.is_some() {
            st.frozen = None;
        }
        let over = st
            .active
            .ranges()
            .any(|(s, lo, hi)| st.hull.get(&s).is_some_and(|&(a, b)| lo <= b && a <= hi));
        st.active.overlap |= over;
        drop(st);
        for f in retired {
            f.mark_obsolete();
        }
        Ok(())
    }
}

/// Does `batch` (sorted) hold a series whose time range intersects that series' range in `f`?
fn overlaps(f: &SegmentFile, batch: &Batch) -> bool {
    let mut i = 0;
    while i < batch.len() {
        let s = batch.series[i];
        let j = i + batch.series[i..].partition_point(|&x| x == s);
        if f.range(s)
            .is_some_and(|(lo, hi)| lo <= batch.ts[j - 1] && batch.ts[i] <= hi)
        {
            return true;
        }
        i = j;
    }
    false
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
