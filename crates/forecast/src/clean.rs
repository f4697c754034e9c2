//! Cleaning of real meter series onto an hourly grid (数据清洗).
//!
//! Real series arrive unsorted, with duplicate timestamps (the DST fall-back hour), missing
//! hours, sub-hourly readings, zeros, negative values and level shifts. [`clean`] turns them
//! into a gap-free hourly series and says in [`CleanReport::notes`] what it did; it never
//! produces NaN.

use chrono::{Duration, NaiveDateTime, Timelike};

use crate::ForecastError;

/// Gaps up to this many hours are interpolated linearly.
pub const LINEAR_GAP_HOURS: usize = 6;
/// Gaps longer than this cut the series: only the part after the last such gap is kept,
/// because filling more than a week would be made-up data.
pub const MAX_GAP_HOURS: usize = 168;
/// A change of the daily mean level by more than this fraction, persisting for
/// [`SHIFT_DAYS`] days on both sides, is reported as a level shift.
pub const SHIFT_FRACTION: f64 = 0.3;
/// Days on each side of a level shift that must agree.
pub const SHIFT_DAYS: usize = 14;
/// A level shift cuts the fit window of a model when at least this many days (and the
/// model's least history) follow it.
pub const MIN_DAYS_AFTER_SHIFT: usize = 28;

/// A gap-free hourly series with optional covariates on the same grid.
#[derive(Debug, Clone, PartialEq)]
pub struct HourlySeries {
    /// Local time of `values[0]` (on the hour; the value covers the hour starting then).
    pub start: NaiveDateTime,
    /// One value per hour, all finite.
    pub values: Vec<f64>,
    /// Named covariates (e.g. temperature), each as long as `values`, all finite.
    pub covariates: Vec<(String, Vec<f64>)>,
}

impl HourlySeries {
    /// Number of hours.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the series has no hours.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Local time of hour `i`.
    pub fn time(&self, i: usize) -> NaiveDateTime {
        self.start + Duration::hours(i as i64)
    }

    /// Index of the hour starting at `t`, if it lies in the series.
    pub fn index_of(&self, t: NaiveDateTime) -> Option<usize> {
        let d = t - self.start;
        if d.num_seconds() % 3600 != 0 || d < Duration::zero() {
            return None;
        }
        let i = d.num_hours() as usize;
        (i < self.len()).then_some(i)
    }
}

/// What [`clean`] did, for the user to read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanReport {
    /// Readings given (including missing ones).
    pub readings: usize,
    /// True when the readings were not in time order.
    pub unsorted: bool,
    /// Hours that had more than one reading (duplicates or sub-hourly data), averaged.
    pub averaged_hours: usize,
    /// Missing hours filled by linear interpolation.
    pub interpolated_hours: usize,
    /// Missing hours filled from the same hour a week earlier, adjusted to the gap's ends.
    pub weekly_filled_hours: usize,
    /// Hours dropped before a gap longer than [`MAX_GAP_HOURS`].
    pub dropped_before_gap: usize,
    /// Zero values (kept; MAPE skips them).
    pub zeros: usize,
    /// Negative values (kept; e.g. net metering with PV export).
    pub negatives: usize,
    /// Level shifts found: (first day after the shift, mean before, mean after).
    pub level_shifts: Vec<(NaiveDateTime, f64, f64)>,
    /// Human-readable notes, one per action taken.
    pub notes: Vec<String>,
}

