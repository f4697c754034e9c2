//! `shulv forecast`: energy-use forecasts (用能预测) and rolling-origin backtests on CSV files
//! or on a running server's stored data, and the server's stored forecasts against what
//! happened.

use std::path::PathBuf;

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use shulv_forecast::csv::{read_csv, CsvColumns, CsvSeries};
use shulv_forecast::{
    backtest, calendar, choose_model, clean, forecast, BacktestReport, BacktestSpec, Input,
    Metrics, ModelKind, OriginPlan,
};
use shulv_model::HolidayCalendar;

/// `shulv forecast …`
#[derive(Subcommand)]
pub enum ForecastCommand {
    /// Rolling-origin backtest of a model on a CSV file (with the seasonal naive baseline), or
    /// on a meter's or node's stored data of a running server (--meter, --node).
    Backtest(BacktestArgs),
    /// Forecast the hours after the end of a CSV file (P10/P50/P90 as CSV on stdout).
    Predict(PredictArgs),
    /// Forecast a meter or node of a running server from its stored data (kept on the server
    /// with --store).
    Issue(crate::forecast_server::IssueArgs),
    /// List the server's stored forecasts.
    List(crate::forecast_server::ListArgs),
    /// A stored forecast against what happened: actuals per hour, MAPE, WAPE, bias, coverage.
    Show(crate::forecast_server::ShowArgs),
}

/// Where the series comes from and how to read it.
#[derive(Args)]
pub struct SeriesArgs {
    /// CSV file with a header line.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Time column (local time; or the date column together with --hour-column).
    #[arg(long)]
    time_column: Option<String>,
    /// Hour-ending column (1…24, as in GEFCom) combined with a date in --time-column.
    #[arg(long)]
    hour_column: Option<String>,
    /// Value column (the load).
    #[arg(long)]
    value_column: Option<String>,
    /// Holiday calendar for the calendar features: none, cn (法定节假日 and 调休 make-up
    /// workdays) or nerc (the six US NERC holidays).
    #[arg(long, default_value = "none")]
    calendar: String,
    /// Extra holiday lines (start,end,holiday|workday,name) added to the calendar.
    #[arg(long)]
    holidays: Option<PathBuf>,
    /// Hours forecast at each origin (24: day-ahead, 168: week-ahead).
    #[arg(long, default_value_t = 24)]
    horizon: usize,
    /// Hours between the last observation and the first forecast hour (e.g. 14 for a
    /// day-ahead forecast issued at 10:00 the day before).
    #[arg(long, default_value_t = 0)]
    lead_hours: usize,
    /// Model: auto, naive (naive24), naive168, mstl, ridge, gbm or ensemble.
    #[arg(long, default_value = "auto")]
    model: String,
    /// History before each origin in hours (52 weeks; 2016 = the 12-week fit window of
    /// forecasting.md's protocol).
    #[arg(long, default_value_t = shulv_forecast::model::WINDOW_HOURS)]
    window_hours: usize,
}

/// `shulv forecast backtest`
#[derive(Args)]
pub struct BacktestArgs {
    #[command(flatten)]
    series: SeriesArgs,
    /// Covariate column (e.g. temperature), repeatable.
    #[arg(long)]
    covariate: Vec<String>,
    /// The covariate columns hold forecast values (default: observed, which is optimistic).
    #[arg(long)]
    covariates_are_forecasts: bool,
    /// Origin spacing: daily or weekly (00:00).
    #[arg(long, default_value = "daily")]
    origins: String,
    /// First origin day (YYYY-MM-DD).
    #[arg(long)]
    from: NaiveDate,
    /// Last origin day (YYYY-MM-DD), inclusive.
    #[arg(long)]
    to: NaiveDate,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    stored: crate::forecast_server::StoredTarget,
}

/// `shulv forecast predict`
#[derive(Args)]
pub struct PredictArgs {
    #[command(flatten)]
    series: SeriesArgs,
    /// Covariate column (e.g. temperature), repeatable: its values over the history, and over
    /// the lead and horizon from rows after the last value (value column empty), e.g. a
    /// weather forecast.
    #[arg(long)]
    covariate: Vec<String>,
}

