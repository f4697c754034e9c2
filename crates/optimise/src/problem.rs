//! The scheduling problem: a site's series, its flexible assets and the solver settings, with
//! validation that names the field that is wrong.

use serde::{Deserialize, Serialize};

/// A battery (储能).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Battery {
    /// Name.
    pub name: String,
    /// Usable energy at 100 % state of charge, kWh.
    pub energy_kwh: f64,
    /// Largest charging power, kW (from the grid side).
    pub charge_kw: f64,
    /// Largest discharging power, kW (to the site).
    pub discharge_kw: f64,
    /// Charging efficiency (0, 1].
    #[serde(default = "eff")]
    pub charge_efficiency: f64,
    /// Discharging efficiency (0, 1].
    #[serde(default = "eff")]
    pub discharge_efficiency: f64,
    /// Lowest state of charge, fraction.
    #[serde(default)]
    pub soc_min: f64,
    /// Highest state of charge, fraction.
    #[serde(default = "one")]
    pub soc_max: f64,
    /// State of charge at the start, fraction.
    pub soc_initial: f64,
    /// State of charge the plan must end with at least (default: the initial one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soc_final: Option<f64>,
    /// Wear cost per kWh discharged, yuan/kWh (循环成本).
    #[serde(default)]
    pub cycle_cost: f64,
}

fn eff() -> f64 {
    0.95
}
fn one() -> f64 {
    1.0
}

/// A shiftable load (可平移负荷): a job of fixed power and duration inside allowed windows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftableLoad {
    /// Name.
    pub name: String,
    /// Power while running, kW.
    pub power_kw: f64,
    /// Steps the job runs in total (energy per run = power × steps × step length).
    pub run_steps: usize,
    /// Allowed windows as step ranges `[from, to)`; empty means the whole horizon.
    #[serde(default)]
    pub windows: Vec<[usize; 2]>,
    /// May the job stop and resume? If not, it runs `run_steps` in one block.
    #[serde(default)]
    pub interruptible: bool,
    /// Shortest block once started, steps (interruptible jobs; default 1).
    #[serde(default = "one_step")]
    pub min_run_steps: usize,
    /// Steps already done before the plan starts (carried from the previous plan).
    #[serde(default)]
    pub done_steps: usize,
    /// Steps it has been running without a break at the start (0 = not running).
    #[serde(default)]
    pub running_steps: usize,
}

fn one_step() -> usize {
    1
}

/// A curtailable load (可中断负荷): up to `max_kw` of the base load may be shed at a price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CurtailableLoad {
    /// Name.
    pub name: String,
    /// Largest power shed, kW (never more than the base load of the step).
    pub max_kw: f64,
    /// Cost of energy not served, yuan/kWh.
    pub price_per_kwh: f64,
}

/// How the demand charge (需量电费) enters the plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum DemandCharge {
    /// Actual maximum demand: every kW of peak import above `month_peak_kw` costs `price`.
    Actual {
        /// yuan/kW·month.
        price: f64,
        /// Peak already set this month, kW.
        #[serde(default)]
        month_peak_kw: f64,
    },
    /// Contract demand: only demand above `threshold` × `contract_kw` costs, at
    /// `multiplier` × `price` (the 105 % double-charge rule).
    Contract {
        /// yuan/kW·month.
        price: f64,
        /// Contract demand, kW.
        contract_kw: f64,
        /// Default 1.05.
        #[serde(default = "threshold")]
        threshold: f64,
        /// Default 2.
        #[serde(default = "multiplier")]
        multiplier: f64,
        /// Peak already set this month, kW.
        #[serde(default)]
        month_peak_kw: f64,
    },
}

fn threshold() -> f64 {
    1.05
}
fn multiplier() -> f64 {
    2.0
}

/// A demand-response event (需求响应).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// First step of the event.
    pub from_step: usize,
    /// First step after it.
    pub to_step: usize,
    /// Reduce the import by this much below the do-nothing baseline in every event step, kW.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduce_kw: Option<f64>,
    /// Or: keep the import at most this in every event step, kW.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_kw: Option<f64>,
}

/// Solver settings. A plan is always published: if the MILP finds nothing in time, the LP
/// relaxation or the do-nothing plan is returned with `fallback` set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Time limit of the MILP, seconds (default 10).
    #[serde(default = "time_limit")]
    pub time_limit_s: f64,
    /// Relative MIP gap at which the search stops (default 0.001 = 0.1 %).
    #[serde(default = "gap")]
    pub mip_gap: f64,
}

