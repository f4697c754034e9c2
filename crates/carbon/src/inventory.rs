//! The GHG inventory of an entity and period from activity data, under an explicit regime.
//!
//! Formulas (Chinese guidelines; IPCC 2006 Tier 1 in the same shape with oxidation 1):
//! - combustion: heat (GJ) = AD × NCV; CO2 (t) = heat × CC × OF × 44/12 (or heat × EF kg/TJ
//!   × 10⁻⁶); CH4 and N2O = heat × EF kg/TJ × 10⁻⁶ where the regime counts them;
//! - purchased electricity: CO2 = MWh × grid factor (tCO2/MWh); purchased heat: GJ × 0.11;
//! - process: activity × user factor (tCO2e per unit);
//! - CO2e = CO2 + GWP(CH4) × CH4 + GWP(N2O) × N2O; biogenic CO2 is reported apart.
//!
//! Nothing is rounded: presentation rounds.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use shulv_model::{Carrier, Dimension, EmissionSource, Unit};

use crate::library::{FactorRef, Fuel, Library, NcvBasis};

/// Accounting regime (核算口径), always stated in the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// National carbon market reporting (全国碳市场): the fixed grid factor of the notice in
    /// force (`cn_market` series), fuel defaults of the NDRC guidelines, CO2 only.
    CnCarbonMarket,
    /// MEE/NBS electricity CO2 factors (电力二氧化碳排放因子) with the 口径 and geography chosen
    /// explicitly; NDRC fuel defaults; CO2 only.
    CnMeeNbs,
    /// GHG Protocol: Scope 2 location-based (MEE/NBS average) and market-based (residual-like
    /// 口径 excluding traded non-fossil power); CH4 and N2O where factors exist.
    GhgProtocol,
    /// IPCC 2006 Tier 1 fuel factors (oxidation 1), CH4 and N2O; electricity as GHG Protocol
    /// location-based.
    Ipcc2006,
}

impl Regime {
    /// Default regime when a request names none.
    pub const DEFAULT: Regime = Regime::CnMeeNbs;

    fn guideline(self) -> &'static str {
        match self {
            Regime::Ipcc2006 => "ipcc2006_tier1",
            _ => "cn_ndrc_other",
        }
    }

    fn counts_non_co2(self) -> bool {
        matches!(self, Regime::GhgProtocol | Regime::Ipcc2006)
    }

    /// One-line description of the regime's rules.
    pub fn describe(self) -> &'static str {
        match self {
            Regime::CnCarbonMarket => "全国碳市场 national carbon market reporting: grid factor of the notice in force (cn_market series), NDRC fuel defaults, CO2 only",
            Regime::CnMeeNbs => "MEE/NBS 电力二氧化碳排放因子 with the chosen 口径 and geography, NDRC fuel defaults, CO2 only",
            Regime::GhgProtocol => "GHG Protocol: Scope 2 location-based (MEE/NBS average) and market-based (口径 excluding traded non-fossil power as a residual-like factor; no official residual mix exists), CH4/N2O where factors exist",
            Regime::Ipcc2006 => "IPCC 2006 Tier 1 fuel factors (oxidation 1) with CH4/N2O; electricity location-based (MEE/NBS average)",
        }
    }
}

impl std::str::FromStr for Regime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cn_carbon_market" => Ok(Regime::CnCarbonMarket),
            "cn_mee_nbs" => Ok(Regime::CnMeeNbs),
            "ghg_protocol" => Ok(Regime::GhgProtocol),
            "ipcc2006" => Ok(Regime::Ipcc2006),
            _ => Err(format!("unknown regime {s:?} (expected cn_carbon_market, cn_mee_nbs, ghg_protocol or ipcc2006)")),
        }
    }
}

/// 口径 of the MEE/NBS electricity factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Caliber {
    /// (1) average of all generation.
    Average,
    /// (2) average excluding market-traded non-fossil electricity.
    ExclTradedNonfossil,
    /// (3) fossil generation only.
    Fossil,
}

impl Caliber {
    fn series(self) -> &'static str {
        match self {
            Caliber::Average => "mee_nbs_average",
            Caliber::ExclTradedNonfossil => "mee_nbs_excl_traded_nonfossil",
            Caliber::Fossil => "mee_nbs_fossil",
        }
    }
}

impl std::str::FromStr for Caliber {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "average" => Ok(Caliber::Average),
            "excl_traded_nonfossil" => Ok(Caliber::ExclTradedNonfossil),
            "fossil" => Ok(Caliber::Fossil),
            _ => Err(format!(
                "unknown 口径 {s:?} (expected average, excl_traded_nonfossil or fossil)"
            )),
        }
    }
}

/// Geography of the grid factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grid {
    /// National average.
    National,
    /// Regional grid (node attribute `grid_region`, e.g. `GRID-EAST`).
    Regional,
    /// Province (node attribute `province`, ISO 3166-2 such as `CN-JS`).
    Provincial,
}

impl std::str::FromStr for Grid {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "national" => Ok(Grid::National),
            "regional" => Ok(Grid::Regional),
            "provincial" => Ok(Grid::Provincial),
            _ => Err(format!(
                "unknown grid geography {s:?} (expected national, regional or provincial)"
            )),
        }
    }
}

/// GWP-100 set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum GwpSet {
    /// IPCC Second Assessment Report.
    AR2,
    /// IPCC Fourth Assessment Report.
    AR4,
    /// IPCC Fifth Assessment Report.
    AR5,
    /// IPCC Sixth Assessment Report.
    AR6,
}

impl GwpSet {
    fn name(self) -> &'static str {
        match self {
            GwpSet::AR2 => "AR2",
            GwpSet::AR4 => "AR4",
            GwpSet::AR5 => "AR5",
            GwpSet::AR6 => "AR6",
        }
    }
}

impl std::str::FromStr for GwpSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "AR2" | "SAR" => Ok(GwpSet::AR2),
            "AR4" => Ok(GwpSet::AR4),
            "AR5" => Ok(GwpSet::AR5),
            "AR6" => Ok(GwpSet::AR6),
            _ => Err(format!(
                "unknown GWP set {s:?} (expected AR2, AR4, AR5 or AR6)"
            )),
        }
    }
}

