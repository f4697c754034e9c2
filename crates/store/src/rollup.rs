//! Rollup partials: (count, sum, min, max, first/last) per series × bucket, how they are
//! computed from sorted raw points, combined, and stored in Parquet.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, RecordBatch, TimestampMillisecondArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use chrono_tz::Tz;
use parquet::arrow::ArrowWriter;

use crate::bucket::{bucket, MAX_BUCKET_MS};
use crate::error::Result;
use crate::segment::{self, col, col_ts};
use crate::{Level, Rollup, SeriesId, StoreError, TzMap};

/// Aggregate of the points of one series in one bucket (or part of it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Partial {
    pub series: SeriesId,
    pub start: i64,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub first_ts: i64,
    pub last_ts: i64,
    pub last: f64,
}

impl Partial {
    /// Combine with the partial of a disjoint set of points of the same bucket.
    pub fn combine(&mut self, o: &Partial) {
        self.count += o.count;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.first_ts = self.first_ts.min(o.first_ts);
        if o.last_ts > self.last_ts {
            self.last_ts = o.last_ts;
            self.last = o.last;
        }
    }

    pub fn to_rollup(self) -> Rollup {
        Rollup {
            series: self.series,
            bucket_start: self.start,
            count: self.count,
            sum: self.sum,
            min: self.min,
            max: self.max,
            last_ts: self.last_ts,
            last: self.last,
        }
    }
}

/// Sort by (series, start) and combine equal keys. Exact when the inputs cover disjoint points.
pub(crate) fn merge_partials(mut v: Vec<Partial>) -> Vec<Partial> {
    // Stable sort: the partials come as runs already sorted (one per row group or file),
    // which it merges instead of sorting from scratch.
    v.sort_by_key(|p| (p.series, p.start));
    v.dedup_by(|p, kept| {
        let same = kept.series == p.series && kept.start == p.start;
        if same {
            kept.combine(p);
        }
        same
    });
    v
}

struct LevelAcc {
    level: Level,
    end: i64,
    cur: Option<Partial>,
    out: Vec<Partial>,
}

/// Streaming builder of partials from points sorted by (series, ts) without duplicates.
/// Accumulators carry across batches, so the result does not depend on batch boundaries.
pub(crate) struct PartialBuilder<'a> {
    tzs: &'a TzMap,
    levels: Vec<LevelAcc>,
    from: i64,
    to: i64,
    ts_hi: i64,
}

impl<'a> PartialBuilder<'a> {
    /// Keep only buckets with start in `[from, to)`.
    pub fn new(tzs: &'a TzMap, levels: &[Level], from: i64, to: i64) -> Self {
        let levels = levels
            .iter()
            .map(|&level| LevelAcc {
                level,
                end: i64::MIN,
                cur: None,
                out: Vec::new(),
            })
            .collect();
        PartialBuilder {
            tzs,
            levels,
            from,
            to,
            ts_hi: to.saturating_add(MAX_BUCKET_MS),
        }
    }

    /// Builder for all three levels and all buckets.
    pub fn all(tzs: &'a TzMap) -> Self {
        Self::new(
            tzs,
            &[Level::Hour, Level::Day, Level::Month],
            i64::MIN,
            i64::MAX,
        )
    }

