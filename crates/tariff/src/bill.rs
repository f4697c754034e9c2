//! The bill of a metered import under a tariff: energy by period and component, and the basic
//! charge (基本电费) by capacity, contract demand or actual maximum demand.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};
use shulv_model::HolidayCalendar;

use crate::tariff::{DayFlags, PeriodKind, Tariff};

/// How the basic charge is billed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum BasicMethod {
    /// By transformer capacity (按容量): kVA × yuan/kVA·month.
    Capacity {
        /// Installed capacity, kVA.
        capacity_kva: f64,
    },
    /// By contract maximum demand (按合同最大需量): the contract is billed, demand above
    /// `excess_threshold` × contract is billed at `excess_multiplier` × the demand price, and the
    /// contract is raised to at least `contract_floor` × capacity.
    ContractDemand {
        /// Contract demand, kW.
        contract_kw: f64,
        /// Installed capacity, kVA.
        capacity_kva: f64,
    },
    /// By actual maximum demand (按实际最大需量): the month's largest 15-minute mean import.
    ActualDemand,
}

/// What a bill is computed for.
#[derive(Clone, Debug, Default)]
pub struct BillInput<'a> {
    /// Import energy per interval: (start, ms UTC; kWh), any order.
    pub intervals: &'a [(i64, f64)],
    /// Length of one interval in minutes (15 for meter data; demand is kWh / hours).
    pub step_minutes: u32,
    /// Start of the billed range (ms UTC).
    pub from_ms: i64,
    /// End of the billed range, exclusive (ms UTC).
    pub to_ms: i64,
    /// Basic charge to bill, if the user is two-part (两部制).
    pub basic: Option<BasicMethod>,
    /// Days (local) on which the critical-peak temperature trigger fired.
    pub critical_days: BTreeSet<NaiveDate>,
}

/// Energy and money of one component in one period.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ComponentLine {
    /// Component name.
    pub component: String,
    /// Price, yuan/kWh.
    pub price: f64,
    /// Amount, yuan.
    pub amount: f64,
}

/// Energy and money of one period (尖峰/高峰/平段/低谷/深谷).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PeriodLine {
    /// Period.
    pub period: PeriodKind,
    /// Its Chinese name.
    pub label: String,
    /// Energy, kWh.
    pub kwh: f64,
    /// Share of the energy.
    pub share: f64,
    /// All-in price, yuan/kWh.
    pub price: f64,
    /// Amount, yuan.
    pub amount: f64,
    /// By component.
    pub components: Vec<ComponentLine>,
}

/// The basic charge of one calendar month.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BasicMonth {
    /// Month `YYYY-MM`.
    pub month: String,
    /// Fraction of the month inside the billed range (the charge is prorated by days).
    pub fraction: f64,
    /// Largest mean import over one interval, kW.
    pub max_demand_kw: f64,
    /// Start of that interval (ms UTC); `null` without import in the month.
    pub max_demand_at_ms: Option<i64>,
    /// Quantity billed at the normal price (kVA or kW).
    pub billed: f64,
    /// Demand billed at the excess price, kW.
    pub excess_kw: f64,
    /// Amount, yuan.
    pub amount: f64,
}

/// The basic charge of a bill.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BasicBill {
    /// The method and its site figures.
    pub method: BasicMethod,
    /// Price, yuan/kVA·month (capacity) or yuan/kW·month (demand).
    pub price: f64,
    /// Per month.
    pub months: Vec<BasicMonth>,
    /// Amount, yuan.
    pub amount: f64,
    /// Rules applied (floor raised, excess billed).
    pub notes: Vec<String>,
    /// The same notes in Chinese, in the same order (the console's default language).
    pub notes_zh: Vec<String>,
}

/// A bill.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Bill {
    /// Tariff id.
    pub tariff: String,
    /// Tariff version.
    pub tariff_version: String,
    /// Time zone of the windows.
    pub timezone: String,
    /// Energy, kWh.
    pub kwh: f64,
    /// Intervals billed.
    pub intervals: usize,
    /// By period.
    pub periods: Vec<PeriodLine>,
    /// Energy amount by component, yuan.
    pub components: BTreeMap<String, f64>,
    /// Energy charge (电度电费), yuan.
    pub energy_amount: f64,
    /// Basic charge (基本电费), if billed.
    pub basic: Option<BasicBill>,
    /// Total, yuan.
    pub total: f64,
    /// Total per kWh, yuan/kWh.
    pub average_price: f64,
}

