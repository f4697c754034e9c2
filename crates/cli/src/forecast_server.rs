//! `shulv forecast issue|list|show` and `shulv forecast backtest --meter|--node`: forecasts of
//! a running server's stored data (用能预测), its stored forecasts against what happened, and a
//! rolling-origin backtest of its forecast route.

use anyhow::{bail, Context};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use serde_json::Value;
use shulv_forecast::OriginPlan;
use shulv_platform::{score, ComparedHour, Scores, WeatherUsed};

use crate::answers::{parse, Float, Nullable};
use crate::client::ServerArgs;

/// A meter or node of the server.
#[derive(clap::Args)]
pub struct StoredTarget {
    /// A meter id of the server.
    #[arg(long, conflicts_with = "node")]
    meter: Option<String>,
    /// A node id of the server (bottom-up forecast of every meter below it).
    #[arg(long)]
    node: Option<String>,
    /// Node forecasts: P10/P90 by root sum of squares of the meters' deviations (independent,
    /// the server's default), weighted by the correlation of their week-over-week changes
    /// (correlated) or from the node's summed series (summed).
    #[arg(long)]
    intervals: Option<String>,
    /// Air-temperature meter whose observed temperatures are a covariate (a node: of its
    /// electricity and heat meters); without --temperature-forecast-meter it also gives the
    /// forecast hours' weather (observed: optimistic).
    #[arg(long)]
    temperature_meter: Option<String>,
    /// Air-temperature meter with the forecast weather of the forecast hours.
    #[arg(long, requires = "temperature_meter")]
    temperature_forecast_meter: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

impl StoredTarget {
    /// True if a meter or node was named.
    pub fn is_given(&self) -> bool {
        self.meter.is_some() || self.node.is_some()
    }

    /// True if a temperature meter was named.
    pub fn names_weather(&self) -> bool {
        self.temperature_meter.is_some() || self.temperature_forecast_meter.is_some()
    }

