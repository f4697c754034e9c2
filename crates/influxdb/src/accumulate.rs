//! Partial aggregates of one bucket, and the aggregate functions computed from them.

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
}
