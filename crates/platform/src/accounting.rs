//! Energy and carbon accounts of any node for a month, quarter or year, computed from the
//! stored meter data (monthly rollups) with the factor library of [`shulv_carbon`].
//!
//! Each meter of the node's subtree contributes its quantity in the period; its location for
//! grid factors comes from the node attributes `province` (ISO 3166-2, e.g. `CN-JS`) and
//! `grid_region` (e.g. `GRID-EAST`) of its node or the nearest ancestor that has them. Because
//! every line belongs to one meter, the account of a node is the sum of its children's.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::Serialize;
use shulv_carbon::{
    carbon_efficiency, comprehensive_energy, inventory, Activity, CarbonEfficiency,
    EfficiencyInput, EnergyAccount, EnergySettings, Inventory, Library, Location, Settings,
};
use shulv_model::{local_to_utc, Bucket, Carrier, MeterSpec, Tree};

use crate::{Aggregate, Platform, PlatformError, QuerySpec, Target};

/// A reporting period in the node's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// A calendar month.
    Month(i32, u32),
    /// A calendar quarter (1–4).
    Quarter(i32, u32),
    /// A calendar year.
    Year(i32),
}

impl FromStr for Period {
    type Err = String;
    /// `2025`, `2025-Q2` or `2025-03`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("period {s:?} is not a year (2025), a quarter (2025-Q2) or a month (2025-03)")
        };
        let year = |y: &str| {
            y.parse::<i32>()
                .ok()
                .filter(|y| (1990..=2200).contains(y))
                .ok_or_else(bad)
        };
        match s.split_once('-') {
            None => Ok(Period::Year(year(s)?)),
            Some((y, q)) if q.starts_with(['Q', 'q']) => {
                let q = q[1..]
                    .parse::<u32>()
                    .ok()
                    .filter(|q| (1..=4).contains(q))
                    .ok_or_else(bad)?;
                Ok(Period::Quarter(year(y)?, q))
            }
            Some((y, m)) => {
                let m = m
                    .parse::<u32>()
                    .ok()
                    .filter(|m| (1..=12).contains(m))
                    .ok_or_else(bad)?;
                Ok(Period::Month(year(y)?, m))
            }
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
            Period::Quarter(y, q) => write!(f, "{y}-Q{q}"),
            Period::Year(y) => write!(f, "{y}"),
        }
    }
}

impl Period {
    /// Year of the period.
    pub fn year(self) -> i32 {
        match self {
            Period::Month(y, _) | Period::Quarter(y, _) | Period::Year(y) => y,
        }
    }

    /// First day and first day after.
    pub(crate) fn dates(self) -> (NaiveDate, NaiveDate) {
        let d = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default();
        let next = |y: i32, m: u32| if m == 12 { d(y + 1, 1) } else { d(y, m + 1) };
        match self {
            Period::Month(y, m) => (d(y, m), next(y, m)),
            Period::Quarter(y, q) => (d(y, 3 * q - 2), next(y, 3 * q)),
            Period::Year(y) => (d(y, 1), d(y + 1, 1)),
        }
    }
}

/// What an account asks for.
#[derive(Clone, Debug)]
pub struct AccountRequest {
    /// Node id.
    pub node: String,
    /// Period.
    pub period: Period,
    /// Inventory settings (regime, 口径, geography, GWP set, pins).
    pub settings: Settings,
    /// Comprehensive-energy settings.
    pub energy: EnergySettings,
}

/// A meter's quantity in the period, as read from the store.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MeterQuantity {
    /// Meter id.
    pub meter: String,
    /// Node of the meter.
    pub node: String,
    /// Carrier.
    #[schema(value_type = String)]
    pub carrier: Carrier,
    /// Quantity in the period.
    pub quantity: f64,
    /// Its unit.
    pub unit: String,
    /// Stored points behind it.
    pub points: u64,
    /// Where it came from (`rollup:month`).
    pub source: String,
}

