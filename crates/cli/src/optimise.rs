//! `shulv tariff`, `shulv bill` and `shulv optimise`: time-of-use tariffs, bills and schedules
//! of flexible assets (峰谷优化), offline on files or against a running server.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use shulv_optimise::{schedule, Event, Problem};
use shulv_platform::Assets;
use shulv_tariff::{BasicMethod, Tariff};

use crate::client::ServerArgs;

/// `shulv tariff …`
#[derive(clap::Subcommand)]
pub enum TariffCommand {
    /// List every tariff version of the server with period prices and provenance.
    List {
        /// Output: table or json.
        #[arg(long, default_value = "table")]
        output: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show one tariff version as in its file (JSON).
    Show {
        /// Tariff id.
        id: String,
        /// Version (default: the latest).
        #[arg(long)]
        version: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Add a tariff version from a TOML file (administrators and operators of the whole tree).
    Add {
        /// The TOML file (format in docs/optimisation.md; presets in crates/tariff/data/).
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Check a tariff file offline and print its period prices.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
}

/// `shulv bill`
#[derive(clap::Args)]
pub struct BillArgs {
    /// Node id.
    #[arg(long)]
    node: String,
    /// 2025, 2025-Q2 or 2025-03.
    #[arg(long)]
    period: String,
    /// Tariff id, or ID@VERSION; repeat it to compare tariffs on the same data.
    #[arg(long, required = true)]
    tariff: Vec<String>,
    /// Tariff version (default: the latest; with one --tariff only).
    #[arg(long)]
    version: Option<String>,
    /// Basic charge (基本电费): capacity, contract or actual.
    #[arg(long)]
    basic: Option<String>,
    /// Installed capacity, kVA.
    #[arg(long)]
    capacity_kva: Option<f64>,
    /// Contract demand, kW.
    #[arg(long)]
    contract_kw: Option<f64>,
    /// Compare capacity, contract and actual demand billing (needs --capacity-kva).
    #[arg(long)]
    compare: bool,
    /// Critical-peak trigger days, YYYY-MM-DD (repeatable).
    #[arg(long = "critical-day")]
    critical_days: Vec<String>,
    /// Air-temperature meter whose stored daily maxima fire the critical-peak trigger.
    #[arg(long)]
    temperature_meter: Option<String>,
    /// Output: table or json.
    #[arg(long, default_value = "table")]
    output: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// `shulv optimise`
#[derive(clap::Args)]
pub struct OptimiseArgs {
    /// A complete problem file (JSON or TOML; see docs/optimisation.md), solved offline.
    problem: Option<PathBuf>,
    /// Or: plan this node on the server (its load forecast from the stored data).
    #[arg(long, conflicts_with = "problem")]
    node: Option<String>,
    /// Tariff id (with --node).
    #[arg(long)]
    tariff: Option<String>,
    /// Tariff version (with --node; default: the latest).
    #[arg(long = "tariff-version")]
    tariff_version: Option<String>,
    /// Basic charge (基本电费) that makes the peak import cost (with --node): contract or
    /// actual demand (capacity billing does not depend on the plan).
    #[arg(long, value_parser = ["contract", "actual"])]
    basic: Option<String>,
    /// Contract demand, kW (with --basic contract).
    #[arg(long)]
    contract_kw: Option<f64>,
    /// Installed capacity, kVA (with --basic contract: the floor of the contract).
    #[arg(long)]
    capacity_kva: Option<f64>,
    /// A known load instead of the forecast (with --node): a text or CSV file with one kW
    /// value per 15-minute step, the last column of each line (a header line is skipped).
    #[arg(long)]
    load: Option<PathBuf>,
    /// Demand-response event (需求响应, with --node): first and last-plus-one step,
    /// `FROM..TO`, with --event-reduce-kw or --event-cap-kw.
    #[arg(long)]
    event_steps: Option<String>,
    /// Reduce the import this much below doing nothing in every event step, kW.
    #[arg(long, requires = "event_steps")]
    event_reduce_kw: Option<f64>,
    /// Or keep the import at most this in every event step, kW.
    #[arg(long, requires = "event_steps", conflicts_with = "event_reduce_kw")]
    event_cap_kw: Option<f64>,
    /// Start (with --node): RFC 3339 or YYYY-MM-DD[ HH:MM] local.
    #[arg(long)]
    start: Option<String>,
    /// Hours (with --node), 24–48.
    #[arg(long, default_value_t = 24)]
    hours: usize,
    /// Assets file (JSON or TOML: batteries, shiftable, curtailable, limits), with --node.
    #[arg(long)]
    assets: Option<PathBuf>,
    /// Forecast model of the load (with --node).
    #[arg(long)]
    model: Option<String>,
    /// Critical-peak trigger days of the plan, YYYY-MM-DD (repeatable, with --node).
    #[arg(long = "critical-day")]
    critical_days: Vec<String>,
    /// Air-temperature meter (e.g. an imported weather forecast) whose stored daily maxima
    /// over the plan fire the critical-peak trigger (with --node).
    #[arg(long)]
    temperature_meter: Option<String>,
    /// Air-temperature meter with the observed weather of the load's history: the
    /// temperature becomes a covariate of the load forecast, the plan hours' weather read from
    /// --temperature-meter when given, else from this meter (with --node).
    #[arg(long)]
    observed_temperature_meter: Option<String>,
    /// Output: table, json or csv (setpoints per step).
    #[arg(long, default_value = "table")]
    output: String,
    #[command(flatten)]
    server: ServerArgs,
}

fn read_structured(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "toml") {
        let v: toml::Value = toml::from_str(&text).with_context(|| path.display().to_string())?;
        Ok(serde_json::to_value(v)?)
    } else {
        serde_json::from_str(&text).with_context(|| path.display().to_string())
    }
}

/// Reads an assets file (TOML or JSON) into its type here, so an error names the user's file,
/// line and column rather than the request the CLI builds.
fn read_assets(path: &Path) -> anyhow::Result<Assets> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display();
    if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{name}: {e}"))
    } else {
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{name}: {e}"))
    }
}

/// Reads a load file: one kW value per 15-minute step, the last column of each line; a first
/// line that is not a number is a header.
fn read_load(path: &Path) -> anyhow::Result<Vec<f64>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut load = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let cell = line.rsplit(',').next().unwrap_or("").trim();
        if cell.is_empty() {
            continue;
        }
        match cell.parse::<f64>() {
            Ok(kw) if kw.is_finite() => load.push(kw),
            _ if i == 0 => {} // a header
            _ => bail!(
                "{}: line {}: {cell:?} is not a load in kW",
                path.display(),
                i + 1
            ),
        }
    }
    Ok(load)
}

