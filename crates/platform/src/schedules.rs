//! Schedules (峰谷优化) of a node's flexible assets under a tariff, with the load forecast from
//! the stored data.

use std::collections::BTreeSet;

use chrono::{NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};
use shulv_model::{local_to_utc, Carrier, HolidayCalendar};
use shulv_optimise::{
    Battery, CurtailableLoad, DemandCharge, Event, PriceComponent, Problem, Schedule, Settings,
    ShiftableLoad,
};
use shulv_tariff::{BasicMethod, DayFlags, PeriodKind, Tariff};

use crate::critical_peak::TemperatureTrigger;
use crate::tariffs::STEP_MS;
use crate::weather::{WeatherRequest, WeatherUsed};
use crate::{ForecastRequest, ModelKind, Platform, PlatformError, Target};

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

impl Platform {
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
