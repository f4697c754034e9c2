//! The `gbm` forecast model: gradient-boosted trees ([`crate::gbdt`]) on the ridge model's
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

use crate::gbdt::{Gbdt, Params};
use crate::model::{
    feature_settings, level_relative, quantiles_10_90, ridge_row, seasonal_lag, Days, Input,
    Quantiles, DAY_DECAY,
};
use crate::ForecastError;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{forecast, ModelKind, GBM_MIN_HOURS};
    use chrono::NaiveDate;

    fn input(history: &[f64]) -> Input<'_> {
        Input {
            start: NaiveDate::from_ymd_opt(2024, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            history,
            covariates: &[],
            lead: 0,
            horizon: 24,
            calendar: None,
        }
    }

    /// 10 at night, 50 by day, 30 in the evening, every day alike.
    fn step(h: usize) -> f64 {
        match h % 24 {
            0..=6 => 10.0,
            7..=17 => 50.0,
            _ => 30.0,
        }
    }

    #[test]
    fn learns_a_step_function_of_the_hour() {
        let y: Vec<f64> = (0..2016).map(step).collect();
        let f = forecast(ModelKind::Gbm, &input(&y)).unwrap();
        assert!(f.model.starts_with("gbm(trees="), "{}", f.model);
        for (h, v) in f.p50.iter().enumerate() {
            assert!((v - step(h)).abs() < 1e-3 * step(h), "hour {h}: {v}");
        }
    }

    #[test]
    fn quantiles_are_ordered_and_finite_on_noisy_flat_and_negative_input() {
        let noisy: Vec<f64> = (0..2016)
            .map(|h| step(h) + ((h * 7919) % 17) as f64 - 8.0)
            .collect();
        let flat = vec![5.0; 2016];
        let negative: Vec<f64> = noisy.iter().map(|v| -v).collect();
        for y in [&noisy, &flat, &negative] {
            let f = forecast(ModelKind::Gbm, &input(y)).unwrap();
            for i in 0..24 {
                assert!(f.p10[i].is_finite() && f.p50[i].is_finite() && f.p90[i].is_finite());
                assert!(f.p10[i] <= f.p50[i] && f.p50[i] <= f.p90[i], "step {i}");
            }
        }
        // Noise gives a real interval (the 17-hour pattern is partly predictable from the
        // lags); a flat series forecasts itself with none.
        let f = forecast(ModelKind::Gbm, &input(&noisy)).unwrap();
        let w: Vec<f64> = f.p90.iter().zip(&f.p10).map(|(a, b)| a - b).collect();
        assert!(w.iter().all(|&w| w > 0.1), "{w:?}");
        let f = forecast(ModelKind::Gbm, &input(&flat)).unwrap();
        assert!(f.p50.iter().chain(&f.p10).all(|v| (v - 5.0).abs() < 1e-9));
    }

    #[test]
    fn short_history_is_a_clear_error() {
        let y: Vec<f64> = (0..GBM_MIN_HOURS - 24).map(step).collect();
        let e = forecast(ModelKind::Gbm, &input(&y))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("history too short") && e.contains("gbm needs at least 1008 hours"),
            "{e}"
        );
        let y: Vec<f64> = (0..GBM_MIN_HOURS).map(step).collect();
        assert!(forecast(ModelKind::Gbm, &input(&y)).is_ok());
    }

    #[test]
    fn uses_a_covariate() {
        // Load follows a V-shape of temperature (heating and cooling) that lags cannot see.
        let temp: Vec<f64> = (0..2016 + 24)
            .map(|h| 18.0 + 12.0 * (((h * 37) % 101) as f64 / 50.0 - 1.0))
            .collect();
        let y: Vec<f64> = temp[..2016]
            .iter()
            .map(|t| 100.0 + 5.0 * (t - 18.0).abs())
            .collect();
        let mut inp = input(&y);
        let covs = [("T", temp.as_slice())];
        inp.covariates = &covs;
        let f = forecast(ModelKind::Gbm, &inp).unwrap();
        assert!(f.model.contains("covariates=[T]"), "{}", f.model);
        let mae = (0..24)
            .map(|s| (f.p50[s] - (100.0 + 5.0 * (temp[2016 + s] - 18.0).abs())).abs())
            .sum::<f64>()
            / 24.0;
        // The load swings by ±30 around its mean; the trees get within a few units.
        assert!(mae < 5.0, "MAE {mae}");
    }
}