/// Runs a forecast subcommand.
pub fn run(command: &ForecastCommand) -> anyhow::Result<()> {
    match command {
        ForecastCommand::Backtest(args) if args.stored.is_given() => {
            let s = &args.series;
            if s.csv.is_some()
                || s.lead_hours != 0
                || !args.covariate.is_empty()
                || args.covariates_are_forecasts
            {
                bail!("a backtest on the server's data (--meter, --node) takes no --csv, --lead-hours, --covariate or --covariates-are-forecasts: the server forecasts from the data before each origin (name a stored temperature meter with --temperature-meter [--temperature-forecast-meter])");
            }
            crate::forecast_server::backtest(
                &args.stored,
                &crate::forecast_server::BacktestPlan {
                    horizon: s.horizon,
                    model: s.model.clone(),
                    origins: OriginPlan::parse(&args.origins)?,
                    from: args.from,
                    to: args.to,
                    json: args.json,
                },
            )
        }
        ForecastCommand::Backtest(args) if args.stored.names_weather() => {
            bail!("--temperature-meter and --temperature-forecast-meter need --meter or --node (a CSV backtest takes its temperature column with --covariate)")
        }
        ForecastCommand::Backtest(args) => run_backtest(args),
        ForecastCommand::Predict(args) => run_predict(args),
        ForecastCommand::Issue(args) => crate::forecast_server::issue(args),
        ForecastCommand::List(args) => crate::forecast_server::list(args),
        ForecastCommand::Show(args) => crate::forecast_server::show(args),
    }
}

fn holiday_calendar(args: &SeriesArgs) -> anyhow::Result<Option<HolidayCalendar>> {
    let mut cal = match args.calendar.as_str() {
        "none" => None,
        "cn" => Some(HolidayCalendar::china()),
        "nerc" => Some(calendar::nerc_holidays(1990, 2100)),
        other => bail!("--calendar: unknown calendar {other:?} (expected none, cn or nerc)"),
    };
    if let Some(path) = &args.holidays {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        cal.get_or_insert_with(HolidayCalendar::default)
            .extend_from_csv(&text)
            .with_context(|| path.display().to_string())?;
    }
    Ok(cal)
}

/// Reads and cleans the series of a CSV file; also gives the raw readings.
fn load(
    args: &SeriesArgs,
    covariates: &[String],
) -> anyhow::Result<(shulv_forecast::HourlySeries, Vec<String>, CsvSeries)> {
    let (Some(csv), Some(time), Some(value)) = (&args.csv, &args.time_column, &args.value_column)
    else {
        bail!("give --csv FILE with --time-column and --value-column (or, for a backtest on a server's data, --meter or --node)");
    };
    let cols = CsvColumns {
        time: time.clone(),
        hour: args.hour_column.clone(),
        value: value.clone(),
        covariates: covariates.to_vec(),
    };
    let raw = read_csv(csv, &cols)?;
    let (series, report) = clean(&raw.times, &raw.values, &raw.covariates)
        .with_context(|| csv.display().to_string())?;
    eprintln!(
        "series: {} column {:?}: {} readings → {} hours, {} to {}",
        csv.display(),
        value,
        report.readings,
        series.len(),
        series.start,
        series.time(series.len() - 1)
    );
    Ok((series, report.notes, raw))
}

fn run_backtest(args: &BacktestArgs) -> anyhow::Result<()> {
    let s = &args.series;
    let (series, clean_notes, _) = load(s, &args.covariate)?;
    let spec = BacktestSpec {
        model: ModelKind::parse(&s.model)?,
        horizon: s.horizon,
        lead: s.lead_hours,
        plan: OriginPlan::parse(&args.origins)?,
        from: args.from,
        to: args.to,
        window: s.window_hours,
        calendar: holiday_calendar(s)?,
        covariates_observed: !args.covariates_are_forecasts,
    };
    let report = backtest(&series, &spec)?;
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        v["cleaning"] = serde_json::json!(clean_notes);
        v["calendar"] = serde_json::json!(s.calendar);
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_report(&report, &clean_notes, &s.calendar);
    }
    Ok(())
}

fn pct(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.2} %"))
}

fn row(name: &str, m: &Metrics) -> String {
    format!(
        "{name:<16} {:>9} {:>9} {:>7} {:>9} {:>8} {:>8.1} % {:>6}",
        pct(m.mape),
        pct(m.wape),
        m.mase.map_or("n/a".into(), |v| format!("{v:.3}")),
        pct(m.cv_rmse),
        pct(m.nmbe),
        m.coverage_p10_p90,
        match m.ashrae_hourly_pass {
            Some(true) => "pass",
            Some(false) => "fail",
            None => "n/a",
        }
    )
}