/// Cleans `(time, value)` readings (NaN = missing) with covariates given per reading
/// (`covariates[k][j]` is covariate `k` at reading `j`, NaN = missing) into an hourly series.
///
/// Times are floored to the hour; several readings in one hour are averaged; leading and
/// trailing hours without a value are trimmed; gaps are filled (see the module constants);
/// a gap longer than [`MAX_GAP_HOURS`] keeps only the data after it.
pub fn clean(
    times: &[NaiveDateTime],
    values: &[f64],
    covariates: &[(String, Vec<f64>)],
) -> Result<(HourlySeries, CleanReport), ForecastError> {
    assert_eq!(times.len(), values.len(), "one time per value");
    let mut report = CleanReport {
        readings: times.len(),
        unsorted: times.windows(2).any(|w| w[1] < w[0]),
        ..CleanReport::default()
    };
    let floor = |t: &NaiveDateTime| {
        t.date()
            .and_hms_opt(t.hour(), 0, 0)
            .expect("hour of a valid time")
    };
    let known: Vec<usize> = (0..times.len())
        .filter(|&j| values[j].is_finite())
        .collect();
    let (Some(first), Some(last)) = (
        known.iter().map(|&j| floor(&times[j])).min(),
        known.iter().map(|&j| floor(&times[j])).max(),
    ) else {
        return Err(ForecastError::Empty(format!(
            "{} readings, none with a finite value",
            times.len()
        )));
    };
    let n = ((last - first).num_hours() + 1) as usize;
    // Sum and count per hour for the target and each covariate.
    let grid = |vals: &[f64], report: Option<&mut usize>| {
        let mut sum = vec![0.0; n];
        let mut count = vec![0u32; n];
        for (t, &v) in times.iter().zip(vals) {
            let h = (floor(t) - first).num_hours();
            if v.is_finite() && (0..n as i64).contains(&h) {
                sum[h as usize] += v;
                count[h as usize] += 1;
            }
        }
        if let Some(r) = report {
            *r = count.iter().filter(|&&c| c > 1).count();
        }
        sum.iter()
            .zip(&count)
            .map(|(s, &c)| if c > 0 { s / c as f64 } else { f64::NAN })
            .collect::<Vec<f64>>()
    };
    let mut y = grid(values, Some(&mut report.averaged_hours));
    let mut covs: Vec<(String, Vec<f64>)> = covariates
        .iter()
        .map(|(name, v)| {
            assert_eq!(v.len(), times.len(), "one covariate value per reading");
            (name.clone(), grid(v, None))
        })
        .collect();

    // Cut at the last gap longer than MAX_GAP_HOURS.
    let mut run = 0;
    let mut cut = 0;
    for (i, v) in y.iter().enumerate() {
        if v.is_finite() {
            if run > MAX_GAP_HOURS {
                cut = i;
            }
            run = 0;
        } else {
            run += 1;
        }
    }
    if cut > 0 {
        report.dropped_before_gap = cut;
        report.notes.push(format!(
            "dropped {cut} hours before {}: a gap longer than {MAX_GAP_HOURS} hours precedes it",
            first + Duration::hours(cut as i64)
        ));
        y.drain(..cut);
        for (_, c) in &mut covs {
            c.drain(..cut);
        }
    }
    let start = first + Duration::hours(cut as i64);

    let (lin, weekly) = fill_gaps(&mut y);
    report.interpolated_hours = lin;
    report.weekly_filled_hours = weekly;
    for (name, c) in &mut covs {
        if c.iter().all(|v| !v.is_finite()) {
            return Err(ForecastError::Covariate {
                name: name.clone(),
                message: "no finite value in the series' time range".into(),
            });
        }
        let missing = c.iter().filter(|v| !v.is_finite()).count();
        fill_edges(c);
        fill_gaps(c);
        if missing > 0 {
            report.notes.push(format!(
                "covariate {name}: {missing} missing hours filled (interpolated or carried)"
            ));
        }
    }
    if report.unsorted {
        report
            .notes
            .push("readings were not in time order: sorted".into());
    }
    if report.averaged_hours > 0 {
        report.notes.push(format!(
            "{} hours had several readings (duplicate timestamps, e.g. the DST fall-back hour, or sub-hourly data): averaged",
            report.averaged_hours
        ));
    }
    if lin > 0 {
        report.notes.push(format!(
            "{lin} missing hours interpolated linearly (gaps of at most {LINEAR_GAP_HOURS} hours)"
        ));
    }
    if weekly > 0 {
        report.notes.push(format!(
            "{weekly} missing hours filled from the same hour a week earlier, adjusted to the gap's ends"
        ));
    }
    report.zeros = y.iter().filter(|&&v| v == 0.0).count();
    report.negatives = y.iter().filter(|&&v| v < 0.0).count();
    if report.zeros > 0 {
        report.notes.push(format!(
            "{} zero values kept; MAPE skips zero actuals, so read MASE and CV(RMSE)",
            report.zeros
        ));
    }
    if report.negatives > 0 {
        report.notes.push(format!(
            "{} negative values kept (e.g. export); models do not assume positivity",
            report.negatives
        ));
    }
    for (day, before, after) in level_shifts(&y) {
        let t = start + Duration::hours((day * 24) as i64);
        report.notes.push(format!(
            "level shift near {}: daily mean {before:.3} before, {after:.3} after; models fit after the shift once {} days follow it",
            t.date(),
            MIN_DAYS_AFTER_SHIFT
        ));
        report.level_shifts.push((t, before, after));
    }
    let series = HourlySeries {
        start,
        values: y,
        covariates: covs,
    };
    debug_assert!(series.values.iter().all(|v| v.is_finite()));
    Ok((series, report))
}

/// Fills leading and trailing missing values with the nearest known one (covariates only).
fn fill_edges(v: &mut [f64]) {
    if let Some(f) = v.iter().position(|x| x.is_finite()) {
        let x = v[f];
        v[..f].fill(x);
    }
    if let Some(l) = v.iter().rposition(|x| x.is_finite()) {
        let x = v[l];
        v[l + 1..].fill(x);
    }
}

/// Fills interior gaps in place; returns (hours interpolated, hours filled from a week earlier).
/// The first and last values must be finite.
fn fill_gaps(v: &mut [f64]) -> (usize, usize) {
    let original: Vec<bool> = v.iter().map(|x| x.is_finite()).collect();
    let (mut lin, mut weekly) = (0, 0);
    let mut i = 0;
    while i < v.len() {
        if original[i] {
            i += 1;
            continue;
        }
        let a = i - 1; // first value is finite
        let mut b = i;
        while !original[b] {
            b += 1;
        }
        let m = b - a - 1;
        let week_ok = m > LINEAR_GAP_HOURS && a >= 168 && (a..=b).all(|k| original[k - 168]);
        for k in a + 1..b {
            let w = (k - a) as f64 / (b - a) as f64;
            v[k] = if week_ok {
                let da = v[a] - v[a - 168];
                let db = v[b] - v[b - 168];
                v[k - 168] + da * (1.0 - w) + db * w
            } else {
                v[a] * (1.0 - w) + v[b] * w
            };
        }
        if week_ok {
            weekly += m;
        } else {
            lin += m;
        }
        i = b;
    }
    (lin, weekly)
}