/// Settings of one inventory (named `InventorySettings` in the OpenAPI document, apart from the
/// optimiser's solver `Settings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = InventorySettings)]
pub struct Settings {
    /// Accounting regime.
    pub regime: Regime,
    /// 口径 of the MEE/NBS factors (regime `cn_mee_nbs`; default `average`).
    pub caliber: Caliber,
    /// Geography of the grid factor (default `national`).
    pub grid: Grid,
    /// Data year of the grid factor (default: the latest not after the period's year).
    pub electricity_year: Option<i32>,
    /// GWP set for CO2e.
    pub gwp: GwpSet,
    /// Factor versions to use instead of the newest (id → version). A pinned factor is an
    /// explicit choice, whatever its status.
    #[serde(default)]
    pub pins: BTreeMap<String, u32>,
    /// Let factors that are not confirmed (status S) be chosen by default. Off by default: only
    /// confirmed (V1/V2) values are defaults, and an inventory that would need an unconfirmed
    /// default fails, naming the factors. Factors chosen explicitly (pinned, or named as a
    /// meter's fuel or process factor) are used whatever this says; every result marks them.
    #[serde(default)]
    pub allow_unconfirmed: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            regime: Regime::DEFAULT,
            caliber: Caliber::Average,
            grid: Grid::National,
            electricity_year: None,
            gwp: GwpSet::AR6,
            pins: BTreeMap::new(),
            allow_unconfirmed: false,
        }
    }
}

/// The activity of one meter in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// Meter id.
    pub meter: String,
    /// Carrier.
    pub carrier: Carrier,
    /// Emission source (default by carrier).
    pub source: Option<EmissionSource>,
    /// Scope 3 category.
    pub scope3_category: Option<u8>,
    /// Fuel or process factor id.
    pub fuel: Option<String>,
    /// Quantity in the period.
    pub quantity: f64,
    /// Its unit.
    pub unit: Unit,
    /// Where the meter is (for grid factors).
    pub location: Location,
}

/// Scope 3 activity data a user supplies without a meter (tonne-kilometres of purchased
/// transport, tonnes of purchased material, yuan of spend …), with the factor to apply. The
/// factor is the user's explicit choice: its value is in tCO2e per `unit`.
#[derive(Debug, Clone, PartialEq)]
pub struct SuppliedActivity {
    /// Record id (the line's `meter` is `activity:<id>`).
    pub id: String,
    /// GHG Protocol Scope 3 category, 1–15.
    pub category: u8,
    /// What it is.
    pub description: String,
    /// Quantity in the period.
    pub quantity: f64,
    /// Its unit, as the user names it.
    pub unit: String,
    /// Emission factor, tCO2e per `unit`, with its source.
    pub factor: FactorRef,
}

/// Where a meter is, for grid factors (from node attributes `province` and `grid_region`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Location {
    /// Province (ISO 3166-2, `CN-JS`).
    pub province: Option<String>,
    /// Regional grid (`GRID-EAST`).
    pub grid_region: Option<String>,
}

/// GHG Protocol scope.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Direct emissions.
    Scope1,
    /// Purchased electricity and heat.
    Scope2,
    /// Value chain.
    Scope3,
}

/// One line of the inventory: a meter's activity and what it emits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Line {
    /// Meter id, or `activity:<id>` for Scope 3 activity data supplied without a meter.
    pub meter: String,
    /// Scope.
    pub scope: Scope,
    /// Source category: `stationary_combustion`, `mobile_combustion`, `process`,
    /// `purchased_electricity`, `purchased_heat`, `scope3_category_<n>`.
    pub source: String,
    /// Carrier.
    #[schema(value_type = String)]
    pub carrier: Carrier,
    /// Activity in the unit the formula uses.
    pub activity: f64,
    /// That unit.
    pub activity_unit: String,
    /// Heat of combustion in GJ (fuels).
    pub heat_gj: Option<f64>,
    /// Fossil CO2, t.
    pub co2_t: f64,
    /// CH4, t.
    pub ch4_t: f64,
    /// N2O, t.
    pub n2o_t: f64,
    /// CO2e under the inventory's GWP set, t (biogenic CO2 excluded).
    pub co2e_t: f64,
    /// Biogenic CO2, t (reported apart).
    pub biogenic_co2_t: f64,
    /// Factors used.
    pub factors: Vec<FactorRef>,
    /// The formula with the numbers, for checking by hand.
    pub formula: String,
}

/// Totals of a scope by source category.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScopeTotal {
    /// tCO2e.
    pub total_t: f64,
    /// tCO2e per source category.
    pub by_source: BTreeMap<String, f64>,
}

impl ScopeTotal {
    fn add(&mut self, line: &Line) {
        self.total_t += line.co2e_t;
        *self.by_source.entry(line.source.clone()).or_default() += line.co2e_t;
    }
}

/// The inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Inventory {
    /// Settings used (regime, 口径, geography, GWP set, pins).
    pub settings: Settings,
    /// What the regime means.
    pub regime_description: String,
    /// Lines (Scope 2 electricity location-based).
    pub lines: Vec<Line>,
    /// Market-based Scope 2 lines (GHG Protocol regime only).
    pub scope2_market_lines: Vec<Line>,
    /// Scope 1.
    pub scope1: ScopeTotal,
    /// Scope 2, location-based.
    pub scope2_location: ScopeTotal,
    /// Scope 2, market-based (GHG Protocol regime only).
    pub scope2_market: Option<ScopeTotal>,
    /// Scope 3 (from meters marked `scope3` and activity data the user supplies).
    pub scope3: ScopeTotal,
    /// Scope 1 + Scope 2 location-based, tCO2e.
    pub total_location_t: f64,
    /// Scope 1 + Scope 2 market-based, tCO2e.
    pub total_market_t: Option<f64>,
    /// Biogenic CO2, t (not in the totals).
    pub biogenic_co2_t: f64,
    /// On-site PV generation in the period, kWh (no emissions; not a purchase).
    pub own_generation_kwh: f64,
    /// Every factor used, once.
    pub factors_used: Vec<FactorRef>,
    /// True if any factor used is not confirmed (status S).
    pub uses_unconfirmed_factors: bool,
    /// Green electricity certificates (绿证) and green-power trades retired against the entity
    /// for the period.
    pub certificates: Vec<Instrument>,
    /// MWh of purchased electricity they cover in the market-based Scope 2 (GHG Protocol).
    pub certificates_mwh_applied: f64,
    /// Notes on choices made (defaults, fallbacks).
    pub notes: Vec<String>,
}