fn print_report(r: &BacktestReport, clean_notes: &[String], calendar: &str) {
    for n in clean_notes {
        println!("cleaning: {n}");
    }
    println!(
        "protocol: h = {} h, lead {} h, {} origins at 00:00 from {} to {} ({}), trailing window {} h, calendar {calendar}",
        r.horizon,
        r.lead,
        match r.plan {
            OriginPlan::Daily => "daily",
            OriginPlan::Weekly => "weekly",
        },
        r.first_origin.date(),
        r.last_origin.date(),
        r.origins,
        r.window
    );
    if r.covariates.is_empty() {
        println!("covariates: none");
    } else if r.covariates_observed {
        println!(
            "covariates: {} (observed values: optimistic, a real forecast has only forecast weather)",
            r.covariates.join(", ")
        );
    } else {
        println!("covariates: {} (forecast values)", r.covariates.join(", "));
    }
    if let Some(sel) = &r.selection {
        let scores: Vec<String> = sel
            .scores
            .iter()
            .map(|(k, m)| match m {
                Some(m) => format!("{} {m:.4}", k.name()),
                None => format!("{} n/a", k.name()),
            })
            .collect();
        let period = sel.period.map_or(String::new(), |(a, b)| {
            format!(" {} to {}", a.date(), b.date())
        });
        println!(
            "automatic choice: {} (MAE on {} daily origins{period}: {})",
            sel.chosen.name(),
            sel.origins,
            scores.join(", ")
        );
    }
    println!("model: {}", r.model);
    println!(
        "{:<16} {:>9} {:>9} {:>7} {:>9} {:>8} {:>10} {:>6}",
        "", "MAPE", "WAPE", "MASE", "CV(RMSE)", "NMBE", "P10–P90", "G14"
    );
    println!("{}", row(r.kind.name(), &r.metrics));
    println!("{}", row("naive24", &r.baseline));
    println!(
        "pairs scored: {} ({} zero actuals skipped by MAPE); MASE scale {} (lag-24 naive MAE on the window before the first origin); G14: ASHRAE Guideline 14 hourly, CV(RMSE) ≤ 30 % and |NMBE| ≤ 10 %",
        r.metrics.pairs,
        r.metrics.zero_actuals,
        r.mase_scale.map_or("n/a".into(), |v| format!("{v:.4}"))
    );
    println!(
        "fit + forecast per origin: median {:.2} ms",
        r.median_fit_ms
    );
    for n in &r.notes {
        println!("note: {n}");
    }
}

fn run_predict(args: &PredictArgs) -> anyhow::Result<()> {
    let s = &args.series;
    let (series, clean_notes, raw) = load(s, &args.covariate)?;
    for n in &clean_notes {
        eprintln!("cleaning: {n}");
    }
    let n = series.len();
    let future = raw.covariates_after(series.time(n - 1), s.lead_hours + s.horizon)?;
    let cal = holiday_calendar(s)?;
    let mut kind = ModelKind::parse(&s.model)?;
    let start = n.saturating_sub(s.window_hours);
    if kind == ModelKind::Auto {
        let spec = BacktestSpec {
            model: kind,
            horizon: s.horizon,
            lead: s.lead_hours,
            plan: OriginPlan::Daily,
            from: series.start.date(),
            to: series.start.date(),
            window: s.window_hours,
            calendar: cal.clone(),
            covariates_observed: true,
        };
        // Select on the origins that end at the last observation.
        let sel = choose_model(&series, n + s.lead_hours, &spec)?;
        eprintln!(
            "automatic choice: {} on {} origins",
            sel.chosen.name(),
            sel.origins
        );
        kind = sel.chosen;
    }
    // Each covariate over the window, then over the lead and horizon.
    let covariate_values: Vec<(&str, Vec<f64>)> = series
        .covariates
        .iter()
        .zip(&future)
        .map(|((name, past), (_, ahead))| {
            let mut v = past[start..].to_vec();
            v.extend_from_slice(ahead);
            (name.as_str(), v)
        })
        .collect();
    let covariates: Vec<(&str, &[f64])> = covariate_values
        .iter()
        .map(|(name, v)| (*name, v.as_slice()))
        .collect();
    if !covariates.is_empty() {
        eprintln!(
            "covariates: {} over the history, and over the {} forecast hours from the rows after the last value",
            args.covariate.join(", "),
            s.lead_hours + s.horizon
        );
    }
    let input = Input {
        start: series.time(start),
        history: &series.values[start..],
        covariates: &covariates,
        lead: s.lead_hours,
        horizon: s.horizon,
        calendar: cal.as_ref(),
    };
    let f = forecast(kind, &input)?;
    eprintln!("model: {}", f.model);
    for n in &f.notes {
        eprintln!("note: {n}");
    }
    let mut out = String::from("time,p10,p50,p90\n");
    for i in 0..f.p50.len() {
        out.push_str(&format!(
            "{},{:.3},{:.3},{:.3}\n",
            (f.start + chrono::Duration::hours(i as i64)).format("%Y-%m-%d %H:%M"),
            f.p10[i],
            f.p50[i],
            f.p90[i]
        ));
    }
    crate::write_stdout(&out)
}
