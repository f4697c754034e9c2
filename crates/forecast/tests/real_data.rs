//! Backtests on the shipped real load files (PJM East hourly, GEFCom2014-E) against the
//! thresholds of issue 6, with the protocol of docs/forecasting.md (daily origins at 00:00,
//! lead 0, h = 24, automatic choice per series), each with shulv's default 52-week history
//! and with the protocol's 12-week fit window. Skipped, with a
//! note, when ../shared/data is absent (clean clones). Week-ahead (h = 168) and lead-time runs
//! of the automatic choice are in bench/forecast.sh and BENCHMARKS.md.

use std::path::PathBuf;

use chrono::NaiveDate;
use shulv_forecast::csv::{read_csv, CsvColumns};
use shulv_forecast::model::{SHORT_WINDOW_HOURS, WINDOW_HOURS};
use shulv_forecast::{backtest, clean, BacktestReport, BacktestSpec, ModelKind, OriginPlan};

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"),
    )
    .join("../../../shared/data/load");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: {} not found", dir.display());
        None
    }
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn load(file: &str, cols: CsvColumns) -> Option<shulv_forecast::HourlySeries> {
    let path = data_dir()?.join(file);
    let raw = read_csv(&path, &cols).unwrap();
    let (series, report) = clean(&raw.times, &raw.values, &raw.covariates).unwrap();
    eprintln!("{file}: {:?}", report.notes);
    Some(series)
}

fn pjm() -> Option<shulv_forecast::HourlySeries> {
    load(
        "pjm_east_hourly.csv",
        CsvColumns {
            time: "Datetime".into(),
            value: "PJME_MW".into(),
            ..CsvColumns::default()
        },
    )
}

fn gefcom(temperature: bool) -> Option<shulv_forecast::HourlySeries> {
    load(
        "gefcom2014_load_temperature.csv",
        CsvColumns {
            time: "Date".into(),
            hour: Some("Hour".into()),
            value: "load".into(),
            covariates: if temperature {
                vec!["T".into()]
            } else {
                vec![]
            },
        },
    )
}

fn run(
    s: &shulv_forecast::HourlySeries,
    model: ModelKind,
    from: &str,
    to: &str,
    calendar: Option<shulv_model::HolidayCalendar>,
    window: usize,
) -> BacktestReport {
    run_plan(
        s,
        model,
        (from, to),
        calendar,
        window,
        (24, OriginPlan::Daily),
    )
}

/// A backtest with horizon `h` and origins `plan` from `from` to `to`.
fn run_plan(
    s: &shulv_forecast::HourlySeries,
    model: ModelKind,
    (from, to): (&str, &str),
    calendar: Option<shulv_model::HolidayCalendar>,
    window: usize,
    (h, plan): (usize, OriginPlan),
) -> BacktestReport {
    let mut spec = BacktestSpec::new(model, h, d(from), d(to));
    spec.plan = plan;
    spec.window = window;
    spec.calendar = calendar;
    let r = backtest(s, &spec).unwrap();
    assert_eq!(r.metrics.pairs, r.origins * h);
    eprintln!(
        "{} h={h} window={window} h origins={}: MAPE {:.2} % MASE {:.3} CV(RMSE) {:.2} % NMBE {:.2} % coverage {:.1} % | naive24 MAPE {:.2} % | selection {:?} | notes {:?}",
        r.model,
        r.origins,
        r.metrics.mape.unwrap(),
        r.metrics.mase.unwrap(),
        r.metrics.cv_rmse.unwrap(),
        r.metrics.nmbe.unwrap(),
        r.metrics.coverage_p10_p90,
        r.baseline.mape.unwrap(),
        r.selection.as_ref().map(|s| &s.scores),
        r.notes,
    );
    r
}

fn check(r: &BacktestReport, max_mape: f64) {
    let m = &r.metrics;
    assert!(
        m.mape.unwrap() <= max_mape,
        "{}: MAPE {:?} > {max_mape}",
        r.model,
        m.mape
    );
    assert!(
        (70.0..=90.0).contains(&m.coverage_p10_p90),
        "{}: P10–P90 coverage {}",
        r.model,
        m.coverage_p10_p90
    );
    assert!(m.mape.unwrap() < r.baseline.mape.unwrap());
}