/// A contractual instrument retired against the entity for the period: a green electricity
/// certificate (绿证, 1 GEC = 1 MWh) or a green-power trade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Instrument {
    /// Certificate (or batch) id.
    pub id: String,
    /// MWh of renewable electricity it represents.
    pub mwh: f64,
    /// Vintage (production year).
    pub vintage: i32,
    /// Technology (wind, pv, hydro, biomass …).
    pub technology: String,
    /// Region of production.
    pub region: String,
}

/// Why an inventory cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InventoryError {
    /// A factor the regime needs is not in the library.
    #[error("meter {meter}: {message}")]
    Factor {
        /// Meter id.
        meter: String,
        /// What is missing.
        message: String,
    },
    /// The activity's unit cannot be used with the factor.
    #[error("meter {meter}: {message}")]
    Unit {
        /// Meter id.
        meter: String,
        /// What does not fit.
        message: String,
    },
    /// The entity's location lacks what the grid geography needs.
    #[error("{0}")]
    Location(String),
    /// Defaults that are not confirmed would be used, and the settings do not allow it.
    #[error("{}", unconfirmed_message(.0))]
    Unconfirmed(Vec<FactorRef>),
}

/// The message of [`InventoryError::Unconfirmed`]: what would be used and the three ways on.
pub fn unconfirmed_message(factors: &[FactorRef]) -> String {
    let list: Vec<String> = factors
        .iter()
        .map(|f| format!("{} v{} ({}, {})", f.id, f.version, f.document, f.table))
        .collect();
    let pins: Vec<String> = factors
        .iter()
        .map(|f| format!("{}:{}", f.id, f.version))
        .collect();
    format!(
        "only confirmed (V1/V2) factors are defaults, and this account would need unconfirmed \
         ones (status S, seen only in third-party material): {}. Accept them with \
         allow_unconfirmed=true, choose them explicitly with pins={}, or add a confirmed \
         factor of your own",
        list.join("; "),
        pins.join(",")
    )
}

struct Ctx<'a> {
    lib: &'a Library,
    settings: &'a Settings,
    year: i32,
    notes: Vec<String>,
    /// Ids the entity's meters name (fuels, process factors): explicit choices.
    named: BTreeSet<String>,
}

impl Ctx<'_> {
    fn pin(&self, id: &str) -> Option<u32> {
        self.settings.pins.get(id).copied()
    }

    /// True if the user chose the factor (pinned or named by a meter) rather than a default.
    fn explicit(&self, id: &str) -> bool {
        self.settings.pins.contains_key(id) || self.named.contains(id)
    }

    fn note(&mut self, n: String) {
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }

    fn grid_region(&self, meter: &str, location: &Location) -> Result<String, InventoryError> {
        let missing = |attr: &str| {
            InventoryError::Location(format!(
                "meter {meter}: the grid geography needs the node attribute `{attr}` on the entity or an ancestor"
            ))
        };
        Ok(match self.settings.grid {
            Grid::National => "CN".to_string(),
            Grid::Regional => location
                .grid_region
                .clone()
                .ok_or_else(|| missing("grid_region"))?,
            Grid::Provincial => location
                .province
                .clone()
                .ok_or_else(|| missing("province"))?,
        })
    }

    /// The grid factor of `series` for the entity.
    fn grid_factor(&mut self, a: &Activity, series: &str) -> Result<FactorRef, InventoryError> {
        let meter = a.meter.as_str();
        let region = if series == "cn_market" {
            "CN".to_string()
        } else {
            self.grid_region(meter, &a.location)?
        };
        let year = self.settings.electricity_year.unwrap_or(self.year);
        let lib = self.lib;
        let pinned = lib.grid_factors().iter().find(|g| {
            g.series == series
                && g.region == region
                && self.pin(&g.factor.id) == Some(g.factor.version)
        });
        let g = pinned
            .or_else(|| lib.grid(series, &region, year))
            .ok_or_else(|| InventoryError::Factor {
                meter: meter.to_string(),
                message: format!(
                    "no {series} grid factor for {region} with a data year up to {year}"
                ),
            })?;
        if g.data_year != Some(year) {
            self.note(format!(
                "{series} {region}: no factor for data year {year}; the latest available ({}) is used",
                g.data_year.map_or("?".into(), |y| y.to_string())
            ));
        }
        Ok(g.factor.clone())
    }
}

