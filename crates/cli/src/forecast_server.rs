//! `shulv forecast issue|list|show` and `shulv forecast backtest --meter|--node`: forecasts of
//! a running server's stored data (用能预测), its stored forecasts against what happened, and a
//! rolling-origin backtest of its forecast route.

use anyhow::{bail, Context};
use chrono::{Duration, NaiveDate};
use serde_json::Value;
use shulv_forecast::OriginPlan;
use shulv_platform::{score, ComparedHour, Scores};

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

fn get(server: &ServerArgs, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
    let (status, text) = server.get_query(path, query)?;
    if status != 200 {
        bail!("server answered {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("the answer of {path}"))
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

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The weather line of a forecast answer: the covariate and whether the forecast hours used
/// observed or forecast temperatures.
fn weather_line(w: &Value) -> String {
    if w.is_null() {
        return "weather: none (no temperature covariate)".into();
    }
    let horizon = match text(&w["horizon_weather"]) {
        "forecast" => format!(
            "forecast weather from '{}' for the forecast hours",
            text(&w["forecast_meter"])
        ),
        _ => "OBSERVED weather for the forecast hours (optimistic: a real forecast only has forecast weather)".into(),
    };
    format!(
        "weather: covariate {} (observed '{}'), {horizon}",
        text(&w["covariate"]),
        text(&w["observed_meter"])
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
    let answer = get(&args.target.server, "/api/v1/forecast", &q)?;
    match args.output.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&answer)?),
        "csv" => {
            println!("carrier,unit,start,p10,p50,p90");
            for s in answer["series"].as_array().into_iter().flatten() {
                for h in s["hours"].as_array().into_iter().flatten() {
                    println!(
                        "{},{},{},{},{},{}",
                        text(&s["carrier"]),
                        text(&s["unit"]),
                        text(&h["start"]),
                        h["p10"],
                        h["p50"],
                        h["p90"]
                    );
                }
            }
        }
        _ => {
            println!(
                "{} {} · {} h from {} · model {} · {}",
                text(&answer["target_kind"]),
                text(&answer["target"]),
                answer["horizon"],
                text(&answer["history_to"]),
                text(&answer["model_requested"]),
                match answer["id"].as_str() {
                    Some(id) => format!("stored as {id}"),
                    None => "not stored".into(),
                }
            );
            println!("method: {}", text(&answer["method"]));
            println!("{}", weather_line(&answer["weather"]));
            for n in answer["weather"]["notes"].as_array().into_iter().flatten() {
                println!("  weather note: {}", text(n));
            }
            for s in answer["series"].as_array().into_iter().flatten() {
                println!(
                    "\n{} [{}] model {}{}",
                    text(&s["carrier"]),
                    text(&s["unit"]),
                    text(&s["model"]),
                    s["settings"]
                        .as_str()
                        .map_or(String::new(), |x| format!(": {x}"))
                );
                for n in s["cleaning"]
                    .as_array()
                    .into_iter()
                    .chain(s["notes"].as_array())
                    .flatten()
                {
                    println!("  note: {}", text(n));
                }
                println!("  {:<27} {:>12} {:>12} {:>12}", "hour", "P10", "P50", "P90");
                for h in s["hours"].as_array().into_iter().flatten() {
                    println!(
                        "  {:<27} {:>12.3} {:>12.3} {:>12.3}",
                        text(&h["start"]),
                        h["p10"].as_f64().unwrap_or(f64::NAN),
                        h["p50"].as_f64().unwrap_or(f64::NAN),
                        h["p90"].as_f64().unwrap_or(f64::NAN)
                    );
                }
            }
            for s in answer["skipped"].as_array().into_iter().flatten() {
                println!("skipped {}: {}", text(&s["meter"]), text(&s["reason"]));
            }
        }
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
    let list = get(&args.server, "/api/v1/forecasts", &q)?;
    if args.output == "json" {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    println!(
        "{:<10} {:<6} {:<24} {:<26} {:>4}  {:<21} models",
        "id", "kind", "target", "origin", "h", "issued"
    );
    for f in list.as_array().into_iter().flatten() {
        let models: Vec<&str> = f["models"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        println!(
            "{:<10} {:<6} {:<24} {:<26} {:>4}  {:<21} {} ({})",
            text(&f["id"]),
            text(&f["target_kind"]),
            text(&f["target"]),
            text(&f["origin"]),
            f["horizon"],
            text(&f["issued_at"]),
            text(&f["model_requested"]),
            models.join(", ")
        );
    }
    Ok(())
}

/// `shulv forecast show`.
pub fn show(args: &ShowArgs) -> anyhow::Result<()> {
    let cmp = get(&args.server, &format!("/api/v1/forecasts/{}", args.id), &[])?;
    match args.output.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&cmp)?),
        "csv" => {
            println!("carrier,unit,start,p10,p50,p90,actual");
            for s in cmp["series"].as_array().into_iter().flatten() {
                for h in s["hours"].as_array().into_iter().flatten() {
                    println!(
                        "{},{},{},{},{},{},{}",
                        text(&s["carrier"]),
                        text(&s["unit"]),
                        text(&h["start"]),
                        h["p10"],
                        h["p50"],
                        h["p90"],
                        h["actual"]
                            .as_f64()
                            .map_or(String::new(), |a| a.to_string())
                    );
                }
            }
        }
        _ => {
            let f = &cmp["forecast"];
            println!(
                "{} · {} {} · {} h from {} · issued {} by {} · model {}",
                text(&f["id"]),
                text(&f["target_kind"]),
                text(&f["target"]),
                f["horizon"],
                text(&f["origin"]),
                text(&f["issued_at"]),
                text(&cmp["issued_by"]),
                text(&f["model_requested"])
            );
            for s in cmp["series"].as_array().into_iter().flatten() {
                let unit = text(&s["unit"]);
                let scores: Scores = serde_json::from_value(s["scores"].clone())?;
                println!(
                    "\n{} [{unit}] model {}",
                    text(&s["carrier"]),
                    text(&s["model"])
                );
                println!("  {}", scores_line(&scores, unit));
                println!(
                    "  {:<27} {:>12} {:>12} {:>12} {:>12}",
                    "hour", "P10", "P50", "P90", "actual"
                );
                for h in s["hours"].as_array().into_iter().flatten() {
                    println!(
                        "  {:<27} {:>12.3} {:>12.3} {:>12.3} {:>12}",
                        text(&h["start"]),
                        h["p10"].as_f64().unwrap_or(f64::NAN),
                        h["p50"].as_f64().unwrap_or(f64::NAN),
                        h["p90"].as_f64().unwrap_or(f64::NAN),
                        h["actual"]
                            .as_f64()
                            .map_or("—".into(), |a| format!("{a:.3}"))
                    );
                }
            }
            println!("\nscoring: {}", text(&cmp["scoring"]));
        }
    }
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
    let mut weather = Value::Null;
    while day <= plan.to {
        let mut q = base.clone();
        q.push(("horizon", plan.horizon.to_string()));
        q.push(("model", plan.model.clone()));
        q.push(("to", day.to_string()));
        q.push(("store", "false".into()));
        let f = get(&target.server, "/api/v1/forecast", &q)
            .with_context(|| format!("forecast at origin {day}"))?;
        method = text(&f["method"]).to_string();
        weather = f["weather"].clone();
        for s in f["series"].as_array().into_iter().flatten() {
            let hours = s["hours"].as_array().cloned().unwrap_or_default();
            let (Some(first), Some(last)) = (
                hours.first().and_then(|h| h["ts"].as_i64()),
                hours.last().and_then(|h| h["ts"].as_i64()),
            ) else {
                continue;
            };
            let mut aq = vec![(base[0].0, base[0].1.clone())];
            aq.push(("from", first.to_string()));
            aq.push(("to", (last + 3_600_000).to_string()));
            aq.push(("bucket", "hour".into()));
            if is_node {
                aq.push(("carrier", text(&s["carrier"]).to_string()));
            }
            let actual = get(&target.server, "/api/v1/query", &aq)
                .with_context(|| format!("actuals after origin {day}"))?;
            let (carrier, unit) = (text(&s["carrier"]), text(&s["unit"]));
            let by_ts: std::collections::HashMap<i64, f64> = actual["series"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| text(&a["carrier"]) == carrier && text(&a["unit"]) == unit)
                .flat_map(|a| a["points"].as_array().cloned().unwrap_or_default())
                .filter(|p| p["count"].as_u64().unwrap_or(0) > 0)
                .filter_map(|p| Some((p["ts"].as_i64()?, p["value"].as_f64()?)))
                .collect();
            let i = match pooled.iter().position(|p| p.0 == carrier && p.1 == unit) {
                Some(i) => i,
                None => {
                    pooled.push((carrier.into(), unit.into(), Vec::new(), Vec::new(), 0));
                    pooled.len() - 1
                }
            };
            let entry = &mut pooled[i];
            entry.4 += 1;
            let model = text(&s["model"]).to_string();
            if !entry.3.contains(&model) {
                entry.3.push(model);
            }
            for h in &hours {
                let ts = h["ts"].as_i64().unwrap_or_default();
                entry.2.push(ComparedHour {
                    start: text(&h["start"]).into(),
                    ts,
                    p10: h["p10"].as_f64().unwrap_or(f64::NAN),
                    p50: h["p50"].as_f64().unwrap_or(f64::NAN),
                    p90: h["p90"].as_f64().unwrap_or(f64::NAN),
                    actual: by_ts.get(&ts).copied(),
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
    println!("{}", weather_line(&weather));
    for (c, u, hours, models, n) in &pooled {
        println!(
            "{c} [{u}] ({n} origins, models {}): {}",
            models.join(", "),
            scores_line(&score(hours), u)
        );
    }
    Ok(())
}
