//! Peak-valley optimisation and load regulation (峰谷优化、负荷调节) for shulv.
//!
//! [`schedule`] turns prices, a load and PV forecast and a site's flexible assets (batteries,
//! shiftable and curtailable loads, import and export limits, the demand charge) into a plan of
//! 15-minute (or other) setpoints: a mixed-integer program solved with HiGHS, formulated in
//! `docs/optimisation.md`. The plan carries its cost by component, the do-nothing baseline and
//! the savings, the emissions effect, and the end state (state of charge, job progress) to
//! carry into the next plan. A demand-response event ([`Event`]) is met at the lowest cost, or,
//! when it cannot be met, the largest possible uniform reduction is planned and the binding
//! limits are named.
//!
//! A plan is always published: when the MILP finds no solution in time, the LP relaxation is
//! published, and when that fails too, the do-nothing plan; either way `fallback` is set with
//! the reason. Every plan is checked against every constraint ([`check`]) before it is returned.

mod model;
mod plan;
mod problem;

use std::time::Instant;

use serde::Serialize;

use model::{Build, EventMode};
pub use plan::{baseline, check, cost, demand_cost, emissions, Cost, Setpoints};
pub use problem::{
    Battery, CurtailableLoad, DemandCharge, Event, PriceComponent, Problem, ProblemError, Settings,
    ShiftableLoad, MAX_STEPS,
};

/// How the published plan was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The MILP, solved to the requested gap.
    Optimal,
    /// The MILP's best solution when the time limit was reached (checked feasible).
    TimeLimit,
    /// The LP relaxation (integer decisions may be fractional): a fallback.
    Relaxed,
    /// The do-nothing plan: a fallback.
    RuleBased,
}

/// State at the end of the plan, to start the next plan from.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EndState {
    /// State of charge of each battery (fraction), in problem order.
    pub soc: Vec<f64>,
    /// Steps done of each shiftable job (its `done_steps` next time).
    pub done_steps: Vec<usize>,
    /// Steps each job has been running without a break at the end (`running_steps`).
    pub running_steps: Vec<usize>,
}

/// What came of a demand-response event.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventOutcome {
    /// The event was met in every step.
    pub met: bool,
    /// Net import allowed in each event step, kW.
    pub target_kw: Vec<f64>,
    /// Net import planned in each event step, kW.
    pub planned_kw: Vec<f64>,
    /// Reduction below the baseline in the step where it is smallest, kW.
    pub min_reduction_kw: f64,
    /// When not met: the largest reduction (or the lowest cap) possible in every step, kW.
    pub best_possible_kw: Option<f64>,
    /// Why more is impossible: the limits that bind in the worst step.
    pub binding: Vec<String>,
}

/// A published plan.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Schedule {
    /// How it was obtained.
    pub method: Method,
    /// True when the plan is a fallback (relaxed or rule-based).
    pub fallback: bool,
    /// Why a fallback or a time-limited plan was published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Relative MIP gap of the published solution, if integer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mip_gap: Option<f64>,
    /// Solver wall time, milliseconds.
    pub solve_ms: f64,
    /// Steps and their length.
    pub steps: usize,
    /// Step length, minutes.
    pub step_minutes: u32,
    /// Setpoints.
    pub setpoints: Setpoints,
    /// Cost of the plan.
    pub cost: Cost,
    /// Cost of the do-nothing baseline.
    pub baseline_cost: Cost,
    /// Baseline total − plan total, yuan.
    pub savings: f64,
    /// Emissions of the import, kgCO2.
    pub emissions_kg: f64,
    /// Emissions of the baseline's import, kgCO2.
    pub baseline_emissions_kg: f64,
    /// Plan − baseline, kgCO2 (negative = fewer).
    pub emissions_change_kg: f64,
    /// State to carry into the next plan.
    pub end_state: EndState,
    /// The demand-response outcome, if an event was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<EventOutcome>,
    /// Constraints the published plan does not meet (empty unless it is a fallback).
    pub violations: Vec<String>,
}