/// Energy and carbon account of a node and period.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Account {
    /// Node id.
    pub node: String,
    /// Node name.
    pub name: String,
    /// Period (`2025`, `2025-Q2`, `2025-03`).
    pub period: String,
    /// Time zone of the period.
    pub timezone: String,
    /// Meter data used.
    pub meters: Vec<MeterQuantity>,
    /// GHG inventory.
    pub inventory: Inventory,
    /// Comprehensive energy consumption (综合能耗).
    pub energy: EnergyAccount,
    /// Value added in the period (万元), from `value_added` meters.
    pub value_added_10k_yuan: Option<f64>,
    /// Production output per unit, from `production_output` meters.
    pub output: BTreeMap<String, f64>,
    /// Scope 1 + 2 (location-based) tCO2e per 万元 of value added.
    pub carbon_intensity_t_per_10k_yuan: Option<f64>,
    /// tce per 万元 of value added.
    pub energy_intensity_tce_per_10k_yuan: Option<f64>,
    /// Intensities per unit of output (unit → figures).
    pub intensity_per_output: BTreeMap<String, OutputIntensity>,
}

/// Intensities per unit of production output.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OutputIntensity {
    /// Scope 1 + 2 (location-based) tCO2e per unit.
    pub co2e_t_per_unit: f64,
    /// tce per unit.
    pub tce_per_unit: f64,
}

/// Carbon-efficiency grades of the enterprises under a node.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct GradeReport {
    /// Node id (a park or region).
    pub node: String,
    /// Period.
    pub period: String,
    /// Settings of the inventories behind L.
    pub settings: Settings,
    /// Method.
    pub method: String,
    /// Enterprises, ranked by L.
    pub enterprises: Vec<CarbonEfficiency>,
}

/// Kinds of user factor files (same formats as the shipped files of `shulv-carbon/data`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactorKind {
    /// Fuels: NCV, carbon content, oxidation (or IPCC kg/TJ).
    Fuels,
    /// Grid electricity factors.
    Grid,
    /// Process-emission factors.
    Process,
}

impl FromStr for FactorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fuels" => Ok(FactorKind::Fuels),
            "grid" => Ok(FactorKind::Grid),
            "process" => Ok(FactorKind::Process),
            _ => Err(format!(
                "unknown factor kind {s:?} (expected fuels, grid or process)"
            )),
        }
    }
}

impl FactorKind {
    fn prefix(self) -> &'static str {
        match self {
            FactorKind::Fuels => "fuels",
            FactorKind::Grid => "grid",
            FactorKind::Process => "process",
        }
    }
}

fn add_to(
    lib: &mut Library,
    kind: FactorKind,
    name: &str,
    text: &str,
) -> Result<usize, PlatformError> {
    match kind {
        FactorKind::Fuels => lib.add_fuels_csv(name, text),
        FactorKind::Grid => lib.add_grid_csv(name, text),
        FactorKind::Process => lib.add_process_csv(name, text),
    }
    .map_err(|e| PlatformError::Invalid(e.to_string()))
}

/// The shipped library plus every user file under `<data>/factors/` (`fuels-*.csv`,
/// `grid-*.csv`, `process-*.csv`), in name order.
pub(crate) fn load_library(data_dir: &Path) -> Result<Library, PlatformError> {
    let mut lib = Library::builtin();
    let dir = data_dir.join("factors");
    for path in crate::registry::sorted_files(&dir) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let Some(kind) = name
            .strip_suffix(".csv")
            .filter(|_| !name.starts_with('.'))
            .unwrap_or_default()
            .split('-')
            .next()
            .and_then(|p| p.parse::<FactorKind>().ok())
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| PlatformError::Io(format!("{}: {e}", path.display())))?;
        add_to(&mut lib, kind, &name, &text).map_err(|e| PlatformError::Corrupt(e.to_string()))?;
    }
    Ok(lib)
}

fn location_of(tree: &Tree, node: &str) -> Location {
    let attr = |key: &str| {
        tree.node(node)
            .into_iter()
            .chain(tree.ancestors(node))
            .find_map(|n| n.attributes.get(key).cloned())
    };
    Location {
        province: attr("province"),
        grid_region: attr("grid_region"),
    }
}

impl Platform {
    /// The factor library in use.
    pub fn factor_library(&self) -> Library {
        self.library.read().clone()
    }

