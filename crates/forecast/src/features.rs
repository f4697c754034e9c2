//! Features of the regression models (ridge, gbm): lag, calendar and covariate rows of an
//! [`Input`].

use chrono::{Datelike, Duration, Timelike};
use shulv_model::DayType;

use crate::input::Input;

/// Index distance back to the same hour on the latest observed period for a step `g` hours
/// past the last observation.
pub(crate) fn seasonal_lag(g: usize, period: usize) -> usize {
    period * g.div_ceil(period)
}

/// The window, calendar and covariates a feature model saw, as its name reports them.
pub(crate) fn feature_settings(input: &Input<'_>) -> String {
    let covs: Vec<&str> = input.covariates.iter().map(|(n, _)| *n).collect();
    format!(
        "window={}h, calendar={}, covariates=[{}]",
        input.history.len(),
        if input.calendar.is_some() {
            "holidays"
        } else {
            "weekdays"
        },
        covs.join(",")
    )
}

/// The calendar of every day an input's hours touch (history, lead and horizon), looked up
/// once per forecast rather than once per feature row.
pub(crate) struct Days {
    /// Hour of day of `history[0]`.
    first_hour: usize,
    /// Per day from the first: weekday (0 = Monday), the calendar's day type (with a
    /// calendar), and whether it is a working day.
    days: Vec<(usize, Option<DayType>, bool)>,
}

impl Days {
    pub(crate) fn new(input: &Input<'_>) -> Days {
        let first_hour = input.start.hour() as usize;
        let hours = input.history.len() + input.lead + input.horizon;
        let first = input.start.date();
        let days = (0..(first_hour + hours).div_ceil(24))
            .map(|d| {
                let date = first + Duration::days(d as i64);
                let weekday = date.weekday().num_days_from_monday() as usize;
                let (kind, working) = match input.calendar {
                    Some(c) => {
                        let kind = c.day_type(date);
                        (Some(kind), kind.is_working())
                    }
                    None => (None, weekday < 5),
                };
                (weekday, kind, working)
            })
            .collect();
        Days { first_hour, days }
    }

    fn of_hour(&self, t: usize) -> (usize, Option<DayType>, bool) {
        self.days[(t + self.first_hour) / 24]
    }

    /// Whether hour `t` (an index from the start of the history) falls on a working day.
    fn working(&self, t: usize) -> bool {
        self.of_hour(t).2
    }

    /// Day-level calendar features of hour `t`'s day: weekday one-hot (Monday…Saturday; Sunday
    /// is the base) and, with a calendar, holiday and 调休 make-up workday flags.
    fn push_features(&self, t: usize, row: &mut Vec<f64>) {
        let (weekday, kind, _) = self.of_hour(t);
        row.extend((0..6).map(|k| if weekday == k { 1.0 } else { 0.0 }));
        if let Some(kind) = kind {
            row.push(if kind == DayType::Holiday { 1.0 } else { 0.0 });
            row.push(if kind == DayType::MakeupWorkday {
                1.0
            } else {
                0.0
            });
        }
    }
}

/// Feature row of the ridge model for target index `t` with the last observation at `last`
/// (indices into the history, extended by covariates into the horizon).
/// With `relative`, load features are divided by the last observed day's mean (the target is
/// too, in the ridge model); series whose daily mean can be zero or negative stay absolute.
pub(crate) fn ridge_row(
    input: &Input<'_>,
    days: &Days,
    t: usize,
    last: usize,
    relative: bool,
    row: &mut Vec<f64>,
) {
    let y = input.history;
    let g = t - last;
    let lag_day = t - seasonal_lag(g, 24);
    let lag_week = t - seasonal_lag(g, 168);
    row.clear();
    row.push(y[lag_day]);
    row.push(y[lag_week]);
    row.push(y[last]);
    row.push(y[last + 1 - 24..=last].iter().sum::<f64>() / 24.0);
    row.push(y[last - 1]);
    row.push(y[last - 3]);
    row.push(y[lag_day - 1]);
    // The hour after the same hour yesterday, or the day before when not yet observed.
    let next_hour = if lag_day < last {
        lag_day + 1
    } else {
        lag_day + 1 - 24
    };
    row.push(y[next_hour]);
    row.push(y[lag_day - 24]);
    let (lo, hi) = y[last + 1 - 24..=last]
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    row.push(lo);
    row.push(hi);
    let working = |i: usize| days.working(i);
    let target_working = working(t);
    let k0 = g.div_ceil(24);
    let same_type = (k0..k0 + 7)
        .map(|k| 24 * k)
        .take_while(|&b| b <= t)
        .find(|&b| working(t - b) == target_working)
        .map_or(y[lag_week], |b| y[t - b]);
    row.push(same_type);
    let backs: Vec<usize> = (k0..k0 + 14)
        .map(|k| 24 * k)
        .take_while(|&b| b <= t)
        .collect();
    let same: Vec<f64> = backs
        .iter()
        .filter(|&&b| working(t - b) == target_working)
        .map(|&b| y[t - b])
        .collect();
    row.push(if same.is_empty() {
        y[lag_week]
    } else {
        same.iter().sum::<f64>() / same.len() as f64
    });
    let week: Vec<f64> = backs.iter().take(7).map(|&b| y[t - b]).collect();
    row.push(week.iter().sum::<f64>() / week.len() as f64);
    let mismatch = working(lag_day) != target_working;
    row.push(if mismatch { y[lag_day] } else { 0.0 });
    row.push(if mismatch { y[lag_week] } else { 0.0 });
    // Load features so far are in the series' unit; make them ratios to the current level.
    let level = row[3];
    if relative {
        row.iter_mut().for_each(|v| *v /= level);
    }
    row.push(level);
    days.push_features(t, row);
    if input.calendar.is_some() {
        row.push(if days.working(lag_day) { 0.0 } else { 1.0 });
    }
    for (_, c) in input.covariates {
        let x = c[t];
        let xl = c[lag_day];
        let day_mean = c[t + 1 - 24..=t].iter().sum::<f64>() / 24.0;
        row.extend([
            x,
            x * x,
            x * x * x,
            xl,
            xl * xl,
            day_mean,
            day_mean * day_mean,
        ]);
    }
}

/// Whether load features and targets can be ratios to the level: when every level used (the
/// 24 hours before each training origin, which lie whole days before the last observation)
/// is clearly positive.
pub(crate) fn level_relative(y: &[f64]) -> bool {
    let overall = y.iter().map(|v| v.abs()).sum::<f64>() / y.len() as f64;
    overall > 0.0
        && y.rchunks_exact(24)
            .all(|w| w.iter().sum::<f64>() / 24.0 > 1e-3 * overall)
}
