//! Queries of a `Store`: raw points, the points next to an instant, and rollups.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::bucket::{partition_of, MAX_BUCKET_MS, MAX_TS, MIN_TS};
use crate::error::Result;
use crate::memtable::merged;
use crate::rollup::{merge_partials, read_partials, Partial, PartialBuilder};
use crate::scan::Scanner;
use crate::segment::{prune_row_groups, FileKind, SegmentFile};
use crate::{Level, Rollup, SeriesId, StoreError};

use super::{Core, Parts, Store};

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
        Ok(merge_partials(self.partials(series, level, from, to)?)
            .into_iter()
            .map(Partial::to_rollup)
            .collect())
    }

    /// The parts of [`Self::rollups`] before they are combined: one bucket of a series may
    /// come several times (from several files and the memtable), each part covering other
    /// points. Cheaper for callers that add parts up anyway (counts, sums, extremes, last).
    pub fn rollup_parts(
        &self,
        series: &[SeriesId],
        level: Level,
        from: i64,
        to: i64,
    ) -> Result<Vec<Rollup>, StoreError> {
        Ok(self
            .partials(series, level, from, to)?
            .into_iter()
            .map(Partial::to_rollup)
            .collect())
    }

    /// Partials of `series` with bucket start in `[from, to)`, not combined.
    fn partials(
        &self,
        series: &[SeriesId],
        level: Level,
        from: i64,
        to: i64,
    ) -> Result<Vec<Partial>, StoreError> {
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
        Ok(all)
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
        let runs = res.into_iter().collect::<Result<Vec<_>>>()?;
        let mut all = Vec::with_capacity(runs.iter().map(Vec::len).sum());
        for run in runs {
            all.extend(run);
        }
        Ok(all)
    }
}

impl Core {
    fn check_series(&self, series: &[SeriesId]) -> Result<()> {
        let st = self.shared.state.read();
        match series.iter().find(|s| !st.tzs.contains_key(s)) {
            Some(&s) => Err(StoreError::UnknownSeries(s)),
            None => Ok(()),
        }
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
