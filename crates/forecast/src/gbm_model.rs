//! The `gbm` forecast model: gradient-boosted trees ([`crate::boosted_trees`]) on the ridge model's
//! lag, calendar and covariate features plus the horizon step and the hour of day, pooled
//! over all steps of the horizon (one model, not one per step).
//!
//! Training samples are the forecasts the model would have made at the earlier origins of the
//! window (24 h apart, recent days weighted [`DAY_DECAY`]`^age`), with the target and the load
//! features as ratios to the level of the last observed day. The number of trees is chosen by
//! early stopping on the latest [`HOLDOUT_DAYS`] origins, with a model fitted only on targets
//! observed before them. The P10/P90 are the quantiles of the errors at the same and the
//! neighbouring steps of that model on the holdout and of a model with as many trees fitted
//! before the [`HOLDOUT_DAYS`] origins preceding it, on those origins (four weeks of errors:
//! a week-ahead step has only 8 holdout origins); the forecast itself comes from a refit on
//! every sample.

use chrono::{Duration, Timelike};

use crate::boosted_trees::{Gbdt, Params};
use crate::features::{feature_settings, level_relative, ridge_row, seasonal_lag, Days};
use crate::input::Input;
use crate::interval::{quantiles_10_90, Quantiles};
use crate::ForecastError;

/// Weight decay per day of age of a training sample (recent days count more).
const DAY_DECAY: f64 = 0.98;
/// Origins held out to choose the number of trees and to measure the interval errors.
pub const HOLDOUT_DAYS: usize = 14;
/// Most trees; the holdout picks how many of them are used.
const MAX_TREES: usize = 100;
/// Fewest trees used.
const MIN_TREES: usize = 10;
/// Boosting stops after this many trees without a better holdout error.
const PATIENCE: usize = 15;
/// Holdout errors of steps this far from a step are pooled for its interval.
const STEP_POOL: usize = 2;

const PARAMS: Params = Params {
    trees: MAX_TREES,
    depth: 4,
    learning_rate: 0.1,
    min_leaf: 20,
    lambda: 1.0,
    bins: 32,
};

/// Name with settings, as reported.
pub(crate) fn name(input: &Input<'_>, trees: usize) -> String {
    format!(
        "gbm(trees={trees}, depth={}, learning_rate={}, {})",
        PARAMS.depth,
        PARAMS.learning_rate,
        feature_settings(input)
    )
}

/// Training samples: feature rows, targets, weights, and per sample the step and the age of
/// its origin in days.
#[derive(Default)]
struct Samples {
    x: Vec<f64>,
    y: Vec<f64>,
    w: Vec<f64>,
    step: Vec<usize>,
    age_days: Vec<usize>,
    p: usize,
}

fn features(
    input: &Input<'_>,
    days: &Days,
    t: usize,
    g: usize,
    relative: bool,
    row: &mut Vec<f64>,
) {
    ridge_row(input, days, t, t - g, relative, row);
    row.push(g as f64);
    row.push((input.start + Duration::hours(t as i64)).hour() as f64);
}

/// Level of the day that ends at `last` (the divisor of the ratios).
fn level(y: &[f64], last: usize) -> f64 {
    y[last + 1 - 24..=last].iter().sum::<f64>() / 24.0
}

fn samples(input: &Input<'_>, days: &Days, relative: bool) -> Samples {
    let y = input.history;
    let n = y.len();
    let mut s = Samples::default();
    let mut row = Vec::new();
    for g in input.lead + 1..=input.lead + input.horizon {
        let earliest = seasonal_lag(g, 168)
            .max(g + 23)
            .max(seasonal_lag(g, 24) + 25);
        // Origins 24 h apart before the real one; the target must be observed.
        let mut back = 24 * g.div_ceil(24);
        while n - 1 + g >= back && n - 1 + g - back >= earliest {
            let t = n - 1 + g - back;
            features(input, days, t, g, relative, &mut row);
            s.p = row.len();
            s.x.extend_from_slice(&row);
            let k = if relative { level(y, t - g) } else { 1.0 };
            s.y.push(y[t] / k);
            s.w.push(DAY_DECAY.powf((back / 24) as f64));
            s.step.push(g);
            s.age_days.push(back / 24);
            back += 24;
        }
    }
    s
}

/// Samples split for an out-of-sample check: the training rows, targets and weights of a model
/// that could have been fitted before the origins `ages` days old (older samples whose targets
/// were observed by the oldest of those origins), and the samples of those origins (`eval`).
struct Split {
    x: Vec<f64>,
    y: Vec<f64>,
    w: Vec<f64>,
    eval: Vec<usize>,
}

