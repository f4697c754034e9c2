//! Tariffs (分时电价) stored versioned in the data directory, bills of any node and period from
//! the stored 15-minute data, and schedules (峰谷优化) of a node's flexible assets under a
//! tariff with the load forecast from the stored data.
//!
//! User tariffs live under `<data>/tariffs/<id>--<version>.toml` (fsynced, never changed; a
//! new monthly table is a new version) and are loaded at every start after the shipped presets.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};
use shulv_model::{local_to_utc, Bucket, Carrier, HolidayCalendar};
use shulv_optimise::{
    Battery, CurtailableLoad, DemandCharge, Event, PriceComponent, Problem, Schedule, Settings,
    ShiftableLoad,
};
use shulv_tariff::{
    bill, compare_basic, BasicComparison, BasicMethod, Bill, BillInput, DayFlags, PeriodKind,
    Status, Tariff, TariffFile, TariffLibrary,
};

use crate::critical_peak::TemperatureTrigger;
use crate::weather::{WeatherRequest, WeatherUsed};
use crate::{
    Aggregate, ForecastRequest, ModelKind, Period, Platform, PlatformError, QuerySpec, Target,
};

/// A tariff version in a listing.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TariffSummary {
    /// Identifier.
    pub id: String,
    /// Version.
    pub version: String,
    /// Name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Who it applies to.
    pub applies_to: String,
    /// `builtin` (a shipped preset) or the file under `tariffs/`.
    pub source: String,
    /// Periods used.
    pub periods: Vec<PeriodKind>,
    /// All-in price of each period, yuan/kWh.
    pub prices: Vec<PeriodPrice>,
    /// Provenance of each part (`windows`, `ratios`, `component.purchase`, `basic`, ...).
    pub provenance: Vec<PartProvenance>,
    /// The critical-peak temperature trigger (a day's maximum at or above it, ℃), if the
    /// tariff has one: a bill or schedule may then name a temperature meter.
    pub temperature_trigger_c: Option<f64>,
}

/// The all-in price of a period.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PeriodPrice {
    /// Period.
    pub period: PeriodKind,
    /// Chinese name.
    pub label: String,
    /// yuan/kWh.
    pub price: f64,
}

/// Provenance of one part of a tariff: the part and its [`shulv_tariff::Provenance`]'s fields, listed here
/// (not flattened) so that the OpenAPI schema admits `part` beside them.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PartProvenance {
    /// Part (`windows`, `ratios`, `component.purchase`, `basic`, ...).
    pub part: String,
    /// Confirmation status.
    pub status: Status,
    /// Document or table it comes from.
    pub source: String,
}

fn summary(t: &Tariff, source: &str) -> TariffSummary {
    let f = t.file();
    TariffSummary {
        id: f.id.clone(),
        version: f.version.clone(),
        name: f.name.clone(),
        region: f.region.clone(),
        applies_to: f.applies_to.clone(),
        source: source.to_string(),
        periods: t.periods(),
        prices: t
            .periods()
            .into_iter()
            .map(|p| PeriodPrice {
                period: p,
                label: p.label_zh().into(),
                price: t.price(p),
            })
            .collect(),
        provenance: t
            .provenance()
            .into_iter()
            .map(|(part, p)| PartProvenance {
                part,
                status: p.status,
                source: p.source,
            })
            .collect(),
        temperature_trigger_c: f
            .critical_peak
            .as_ref()
            .and_then(|c| c.temperature_trigger_c),
    }
}

/// The tariff library: presets plus user files, with the file each version came from.
#[derive(Clone, Debug)]
pub(crate) struct Tariffs {
    library: TariffLibrary,
    sources: Vec<(String, String, String)>,
}

impl Tariffs {
    fn source(&self, t: &Tariff) -> String {
        self.sources
            .iter()
            .find(|(id, v, _)| id == t.id() && v == t.version())
            .map(|(_, _, s)| s.clone())
            .unwrap_or_else(|| "builtin".into())
    }
}