/// The basic-charge method of `--basic` and its numbers.
fn basic_method(a: &OptimiseArgs) -> anyhow::Result<Option<BasicMethod>> {
    Ok(match a.basic.as_deref() {
        None => None,
        Some("actual") => Some(BasicMethod::ActualDemand),
        Some(_) => {
            let (Some(contract_kw), Some(capacity_kva)) = (a.contract_kw, a.capacity_kva) else {
                bail!("--basic contract needs --contract-kw and --capacity-kva");
            };
            Some(BasicMethod::ContractDemand {
                contract_kw,
                capacity_kva,
            })
        }
    })
}

/// The demand-response event of `--event-steps FROM..TO` with its target.
fn event(a: &OptimiseArgs) -> anyhow::Result<Option<Event>> {
    let Some(steps) = &a.event_steps else {
        return Ok(None);
    };
    let bad = || anyhow::anyhow!("--event-steps {steps:?} is not FROM..TO (step numbers)");
    let (from, to) = steps.split_once("..").ok_or_else(bad)?;
    let (from_step, to_step) = (
        from.trim().parse().map_err(|_| bad())?,
        to.trim().parse().map_err(|_| bad())?,
    );
    if a.event_reduce_kw.is_none() && a.event_cap_kw.is_none() {
        bail!("--event-steps needs --event-reduce-kw or --event-cap-kw");
    }
    Ok(Some(Event {
        from_step,
        to_step,
        reduce_kw: a.event_reduce_kw,
        cap_kw: a.event_cap_kw,
    }))
}