/// The issue asks for MAPE ≤ 4.0 % here (MSTL in forecasting.md: 4.76 %). The automatic
/// choice (ridge) reaches 3.94 % with the default 52-week history and 4.23 % with the
/// protocol's 12-week window; both levels are asserted so that a regression fails.
#[test]
fn pjm_east_day_ahead() {
    let Some(s) = pjm() else { return };
    let nerc = shulv_forecast::calendar::nerc_holidays(2002, 2018);
    let (from, to) = ("2017-08-03", "2018-08-02");
    for (window, max_mape) in [(WINDOW_HOURS, 4.0), (SHORT_WINDOW_HOURS, 4.25)] {
        let r = run(&s, ModelKind::Auto, from, to, Some(nerc.clone()), window);
        assert_eq!(r.origins, 365);
        assert_eq!(r.window, window);
        check(&r, max_mape);
    }
}

/// The gradient-boosting model alone, at the level it reaches (PJM 5.27 %, GEFCom2014-E with
/// observed temperature 2.72 %): worse than the ridge on these series, better than naive.
#[test]
fn gbm_day_ahead() {
    let Some(s) = pjm() else { return };
    let nerc = shulv_forecast::calendar::nerc_holidays(2002, 2018);
    let r = run(
        &s,
        ModelKind::Gbm,
        "2017-08-03",
        "2018-08-02",
        Some(nerc),
        WINDOW_HOURS,
    );
    assert!(r.model.starts_with("gbm(trees="), "{}", r.model);
    check(&r, 5.35);
    let Some(s) = gefcom(true) else { return };
    let (from, to) = ("2014-01-01", "2014-12-31");
    let r = run(&s, ModelKind::Gbm, from, to, None, WINDOW_HOURS);
    assert!(r.model.contains("covariates=[T]"), "{}", r.model);
    check(&r, 2.8);
}

/// Week-ahead gbm intervals pool the holdout's errors with an earlier fold's: 71.6 % on PJM
/// East and 75.8 % on GEFCom2014-E (63 % each with the two-week holdout alone).
#[test]
fn gbm_week_ahead_coverage() {
    let Some(s) = pjm() else { return };
    let nerc = shulv_forecast::calendar::nerc_holidays(2002, 2018);
    let week = (168, OriginPlan::Weekly);
    let r = run_plan(
        &s,
        ModelKind::Gbm,
        ("2017-08-03", "2018-07-26"),
        Some(nerc),
        WINDOW_HOURS,
        week,
    );
    assert_eq!(r.origins, 52);
    check(&r, 10.0);
    let Some(s) = gefcom(false) else { return };
    let r = run_plan(
        &s,
        ModelKind::Gbm,
        ("2014-01-01", "2014-12-24"),
        None,
        WINDOW_HOURS,
        week,
    );
    check(&r, 4.7);
}

/// 2.30 % with the default history, 2.38 % with the protocol's window (issue: ≤ 2.4 %).
#[test]
fn gefcom_day_ahead_without_temperature() {
    let Some(s) = gefcom(false) else { return };
    let (from, to) = ("2014-01-01", "2014-12-31");
    for window in [WINDOW_HOURS, SHORT_WINDOW_HOURS] {
        let r = run(&s, ModelKind::Auto, from, to, None, window);
        assert_eq!(r.origins, 365);
        check(&r, 2.4);
    }
}

/// The file's temperature is observed, not forecast: optimistic, and the report says so.
/// The issue asks for 2.2 %: 1.96 % with the default history, 2.00 % with the protocol's
/// window.
#[test]
fn gefcom_day_ahead_with_observed_temperature() {
    let Some(s) = gefcom(true) else { return };
    let (from, to) = ("2014-01-01", "2014-12-31");
    for window in [WINDOW_HOURS, SHORT_WINDOW_HOURS] {
        let r = run(&s, ModelKind::Auto, from, to, None, window);
        assert!(r.covariates_observed);
        assert_eq!(r.covariates, vec!["T".to_string()]);
        check(&r, 2.05);
    }
}
