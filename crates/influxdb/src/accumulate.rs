//! Partial aggregates of one bucket, and the aggregate functions computed from them.

use std::collections::BTreeMap;

use shulv_influxql::Function;
use shulv_store::Rollup;

/// Everything the aggregate functions of a query need from the points of one bucket.
#[derive(Debug, Clone)]
pub struct Acc {
    /// Number of points.
    pub count: u64,
    sum: f64,
    min: (i64, f64),
    max: (i64, f64),
    first: (i64, f64),
    last: (i64, f64),
    /// The points themselves, kept only for the functions that need them all.
    values: Vec<(i64, f64)>,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            count: 0,
            sum: 0.0,
            min: (i64::MAX, f64::INFINITY),
            max: (i64::MAX, f64::NEG_INFINITY),
            first: (i64::MAX, f64::NAN),
            last: (i64::MIN, f64::NAN),
            values: Vec::new(),
        }
    }
}

impl Acc {
    /// Adds one point; `keep` keeps it for [`Need::Values`] functions.
    pub fn add_point(&mut self, ts: i64, v: f64, keep: bool) {
        self.count += 1;
        self.sum += v;
        // Ties go to the earliest point, as InfluxDB's selectors do.
        if v < self.min.1 || (v == self.min.1 && ts < self.min.0) {
            self.min = (ts, v);
        }
        if v > self.max.1 || (v == self.max.1 && ts < self.max.0) {
            self.max = (ts, v);
        }
        if ts < self.first.0 {
            self.first = (ts, v);
        }
        if ts >= self.last.0 {
            self.last = (ts, v);
        }
        if keep {
            self.values.push((ts, v));
        }
    }

    /// Adds an hour rollup whose values are multiplied by `factor` (positive). Minimum and
    /// maximum get the hour's start as their time: plans that show selector times read raw
    /// points instead.
    pub fn add_rollup(&mut self, r: &Rollup, factor: f64) {
        self.count += r.count;
        self.sum += r.sum * factor;
        let (min, max) = (r.min * factor, r.max * factor);
        if min < self.min.1 {
            self.min = (r.bucket_start, min);
        }
        if max > self.max.1 {
            self.max = (r.bucket_start, max);
        }
        if r.last_ts >= self.last.0 {
            self.last = (r.last_ts, r.last * factor);
        }
    }
}

/// Most buckets of one query kept in dense vectors (about 100 bytes each); beyond, in maps
/// holding only the buckets that have points.
const MAX_DENSE: usize = 1_000_000;

/// The accumulators of one group, by bucket start.
#[derive(Debug, Clone)]
pub enum BucketAccs {
    /// Every bucket of a regular grid, indexed by `(start - first) / width`.
    Dense {
        /// Start of the first bucket.
        first: i64,
        /// Bucket width in ms.
        width: i64,
        /// One accumulator per bucket.
        accs: Vec<Acc>,
    },
    /// Only the buckets that have points.
    Sparse(BTreeMap<i64, Acc>),
}

impl BucketAccs {
    /// Accumulators for `groups` groups over the bucket starts `starts` of a grid of `width`
    /// ms (`None`: not a regular grid): dense when the grid is regular and small enough.
    pub fn for_groups(groups: usize, starts: &[i64], width: Option<i64>) -> Vec<BucketAccs> {
        let dense = width.filter(|_| {
            groups.saturating_mul(starts.len()) <= MAX_DENSE
                && starts.windows(2).all(|w| Some(w[1] - w[0]) == width)
        });
        let make = || match (dense, starts.first()) {
            (Some(width), Some(&first)) => BucketAccs::Dense {
                first,
                width,
                accs: vec![Acc::default(); starts.len()],
            },
            _ => BucketAccs::Sparse(BTreeMap::new()),
        };
        (0..groups).map(|_| make()).collect()
    }

