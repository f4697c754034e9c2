//! `shulv tariff`, `shulv bill` and `shulv optimise`: time-of-use tariffs, bills and schedules
//! of flexible assets (峰谷优化), offline on files or against a running server.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::{json, Value};
use shulv_optimise::{schedule, Event, Problem};
use shulv_platform::Assets;
use shulv_tariff::{BasicMethod, Tariff};

use crate::answers::{parse, Float, Nullable};
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

/// The answer text of a request that should have answered 200.
fn ok(status: u16, text: String) -> anyhow::Result<String> {
    if status != 200 {
        bail!("server answered {status}: {text}");
    }
    Ok(text)
}

/// The server's JSON answer, pretty-printed as it came.
fn print_json(text: &str) -> anyhow::Result<()> {
    let v: Value = serde_json::from_str(text)?;
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

/// A tariff of `GET /api/v1/tariffs` (and the answer of `POST /api/v1/tariffs`).
#[derive(Deserialize)]
struct TariffSummary {
    id: String,
    version: String,
    name: String,
    source: String,
    prices: Vec<PeriodPrice>,
    provenance: Vec<PartProvenance>,
}

/// The price of a period of a [`TariffSummary`].
#[derive(Deserialize)]
struct PeriodPrice {
    label: String,
    price: Float,
}

/// Where a part of a [`TariffSummary`] comes from.
#[derive(Deserialize)]
struct PartProvenance {
    part: String,
    status: String,
    source: String,
}

/// Runs a tariff subcommand.
pub fn tariff(command: &TariffCommand) -> anyhow::Result<()> {
    match command {
        TariffCommand::List { output, server } => {
            let (s, t) = server.get_query("/api/v1/tariffs", &[])?;
            let text = ok(s, t)?;
            if output == "json" {
                return print_json(&text);
            }
            let list: Vec<TariffSummary> = parse("GET /api/v1/tariffs", &text)?;
            for t in &list {
                let prices: Vec<String> = t
                    .prices
                    .iter()
                    .map(|p| format!("{} {:.4}", p.label, p.price))
                    .collect();
                println!(
                    "{} @ {}  {}  [{}]  {}",
                    t.id,
                    t.version,
                    t.name,
                    t.source,
                    prices.join(", ")
                );
                for p in &t.provenance {
                    println!("    {:<24} {:<8} {}", p.part, p.status, p.source);
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
            print_json(&ok(s, t)?)?;
        }
        TariffCommand::Add { file, server } => {
            let text =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let (s, t) = server.post("/api/v1/tariffs", "application/toml", text)?;
            let v: TariffSummary = parse("POST /api/v1/tariffs", &ok(s, t)?)?;
            println!("added tariff {} version {}", v.id, v.version);
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
    let text = ok(s, t)?;
    if a.output == "json" {
        print_json(&text)?;
    } else if comparing {
        print_comparison(&parse(&format!("GET {path}"), &text)?);
    } else {
        print_bill(&parse(&format!("GET {path}"), &text)?);
    }
    Ok(())
}

/// The answer of `GET /api/v1/bills/comparison`.
#[derive(Deserialize)]
struct TariffComparison {
    node: String,
    period: String,
    kwh: Float,
    ranking: Vec<RankedTariff>,
    bills: Vec<CriticalDays>,
}

/// One tariff's place in a [`TariffComparison`].
#[derive(Deserialize)]
struct RankedTariff {
    tariff: String,
    tariff_version: String,
    energy_amount: Float,
    basic_amount: Nullable<f64>,
    total: Float,
    average_price: Float,
    above_cheapest: Float,
}

/// The critical-peak days applied to a bill or plan.
#[derive(Deserialize)]
struct CriticalDays {
    critical_days: Vec<String>,
}

/// The answer of `GET /api/v1/bills`.
#[derive(Deserialize)]
struct NodeBill {
    node: String,
    period: String,
    meters: Vec<String>,
    critical_peak_trigger: Option<TemperatureTrigger>,
    critical_days: Vec<String>,
    bill: Bill,
    basic_comparison: Option<BasicComparison>,
}

/// The bill of a [`NodeBill`].
#[derive(Deserialize)]
struct Bill {
    tariff: String,
    tariff_version: String,
    intervals: usize,
    periods: Vec<PeriodLine>,
    components: std::collections::BTreeMap<String, Float>,
    energy_amount: Float,
    basic: Nullable<BasicBill>,
    total: Float,
    average_price: Float,
}

/// Energy and money of one period of a [`Bill`].
#[derive(Deserialize)]
struct PeriodLine {
    label: String,
    kwh: Float,
    share: Float,
    price: Float,
    amount: Float,
}

/// The basic charge of a [`Bill`].
#[derive(Deserialize)]
struct BasicBill {
    method: BasicMethodName,
    amount: Float,
    notes: Vec<String>,
}

/// The name of a basic-charge method (its `method` tag).
#[derive(Deserialize)]
struct BasicMethodName {
    method: String,
}

/// Basic-charge methods compared on the same data.
#[derive(Deserialize)]
struct BasicComparison {
    options: Vec<BasicOption>,
}

/// One option of a [`BasicComparison`]: the method (printed as its JSON) and the amount.
#[derive(Deserialize)]
struct BasicOption {
    method: Value,
    amount: Float,
}

/// How a tariff's temperature trigger was evaluated.
#[derive(Deserialize)]
struct TemperatureTrigger {
    meter: String,
    trigger_c: Float,
    days: Vec<DayMaximum>,
    days_without_data: Vec<String>,
}

/// A day of a [`TemperatureTrigger`].
#[derive(Deserialize)]
struct DayMaximum {
    date: String,
    triggered: bool,
}

fn print_comparison(v: &TariffComparison) {
    println!(
        "tariffs compared for {} in {} on the same {:.1} kWh (cheapest first):",
        v.node, v.period, v.kwh
    );
    println!(
        "{:<36} {:<18} {:>14} {:>14} {:>14} {:>10} {:>12}",
        "tariff", "version", "energy yuan", "basic yuan", "total yuan", "yuan/kWh", "+ yuan"
    );
    for r in &v.ranking {
        println!(
            "{:<36} {:<18} {:>14.2} {:>14.2} {:>14.2} {:>10.4} {:>12.2}",
            r.tariff,
            r.tariff_version,
            r.energy_amount,
            r.basic_amount,
            r.total,
            r.average_price,
            r.above_cheapest
        );
    }
    if let Some(first) = v.bills.first() {
        print_critical_days(&first.critical_days);
    }
}

/// The critical-peak days line, if any days were applied.
fn print_critical_days(days: &[String]) {
    if !days.is_empty() {
        println!("critical-peak days applied: {}", days.join(", "));
    }
}

fn print_trigger(t: Option<&TemperatureTrigger>) {
    let Some(t) = t else {
        return;
    };
    let fired: Vec<&str> = t
        .days
        .iter()
        .filter(|d| d.triggered)
        .map(|d| d.date.as_str())
        .collect();
    println!(
        "critical-peak trigger: {} ≥ {} °C on {} of {} days with readings{}",
        t.meter,
        t.trigger_c,
        fired.len(),
        t.days.len(),
        if fired.is_empty() {
            String::new()
        } else {
            format!(": {}", fired.join(", "))
        }
    );
    let missing = t.days_without_data.len();
    if missing > 0 {
        println!(
            "  note: {missing} days without temperature readings (the trigger cannot fire on them)"
        );
    }
}

fn print_bill(v: &NodeBill) {
    let b = &v.bill;
    println!(
        "bill of {} for {} under {} version {} ({} meters, {} intervals)",
        v.node,
        v.period,
        b.tariff,
        b.tariff_version,
        v.meters.len(),
        b.intervals
    );
    println!(
        "{:<6} {:>14} {:>7} {:>10} {:>14}",
        "period", "kWh", "share", "yuan/kWh", "yuan"
    );
    for p in &b.periods {
        println!(
            "{:<6} {:>14.1} {:>6.1}% {:>10.4} {:>14.2}",
            p.label,
            p.kwh,
            100.0 * p.share.0,
            p.price,
            p.amount
        );
    }
    for (name, amount) in &b.components {
        println!("  component {name:<20} {amount:>14.2}");
    }
    println!("energy charge (电度电费) {:>14.2}", b.energy_amount);
    if let Some(basic) = &b.basic.0 {
        println!(
            "basic charge (基本电费, {}) {:>14.2}",
            basic.method.method, basic.amount
        );
        for n in &basic.notes {
            println!("  note: {n}");
        }
    }
    println!(
        "total {:>14.2} yuan, {:.4} yuan/kWh",
        b.total, b.average_price
    );
    if let Some(c) = &v.basic_comparison {
        println!("basic-charge options (cheapest first):");
        for o in &c.options {
            println!("  {:<40} {:>14.2}", o.method.to_string(), o.amount);
        }
    }
    print_trigger(v.critical_peak_trigger.as_ref());
    print_critical_days(&v.critical_days);
}

/// The answer of `POST /api/v1/schedules`, what the table and CSV show.
#[derive(Deserialize)]
struct NodeSchedule {
    load_weather: Option<WeatherUsed>,
    critical_peak_trigger: Option<TemperatureTrigger>,
    critical_days: Vec<String>,
    schedule: Plan,
}

/// Which weather the load forecast of a [`NodeSchedule`] used.
#[derive(Deserialize)]
struct WeatherUsed {
    covariate: String,
    horizon_weather: String,
}

/// A plan (`Schedule` of shulv-optimise), computed here or by the server.
#[derive(Deserialize)]
struct Plan {
    method: String,
    fallback: bool,
    reason: Option<String>,
    solve_ms: Float,
    steps: usize,
    step_minutes: u32,
    setpoints: Setpoints,
    cost: Cost,
    baseline_cost: Cost,
    savings: Float,
    emissions_change_kg: Float,
    end_state: Value,
    event: Option<EventOutcome>,
}

/// The setpoints of a [`Plan`], one value per step (per asset for the nested ones).
#[derive(Deserialize)]
struct Setpoints {
    import_kw: Vec<Float>,
    export_kw: Vec<Float>,
    pv_curtailed_kw: Vec<Float>,
    charge_kw: Vec<Vec<Float>>,
    discharge_kw: Vec<Vec<Float>>,
    soc: Vec<Vec<Float>>,
    shiftable_kw: Vec<Vec<Float>>,
    curtailed_kw: Vec<Vec<Float>>,
}

/// The cost of a [`Plan`] or of doing nothing, yuan.
#[derive(Deserialize)]
struct Cost {
    energy: Float,
    export_revenue: Float,
    battery_wear: Float,
    curtailment: Float,
    demand: Float,
    total: Float,
    peak_import_kw: Float,
}

impl Cost {
    /// The amounts the table shows, by name.
    fn amounts(&self) -> [(&'static str, Float); 6] {
        [
            ("energy", self.energy),
            ("export_revenue", self.export_revenue),
            ("battery_wear", self.battery_wear),
            ("curtailment", self.curtailment),
            ("demand", self.demand),
            ("total", self.total),
        ]
    }
}

/// What came of a demand-response event.
#[derive(Deserialize)]
struct EventOutcome {
    met: bool,
    binding: Vec<String>,
}

/// Runs `shulv optimise`.
pub fn optimise(a: &OptimiseArgs) -> anyhow::Result<()> {
    let (text, from_server) = match (&a.problem, &a.node) {
        (Some(path), None) => {
            let v = read_structured(path)?;
            let p: Problem =
                serde_json::from_value(v).with_context(|| path.display().to_string())?;
            let s = schedule(&p).with_context(|| path.display().to_string())?;
            (serde_json::to_string(&s)?, false)
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
            (ok(s, t)?, true)
        }
        _ => bail!("give a problem file, or --node with --tariff and --start"),
    };
    if a.output == "json" {
        return print_json(&text);
    }
    let answer = if from_server {
        parse("POST /api/v1/schedules", &text)?
    } else {
        NodeSchedule {
            load_weather: None,
            critical_peak_trigger: None,
            critical_days: Vec::new(),
            schedule: parse("the local solver", &text)?,
        }
    };
    match a.output.as_str() {
        "csv" => crate::write_stdout(&plan_csv(&answer.schedule))?,
        "table" => {
            print_trigger(answer.critical_peak_trigger.as_ref());
            if let Some(w) = &answer.load_weather {
                println!(
                    "load forecast with {} ({} weather for the plan hours)",
                    w.covariate, w.horizon_weather
                );
            }
            print_critical_days(&answer.critical_days);
            print_summary(&answer.schedule)
        }
        other => bail!("unknown output {other:?} (table, json or csv)"),
    }
    Ok(())
}

fn print_summary(s: &Plan) {
    println!(
        "plan: {} steps of {} min, method {}{}, solved in {:.1} ms",
        s.steps,
        s.step_minutes,
        s.method,
        if s.fallback { " (FALLBACK)" } else { "" },
        s.solve_ms
    );
    if let Some(r) = &s.reason {
        println!("reason: {r}");
    }
    let (c, b) = (&s.cost, &s.baseline_cost);
    println!("{:<22} {:>12} {:>12}", "yuan", "plan", "do nothing");
    for ((k, plan), (_, nothing)) in c.amounts().into_iter().zip(b.amounts()) {
        println!("{k:<22} {plan:>12.2} {nothing:>12.2}");
    }
    println!(
        "{:<22} {:>12.1} {:>12.1}",
        "peak import kW", c.peak_import_kw, b.peak_import_kw
    );
    println!(
        "savings {:.2} yuan; emissions {:+.1} kgCO2",
        s.savings, s.emissions_change_kg
    );
    if let Some(e) = &s.event {
        println!("event: {}", if e.met { "met" } else { "NOT met" });
        for b in &e.binding {
            println!("  {b}");
        }
    }
    println!("end state: {}", s.end_state);
}

/// The plan's setpoints as CSV, one line per step.
fn plan_csv(s: &Plan) -> String {
    let sp = &s.setpoints;
    let (g, x, pvc) = (&sp.import_kw, &sp.export_kw, &sp.pv_curtailed_kw);
    let (ch, dis, soc, sh, cu) = (
        &sp.charge_kw,
        &sp.discharge_kw,
        &sp.soc,
        &sp.shiftable_kw,
        &sp.curtailed_kw,
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
            format!("{gt:.4}"),
            format!("{:.4}", x[t]),
            format!("{:.4}", pvc[t]),
        ];
        for i in 0..ch.len() {
            row.extend([
                format!("{:.4}", ch[i][t]),
                format!("{:.4}", dis[i][t]),
                format!("{:.4}", soc[i][t]),
            ]);
        }
        row.extend(sh.iter().map(|k| format!("{:.4}", k[t])));
        row.extend(cu.iter().map(|k| format!("{:.4}", k[t])));
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}
