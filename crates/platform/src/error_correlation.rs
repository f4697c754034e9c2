//! How much a node's meters err together, for the node's P10/P90
//! ([`crate::NodeIntervals::Correlated`]).
//!
//! A meter's forecast error is mostly what its history did not foretell: weather, production
//! plans, a shared outage. Meters of one carrier that follow the same driver miss together, and
//! the root sum of squares of their deviations then understates the node's spread. The
//! correlation of their week-over-week changes (`y(t) − y(t − 168 h)`, which removes the daily
//! and weekly pattern every model forecasts) over the last four weeks of history stands in for
//! the correlation of their errors; the node's deviation below (above) its P50 is then
//! `sqrt(Σᵢ Σⱼ ρᵢⱼ dᵢ dⱼ)`, between the root sum of squares (ρ = 0) and the plain sum (ρ = 1).

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};

/// Hours of week-over-week changes the correlations are measured on (4 weeks).
const CHANGE_HOURS: i64 = 28 * 24;
/// Fewest hours with a change of both meters for a pair's correlation to count; fewer: ρ = 0.
const MIN_COMMON_HOURS: usize = 7 * 24;

/// The correlation matrix (row-major, `series.len()²`) of the series' week-over-week changes
/// over the [`CHANGE_HOURS`] up to `end` (exclusive). Negative correlations count as 0 (they
/// would narrow the node's interval on an estimate of a few weeks), as do pairs with fewer than
/// [`MIN_COMMON_HOURS`] common changes and series whose changes do not vary.
pub(crate) fn change_correlations(
    series: &[&[(NaiveDateTime, f64)]],
    end: NaiveDateTime,
) -> Vec<f64> {
    let start = end - Duration::hours(CHANGE_HOURS);
    let changes: Vec<Vec<Option<f64>>> = series
        .iter()
        .map(|s| weekly_changes(s, start, end))
        .collect();
    let m = series.len();
    let mut rho = vec![0.0; m * m];
    for i in 0..m {
        rho[i * m + i] = 1.0;
        for j in 0..i {
            let r = correlation(&changes[i], &changes[j])
                .unwrap_or(0.0)
                .max(0.0);
            rho[i * m + j] = r;
            rho[j * m + i] = r;
        }
    }
    rho
}

/// `sqrt(Σᵢ Σⱼ ρᵢⱼ dᵢ dⱼ)` for deviations `d` (each ≥ 0) and correlations `rho` (row-major).
pub(crate) fn correlated_spread(d: &[f64], rho: &[f64]) -> f64 {
    let m = d.len();
    let mut v = 0.0;
    for i in 0..m {
        for j in 0..m {
            v += rho[i * m + j] * d[i] * d[j];
        }
    }
    v.max(0.0).sqrt()
}

/// Week-over-week change at each hour of `[start, end)`, where the hour and the hour a week
/// before were both read.
fn weekly_changes(
    s: &[(NaiveDateTime, f64)],
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> Vec<Option<f64>> {
    let week_before = start - Duration::hours(168);
    let by_hour: HashMap<NaiveDateTime, f64> = s
        .iter()
        .filter(|(t, _)| *t >= week_before && *t < end)
        .copied()
        .collect();
    (0..CHANGE_HOURS)
        .map(|k| {
            let t = start + Duration::hours(k);
            Some(by_hour.get(&t)? - by_hour.get(&(t - Duration::hours(168)))?)
        })
        .collect()
}

/// Pearson correlation over the hours where both have a value (None: too few, or no spread).
fn correlation(a: &[Option<f64>], b: &[Option<f64>]) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter_map(|(x, y)| Some(((*x)?, (*y)?)))
        .collect();
    if pairs.len() < MIN_COMMON_HOURS {
        return None;
    }
    let n = pairs.len() as f64;
    let (mx, my) = pairs
        .iter()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x / n, sy + y / n));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    let denominator = (sxx * syy).sqrt();
    (denominator > 1e-12 * n).then(|| sxy / denominator)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn hours(values: impl Fn(i64) -> f64) -> Vec<(NaiveDateTime, f64)> {
        let t0 = NaiveDate::from_ymd_opt(2025, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        (0..(CHANGE_HOURS + 168))
            .map(|k| (t0 + Duration::hours(k), values(k)))
            .collect()
    }

    #[test]
    fn shared_driver_correlates_and_spread_lies_between_rss_and_sum() {
        // A shared, non-periodic driver plus a daily pattern; c moves against it.
        let driver = |k: i64| ((k as f64) * 0.013).sin() * 10.0 + ((k * 7919) % 13) as f64;
        let a = hours(|k| 100.0 + driver(k) + (k % 24) as f64);
        let b = hours(|k| 50.0 + 2.0 * driver(k));
        let c = hours(|k| 80.0 - driver(k));
        let end = a.last().unwrap().0 + Duration::hours(1);
        let rho = change_correlations(&[&a, &b, &c], end);
        assert!(
            (rho[1] - 1.0).abs() < 1e-9,
            "a and b share their changes: {rho:?}"
        );
        assert_eq!(rho[2], 0.0, "a negative correlation counts as 0");
        let d = [3.0, 4.0];
        let two = [1.0, rho[1], rho[3], 1.0];
        assert!((correlated_spread(&d, &two) - 7.0).abs() < 1e-9);
        assert!((correlated_spread(&d, &[1.0, 0.0, 0.0, 1.0]) - 5.0).abs() < 1e-12);
    }

    #[test]
    fn gaps_and_flat_series_give_no_correlation() {
        let a = hours(|k| (k % 24) as f64 + ((k * 31) % 7) as f64);
        let flat = hours(|_| 5.0);
        let sparse: Vec<_> = a.iter().step_by(10).copied().collect();
        let end = a.last().unwrap().0 + Duration::hours(1);
        let rho = change_correlations(&[&a, &flat, &sparse], end);
        assert_eq!(rho, vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    }
}