/// Computes a plan. Errors only for a problem that is malformed; an infeasible or hard problem
/// still gets a plan (flagged as a fallback).
pub fn schedule(p: &Problem) -> Result<Schedule, ProblemError> {
    p.validate()?;
    let started = Instant::now();
    let base = baseline(p);
    let base_net: Vec<f64> = (0..p.steps())
        .map(|t| base.import_kw[t] - base.export_kw[t])
        .collect();
    let target = p.event.as_ref().map(|ev| {
        (ev.from_step..ev.to_step)
            .map(|t| match (ev.reduce_kw, ev.cap_kw) {
                (Some(x), _) => base_net[t] - x,
                (_, Some(c)) => c,
                _ => f64::INFINITY,
            })
            .collect::<Vec<f64>>()
    });
    // Binaries against charging while discharging (and importing while exporting) are needed
    // only where burning energy or buying to sell could pay: negative import prices or an
    // export price above the import price. Otherwise the LP optimum does neither (checked
    // below; if a solution does, it is solved again with the binaries).
    let needs_binaries = (0..p.steps())
        .any(|t| p.buy_price[t] < 0.0 || (p.export_cap() > 0.0 && p.sell(t) > p.buy_price[t]));
    let mode = match &target {
        Some(t) => EventMode::Target(t.clone()),
        None => EventMode::None,
    };
    let mut build = Build {
        problem: p,
        integer: true,
        direction_binaries: needs_binaries,
        event: mode,
    };
    let mut reason = None;
    let mut event_slack = None;
    let mut solved = model::solve(&build);
    if solved
        .setpoints
        .as_ref()
        .is_some_and(|sp| simultaneous(p, sp))
    {
        build.direction_binaries = true;
        solved = model::solve(&build);
    }
    if solved.setpoints.is_none() {
        if let Some(t) = &target {
            // The event cannot be met: find the smallest uniform shortfall, then plan it at
            // the lowest cost.
            let phase1 = model::solve(&Build {
                event: EventMode::MinSlack(t.clone()),
                ..build.clone()
            });
            if let Some(s) = phase1.slack {
                let s = s + 1e-6;
                event_slack = Some(s);
                let phase2 = model::solve(&Build {
                    event: EventMode::Target(t.iter().map(|x| x + s).collect()),
                    ..build.clone()
                });
                solved = if phase2.setpoints.is_some() {
                    phase2
                } else {
                    phase1
                };
            }
        }
    }
    let mut method = Method::Optimal;
    let mut violations = Vec::new();
    let mut setpoints = None;
    let mut gap = None;
    let event_target = target.as_deref();
    let check_target = |sp: &Setpoints| {
        let t = match (event_target, event_slack) {
            (Some(t), Some(s)) => Some(t.iter().map(|x| x + s).collect::<Vec<_>>()),
            (Some(t), None) => Some(t.to_vec()),
            _ => None,
        };
        check(p, sp, t.as_deref())
    };
    if let Some(sp) = solved.setpoints.take() {
        let v = check_target(&sp);
        if v.is_empty() {
            if solved.status != highs::HighsModelStatus::Optimal {
                method = Method::TimeLimit;
                reason = Some(format!(
                    "the solver stopped at its limit ({:?}) with a feasible plan",
                    solved.status
                ));
            }
            gap = solved.mip_gap;
            setpoints = Some(sp);
        } else {
            reason = Some(format!(
                "the MILP's answer ({:?}) breaks {} constraint(s), first: {}",
                solved.status,
                v.len(),
                v[0]
            ));
        }
    } else {
        reason = Some(format!(
            "the MILP found no plan (HiGHS status {:?}){}",
            solved.status,
            diagnose(p, &target)
        ));
    }
    if setpoints.is_none() {
        let relaxed = model::solve(&Build {
            integer: false,
            direction_binaries: true,
            event: match (&target, event_slack) {
                (Some(t), Some(s)) => EventMode::Target(t.iter().map(|x| x + s).collect()),
                (Some(t), None) => EventMode::Target(t.clone()),
                _ => EventMode::None,
            },
            ..build.clone()
        });
        if let Some(sp) = relaxed.setpoints {
            method = Method::Relaxed;
            violations = check_target(&sp);
            setpoints = Some(sp);
            reason = reason.map(|r| format!("{r}; the LP relaxation is published"));
        } else {
            method = Method::RuleBased;
            violations = check_target(&base);
            setpoints = Some(base.clone());
            reason = reason.map(|r| {
                format!(
                    "{r}; the LP relaxation failed too ({:?}); the do-nothing plan is published",
                    relaxed.status
                )
            });
        }
    }
    let sp = setpoints.unwrap_or_else(|| base.clone());
    let plan_cost = cost(p, &sp);
    let base_cost = cost(p, &baseline(p));
    let em = emissions(p, &sp);
    let base_em = emissions(p, &base);
    let event = p.event.as_ref().map(|ev| {
        let target = target.clone().unwrap_or_default();
        let planned: Vec<f64> = (ev.from_step..ev.to_step)
            .map(|t| sp.import_kw[t] - sp.export_kw[t])
            .collect();
        let tol = 1e-6 * (1.0 + target.iter().map(|x| x.abs()).fold(0.0, f64::max));
        let met = planned.iter().zip(&target).all(|(a, b)| *a <= b + tol);
        let min_reduction = (ev.from_step..ev.to_step)
            .map(|t| base_net[t] - (sp.import_kw[t] - sp.export_kw[t]))
            .fold(f64::INFINITY, f64::min);
        let best_possible_kw = event_slack.map(|s| match (ev.reduce_kw, ev.cap_kw) {
            (Some(x), _) => (x - s).max(0.0),
            (_, Some(c)) => c + s,
            _ => 0.0,
        });
        EventOutcome {
            met,
            binding: if met {
                Vec::new()
            } else {
                binding(p, &sp, ev, &planned, &target)
            },
            target_kw: target,
            planned_kw: planned,
            min_reduction_kw: min_reduction,
            best_possible_kw,
        }
    });
    if let Some(e) = &event {
        if !e.met && reason.is_none() {
            reason = Some(format!(
                "the event cannot be met; the largest possible {} is planned",
                if p.event.as_ref().is_some_and(|e| e.cap_kw.is_some()) {
                    "cap"
                } else {
                    "reduction"
                }
            ));
        }
    }
    Ok(Schedule {
        fallback: matches!(method, Method::Relaxed | Method::RuleBased),
        method,
        reason,
        mip_gap: gap,
        solve_ms: started.elapsed().as_secs_f64() * 1e3,
        steps: p.steps(),
        step_minutes: p.step_minutes,
        end_state: end_state(p, &sp),
        savings: base_cost.total - plan_cost.total,
        cost: plan_cost,
        baseline_cost: base_cost,
        emissions_kg: em,
        baseline_emissions_kg: base_em,
        emissions_change_kg: em - base_em,
        event,
        violations,
        setpoints: sp,
    })
}

