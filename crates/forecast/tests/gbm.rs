//! The gbm model through [`forecast`]: it learns the hour of day and a covariate, keeps its
//! quantiles ordered and finite, and says when the history is too short.

use chrono::NaiveDate;
use shulv_forecast::model::GBM_MIN_HOURS;
use shulv_forecast::{forecast, Input, ModelKind};

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
