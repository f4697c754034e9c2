//! The exact 15-minute maximum demand (最大需量) of a node's electricity over a range — the
//! figure a two-part bill charges — without reading the range's raw points.
//!
//! The bill sums the node's electricity meters per quarter-hour and takes the largest sum
//! ([`shulv_tariff::MaxDemand`]). Here the hourly rollups bound every UTC hour first:
//!
//! - *lower*: the node's energy of the hour (kWh) is its mean demand (kW), and one of its four
//!   quarter-hours is at least the mean;
//! - *upper*: each meter adds at most [`quarter_bound`] of its hourly rollup to any one
//!   quarter-hour, so their sum bounds the hour's highest quarter-hour. The rollups keep the
//!   largest stored point, i.e. the largest interval quantity (interval meters), register
//!   difference (registers) or integrated power piece (power meters), not the largest
//!   quarter-hour: how many points share a quarter-hour follows from the meter's `interval_s`,
//!   assuming its points are at least that far apart. An hour holding more points than that
//!   spacing allows is bounded without the assumption; readings bunched into one quarter-hour
//!   of an hour that still holds no more points than allowed are not detected.
//!
//! Only hours whose upper bound reaches the best lower bound can hold the peak; their raw points
//! are read in one batched pass ([`shulv_store::Store::raw_many`]) and summed per quarter-hour in
//! the bill's order, so the answer equals the bill's. Hours cut by the range's ends (zones a
//! half hour off UTC) are always read. When the points read do not match the rollups' counts
//! (raw points past retention, a write in between) or the zone's offset is not a whole number of
//! quarter-hours, the whole range is read instead.

use std::collections::BTreeMap;

use serde::Serialize;
use shulv_model::{bucket_start, Bucket, Carrier, Unit};
use shulv_store::Level;
use shulv_tariff::MaxDemand;

use crate::query::{group_unit, whole_offsets};
use crate::{Period, Platform, PlatformError};

const HOUR_MS: i64 = 3_600_000;
const QUARTER_MS: i64 = 900_000;

/// The maximum 15-minute demand of a node's electricity over a range.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PeakDemand {
    /// The period, e.g. `2025-12`.
    pub period: String,
    /// Largest mean import over one quarter-hour, kW (0 without import).
    pub kw: f64,
    /// Start of that quarter-hour (ms UTC); `null` without import.
    pub at_ms: Option<i64>,
    /// Hours of the range with electricity data.
    pub hours: usize,
    /// Hours whose raw points were read (the rest were ruled out by their rollups).
    pub hours_read: usize,
    /// Electricity meters summed.
    pub meters: usize,
}

/// One electricity meter of the node: its quantity series, factor to kWh and the most points
/// it can store in one quarter-hour and in one hour if its points are `interval_s` apart.
struct Member {
    series: u32,
    to_kwh: f64,
    per_quarter: u64,
    per_hour: u64,
}

impl Member {
    fn new(series: u32, to_kwh: f64, interval_s: u32) -> Self {
        let spacing = i64::from(interval_s.max(1)) * 1000;
        let most = |window: i64| ((window - 1) / spacing + 1) as u64;
        Member {
            series,
            to_kwh,
            per_quarter: most(QUARTER_MS),
            per_hour: most(HOUR_MS),
        }
    }
}

/// Upper bound of the energy a meter stores in any one quarter-hour of an hour whose rollup
/// holds `count` points summing to `sum`, each in `[min, max]`, at most `per_quarter` of them
/// in one quarter-hour. With `j` points inside, the quarter holds at most `j × max` and at most
/// `sum − (count − j) × min` (the others hold at least `min` each); an empty quarter holds 0.
pub(crate) fn quarter_bound(count: u64, sum: f64, min: f64, max: f64, per_quarter: u64) -> f64 {
    (1..=per_quarter.min(count))
        .map(|j| (j as f64 * max).min(sum - (count - j) as f64 * min))
        .fold(0.0, f64::max)
}

/// Lower and upper bound (kW) of the highest quarter-hour of one hour.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct HourBound {
    /// The hour's mean demand, if all of the hour lies inside the range.
    pub lower: Option<f64>,
    /// Sum of the meters' quarter-hour bounds ÷ 0.25 h.
    pub upper: f64,
    /// Points the rollups hold for the hour.
    pub count: u64,
}