    /// Validates a user factor file and stores it under `factors/` (fsynced) so that it is
    /// loaded again at every start. Existing ids get new versions, never changed ones.
    /// Returns the number of rows added.
    pub fn add_factors(&self, kind: FactorKind, text: &str) -> Result<usize, PlatformError> {
        let mut lib = self.library.write();
        let dir = self.data_dir.join("factors");
        std::fs::create_dir_all(&dir)
            .map_err(|e| PlatformError::Io(format!("{}: {e}", dir.display())))?;
        let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        let name = format!("{}-{:06}.csv", kind.prefix(), n + 1);
        let mut next = lib.clone();
        let rows = add_to(&mut next, kind, &name, text)?;
        crate::registry::write_atomically(&dir.join(&name), text.as_bytes())?;
        *lib = next;
        Ok(rows)
    }

    /// Quantities of every meter under `node` in `period` (from monthly rollups).
    fn period_quantities(
        &self,
        node: &str,
        period: Period,
    ) -> Result<(String, Vec<MeterQuantity>, Vec<MeterSpec>), PlatformError> {
        let (tz, meters) = self
            .with_tree(|t| {
                t.node(node).map(|_| {
                    (
                        t.timezone_of_node(node),
                        t.subtree_meters(node)
                            .into_iter()
                            // Weather sensors (air temperature) are not part of an account.
                            .filter(|m| m.carrier.is_additive())
                            .cloned()
                            .collect::<Vec<_>>(),
                    )
                })
            })
            .ok_or_else(|| PlatformError::NotFound(format!("node {node:?}")))?;
        let (start, end) = period.dates();
        let at = |d: NaiveDate| {
            local_to_utc(d.and_hms_opt(0, 0, 0).unwrap_or_default(), tz)
                .map_err(|e| PlatformError::Invalid(format!("period {period}: {e}")))
        };
        let (from, to) = (at(start)?, at(end)?);
        let mut out = Vec::with_capacity(meters.len());
        for m in &meters {
            let answer = self.query(&QuerySpec {
                target: Target::Meter(m.id.clone()),
                from,
                to,
                bucket: Bucket::Month,
                aggregate: Aggregate::Sum,
                carrier: None,
            })?;
            let (quantity, points) = answer
                .series
                .iter()
                .flat_map(|s| &s.points)
                .fold((0.0, 0), |(q, n), p| (q + p.value, n + p.count));
            out.push(MeterQuantity {
                meter: m.id.clone(),
                node: m.node.clone(),
                carrier: m.carrier,
                quantity,
                unit: m.quantity_unit().to_string(),
                points,
                source: answer.source,
            });
        }
        Ok((tz.name().to_string(), out, meters))
    }

    /// The energy and carbon account of a node and period.
    pub fn account(&self, req: &AccountRequest) -> Result<Account, PlatformError> {
        let (timezone, quantities, meters) = self.period_quantities(&req.node, req.period)?;
        let (name, activities) = self.with_tree(|t| {
            let name = t
                .node(&req.node)
                .map(|n| n.name.clone())
                .unwrap_or_default();
            let acts: Vec<Activity> = meters
                .iter()
                .zip(&quantities)
                .map(|(m, q)| Activity {
                    meter: m.id.clone(),
                    carrier: m.carrier,
                    source: m.emission_source,
                    scope3_category: m.scope3_category,
                    fuel: m.fuel.clone(),
                    quantity: q.quantity,
                    unit: m.quantity_unit(),
                    location: location_of(t, &m.node),
                })
                .collect();
            (name, acts)
        });
        let library = self.library.read();
        let certificates = self.retired_for(&req.node, req.period);
        let (supplied, left_out) = self.supplied_for(&req.node, req.period);
        let mut inv = inventory(
            &library,
            &req.settings,
            req.period.year(),
            &activities,
            &certificates,
            &supplied,
        )
        .map_err(|e| PlatformError::Invalid(e.to_string()))?;
        inv.notes.extend(left_out);
        let energy = comprehensive_energy(&library, &req.energy, &activities)
            .map_err(|e| PlatformError::Invalid(e.to_string()))?;
        let mut value_added = None;
        let mut output: BTreeMap<String, f64> = BTreeMap::new();
        for (m, q) in meters.iter().zip(&quantities) {
            match m.carrier {
                Carrier::ValueAdded => {
                    let v = m
                        .quantity_unit()
                        .convert(q.quantity, shulv_model::Unit::TenKYuan)
                        .unwrap_or(q.quantity);
                    *value_added.get_or_insert(0.0) += v;
                }
                Carrier::ProductionOutput => {
                    *output.entry(q.unit.clone()).or_default() += q.quantity
                }
                _ => {}
            }
        }
        let per = |x: f64, d: Option<f64>| d.filter(|d| *d > 0.0).map(|d| x / d);
        let intensity_per_output = output
            .iter()
            .filter(|(_, q)| **q > 0.0)
            .map(|(u, q)| {
                let figures = OutputIntensity {
                    co2e_t_per_unit: inv.total_location_t / q,
                    tce_per_unit: energy.total_tce / q,
                };
                (u.clone(), figures)
            })
            .collect();
        Ok(Account {
            node: req.node.clone(),
            name,
            period: req.period.to_string(),
            timezone,
            carbon_intensity_t_per_10k_yuan: per(inv.total_location_t, value_added),
            energy_intensity_tce_per_10k_yuan: per(energy.total_tce, value_added),
            meters: quantities,
            inventory: inv,
            energy,
            value_added_10k_yuan: value_added,
            output,
            intensity_per_output,
        })
    }