fn simultaneous(p: &Problem, sp: &Setpoints) -> bool {
    let tol = 1e-6;
    (0..p.steps()).any(|t| {
        (sp.import_kw[t] > tol && sp.export_kw[t] > tol)
            || (0..p.batteries.len())
                .any(|b| sp.charge_kw[b][t] > tol && sp.discharge_kw[b][t] > tol)
    })
}

fn end_state(p: &Problem, sp: &Setpoints) -> EndState {
    let n = p.steps();
    let mut done = Vec::new();
    let mut running = Vec::new();
    for (k, s) in p.shiftable.iter().enumerate() {
        let on: Vec<bool> = sp.shiftable_kw[k]
            .iter()
            .map(|x| *x > s.power_kw / 2.0)
            .collect();
        done.push(s.done_steps + on.iter().filter(|o| **o).count());
        let tail = on.iter().rev().take_while(|o| **o).count();
        running.push(if tail == n { s.running_steps + n } else { tail });
    }
    EndState {
        soc: sp
            .soc
            .iter()
            .zip(&p.batteries)
            .map(|(s, b)| s.last().copied().unwrap_or(b.soc_initial))
            .collect(),
        done_steps: done,
        running_steps: running,
    }
}

/// Cheap reasons for infeasibility, appended to the fallback reason.
fn diagnose(p: &Problem, target: &Option<Vec<f64>>) -> String {
    let Some(limit) = p.import_limit_kw else {
        return match target {
            Some(_) => ": the event target cannot be met".into(),
            None => String::new(),
        };
    };
    let flex: f64 = p.batteries.iter().map(|b| b.discharge_kw).sum::<f64>()
        + p.curtailable.iter().map(|c| c.max_kw).sum::<f64>();
    for t in 0..p.steps() {
        let need = p.load_kw[t] - p.pv(t) - flex;
        if need > limit + 1e-9 {
            return format!(
                ": at step {t} the load {} kW less PV {} kW and all flexibility {flex} kW still needs {need:.1} kW, above the import limit {limit} kW",
                p.load_kw[t],
                p.pv(t)
            );
        }
    }
    String::new()
}

/// The limits that bind in the event step with the least headroom.
fn binding(
    p: &Problem,
    sp: &Setpoints,
    ev: &Event,
    planned: &[f64],
    target: &[f64],
) -> Vec<String> {
    let Some((i, _)) = planned
        .iter()
        .zip(target)
        .map(|(a, b)| a - b)
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
    else {
        return Vec::new();
    };
    let t = ev.from_step + i;
    let mut out = vec![format!(
        "step {t}: net import {:.1} kW against the target {:.1} kW; base load {:.1} kW, PV {:.1} kW",
        planned[i],
        target[i],
        p.load_kw[t],
        p.pv(t)
    )];
    let tol = 1e-6;
    for (b, bat) in p.batteries.iter().enumerate() {
        let d = sp.discharge_kw[b][t];
        let soc_before = if t == 0 {
            bat.soc_initial
        } else {
            sp.soc[b][t - 1]
        };
        if d >= bat.discharge_kw - tol {
            out.push(format!(
                "{}: discharging at its {} kW limit",
                bat.name, bat.discharge_kw
            ));
        } else if soc_before <= bat.soc_min + 1e-4 || sp.soc[b][t] <= bat.soc_min + 1e-4 {
            out.push(format!(
                "{}: at its minimum state of charge {} (its energy is spent over the event)",
                bat.name, bat.soc_min
            ));
        } else {
            out.push(format!(
                "{}: discharging {d:.1} kW, limited by its energy over the event",
                bat.name
            ));
        }
    }
    for (c, cl) in p.curtailable.iter().enumerate() {
        let u = sp.curtailed_kw[c][t];
        out.push(format!(
            "{}: shedding {u:.1} of at most {} kW",
            cl.name,
            cl.max_kw.min(p.load_kw[t])
        ));
    }
    for (k, s) in p.shiftable.iter().enumerate() {
        if sp.shiftable_kw[k][t] > s.power_kw / 2.0 {
            out.push(format!(
                "{}: must run at step {t} (its windows and run time leave no other slot)",
                s.name
            ));
        }
    }
    if p.curtailable.is_empty() && p.batteries.is_empty() {
        out.push("the site has no batteries or curtailable loads to reduce its import".into());
    }
    out
}

#[cfg(test)]
mod tests;