    /// The accumulator of the bucket starting at `start`.
    pub fn entry(&mut self, start: i64) -> &mut Acc {
        let index = self.dense_index(start);
        match (index, self) {
            (Some(i), BucketAccs::Dense { accs, .. }) => &mut accs[i],
            (_, this) => {
                // Outside the grid (never for instants inside the range): keep it anyway.
                if let BucketAccs::Dense { first, width, accs } = this {
                    let map = std::mem::take(accs)
                        .into_iter()
                        .enumerate()
                        .map(|(k, a)| (*first + k as i64 * *width, a))
                        .collect();
                    *this = BucketAccs::Sparse(map);
                }
                match this {
                    BucketAccs::Sparse(map) => map.entry(start).or_default(),
                    BucketAccs::Dense { .. } => unreachable!("made sparse above"),
                }
            }
        }
    }

    /// The index of `start` in a dense grid.
    fn dense_index(&self, start: i64) -> Option<usize> {
        match self {
            BucketAccs::Dense { first, width, accs } => {
                let offset = start - first;
                (offset % width == 0)
                    .then(|| usize::try_from(offset / width).ok())
                    .flatten()
                    .filter(|&i| i < accs.len())
            }
            BucketAccs::Sparse(_) => None,
        }
    }

    /// The accumulator of the bucket starting at `start`, if it has one.
    pub fn get(&self, start: i64) -> Option<&Acc> {
        match self {
            BucketAccs::Dense { accs, .. } => self.dense_index(start).map(|i| &accs[i]),
            BucketAccs::Sparse(map) => map.get(&start),
        }
    }

    /// True if no bucket has a point.
    pub fn is_empty(&self) -> bool {
        match self {
            BucketAccs::Dense { accs, .. } => accs.iter().all(|a| a.count == 0),
            BucketAccs::Sparse(map) => map.values().all(|a| a.count == 0),
        }
    }
}

/// What an aggregate function needs beyond counts, sums, extremes and the last point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// Hour rollups are enough.
    Rollups,
    /// The first point: raw points.
    First,
    /// Every value: raw points, kept.
    Values,
}

/// An aggregate function of the query, with its parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AggSpec {
    /// The function (an aggregate or selector).
    pub function: Function,
    /// `percentile`'s N.
    pub percentile: f64,
}

impl AggSpec {
    /// True for the functions this module computes.
    pub fn is_aggregate(f: Function) -> bool {
        use Function::*;
        matches!(
            f,
            Count | Mean | Median | Spread | Stddev | Sum | First | Last | Max | Min | Percentile
        )
    }

    /// What the function needs.
    pub fn need(&self) -> Need {
        use Function::*;
        match self.function {
            Median | Stddev | Percentile => Need::Values,
            First => Need::First,
            _ => Need::Rollups,
        }
    }

    /// True for selectors, whose value is one point with its own time.
    pub fn is_selector(&self) -> bool {
        use Function::*;
        matches!(self.function, First | Last | Max | Min | Percentile)
    }

    /// The value of the function over `acc`, with the time of the selected point for
    /// selectors; `None` when there is none (no points, or too few).
    pub fn value(&self, acc: &Acc) -> Option<(f64, Option<i64>)> {
        use Function::*;
        if acc.count == 0 {
            return None;
        }
        let n = acc.count as f64;
        Some(match self.function {
            Count => (n, None),
            Sum => (acc.sum, None),
            Mean => (acc.sum / n, None),
            Spread => (acc.max.1 - acc.min.1, None),
            Min => (acc.min.1, Some(acc.min.0)),
            Max => (acc.max.1, Some(acc.max.0)),
            First => (acc.first.1, Some(acc.first.0)),
            Last => (acc.last.1, Some(acc.last.0)),
            Median => (median(&acc.values)?, None),
            Stddev => (stddev(&acc.values)?, None),
            Percentile => {
                let (ts, v) = percentile(&acc.values, self.percentile)?;
                (v, Some(ts))
            }
            _ => return None,
        })
    }
}

fn sorted_values(points: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut v = points.to_vec();
    v.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    v
}