/// Compute the inventory of `activities` (the meters of one entity, one period in `year`),
/// the certificates retired against it and the Scope 3 activity data `supplied` without meters.
pub fn inventory(
    lib: &Library,
    settings: &Settings,
    year: i32,
    activities: &[Activity],
    certificates: &[Instrument],
    supplied: &[SuppliedActivity],
) -> Result<Inventory, InventoryError> {
    let mut ctx = Ctx {
        lib,
        settings,
        year,
        notes: Vec::new(),
        named: activities
            .iter()
            .filter_map(|a| a.fuel.clone())
            .chain(supplied.iter().map(|s| s.factor.id.clone()))
            .collect(),
    };
    let mut lines = Vec::new();
    let mut market_lines = Vec::new();
    let mut own_generation_kwh = 0.0;
    for a in activities {
        match a.carrier {
            Carrier::PvGeneration => {
                own_generation_kwh += convert(a, Unit::KWh)?;
            }
            Carrier::Electricity => {
                let mwh = convert(a, Unit::MWh)?;
                let (location_series, market_series) = match settings.regime {
                    Regime::CnCarbonMarket => ("cn_market", None),
                    Regime::CnMeeNbs => (settings.caliber.series(), None),
                    Regime::GhgProtocol => {
                        ("mee_nbs_average", Some("mee_nbs_excl_traded_nonfossil"))
                    }
                    Regime::Ipcc2006 => ("mee_nbs_average", None),
                };
                let f = ctx.grid_factor(a, location_series)?;
                lines.push(electricity_line(a, mwh, f));
                if let Some(series) = market_series {
                    let f = ctx.grid_factor(a, series)?;
                    market_lines.push(electricity_line(a, mwh, f));
                }
            }
            Carrier::Heat | Carrier::Steam => {
                let gj = convert(a, Unit::GJ)?;
                let f = lib
                    .other("cn:heat_purchased", ctx.pin("cn:heat_purchased"))
                    .ok_or_else(|| InventoryError::Factor {
                        meter: a.meter.clone(),
                        message: "no purchased-heat factor".into(),
                    })?
                    .factor
                    .clone();
                let co2 = gj * f.value;
                let line = Line {
                    meter: a.meter.clone(),
                    scope: scope_of(a, Scope::Scope2),
                    source: source_of(a, "purchased_heat"),
                    carrier: a.carrier,
                    activity: gj,
                    activity_unit: "GJ".into(),
                    heat_gj: None,
                    co2_t: co2,
                    ch4_t: 0.0,
                    n2o_t: 0.0,
                    co2e_t: co2,
                    biogenic_co2_t: 0.0,
                    formula: format!("{gj} GJ × {} tCO2/GJ = {co2} tCO2", f.value),
                    factors: vec![f],
                };
                market_lines.push(line.clone());
                lines.push(line);
            }
            _ if a.source == Some(EmissionSource::Process) => {
                lines.push(process_line(&mut ctx, a)?)
            }
            c if is_fuel(c) || a.fuel.is_some() => lines.push(combustion_line(&mut ctx, a)?),
            _ => {}
        }
    }
    lines.extend(supplied.iter().map(supplied_line));
    let mut scope1 = ScopeTotal::default();
    let mut scope2_location = ScopeTotal::default();
    let mut scope3 = ScopeTotal::default();
    let mut biogenic = 0.0;
    for l in &lines {
        biogenic += l.biogenic_co2_t;
        match l.scope {
            Scope::Scope1 => scope1.add(l),
            Scope::Scope2 => scope2_location.add(l),
            Scope::Scope3 => scope3.add(l),
        }
    }
    let certificates_mwh_applied = if settings.regime == Regime::GhgProtocol {
        apply_certificates(&mut ctx, &mut market_lines, certificates)
    } else {
        if !certificates.is_empty() {
            ctx.note("green certificates retired against this entity are listed but do not change this regime's (location-based) Scope 2".into());
        }
        0.0
    };
    let scope2_market = (settings.regime == Regime::GhgProtocol).then(|| {
        let mut t = ScopeTotal::default();
        for l in market_lines.iter().filter(|l| l.scope == Scope::Scope2) {
            t.add(l);
        }
        t
    });
    if settings.regime != Regime::GhgProtocol {
        market_lines.clear();
    }
    let mut factors_used: Vec<FactorRef> = Vec::new();
    for f in lines.iter().chain(&market_lines).flat_map(|l| &l.factors) {
        if !factors_used
            .iter()
            .any(|u| u.id == f.id && u.version == f.version)
        {
            factors_used.push(f.clone());
        }
    }
    factors_used.sort_by(|a, b| (&a.id, a.version).cmp(&(&b.id, b.version)));
    let unconfirmed_defaults: Vec<FactorRef> = factors_used
        .iter()
        .filter(|f| !f.status.is_confirmed() && !ctx.explicit(&f.id))
        .cloned()
        .collect();
    if !unconfirmed_defaults.is_empty() && !settings.allow_unconfirmed {
        return Err(InventoryError::Unconfirmed(unconfirmed_defaults));
    }
    let uses_unconfirmed_factors = factors_used.iter().any(|f| !f.status.is_confirmed());
    if uses_unconfirmed_factors {
        ctx.note("some factors used are not confirmed in the official text (status S or U, chosen explicitly or allowed by allow_unconfirmed): see factors_used".into());
    }
    Ok(Inventory {
        settings: settings.clone(),
        regime_description: settings.regime.describe().to_string(),
        total_location_t: scope1.total_t + scope2_location.total_t,
        total_market_t: scope2_market.as_ref().map(|m| scope1.total_t + m.total_t),
        lines,
        scope2_market_lines: market_lines,
        scope1,
        scope2_location,
        scope2_market,
        scope3,
        biogenic_co2_t: biogenic,
        own_generation_kwh,
        factors_used,
        uses_unconfirmed_factors,
        certificates: certificates.to_vec(),
        certificates_mwh_applied,
        notes: ctx.notes,
    })
}

/// Market-based Scope 2: certificates first (0 tCO2/MWh), the residual-like factor for the rest.
/// Returns the MWh covered.
fn apply_certificates(
    ctx: &mut Ctx<'_>,
    market_lines: &mut [Line],
    certificates: &[Instrument],
) -> f64 {
    let purchased: f64 = market_lines
        .iter()
        .filter(|l| l.source == "purchased_electricity")
        .map(|l| l.activity)
        .sum();
    let held: f64 = certificates.iter().map(|c| c.mwh).sum();
    let covered = held.min(purchased);
    if purchased > 0.0 && covered == 0.0 {
        ctx.note("market-based Scope 2: no certificates retired against this entity and period; all purchased electricity uses the residual-like 口径 (excluding market-traded non-fossil electricity), as no official residual mix is published".into());
    }
    if covered > 0.0 {
        let share = 1.0 - covered / purchased;
        for l in market_lines
            .iter_mut()
            .filter(|l| l.source == "purchased_electricity")
        {
            l.co2_t *= share;
            l.co2e_t *= share;
            l.formula = format!(
                "{} × (1 − {covered} MWh covered by certificates / {purchased} MWh) = {} tCO2",
                l.formula, l.co2e_t
            );
        }
        ctx.note(format!(
            "market-based Scope 2: {} certificate(s) retired against this entity and period cover {covered} MWh at 0 tCO2/MWh; the remaining {} MWh use the residual-like 口径",
            certificates.len(),
            purchased - covered
        ));
    }
    if held > covered {
        ctx.note(format!(
            "{} MWh of retired certificates exceed the purchased electricity and are not used",
            held - covered
        ));
    }
    covered
}

fn is_fuel(c: Carrier) -> bool {
    use Carrier::*;
    matches!(
        c,
        NaturalGas
            | CoalRaw
            | CoalWashed
            | CoalBituminous
            | CoalAnthracite
            | CoalLignite
            | Coke
            | Diesel
            | Gasoline
            | Kerosene
            | FuelOil
            | Lpg
    )
}

