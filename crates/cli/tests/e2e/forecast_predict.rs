//! `shulv forecast predict --csv … --covariate T`: the temperature of the forecast hours comes
//! from the rows after the last load value, and a load that follows the temperature is
//! forecast far better with it; a forecast hour without a temperature is refused by name.

use std::process::Command;

/// Daily mean temperature of day `d`: a deterministic but irregular sequence, 15…35 ℃.
fn day_temperature(d: i64) -> f64 {
    15.0 + (((d * 1_103_515_245 + 12_345) >> 7) % 21) as f64
}

/// Ten weeks of hourly rows `time,load,T`; the last day has no load (the hours to forecast).
/// The load is a daily shape plus 8 per degree above 20 ℃ (cooling).
fn write_csv(dir: &std::path::Path, drop_temperature_at: Option<i64>) -> std::path::PathBuf {
    let start = chrono::NaiveDate::from_ymd_opt(2025, 5, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let days = 70;
    let mut text = String::from("time,load,T\n");
    for h in 0..days * 24 {
        let t = start + chrono::Duration::hours(h);
        let hour = (h % 24) as f64;
        let temp =
            day_temperature(h / 24) + 4.0 * (std::f64::consts::TAU * (hour - 9.0) / 24.0).sin();
        let load = 200.0
            + 30.0 * (std::f64::consts::TAU * (hour - 6.0) / 24.0).sin()
            + 8.0 * (temp - 20.0).max(0.0);
        let last_day = h / 24 == days - 1;
        let load = if last_day {
            String::new()
        } else {
            format!("{load:.3}")
        };
        let temp = if drop_temperature_at == Some(h) {
            String::new()
        } else {
            format!("{temp:.2}")
        };
        text.push_str(&format!("{},{load},{temp}\n", t.format("%Y-%m-%d %H:%M")));
    }
    let path = dir.join(format!("load-{drop_temperature_at:?}.csv"));
    std::fs::write(&path, text).unwrap();
    path
}

fn predict(csv: &std::path::Path, covariate: bool) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shulv"));
    cmd.args(["forecast", "predict", "--csv"])
        .arg(csv)
        .args(["--time-column", "time", "--value-column", "load"])
        .args(["--model", "ridge", "--horizon", "24"]);
    if covariate {
        cmd.args(["--covariate", "T"]);
    }
    cmd.output().unwrap()
}

/// Mean absolute error of the P50 column against the true load of the last day.
fn mae(stdout: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(stdout);
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), 24, "{text}");
    let last_day = 69;
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            assert!(line.starts_with("2025-07-09"), "{line}");
            let p50: f64 = line.split(',').nth(2).unwrap().parse().unwrap();
            let hour = i as f64;
            let temp = day_temperature(last_day)
                + 4.0 * (std::f64::consts::TAU * (hour - 9.0) / 24.0).sin();
            let actual = 200.0
                + 30.0 * (std::f64::consts::TAU * (hour - 6.0) / 24.0).sin()
                + 8.0 * (temp - 20.0).max(0.0);
            (p50 - actual).abs()
        })
        .sum::<f64>()
        / 24.0
}

#[test]
fn predict_uses_the_temperature_of_the_forecast_hours() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path(), None);
    let with = predict(&csv, true);
    assert!(
        with.status.success(),
        "{}",
        String::from_utf8_lossy(&with.stderr)
    );
    let stderr = String::from_utf8_lossy(&with.stderr);
    assert!(stderr.contains("covariates=[T]"), "{stderr}");
    let without = predict(&csv, false);
    assert!(
        without.status.success(),
        "{}",
        String::from_utf8_lossy(&without.stderr)
    );
    let (with, without) = (mae(&with.stdout), mae(&without.stdout));
    assert!(
        with < 0.25 * without,
        "MAE {with:.2} with the temperature, {without:.2} without"
    );
}

#[test]
fn a_forecast_hour_without_temperature_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // Hour 5 of the last day (day 69) has no temperature.
    let csv = write_csv(dir.path(), Some(69 * 24 + 5));
    let out = predict(&csv, true);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("covariate T") && stderr.contains("2025-07-09 05:00:00"),
        "{stderr}"
    );
}
