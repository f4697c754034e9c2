//! Setpoints of a plan, their cost and emissions, the do-nothing baseline, and the checker that
//! verifies every constraint of a plan (used on every solver answer and by the property tests).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::problem::{DemandCharge, Problem};

/// Setpoints of every step (kW, mean over the step).
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Setpoints {
    /// Grid import.
    pub import_kw: Vec<f64>,
    /// Grid export.
    pub export_kw: Vec<f64>,
    /// PV curtailed.
    pub pv_curtailed_kw: Vec<f64>,
    /// Per battery: charging power.
    pub charge_kw: Vec<Vec<f64>>,
    /// Per battery: discharging power.
    pub discharge_kw: Vec<Vec<f64>>,
    /// Per battery: state of charge (fraction) at the end of each step.
    pub soc: Vec<Vec<f64>>,
    /// Per shiftable load: power.
    pub shiftable_kw: Vec<Vec<f64>>,
    /// Per curtailable load: power shed.
    pub curtailed_kw: Vec<Vec<f64>>,
}

/// Cost of a plan by component, yuan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Cost {
    /// Import energy (电度电费).
    pub energy: f64,
    /// Import energy by price component.
    pub by_component: BTreeMap<String, f64>,
    /// Export revenue (subtracted).
    pub export_revenue: f64,
    /// Battery wear.
    pub battery_wear: f64,
    /// Curtailment (energy not served).
    pub curtailment: f64,
    /// Demand charge added by this plan (需量电费 above what the month already pays).
    pub demand: f64,
    /// Peak import of the plan, kW.
    pub peak_import_kw: f64,
    /// Total.
    pub total: f64,
}

/// Cost of `sp` under `p`.
pub fn cost(p: &Problem, sp: &Setpoints) -> Cost {
    let dt = p.dt();
    let n = p.steps();
    let mut c = Cost::default();
    for t in 0..n {
        c.energy += p.buy_price[t] * sp.import_kw[t] * dt;
        c.export_revenue += p.sell(t) * sp.export_kw[t] * dt;
    }
    if p.price_components.is_empty() {
        c.by_component.insert("energy".into(), c.energy);
    } else {
        for pc in &p.price_components {
            let v = (0..n).map(|t| pc.price[t] * sp.import_kw[t] * dt).sum();
            c.by_component.insert(pc.name.clone(), v);
        }
    }
    for (b, bat) in p.batteries.iter().enumerate() {
        c.battery_wear += bat.cycle_cost * dt * sp.discharge_kw[b].iter().sum::<f64>();
    }
    for (i, cl) in p.curtailable.iter().enumerate() {
        c.curtailment += cl.price_per_kwh * dt * sp.curtailed_kw[i].iter().sum::<f64>();
    }
    c.peak_import_kw = sp.import_kw.iter().copied().fold(0.0, f64::max);
    c.demand = demand_cost(p.demand_charge.as_ref(), c.peak_import_kw);
    c.total = c.energy - c.export_revenue + c.battery_wear + c.curtailment + c.demand;
    c
}

/// Demand charge added by a plan whose peak import is `peak` kW.
pub fn demand_cost(d: Option<&DemandCharge>, peak: f64) -> f64 {
    match d {
        None => 0.0,
        Some(DemandCharge::Actual {
            price,
            month_peak_kw,
        }) => price * (peak - month_peak_kw).max(0.0),
        Some(DemandCharge::Contract {
            price,
            contract_kw,
            threshold,
            multiplier,
            month_peak_kw,
        }) => {
            let limit = threshold * contract_kw;
            let before = (month_peak_kw - limit).max(0.0);
            let after = (peak.max(*month_peak_kw) - limit).max(0.0);
            multiplier * price * (after - before)
        }
    }
}

/// Emissions of the import, kgCO2 (exports are not credited).
pub fn emissions(p: &Problem, sp: &Setpoints) -> f64 {
    (0..p.steps())
        .map(|t| p.factor(t) * sp.import_kw[t] * p.dt())
        .sum()
}

