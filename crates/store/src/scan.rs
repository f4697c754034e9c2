//! Fast raw scan for [`crate::Store::scan_rollups`]: partials of one row group of a raw file,
//! computed directly on the decoded Parquet columns.
//!
//! Rows are sorted by (series, ts), so a batch is a sequence of series runs and every bucket of
//! a run is a contiguous slice of it: the bucket is computed once per (series, bucket) and its
//! end is found by binary search in the sorted ts slice; the slice is then folded in a tight
//! loop. Decimal values (format 2's `unscaled`/`scale` runs, format 1's DECIMAL files) are
//! folded as integers (exact sum, scaled once per bucket), so no per-value conversion to f64 is
//! needed; min, max and last are converted exactly like [`crate::segment::decode_raw`] does,
//! hence bit-identical to the stored partials.

use std::path::Path;

use arrow_array::{Array, RecordBatch, UInt32Array};
use chrono_tz::Tz;

use crate::bucket::{bucket, MAX_BUCKET_MS};
use crate::error::Result;
use crate::rollup::Partial;
use crate::segment::{col, col_ts, read_columns, scan_projection, RawValues, SegmentFile, POW10};
use crate::{Level, SeriesId, StoreError, TzMap};

/// Rows decoded per record batch: big enough to amortise per-batch work, small enough for the
/// buffers to stay in cache and be reused by the allocator.
const SCAN_BATCH: usize = 1 << 16;

/// A value type that can be folded into a bucket aggregate.
trait Val: Copy {
    type Sum: Copy;
    const ZERO: Self::Sum;
    const MIN_INIT: Self;
    const MAX_INIT: Self;
    /// Fold `xs` (non-empty) into (sum, min, max).
    fn fold(acc: (Self::Sum, Self, Self), xs: &[Self]) -> (Self::Sum, Self, Self);
    fn value(self, pow: f64) -> f64;
    fn total(s: Self::Sum, pow: f64) -> f64;
}

impl Val for f64 {
    type Sum = f64;
    const ZERO: f64 = 0.0;
    const MIN_INIT: f64 = f64::INFINITY;
    const MAX_INIT: f64 = f64::NEG_INFINITY;
    fn fold((mut sum, mut min, mut max): (f64, f64, f64), xs: &[f64]) -> (f64, f64, f64) {
        for &v in xs {
            sum += v;
            min = min.min(v);
            max = max.max(v);
        }
        (sum, min, max)
    }
    fn value(self, _: f64) -> f64 {
        self
    }
    fn total(s: f64, _: f64) -> f64 {
        s
    }
}

impl Val for i64 {
    type Sum = i128;
    const ZERO: i128 = 0;
    const MIN_INIT: i64 = i64::MAX;
    const MAX_INIT: i64 = i64::MIN;
    fn fold((sum, min, max): (i128, i64, i64), xs: &[i64]) -> (i128, i64, i64) {
        // Four independent lanes break the min/max dependency chains; the i64 sum wraps and is
        // exact whenever the true sum fits, which the bound below guarantees (always, for
        // values the store writes: |unscaled| < 1e15); otherwise it is redone in i128.
        let (mut lo, mut hi, mut acc) = ([i64::MAX; 4], [i64::MIN; 4], [0i64; 4]);
        let mut chunks = xs.chunks_exact(4);
        for c in &mut chunks {
            for k in 0..4 {
                lo[k] = lo[k].min(c[k]);
                hi[k] = hi[k].max(c[k]);
                acc[k] = acc[k].wrapping_add(c[k]);
            }
        }
        for (k, &v) in chunks.remainder().iter().enumerate() {
            lo[k] = lo[k].min(v);
            hi[k] = hi[k].max(v);
            acc[k] = acc[k].wrapping_add(v);
        }
        let lo = lo.into_iter().fold(i64::MAX, i64::min);
        let hi = hi.into_iter().fold(i64::MIN, i64::max);
        let bound = lo.unsigned_abs().max(hi.unsigned_abs());
        let s = if bound.saturating_mul(xs.len() as u64) <= i64::MAX as u64 {
            acc.into_iter().fold(0i64, i64::wrapping_add) as i128
        } else {
            xs.iter().map(|&v| v as i128).sum()
        };
        (sum + s, min.min(lo), max.max(hi))
    }
    fn value(self, pow: f64) -> f64 {
        self as f64 / pow
    }
    fn total(s: i128, pow: f64) -> f64 {
        s as f64 / pow
    }
}

struct Acc<V: Val> {
    series: SeriesId,
    /// 10^scale of the run's unscaled integers (1 for f64).
    pow: f64,
    start: i64,
    end: i64,
    count: u64,
    sum: V::Sum,
    min: V,
    max: V,
    first_ts: i64,
    last_ts: i64,
    last: V,
}

/// Streaming partials of one level over runs sorted by (series, ts) without duplicates.
pub(crate) struct Scanner<'a> {
    tzs: &'a TzMap,
    level: Level,
    from: i64,
    to: i64,
    ts_hi: i64,
    series: Option<&'a [SeriesId]>,
    out: Vec<Partial>,
}

/// The open bucket of values of one type.
struct Typed<V: Val> {
    cur: Option<Acc<V>>,
}

impl<V: Val> Typed<V> {
    fn new() -> Self {
        Typed { cur: None }
    }

    fn emit(&mut self, sc: &mut Scanner<'_>) {
        if let Some(c) = self.cur.take() {
            if c.start >= sc.from && c.start < sc.to {
                sc.out.push(Partial {
                    series: c.series,
                    start: c.start,
                    count: c.count,
                    sum: V::total(c.sum, c.pow),
                    min: c.min.value(c.pow),
                    max: c.max.value(c.pow),
                    first_ts: c.first_ts,
                    last_ts: c.last_ts,
                    last: c.last.value(c.pow),
                });
            }
        }
    }

