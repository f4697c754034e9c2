//! Backtests on the shipped real load files (PJM East hourly, GEFCom2014-E) against the
//! thresholds of issue 6. Skipped, with a note, when ../shared/data is absent (clean clones).

use std::path::PathBuf;

use chrono::NaiveDate;
use shulv_forecast::csv::{read_csv, CsvColumns};
use shulv_forecast::{backtest, clean, BacktestReport, BacktestSpec, ModelKind, OriginPlan};

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/load");
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
    h: usize,
    plan: OriginPlan,
    from: &str,
    to: &str,
) -> BacktestReport {
    let mut spec = BacktestSpec::new(model, h, d(from), d(to));
    spec.plan = plan;
    let r = backtest(s, &spec).unwrap();
    eprintln!(
        "{} h={h} {:?} origins={}: MAPE {:.2} % MASE {:.3} CV(RMSE) {:.2} % NMBE {:.2} % coverage {:.1} % | naive24 MAPE {:.2} % | selection {:?} | notes {:?}",
        r.model,
        plan,
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

#[test]
fn pjm_east_day_ahead() {
    let Some(s) = pjm() else { return };
    let r = run(
        &s,
        ModelKind::Auto,
        24,
        OriginPlan::Daily,
        "2017-08-03",
        "2018-08-02",
    );
    assert_eq!(r.origins, 365);
    check(&r, 4.0);
}

#[test]
fn gefcom_day_ahead_without_temperature() {
    let Some(s) = gefcom(false) else { return };
    let r = run(
        &s,
        ModelKind::Auto,
        24,
        OriginPlan::Daily,
        "2014-01-01",
        "2014-12-31",
    );
    assert_eq!(r.origins, 365);
    check(&r, 2.4);
}

#[test]
fn gefcom_day_ahead_with_observed_temperature() {
    let Some(s) = gefcom(true) else { return };
    let r = run(
        &s,
        ModelKind::Auto,
        24,
        OriginPlan::Daily,
        "2014-01-01",
        "2014-12-31",
    );
    assert!(r.covariates_observed);
    check(&r, 2.2);
}