/// Hours (start ms) that may hold the highest quarter-hour: upper bound at least the best lower
/// bound (within rounding), and every hour without a lower bound.
pub(crate) fn candidates(hours: &BTreeMap<i64, HourBound>) -> Vec<i64> {
    let best = hours
        .values()
        .filter_map(|h| h.lower)
        .fold(f64::NEG_INFINITY, f64::max);
    let slack = 1e-9 * (1.0 + best.abs());
    hours
        .iter()
        .filter(|(_, h)| h.lower.is_none() || h.upper + slack >= best)
        .map(|(&start, _)| start)
        .collect()
}

/// Do the points read hold as many points in each hour read whole as its rollups count? Not
/// when raw points were dropped (retention) or written in between: then the bounds may be
/// wrong, and the whole range is read.
fn counts_match(
    hours: &BTreeMap<i64, HourBound>,
    read: &[i64],
    points: &BTreeMap<u32, Vec<(i64, f64)>>,
) -> bool {
    let mut found: BTreeMap<i64, u64> = BTreeMap::new();
    for &(ts, _) in points.values().flatten() {
        *found.entry(ts.div_euclid(HOUR_MS) * HOUR_MS).or_default() += 1;
    }
    read.iter().all(|h| {
        let bound = &hours[h];
        bound.lower.is_none() || found.get(h).copied().unwrap_or(0) == bound.count
    })
}

impl Platform {
    /// The maximum 15-minute demand of the electricity meters below `node` in `period` (in the
    /// node's time zone), equal to what [`Platform::bill`] charges for a month.
    pub fn peak_demand(&self, node: &str, period: Period) -> Result<PeakDemand, PlatformError> {
        let (from, to) = self.period_range(node, period)?;
        let (members, tz) = {
            let registry = self.registry.read();
            let tree = registry.tree();
            if tree.node(node).is_none() {
                return Err(PlatformError::NotFound(format!("node '{node}'")));
            }
            let members: Vec<Member> = tree
                .subtree_meters(node)
                .into_iter()
                .filter(|m| m.carrier == Carrier::Electricity)
                .filter(|m| group_unit(m.carrier, m.quantity_unit()) == Unit::KWh)
                .filter_map(|m| {
                    let series = registry.series_of(&m.id)?;
                    let to_kwh = m.quantity_unit().convert(1.0, Unit::KWh).ok()?;
                    Some(Member::new(
                        series.quantity,
                        to_kwh,
                        m.effective_interval_s(),
                    ))
                })
                .collect();
            (members, tree.timezone_of_node(node))
        };
        let ids: Vec<u32> = members.iter().map(|m| m.series).collect();
        let hours = self.hour_bounds(&members, from, to)?;
        let mut read_hours = candidates(&hours);
        let mut points = BTreeMap::new();
        if whole_offsets(tz, from, to, QUARTER_MS / 1000) {
            let ranges: Vec<(i64, i64)> = read_hours
                .iter()
                .map(|&h| (h.max(from), (h + HOUR_MS).min(to)))
                .collect();
            points = self.store.raw_many(&ids, &ranges)?;
        }
        if points.is_empty() || !counts_match(&hours, &read_hours, &points) {
            read_hours = hours.keys().copied().collect();
            points = self.store.raw_many(&ids, &[(from, to)])?;
        }
        // Per quarter-hour, meter by meter in the registry's order, as the node query sums them.
        let mut quarters: BTreeMap<i64, f64> = BTreeMap::new();
        for m in &members {
            let mut own: BTreeMap<i64, f64> = BTreeMap::new();
            for &(ts, v) in points.get(&m.series).map_or(&[][..], Vec::as_slice) {
                *own.entry(bucket_start(ts, Bucket::Min15, tz)).or_default() += v;
            }
            for (q, kwh) in own {
                *quarters.entry(q).or_default() += kwh * m.to_kwh;
            }
        }
        let mut peak = MaxDemand::default();
        for (&q, &kwh) in quarters.range(from..to) {
            peak.add(q, kwh, 0.25);
        }
        Ok(PeakDemand {
            period: period.to_string(),
            kw: peak.kw,
            at_ms: peak.at_ms,
            hours: hours.len(),
            hours_read: read_hours.len(),
            meters: members.len(),
        })
    }