fn median(points: &[(i64, f64)]) -> Option<f64> {
    let v = sorted_values(points);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2].1),
        _ => Some((v[n / 2 - 1].1 + v[n / 2].1) / 2.0),
    }
}

/// Sample standard deviation, as InfluxDB computes it (`None` below two points).
fn stddev(points: &[(i64, f64)]) -> Option<f64> {
    let n = points.len();
    if n < 2 {
        return None;
    }
    let mean = points.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let squares: f64 = points.iter().map(|p| (p.1 - mean).powi(2)).sum();
    Some((squares / (n - 1) as f64).sqrt())
}

/// InfluxDB's nearest-rank percentile: the value at rank `round(n × p / 100)`.
fn percentile(points: &[(i64, f64)], p: f64) -> Option<(i64, f64)> {
    let v = sorted_values(points);
    let rank = (v.len() as f64 * p / 100.0 + 0.5).floor() as i64 - 1;
    usize::try_from(rank).ok().and_then(|i| v.get(i).copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(points: &[(i64, f64)]) -> Acc {
        let mut a = Acc::default();
        for &(t, v) in points {
            a.add_point(t, v, true);
        }
        a
    }

    fn value(f: Function, p: f64, a: &Acc) -> Option<f64> {
        AggSpec {
            function: f,
            percentile: p,
        }
        .value(a)
        .map(|v| v.0)
    }

    #[test]
    fn aggregates_of_points() {
        let a = acc(&[(3, 4.0), (1, 2.0), (2, 9.0), (4, 5.0)]);
        assert_eq!(value(Function::Count, 0.0, &a), Some(4.0));
        assert_eq!(value(Function::Sum, 0.0, &a), Some(20.0));
        assert_eq!(value(Function::Mean, 0.0, &a), Some(5.0));
        assert_eq!(value(Function::Spread, 0.0, &a), Some(7.0));
        assert_eq!(value(Function::First, 0.0, &a), Some(2.0));
        assert_eq!(value(Function::Last, 0.0, &a), Some(5.0));
        assert_eq!(value(Function::Median, 0.0, &a), Some(4.5));
        // Nearest rank: n = 4, p = 50 → rank 2 → the second smallest.
        assert_eq!(value(Function::Percentile, 50.0, &a), Some(4.0));
        assert_eq!(value(Function::Percentile, 100.0, &a), Some(9.0));
        assert_eq!(value(Function::Percentile, 1.0, &a), None);
        let sd = value(Function::Stddev, 0.0, &a).unwrap();
        assert!((sd - (26.0f64 / 3.0).sqrt()).abs() < 1e-12);
        let empty = Acc::default();
        assert_eq!(value(Function::Count, 0.0, &empty), None);
        assert_eq!(value(Function::Sum, 0.0, &empty), None);
    }

    #[test]
    fn dense_buckets_fall_back_to_a_map_outside_their_grid() {
        let mut groups = BucketAccs::for_groups(2, &[0, 10, 20], Some(10));
        assert!(matches!(groups[0], BucketAccs::Dense { .. }));
        groups[0].entry(10).add_point(12, 1.0, false);
        groups[0].entry(20).add_point(25, 2.0, false);
        assert_eq!(groups[0].get(10).map(|a| a.count), Some(1));
        assert!(groups[1].is_empty());
        groups[0].entry(35).add_point(35, 3.0, false);
        assert!(matches!(groups[0], BucketAccs::Sparse(_)));
        let counts: Vec<u64> = [0, 10, 20, 35]
            .iter()
            .map(|&s| groups[0].get(s).map_or(9, |a| a.count))
            .collect();
        assert_eq!(counts, [0, 1, 1, 1]);
        // Irregular starts (a daylight-saving change) are kept in maps from the start.
        let irregular = BucketAccs::for_groups(1, &[0, 10, 30], Some(10));
        assert!(matches!(irregular[0], BucketAccs::Sparse(_)));
    }
}