/// The presets plus every `tariffs/*.toml`, in name order.
pub(crate) fn load_tariffs(data_dir: &Path) -> Result<Tariffs, PlatformError> {
    let mut t = Tariffs {
        library: TariffLibrary::builtin(),
        sources: Vec::new(),
    };
    let dir = data_dir.join("tariffs");
    for path in crate::registry::sorted_files(&dir) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with('.') || !name.ends_with(".toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| PlatformError::Io(format!("{}: {e}", path.display())))?;
        let added = t
            .library
            .add_toml(&format!("tariffs/{name}"), &text)
            .map_err(|e| PlatformError::Corrupt(e.to_string()))?;
        t.sources.push((
            added.id().to_string(),
            added.version().to_string(),
            format!("tariffs/{name}"),
        ));
    }
    Ok(t)
}

/// What a bill asks for.
#[derive(Clone, Debug)]
pub struct BillRequest {
    /// Node id: the electricity meters of its subtree are billed.
    pub node: String,
    /// Period.
    pub period: Period,
    /// Tariff id.
    pub tariff: String,
    /// Tariff version (default: the latest).
    pub version: Option<String>,
    /// Basic charge (two-part users).
    pub basic: Option<BasicMethod>,
    /// Days on which the critical-peak temperature trigger fired (named by the caller).
    pub critical_days: BTreeSet<NaiveDate>,
    /// Air-temperature meter whose stored daily maxima fire the trigger (with `critical_days`).
    pub temperature_meter: Option<String>,
    /// Also compare the basic-charge methods (needs the capacity).
    pub compare_capacity_kva: Option<f64>,
}

/// The bill of a node and period.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct NodeBill {
    /// Node id.
    pub node: String,
    /// Period.
    pub period: String,
    /// Meters billed (carrier electricity).
    pub meters: Vec<String>,
    /// Where the energy came from (`raw` 15-minute sums).
    pub source: String,
    /// The temperature trigger evaluated on `temperature_meter`, if one was named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critical_peak_trigger: Option<TemperatureTrigger>,
    /// Critical-peak (尖峰) days applied besides the tariff's critical-peak months: the
    /// caller's `critical_days` and the days the temperature trigger fired.
    pub critical_days: Vec<String>,
    /// The bill.
    pub bill: Bill,
    /// Basic-charge methods compared on the same data, if asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_comparison: Option<BasicComparison>,
}

/// Bills of one node and period under several tariffs.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TariffComparison {
    /// Node id.
    pub node: String,
    /// Period.
    pub period: String,
    /// Energy billed (the same under every tariff), kWh.
    pub kwh: f64,
    /// The tariffs, cheapest first.
    pub ranking: Vec<RankedTariff>,
    /// The complete bills, in the order the tariffs were named.
    pub bills: Vec<NodeBill>,
}

/// One tariff's place in a [`TariffComparison`].
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RankedTariff {
    /// Tariff id.
    pub tariff: String,
    /// Tariff version.
    pub tariff_version: String,
    /// Total, yuan.
    pub total: f64,
    /// Energy charge (电度电费), yuan.
    pub energy_amount: f64,
    /// Basic charge (基本电费), yuan, if billed.
    pub basic_amount: Option<f64>,
    /// Total per kWh, yuan/kWh.
    pub average_price: f64,
    /// Total minus the cheapest total, yuan.
    pub above_cheapest: f64,
}

/// A site's flexible assets (what `shulv optimise --assets` reads).
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assets {
    /// Batteries.
    #[serde(default)]
    pub batteries: Vec<Battery>,
    /// Shiftable loads (windows in steps from the plan start).
    #[serde(default)]
    pub shiftable: Vec<ShiftableLoad>,
    /// Curtailable loads.
    #[serde(default)]
    pub curtailable: Vec<CurtailableLoad>,
    /// On-site PV forecast, kW per step (empty = none).
    #[serde(default)]
    pub pv_kw: Vec<f64>,
    /// Import limit (transformer), kW.
    #[serde(default)]
    pub import_limit_kw: Option<f64>,
    /// May the site export?
    #[serde(default)]
    pub export_allowed: bool,
    /// Export limit, kW.
    #[serde(default)]
    pub export_limit_kw: Option<f64>,
    /// Export price, yuan/kWh (one value).
    #[serde(default)]
    pub sell_price: Option<f64>,
}

