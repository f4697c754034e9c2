//! Real-meter trouble on synthetic series: every model gives finite P10 ≤ P50 ≤ P90 with a
//! note of what was done, or a clear error; never NaN.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use shulv_forecast::{clean, forecast, ForecastError, Input, ModelKind};

fn start() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

/// A daily and weekly shape with a little deterministic noise.
fn load(hours: usize) -> Vec<f64> {
    (0..hours)
        .map(|h| {
            let day = (h % 24) as f64;
            let weekend = if (h / 24) % 7 >= 5 { 0.7 } else { 1.0 };
            let noise = ((h * 7919) % 13) as f64 - 6.0;
            weekend * (100.0 + 40.0 * (std::f64::consts::PI * day / 12.0).sin()) + noise
        })
        .collect()
}

fn check_all_models(history: &[f64], covariates: &[(&str, &[f64])]) -> Vec<String> {
    let mut notes = Vec::new();
    for kind in ModelKind::CANDIDATES {
        let input = Input {
            start: start(),
            history,
            covariates,
            lead: 0,
            horizon: 24,
            calendar: None,
        };
        let f = forecast(kind, &input).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(f.p50.len(), 24);
        for i in 0..24 {
            assert!(f.p10[i].is_finite() && f.p50[i].is_finite() && f.p90[i].is_finite());
            assert!(
                f.p10[i] <= f.p50[i] && f.p50[i] <= f.p90[i],
                "{kind:?} step {i}"
            );
        }
        notes.extend(f.notes);
    }
    notes
}

#[test]
fn zeros_and_negative_values_give_finite_forecasts() {
    // A PV-netted meter: exports (negative) at midday, zeros at night.
    let y: Vec<f64> = load(2016)
        .iter()
        .enumerate()
        .map(|(h, v)| match h % 24 {
            0..=5 => 0.0,
            11..=14 => -0.5 * v,
            _ => *v,
        })
        .collect();
    check_all_models(&y, &[]);
    // All zero: a meter that was switched off.
    check_all_models(&vec![0.0; 2016], &[]);
}

#[test]
fn level_shift_cuts_the_window_and_says_so() {
    let mut y = load(2016);
    for v in &mut y[24 * 40..] {
        *v *= 2.0;
    }
    let notes = check_all_models(&y, &[]);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("fit window starts at the level shift")),
        "{notes:?}"
    );
}

#[test]
fn level_shift_keeps_covariates_aligned_with_the_cut_history() {
    // Load = daily shape + 3 × a covariate of scattered values, doubled
    // from day 20: after the cut the ridge must still read the covariate of the same hour.
    let hours = 2016 + 24;
    let t: Vec<f64> = (0..hours)
        .map(|h| ((h * 7919 + 13) % 101) as f64 / 5.0)
        .collect();
    let truth: Vec<f64> = (0..hours)
        .map(|h| {
            let v =
                100.0 + 20.0 * (std::f64::consts::PI * (h % 24) as f64 / 12.0).sin() + 3.0 * t[h];
            if h >= 24 * 20 {
                2.0 * v
            } else {
                v
            }
        })
        .collect();
    let input = Input {
        start: start(),
        history: &truth[..2016],
        covariates: &[("T", &t)],
        lead: 0,
        horizon: 24,
        calendar: None,
    };
    let f = forecast(ModelKind::Ridge, &input).unwrap();
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("fit window starts at the level shift")),
        "{:?}",
        f.notes
    );
    let mape = (0..24)
        .map(|i| (f.p50[i] - truth[2016 + i]).abs() / truth[2016 + i])
        .sum::<f64>()
        / 24.0;
    assert!(mape < 0.02, "MAPE {mape}");
}

#[test]
fn short_history_is_a_clear_error_and_cleaning_fills_gaps() {
    let y = load(200);
    let input = Input {
        start: start(),
        history: &y,
        covariates: &[],
        lead: 0,
        horizon: 24,
        calendar: None,
    };
    match forecast(ModelKind::Ridge, &input) {
        Err(ForecastError::ShortHistory { have, need, .. }) => {
            assert_eq!((have, need), (200, 672))
        }
        other => panic!("{other:?}"),
    }
    // The seasonal naive forecast still works on 200 hours.
    assert!(forecast(ModelKind::Naive24, &input).is_ok());

    // Missing and duplicated readings: cleaned, then forecast.
    let mut times: Vec<NaiveDateTime> = (0..2016).map(|h| start() + Duration::hours(h)).collect();
    let mut values = load(2016);
    values[500..520].fill(f64::NAN);
    times.push(times[100]);
    values.push(values[100] + 10.0);
    let (series, report) = clean(&times, &values, &[]).unwrap();
    assert_eq!(report.averaged_hours, 1);
    assert_eq!(report.weekly_filled_hours, 20);
    assert!(series.values.iter().all(|v| v.is_finite()));
    check_all_models(&series.values, &[]);
}

#[test]
fn a_covariate_too_short_for_the_horizon_is_named() {
    let y = load(2016);
    let temp = vec![20.0; 2016 + 10];
    let input = Input {
        start: start(),
        history: &y,
        covariates: &[("T", &temp)],
        lead: 0,
        horizon: 24,
        calendar: None,
    };
    let e = forecast(ModelKind::Ridge, &input).unwrap_err().to_string();
    assert!(e.contains("covariate T") && e.contains("need 2040"), "{e}");
}