fn convert(a: &Activity, to: Unit) -> Result<f64, InventoryError> {
    a.unit
        .convert(a.quantity, to)
        .map_err(|e| InventoryError::Unit {
            meter: a.meter.clone(),
            message: format!(
                "{e}; the {} quantity must be given in {}",
                a.carrier.as_str(),
                to.dimension()
            ),
        })
}

fn scope_of(a: &Activity, default: Scope) -> Scope {
    match a.source {
        Some(EmissionSource::Scope3) => Scope::Scope3,
        Some(EmissionSource::Stationary | EmissionSource::Mobile | EmissionSource::Process) => {
            Scope::Scope1
        }
        None => default,
    }
}

fn source_of(a: &Activity, default: &str) -> String {
    match a.source {
        Some(EmissionSource::Scope3) => match a.scope3_category {
            Some(c) => format!("scope3_category_{c}"),
            None => "scope3_uncategorised".into(),
        },
        Some(EmissionSource::Mobile) => "mobile_combustion".into(),
        Some(EmissionSource::Process) => "process".into(),
        Some(EmissionSource::Stationary) => "stationary_combustion".into(),
        None => default.to_string(),
    }
}

fn electricity_line(a: &Activity, mwh: f64, f: FactorRef) -> Line {
    let co2 = mwh * f.value;
    Line {
        meter: a.meter.clone(),
        scope: scope_of(a, Scope::Scope2),
        source: source_of(a, "purchased_electricity"),
        carrier: a.carrier,
        activity: mwh,
        activity_unit: "MWh".into(),
        heat_gj: None,
        co2_t: co2,
        ch4_t: 0.0,
        n2o_t: 0.0,
        co2e_t: co2,
        biogenic_co2_t: 0.0,
        formula: format!("{mwh} MWh × {} {} = {co2} tCO2", f.value, f.unit),
        factors: vec![f],
    }
}

fn fuel_for<'a>(ctx: &mut Ctx<'a>, a: &Activity) -> Result<&'a Fuel, InventoryError> {
    let lib = ctx.lib;
    let guideline = ctx.settings.regime.guideline();
    if let Some(id) = &a.fuel {
        return lib.fuel(id, ctx.pin(id)).ok_or_else(|| InventoryError::Factor {
            meter: a.meter.clone(),
            message: format!("fuel {id:?} is not in the factor library (or only as retired/unconfirmed versions: pin one)"),
        });
    }
    if let Some(f) = lib.default_fuel(guideline, a.carrier) {
        return Ok(f);
    }
    if a.carrier == Carrier::CoalRaw {
        if let Some(f) = lib.default_fuel(guideline, Carrier::CoalBituminous) {
            ctx.note(format!(
                "coal_raw meters without a fuel are accounted as {} ({}, NCV {} GJ/t) for CO2, while \
                 综合能耗 uses GB/T 2589's 原煤 coefficient (0.7143 kgce/kg, 20.908 GJ/t): the two \
                 heating values differ; set the meter's fuel to the coal actually burnt and both \
                 use its NCV",
                f.name,
                f.factor.id,
                f.ncv.map_or("unknown".to_string(), |v| v.to_string())
            ));
            return Ok(f);
        }
    }
    Err(InventoryError::Factor {
        meter: a.meter.clone(),
        message: format!(
            "no default {} fuel under {guideline}: set the meter's fuel to a library or user fuel",
            a.carrier.as_str()
        ),
    })
}

fn combustion_line(ctx: &mut Ctx<'_>, a: &Activity) -> Result<Line, InventoryError> {
    let fuel = fuel_for(ctx, a)?;
    let ncv = fuel.ncv.ok_or_else(|| InventoryError::Factor {
        meter: a.meter.clone(),
        message: format!("fuel {} has no NCV of its own (a carbon-content default only): define a user fuel with the measured NCV", fuel.factor.id),
    })?;
    let (ad, ad_unit) = match fuel.ncv_basis {
        NcvBasis::PerTonne => {
            if a.unit.dimension() != Dimension::Mass {
                return Err(InventoryError::Unit {
                    meter: a.meter.clone(),
                    message: format!("fuel {} has its NCV per tonne but the meter counts {} ({}): give the quantity as a mass (a density is not assumed)", fuel.factor.id, a.unit, a.unit.dimension()),
                });
            }
            (convert(a, Unit::T)?, "t")
        }
        NcvBasis::PerTenKNm3 => (convert(a, Unit::TenKNm3)?, "10^4 Nm3"),
    };
    let heat = ad * ncv;
    let co2_per_gj = fuel.co2_t_per_gj().unwrap_or(0.0);
    let co2 = heat * co2_per_gj;
    let regime = ctx.settings.regime;
    let (ch4, n2o) = if regime.counts_non_co2() {
        (
            heat * fuel.ch4_kg_per_tj.unwrap_or(0.0) * 1e-6,
            heat * fuel.n2o_kg_per_tj.unwrap_or(0.0) * 1e-6,
        )
    } else {
        (0.0, 0.0)
    };
    let mut factors = vec![fuel.factor.clone()];
    let mut co2e_non_co2 = 0.0;
    for (gas, t) in [("CH4", ch4), ("N2O", n2o)] {
        if t > 0.0 {
            let g = ctx.lib.gwp(ctx.settings.gwp.name(), gas).ok_or_else(|| {
                InventoryError::Factor {
                    meter: a.meter.clone(),
                    message: format!("no {gas} GWP in set {}", ctx.settings.gwp.name()),
                }
            })?;
            co2e_non_co2 += t * g.value;
            factors.push(FactorRef {
                id: format!("gwp:{}:{gas}", g.set),
                version: 1,
                value: g.value,
                unit: "tCO2e/t".into(),
                document: format!("IPCC {}", g.set),
                table: "GWP-100".into(),
                status: g.status,
            });
        }
    }
    let (fossil, biogenic) = if fuel.biogenic {
        (0.0, co2)
    } else {
        (co2, 0.0)
    };
    let formula = match (fuel.carbon_content, fuel.co2_kg_per_tj) {
        (_, Some(ef)) => format!(
            "{ad} {ad_unit} × {ncv} {} × {ef} kgCO2/TJ × 10⁻⁶ × OF {} = {co2} tCO2",
            fuel.factor.unit,
            fuel.oxidation.unwrap_or(1.0)
        ),
        (Some(cc), None) => format!(
            "{ad} {ad_unit} × {ncv} {} × {cc} tC/GJ × {} × 44/12 = {co2} tCO2",
            fuel.factor.unit,
            fuel.oxidation.unwrap_or(1.0)
        ),
        (None, None) => String::new(),
    };
    Ok(Line {
        meter: a.meter.clone(),
        scope: scope_of(a, Scope::Scope1),
        source: source_of(a, "stationary_combustion"),
        carrier: a.carrier,
        activity: ad,
        activity_unit: ad_unit.into(),
        heat_gj: Some(heat),
        co2_t: fossil,
        ch4_t: ch4,
        n2o_t: n2o,
        co2e_t: fossil + co2e_non_co2,
        biogenic_co2_t: biogenic,
        factors,
        formula,
    })
}