/// Level shifts in a gap-free hourly series: (first day index after the shift, mean of the
/// [`SHIFT_DAYS`] days before, mean of the days after). Days are 24-hour blocks from the start.
pub fn level_shifts(y: &[f64]) -> Vec<(usize, f64, f64)> {
    let days: Vec<f64> = y
        .chunks_exact(24)
        .map(|c| c.iter().sum::<f64>() / 24.0)
        .collect();
    let mut out: Vec<(usize, f64, f64)> = Vec::new();
    if days.len() < 2 * SHIFT_DAYS {
        return out;
    }
    let median = |s: &[f64]| {
        let mut s = s.to_vec();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let mut d = SHIFT_DAYS;
    while d + SHIFT_DAYS <= days.len() {
        let before = &days[d - SHIFT_DAYS..d];
        let after = &days[d..d + SHIFT_DAYS];
        let (mb, ma) = (median(before), median(after));
        let scale = mb.abs().max(ma.abs());
        let (lo_b, hi_b) = min_max(before);
        let (lo_a, hi_a) = min_max(after);
        // A shift: the medians differ by SHIFT_FRACTION and the two fortnights do not overlap.
        if scale > 0.0 && (ma - mb).abs() > SHIFT_FRACTION * scale && (hi_b < lo_a || hi_a < lo_b) {
            out.push((d, mb, ma));
            d += SHIFT_DAYS;
        } else {
            d += 1;
        }
    }
    out
}

fn min_max(s: &[f64]) -> (f64, f64) {
    s.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 1, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    #[test]
    fn sorts_averages_duplicates_and_interpolates() {
        // Unsorted, a duplicate hour (2 and 4 → 3), hour 3 missing, a NaN reading.
        let times = [t(1, 2), t(1, 0), t(1, 1), t(1, 1), t(1, 4), t(1, 5)];
        let values = [20.0, 10.0, 2.0, 4.0, f64::NAN, 50.0];
        let (s, r) = clean(&times, &values, &[]).unwrap();
        assert_eq!(s.start, t(1, 0));
        assert_eq!(s.values, vec![10.0, 3.0, 20.0, 30.0, 40.0, 50.0]);
        assert!(r.unsorted);
        assert_eq!(r.averaged_hours, 1);
        assert_eq!(r.interpolated_hours, 2);
        assert!(
            r.notes.iter().any(|n| n.contains("averaged")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn long_gaps_use_last_week_and_very_long_gaps_cut() {
        let mut times = Vec::new();
        let mut values = Vec::new();
        for h in 0..(24 * 20) {
            times.push(t(1, 0) + Duration::hours(h));
            // A daily shape: a gap of 10 hours on day 9 is filled from day 2's shape.
            values.push(if (200..210).contains(&h) {
                f64::NAN
            } else {
                100.0 + (h % 24) as f64
            });
        }
        let (s, r) = clean(&times, &values, &[]).unwrap();
        assert_eq!(r.weekly_filled_hours, 10);
        for h in 200..210 {
            assert_eq!(s.values[h], 100.0 + (h % 24) as f64);
        }
        // A gap of 8 days keeps only what follows it.
        values[250..250 + 24 * 8].fill(f64::NAN);
        let (s, r) = clean(&times, &values, &[]).unwrap();
        assert_eq!(s.start, t(1, 0) + Duration::hours(250 + 24 * 8));
        assert_eq!(r.dropped_before_gap, 250 + 24 * 8);
    }

    #[test]
    fn no_values_is_a_clear_error() {
        let e = clean(&[t(1, 0)], &[f64::NAN], &[]).unwrap_err();
        assert!(e.to_string().contains("none with a finite value"), "{e}");
    }

    #[test]
    fn zeros_negatives_and_level_shifts_are_reported() {
        let n = 24 * 60;
        let times: Vec<_> = (0..n)
            .map(|h| t(1, 0) + Duration::hours(h as i64))
            .collect();
        let values: Vec<f64> = (0..n)
            .map(|h| match h {
                5 => 0.0,
                6 => -1.0,
                h if h >= 24 * 30 => 200.0 + (h % 24) as f64,
                h => 100.0 + (h % 24) as f64,
            })
            .collect();
        let (_, r) = clean(&times, &values, &[]).unwrap();
        assert_eq!((r.zeros, r.negatives), (1, 1));
        assert_eq!(r.level_shifts.len(), 1, "{:?}", r.level_shifts);
        assert_eq!(r.level_shifts[0].0, t(31, 0));
    }
}