    /// Add points of one series (sorted by ts).
    pub fn push_series(&mut self, series: SeriesId, ts: &[i64], vals: &[f64]) {
        let tz = self.tzs.get(&series).copied().unwrap_or(Tz::UTC);
        let (from, to) = (self.from, self.to);
        // Points before `from` only feed buckets starting before `from`; points after
        // `to + MAX_BUCKET_MS` only buckets starting after `to`.
        let a = ts.partition_point(|&t| t < from);
        let z = ts.partition_point(|&t| t < self.ts_hi);
        let (ts, vals) = (&ts[a..z], &vals[a..z]);
        for acc in &mut self.levels {
            let n = ts.len();
            let mut i = 0;
            while i < n {
                let same = matches!(&acc.cur, Some(c) if c.series == series) && ts[i] < acc.end;
                if !same {
                    if let Some(c) = acc.cur.take() {
                        if c.start >= from && c.start < to {
                            acc.out.push(c);
                        }
                    }
                    let (s, e) = bucket(acc.level, tz, ts[i]);
                    acc.end = e;
                    acc.cur = Some(Partial {
                        series,
                        start: s,
                        count: 0,
                        sum: 0.0,
                        min: f64::INFINITY,
                        max: f64::NEG_INFINITY,
                        first_ts: ts[i],
                        last_ts: ts[i],
                        last: vals[i],
                    });
                }
                let end = acc.end;
                let mut j = i;
                while j < n && ts[j] < end {
                    j += 1;
                }
                if let Some(c) = acc.cur.as_mut() {
                    let (mut sum, mut min, mut max) = (c.sum, c.min, c.max);
                    for &v in &vals[i..j] {
                        sum += v;
                        min = min.min(v);
                        max = max.max(v);
                    }
                    c.sum = sum;
                    c.min = min;
                    c.max = max;
                    c.count += (j - i) as u64;
                    c.last_ts = ts[j - 1];
                    c.last = vals[j - 1];
                }
                i = j;
            }
        }
    }

    /// Add a batch sorted by (series, ts); `keep` filters series.
    pub fn push_batch(
        &mut self,
        series: &[u32],
        ts: &[i64],
        vals: &[f64],
        keep: impl Fn(SeriesId) -> bool,
    ) {
        let mut i = 0;
        while i < series.len() {
            let s = series[i];
            let j = i + series[i..].partition_point(|&x| x == s);
            if keep(s) {
                self.push_series(s, &ts[i..j], &vals[i..j]);
            }
            i = j;
        }
    }

    /// Partials finished so far (hour, day, month in the order the levels were given), taken
    /// out of the builder; with [`Self::finished_len`] this bounds the builder's memory.
    pub fn take_finished(&mut self) -> Vec<Vec<Partial>> {
        self.levels
            .iter_mut()
            .map(|acc| std::mem::take(&mut acc.out))
            .collect()
    }

    /// Number of finished partials held.
    pub fn finished_len(&self) -> usize {
        self.levels.iter().map(|acc| acc.out.len()).sum()
    }

    /// Finish; partials per level in the order the levels were given.
    pub fn finish(self) -> Vec<Vec<Partial>> {
        let (from, to) = (self.from, self.to);
        self.levels
            .into_iter()
            .map(|mut acc| {
                if let Some(c) = acc.cur.take() {
                    if c.start >= from && c.start < to {
                        acc.out.push(c);
                    }
                }
                acc.out
            })
            .collect()
    }
}

fn partial_schema() -> Arc<Schema> {
    let ts = || DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("series", DataType::UInt32, false),
        Field::new("bucket_start", ts(), false),
        Field::new("count", DataType::UInt64, false),
        Field::new("sum", DataType::Float64, false),
        Field::new("min", DataType::Float64, false),
        Field::new("max", DataType::Float64, false),
        Field::new("first_ts", ts(), false),
        Field::new("last_ts", ts(), false),
        Field::new("last", DataType::Float64, false),
    ]))
}

fn partial_batch(path: &Path, parts: &[Partial]) -> Result<RecordBatch> {
    let ts = |f: fn(&Partial) -> i64| -> ArrayRef {
        Arc::new(
            TimestampMillisecondArray::from(parts.iter().map(f).collect::<Vec<_>>())
                .with_timezone("UTC"),
        )
    };
    let f64s = |f: fn(&Partial) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(parts.iter().map(f).collect::<Vec<_>>()))
    };
    let cols: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(
            parts.iter().map(|p| p.series).collect::<Vec<_>>(),
        )),
        ts(|p| p.start),
        Arc::new(UInt64Array::from(
            parts.iter().map(|p| p.count).collect::<Vec<_>>(),
        )),
        f64s(|p| p.sum),
        f64s(|p| p.min),
        f64s(|p| p.max),
        ts(|p| p.first_ts),
        ts(|p| p.last_ts),
        f64s(|p| p.last),
    ];
    RecordBatch::try_new(partial_schema(), cols).map_err(|e| StoreError::corrupt(path, e))
}