/// The do-nothing plan: batteries idle (charged at the earliest steps only if a higher final
/// state of charge is required), shiftable loads at the earliest allowed steps, nothing
/// curtailed, PV used on site and the surplus exported where allowed.
pub fn baseline(p: &Problem) -> Setpoints {
    let n = p.steps();
    let dt = p.dt();
    let mut sp = Setpoints {
        import_kw: vec![0.0; n],
        export_kw: vec![0.0; n],
        pv_curtailed_kw: vec![0.0; n],
        curtailed_kw: vec![vec![0.0; n]; p.curtailable.len()],
        ..Default::default()
    };
    for (k, s) in p.shiftable.iter().enumerate() {
        let mut kw = vec![0.0; n];
        let remaining = s.run_steps - s.done_steps;
        let allowed = p.allowed(k);
        if s.running_steps > 0 && remaining > 0 && !s.interruptible {
            kw[..remaining.min(n)].fill(s.power_kw);
        } else if s.interruptible {
            for t in (0..n).filter(|t| allowed[*t]).take(remaining) {
                kw[t] = s.power_kw;
            }
        } else if remaining > 0 {
            let start = (0..n)
                .find(|&t| t + remaining <= n && allowed[t..t + remaining].iter().all(|a| *a))
                .unwrap_or(0);
            kw[start..(start + remaining).min(n)].fill(s.power_kw);
        }
        sp.shiftable_kw.push(kw);
    }
    for b in &p.batteries {
        let target = b.soc_final.unwrap_or(b.soc_initial).max(b.soc_initial);
        let mut e = b.soc_initial * b.energy_kwh;
        let mut ch = vec![0.0; n];
        let mut soc = vec![0.0; n];
        for t in 0..n {
            let need = (target * b.energy_kwh - e).max(0.0);
            let c = (need / (b.charge_efficiency * dt)).min(b.charge_kw);
            ch[t] = c;
            e += c * b.charge_efficiency * dt;
            soc[t] = e / b.energy_kwh;
        }
        sp.charge_kw.push(ch);
        sp.discharge_kw.push(vec![0.0; n]);
        sp.soc.push(soc);
    }
    for t in 0..n {
        let shift: f64 = sp.shiftable_kw.iter().map(|k| k[t]).sum();
        let charge: f64 = sp.charge_kw.iter().map(|c| c[t]).sum();
        let net = p.load_kw[t] + shift + charge - p.pv(t);
        if net >= 0.0 {
            sp.import_kw[t] = net;
        } else {
            let export = (-net).min(p.export_cap());
            sp.export_kw[t] = export;
            sp.pv_curtailed_kw[t] = -net - export;
        }
    }
    sp
}