    fn params(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        let mut q = match (&self.meter, &self.node) {
            (Some(m), None) => vec![("meter", m.clone())],
            (None, Some(n)) => vec![("node", n.clone())],
            _ => bail!("give --meter ID or --node ID"),
        };
        if let Some(i) = &self.intervals {
            q.push(("intervals", i.clone()));
        }
        if let Some(t) = &self.temperature_meter {
            q.push(("temperature_meter", t.clone()));
        }
        if let Some(t) = &self.temperature_forecast_meter {
            q.push(("temperature_forecast_meter", t.clone()));
        }
        Ok(q)
    }
}

/// `shulv forecast issue`
#[derive(clap::Args)]
pub struct IssueArgs {
    #[command(flatten)]
    target: StoredTarget,
    /// Hours to forecast: 24 (day-ahead) or 168 (week-ahead).
    #[arg(long, default_value_t = 24)]
    horizon: usize,
    /// Model: auto, naive (naive24), naive168, mstl, ridge or ensemble.
    #[arg(long, default_value = "auto")]
    model: String,
    /// Start of the history (RFC 3339, YYYY-MM-DD[ HH:MM] in the target's time zone, epoch ms).
    #[arg(long)]
    from: Option<String>,
    /// First forecast hour = end of the history (default: after the newest stored hour); a
    /// past time issues the forecast as of then.
    #[arg(long)]
    to: Option<String>,
    /// Keep the forecast on the server, to compare it later with what happened (`shulv
    /// forecast show`); needs an admin or operator credential.
    #[arg(long)]
    store: bool,
    /// Output: table, csv (carrier,unit,start,p10,p50,p90) or json.
    #[arg(long, default_value = "table")]
    output: String,
}

/// `shulv forecast list`
#[derive(clap::Args)]
pub struct ListArgs {
    /// Only forecasts of this meter.
    #[arg(long, conflicts_with = "node")]
    meter: Option<String>,
    /// Only forecasts of this node.
    #[arg(long)]
    node: Option<String>,
    /// Output: table or json.
    #[arg(long, default_value = "table")]
    output: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// `shulv forecast show`
#[derive(clap::Args)]
pub struct ShowArgs {
    /// The forecast id (from `shulv forecast list` or the `id` of a forecast).
    id: String,
    /// Output: table, csv (carrier,unit,start,p10,p50,p90,actual) or json.
    #[arg(long, default_value = "table")]
    output: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Settings of a backtest on the server's data.
pub struct BacktestPlan {
    /// Hours forecast at each origin.
    pub horizon: usize,
    /// Model name.
    pub model: String,
    /// Origin spacing.
    pub origins: OriginPlan,
    /// First origin day.
    pub from: NaiveDate,
    /// Last origin day (inclusive).
    pub to: NaiveDate,
    /// Print JSON.
    pub json: bool,
}

/// The answer text of `GET path` (status 200).
fn get(server: &ServerArgs, path: &str, query: &[(&str, String)]) -> anyhow::Result<String> {
    let (status, text) = server.get_query(path, query)?;
    if status != 200 {
        bail!("server answered {status}: {text}");
    }
    Ok(text)
}

/// Prints the answer of `GET path` as indented JSON, as the server sent it.
fn print_json(path: &str, text: &str) -> anyhow::Result<()> {
    let v: Value = serde_json::from_str(text).with_context(|| format!("the answer of {path}"))?;
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

/// The answer of `GET /api/v1/forecast` (`ForecastAnswer` of the server).
#[derive(Deserialize)]
struct Forecast {
    id: Nullable<String>,
    target: String,
    target_kind: String,
    history_to: String,
    horizon: usize,
    model_requested: String,
    method: String,
    weather: Nullable<WeatherUsed>,
    series: Vec<ForecastSeries>,
    skipped: Vec<SkippedMeter>,
}

/// One carrier of a [`Forecast`].
#[derive(Deserialize)]
struct ForecastSeries {
    carrier: String,
    unit: String,
    model: String,
    settings: Nullable<String>,
    hours: Vec<ForecastHour>,
    cleaning: Vec<String>,
    notes: Vec<String>,
}

/// One hour of a [`ForecastSeries`].
#[derive(Deserialize)]
struct ForecastHour {
    start: String,
    ts: i64,
    p10: Float,
    p50: Float,
    p90: Float,
}

/// A meter a node forecast left out, and why.
#[derive(Deserialize)]
struct SkippedMeter {
    meter: String,
    reason: String,
}

/// A stored forecast as listed (`ForecastSummary` of the server).
#[derive(Deserialize)]
struct ForecastSummary {
    id: String,
    target: String,
    target_kind: String,
    issued_at: String,
    origin: String,
    horizon: usize,
    model_requested: String,
    models: Vec<String>,
}

/// The answer of `GET /api/v1/forecasts/{id}` (`ForecastComparison` of the server).
#[derive(Deserialize)]
struct Comparison {
    forecast: ForecastSummary,
    issued_by: String,
    scoring: String,
    series: Vec<ComparedSeries>,
}

/// One carrier of a [`Comparison`].
#[derive(Deserialize)]
struct ComparedSeries {
    carrier: String,
    unit: String,
    model: String,
    hours: Vec<ObservedHour>,
    scores: Scores,
}

/// A forecast hour of a [`ComparedSeries`] with what was observed.
#[derive(Deserialize)]
struct ObservedHour {
    start: String,
    p10: Float,
    p50: Float,
    p90: Float,
    actual: Nullable<f64>,
}

/// The answer of `GET /api/v1/query`, the observed hours a backtest scores against.
#[derive(Deserialize)]
struct Observed {
    series: Vec<ObservedSeries>,
}

/// One carrier of [`Observed`].
#[derive(Deserialize)]
struct ObservedSeries {
    carrier: String,
    unit: String,
    points: Vec<ObservedPoint>,
}

/// One hour of an [`ObservedSeries`].
#[derive(Deserialize)]
struct ObservedPoint {
    ts: i64,
    value: Nullable<f64>,
    count: u64,
}

fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.2}{unit}"))
}

fn scores_line(s: &Scores, unit: &str) -> String {
    format!(
        "{} of {} hours with actuals: MAPE {} ({} zero actuals skipped), WAPE {}, bias {} ({}), P10–P90 coverage {}",
        s.hours_with_actuals,
        s.hours,
        opt(s.mape, " %"),
        s.zero_actuals,
        opt(s.wape, " %"),
        opt(s.bias, &format!(" {unit}")),
        opt(s.bias_pct, " %"),
        opt(s.coverage_p10_p90, " %"),
    )
}

/// The weather line of a forecast answer: the covariate and whether the forecast hours used
/// observed or forecast temperatures.
fn weather_line(w: Option<&WeatherUsed>) -> String {
    let Some(w) = w else {
        return "weather: none (no temperature covariate)".into();
    };
    let horizon = match w.horizon_weather.as_str() {
        "forecast" => format!(
            "forecast weather from '{}' for the forecast hours",
            w.forecast_meter.as_deref().unwrap_or("")
        ),
        _ => "OBSERVED weather for the forecast hours (optimistic: a real forecast only has forecast weather)".into(),
    };
    format!(
        "weather: covariate {} (observed '{}'), {horizon}",
        w.covariate, w.observed_meter
    )
}

/// `shulv forecast issue`.
pub fn issue(args: &IssueArgs) -> anyhow::Result<()> {
    let mut q = args.target.params()?;
    q.push(("horizon", args.horizon.to_string()));
    q.push(("model", args.model.clone()));
    q.push(("store", args.store.to_string()));
    if let Some(f) = &args.from {
        q.push(("from", f.clone()));
    }
    if let Some(t) = &args.to {
        q.push(("to", t.clone()));
    }
    let text = get(&args.target.server, "/api/v1/forecast", &q)?;
    if args.output == "json" {
        return print_json("/api/v1/forecast", &text);
    }
    let answer: Forecast = parse("GET /api/v1/forecast", &text)?;
    if args.output == "csv" {
        println!("carrier,unit,start,p10,p50,p90");
        for s in &answer.series {
            for h in &s.hours {
                println!(
                    "{},{},{},{},{},{}",
                    s.carrier,
                    s.unit,
                    h.start,
                    h.p10.json(),
                    h.p50.json(),
                    h.p90.json()
                );
            }
        }
        return Ok(());
    }
    println!(
        "{} {} · {} h from {} · model {} · {}",
        answer.target_kind,
        answer.target,
        answer.horizon,
        answer.history_to,
        answer.model_requested,
        match &answer.id.0 {
            Some(id) => format!("stored as {id}"),
            None => "not stored".into(),
        }
    );
    println!("method: {}", answer.method);
    println!("{}", weather_line(answer.weather.0.as_ref()));
    for n in answer.weather.0.iter().flat_map(|w| &w.notes) {
        println!("  weather note: {n}");
    }
    for s in &answer.series {
        println!(
            "\n{} [{}] model {}{}",
            s.carrier,
            s.unit,
            s.model,
            s.settings
                .0
                .as_ref()
                .map_or(String::new(), |x| format!(": {x}"))
        );
        for n in s.cleaning.iter().chain(&s.notes) {
            println!("  note: {n}");
        }
        println!("  {:<27} {:>12} {:>12} {:>12}", "hour", "P10", "P50", "P90");
        for h in &s.hours {
            println!(
                "  {:<27} {:>12.3} {:>12.3} {:>12.3}",
                h.start, h.p10, h.p50, h.p90
            );
        }
    }
    for s in &answer.skipped {
        println!("skipped {}: {}", s.meter, s.reason);
    }
    Ok(())
}

/// `shulv forecast list`.
pub fn list(args: &ListArgs) -> anyhow::Result<()> {
    let mut q = Vec::new();
    if let Some(m) = &args.meter {
        q.push(("meter", m.clone()));
    }
    if let Some(n) = &args.node {
        q.push(("node", n.clone()));
    }
    let text = get(&args.server, "/api/v1/forecasts", &q)?;
    if args.output == "json" {
        return print_json("/api/v1/forecasts", &text);
    }
    let list: Vec<ForecastSummary> = parse("GET /api/v1/forecasts", &text)?;
    println!(
        "{:<10} {:<6} {:<24} {:<26} {:>4}  {:<21} models",
        "id", "kind", "target", "origin", "h", "issued"
    );
    for f in &list {
        println!(
            "{:<10} {:<6} {:<24} {:<26} {:>4}  {:<21} {} ({})",
            f.id,
            f.target_kind,
            f.target,
            f.origin,
            f.horizon,
            f.issued_at,
            f.model_requested,
            f.models.join(", ")
        );
    }
    Ok(())
}

/// `shulv forecast show`.
pub fn show(args: &ShowArgs) -> anyhow::Result<()> {
    let path = format!("/api/v1/forecasts/{}", args.id);
    let text = get(&args.server, &path, &[])?;
    if args.output == "json" {
        return print_json(&path, &text);
    }
    let cmp: Comparison = parse(&format!("GET {path}"), &text)?;
    if args.output == "csv" {
        println!("carrier,unit,start,p10,p50,p90,actual");
        for s in &cmp.series {
            for h in &s.hours {
                println!(
                    "{},{},{},{},{},{},{}",
                    s.carrier,
                    s.unit,
                    h.start,
                    h.p10.json(),
                    h.p50.json(),
                    h.p90.json(),
                    h.actual.0.map_or(String::new(), |a| a.to_string())
                );
            }
        }
        return Ok(());
    }
    let f = &cmp.forecast;
    println!(
        "{} · {} {} · {} h from {} · issued {} by {} · model {}",
        f.id,
        f.target_kind,
        f.target,
        f.horizon,
        f.origin,
        f.issued_at,
        cmp.issued_by,
        f.model_requested
    );
    for s in &cmp.series {
        let unit = &s.unit;
        println!("\n{} [{unit}] model {}", s.carrier, s.model);
        println!("  {}", scores_line(&s.scores, unit));
        println!(
            "  {:<27} {:>12} {:>12} {:>12} {:>12}",
            "hour", "P10", "P50", "P90", "actual"
        );
        for h in &s.hours {
            println!(
                "  {:<27} {:>12.3} {:>12.3} {:>12.3} {:>12}",
                h.start,
                h.p10,
                h.p50,
                h.p90,
                h.actual.0.map_or("—".into(), |a| format!("{a:.3}"))
            );
        }
    }
    println!("\nscoring: {}", cmp.scoring);
    Ok(())
}

/// One carrier of a stored-data backtest: carrier, unit, the hours of every origin, the models
/// used, the number of origins.
type Pooled = (String, String, Vec<ComparedHour>, Vec<String>, usize);

/// `shulv forecast backtest --meter|--node`: at each origin day (00:00 in the target's time
/// zone) a forecast from the data before it (`to` = the origin, not stored), set against the
/// stored hourly sums; scores pooled over every origin × hour per carrier.
pub fn backtest(target: &StoredTarget, plan: &BacktestPlan) -> anyhow::Result<()> {
    if plan.from > plan.to {
        bail!("--from {} is after --to {}", plan.from, plan.to);
    }
    let step = match plan.origins {
        OriginPlan::Daily => 1,
        OriginPlan::Weekly => 7,
    };
    let base = target.params()?;
    let is_node = target.node.is_some();
    let mut pooled: Vec<Pooled> = Vec::new();
    let mut origins = 0;
    let mut day = plan.from;
    let mut method = String::new();
    let mut weather: Option<WeatherUsed> = None;
    while day <= plan.to {
        let mut q = base.clone();
        q.push(("horizon", plan.horizon.to_string()));
        q.push(("model", plan.model.clone()));
        q.push(("to", day.to_string()));
        q.push(("store", "false".into()));
        let f: Forecast = get(&target.server, "/api/v1/forecast", &q)
            .and_then(|text| parse("GET /api/v1/forecast", &text))
            .with_context(|| format!("forecast at origin {day}"))?;
        method = f.method;
        weather = f.weather.0;
        for s in &f.series {
            let (Some(first), Some(last)) = (s.hours.first(), s.hours.last()) else {
                continue;
            };
            let mut aq = vec![(base[0].0, base[0].1.clone())];
            aq.push(("from", first.ts.to_string()));
            aq.push(("to", (last.ts + 3_600_000).to_string()));
            aq.push(("bucket", "hour".into()));
            if is_node {
                aq.push(("carrier", s.carrier.clone()));
            }
            let actual: Observed = get(&target.server, "/api/v1/query", &aq)
                .and_then(|text| parse("GET /api/v1/query", &text))
                .with_context(|| format!("actuals after origin {day}"))?;
            let (carrier, unit) = (&s.carrier, &s.unit);
            let by_ts: std::collections::HashMap<i64, f64> = actual
                .series
                .iter()
                .filter(|a| &a.carrier == carrier && &a.unit == unit)
                .flat_map(|a| &a.points)
                .filter(|p| p.count > 0)
                .filter_map(|p| Some((p.ts, p.value.0?)))
                .collect();
            let i = match pooled.iter().position(|p| &p.0 == carrier && &p.1 == unit) {
                Some(i) => i,
                None => {
                    pooled.push((carrier.clone(), unit.clone(), Vec::new(), Vec::new(), 0));
                    pooled.len() - 1
                }
            };
            let entry = &mut pooled[i];
            entry.4 += 1;
            if !entry.3.contains(&s.model) {
                entry.3.push(s.model.clone());
            }
            for h in &s.hours {
                entry.2.push(ComparedHour {
                    start: h.start.clone(),
                    ts: h.ts,
                    p10: h.p10.0,
                    p50: h.p50.0,
                    p90: h.p90.0,
                    actual: by_ts.get(&h.ts).copied(),
                });
            }
        }
        origins += 1;
        day += Duration::days(step);
    }
    if plan.json {
        let series: Vec<Value> = pooled
            .iter()
            .map(|(c, u, hours, models, n)| {
                serde_json::json!({
                    "carrier": c, "unit": u, "models": models, "origins": n,
                    "scores": score(hours),
                })
            })
            .collect();
        let out = serde_json::json!({
            "target": base[0].1, "target_kind": base[0].0, "horizon": plan.horizon,
            "model": plan.model, "origins": origins, "from": plan.from, "to": plan.to,
            "intervals": target.intervals, "method": method, "weather": weather,
            "series": series,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "backtest of {} {}: h = {} h, {} origins at 00:00 from {} to {}, model {}, lead 0, history = the 52 weeks before each origin",
        base[0].0, base[0].1, plan.horizon, origins, plan.from, plan.to, plan.model
    );
    println!("method: {method}");
    println!("{}", weather_line(weather.as_ref()));
    for (c, u, hours, models, n) in &pooled {
        println!(
            "{c} [{u}] ({n} origins, models {}): {}",
            models.join(", "),
            scores_line(&score(hours), u)
        );
    }
    Ok(())
}