fn split(s: &Samples, n: usize, ages: std::ops::RangeInclusive<usize>) -> Split {
    let cut = n.saturating_sub(1 + 24 * ages.end());
    let mut out = Split {
        x: Vec::new(),
        y: Vec::new(),
        w: Vec::new(),
        eval: Vec::new(),
    };
    for i in 0..s.y.len() {
        let age = s.age_days[i];
        let t = n - 1 - 24 * age + s.step[i];
        if ages.contains(&age) {
            out.eval.push(i);
        } else if age > *ages.end() && t <= cut {
            out.x.extend_from_slice(&s.x[i * s.p..(i + 1) * s.p]);
            out.y.push(s.y[i]);
            out.w.push(s.w[i]);
        }
    }
    out
}

/// P10/P50/P90 of the `gbm` model and the number of trees used.
pub(crate) fn gbm(input: &Input<'_>) -> Result<(Quantiles, usize), ForecastError> {
    let y = input.history;
    let n = y.len();
    let relative = level_relative(y);
    let days = Days::new(input);
    let s = samples(input, &days, relative);
    let p = s.p;
    let steps = input.lead + 1..=input.lead + input.horizon;
    // Fit on targets observed at the oldest holdout origin; measure on the holdout origins.
    let Split {
        x: xa,
        y: ya,
        w: wa,
        eval: hold,
    } = split(&s, n, 0..=HOLDOUT_DAYS);
    let need_rows = 10 * PARAMS.min_leaf;
    if ya.len() < need_rows || hold.is_empty() {
        // Each day more of history gives about `horizon` more training samples.
        let short_days = need_rows.saturating_sub(ya.len()).div_ceil(input.horizon)
            + if hold.is_empty() { HOLDOUT_DAYS } else { 0 };
        return Err(ForecastError::ShortHistory {
            have: n,
            need: n + 24 * short_days.max(1),
            model: format!("gbm ({need_rows} training samples before {HOLDOUT_DAYS} holdout days)"),
        });
    }
    let hold_x: Vec<f64> = hold
        .iter()
        .flat_map(|&i| &s.x[i * p..(i + 1) * p])
        .copied()
        .collect();
    let hold_y: Vec<f64> = hold.iter().map(|&i| s.y[i]).collect();
    let a = Gbdt::fit_early_stopped(
        &xa,
        p,
        &ya,
        &wa,
        &PARAMS,
        (&hold_x, &hold_y),
        PATIENCE,
        MIN_TREES,
    );
    let trees = a.len();
    // Holdout errors of the chosen size, by step.
    let mut by_step: Vec<Vec<f64>> = vec![Vec::new(); input.lead + input.horizon + 1];
    for (r, &i) in hold_x.chunks_exact(p).zip(&hold) {
        by_step[s.step[i]].push(s.y[i] - a.predict(r));
    }
    // A second fold for the intervals: the same number of trees fitted before the
    // HOLDOUT_DAYS origins preceding the holdout, measured on those origins, so the errors span
    // four weeks rather than two (a week-ahead step has only 8 holdout origins).
    let second = split(&s, n, HOLDOUT_DAYS + 1..=2 * HOLDOUT_DAYS);
    if second.y.len() >= need_rows && !second.eval.is_empty() {
        let f = Gbdt::fit(
            &second.x,
            p,
            &second.y,
            &second.w,
            &Params { trees, ..PARAMS },
        );
        for &i in &second.eval {
            by_step[s.step[i]].push(s.y[i] - f.predict(&s.x[i * p..(i + 1) * p]));
        }
    }
    let b = Gbdt::fit(&s.x, p, &s.y, &s.w, &Params { trees, ..PARAMS });
    let k = if relative { level(y, n - 1) } else { 1.0 };
    let (mut p10, mut p50, mut p90) = (Vec::new(), Vec::new(), Vec::new());
    let mut row = Vec::new();
    let mut pool = Vec::new();
    for g in steps.clone() {
        features(input, &days, n - 1 + g, g, relative, &mut row);
        let point = b.predict(&row) * k;
        pool.clear();
        let lo_step = g.saturating_sub(STEP_POOL).max(*steps.start());
        for e in &by_step[lo_step..=(g + STEP_POOL).min(*steps.end())] {
            pool.extend_from_slice(e);
        }
        let (lo, hi) = quantiles_10_90(&mut pool);
        p10.push(point + lo * k);
        p50.push(point);
        p90.push(point + hi * k);
    }
    Ok(((p10, p50, p90), trees))
}
