//! `shulv account`: energy and carbon accounts, carbon-efficiency grades and the factor library
//! of a running server.

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde_json::Value;

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

fn num(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{x:.2}"))
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
            let a: Value = serde_json::from_str(&text)?;
            match output.as_str() {
                "json" => println!("{}", serde_json::to_string_pretty(&a)?),
                "table" => print_inventory(&a),
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
            let r: Value = serde_json::from_str(&get(server, "/api/v1/carbon-grades", &q)?)?;
            if output == "json" {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            println!(
                "碳效码 carbon-efficiency grades, {} {} ({})",
                r["node"].as_str().unwrap_or(""),
                r["period"].as_str().unwrap_or(""),
                r["method"].as_str().unwrap_or("")
            );
            println!(
                "{:>4}  {:<28} {:<34} {:>12} {:>12} {:>8} {:>8} {:>6}  level",
                "rank", "enterprise", "industry", "tCO2", "VA 万元", "L", "K", "grade"
            );
            for e in r["enterprises"].as_array().into_iter().flatten() {
                println!(
                    "{:>4}  {:<28} {:<34} {:>12} {:>12} {:>8.3} {:>8.3} {:>6}  {}",
                    e["rank"],
                    e["name"].as_str().unwrap_or(""),
                    e["industry"].as_str().unwrap_or(""),
                    num(&e["co2_t"]),
                    num(&e["value_added_10k_yuan"]),
                    e["l"].as_f64().unwrap_or(f64::NAN),
                    e["k"].as_f64().unwrap_or(f64::NAN),
                    e["grade"],
                    e["level_zh"].as_str().unwrap_or("")
                );
            }
        }
        AccountCommand::Factors {
            kind,
            output,
            server,
        } => {
            let rows: Value = serde_json::from_str(&get(server, "/api/v1/factors", &[])?)?;
            let rows: Vec<&Value> = rows
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| kind.as_deref().is_none_or(|k| r["kind"] == k))
                .collect();
            if output == "json" {
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            println!(
                "{:<16} {:<44} {:>3} {:>10} {:<14} {:<6} document",
                "kind", "id", "v", "value", "unit", "status"
            );
            for r in rows {
                println!(
                    "{:<16} {:<44} {:>3} {:>10} {:<14} {:<6} {}{}",
                    r["kind"].as_str().unwrap_or(""),
                    r["id"].as_str().unwrap_or(""),
                    r["version"],
                    r["value"],
                    r["unit"].as_str().unwrap_or(""),
                    r["status"].as_str().unwrap_or(""),
                    r["document"].as_str().unwrap_or(""),
                    if r["retired"] == true {
                        " (retired)"
                    } else {
                        ""
                    }
                );
            }
        }
        AccountCommand::Certificates { server } => {
            let list: Value = serde_json::from_str(&get(server, "/api/v1/certificates", &[])?)?;
            println!(
                "{:<20} {:<18} {:<16} {:>10} {:>7} {:<10} {:<30} retired",
                "id", "kind", "owner", "MWh", "vintage", "tech", "serials"
            );
            for c in list.as_array().into_iter().flatten() {
                let r = &c["retirement"];
                println!(
                    "{:<20} {:<18} {:<16} {:>10} {:>7} {:<10} {:<30} {}",
                    c["id"].as_str().unwrap_or(""),
                    c["kind"].as_str().unwrap_or(""),
                    c["owner"].as_str().unwrap_or(""),
                    num(&c["mwh"]),
                    c["vintage"],
                    c["technology"].as_str().unwrap_or(""),
                    format!(
                        "{}..{}",
                        c["serial_start"].as_str().unwrap_or(""),
                        c["serial_end"].as_str().unwrap_or("")
                    ),
                    if r.is_null() {
                        "-".to_string()
                    } else {
                        format!(
                            "{} {} by {}",
                            r["entity"].as_str().unwrap_or(""),
                            r["period"].as_str().unwrap_or(""),
                            r["by"].as_str().unwrap_or("")
                        )
                    }
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
            let list: Value = serde_json::from_str(&get(server, "/api/v1/activity-data", &[])?)?;
            println!(
                "{:<20} {:<16} {:<8} {:>4} {:>14} {:<14} {:>12} {:<22} description",
                "id", "node", "period", "cat", "quantity", "unit", "factor", "factor unit"
            );
            for r in list.as_array().into_iter().flatten() {
                println!(
                    "{:<20} {:<16} {:<8} {:>4} {:>14} {:<14} {:>12} {:<22} {}",
                    r["id"].as_str().unwrap_or(""),
                    r["node"].as_str().unwrap_or(""),
                    r["period"].as_str().unwrap_or(""),
                    r["category"],
                    num(&r["quantity"]),
                    r["unit"].as_str().unwrap_or(""),
                    r["factor"],
                    r["factor_unit"].as_str().unwrap_or(""),
                    r["description"].as_str().unwrap_or(""),
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

fn print_inventory(a: &Value) {
    let inv = &a["inventory"];
    let s = &inv["settings"];
    println!(
        "{} {} — {} ({})",
        a["name"].as_str().unwrap_or(""),
        a["node"].as_str().unwrap_or(""),
        a["period"].as_str().unwrap_or(""),
        a["timezone"].as_str().unwrap_or("")
    );
    println!(
        "regime: {} — {}",
        s["regime"].as_str().unwrap_or(""),
        inv["regime_description"].as_str().unwrap_or("")
    );
    println!(
        "GWP set: {}; 口径: {}; grid: {}",
        s["gwp"].as_str().unwrap_or(""),
        s["caliber"].as_str().unwrap_or(""),
        s["grid"].as_str().unwrap_or("")
    );
    println!();
    println!(
        "{:<8} {:<26} {:<24} {:>14} {:<9} {:>12}",
        "scope", "source", "meter", "activity", "unit", "tCO2e"
    );
    for l in inv["lines"].as_array().into_iter().flatten() {
        println!(
            "{:<8} {:<26} {:<24} {:>14} {:<9} {:>12}",
            l["scope"].as_str().unwrap_or(""),
            l["source"].as_str().unwrap_or(""),
            l["meter"].as_str().unwrap_or(""),
            num(&l["activity"]),
            l["activity_unit"].as_str().unwrap_or(""),
            num(&l["co2e_t"])
        );
    }
    println!();
    println!(
        "Scope 1:                     {:>12} tCO2e",
        num(&inv["scope1"]["total_t"])
    );
    println!(
        "Scope 2 (location-based):    {:>12} tCO2e",
        num(&inv["scope2_location"]["total_t"])
    );
    if !inv["scope2_market"].is_null() {
        println!(
            "Scope 2 (market-based):      {:>12} tCO2e",
            num(&inv["scope2_market"]["total_t"])
        );
    }
    println!(
        "Scope 3:                     {:>12} tCO2e",
        num(&inv["scope3"]["total_t"])
    );
    println!(
        "Scope 1 + 2 (location):      {:>12} tCO2e",
        num(&inv["total_location_t"])
    );
    println!(
        "Biogenic CO2 (not in totals):{:>12} t",
        num(&inv["biogenic_co2_t"])
    );
    println!(
        "综合能耗 comprehensive energy: {:>12} tce",
        num(&a["energy"]["total_tce"])
    );
    if !a["carbon_intensity_t_per_10k_yuan"].is_null() {
        println!(
            "carbon intensity:            {:>12} tCO2e/万元",
            a["carbon_intensity_t_per_10k_yuan"]
                .as_f64()
                .map_or("-".into(), |x| format!("{x:.4}"))
        );
        println!(
            "energy intensity:            {:>12} tce/万元",
            a["energy_intensity_tce_per_10k_yuan"]
                .as_f64()
                .map_or("-".into(), |x| format!("{x:.4}"))
        );
    }
    println!();
    println!("factors used:");
    for f in inv["factors_used"].as_array().into_iter().flatten() {
        println!(
            "  {} v{} = {} {} [{}] {} {}",
            f["id"].as_str().unwrap_or(""),
            f["version"],
            f["value"],
            f["unit"].as_str().unwrap_or(""),
            f["status"].as_str().unwrap_or(""),
            f["document"].as_str().unwrap_or(""),
            f["table"].as_str().unwrap_or("")
        );
    }
    for n in inv["notes"].as_array().into_iter().flatten() {
        println!("note: {}", n.as_str().unwrap_or(""));
    }
}