/// What a schedule of a node asks for.
#[derive(Clone, Debug)]
pub struct ScheduleRequest {
    /// Node id (its electricity load is forecast from the stored data unless given).
    pub node: String,
    /// Tariff id.
    pub tariff: String,
    /// Tariff version (default: the latest).
    pub version: Option<String>,
    /// Start of the plan (ms UTC, on a 15-minute boundary).
    pub start: i64,
    /// Hours planned: 24 to 48.
    pub hours: usize,
    /// Basic-charge method: contract or actual demand make the peak import cost.
    pub basic: Option<BasicMethod>,
    /// Days of the plan on which the critical-peak temperature trigger fires (named by the caller).
    pub critical_days: BTreeSet<NaiveDate>,
    /// Air-temperature meter (e.g. an imported weather forecast) whose stored daily maxima over
    /// the plan fire the trigger.
    pub temperature_meter: Option<String>,
    /// The load, kW per 15-minute step (default: the P50 forecast of the stored data).
    pub load_kw: Option<Vec<f64>>,
    /// Forecast model for the load (default `auto`).
    pub model: ModelKind,
    /// Outdoor temperature as a covariate of the load forecast (none: no weather).
    pub load_weather: Option<WeatherRequest>,
    /// Flexible assets.
    pub assets: Assets,
    /// Demand-response event.
    pub event: Option<Event>,
    /// Solver settings.
    pub settings: Settings,
}

/// A schedule of a node with what it was made from.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct NodeSchedule {
    /// Node id.
    pub node: String,
    /// Tariff id.
    pub tariff: String,
    /// Tariff version.
    pub tariff_version: String,
    /// Start of the first step (RFC 3339, local offset).
    pub start: String,
    /// Where the load came from.
    pub load_source: String,
    /// The load forecast's temperature covariate and which weather its forecast hours used
    /// (absent: no weather, or the load was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_weather: Option<WeatherUsed>,
    /// Grid factor used and its id.
    pub grid_factor: String,
    /// The temperature trigger evaluated on `temperature_meter` over the plan, if one was named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critical_peak_trigger: Option<TemperatureTrigger>,
    /// Critical-peak (尖峰) days applied besides the tariff's critical-peak months.
    pub critical_days: Vec<String>,
    /// Period of each step.
    pub periods: Vec<PeriodKind>,
    /// Import price of each step, yuan/kWh.
    pub buy_price: Vec<f64>,
    /// Load of each step, kW.
    pub load_kw: Vec<f64>,
    /// The plan.
    pub schedule: Schedule,
}

const STEP_MS: i64 = 900_000;

/// 15-minute import energy of a node: (start ms, kWh), the meters and the data source.
struct Intervals {
    points: Vec<(i64, f64)>,
    meters: Vec<String>,
    source: String,
}

impl Platform {
    /// Every tariff version, presets first.
    pub fn tariffs(&self) -> Vec<TariffSummary> {
        let t = self.tariffs.read();
        t.library.all().map(|x| summary(x, &t.source(x))).collect()
    }

    /// One tariff version as in its file.
    pub fn tariff(&self, id: &str, version: Option<&str>) -> Result<TariffFile, PlatformError> {
        self.tariffs
            .read()
            .library
            .get(id, version)
            .map(|t| t.file().clone())
            .ok_or_else(|| match version {
                Some(v) => PlatformError::NotFound(format!("tariff '{id}' version '{v}'")),
                None => PlatformError::NotFound(format!("tariff '{id}'")),
            })
    }

    fn tariff_obj(&self, id: &str, version: Option<&str>) -> Result<Tariff, PlatformError> {
        self.tariffs
            .read()
            .library
            .get(id, version)
            .cloned()
            .ok_or_else(|| PlatformError::NotFound(format!("tariff '{id}'")))
    }