fn time_limit() -> f64 {
    10.0
}
fn gap() -> f64 {
    0.001
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            time_limit_s: time_limit(),
            mip_gap: gap(),
        }
    }
}

/// Everything a schedule is computed from. Series have one value per step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// Step length, minutes (default 15).
    #[serde(default = "fifteen")]
    pub step_minutes: u32,
    /// Start of the first step (RFC 3339), for the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Inflexible site load, kW (mean over each step).
    pub load_kw: Vec<f64>,
    /// On-site PV, kW (forecast); empty = none.
    #[serde(default)]
    pub pv_kw: Vec<f64>,
    /// Import price, yuan/kWh.
    pub buy_price: Vec<f64>,
    /// Export price, yuan/kWh; empty = 0.
    #[serde(default)]
    pub sell_price: Vec<f64>,
    /// Import price split into named components (each a series); they must add up to
    /// `buy_price`. Empty = one component `energy`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub price_components: Vec<PriceComponent>,
    /// Grid emission factor, kgCO2/kWh (one value for all steps or one per step).
    #[serde(default)]
    pub grid_factor_kg_per_kwh: Vec<f64>,
    /// Largest import (transformer or contract limit), kW.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_limit_kw: Option<f64>,
    /// May the site export?
    #[serde(default)]
    pub export_allowed: bool,
    /// Largest export, kW (if allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_limit_kw: Option<f64>,
    /// Batteries.
    #[serde(default)]
    pub batteries: Vec<Battery>,
    /// Shiftable loads.
    #[serde(default)]
    pub shiftable: Vec<ShiftableLoad>,
    /// Curtailable loads.
    #[serde(default)]
    pub curtailable: Vec<CurtailableLoad>,
    /// Demand charge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demand_charge: Option<DemandCharge>,
    /// Demand-response event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
    /// Solver settings.
    #[serde(default)]
    pub settings: Settings,
}

fn fifteen() -> u32 {
    15
}

/// A named part of the import price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceComponent {
    /// Name (`purchase`, `transmission`, ...).
    pub name: String,
    /// yuan/kWh per step.
    pub price: Vec<f64>,
}

/// A problem that cannot be solved as given, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ProblemError {
    /// Field path (`batteries[0].charge_efficiency`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Longest horizon accepted, steps (a leap year of hours).
pub const MAX_STEPS: usize = 8_784;

impl Problem {
    /// Number of steps.
    pub fn steps(&self) -> usize {
        self.load_kw.len()
    }

    /// Step length, hours.
    pub fn dt(&self) -> f64 {
        f64::from(self.step_minutes) / 60.0
    }

    /// PV at step `t`.
    pub fn pv(&self, t: usize) -> f64 {
        self.pv_kw.get(t).copied().unwrap_or(0.0)
    }

    /// Export price at step `t`.
    pub fn sell(&self, t: usize) -> f64 {
        self.sell_price.get(t).copied().unwrap_or(0.0)
    }

    /// Grid factor at step `t`.
    pub fn factor(&self, t: usize) -> f64 {
        match self.grid_factor_kg_per_kwh.len() {
            0 => 0.0,
            1 => self.grid_factor_kg_per_kwh[0],
            _ => self.grid_factor_kg_per_kwh[t],
        }
    }

    /// Largest export at any step, kW.
    pub fn export_cap(&self) -> f64 {
        if self.export_allowed {
            self.export_limit_kw.unwrap_or(f64::INFINITY)
        } else {
            0.0
        }
    }

