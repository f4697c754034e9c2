//! Bills (电费) of any node and period from the stored 15-minute data under a stored tariff
//! version, and the comparison of tariffs and of the 基本电费 methods.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::Serialize;
use shulv_model::{local_to_utc, HolidayCalendar};
use shulv_tariff::{bill, compare_basic, BasicComparison, BasicMethod, Bill, BillInput, Tariff};

use crate::critical_peak::TemperatureTrigger;
use crate::tariffs::Intervals;
use crate::{Period, Platform, PlatformError};

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

impl Platform {
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
}