/// Write partials (sorted by series, bucket_start) to a Parquet file and fsync it.
pub(crate) fn write_partials(
    path: &Path,
    level: Level,
    parts: &[Partial],
    effort: segment::Effort,
) -> Result<u64> {
    let mut w = PartialWriter::create(path.to_path_buf(), level, effort)?;
    w.write(parts)?;
    w.finish()
}

/// Streaming writer of one partial file, for partials that arrive in (series, bucket_start)
/// order in pieces: a compaction of a month of 10 000 series has millions of hour partials,
/// which are written as they are finished instead of being held in memory.
pub(crate) struct PartialWriter {
    path: PathBuf,
    file: File,
    w: ArrowWriter<File>,
}

impl PartialWriter {
    pub fn create(path: PathBuf, level: Level, effort: segment::Effort) -> Result<Self> {
        let file = File::create(&path).map_err(|e| StoreError::io(&path, e))?;
        let clone = file.try_clone().map_err(|e| StoreError::io(&path, e))?;
        let props = segment::partial_props(level, effort);
        let w = ArrowWriter::try_new(clone, partial_schema(), Some(props))
            .map_err(|e| StoreError::parquet(&path, e))?;
        Ok(PartialWriter { path, file, w })
    }

    /// Appends partials that follow every partial written before.
    pub fn write(&mut self, parts: &[Partial]) -> Result<()> {
        if parts.is_empty() {
            return Ok(());
        }
        let batch = partial_batch(&self.path, parts)?;
        self.w
            .write(&batch)
            .map_err(|e| StoreError::parquet(&self.path, e))
    }

    /// Closes and fsyncs the file; returns its size.
    pub fn finish(self) -> Result<u64> {
        self.w
            .close()
            .map_err(|e| StoreError::parquet(&self.path, e))?;
        self.file
            .sync_all()
            .map_err(|e| StoreError::io(&self.path, e))?;
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| StoreError::io(&self.path, e))
    }
}

/// Read partials of `series` (sorted, or all if `None`) with bucket start in `[from, to)`.
pub(crate) fn read_partials(
    path: &Path,
    series: Option<&[SeriesId]>,
    from: i64,
    to: i64,
) -> Result<Vec<Partial>> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let meta = segment::load_meta(&file, path)?;
    let groups = segment::prune_row_groups(&meta, path, series, None)?;
    let mut out = Vec::new();
    for rb in segment::read_groups(file, meta, path, groups, 1 << 16)? {
        let rb = rb?;
        let s = col::<UInt32Array>(&rb, 0, path)?;
        let start = col_ts(&rb, 1, path)?;
        let count = col::<UInt64Array>(&rb, 2, path)?;
        let sum = col::<Float64Array>(&rb, 3, path)?;
        let min = col::<Float64Array>(&rb, 4, path)?;
        let max = col::<Float64Array>(&rb, 5, path)?;
        let first_ts = col_ts(&rb, 6, path)?;
        let last_ts = col_ts(&rb, 7, path)?;
        let last = col::<Float64Array>(&rb, 8, path)?;
        for i in 0..rb.num_rows() {
            let sid = s.value(i);
            let st = start.value(i);
            if st < from || st >= to || series.is_some_and(|q| q.binary_search(&sid).is_err()) {
                continue;
            }
            out.push(Partial {
                series: sid,
                start: st,
                count: count.value(i),
                sum: sum.value(i),
                min: min.value(i),
                max: max.value(i),
                first_ts: first_ts.value(i),
                last_ts: last_ts.value(i),
                last: last.value(i),
            });
        }
    }
    Ok(out)
}

/// Do two partials agree (sums within floating-point reassociation error)?
pub(crate) fn partial_eq(a: &Partial, b: &Partial) -> bool {
    let tol = 1e-9
        * (1.0
            + a.sum
                .abs()
                .max(b.sum.abs())
                .max(a.max.abs().max(a.min.abs()) * a.count as f64));
    a.series == b.series
        && a.start == b.start
        && a.count == b.count
        && (a.sum - b.sum).abs() <= tol
        && a.min.to_bits() == b.min.to_bits()
        && a.max.to_bits() == b.max.to_bits()
        && a.first_ts == b.first_ts
        && a.last_ts == b.last_ts
        && a.last.to_bits() == b.last.to_bits()
}
