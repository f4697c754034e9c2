//! In-memory buffer of durable but not yet flushed points, per series.

use std::collections::hash_map::Entry;
use std::collections::BTreeMap;
use std::time::Instant;

use crate::bucket::{partition_bounds, partition_of, Partition};
use crate::segment::Batch;
use crate::{SeriesId, SeriesMap};

/// Points per series in arrival order; deduplicated (last write wins) when read.
#[derive(Clone, Default)]
pub(crate) struct Memtable {
    series: SeriesMap<Vec<(i64, f64)>>,
    pub points: usize,
    pub first_insert: Option<Instant>,
    /// Some point may share (series, ts) with persisted data.
    pub overlap: bool,
}

/// Stable sort by ts, keep the last of equal timestamps.
pub(crate) fn sort_dedup(v: &mut Vec<(i64, f64)>) {
    v.sort_by_key(|p| p.0);
    let mut out = 0;
    for i in 0..v.len() {
        if out > 0 && v[out - 1].0 == v[i].0 {
            v[out - 1] = v[i];
        } else {
            v[out] = v[i];
            out += 1;
        }
    }
    v.truncate(out);
}

impl Memtable {
    pub fn insert(&mut self, series: SeriesId, ts: i64, value: f64) {
        // A series that gets one point usually gets many before the next flush: start with
        // room for a few hours of 15-minute data instead of growing from 4.
        self.series
            .entry(series)
            .or_insert_with(|| Vec::with_capacity(32))
            .push((ts, value));
        self.points += 1;
        self.first_insert.get_or_insert_with(Instant::now);
    }

    /// Append all points of a newer memtable.
    pub fn absorb(&mut self, newer: Memtable) {
        for (s, v) in newer.series {
            match self.series.entry(s) {
                Entry::Occupied(mut e) => e.get_mut().extend(v),
                // Move the newer vector instead of copying it into an empty one.
                Entry::Vacant(e) => {
                    e.insert(v);
                }
            }
        }
        self.points += newer.points;
        self.overlap |= newer.overlap;
        if self.first_insert.is_none() {
            self.first_insert = newer.first_insert;
        }
    }

    /// Raw appended points of a series.
    pub fn raw(&self, series: SeriesId) -> &[(i64, f64)] {
        self.series
            .get(&series)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
    }

    pub fn series_ids(&self) -> impl Iterator<Item = SeriesId> + '_ {
        self.series.keys().copied()
    }

    /// (min, max) ts per series.
    pub fn ranges(&self) -> impl Iterator<Item = (SeriesId, i64, i64)> + '_ {
        self.series.iter().filter_map(|(&s, v)| {
            let min = v.iter().map(|p| p.0).min()?;
            let max = v.iter().map(|p| p.0).max()?;
            Some((s, min, max))
        })
    }

    /// Sorted, deduplicated points grouped by UTC-month partition, sorted by (series, ts).
    pub fn to_partitions(&self) -> BTreeMap<Partition, Batch> {
        let mut ids: Vec<SeriesId> = self.series.keys().copied().collect();
        ids.sort_unstable();
        type Cols = (Vec<u32>, Vec<i64>, Vec<f64>);
        // Reserve each partition's columns up front (duplicates make this an upper bound):
        // growing them by doubling would hold up to twice the memtable's size.
        let mut counts: BTreeMap<Partition, usize> = BTreeMap::new();
        for v in self.series.values() {
            let lo = v.iter().map(|p| p.0).min().map(partition_of);
            let hi = v.iter().map(|p| p.0).max().map(partition_of);
            match (lo, hi) {
                (Some(lo), Some(hi)) if lo == hi => *counts.entry(lo).or_default() += v.len(),
                _ => {
                    for &(t, _) in v {
                        *counts.entry(partition_of(t)).or_default() += 1;
                    }
                }
            }
        }
        let mut parts: BTreeMap<Partition, Cols> = counts
            .into_iter()
            .map(|(p, n)| {
                let cols = (
                    Vec::with_capacity(n),
                    Vec::with_capacity(n),
                    Vec::with_capacity(n),
                );
                (p, cols)
            })
            .collect();
        for s in ids {
            let mut pts = self.series[&s].clone();
            sort_dedup(&mut pts);
            let mut i = 0;
            while i < pts.len() {
                let p = partition_of(pts[i].0);
                let end = partition_bounds(p).1;
                let j = i + pts[i..].partition_point(|x| x.0 < end);
                let e = parts.entry(p).or_default();
                for &(t, v) in &pts[i..j] {
                    e.0.push(s);
                    e.1.push(t);
                    e.2.push(v);
                }
                i = j;
            }
        }
        parts
            .into_iter()
            .map(|(p, (s, t, v))| {
                (
                    p,
                    Batch {
                        series: s.into(),
                        ts: t.into(),
                        vals: v.into(),
                    },
                )
            })
            .collect()
    }
}

/// Points of `series` across an older and a newer memtable, sorted, newer wins.
pub(crate) fn merged(
    older: Option<&Memtable>,
    newer: &Memtable,
    series: SeriesId,
) -> Vec<(i64, f64)> {
    let mut v: Vec<(i64, f64)> = older.map(|m| m.raw(series).to_vec()).unwrap_or_default();
    v.extend_from_slice(newer.raw(series));
    sort_dedup(&mut v);
    v
}