    /// Add a batch sorted by (series, ts), its values all of one power of ten.
    fn push_batch(
        &mut self,
        sc: &mut Scanner<'_>,
        series: &[u32],
        ts: &[i64],
        vals: &[V],
        pow: f64,
    ) {
        let mut i = 0;
        while i < series.len() {
            let s = series[i];
            let j = i + series[i..].partition_point(|&x| x == s);
            if sc.series.is_none_or(|q| q.binary_search(&s).is_ok()) {
                self.push_run(sc, s, &ts[i..j], &vals[i..j], pow);
            }
            i = j;
        }
    }

    /// Add the points of one series (one power of ten for all of them).
    fn push_run(
        &mut self,
        sc: &mut Scanner<'_>,
        series: SeriesId,
        ts: &[i64],
        vals: &[V],
        pow: f64,
    ) {
        let a = ts.partition_point(|&t| t < sc.from);
        let z = ts.partition_point(|&t| t < sc.ts_hi);
        let (ts, vals) = (&ts[a..z], &vals[a..z]);
        let mut i = 0;
        while i < ts.len() {
            let cont = matches!(&self.cur, Some(c) if c.series == series && ts[i] < c.end);
            if !cont {
                self.emit(sc);
                let tz = sc.tzs.get(&series).copied().unwrap_or(Tz::UTC);
                let (start, end) = bucket(sc.level, tz, ts[i]);
                self.cur = Some(Acc {
                    series,
                    pow,
                    start,
                    end,
                    count: 0,
                    sum: V::ZERO,
                    min: V::MIN_INIT,
                    max: V::MAX_INIT,
                    first_ts: ts[i],
                    last_ts: ts[i],
                    last: vals[i],
                });
            }
            let Some(c) = self.cur.as_mut() else {
                return;
            };
            let j = i + ts[i..].partition_point(|&t| t < c.end);
            (c.sum, c.min, c.max) = V::fold((c.sum, c.min, c.max), &vals[i..j]);
            c.count += (j - i) as u64;
            c.last_ts = ts[j - 1];
            c.last = vals[j - 1];
            i = j;
        }
    }
}

impl<'a> Scanner<'a> {
    /// Buckets of `level` with start in `[from, to)` of `series` (sorted; `None` = all).
    pub fn new(
        tzs: &'a TzMap,
        level: Level,
        from: i64,
        to: i64,
        series: Option<&'a [SeriesId]>,
    ) -> Self {
        Scanner {
            tzs,
            level,
            from,
            to,
            ts_hi: to.saturating_add(MAX_BUCKET_MS),
            series,
            out: Vec::new(),
        }
    }

    /// Partials of row group `g` of the raw file of `f`.
    pub fn scan_group(mut self, f: &SegmentFile, g: usize) -> Result<Vec<Partial>> {
        let (file, meta) = f.open_raw()?;
        let path = f.raw_path();
        let (mut ints, mut floats) = (Typed::<i64>::new(), Typed::<f64>::new());
        let projection = scan_projection(&meta, g);
        for rb in read_columns(file, meta, &path, vec![g], SCAN_BATCH, projection)? {
            let rb = rb?;
            let (series, ts) = keys(&rb, &path)?;
            match RawValues::of(&rb, &path)? {
                RawValues::Decimal(v, pow) => ints.push_batch(&mut self, series, ts, v, pow),
                RawValues::Double(v) => floats.push_batch(&mut self, series, ts, v, 1.0),
                RawValues::Split {
                    unscaled,
                    scale,
                    double,
                } => {
                    // Each series run of a file has one encoding (see RawWriter): decimal runs
                    // fold as integers, double runs as f64.
                    let unscaled = unscaled.values();
                    let double = double.map(|d| d.values());
                    let mut i = 0;
                    while i < series.len() {
                        let s = series[i];
                        let j = i + series[i..].partition_point(|&x| x == s);
                        if self.series.is_some_and(|q| q.binary_search(&s).is_err()) {
                            i = j;
                            continue;
                        }
                        let nulls = scale.slice(i, j - i).null_count();
                        if nulls != 0 && nulls != j - i {
                            return Err(StoreError::corrupt(&path, "mixed encodings in a run"));
                        }
                        // Bucket order across the two accumulators: close the other's bucket.
                        if nulls == 0 {
                            floats.emit(&mut self);
                            let pow = POW10
                                .get(scale.value(i) as usize)
                                .copied()
                                .ok_or_else(|| StoreError::corrupt(&path, "bad scale"))?;
                            ints.push_run(&mut self, s, &ts[i..j], &unscaled[i..j], pow);
                        } else {
                            let double = double
                                .ok_or_else(|| StoreError::corrupt(&path, "no value column"))?;
                            ints.emit(&mut self);
                            floats.push_run(&mut self, s, &ts[i..j], &double[i..j], 1.0);
                        }
                        i = j;
                    }
                }
            }
        }
        ints.emit(&mut self);
        floats.emit(&mut self);
        Ok(self.out)
    }
}

/// The non-null `series` and `ts` columns of a raw record batch.
fn keys<'b>(rb: &'b RecordBatch, path: &Path) -> Result<(&'b [u32], &'b [i64])> {
    if rb.column(0).null_count() > 0 || rb.column(1).null_count() > 0 {
        return Err(StoreError::corrupt(path, "raw segment: null series or ts"));
    }
    let series = col::<UInt32Array>(rb, 0, path)?.values();
    let ts = col_ts(rb, 1, path)?.values();
    Ok((series, ts))
}