/// The maximum demand (最大需量) of a run of intervals: the largest mean import over one
/// interval (kWh ÷ hours), and when that interval started (the earliest on a tie). It starts at
/// 0 kW, so intervals of pure export never make it negative and a month without import bills
/// 0 kW with no time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MaxDemand {
    /// Demand, kW.
    pub kw: f64,
    /// Start of the interval (ms UTC); `None` until an interval reaches `kw`.
    pub at_ms: Option<i64>,
}

impl MaxDemand {
    /// Takes the interval starting at `ts` (ms UTC) that imported `kwh` in `hours`.
    pub fn add(&mut self, ts: i64, kwh: f64, hours: f64) {
        let kw = kwh / hours;
        let better = match self.at_ms {
            None => kw >= self.kw,
            Some(at) => kw > self.kw || (kw == self.kw && ts < at),
        };
        if better {
            self.kw = kw;
            self.at_ms = Some(ts);
        }
    }
}

/// A bill that cannot be computed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BillError(pub String);

/// Computes the bill of `input` under `tariff`.
pub fn bill(
    tariff: &Tariff,
    calendar: &HolidayCalendar,
    input: &BillInput<'_>,
) -> Result<Bill, BillError> {
    if input.step_minutes == 0 || 60 % input.step_minutes != 0 {
        return Err(BillError(format!(
            "step_minutes: {} does not divide an hour",
            input.step_minutes
        )));
    }
    if input.to_ms <= input.from_ms {
        return Err(BillError(
            "the billed range is empty (to is not after from)".into(),
        ));
    }
    let tz = tariff.timezone();
    let names = tariff.component_names();
    let mut by_period: BTreeMap<PeriodKind, f64> = BTreeMap::new();
    let mut months: BTreeMap<(i32, u32), MaxDemand> = BTreeMap::new();
    let hours = f64::from(input.step_minutes) / 60.0;
    let mut n = 0;
    for &(ts, kwh) in input.intervals {
        if ts < input.from_ms || ts >= input.to_ms {
            continue;
        }
        if !kwh.is_finite() {
            return Err(BillError(format!(
                "interval at {ts} ms has a non-finite energy"
            )));
        }
        let Some(local) = tz.timestamp_millis_opt(ts).single() else {
            continue;
        };
        let local = local.naive_local();
        let flags = DayFlags {
            critical: input.critical_days.contains(&local.date()),
        };
        let p = tariff.period_at(local, calendar, flags);
        *by_period.entry(p).or_default() += kwh;
        months
            .entry((local.year(), local.month()))
            .or_default()
            .add(ts, kwh, hours);
        n += 1;
    }
    let kwh: f64 = by_period.values().sum();
    let mut components: BTreeMap<String, f64> =
        names.iter().map(|n| (n.to_string(), 0.0)).collect();
    let mut periods = Vec::new();
    for (&p, &e) in &by_period {
        let prices = tariff
            .prices(p)
            .ok_or_else(|| BillError(format!("tariff {} has no price for {p}", tariff.id())))?;
        let lines: Vec<ComponentLine> = names
            .iter()
            .zip(prices)
            .map(|(name, &price)| ComponentLine {
                component: name.to_string(),
                price,
                amount: price * e,
            })
            .collect();
        for l in &lines {
            *components.entry(l.component.clone()).or_default() += l.amount;
        }
        periods.push(PeriodLine {
            period: p,
            label: p.label_zh().into(),
            kwh: e,
            share: if kwh > 0.0 { e / kwh } else { 0.0 },
            price: prices.iter().sum(),
            amount: lines.iter().map(|l| l.amount).sum(),
            components: lines,
        });
    }
    let energy_amount: f64 = periods.iter().map(|p| p.amount).sum();
    let basic = match &input.basic {
        None => None,
        Some(method) => Some(basic_charge(tariff, method, input, &months)?),
    };
    let total = energy_amount + basic.as_ref().map_or(0.0, |b| b.amount);
    Ok(Bill {
        tariff: tariff.id().into(),
        tariff_version: tariff.version().into(),
        timezone: tz.name().into(),
        kwh,
        intervals: n,
        periods,
        components,
        energy_amount,
        basic,
        total,
        average_price: if kwh > 0.0 { total / kwh } else { 0.0 },
    })
}