    /// Validates a tariff file (TOML) and stores it as a new version under `tariffs/`.
    pub fn add_tariff(&self, text: &str) -> Result<TariffSummary, PlatformError> {
        let mut lib = self.tariffs.write();
        let t = Tariff::from_toml("<request>", text)
            .map_err(|e| PlatformError::Invalid(e.to_string()))?;
        let name = format!("{}--{}.toml", t.id(), t.version());
        let mut next = lib.clone();
        let added = next
            .library
            .add(&name, t)
            .map_err(|e| PlatformError::Conflict(e.to_string()))?;
        let out = summary(added, &format!("tariffs/{name}"));
        next.sources
            .push((out.id.clone(), out.version.clone(), out.source.clone()));
        let dir = self.data_dir.join("tariffs");
        std::fs::create_dir_all(&dir)
            .map_err(|e| PlatformError::Io(format!("{}: {e}", dir.display())))?;
        crate::registry::write_atomically(&dir.join(&name), text.as_bytes())?;
        *lib = next;
        Ok(out)
    }

    /// Import energy of the node's electricity meters per 15 minutes in [from, to).
    fn electricity_intervals(
        &self,
        node: &str,
        from: i64,
        to: i64,
    ) -> Result<Intervals, PlatformError> {
        let answer = self.query(&QuerySpec {
            target: Target::Node(node.to_string()),
            from,
            to,
            bucket: Bucket::Min15,
            aggregate: Aggregate::Sum,
            carrier: Some(Carrier::Electricity),
        })?;
        let Some(series) = answer.series.first() else {
            return Err(PlatformError::Invalid(format!(
                "node '{node}' has no electricity meters with data in the range"
            )));
        };
        let to_kwh = series
            .unit
            .parse::<shulv_model::Unit>()
            .ok()
            .and_then(|u| u.convert(1.0, shulv_model::Unit::KWh).ok())
            .ok_or_else(|| {
                PlatformError::Invalid(format!(
                    "electricity of node '{node}' is in {}, not an energy unit",
                    series.unit
                ))
            })?;
        let points = series
            .points
            .iter()
            .map(|p| (p.ts, p.value * to_kwh))
            .collect();
        Ok(Intervals {
            points,
            meters: series.meters.clone(),
            source: answer.source,
        })
    }

    /// The bill of a node and period from the stored 15-minute data.
    pub fn bill(&self, req: &BillRequest) -> Result<NodeBill, PlatformError> {
        let tariff = self.tariff_obj(&req.tariff, req.version.as_deref())?;
        let (from, to) = self.bill_range(req)?;
        let intervals = self.electricity_intervals(&req.node, from, to)?;
        let temperature_meter = req.temperature_meter.as_deref();
        self.bill_of(req, &tariff, temperature_meter, &intervals, from, to)
    }

