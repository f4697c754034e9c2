//! Reading the store for a SELECT: batches of series over windows of time, folded at once into
//! bucket accumulators (aggregates) or gathered as points (raw selections), so that memory
//! stays bounded by the answer, not by what is scanned.

use std::collections::HashMap;

use shulv_store::{Level, Store};

use crate::accumulate::{BucketAccs, Need};
use crate::buckets::Buckets;
use crate::catalog::SeriesRef;

const HOUR_MS: i64 = 3_600_000;
/// Series read together.
const BATCH: usize = 1000;
/// Points (or hour rollups) aimed at per read.
const POINTS_PER_READ: i64 = 2_000_000;
/// Most points a query may keep in memory for `percentile`, `median` and `stddev`.
pub const MAX_POINTS: usize = 5_000_000;
/// Most points a raw selection may answer (each becomes a row of the answer).
pub const MAX_ROWS: usize = 1_000_000;

/// Where each store series goes: its group and the factor to the unit of the `unit` tag.
struct Members {
    of: HashMap<u32, (usize, usize, f64)>,
    ids: Vec<u32>,
    min_interval: i64,
}

impl Members {
    fn new(groups: &[Vec<&SeriesRef>]) -> Members {
        let mut of = HashMap::new();
        let mut min_interval = i64::MAX;
        for (g, members) in groups.iter().enumerate() {
            for (i, s) in members.iter().enumerate() {
                of.insert(s.store, (g, i, s.factor));
                min_interval = min_interval.min(s.interval_ms);
            }
        }
        let mut ids: Vec<u32> = of.keys().copied().collect();
        ids.sort_unstable();
        Members {
            of,
            ids,
            min_interval: min_interval.max(1),
        }
    }

    /// Windows of `[from, to)` for a batch of `n` series, each about [`POINTS_PER_READ`] points.
    fn windows(&self, n: usize, from: i64, to: i64, rollups: bool) -> Vec<(i64, i64)> {
        let step = if rollups { HOUR_MS } else { self.min_interval };
        let width = (POINTS_PER_READ / n.max(1) as i64)
            .max(1)
            .saturating_mul(step);
        let width = width.div_euclid(HOUR_MS).max(1) * HOUR_MS;
        let mut out = Vec::new();
        let mut w = from;
        while w < to {
            let end = w.saturating_add(width).min(to);
            out.push((w, end));
            w = end;
        }
        out
    }
}

/// Accumulates the points of every group's series in `[from, to)` into `buckets` (whose starts
/// over the range are `starts`): from hour rollups over the whole hours of the range when `need`
/// allows it and the buckets are whole hours, from raw points otherwise (and for the range's
/// partial hours).
pub fn aggregate(
    store: &Store,
    groups: &[Vec<&SeriesRef>],
    (from, to): (i64, i64),
    buckets: &Buckets,
    starts: &[i64],
    need: Need,
) -> Result<Vec<BucketAccs>, String> {
    let members = Members::new(groups);
    let width = match *buckets {
        Buckets::Whole { .. } => Some(1),
        Buckets::Every { interval, .. } => buckets.fixed_offset(from, to).then_some(interval),
    };
    let mut out = BucketAccs::for_groups(groups.len(), starts, width);
    let keep = need == Need::Values;
    if keep {
        let estimate: i64 = groups
            .iter()
            .flatten()
            .map(|s| (to.saturating_sub(from)) / s.interval_ms.max(1))
            .fold(0i64, i64::saturating_add);
        if estimate > MAX_POINTS as i64 {
            return Err(too_many_points(estimate, MAX_POINTS));
        }
    }
    let first_hour = from.div_euclid(HOUR_MS) * HOUR_MS
        + if from.rem_euclid(HOUR_MS) == 0 {
            0
        } else {
            HOUR_MS
        };
    let last_hour = to.div_euclid(HOUR_MS) * HOUR_MS;
    let by_rollups =
        need == Need::Rollups && buckets.hour_aligned(from, to) && first_hour < last_hour;
    let raw_parts = if by_rollups {
        vec![(from, first_hour), (last_hour, to)]
    } else {
        vec![(from, to)]
    };
    let mut kept = 0usize;
    for batch in members.ids.chunks(BATCH) {
        for &(a, b) in raw_parts.iter().filter(|(a, b)| a < b) {
            for (w0, w1) in members.windows(batch.len(), a, b, false) {
                let points = store
                    .raw_many(batch, &[(w0, w1)])
                    .map_err(|e| e.to_string())?;
                for (id, pts) in points {
                    let Some(&(g, _, factor)) = members.of.get(&id) else {
                        continue;
                    };
                    kept += if keep { pts.len() } else { 0 };
                    if kept > MAX_POINTS {
                        return Err(too_many_points(kept as i64, MAX_POINTS));
                    }
                    let group = &mut out[g];
                    for (ts, v) in pts {
                        group
                            .entry(buckets.start(ts))
                            .add_point(ts, v * factor, keep);
                    }
                }
            }
        }
        if by_rollups {
            for (w0, w1) in members.windows(batch.len(), first_hour, last_hour, true) {
                let rows = store
                    .rollup_parts(batch, Level::Hour, w0, w1)
                    .map_err(|e| e.to_string())?;
                for r in rows {
                    if let Some(&(g, _, factor)) = members.of.get(&r.series) {
                        out[g]
                            .entry(buckets.start(r.bucket_start))
                            .add_rollup(&r, factor);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// A stored point of a raw selection: time, value in the `unit` tag's unit, and the index of
/// its series in the group.
pub type RawPoint = (i64, f64, usize);

/// The points of every group in `[from, to)`, in time order (newest first if `descending`),
/// each group merged over its series; at most `wanted` per group, and reading stops once every
/// group has them.
pub fn points(
    store: &Store,
    groups: &[Vec<&SeriesRef>],
    from: i64,
    to: i64,
    descending: bool,
    wanted: Option<usize>,
) -> Result<Vec<Vec<RawPoint>>, String> {
    let members = Members::new(groups);
    let mut out: Vec<Vec<RawPoint>> = vec![Vec::new(); groups.len()];
    let mut windows = members.windows(members.ids.len(), from, to, false);
    if descending {
        windows.reverse();
    }
    let mut total = 0usize;
    for (w0, w1) in windows {
        let mut fresh: Vec<Vec<RawPoint>> = vec![Vec::new(); groups.len()];
        for batch in members.ids.chunks(BATCH) {
            for (id, pts) in store
                .raw_many(batch, &[(w0, w1)])
                .map_err(|e| e.to_string())?
            {
                if let Some(&(g, i, factor)) = members.of.get(&id) {
                    total += pts.len();
                    fresh[g].extend(pts.into_iter().map(|(ts, v)| (ts, v * factor, i)));
                }
            }
        }
        for (g, mut pts) in fresh.into_iter().enumerate() {
            pts.sort_by_key(|p| (p.0, p.2));
            if descending {
                pts.reverse();
            }
            out[g].extend(pts);
            if let Some(n) = wanted {
                out[g].truncate(n);
            }
        }
        if wanted.is_some_and(|n| out.iter().all(|g| g.len() >= n)) {
            break;
        }
        if out.iter().map(Vec::len).sum::<usize>() > MAX_ROWS {
            return Err(too_many_points(total as i64, MAX_ROWS));
        }
    }
    Ok(out)
}

fn too_many_points(n: i64, limit: usize) -> String {
    format!(
        "max-select-point limit exceeded: the query reads about {n} points, more than the {limit} shulv keeps for one query of this kind; narrow the time range, add LIMIT, or aggregate with GROUP BY time()"
    )
}