    /// Bounds of every UTC hour of `[from, to)` with data, from the meters' hourly rollups.
    fn hour_bounds(
        &self,
        members: &[Member],
        from: i64,
        to: i64,
    ) -> Result<BTreeMap<i64, HourBound>, PlatformError> {
        let by_series: BTreeMap<u32, &Member> = members.iter().map(|m| (m.series, m)).collect();
        let ids: Vec<u32> = by_series.keys().copied().collect();
        let first = from.div_euclid(HOUR_MS) * HOUR_MS;
        let mut hours: BTreeMap<i64, HourBound> = BTreeMap::new();
        for r in self.store.rollups(&ids, Level::Hour, first, to)? {
            let Some(m) = by_series.get(&r.series) else {
                continue;
            };
            // More points than the meter's interval allows: no assumption on their spacing.
            let per_quarter = if r.count > m.per_hour {
                r.count
            } else {
                m.per_quarter
            };
            let bound = quarter_bound(r.count, r.sum, r.min, r.max, per_quarter);
            let inside = r.bucket_start >= from && r.bucket_start + HOUR_MS <= to;
            let h = hours.entry(r.bucket_start).or_default();
            h.upper += bound * m.to_kwh / 0.25;
            h.count += r.count;
            if inside {
                *h.lower.get_or_insert(0.0) += r.sum * m.to_kwh;
            }
        }
        Ok(hours)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound of one meter's hour of 15-minute `values`, at most `per_quarter` per quarter.
    fn bound(values: &[f64], per_quarter: u64) -> f64 {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum = values.iter().sum();
        quarter_bound(values.len() as u64, sum, min, max, per_quarter)
    }

    #[test]
    fn a_meter_with_one_point_per_quarter_adds_at_most_its_largest_point() {
        assert_eq!(bound(&[1.0, 2.0, 10.0, 3.0], 1), 10.0);
        assert_eq!(bound(&[10.0, 10.0, 10.0, 10.0], 1), 10.0);
        // Export (negative points) never makes a quarter exceed the largest point, and a meter
        // that only exports adds nothing to an upper bound.
        assert_eq!(bound(&[-5.0, 10.0], 1), 10.0);
        assert_eq!(bound(&[-5.0, -3.0], 1), 0.0);
    }

    #[test]
    fn denser_points_are_bounded_by_how_many_fit_in_a_quarter() {
        // A power meter sampled every 5 minutes: three integrated pieces per quarter.
        assert_eq!(bound(&[1.0; 12], 3), 3.0);
        // One peak among low pieces: the quarter holding it holds two more, at most the rest.
        assert_eq!(bound(&[1.0, 1.0, 1.0, 1.0, 9.0, 1.0], 3), 11.0);
        // Without any assumption on spacing all points may share one quarter, but the other
        // points' minimum still caps it: 4 points, sum 10, min 1 → at most 10 in one quarter.
        assert_eq!(bound(&[1.0, 2.0, 3.0, 4.0], 4), 10.0);
        assert_eq!(bound(&[-4.0, 2.0, 3.0], 3), 5.0);
    }

    #[test]
    fn the_spacing_of_a_reading_interval_limits_points_per_quarter_and_hour() {
        let m = Member::new(0, 1.0, 900);
        assert_eq!((m.per_quarter, m.per_hour), (1, 4));
        let m = Member::new(0, 1.0, 300);
        assert_eq!((m.per_quarter, m.per_hour), (3, 12));
        let m = Member::new(0, 1.0, 600);
        assert_eq!((m.per_quarter, m.per_hour), (2, 6));
        let m = Member::new(0, 1.0, 3600);
        assert_eq!((m.per_quarter, m.per_hour), (1, 1));
    }

    /// Bounds of an hour of one meter's 15-minute kWh.
    fn hour(quarters: [f64; 4]) -> HourBound {
        let max = quarters.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        HourBound {
            lower: Some(quarters.iter().sum()),
            upper: max / 0.25,
            count: 4,
        }
    }

    #[test]
    fn an_hour_whose_mean_is_lower_can_still_hold_the_peak() {
        // 08:00 is steady (mean 40 kW, the best hourly mean); 09:00 has a short burst: a lower
        // mean (30 kW) but a 120 kW quarter-hour, the true peak. 10:00 cannot reach 40 kW.
        let hours = BTreeMap::from([
            (8 * HOUR_MS, hour([10.0, 10.0, 10.0, 10.0])),
            (9 * HOUR_MS, hour([0.0, 0.0, 0.0, 30.0])),
            (10 * HOUR_MS, hour([2.0, 2.0, 2.0, 2.0])),
        ]);
        assert_eq!(candidates(&hours), vec![8 * HOUR_MS, 9 * HOUR_MS]);
    }

    #[test]
    fn hours_cut_by_the_range_are_always_read() {
        let mut cut = hour([0.0, 0.0, 0.0, 1.0]);
        cut.lower = None;
        let hours = BTreeMap::from([(0, cut), (HOUR_MS, hour([50.0, 50.0, 50.0, 50.0]))]);
        assert_eq!(candidates(&hours), vec![0, HOUR_MS]);
    }
}