/// Fraction of each calendar month (local) inside [from, to).
fn month_fractions(tz: chrono_tz::Tz, from_ms: i64, to_ms: i64) -> Vec<((i32, u32), f64)> {
    let local = |ms: i64| {
        tz.timestamp_millis_opt(ms)
            .single()
            .map(|d| d.naive_local())
            .unwrap_or_default()
    };
    let (a, b) = (local(from_ms), local(to_ms));
    let mut out = Vec::new();
    let (mut y, mut m) = (a.year(), a.month());
    loop {
        let start = NaiveDate::from_ymd_opt(y, m, 1)
            .unwrap_or_default()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default();
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        let end = NaiveDate::from_ymd_opt(ny, nm, 1)
            .unwrap_or_default()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default();
        if start >= b {
            break;
        }
        let lo = start.max(a);
        let hi = end.min(b);
        let f = (hi - lo).num_seconds() as f64 / (end - start).num_seconds() as f64;
        if f > 0.0 {
            out.push(((y, m), f));
        }
        (y, m) = (ny, nm);
    }
    out
}

fn basic_charge(
    tariff: &Tariff,
    method: &BasicMethod,
    input: &BillInput<'_>,
    max_by_month: &BTreeMap<(i32, u32), MaxDemand>,
) -> Result<BasicBill, BillError> {
    let prices = tariff.file().basic.as_ref().ok_or_else(|| {
        BillError(format!(
            "tariff {} {} has no basic charge (a single-part tariff); leave the basic method out",
            tariff.id(),
            tariff.version()
        ))
    })?;
    let positive = |name: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(BillError(format!("{name}: {v} must be a positive number")))
        }
    };
    let demand_price = || {
        prices.demand_price.ok_or_else(|| {
            BillError(format!(
                "tariff {} has no demand_price (yuan/kW·month)",
                tariff.id()
            ))
        })
    };
    let mut notes = Vec::new();
    let mut notes_zh = Vec::new();
    let mut months = Vec::new();
    for ((y, m), fraction) in month_fractions(tariff.timezone(), input.from_ms, input.to_ms) {
        let peak = max_by_month.get(&(y, m)).copied().unwrap_or_default();
        let max = peak.kw;
        let (billed, excess, amount) = match method {
            BasicMethod::Capacity { capacity_kva } => {
                let cap = positive("capacity_kva", *capacity_kva)?;
                let p = prices.capacity_price.ok_or_else(|| {
                    BillError(format!(
                        "tariff {} has no capacity_price (yuan/kVA·month)",
                        tariff.id()
                    ))
                })?;
                (cap, 0.0, cap * p * fraction)
            }
            BasicMethod::ContractDemand {
                contract_kw,
                capacity_kva,
            } => {
                let contract = positive("contract_kw", *contract_kw)?;
                let cap = positive("capacity_kva", *capacity_kva)?;
                let p = demand_price()?;
                let floor = prices.contract_floor * cap;
                let c = if contract < floor {
                    let note = format!(
                        "contract demand {contract} kW is below {:.0} % of the capacity {cap} kVA; {floor} kW is billed (发改办价格〔2016〕1583号)",
                        prices.contract_floor * 100.0
                    );
                    if !notes.contains(&note) {
                        notes.push(note);
                        notes_zh.push(format!(
                            "合同最大需量 {contract} kW 低于变压器容量 {cap} kVA 的 {:.0}%，按 {floor} kW 计费（发改办价格〔2016〕1583号）",
                            prices.contract_floor * 100.0
                        ));
                    }
                    floor
                } else {
                    contract
                };
                let limit = prices.excess_threshold * c;
                let excess = (max - limit).max(0.0);
                if excess > 0.0 {
                    notes.push(format!(
                        "{y}-{m:02}: maximum demand {max:.1} kW exceeds {:.0} % of the contract ({limit:.1} kW); the {excess:.1} kW above is billed at {} × the demand price",
                        prices.excess_threshold * 100.0,
                        prices.excess_multiplier
                    ));
                    notes_zh.push(format!(
                        "{y}-{m:02}：最大需量 {max:.1} kW 超过合同的 {:.0}%（{limit:.1} kW），超出的 {excess:.1} kW 按需量电价的 {} 倍计费",
                        prices.excess_threshold * 100.0,
                        prices.excess_multiplier
                    ));
                }
                (
                    c,
                    excess,
                    (c * p + excess * p * prices.excess_multiplier) * fraction,
                )
            }
            BasicMethod::ActualDemand => {
                let p = demand_price()?;
                (max, 0.0, max * p * fraction)
            }
        };
        months.push(BasicMonth {
            month: format!("{y}-{m:02}"),
            fraction,
            max_demand_kw: max,
            max_demand_at_ms: peak.at_ms,
            billed,
            excess_kw: excess,
            amount,
        });
    }
    let price = match method {
        BasicMethod::Capacity { .. } => prices.capacity_price.unwrap_or(0.0),
        _ => prices.demand_price.unwrap_or(0.0),
    };
    Ok(BasicBill {
        method: method.clone(),
        price,
        amount: months.iter().map(|m| m.amount).sum(),
        months,
        notes,
        notes_zh,
    })
}