    /// Carbon-efficiency grades (工业碳效码) of every enterprise (node kind `enterprise`) under
    /// `node`, with industry averages computed over them unless `averages` gives them.
    pub fn carbon_grades(
        &self,
        node: &str,
        period: Period,
        settings: &Settings,
        averages: &BTreeMap<String, f64>,
    ) -> Result<GradeReport, PlatformError> {
        let enterprises: Vec<(String, String, String)> = self.with_tree(|t| {
            let mut stack = vec![node.to_string()];
            let mut out = Vec::new();
            while let Some(id) = stack.pop() {
                for c in t.children(&id) {
                    if c.kind.eq_ignore_ascii_case("enterprise") {
                        out.push((
                            c.id.clone(),
                            c.name.clone(),
                            c.industry.clone().unwrap_or_else(|| "unspecified".into()),
                        ));
                    } else {
                        stack.push(c.id.clone());
                    }
                }
            }
            out
        });
        if enterprises.is_empty() && self.with_tree(|t| t.node(node).is_none()) {
            return Err(PlatformError::NotFound(format!("node {node:?}")));
        }
        let mut inputs = Vec::with_capacity(enterprises.len());
        for (id, name, industry) in enterprises {
            let acc = self.account(&AccountRequest {
                node: id.clone(),
                period,
                settings: settings.clone(),
                energy: EnergySettings {
                    allow_unconfirmed: settings.allow_unconfirmed,
                    ..EnergySettings::default()
                },
            })?;
            inputs.push(EfficiencyInput {
                entity: id,
                name,
                industry,
                co2_t: acc.inventory.total_location_t,
                value_added_10k_yuan: acc.value_added_10k_yuan.unwrap_or(0.0),
            });
        }
        let enterprises = carbon_efficiency(&inputs, averages)
            .map_err(|e| PlatformError::Invalid(e.to_string()))?;
        Ok(GradeReport {
            node: node.to_string(),
            period: period.to_string(),
            settings: settings.clone(),
            method: "工业碳效码 DB33/T 1347-2023: L = Scope 1 + Scope 2 (location-based) CO2 from energy use / value added (tCO2 per 万元); K = L / industry average L; grade 1 K ≤ 0.6, 2 ≤ 0.8, 3 ≤ 1.2, 4 ≤ 2.0, 5 above; 低碳 L ≤ 0.6, 中碳 ≤ 2.0, 高碳 above".into(),
            enterprises,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn periods_parse_and_bound() {
        assert_eq!(
            "2025".parse::<Period>().unwrap().dates().1,
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
        );
        let q4 = "2025-Q4".parse::<Period>().unwrap().dates();
        assert_eq!((q4.0.month(), q4.1.year()), (10, 2026));
        assert_eq!("2024-02".parse::<Period>().unwrap().to_string(), "2024-02");
        for bad in ["25", "2025-13", "2025-Q5", "x"] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }
}
