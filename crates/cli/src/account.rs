//! `shulv account`: energy and carbon accounts, carbon-efficiency grades and the factor library
//! of a running server.

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::{Number, Value};

use crate::answers::{parse, Float, Nullable};
use crate::client::ServerArgs;

/// Inventory and energy settings (see `GET /api/v1/accounts`).
#[derive(clap::Args)]
pub struct RegimeArgs {
    /// cn_mee_nbs (default), cn_carbon_market, ghg_protocol or ipcc2006.
    #[arg(long)]
    regime: Option<String>,
    /// 口径 of the MEE/NBS factors: average, excl_traded_nonfossil or fossil.
    #[arg(long)]
    caliber: Option<String>,
    /// Grid factor geography: national, regional or provincial.
    #[arg(long)]
    grid: Option<String>,
    /// Data year of the grid factor (default: the latest not after the period).
    #[arg(long)]
    electricity_year: Option<i32>,
    /// GWP set: AR6 (default), AR5, AR4 or AR2.
    #[arg(long)]
    gwp: Option<String>,
    /// Use this version of a factor: ID:VERSION (repeatable).
    #[arg(long = "pin")]
    pins: Vec<String>,
    /// Let unconfirmed factors (status S) be defaults: true or false [default: the server's
    /// setting].
    #[arg(long)]
    allow_unconfirmed: Option<bool>,
}

impl RegimeArgs {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        let mut opt = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                q.push((k, v));
            }
        };
        opt("regime", self.regime.clone());
        opt("caliber", self.caliber.clone());
        opt("grid", self.grid.clone());
        opt(
            "electricity_year",
            self.electricity_year.map(|y| y.to_string()),
        );
        opt("gwp", self.gwp.clone());
        opt("pins", (!self.pins.is_empty()).then(|| self.pins.join(",")));
        opt(
            "allow_unconfirmed",
            self.allow_unconfirmed.map(|a| a.to_string()),
        );
        q
    }
}