/// The basic charge under every method the site figures allow, cheapest first, with the
/// contract demand that would have been cheapest for the same data (需量 comparison).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BasicComparison {
    /// One basic bill per method.
    pub options: Vec<BasicBill>,
    /// The contract demand (kW) that minimises the contract-demand charge over the range.
    pub best_contract_kw: Option<f64>,
}

/// Compares capacity, contract (given and best) and actual demand billing on the same data.
pub fn compare_basic(
    tariff: &Tariff,
    calendar: &HolidayCalendar,
    input: &BillInput<'_>,
    capacity_kva: f64,
    contract_kw: Option<f64>,
) -> Result<BasicComparison, BillError> {
    let prices = tariff.file().basic.as_ref().ok_or_else(|| {
        BillError(format!(
            "tariff {} has no basic charge to compare",
            tariff.id()
        ))
    })?;
    let mut methods = Vec::new();
    if prices.capacity_price.is_some() {
        methods.push(BasicMethod::Capacity { capacity_kva });
    }
    let mut best_contract_kw = None;
    if prices.demand_price.is_some() {
        methods.push(BasicMethod::ActualDemand);
        if let Some(c) = contract_kw {
            methods.push(BasicMethod::ContractDemand {
                contract_kw: c,
                capacity_kva,
            });
        }
        // The charge is convex and piecewise linear in the contract value C, with kinks at
        // each month's max / threshold and at the floor: the best C is one of them.
        let demand = BillInput {
            basic: Some(BasicMethod::ActualDemand),
            ..input.clone()
        };
        let actual = bill(tariff, calendar, &demand)?;
        let floor = prices.contract_floor * capacity_kva;
        let mut candidates: Vec<f64> = actual
            .basic
            .iter()
            .flat_map(|b| &b.months)
            .map(|m| (m.max_demand_kw / prices.excess_threshold).max(floor))
            .collect();
        candidates.push(floor);
        let mut best: Option<(f64, f64)> = None;
        for c in candidates.into_iter().filter(|c| *c > 0.0) {
            let b = bill(
                tariff,
                calendar,
                &BillInput {
                    basic: Some(BasicMethod::ContractDemand {
                        contract_kw: c,
                        capacity_kva,
                    }),
                    ..input.clone()
                },
            )?;
            let amount = b.basic.map_or(f64::INFINITY, |b| b.amount);
            if best.is_none_or(|(_, a)| amount < a - 1e-9) {
                best = Some((c, amount));
            }
        }
        if let Some((c, _)) = best {
            best_contract_kw = Some(c);
            if contract_kw.is_none_or(|given| (given - c).abs() > 1e-9) {
                methods.push(BasicMethod::ContractDemand {
                    contract_kw: c,
                    capacity_kva,
                });
            }
        }
    }
    let mut options = Vec::new();
    for m in methods {
        let b = bill(
            tariff,
            calendar,
            &BillInput {
                basic: Some(m),
                ..input.clone()
            },
        )?;
        options.extend(b.basic);
    }
    options.sort_by(|a, b| a.amount.total_cmp(&b.amount));
    Ok(BasicComparison {
        options,
        best_contract_kw,
    })
}
