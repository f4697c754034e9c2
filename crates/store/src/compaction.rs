//! Building segment files: k-way merge of sorted runs (newest wins), rollup partials written
//! alongside, retention split. Used by flush (merging overlapping files) and compaction.

use std::path::Path;

use arrow_buffer::ScalarBuffer;

use crate::bucket::{partition_name, Partition};
use crate::error::{IoContext, Result};
use crate::rollup::{merge_partials, write_partials, Partial, PartialBuilder, PartialWriter};
use crate::segment::{Batch, Effort, FileKind, RawWriter, SegmentFile};
use crate::{Level, SeriesId, TzMap};

/// A sorted run of points.
pub(crate) type Run<'a> = Box<dyn Iterator<Item = Result<Batch>> + 'a>;

const OUT_ROWS: usize = 1 << 16;

struct Cursor<'a> {
    it: Run<'a>,
    b: Batch,
    pos: usize,
}

impl Cursor<'_> {
    /// Make sure `pos` points at a row, unless the run is exhausted. Returns false at the end.
    fn fill(&mut self) -> Result<bool> {
        while self.pos >= self.b.len() {
            match self.it.next() {
                Some(b) => {
                    self.b = b?;
                    self.pos = 0;
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    fn key(&self) -> (u32, i64) {
        (self.b.series[self.pos], self.b.ts[self.pos])
    }
}

/// Merge runs, each sorted by (series, ts) without duplicates, into sorted batches; on equal
/// keys the run listed last wins.
pub(crate) fn merge_runs(
    runs: Vec<Run<'_>>,
    sink: &mut dyn FnMut(Batch) -> Result<()>,
) -> Result<()> {
    if runs.len() == 1 {
        // Pass the run on in slices of OUT_ROWS (zero-copy), so that what the sink builds per
        // batch (rollup partials, encoded pages) stays bounded even for a whole memtable.
        for b in runs.into_iter().flatten() {
            let b = b?;
            let mut at = 0;
            while at < b.len() {
                let n = OUT_ROWS.min(b.len() - at);
                sink(Batch {
                    series: b.series.slice(at, n),
                    ts: b.ts.slice(at, n),
                    vals: b.vals.slice(at, n),
                })?;
                at += n;
            }
        }
        return Ok(());
    }
    let mut cur: Vec<Cursor<'_>> = Vec::new();
    for it in runs {
        let mut c = Cursor {
            it,
            b: Batch::default(),
            pos: 0,
        };
        if c.fill()? {
            cur.push(c);
        }
    }
    let (mut s, mut t, mut v) = (
        Vec::with_capacity(OUT_ROWS),
        Vec::with_capacity(OUT_ROWS),
        Vec::with_capacity(OUT_ROWS),
    );
    while !cur.is_empty() {
        let mut best = 0;
        for i in 1..cur.len() {
            if cur[i].key() <= cur[best].key() {
                best = i;
            }
        }
        let key = cur[best].key();
        s.push(key.0);
        t.push(key.1);
        v.push(cur[best].b.vals[cur[best].pos]);
        let mut i = 0;
        while i < cur.len() {
            if cur[i].key() == key {
                cur[i].pos += 1;
                if !cur[i].fill()? {
                    cur.remove(i);
                    continue;
                }
            }
            i += 1;
        }
        if s.len() >= OUT_ROWS {
            let b = Batch {
                series: std::mem::take(&mut s).into(),
                ts: std::mem::take(&mut t).into(),
                vals: std::mem::take(&mut v).into(),
            };
            sink(b)?;
        }
    }
    if !s.is_empty() {
        sink(Batch {
            series: s.into(),
            ts: t.into(),
            vals: v.into(),
        })?;
    }
    Ok(())
}

/// A segment written to disk (not yet in the manifest), with its month partials.
pub(crate) struct Built {
    pub seg: SegmentFile,
    pub month: Vec<Partial>,
}

/// (series, first, last) per series from month partials sorted by series.
pub(crate) fn ranges_of(month: &[Partial]) -> Vec<(SeriesId, i64, i64)> {
    let mut out: Vec<(SeriesId, i64, i64)> = Vec::new();
    for p in month {
        match out.last_mut() {
            Some(r) if r.0 == p.series => {
                r.1 = r.1.min(p.first_ts);
                r.2 = r.2.max(p.last_ts);
            }
            _ => out.push((p.series, p.first_ts, p.last_ts)),
        }
    }
    out
}

fn write_all_partials(seg: &SegmentFile, levels: &[Vec<Partial>], effort: Effort) -> Result<u64> {
    let mut bytes = 0;
    for (l, parts) in Level::ALL.iter().zip(levels) {
        bytes += write_partials(&seg.partial_path(*l), *l, parts, effort)?;
    }
    Ok(bytes)
}

/// Finished partials held in memory before they are written out during a merge.
const PARTIALS_IN_MEMORY: usize = 1 << 16;

/// Writes finished partials of a raw segment ([`Level::KEPT_FOR_RAW`], in that order, months
/// last) to their files; keeps a copy of the month ones.
fn write_levels(
    writers: &mut [PartialWriter],
    levels: Vec<Vec<Partial>>,
    month: &mut Vec<Partial>,
) -> Result<()> {
    for (w, parts) in writers.iter_mut().zip(&levels) {
        w.write(parts)?;
    }
    if let Some(m) = levels.last() {
        month.extend_from_slice(m);
    }
    Ok(())
}

/// Merge `runs` into a new raw segment `id` of partition `p`. Points with ts < `cutoff` are
/// not written; their partials are returned instead (hour, day, month).
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_raw(
    segments: &Path,
    p: Partition,
    id: u64,
    runs: Vec<Run<'_>>,
    tzs: &TzMap,
    cutoff: i64,
    effort: Effort,
) -> Result<(Option<Built>, Vec<Vec<Partial>>)> {
    let dir = segments.join(partition_name(p));
    std::fs::create_dir_all(&dir).at(&dir)?;
    let mut seg = SegmentFile::new(id, p, FileKind::Raw, 0, 0, segments);
    let mut writer: Option<(RawWriter, Vec<PartialWriter>)> = None;
    let mut month = Vec::new();
    let mut kept = PartialBuilder::new(tzs, &Level::KEPT_FOR_RAW, i64::MIN, i64::MAX);
    let mut dropped = PartialBuilder::all(tzs);
    merge_runs(runs, &mut |b: Batch| {
        let mut i = 0;
        while i < b.len() {
            let s = b.series[i];
            let j = i + b.series[i..].partition_point(|&x| x == s);
            let k = i + b.ts[i..j].partition_point(|&t| t < cutoff);
            dropped.push_series(s, &b.ts[i..k], &b.vals[i..k]);
            kept.push_series(s, &b.ts[k..j], &b.vals[k..j]);
            i = j;
        }
        let out = if b.ts.iter().all(|&t| t >= cutoff) {
            b
        } else {
            let keep: Vec<usize> = (0..b.len()).filter(|&i| b.ts[i] >= cutoff).collect();
            Batch {
                series: keep.iter().map(|&i| b.series[i]).collect::<Vec<_>>().into(),
                ts: keep.iter().map(|&i| b.ts[i]).collect::<Vec<_>>().into(),
                vals: keep
                    .iter()
                    .map(|&i| b.vals[i])
                    .collect::<ScalarBuffer<f64>>(),
            }
        };
        if out.len() > 0 {
            if writer.is_none() {
                let raw = RawWriter::create(seg.raw_path(), effort)?;
                let partials = Level::KEPT_FOR_RAW
                    .iter()
                    .map(|&l| PartialWriter::create(seg.partial_path(l), l, effort))
                    .collect::<Result<Vec<_>>>()?;
                writer = Some((raw, partials));
            }
            if let Some((raw, partials)) = writer.as_mut() {
                raw.write(&out)?;
                if kept.finished_len() >= PARTIALS_IN_MEMORY {
                    write_levels(partials, kept.take_finished(), &mut month)?;
                }
            }
        }
        Ok(())
    })?;
    let dropped = dropped.finish();
    let Some((raw, mut partials)) = writer else {
        return Ok((None, dropped));
    };
    let (rows, bytes) = raw.finish()?;
    write_levels(&mut partials, kept.finish(), &mut month)?;
    let mut pbytes = 0;
    for w in partials {
        pbytes += w.finish()?;
    }
    seg.rows = rows;
    seg.bytes = bytes + pbytes;
    seg.ranges = ranges_of(&month);
    Ok((Some(Built { seg, month }), dropped))
}

/// Write a rollup-only segment holding `levels` (hour, day, month partials, each merged).
pub(crate) fn build_rollup_only(
    segments: &Path,
    p: Partition,
    id: u64,
    levels: Vec<Vec<Partial>>,
) -> Result<Built> {
    let dir = segments.join(partition_name(p));
    std::fs::create_dir_all(&dir).at(&dir)?;
    let mut seg = SegmentFile::new(id, p, FileKind::Rollup, 0, 0, segments);
    let levels: Vec<Vec<Partial>> = levels.into_iter().map(merge_partials).collect();
    seg.bytes = write_all_partials(&seg, &levels, Effort::Compaction)?;
    let month = levels.into_iter().nth(2).unwrap_or_default();
    Ok(Built { seg, month })
}