/// `shulv account …`.
#[derive(clap::Subcommand)]
pub enum AccountCommand {
    /// GHG inventory, 综合能耗 and intensities of a node for a month, quarter or year.
    Inventory {
        /// Node id (enterprise, park, region).
        #[arg(long)]
        node: String,
        /// 2025, 2025-Q2 or 2025-03.
        #[arg(long)]
        period: String,
        #[command(flatten)]
        regime: RegimeArgs,
        /// Electricity in 综合能耗: calorific (当量值, default) or equivalent (等价值).
        #[arg(long)]
        electricity: Option<String>,
        /// The 等价值 coefficient, kgce/kWh (with --electricity equivalent).
        #[arg(long)]
        kgce_per_kwh: Option<f64>,
        /// Natural-gas coefficient: gas_field (default), oil_field or from_ncv.
        #[arg(long)]
        natural_gas: Option<String>,
        /// Output: table, json, csv (the inventory lines), xlsx (workbook) or html (printable
        /// report); xlsx and html need --out.
        #[arg(long, default_value = "table")]
        output: String,
        /// File to write the xlsx or html report to.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Language of the xlsx and html reports: zh (default) or en.
        #[arg(long)]
        lang: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Carbon-efficiency grades (工业碳效码) of the enterprises under a node.
    Grades {
        /// Park or region id.
        #[arg(long)]
        node: String,
        /// 2025, 2025-Q2 or 2025-03.
        #[arg(long)]
        period: String,
        #[command(flatten)]
        regime: RegimeArgs,
        /// Industry average L to compare with: INDUSTRY:L (repeatable).
        #[arg(long = "industry-average")]
        industry_averages: Vec<String>,
        /// Output: table or json.
        #[arg(long, default_value = "table")]
        output: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the factor library with sources and verification status.
    Factors {
        /// Only this kind: grid, fuel, process, heat, coal_equivalent or gwp.
        #[arg(long)]
        kind: Option<String>,
        /// Output: table or json.
        #[arg(long, default_value = "table")]
        output: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the green certificates (绿证) and green-power trades of your scope.
    Certificates {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Register certificates from a JSON file `{"certificates": [...]}` (see docs/carbon.md).
    RegisterCertificates {
        /// The JSON file.
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Retire a certificate against an entity and consumption period (once only).
    Retire {
        /// Certificate id.
        id: String,
        /// Entity (node) the claim is made for.
        #[arg(long)]
        entity: String,
        /// 2025, 2025-Q2 or 2025-03.
        #[arg(long)]
        period: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the Scope 3 activity data entered without meters, of your scope.
    ActivityData {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Add Scope 3 activity data from a JSON file `{"records": [...]}` (see docs/carbon.md).
    AddActivityData {
        /// The JSON file.
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Delete a Scope 3 activity record.
    DeleteActivityData {
        /// Record id.
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Add factors from a CSV file (fuels, grid or process; administrators only).
    AddFactors {
        /// fuels, grid or process.
        kind: String,
        /// The CSV file (format of crates/carbon/data/*.csv).
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn get(server: &ServerArgs, path: &str, query: &[(&str, String)]) -> anyhow::Result<String> {
    let (status, text) = server.get_query(path, query)?;
    if status != 200 {
        bail!("server answered {status}: {text}");
    }
    Ok(text)
}

/// The answer of `GET /api/v1/carbon-grades`.
#[derive(Deserialize)]
struct GradeReport {
    node: String,
    period: String,
    method: String,
    enterprises: Vec<Grade>,
}

/// One enterprise of a [`GradeReport`].
#[derive(Deserialize)]
struct Grade {
    rank: usize,
    name: String,
    industry: String,
    co2_t: Nullable<f64>,
    value_added_10k_yuan: Nullable<f64>,
    l: Float,
    k: Float,
    grade: u8,
    level_zh: String,
}

/// A factor of `GET /api/v1/factors`.
#[derive(Deserialize)]
struct FactorRow {
    kind: String,
    id: String,
    version: u32,
    value: Number,
    unit: String,
    status: String,
    document: String,
    retired: bool,
}

/// A certificate of `GET /api/v1/certificates`.
#[derive(Deserialize)]
struct Certificate {
    id: String,
    kind: String,
    owner: String,
    mwh: Nullable<f64>,
    vintage: i32,
    technology: String,
    serial_start: String,
    serial_end: String,
    retirement: Nullable<Retirement>,
}

/// The retirement of a [`Certificate`].
#[derive(Deserialize)]
struct Retirement {
    entity: String,
    period: String,
    by: String,
}

impl std::fmt::Display for Retirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} by {}", self.entity, self.period, self.by)
    }
}

/// A record of `GET /api/v1/activity-data`.
#[derive(Deserialize)]
struct ActivityRecord {
    id: String,
    node: String,
    period: String,
    category: u8,
    quantity: Nullable<f64>,
    unit: String,
    factor: Number,
    factor_unit: String,
    description: String,
}

/// Runs an account command.
pub fn run(command: &AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::Inventory {
            node,
            period,
            regime,
            electricity,
            kgce_per_kwh,
            natural_gas,
            output,
            out,
            lang,
            server,
        } => {
            let mut q = vec![("node", node.clone()), ("period", period.clone())];
            q.extend(regime.query());
            for (k, v) in [
                ("electricity", electricity.clone()),
                ("kgce_per_kwh", kgce_per_kwh.map(|x| x.to_string())),
                ("natural_gas", natural_gas.clone()),
            ] {
                if let Some(v) = v {
                    q.push((k, v));
                }
            }
            if output == "csv" {
                q.push(("format", "csv".into()));
                print!("{}", get(server, "/api/v1/accounts", &q)?);
                return Ok(());
            }
            if matches!(output.as_str(), "xlsx" | "html") {
                let Some(out) = out else {
                    bail!("--output {output} writes a file: give it with --out FILE");
                };
                q.push(("format", output.clone()));
                if let Some(lang) = lang {
                    q.push(("lang", lang.clone()));
                }
                let (status, bytes) = server.get_bytes("/api/v1/accounts", &q)?;
                if status != 200 {
                    bail!(
                        "server answered {status}: {}",
                        String::from_utf8_lossy(&bytes)
                    );
                }
                std::fs::write(out, &bytes)
                    .with_context(|| format!("writing {}", out.display()))?;
                println!("wrote {} ({} bytes)", out.display(), bytes.len());
                return Ok(());
            }
            let text = get(server, "/api/v1/accounts", &q)?;
            match output.as_str() {
                "json" => {
                    let a: Value = serde_json::from_str(&text)?;
                    println!("{}", serde_json::to_string_pretty(&a)?);
                }
                "table" => print_inventory(&parse("GET /api/v1/accounts", &text)?),
                other => bail!("unknown output {other:?} (table, json, csv, xlsx or html)"),
            }
        }
        AccountCommand::Grades {
            node,
            period,
            regime,
            industry_averages,
            output,
            server,
        } => {
            let mut q = vec![("node", node.clone()), ("period", period.clone())];
            q.extend(regime.query());
            if !industry_averages.is_empty() {
                q.push(("industry_average", industry_averages.join(",")));
            }
            let text = get(server, "/api/v1/carbon-grades", &q)?;
            if output == "json" {
                let r: Value = serde_json::from_str(&text)?;
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            let r: GradeReport = parse("GET /api/v1/carbon-grades", &text)?;
            println!(
                "碳效码 carbon-efficiency grades, {} {} ({})",
                r.node, r.period, r.method
            );
            println!(
                "{:>4}  {:<28} {:<34} {:>12} {:>12} {:>8} {:>8} {:>6}  level",
                "rank", "enterprise", "industry", "tCO2", "VA 万元", "L", "K", "grade"
            );
            for e in &r.enterprises {
                println!(
                    "{:>4}  {:<28} {:<34} {:>12.2} {:>12.2} {:>8.3} {:>8.3} {:>6}  {}",
                    e.rank,
                    e.name,
                    e.industry,
                    e.co2_t,
                    e.value_added_10k_yuan,
                    e.l,
                    e.k,
                    e.grade,
                    e.level_zh
                );
            }
        }
        AccountCommand::Factors {
            kind,
            output,
            server,
        } => {
            let text = get(server, "/api/v1/factors", &[])?;
            let rows: Vec<FactorRow> = parse("GET /api/v1/factors", &text)?;
            let wanted = |r: &FactorRow| kind.as_deref().is_none_or(|k| r.kind == k);
            if output == "json" {
                let raw: Vec<Value> = serde_json::from_str(&text)?;
                let raw: Vec<Value> = raw
                    .into_iter()
                    .zip(&rows)
                    .filter(|(_, r)| wanted(r))
                    .map(|(v, _)| v)
                    .collect();
                println!("{}", serde_json::to_string_pretty(&raw)?);
                return Ok(());
            }
            println!(
                "{:<16} {:<44} {:>3} {:>10} {:<14} {:<6} document",
                "kind", "id", "v", "value", "unit", "status"
            );
            for r in rows.iter().filter(|r| wanted(r)) {
                println!(
                    "{:<16} {:<44} {:>3} {:>10} {:<14} {:<6} {}{}",
                    r.kind,
                    r.id,
                    r.version,
                    r.value,
                    r.unit,
                    r.status,
                    r.document,
                    if r.retired { " (retired)" } else { "" }
                );
            }
        }
        AccountCommand::Certificates { server } => {
            let list: Vec<Certificate> = parse(
                "GET /api/v1/certificates",
                &get(server, "/api/v1/certificates", &[])?,
            )?;
            println!(
                "{:<20} {:<18} {:<16} {:>10} {:>7} {:<10} {:<30} retired",
                "id", "kind", "owner", "MWh", "vintage", "tech", "serials"
            );
            for c in &list {
                println!(
                    "{:<20} {:<18} {:<16} {:>10.2} {:>7} {:<10} {:<30} {}",
                    c.id,
                    c.kind,
                    c.owner,
                    c.mwh,
                    c.vintage,
                    c.technology,
                    format!("{}..{}", c.serial_start, c.serial_end),
                    c.retirement
                );
            }
        }
        AccountCommand::RegisterCertificates { file, server } => {
            let body =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let (status, text) = server.post("/api/v1/certificates", "application/json", body)?;
            if status != 200 {
                bail!("{}: server answered {status}: {text}", file.display());
            }
            println!("{text}");
        }
        AccountCommand::Retire {
            id,
            entity,
            period,
            server,
        } => {
            let body = serde_json::json!({ "entity": entity, "period": period });
            let (status, text) = server.send(
                "POST",
                &format!("/api/v1/certificates/{id}/retirements"),
                Some(&body),
            )?;
            if status != 200 {
                bail!("server answered {status}: {text}");
            }
            println!("{text}");
        }
        AccountCommand::ActivityData { server } => {
            let list: Vec<ActivityRecord> = parse(
                "GET /api/v1/activity-data",
                &get(server, "/api/v1/activity-data", &[])?,
            )?;
            println!(
                "{:<20} {:<16} {:<8} {:>4} {:>14} {:<14} {:>12} {:<22} description",
                "id", "node", "period", "cat", "quantity", "unit", "factor", "factor unit"
            );
            for r in &list {
                println!(
                    "{:<20} {:<16} {:<8} {:>4} {:>14.2} {:<14} {:>12} {:<22} {}",
                    r.id,
                    r.node,
                    r.period,
                    r.category,
                    r.quantity,
                    r.unit,
                    r.factor,
                    r.factor_unit,
                    r.description,
                );
            }
        }
        AccountCommand::AddActivityData { file, server } => {
            let body =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let (status, text) = server.post("/api/v1/activity-data", "application/json", body)?;
            if status != 200 {
                bail!("{}: server answered {status}: {text}", file.display());
            }
            println!("{text}");
        }
        AccountCommand::DeleteActivityData { id, server } => {
            let (status, text) =
                server.send("DELETE", &format!("/api/v1/activity-data/{id}"), None)?;
            if status != 200 {
                bail!("server answered {status}: {text}");
            }
            println!("{text}");
        }
        AccountCommand::AddFactors { kind, file, server } => {
            let body =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let (status, text) =
                server.post(&format!("/api/v1/factors/{kind}"), "text/csv", body)?;
            if status != 200 {
                bail!("{}: server answered {status}: {text}", file.display());
            }
            println!("{text}");
        }
    }
    Ok(())
}

/// The answer of `GET /api/v1/accounts`, what the table shows.
#[derive(Deserialize)]
struct Account {
    name: String,
    node: String,
    period: String,
    timezone: String,
    inventory: Inventory,
    energy: EnergyAccount,
    carbon_intensity_t_per_10k_yuan: Nullable<f64>,
    energy_intensity_tce_per_10k_yuan: Nullable<f64>,
}

/// The GHG inventory of an [`Account`].
#[derive(Deserialize)]
struct Inventory {
    settings: InventorySettings,
    regime_description: String,
    lines: Vec<InventoryLine>,
    scope1: ScopeTotal,
    scope2_location: ScopeTotal,
    scope2_market: Nullable<ScopeTotal>,
    scope3: ScopeTotal,
    total_location_t: Nullable<f64>,
    biogenic_co2_t: Nullable<f64>,
    factors_used: Vec<FactorUsed>,
    notes: Vec<String>,
}

/// The settings an [`Inventory`] was computed with.
#[derive(Deserialize)]
struct InventorySettings {
    regime: String,
    gwp: String,
    caliber: String,
    grid: String,
}

/// One line of an [`Inventory`].
#[derive(Deserialize)]
struct InventoryLine {
    scope: String,
    source: String,
    meter: String,
    activity: Nullable<f64>,
    activity_unit: String,
    co2e_t: Nullable<f64>,
}

/// The total of a scope.
#[derive(Deserialize)]
struct ScopeTotal {
    total_t: Nullable<f64>,
}

/// A factor an [`Inventory`] used.
#[derive(Deserialize)]
struct FactorUsed {
    id: String,
    version: u32,
    value: Number,
    unit: String,
    status: String,
    document: String,
    table: String,
}

/// The comprehensive energy (综合能耗) of an [`Account`].
#[derive(Deserialize)]
struct EnergyAccount {
    total_tce: Nullable<f64>,
}

fn print_inventory(a: &Account) {
    let inv = &a.inventory;
    let s = &inv.settings;
    println!("{} {} — {} ({})", a.name, a.node, a.period, a.timezone);
    println!("regime: {} — {}", s.regime, inv.regime_description);
    println!("GWP set: {}; 口径: {}; grid: {}", s.gwp, s.caliber, s.grid);
    println!();
    println!(
        "{:<8} {:<26} {:<24} {:>14} {:<9} {:>12}",
        "scope", "source", "meter", "activity", "unit", "tCO2e"
    );
    for l in &inv.lines {
        println!(
            "{:<8} {:<26} {:<24} {:>14.2} {:<9} {:>12.2}",
            l.scope, l.source, l.meter, l.activity, l.activity_unit, l.co2e_t
        );
    }
    println!();
    println!(
        "Scope 1:                     {:>12.2} tCO2e",
        inv.scope1.total_t
    );
    println!(
        "Scope 2 (location-based):    {:>12.2} tCO2e",
        inv.scope2_location.total_t
    );
    if let Some(market) = &inv.scope2_market.0 {
        println!(
            "Scope 2 (market-based):      {:>12.2} tCO2e",
            market.total_t
        );
    }
    println!(
        "Scope 3:                     {:>12.2} tCO2e",
        inv.scope3.total_t
    );
    println!(
        "Scope 1 + 2 (location):      {:>12.2} tCO2e",
        inv.total_location_t
    );
    println!(
        "Biogenic CO2 (not in totals):{:>12.2} t",
        inv.biogenic_co2_t
    );
    println!(
        "综合能耗 comprehensive energy: {:>12.2} tce",
        a.energy.total_tce
    );
    if a.carbon_intensity_t_per_10k_yuan.0.is_some() {
        println!(
            "carbon intensity:            {:>12.4} tCO2e/万元",
            a.carbon_intensity_t_per_10k_yuan
        );
        println!(
            "energy intensity:            {:>12.4} tce/万元",
            a.energy_intensity_tce_per_10k_yuan
        );
    }
    println!();
    println!("factors used:");
    for f in &inv.factors_used {
        println!(
            "  {} v{} = {} {} [{}] {} {}",
            f.id, f.version, f.value, f.unit, f.status, f.document, f.table
        );
    }
    for n in &inv.notes {
        println!("note: {n}");
    }
}