fn supplied_line(s: &SuppliedActivity) -> Line {
    let co2e = s.quantity * s.factor.value;
    Line {
        meter: format!("activity:{}", s.id),
        scope: Scope::Scope3,
        source: format!("scope3_category_{}", s.category),
        carrier: Carrier::Other,
        activity: s.quantity,
        activity_unit: s.unit.clone(),
        heat_gj: None,
        co2_t: 0.0,
        ch4_t: 0.0,
        n2o_t: 0.0,
        co2e_t: co2e,
        biogenic_co2_t: 0.0,
        formula: format!(
            "{} {} × {} {} = {co2e} tCO2e ({})",
            s.quantity, s.unit, s.factor.value, s.factor.unit, s.description
        ),
        factors: vec![s.factor.clone()],
    }
}

fn process_line(ctx: &mut Ctx<'_>, a: &Activity) -> Result<Line, InventoryError> {
    let id = a.fuel.as_deref().ok_or_else(|| InventoryError::Factor {
        meter: a.meter.clone(),
        message: "a process meter needs `fuel` = the id of a process-emission factor".into(),
    })?;
    let p = ctx
        .lib
        .process(id, ctx.pin(id))
        .ok_or_else(|| InventoryError::Factor {
            meter: a.meter.clone(),
            message: format!("process factor {id:?} is not in the factor library"),
        })?;
    let q = convert(a, p.activity_unit)?;
    let co2e = q * p.factor.value;
    Ok(Line {
        meter: a.meter.clone(),
        scope: Scope::Scope1,
        source: "process".into(),
        carrier: a.carrier,
        activity: q,
        activity_unit: p.activity_unit.to_string(),
        heat_gj: None,
        co2_t: co2e,
        ch4_t: 0.0,
        n2o_t: 0.0,
        co2e_t: co2e,
        biogenic_co2_t: 0.0,
        formula: format!(
            "{q} {} × {} {} = {co2e} tCO2e",
            p.activity_unit, p.factor.value, p.factor.unit
        ),
        factors: vec![p.factor.clone()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Status;

    fn act(meter: &str, carrier: Carrier, q: f64, unit: Unit) -> Activity {
        Activity {
            meter: meter.into(),
            carrier,
            source: None,
            scope3_category: None,
            fuel: None,
            quantity: q,
            unit,
            location: Location::default(),
        }
    }

    fn company_a() -> (Library, Vec<Activity>) {
        let mut lib = Library::builtin();
        lib.add_fuels_csv(
            "company_a_fuels.csv",
            "id,version,guideline,fuel,ncv,ncv_unit,cc_tc_per_gj,oxidation,status\n\
             a:boiler_coal,1,company_a,boiler coal,20,GJ/t,0.02749,0.94,S\n\
             a:canteen_lpg,1,company_a,canteen LPG,41.87,GJ/t,0.0172,0.98,S\n\
             a:logistics_diesel,1,company_a,logistics diesel,43,GJ/t,0.0202,0.98,S\n",
        )
        .unwrap();
        let mut coal = act("boiler", Carrier::CoalRaw, 1000.0, Unit::T);
        coal.fuel = Some("a:boiler_coal".into());
        let mut lpg = act("canteen", Carrier::Lpg, 5000.0, Unit::Kg);
        lpg.fuel = Some("a:canteen_lpg".into());
        let mut diesel = act("logistics", Carrier::Diesel, 2.0, Unit::T);
        diesel.fuel = Some("a:logistics_diesel".into());
        diesel.source = Some(EmissionSource::Scope3);
        diesel.scope3_category = Some(4);
        let grid = act("grid", Carrier::Electricity, 5_000_000.0, Unit::KWh);
        (lib, vec![coal, lpg, grid, diesel])
    }

    #[test]
    fn worked_example_of_carbon_md_section_8() {
        let (lib, acts) = company_a();
        let settings = Settings {
            electricity_year: Some(2021),
            ..Settings::default()
        };
        let inv = inventory(&lib, &settings, 2023, &acts, &[], &[]).unwrap();
        let by = |m: &str| inv.lines.iter().find(|l| l.meter == m).unwrap().co2e_t;
        assert_eq!(format!("{:.2}", by("boiler")), "1894.98");
        assert_eq!(format!("{:.2}", by("canteen")), "12.94");
        assert_eq!(format!("{:.2}", by("grid")), "2784.00");
        assert_eq!(format!("{:.2}", by("logistics")), "6.24");
        assert!(
            (inv.total_location_t - 4691.9163).abs() < 5e-5,
            "{}",
            inv.total_location_t
        );
        assert_eq!(
            inv.scope3.by_source.keys().collect::<Vec<_>>(),
            ["scope3_category_4"]
        );
        assert!(inv
            .factors_used
            .iter()
            .any(|f| f.id == "mee_nbs_average:2021:CN"));
    }

    #[test]
    fn scope_totals_are_sums_of_their_sources_and_lines() {
        let (lib, acts) = company_a();
        for regime in [
            Regime::CnCarbonMarket,
            Regime::CnMeeNbs,
            Regime::GhgProtocol,
            Regime::Ipcc2006,
        ] {
            let settings = Settings {
                regime,
                ..Settings::default()
            };
            let inv = inventory(&lib, &settings, 2023, &acts, &[], &[]).unwrap();
            for (scope, total) in [
                (Scope::Scope1, &inv.scope1),
                (Scope::Scope2, &inv.scope2_location),
                (Scope::Scope3, &inv.scope3),
            ] {
                let lines: f64 = inv
                    .lines
                    .iter()
                    .filter(|l| l.scope == scope)
                    .map(|l| l.co2e_t)
                    .sum();
                let sources: f64 = total.by_source.values().sum();
                assert!(
                    (lines - total.total_t).abs() < 1e-9 && (sources - total.total_t).abs() < 1e-9,
                    "{regime:?} {scope:?}"
                );
            }
            assert_eq!(inv.scope2_market.is_some(), regime == Regime::GhgProtocol);
        }
    }

    #[test]
    fn every_regime_picks_its_own_grid_factor() {
        let lib = Library::builtin();
        let mut meter = act("grid", Carrier::Electricity, 1000.0, Unit::MWh);
        meter.location = Location {
            province: Some("CN-YN".into()),
            grid_region: Some("GRID-SOUTH".into()),
        };
        let grid = [meter.clone()];
        let run = |s: Settings| inventory(&lib, &s, 2025, &grid, &[], &[]).unwrap();
        let base = Settings::default();
        assert!(
            (run(Settings {
                regime: Regime::CnCarbonMarket,
                ..base.clone()
            })
            .total_location_t
                - 570.3)
                .abs()
                < 1e-9
        );
        assert!(
            (run(base.clone()).total_location_t - 530.6).abs() < 1e-9,
            "latest national average (2023)"
        );
        assert!(
            (run(Settings {
                caliber: Caliber::Fossil,
                ..base.clone()
            })
            .total_location_t
                - 827.3)
                .abs()
                < 1e-9
        );
        assert!(
            (run(Settings {
                grid: Grid::Regional,
                ..base.clone()
            })
            .total_location_t
                - 404.2)
                .abs()
                < 1e-9
        );
        assert!(
            (run(Settings {
                grid: Grid::Provincial,
                ..base.clone()
            })
            .total_location_t
                - 107.3)
                .abs()
                < 1e-9,
            "2022 is the latest provincial year"
        );
        let ghg = run(Settings {
            regime: Regime::GhgProtocol,
            ..base.clone()
        });
        assert!((ghg.total_market_t.unwrap() - 609.6).abs() < 1e-9);
        assert!(ghg.notes.iter().any(|n| n.contains("residual")));
        let pinned = Settings {
            regime: Regime::CnCarbonMarket,
            pins: BTreeMap::from([("cn_market:unattributed-0.5810".to_string(), 1)]),
            ..base.clone()
        };
        assert!(
            (run(pinned).total_location_t - 581.0).abs() < 1e-9,
            "an unconfirmed value only when pinned"
        );
        let no_province = inventory(
            &lib,
            &Settings {
                grid: Grid::Provincial,
                ..base
            },
            2025,
            &[act("grid", Carrier::Electricity, 1000.0, Unit::MWh)],
            &[],
            &[],
        )
        .unwrap_err();
        assert!(
            no_province.to_string().contains("province"),
            "{no_province}"
        );
    }

    #[test]
    fn supplied_scope3_activity_data_adds_to_scope3_only() {
        let (lib, acts) = company_a();
        let settings = Settings {
            electricity_year: Some(2021),
            ..Settings::default()
        };
        let base = inventory(&lib, &settings, 2023, &acts, &[], &[]).unwrap();
        let transport = SuppliedActivity {
            id: "A-1".into(),
            category: 4,
            description: "road freight".into(),
            quantity: 120_000.0,
            unit: "t·km".into(),
            factor: FactorRef {
                id: "user:road_freight".into(),
                version: 1,
                value: 0.000_062,
                unit: "tCO2e/t·km".into(),
                document: "carrier's declaration 2023".into(),
                table: String::new(),
                status: Status::S,
            },
        };
        let inv = inventory(&lib, &settings, 2023, &acts, &[], &[transport]).unwrap();
        let line = inv
            .lines
            .iter()
            .find(|l| l.meter == "activity:A-1")
            .unwrap();
        assert!((line.co2e_t - 7.44).abs() < 1e-9, "{}", line.co2e_t);
        assert_eq!(line.source, "scope3_category_4");
        assert!((inv.scope3.total_t - base.scope3.total_t - 7.44).abs() < 1e-9);
        assert_eq!(inv.scope1, base.scope1);
        assert_eq!(inv.total_location_t, base.total_location_t);
        // The user's factor is an explicit choice: used without allow_unconfirmed, and listed.
        assert!(inv.factors_used.iter().any(|f| f.id == "user:road_freight"));
    }

    #[test]
    fn only_confirmed_values_are_defaults() {
        let lib = Library::builtin();
        let gas = [act("g", Carrier::NaturalGas, 1.0, Unit::TenKNm3)];
        // The natural-gas parameters are status S: refused as a default, naming the factor
        // and the three ways on.
        let err = inventory(&lib, &Settings::default(), 2025, &gas, &[], &[]).unwrap_err();
        let InventoryError::Unconfirmed(factors) = &err else {
            panic!("{err}")
        };
        let id = factors[0].id.clone();
        assert!(factors.iter().all(|f| !f.status.is_confirmed()));
        let msg = err.to_string();
        assert!(
            msg.contains(&id) && msg.contains("allow_unconfirmed=true") && msg.contains("pins="),
            "{msg}"
        );
        // Allowed: computed and marked.
        let allowed = Settings {
            allow_unconfirmed: true,
            ..Settings::default()
        };
        let inv = inventory(&lib, &allowed, 2025, &gas, &[], &[]).unwrap();
        assert!(inv.uses_unconfirmed_factors && inv.total_location_t > 0.0);
        // Pinned: an explicit choice, same number, still marked.
        let pinned = Settings {
            pins: [(id.clone(), factors[0].version)].into(),
            ..Settings::default()
        };
        let p = inventory(&lib, &pinned, 2025, &gas, &[], &[]).unwrap();
        assert_eq!(p.total_location_t, inv.total_location_t);
        assert!(p.uses_unconfirmed_factors);
        // Named as the meter's fuel: explicit too.
        let mut named = gas[0].clone();
        named.fuel = Some(id);
        assert!(inventory(&lib, &Settings::default(), 2025, &[named], &[], &[]).is_ok());
        // A confirmed default (the 2022 national average grid factor, V2) needs no opt-in.
        let grid = [act("e", Carrier::Electricity, 1.0, Unit::MWh)];
        let g = inventory(&lib, &Settings::default(), 2025, &grid, &[], &[]).unwrap();
        assert!(!g.uses_unconfirmed_factors);
    }

    #[test]
    fn ipcc_counts_ch4_and_n2o_under_the_chosen_gwp_set() {
        let lib = Library::builtin();
        let diesel = [act("gen", Carrier::Diesel, 10.0, Unit::T)];
        let inv = |gwp| {
            inventory(
                &lib,
                &Settings {
                    regime: Regime::Ipcc2006,
                    gwp,
                    allow_unconfirmed: true,
                    ..Settings::default()
                },
                2025,
                &diesel,
                &[],
                &[],
            )
            .unwrap()
        };
        let ar6 = inv(GwpSet::AR6);
        let heat = 10.0 * 43.0;
        let l = &ar6.lines[0];
        assert!((l.co2_t - heat * 74_100e-6).abs() < 1e-9);
        assert!((l.ch4_t - heat * 3e-6).abs() < 1e-12 && (l.n2o_t - heat * 0.6e-6).abs() < 1e-12);
        assert!((l.co2e_t - (l.co2_t + 27.9 * l.ch4_t + 273.0 * l.n2o_t)).abs() < 1e-9);
        let ar4 = inv(GwpSet::AR4);
        assert!((ar4.lines[0].co2e_t - (l.co2_t + 25.0 * l.ch4_t + 298.0 * l.n2o_t)).abs() < 1e-9);
        let cn_settings = Settings {
            allow_unconfirmed: true,
            ..Settings::default()
        };
        let cn = inventory(&lib, &cn_settings, 2025, &diesel, &[], &[]).unwrap();
        assert_eq!(cn.lines[0].ch4_t, 0.0, "Chinese regimes count CO2 only");
    }

    #[test]
    fn unit_traps_are_converted_or_refused() {
        let lib = Library::builtin();
        let s = Settings {
            allow_unconfirmed: true,
            ..Settings::default()
        };
        // Natural gas in m3 and in 10^4 Nm3 give the same result.
        let m3 = inventory(
            &lib,
            &s,
            2025,
            &[act("g", Carrier::NaturalGas, 10_000.0, Unit::M3)],
            &[],
            &[],
        )
        .unwrap();
        let wan = inventory(
            &lib,
            &s,
            2025,
            &[act("g", Carrier::NaturalGas, 1.0, Unit::TenKNm3)],
            &[],
            &[],
        )
        .unwrap();
        assert!((m3.total_location_t - wan.total_location_t).abs() < 1e-9);
        assert!(
            (m3.total_location_t - 21.622).abs() < 5e-3,
            "2.1622 kgCO2/Nm3"
        );
        // kWh vs MWh, kg vs t.
        let kwh = inventory(
            &lib,
            &s,
            2025,
            &[act("e", Carrier::Electricity, 1000.0, Unit::KWh)],
            &[],
            &[],
        )
        .unwrap();
        assert!(
            (kwh.total_location_t - 0.5306).abs() < 1e-12,
            "t per kWh is not kg per kWh"
        );
        let kg = inventory(
            &lib,
            &s,
            2025,
            &[act("d", Carrier::Diesel, 1000.0, Unit::Kg)],
            &[],
            &[],
        )
        .unwrap();
        let t = inventory(
            &lib,
            &s,
            2025,
            &[act("d", Carrier::Diesel, 1.0, Unit::T)],
            &[],
            &[],
        )
        .unwrap();
        assert!((kg.total_location_t - t.total_location_t).abs() < 1e-12);
        // Heat in MJ vs GJ.
        let mj = inventory(
            &lib,
            &s,
            2025,
            &[act("h", Carrier::Heat, 1000.0, Unit::MJ)],
            &[],
            &[],
        )
        .unwrap();
        assert!((mj.total_location_t - 0.11).abs() < 1e-12);
        // Diesel in litres: no density is assumed.
        let e = inventory(
            &lib,
            &s,
            2025,
            &[act("d", Carrier::Diesel, 1000.0, Unit::L)],
            &[],
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("mass"), "{e}");
    }

    #[test]
    fn certificates_cover_market_based_scope_2_first_and_never_twice() {
        let lib = Library::builtin();
        let ghg = Settings {
            regime: Regime::GhgProtocol,
            ..Settings::default()
        };
        let grid = [
            act("a", Carrier::Electricity, 600.0, Unit::MWh),
            act("b", Carrier::Electricity, 400.0, Unit::MWh),
        ];
        let cert = |id: &str, mwh: f64| Instrument {
            id: id.into(),
            mwh,
            vintage: 2025,
            technology: "wind".into(),
            region: "CN-NM".into(),
        };
        let none = inventory(&lib, &ghg, 2025, &grid, &[], &[]).unwrap();
        let some = inventory(&lib, &ghg, 2025, &grid, &[cert("g1", 250.0)], &[]).unwrap();
        let market = |i: &Inventory| i.scope2_market.as_ref().unwrap().total_t;
        // 750 of 1000 MWh at the residual-like factor 0.6096 (2023).
        assert!(
            (market(&some) - 750.0 * 0.6096).abs() < 1e-9,
            "{}",
            market(&some)
        );
        assert!((market(&none) - 1000.0 * 0.6096).abs() < 1e-9);
        assert_eq!(
            some.total_location_t, none.total_location_t,
            "location-based is unchanged"
        );
        assert_eq!(some.certificates_mwh_applied, 250.0);
        // More certificates than consumption: market-based Scope 2 is 0, the excess is noted.
        let all = inventory(
            &lib,
            &ghg,
            2025,
            &grid,
            &[cert("g1", 700.0), cert("g2", 700.0)],
            &[],
        )
        .unwrap();
        assert_eq!(market(&all), 0.0);
        assert!(
            all.notes
                .iter()
                .any(|n| n.contains("400 MWh") && n.contains("exceed")),
            "{:?}",
            all.notes
        );
        // Other regimes list them without changing Scope 2.
        let cn = inventory(
            &lib,
            &Settings::default(),
            2025,
            &grid,
            &[cert("g1", 250.0)],
            &[],
        )
        .unwrap();
        assert!(cn.scope2_market.is_none() && cn.certificates.len() == 1);
    }
}