fn ok(status: u16, text: String) -> anyhow::Result<Value> {
    if status != 200 {
        bail!("server answered {status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// Runs a tariff subcommand.
pub fn tariff(command: &TariffCommand) -> anyhow::Result<()> {
    match command {
        TariffCommand::List { output, server } => {
            let (s, t) = server.get_query("/api/v1/tariffs", &[])?;
            let list = ok(s, t)?;
            if output == "json" {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            for t in list.as_array().into_iter().flatten() {
                let prices: Vec<String> = t["prices"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        format!(
                            "{} {:.4}",
                            p["label"].as_str().unwrap_or(""),
                            f(&p["price"])
                        )
                    })
                    .collect();
                println!(
                    "{} @ {}  {}  [{}]  {}",
                    t["id"].as_str().unwrap_or(""),
                    t["version"].as_str().unwrap_or(""),
                    t["name"].as_str().unwrap_or(""),
                    t["source"].as_str().unwrap_or(""),
                    prices.join(", ")
                );
                for p in t["provenance"].as_array().into_iter().flatten() {
                    println!(
                        "    {:<24} {:<8} {}",
                        p["part"].as_str().unwrap_or(""),
                        p["status"].as_str().unwrap_or(""),
                        p["source"].as_str().unwrap_or("")
                    );
                }
            }
        }
        TariffCommand::Show {
            id,
            version,
            server,
        } => {
            let q: Vec<(&str, String)> = version.iter().map(|v| ("version", v.clone())).collect();
            let (s, t) = server.get_query(&format!("/api/v1/tariffs/{id}"), &q)?;
            println!("{}", serde_json::to_string_pretty(&ok(s, t)?)?);
        }
        TariffCommand::Add { file, server } => {
            let text =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let (s, t) = server.post("/api/v1/tariffs", "application/toml", text)?;
            let v = ok(s, t)?;
            println!(
                "added tariff {} version {}",
                v["id"].as_str().unwrap_or(""),
                v["version"].as_str().unwrap_or("")
            );
        }
        TariffCommand::Check { file } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let t = Tariff::check_toml(&file.display().to_string(), &text).map_err(|all| {
                let lines: Vec<String> = all.iter().map(|e| format!("  {e}")).collect();
                anyhow::anyhow!(
                    "{} problem(s) in the tariff:\n{}",
                    all.len(),
                    lines.join("\n")
                )
            })?;
            println!("{} @ {}: valid", t.id(), t.version());
            for p in t.periods() {
                println!(
                    "  {:<4} {:<14} {:.4} yuan/kWh",
                    p.label_zh(),
                    p.as_str(),
                    t.price(p)
                );
            }
            for (part, prov) in t.provenance() {
                println!("  {part:<24} {:?}  {}", prov.status, prov.source);
            }
        }
    }
    Ok(())
}

/// Runs `shulv bill`.
pub fn bill(a: &BillArgs) -> anyhow::Result<()> {
    let mut q = vec![
        ("node", a.node.clone()),
        ("period", a.period.clone()),
        ("tariff", a.tariff.join(",")),
    ];
    for (k, v) in [
        ("version", a.version.clone()),
        ("basic", a.basic.clone()),
        ("capacity_kva", a.capacity_kva.map(|x| x.to_string())),
        ("contract_kw", a.contract_kw.map(|x| x.to_string())),
        ("compare", a.compare.then(|| "true".to_string())),
        (
            "critical_days",
            (!a.critical_days.is_empty()).then(|| a.critical_days.join(",")),
        ),
        ("temperature_meter", a.temperature_meter.clone()),
    ] {
        if let Some(v) = v {
            q.push((k, v));
        }
    }
    if a.output != "table" && a.output != "json" {
        bail!("unknown output {:?} (table or json)", a.output);
    }
    let comparing = a.tariff.len() > 1;
    if comparing && a.version.is_some() {
        bail!("--version goes with one --tariff; name versions as --tariff ID@VERSION");
    }
    let path = if comparing {
        "/api/v1/bills/comparison"
    } else {
        "/api/v1/bills"
    };
    let (s, t) = a.server.get_query(path, &q)?;
    let v = ok(s, t)?;
    if a.output == "json" {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if comparing {
        print_comparison(&v);
    } else {
        print_bill(&v);
    }
    Ok(())
}

fn print_comparison(v: &Value) {
    println!(
        "tariffs compared for {} in {} on the same {:.1} kWh (cheapest first):",
        v["node"].as_str().unwrap_or(""),
        v["period"].as_str().unwrap_or(""),
        f(&v["kwh"])
    );
    println!(
        "{:<36} {:<18} {:>14} {:>14} {:>14} {:>10} {:>12}",
        "tariff", "version", "energy yuan", "basic yuan", "total yuan", "yuan/kWh", "+ yuan"
    );
    for r in v["ranking"].as_array().into_iter().flatten() {
        println!(
            "{:<36} {:<18} {:>14.2} {:>14} {:>14.2} {:>10.4} {:>12.2}",
            r["tariff"].as_str().unwrap_or(""),
            r["tariff_version"].as_str().unwrap_or(""),
            f(&r["energy_amount"]),
            r["basic_amount"]
                .as_f64()
                .map_or("-".to_string(), |x| format!("{x:.2}")),
            f(&r["total"]),
            f(&r["average_price"]),
            f(&r["above_cheapest"])
        );
    }
    if let Some(days) = v["bills"][0]["critical_days"]
        .as_array()
        .filter(|d| !d.is_empty())
    {
        println!("critical-peak days applied: {}", join_strings(days));
    }
}

fn join_strings(values: &[Value]) -> String {
    values
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_trigger(v: &Value) {
    let Some(t) = v["critical_peak_trigger"].as_object() else {
        return;
    };
    let days = t["days"].as_array().map_or(&[][..], Vec::as_slice);
    let fired: Vec<Value> = days
        .iter()
        .filter(|d| d["triggered"] == true)
        .map(|d| d["date"].clone())
        .collect();
    println!(
        "critical-peak trigger: {} ≥ {} °C on {} of {} days with readings{}",
        t["meter"].as_str().unwrap_or(""),
        f(&t["trigger_c"]),
        fired.len(),
        days.len(),
        if fired.is_empty() {
            String::new()
        } else {
            format!(": {}", join_strings(&fired))
        }
    );
    let missing = t["days_without_data"].as_array().map_or(0, Vec::len);
    if missing > 0 {
        println!(
            "  note: {missing} days without temperature readings (the trigger cannot fire on them)"
        );
    }
}

fn print_bill(v: &Value) {
    let b = &v["bill"];
    println!(
        "bill of {} for {} under {} version {} ({} meters, {} intervals)",
        v["node"].as_str().unwrap_or(""),
        v["period"].as_str().unwrap_or(""),
        b["tariff"].as_str().unwrap_or(""),
        b["tariff_version"].as_str().unwrap_or(""),
        v["meters"].as_array().map_or(0, Vec::len),
        b["intervals"]
    );
    println!(
        "{:<6} {:>14} {:>7} {:>10} {:>14}",
        "period", "kWh", "share", "yuan/kWh", "yuan"
    );
    for p in b["periods"].as_array().into_iter().flatten() {
        println!(
            "{:<6} {:>14.1} {:>6.1}% {:>10.4} {:>14.2}",
            p["label"].as_str().unwrap_or(""),
            f(&p["kwh"]),
            100.0 * f(&p["share"]),
            f(&p["price"]),
            f(&p["amount"])
        );
    }
    for (name, amount) in b["components"].as_object().into_iter().flatten() {
        println!("  component {name:<20} {:>14.2}", f(amount));
    }
    println!("energy charge (电度电费) {:>14.2}", f(&b["energy_amount"]));
    if let Some(basic) = b["basic"].as_object() {
        println!(
            "basic charge (基本电费, {}) {:>14.2}",
            basic["method"]["method"].as_str().unwrap_or(""),
            f(&basic["amount"])
        );
        for n in basic["notes"].as_array().into_iter().flatten() {
            println!("  note: {}", n.as_str().unwrap_or(""));
        }
    }
    println!(
        "total {:>14.2} yuan, {:.4} yuan/kWh",
        f(&b["total"]),
        f(&b["average_price"])
    );
    if let Some(c) = v["basic_comparison"].as_object() {
        println!("basic-charge options (cheapest first):");
        for o in c["options"].as_array().into_iter().flatten() {
            println!(
                "  {:<40} {:>14.2}",
                o["method"].to_string(),
                f(&o["amount"])
            );
        }
    }
    print_trigger(v);
    if let Some(days) = v["critical_days"].as_array().filter(|d| !d.is_empty()) {
        println!("critical-peak days applied: {}", join_strings(days));
    }
}

/// Runs `shulv optimise`.
pub fn optimise(a: &OptimiseArgs) -> anyhow::Result<()> {
    let (answer, plan) = match (&a.problem, &a.node) {
        (Some(path), None) => {
            let v = read_structured(path)?;
            let p: Problem =
                serde_json::from_value(v).with_context(|| path.display().to_string())?;
            let s = schedule(&p).with_context(|| path.display().to_string())?;
            let v = serde_json::to_value(&s)?;
            (v.clone(), v)
        }
        (None, Some(node)) => {
            let (Some(tariff), Some(start)) = (&a.tariff, &a.start) else {
                bail!("--node needs --tariff and --start");
            };
            let assets = match &a.assets {
                Some(p) => read_assets(p)?,
                None => Assets::default(),
            };
            let mut body = json!({
                "node": node, "tariff": tariff, "start": start, "hours": a.hours, "assets": assets,
            });
            if let Some(v) = &a.tariff_version {
                body["version"] = json!(v);
            }
            if let Some(basic) = basic_method(a)? {
                body["basic"] = serde_json::to_value(basic)?;
            }
            if let Some(path) = &a.load {
                body["load_kw"] = json!(read_load(path)?);
            }
            if let Some(event) = event(a)? {
                body["event"] = serde_json::to_value(event)?;
            }
            if let Some(m) = &a.model {
                body["model"] = json!(m);
            }
            if !a.critical_days.is_empty() {
                body["critical_days"] = json!(a.critical_days);
            }
            if let Some(m) = &a.temperature_meter {
                body["temperature_meter"] = json!(m);
            }
            if let Some(m) = &a.observed_temperature_meter {
                body["observed_temperature_meter"] = json!(m);
            }
            let (s, t) = a.server.send("POST", "/api/v1/schedules", Some(&body))?;
            let v = ok(s, t)?;
            let plan = v["schedule"].clone();
            (v, plan)
        }
        _ => bail!("give a problem file, or --node with --tariff and --start"),
    };
    match a.output.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&answer)?),
        "csv" => crate::write_stdout(&plan_csv(&plan))?,
        "table" => {
            print_trigger(&answer);
            if let Some(w) = answer["load_weather"].as_object() {
                println!(
                    "load forecast with {} ({} weather for the plan hours)",
                    w["covariate"].as_str().unwrap_or(""),
                    w["horizon_weather"].as_str().unwrap_or("")
                );
            }
            if let Some(days) = answer["critical_days"].as_array().filter(|d| !d.is_empty()) {
                println!("critical-peak days applied: {}", join_strings(days));
            }
            print_summary(&plan)
        }
        other => bail!("unknown output {other:?} (table, json or csv)"),
    }
    Ok(())
}

fn print_summary(s: &Value) {
    println!(
        "plan: {} steps of {} min, method {}{}, solved in {:.1} ms",
        s["steps"],
        s["step_minutes"],
        s["method"].as_str().unwrap_or(""),
        if s["fallback"] == true {
            " (FALLBACK)"
        } else {
            ""
        },
        f(&s["solve_ms"])
    );
    if let Some(r) = s["reason"].as_str() {
        println!("reason: {r}");
    }
    let c = &s["cost"];
    let b = &s["baseline_cost"];
    println!("{:<22} {:>12} {:>12}", "yuan", "plan", "do nothing");
    for k in [
        "energy",
        "export_revenue",
        "battery_wear",
        "curtailment",
        "demand",
        "total",
    ] {
        println!("{k:<22} {:>12.2} {:>12.2}", f(&c[k]), f(&b[k]));
    }
    println!(
        "{:<22} {:>12.1} {:>12.1}",
        "peak import kW",
        f(&c["peak_import_kw"]),
        f(&b["peak_import_kw"])
    );
    println!(
        "savings {:.2} yuan; emissions {:+.1} kgCO2",
        f(&s["savings"]),
        f(&s["emissions_change_kg"])
    );
    if let Some(e) = s["event"].as_object() {
        println!(
            "event: {}",
            if e["met"] == true { "met" } else { "NOT met" }
        );
        for b in e["binding"].as_array().into_iter().flatten() {
            println!("  {}", b.as_str().unwrap_or(""));
        }
    }
    println!("end state: {}", s["end_state"]);
}

/// The plan's setpoints as CSV, one line per step.
fn plan_csv(s: &Value) -> String {
    let sp = &s["setpoints"];
    let col = |k: &str| sp[k].as_array().cloned().unwrap_or_default();
    let (g, x, pvc) = (col("import_kw"), col("export_kw"), col("pv_curtailed_kw"));
    let nested = |k: &str| -> Vec<Vec<Value>> {
        sp[k]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_array().cloned().unwrap_or_default())
            .collect()
    };
    let (ch, dis, soc, sh, cu) = (
        nested("charge_kw"),
        nested("discharge_kw"),
        nested("soc"),
        nested("shiftable_kw"),
        nested("curtailed_kw"),
    );
    let mut header = vec![
        "step".to_string(),
        "import_kw".into(),
        "export_kw".into(),
        "pv_curtailed_kw".into(),
    ];
    for i in 0..ch.len() {
        header.extend([
            format!("battery{i}_charge_kw"),
            format!("battery{i}_discharge_kw"),
            format!("battery{i}_soc"),
        ]);
    }
    header.extend((0..sh.len()).map(|k| format!("shiftable{k}_kw")));
    header.extend((0..cu.len()).map(|k| format!("curtailed{k}_kw")));
    let mut out = header.join(",") + "\n";
    for (t, gt) in g.iter().enumerate() {
        let mut row = vec![
            t.to_string(),
            format!("{:.4}", f(gt)),
            format!("{:.4}", f(&x[t])),
            format!("{:.4}", f(&pvc[t])),
        ];
        for i in 0..ch.len() {
            row.extend([
                format!("{:.4}", f(&ch[i][t])),
                format!("{:.4}", f(&dis[i][t])),
                format!("{:.4}", f(&soc[i][t])),
            ]);
        }
        row.extend(sh.iter().map(|k| format!("{:.4}", f(&k[t]))));
        row.extend(cu.iter().map(|k| format!("{:.4}", f(&k[t]))));
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}