    /// Steps at which shiftable load `k` may run.
    pub fn allowed(&self, k: usize) -> Vec<bool> {
        let s = &self.shiftable[k];
        let n = self.steps();
        if s.windows.is_empty() {
            return vec![true; n];
        }
        let mut a = vec![false; n];
        for w in &s.windows {
            for x in a.iter_mut().take(w[1].min(n)).skip(w[0]) {
                *x = true;
            }
        }
        a
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ProblemError> {
        let e = |field: String, message: String| Err(ProblemError { field, message });
        let n = self.steps();
        if n == 0 {
            return e("load_kw".into(), "empty: give one value per step".into());
        }
        if n > MAX_STEPS {
            return e(
                "load_kw".into(),
                format!("{n} steps; at most {MAX_STEPS} are accepted"),
            );
        }
        if !matches!(self.step_minutes, 5 | 10 | 15 | 20 | 30 | 60) {
            return e(
                "step_minutes".into(),
                format!("{} is not 5, 10, 15, 20, 30 or 60", self.step_minutes),
            );
        }
        let series = |name: &str, v: &[f64], optional: bool, nonneg: bool| {
            if v.is_empty() && optional {
                return Ok(());
            }
            if v.len() != n {
                return e(name.into(), format!("{} values for {n} steps", v.len()));
            }
            if let Some(i) = v
                .iter()
                .position(|x| !x.is_finite() || (nonneg && *x < 0.0))
            {
                return e(
                    format!("{name}[{i}]"),
                    format!(
                        "{} is not a finite{} number",
                        v[i],
                        if nonneg { " non-negative" } else { "" }
                    ),
                );
            }
            Ok(())
        };
        series("load_kw", &self.load_kw, false, true)?;
        series("pv_kw", &self.pv_kw, true, true)?;
        series("buy_price", &self.buy_price, false, false)?;
        series("sell_price", &self.sell_price, true, false)?;
        if self.grid_factor_kg_per_kwh.len() != 1 {
            series(
                "grid_factor_kg_per_kwh",
                &self.grid_factor_kg_per_kwh,
                true,
                true,
            )?;
        } else if !(self.grid_factor_kg_per_kwh[0].is_finite()
            && self.grid_factor_kg_per_kwh[0] >= 0.0)
        {
            return e(
                "grid_factor_kg_per_kwh[0]".into(),
                "not a non-negative number".into(),
            );
        }
        for (i, c) in self.price_components.iter().enumerate() {
            series(
                &format!("price_components[{i}].price"),
                &c.price,
                false,
                false,
            )?;
        }
        if !self.price_components.is_empty() {
            for t in 0..n {
                let sum: f64 = self.price_components.iter().map(|c| c.price[t]).sum();
                if (sum - self.buy_price[t]).abs() > 1e-6 {
                    return e(
                        format!("price_components (step {t})"),
                        format!("add up to {sum}, not to buy_price {}", self.buy_price[t]),
                    );
                }
            }
        }
        let pos = |field: String, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                e(field, format!("{v} must be a positive number"))
            }
        };
        if let Some(l) = self.import_limit_kw {
            pos("import_limit_kw".into(), l)?;
        }
        if let Some(l) = self.export_limit_kw {
            if !(l.is_finite() && l >= 0.0) {
                return e(
                    "export_limit_kw".into(),
                    format!("{l} must be a non-negative number"),
                );
            }
        }
        for (i, b) in self.batteries.iter().enumerate() {
            let f = |x: &str| format!("batteries[{i}].{x}");
            pos(f("energy_kwh"), b.energy_kwh)?;
            pos(f("charge_kw"), b.charge_kw)?;
            pos(f("discharge_kw"), b.discharge_kw)?;
            for (name, v) in [
                ("charge_efficiency", b.charge_efficiency),
                ("discharge_efficiency", b.discharge_efficiency),
            ] {
                if !(v > 0.0 && v <= 1.0) {
                    return e(f(name), format!("{v} is not in (0, 1]"));
                }
            }
            for (name, v) in [
                ("soc_min", b.soc_min),
                ("soc_max", b.soc_max),
                ("soc_initial", b.soc_initial),
            ] {
                if !(0.0..=1.0).contains(&v) {
                    return e(f(name), format!("{v} is not a fraction in [0, 1]"));
                }
            }
            if b.soc_min > b.soc_max {
                return e(
                    f("soc_min"),
                    format!("{} is above soc_max {}", b.soc_min, b.soc_max),
                );
            }
            if !(b.soc_min - 1e-9..=b.soc_max + 1e-9).contains(&b.soc_initial) {
                return e(
                    f("soc_initial"),
                    format!(
                        "{} is outside [soc_min, soc_max] = [{}, {}]",
                        b.soc_initial, b.soc_min, b.soc_max
                    ),
                );
            }
            if let Some(s) = b.soc_final {
                if !(b.soc_min..=b.soc_max).contains(&s) {
                    return e(f("soc_final"), format!("{s} is outside [soc_min, soc_max]"));
                }
                // Reachable at all? The most energy that can be added over the horizon.
                let gain = b.charge_kw * b.charge_efficiency * self.dt() * n as f64;
                if (s - b.soc_initial) * b.energy_kwh > gain + 1e-9 {
                    return e(
                        f("soc_final"),
                        format!(
                            "{s} cannot be reached from {} in {n} steps at {} kW",
                            b.soc_initial, b.charge_kw
                        ),
                    );
                }
            }
            if !(b.cycle_cost.is_finite() && b.cycle_cost >= 0.0) {
                return e(
                    f("cycle_cost"),
                    format!("{} must be a non-negative number", b.cycle_cost),
                );
            }
        }
        for (k, s) in self.shiftable.iter().enumerate() {
            let f = |x: &str| format!("shiftable[{k}].{x}");
            pos(f("power_kw"), s.power_kw)?;
            if s.run_steps == 0 {
                return e(f("run_steps"), "must be at least 1".into());
            }
            if s.done_steps > s.run_steps {
                return e(
                    f("done_steps"),
                    format!("{} is more than run_steps {}", s.done_steps, s.run_steps),
                );
            }
            if s.min_run_steps == 0 || s.min_run_steps > s.run_steps {
                return e(
                    f("min_run_steps"),
                    format!("{} is not in 1..=run_steps", s.min_run_steps),
                );
            }
            for (w, win) in s.windows.iter().enumerate() {
                if win[0] >= win[1] || win[1] > n {
                    return e(
                        format!("shiftable[{k}].windows[{w}]"),
                        format!("[{}, {}) is not a step range inside 0..{n}", win[0], win[1]),
                    );
                }
            }
            let remaining = s.run_steps - s.done_steps;
            let allowed = self.allowed(k);
            let running = s.running_steps > 0 && remaining > 0;
            if running && !s.interruptible {
                // It must go on from step 0 without a break.
                if let Some(t) = (0..remaining.min(n)).find(|t| !allowed[*t]) {
                    return e(f("windows"), format!("the job is running and needs {remaining} more steps from step 0, but step {t} is outside its windows"));
                }
                if remaining > n {
                    return e(
                        f("run_steps"),
                        format!("{remaining} steps remain but the horizon has {n}"),
                    );
                }
            } else if remaining > 0 {
                let free = allowed.iter().filter(|a| **a).count();
                if free < remaining {
                    return e(
                        f("windows"),
                        format!("{free} allowed steps for {remaining} steps to run"),
                    );
                }
                if !s.interruptible {
                    let longest = allowed.split(|a| !*a).map(<[bool]>::len).max().unwrap_or(0);
                    if longest < remaining {
                        return e(f("windows"), format!("the longest window has {longest} steps; the job runs {remaining} without a break"));
                    }
                }
            }
        }
        for (i, c) in self.curtailable.iter().enumerate() {
            pos(format!("curtailable[{i}].max_kw"), c.max_kw)?;
            if !(c.price_per_kwh.is_finite() && c.price_per_kwh >= 0.0) {
                return e(
                    format!("curtailable[{i}].price_per_kwh"),
                    format!("{} must be a non-negative number", c.price_per_kwh),
                );
            }
        }
        let (price, month_peak) = match &self.demand_charge {
            None => (0.0, 0.0),
            Some(DemandCharge::Actual {
                price,
                month_peak_kw,
            }) => (*price, *month_peak_kw),
            Some(DemandCharge::Contract {
                price,
                month_peak_kw,
                ..
            }) => (*price, *month_peak_kw),
        };
        if !(price.is_finite() && price >= 0.0 && month_peak.is_finite() && month_peak >= 0.0) {
            return e(
                "demand_charge".into(),
                "price and month_peak_kw must be non-negative numbers".into(),
            );
        }
        if let Some(DemandCharge::Contract {
            contract_kw,
            threshold,
            multiplier,
            ..
        }) = &self.demand_charge
        {
            pos("demand_charge.contract_kw".into(), *contract_kw)?;
            if !(1.0..=2.0).contains(threshold) || !(1.0..=5.0).contains(multiplier) {
                return e(
                    "demand_charge".into(),
                    "threshold must be in [1, 2] and multiplier in [1, 5]".into(),
                );
            }
        }
        if let Some(ev) = &self.event {
            if ev.from_step >= ev.to_step || ev.to_step > n {
                return e(
                    "event".into(),
                    format!(
                        "steps [{}, {}) are not a range inside 0..{n}",
                        ev.from_step, ev.to_step
                    ),
                );
            }
            match (ev.reduce_kw, ev.cap_kw) {
                (Some(x), None) | (None, Some(x)) if x.is_finite() && x >= 0.0 => {}
                _ => {
                    return e(
                        "event".into(),
                        "give exactly one of reduce_kw or cap_kw, a non-negative number".into(),
                    )
                }
            }
        }
        if !(self.settings.time_limit_s > 0.0 && self.settings.time_limit_s <= 600.0) {
            return e(
                "settings.time_limit_s".into(),
                format!("{} is not in (0, 600]", self.settings.time_limit_s),
            );
        }
        if !(0.0..=0.5).contains(&self.settings.mip_gap) {
            return e(
                "settings.mip_gap".into(),
                format!("{} is not in [0, 0.5]", self.settings.mip_gap),
            );
        }
        Ok(())
    }
}