    /// The bills of one node and period under several tariffs (the same stored data, basic
    /// method and critical-peak days), cheapest first in `ranking`. The temperature meter
    /// applies to the tariffs with a temperature trigger, each with its own threshold.
    pub fn compare_tariffs(
        &self,
        req: &BillRequest,
        tariffs: &[(String, Option<String>)],
    ) -> Result<TariffComparison, PlatformError> {
        if tariffs.len() < 2 {
            return Err(PlatformError::Invalid(format!(
                "tariffs: name at least two tariffs to compare, got {}",
                tariffs.len()
            )));
        }
        let chosen = tariffs
            .iter()
            .map(|(id, version)| self.tariff_obj(id, version.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        let (from, to) = self.bill_range(req)?;
        let intervals = self.electricity_intervals(&req.node, from, to)?;
        let bills = chosen
            .iter()
            .map(|t| {
                let triggered = t
                    .file()
                    .critical_peak
                    .as_ref()
                    .is_some_and(|c| c.temperature_trigger_c.is_some());
                let temperature_meter = req.temperature_meter.as_deref().filter(|_| triggered);
                self.bill_of(req, t, temperature_meter, &intervals, from, to)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cheapest = bills
            .iter()
            .map(|b| b.bill.total)
            .fold(f64::INFINITY, f64::min);
        let mut ranking: Vec<RankedTariff> = bills
            .iter()
            .map(|b| RankedTariff {
                tariff: b.bill.tariff.clone(),
                tariff_version: b.bill.tariff_version.clone(),
                total: b.bill.total,
                energy_amount: b.bill.energy_amount,
                basic_amount: b.bill.basic.as_ref().map(|x| x.amount),
                average_price: b.bill.average_price,
                above_cheapest: b.bill.total - cheapest,
            })
            .collect();
        ranking.sort_by(|a, b| a.total.total_cmp(&b.total));
        Ok(TariffComparison {
            node: req.node.clone(),
            period: req.period.to_string(),
            kwh: bills.first().map_or(0.0, |b| b.bill.kwh),
            ranking,
            bills,
        })
    }

    /// `[from, to)` (ms UTC) of a bill's period in the node's time zone.
    fn bill_range(&self, req: &BillRequest) -> Result<(i64, i64), PlatformError> {
        self.period_range(&req.node, req.period)
    }

    /// `[from, to)` (ms UTC) of `period` in the time zone of `node`.
    pub(crate) fn period_range(
        &self,
        node: &str,
        period: Period,
    ) -> Result<(i64, i64), PlatformError> {
        let tz = self
            .with_tree(|t| t.node(node).map(|_| t.timezone_of_node(node)))
            .ok_or_else(|| PlatformError::NotFound(format!("node '{node}'")))?;
        let (start, end) = period.dates();
        let at = |d: NaiveDate| {
            local_to_utc(d.and_hms_opt(0, 0, 0).unwrap_or_default(), tz)
                .map_err(|e| PlatformError::Invalid(format!("period {period}: {e}")))
        };
        Ok((at(start)?, at(end)?))
    }

    /// The bill of `req` under `tariff` on the node's 15-minute import `intervals`, with the
    /// critical peaks `temperature_meter` triggers.
    fn bill_of(
        &self,
        req: &BillRequest,
        tariff: &Tariff,
        temperature_meter: Option<&str>,
        intervals: &Intervals,
        from: i64,
        to: i64,
    ) -> Result<NodeBill, PlatformError> {
        let (critical_days, critical_peak_trigger) =
            self.critical_days_of(tariff, &req.critical_days, temperature_meter, from, to)?;
        let cal = HolidayCalendar::china();
        let input = BillInput {
            intervals: &intervals.points,
            step_minutes: 15,
            from_ms: from,
            to_ms: to,
            basic: req.basic.clone(),
            critical_days: critical_days.clone(),
        };
        let invalid = |e: shulv_tariff::BillError| PlatformError::Invalid(e.to_string());
        let b = bill(tariff, &cal, &input).map_err(invalid)?;
        let basic_comparison = match req.compare_capacity_kva {
            None => None,
            Some(cap) => {
                let contract = match &req.basic {
                    Some(BasicMethod::ContractDemand { contract_kw, .. }) => Some(*contract_kw),
                    _ => None,
                };
                Some(compare_basic(tariff, &cal, &input, cap, contract).map_err(invalid)?)
            }
        };
        Ok(NodeBill {
            node: req.node.clone(),
            period: req.period.to_string(),
            meters: intervals.meters.clone(),
            source: intervals.source.clone(),
            critical_peak_trigger,
            critical_days: critical_days.iter().map(|d| d.to_string()).collect(),
            bill: b,
            basic_comparison,
        })
    }

    /// A day-ahead or rolling plan of a node's flexible assets under a tariff.
    pub fn schedule(&self, req: &ScheduleRequest) -> Result<NodeSchedule, PlatformError> {
        if !(24..=48).contains(&req.hours) {
            return Err(PlatformError::Invalid(format!(
                "hours: {} is not in 24..=48",
                req.hours
            )));
        }
        if req.start.rem_euclid(STEP_MS) != 0 {
            return Err(PlatformError::Invalid(
                "start: must be on a 15-minute boundary".into(),
            ));
        }
        let tariff = self.tariff_obj(&req.tariff, req.version.as_deref())?;
        let (tz, province) = self
            .with_tree(|t| {
                t.node(&req.node).map(|n| {
                    let province = std::iter::once(n)
                        .chain(t.ancestors(&req.node))
                        .find_map(|n| n.attributes.get("province").cloned());
                    (t.timezone_of_node(&req.node), province)
                })
            })
            .ok_or_else(|| PlatformError::NotFound(format!("node '{}'", req.node)))?;
        let steps = req.hours * 4;
        let (load_kw, load_source, load_weather) = match &req.load_kw {
            Some(l) => (l.clone(), "given in the request".to_string(), None),
            None => {
                let horizon = if req.hours <= 24 { 24 } else { 168 };
                let f = self.forecast(&ForecastRequest {
                    target: Target::Node(req.node.clone()),
                    horizon,
                    model: req.model,
                    from: None,
                    to: Some(req.start),
                    intervals: Default::default(),
                    carrier: Some(Carrier::Electricity),
                    weather: req.load_weather.clone(),
                })?;
                let s = f
                    .series
                    .iter()
                    .find(|s| s.carrier == Carrier::Electricity)
                    .ok_or_else(|| {
                        PlatformError::Invalid(format!(
                            "node '{}' has no electricity forecast (no electricity meters with data)",
                            req.node
                        ))
                    })?;
                let to_kwh = s
                    .unit
                    .parse::<shulv_model::Unit>()
                    .ok()
                    .and_then(|u| u.convert(1.0, shulv_model::Unit::KWh).ok())
                    .unwrap_or(1.0);
                let kw: Vec<f64> = s
                    .hours
                    .iter()
                    .take(req.hours)
                    .flat_map(|h| [h.p50.max(0.0) * to_kwh; 4])
                    .collect();
                (
                    kw,
                    format!("P50 of the {} forecast ({})", s.model, f.method),
                    f.weather.clone(),
                )
            }
        };
        if load_kw.len() != steps {
            return Err(PlatformError::Invalid(format!(
                "load_kw: {} values for {steps} steps of 15 minutes",
                load_kw.len()
            )));
        }
        let plan_end = req.start + steps as i64 * STEP_MS;
        let (critical_days, critical_peak_trigger) = self.critical_days_of(
            &tariff,
            &req.critical_days,
            req.temperature_meter.as_deref(),
            req.start,
            plan_end,
        )?;
        let cal = HolidayCalendar::china();
        let names = tariff.component_names();
        let mut periods = Vec::with_capacity(steps);
        let mut components: Vec<PriceComponent> = names
            .iter()
            .map(|n| PriceComponent {
                name: n.to_string(),
                price: Vec::with_capacity(steps),
            })
            .collect();
        let mut buy = Vec::with_capacity(steps);
        for i in 0..steps {
            let ts = req.start + i as i64 * STEP_MS;
            let local = tariff
                .timezone()
                .timestamp_millis_opt(ts)
                .single()
                .map(|d| d.naive_local())
                .unwrap_or_default();
            let flags = DayFlags {
                critical: critical_days.contains(&local.date()),
            };
            let p = tariff.period_at(local, &cal, flags);
            let prices = tariff.prices(p).unwrap_or_default();
            for (c, v) in components.iter_mut().zip(prices) {
                c.price.push(*v);
            }
            buy.push(prices.iter().sum::<f64>());
            periods.push(p);
        }
        let demand_charge = self.demand_charge(&tariff, req)?;
        let library = self.library.read();
        let year = chrono::DateTime::from_timestamp_millis(req.start)
            .map(|d| d.with_timezone(&tz).format("%Y").to_string())
            .and_then(|y| y.parse().ok())
            .unwrap_or(2025);
        let factor = province
            .as_deref()
            .and_then(|p| library.grid("mee_nbs_average", p, year))
            .or_else(|| library.grid("mee_nbs_average", "CN", year))
            .ok_or_else(|| {
                PlatformError::Invalid("no grid emission factor for the plan's year".into())
            })?;
        let kg_per_kwh = factor.factor.value;
        let grid_factor = format!(
            "{} v{} = {kg_per_kwh} kgCO2/kWh",
            factor.factor.id, factor.factor.version
        );
        drop(library);
        let a = &req.assets;
        let problem = Problem {
            step_minutes: 15,
            start: Some(shulv_model::format_local(req.start, tz)),
            load_kw: load_kw.clone(),
            pv_kw: a.pv_kw.clone(),
            buy_price: buy.clone(),
            sell_price: a.sell_price.map(|s| vec![s; steps]).unwrap_or_default(),
            price_components: components,
            grid_factor_kg_per_kwh: vec![kg_per_kwh],
            import_limit_kw: a.import_limit_kw,
            export_allowed: a.export_allowed,
            export_limit_kw: a.export_limit_kw,
            batteries: a.batteries.clone(),
            shiftable: a.shiftable.clone(),
            curtailable: a.curtailable.clone(),
            demand_charge,
            event: req.event.clone(),
            settings: req.settings.clone(),
        };
        let schedule = shulv_optimise::schedule(&problem)
            .map_err(|e| PlatformError::Invalid(e.to_string()))?;
        Ok(NodeSchedule {
            node: req.node.clone(),
            tariff: tariff.id().into(),
            tariff_version: tariff.version().into(),
            start: shulv_model::format_local(req.start, tz),
            load_source,
            load_weather,
            grid_factor,
            critical_peak_trigger,
            critical_days: critical_days.iter().map(|d| d.to_string()).collect(),
            periods,
            buy_price: buy,
            load_kw,
            schedule,
        })
    }

    /// The critical-peak days of `[from, to)`: the caller's, plus those on which the tariff's
    /// temperature trigger fires on the stored `temperature_meter`.
    fn critical_days_of(
        &self,
        tariff: &Tariff,
        named: &BTreeSet<NaiveDate>,
        temperature_meter: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<(BTreeSet<NaiveDate>, Option<TemperatureTrigger>), PlatformError> {
        let mut days = named.clone();
        let trigger = match temperature_meter {
            None => None,
            Some(meter) => {
                let t = self.temperature_trigger(tariff, meter, from, to)?;
                days.extend(t.triggered_days());
                Some(t)
            }
        };
        Ok((days, trigger))
    }

    /// The demand charge of a plan: the tariff's demand price under the request's method, with
    /// the peak already set this month (from the stored data before the plan's start).
    fn demand_charge(
        &self,
        tariff: &Tariff,
        req: &ScheduleRequest,
    ) -> Result<Option<DemandCharge>, PlatformError> {
        let Some(method) = &req.basic else {
            return Ok(None);
        };
        let basic = tariff.file().basic.as_ref().ok_or_else(|| {
            PlatformError::Invalid(format!("tariff {} has no basic charge", tariff.id()))
        })?;
        let price = match method {
            BasicMethod::Capacity { .. } => return Ok(None),
            _ => basic.demand_price.ok_or_else(|| {
                PlatformError::Invalid(format!("tariff {} has no demand_price", tariff.id()))
            })?,
        };
        let tz = tariff.timezone();
        let month_start = tz
            .timestamp_millis_opt(req.start)
            .single()
            .and_then(|d| {
                let d = d.naive_local().date();
                NaiveDate::from_ymd_opt(chrono::Datelike::year(&d), chrono::Datelike::month(&d), 1)
            })
            .and_then(|d| local_to_utc(d.and_hms_opt(0, 0, 0)?, tz).ok())
            .unwrap_or(req.start);
        let month_peak_kw = if month_start < req.start {
            match self.electricity_intervals(&req.node, month_start, req.start) {
                Ok(i) => i.points.iter().map(|p| p.1 * 4.0).fold(0.0, f64::max),
                Err(PlatformError::Invalid(_)) => 0.0,
                Err(e) => return Err(e),
            }
        } else {
            0.0
        };
        Ok(Some(match method {
            BasicMethod::ContractDemand {
                contract_kw,
                capacity_kva,
            } => DemandCharge::Contract {
                price,
                contract_kw: contract_kw.max(basic.contract_floor * capacity_kva),
                threshold: basic.excess_threshold,
                multiplier: basic.excess_multiplier,
                month_peak_kw,
            },
            _ => DemandCharge::Actual {
                price,
                month_peak_kw,
            },
        }))
    }
}