/// Every constraint `sp` breaks under `p` (empty for a valid plan). `event_target` is the
/// largest net import allowed in each event step, if an event must be met.
pub fn check(p: &Problem, sp: &Setpoints, event_target: Option<&[f64]>) -> Vec<String> {
    let n = p.steps();
    let dt = p.dt();
    let mut v = Vec::new();
    let scale = 1.0
        + p.load_kw
            .iter()
            .chain(&p.pv_kw)
            .copied()
            .fold(0.0, f64::max)
        + p.batteries
            .iter()
            .map(|b| b.charge_kw + b.discharge_kw)
            .sum::<f64>()
        + p.shiftable.iter().map(|s| s.power_kw).sum::<f64>();
    let tol = 1e-6 * scale;
    let lens = [
        sp.import_kw.len(),
        sp.export_kw.len(),
        sp.pv_curtailed_kw.len(),
    ];
    if lens.iter().any(|l| *l != n)
        || sp.charge_kw.len() != p.batteries.len()
        || sp.shiftable_kw.len() != p.shiftable.len()
        || sp.curtailed_kw.len() != p.curtailable.len()
    {
        return vec!["setpoints do not match the problem's dimensions".into()];
    }
    for t in 0..n {
        let g = sp.import_kw[t];
        let x = sp.export_kw[t];
        if g < -tol || p.import_limit_kw.is_some_and(|l| g > l + tol) {
            v.push(format!("step {t}: import {g} kW outside [0, limit]"));
        }
        if x < -tol || x > p.export_cap() + tol {
            v.push(format!(
                "step {t}: export {x} kW outside [0, {}]",
                p.export_cap()
            ));
        }
        if g > tol && x > tol {
            v.push(format!("step {t}: imports and exports at once"));
        }
        let pvc = sp.pv_curtailed_kw[t];
        if pvc < -tol || pvc > p.pv(t) + tol {
            v.push(format!("step {t}: PV curtailment {pvc} kW outside [0, PV]"));
        }
        let mut supply = g - x + p.pv(t) - pvc;
        let mut demand = p.load_kw[t];
        for b in 0..p.batteries.len() {
            supply += sp.discharge_kw[b][t];
            demand += sp.charge_kw[b][t];
        }
        for k in &sp.shiftable_kw {
            demand += k[t];
        }
        let mut shed = 0.0;
        for (i, c) in p.curtailable.iter().enumerate() {
            let u = sp.curtailed_kw[i][t];
            if u < -tol || u > c.max_kw + tol {
                v.push(format!(
                    "step {t}: {} shed {u} kW outside [0, {}]",
                    c.name, c.max_kw
                ));
            }
            shed += u;
        }
        if shed > p.load_kw[t] + tol {
            v.push(format!("step {t}: shed {shed} kW more than the base load"));
        }
        demand -= shed;
        if (supply - demand).abs() > tol {
            v.push(format!(
                "step {t}: energy balance off by {} kW",
                supply - demand
            ));
        }
        if let (Some(ev), Some(target)) = (&p.event, event_target) {
            if (ev.from_step..ev.to_step).contains(&t) && g - x > target[t - ev.from_step] + tol {
                v.push(format!(
                    "step {t}: net import {} kW above the event target {} kW",
                    g - x,
                    target[t - ev.from_step]
                ));
            }
        }
    }
    for (b, bat) in p.batteries.iter().enumerate() {
        let mut e = bat.soc_initial * bat.energy_kwh;
        let etol = 1e-6 * (1.0 + bat.energy_kwh);
        for t in 0..n {
            let (c, d) = (sp.charge_kw[b][t], sp.discharge_kw[b][t]);
            if c < -tol || c > bat.charge_kw + tol || d < -tol || d > bat.discharge_kw + tol {
                v.push(format!("step {t}: {} power outside its limits", bat.name));
            }
            e += dt * (bat.charge_efficiency * c - d / bat.discharge_efficiency);
            let soc = sp.soc[b][t];
            if (soc * bat.energy_kwh - e).abs() > etol {
                v.push(format!(
                    "step {t}: {} state of charge {soc} does not follow from its powers",
                    bat.name
                ));
            }
            if soc < bat.soc_min - 1e-6 || soc > bat.soc_max + 1e-6 {
                v.push(format!(
                    "step {t}: {} state of charge {soc} outside [{}, {}]",
                    bat.name, bat.soc_min, bat.soc_max
                ));
            }
        }
        let last = sp.soc[b].last().copied().unwrap_or(bat.soc_initial);
        if last < bat.soc_final.unwrap_or(bat.soc_initial) - 1e-6 {
            v.push(format!(
                "{}: final state of charge {last} below its target",
                bat.name
            ));
        }
    }
    for (k, s) in p.shiftable.iter().enumerate() {
        let allowed = p.allowed(k);
        let kw = &sp.shiftable_kw[k];
        let on: Vec<bool> = kw.iter().map(|x| *x > s.power_kw / 2.0).collect();
        for t in 0..n {
            let expect = if on[t] { s.power_kw } else { 0.0 };
            if (kw[t] - expect).abs() > tol {
                v.push(format!(
                    "step {t}: {} at {} kW, neither off nor {} kW",
                    s.name, kw[t], s.power_kw
                ));
            }
            if on[t] && !allowed[t] {
                v.push(format!("step {t}: {} runs outside its windows", s.name));
            }
        }
        let remaining = s.run_steps - s.done_steps;
        let ran = on.iter().filter(|o| **o).count();
        if ran != remaining {
            v.push(format!(
                "{}: runs {ran} steps, {remaining} required",
                s.name
            ));
        }
        let blocks: Vec<(usize, usize)> = {
            let mut out = Vec::new();
            let mut t = 0;
            while t < n {
                if on[t] {
                    let a = t;
                    while t < n && on[t] {
                        t += 1;
                    }
                    out.push((a, t));
                } else {
                    t += 1;
                }
            }
            out
        };
        let running = s.running_steps > 0 && remaining > 0;
        if !s.interruptible && blocks.len() > 1 {
            v.push(format!(
                "{}: not interruptible but runs in {} blocks",
                s.name,
                blocks.len()
            ));
        }
        if !s.interruptible && running && blocks.first().is_some_and(|b| b.0 != 0) {
            v.push(format!("{}: running at the start but stopped", s.name));
        }
        if s.interruptible {
            for &(a, b) in &blocks {
                let carried = if a == 0 { s.running_steps } else { 0 };
                if b - a + carried < s.min_run_steps && b < n {
                    v.push(format!(
                        "{}: block [{a}, {b}) shorter than its minimum run",
                        s.name
                    ));
                }
            }
            if running && s.running_steps < s.min_run_steps {
                let need = (s.min_run_steps - s.running_steps).min(remaining).min(n);
                if on[..need].iter().any(|o| !o) {
                    v.push(format!("{}: stopped before its minimum run", s.name));
                }
            }
        }
    }
    v
}
