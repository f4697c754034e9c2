//! The mixed-integer program in HiGHS: variables, constraints and the objective of
//! `docs/optimisation.md`, and the setpoints read back from a solution.

use highs::{Col, HighsModelStatus, RowProblem, Sense};

use crate::plan::Setpoints;
use crate::problem::{DemandCharge, Problem};

/// How the event enters the model.
#[derive(Clone, Debug)]
pub(crate) enum EventMode {
    /// No event constraint.
    None,
    /// Net import at most `target[t]` in each event step.
    Target(Vec<f64>),
    /// Net import at most `target[t] + s` with the smallest uniform slack `s ≥ 0` (the
    /// objective is `s` alone; phase 1 of an event that cannot be met).
    MinSlack(Vec<f64>),
}

/// What to build.
#[derive(Clone, Debug)]
pub(crate) struct Build<'a> {
    pub problem: &'a Problem,
    /// Keep integrality (false = the LP relaxation).
    pub integer: bool,
    /// Add the battery direction and import/export binaries.
    pub direction_binaries: bool,
    pub event: EventMode,
}

/// Outcome of one solver run.
pub(crate) struct Solved {
    pub status: HighsModelStatus,
    pub setpoints: Option<Setpoints>,
    pub mip_gap: Option<f64>,
    /// Value of the slack in the `MinSlack` mode.
    pub slack: Option<f64>,
}

/// Columns of one shiftable job: (step, column, steps it covers).
type JobCols = Vec<(usize, Col, usize)>;

struct Layout {
    g: Vec<Col>,
    x: Vec<Col>,
    pvc: Vec<Col>,
    c: Vec<Vec<Col>>,
    d: Vec<Vec<Col>>,
    e: Vec<Vec<Col>>,
    u: Vec<Vec<Col>>,
    /// Per shiftable load: (step, column, steps it covers) for start columns (block jobs) or
    /// on columns (interruptible jobs).
    shift: Vec<JobCols>,
    /// Per shiftable load: power that is fixed (a running block job), per step.
    fixed_shift: Vec<Vec<f64>>,
    slack: Option<Col>,
}

pub(crate) fn solve(b: &Build<'_>) -> Solved {
    let p = b.problem;
    let n = p.steps();
    let dt = p.dt();
    let mut pb = RowProblem::default();
    let inf = f64::INFINITY;
    // In the min-slack phase the objective is the slack alone.
    let w = if matches!(b.event, EventMode::MinSlack(_)) {
        0.0
    } else {
        1.0
    };
    let import_ub = p.import_limit_kw.unwrap_or(inf);
    let export_ub = p.export_cap();
    let g: Vec<Col> = (0..n)
        .map(|t| pb.add_column(w * p.buy_price[t] * dt, 0.0..=import_ub))
        .collect();
    let x: Vec<Col> = (0..n)
        .map(|t| pb.add_column(-w * p.sell(t) * dt, 0.0..=export_ub))
        .collect();
    let pvc: Vec<Col> = (0..n).map(|t| pb.add_column(0.0, 0.0..=p.pv(t))).collect();
    let mut l = Layout {
        g,
        x,
        pvc,
        c: Vec::new(),
        d: Vec::new(),
        e: Vec::new(),
        u: Vec::new(),
        shift: Vec::new(),
        fixed_shift: Vec::new(),
        slack: None,
    };
    for bat in &p.batteries {
        l.c.push(
            (0..n)
                .map(|_| pb.add_column(0.0, 0.0..=bat.charge_kw))
                .collect(),
        );
        l.d.push(
            (0..n)
                .map(|_| pb.add_column(w * bat.cycle_cost * dt, 0.0..=bat.discharge_kw))
                .collect(),
        );
        let (lo, hi) = (bat.soc_min * bat.energy_kwh, bat.soc_max * bat.energy_kwh);
        let fin = bat.soc_final.unwrap_or(bat.soc_initial) * bat.energy_kwh;
        l.e.push(
            (0..n)
                .map(|t| {
                    let lo = if t + 1 == n { lo.max(fin) } else { lo };
                    pb.add_column(0.0, lo..=hi)
                })
                .collect(),
        );
    }
    for cl in &p.curtailable {
        l.u.push(
            (0..n)
                .map(|t| {
                    pb.add_column(w * cl.price_per_kwh * dt, 0.0..=cl.max_kw.min(p.load_kw[t]))
                })
                .collect(),
        );
    }
    // Shiftable loads.
    let mut min_run_rows: Vec<(usize, JobCols)> = Vec::new();
    for (k, s) in p.shiftable.iter().enumerate() {
        let remaining = s.run_steps - s.done_steps;
        let allowed = p.allowed(k);
        let mut cols = Vec::new();
        let mut fixed = vec![0.0; n];
        let running = s.running_steps > 0 && remaining > 0;
        if remaining == 0 {
            // Done already: nothing to place.
        } else if !s.interruptible && running {
            fixed[..remaining.min(n)].fill(s.power_kw);
        } else if !s.interruptible {
            for t in 0..n {
                if t + remaining <= n && allowed[t..t + remaining].iter().all(|a| *a) {
                    cols.push((t, pb.add_integer_column(0.0, 0.0..=1.0), remaining));
                }
            }
        } else {
            // Forced steps of a running job that has not completed its minimum run.
            let forced = if running {
                s.min_run_steps
                    .saturating_sub(s.running_steps)
                    .min(remaining)
            } else {
                0
            };
            for (t, a) in allowed.iter().enumerate() {
                if *a {
                    let lo = if t < forced { 1.0 } else { 0.0 };
                    cols.push((t, pb.add_integer_column(0.0, lo..=1.0), 1));
                }
            }
            if s.min_run_steps > 1 {
                min_run_rows.push((k, cols.clone()));
            }
        }
        l.shift.push(cols);
        l.fixed_shift.push(fixed);
    }
    // Demand charge.
    match &p.demand_charge {
        None => {}
        Some(DemandCharge::Actual {
            price,
            month_peak_kw,
        }) => {
            let peak = pb.add_column(w * price, *month_peak_kw..);
            for t in 0..n {
                pb.add_row(..=0.0, [(l.g[t], 1.0), (peak, -1.0)]);
            }
        }
        Some(DemandCharge::Contract {
            price,
            contract_kw,
            threshold,
            multiplier,
            month_peak_kw,
        }) => {
            let limit = threshold * contract_kw;
            let excess = pb.add_column(w * price * multiplier, (month_peak_kw - limit).max(0.0)..);
            for t in 0..n {
                pb.add_row(..=limit, [(l.g[t], 1.0), (excess, -1.0)]);
            }
        }
    }
    // Energy balance.
    for t in 0..n {
        let mut row: Vec<(Col, f64)> = vec![(l.g[t], 1.0), (l.x[t], -1.0), (l.pvc[t], -1.0)];
        for bi in 0..p.batteries.len() {
            row.push((l.d[bi][t], 1.0));
            row.push((l.c[bi][t], -1.0));
        }
        for u in &l.u {
            row.push((u[t], 1.0));
        }
        let mut fixed = 0.0;
        for (k, s) in p.shiftable.iter().enumerate() {
            fixed += l.fixed_shift[k][t];
            for &(start, col, len) in &l.shift[k] {
                if start <= t && t < start + len {
                    row.push((col, -s.power_kw));
                }
            }
        }
        let rhs = p.load_kw[t] + fixed - p.pv(t);
        pb.add_row(rhs..=rhs, row);
    }
    // Sheds never exceed the base load.
    if p.curtailable.len() > 1 {
        for t in 0..n {
            let row: Vec<(Col, f64)> = l.u.iter().map(|u| (u[t], 1.0)).collect();
            pb.add_row(..=p.load_kw[t], row);
        }
    }
    // State of charge.
    for (bi, bat) in p.batteries.iter().enumerate() {
        let e0 = bat.soc_initial * bat.energy_kwh;
        for t in 0..n {
            let mut row = vec![
                (l.e[bi][t], 1.0),
                (l.c[bi][t], -dt * bat.charge_efficiency),
                (l.d[bi][t], dt / bat.discharge_efficiency),
            ];
            let rhs = if t == 0 {
                e0
            } else {
                row.push((l.e[bi][t - 1], -1.0));
                0.0
            };
            pb.add_row(rhs..=rhs, row);
        }
        if b.direction_binaries {
            for t in 0..n {
                let z = if b.integer {
                    pb.add_integer_column(0.0, 0.0..=1.0)
                } else {
                    pb.add_column(0.0, 0.0..=1.0)
                };
                pb.add_row(..=0.0, [(l.c[bi][t], 1.0), (z, -bat.charge_kw)]);
                pb.add_row(
                    ..=bat.discharge_kw,
                    [(l.d[bi][t], 1.0), (z, bat.discharge_kw)],
                );
            }
        }
    }
    if b.direction_binaries && export_ub > 0.0 {
        let big_g = if import_ub.is_finite() {
            import_ub
        } else {
            big_import(p)
        };
        let big_x = if export_ub.is_finite() {
            export_ub
        } else {
            big_import(p)
        };
        for t in 0..n {
            let z = if b.integer {
                pb.add_integer_column(0.0, 0.0..=1.0)
            } else {
                pb.add_column(0.0, 0.0..=1.0)
            };
            pb.add_row(..=0.0, [(l.g[t], 1.0), (z, -big_g)]);
            pb.add_row(..=big_x, [(l.x[t], 1.0), (z, big_x)]);
        }
    }
    // Shiftable jobs: exactly the remaining steps (interruptible) or one start (block jobs).
    for (k, s) in p.shiftable.iter().enumerate() {
        if l.shift[k].is_empty() {
            continue;
        }
        let remaining = s.run_steps - s.done_steps;
        let total = if s.interruptible {
            remaining as f64
        } else {
            1.0
        };
        let row: Vec<(Col, f64)> = l.shift[k].iter().map(|&(_, c, _)| (c, 1.0)).collect();
        pb.add_row(total..=total, row);
    }
    // Minimum run of interruptible jobs: a start y_t ≥ on_t − on_{t−1}, and every step is on
    // if a start lies within the minimum run before it: Σ_{τ=t−m+1}^{t} y_τ ≤ on_t (the
    // disaggregated form, much tighter than Σ_{τ=t}^{t+m−1} on_τ ≥ m·y_t). A step outside the
    // windows has no on variable, so no start may reach it.
    for (k, cols) in &min_run_rows {
        let s = &p.shiftable[*k];
        let m = s.min_run_steps;
        let mut on_at: Vec<Option<Col>> = vec![None; n];
        for &(t, c, _) in cols {
            on_at[t] = Some(c);
        }
        let running = s.running_steps > 0;
        let mut starts: Vec<Option<Col>> = vec![None; n];
        for (t, on) in on_at.iter().enumerate() {
            let Some(on_t) = *on else { continue };
            let prev = if t == 0 { None } else { on_at[t - 1] };
            let prev_fixed = if t == 0 && running { 1.0 } else { 0.0 };
            let y = if b.integer {
                pb.add_integer_column(0.0, 0.0..=1.0)
            } else {
                pb.add_column(0.0, 0.0..=1.0)
            };
            let mut row = vec![(y, 1.0), (on_t, -1.0)];
            if let Some(pc) = prev {
                row.push((pc, 1.0));
            }
            pb.add_row(-prev_fixed.., row);
            starts[t] = Some(y);
        }
        for (t, on) in on_at.iter().enumerate() {
            let mut row: Vec<(Col, f64)> = (t.saturating_sub(m - 1)..=t)
                .filter_map(|tau| starts[tau])
                .map(|y| (y, 1.0))
                .collect();
            if row.is_empty() {
                continue;
            }
            if let Some(on_t) = *on {
                row.push((on_t, -1.0));
            }
            pb.add_row(..=0.0, row);
        }
    }
    // Event.
    match &b.event {
        EventMode::None => {}
        EventMode::Target(target) => {
            let ev = p.event.as_ref().expect("event mode needs an event");
            for t in ev.from_step..ev.to_step {
                pb.add_row(..=target[t - ev.from_step], [(l.g[t], 1.0), (l.x[t], -1.0)]);
            }
        }
        EventMode::MinSlack(target) => {
            let ev = p.event.as_ref().expect("event mode needs an event");
            let s = pb.add_column(1.0, 0.0..);
            for t in ev.from_step..ev.to_step {
                pb.add_row(
                    ..=target[t - ev.from_step],
                    [(l.g[t], 1.0), (l.x[t], -1.0), (s, -1.0)],
                );
            }
            l.slack = Some(s);
        }
    }
    let mut model = pb.optimise(Sense::Minimise);
    model.make_quiet();
    model.set_option("time_limit", p.settings.time_limit_s);
    model.set_option("mip_rel_gap", p.settings.mip_gap);
    model.set_option("threads", 1);
    let solved = model.solve();
    let status = solved.status();
    let has_ints =
        b.integer && (!p.shiftable.is_empty() || b.direction_binaries || !min_run_rows.is_empty());
    let usable = matches!(
        status,
        HighsModelStatus::Optimal
            | HighsModelStatus::ReachedTimeLimit
            | HighsModelStatus::ReachedIterationLimit
    );
    if !usable {
        return Solved {
            status,
            setpoints: None,
            mip_gap: None,
            slack: None,
        };
    }
    let sol = solved.get_solution();
    let v = |c: Col| sol[c];
    let mut sp = Setpoints {
        import_kw: l.g.iter().map(|&c| v(c).max(0.0)).collect(),
        export_kw: l.x.iter().map(|&c| v(c).max(0.0)).collect(),
        pv_curtailed_kw: l.pvc.iter().map(|&c| v(c).max(0.0)).collect(),
        ..Default::default()
    };
    for (bi, bat) in p.batteries.iter().enumerate() {
        sp.charge_kw
            .push(l.c[bi].iter().map(|&c| v(c).max(0.0)).collect());
        sp.discharge_kw
            .push(l.d[bi].iter().map(|&c| v(c).max(0.0)).collect());
        sp.soc
            .push(l.e[bi].iter().map(|&c| v(c) / bat.energy_kwh).collect());
    }
    for (k, s) in p.shiftable.iter().enumerate() {
        let mut kw = l.fixed_shift[k].clone();
        for &(start, col, len) in &l.shift[k] {
            let on = if b.integer { v(col).round() } else { v(col) };
            for x in kw.iter_mut().skip(start).take(len) {
                *x += s.power_kw * on;
            }
        }
        sp.shiftable_kw.push(kw);
    }
    for u in &l.u {
        sp.curtailed_kw
            .push(u.iter().map(|&c| v(c).max(0.0)).collect());
    }
    if b.integer && !p.shiftable.is_empty() {
        rebalance(p, &mut sp);
    }
    Solved {
        status,
        mip_gap: has_ints.then(|| solved.mip_gap()).filter(|g| g.is_finite()),
        slack: l.slack.map(v),
        setpoints: Some(sp),
    }
}

/// After rounding the binaries of an integer solution to exact 0/1, puts the residual of the
/// balance (the solver's integrality tolerance) on the import, export or PV curtailment.
fn rebalance(p: &Problem, sp: &mut Setpoints) {
    for t in 0..p.steps() {
        let mut demand = p.load_kw[t];
        demand += sp.charge_kw.iter().map(|c| c[t]).sum::<f64>();
        demand += sp.shiftable_kw.iter().map(|k| k[t]).sum::<f64>();
        demand -= sp.curtailed_kw.iter().map(|u| u[t]).sum::<f64>();
        let supply_other =
            p.pv(t) - sp.pv_curtailed_kw[t] + sp.discharge_kw.iter().map(|d| d[t]).sum::<f64>();
        let net = demand - supply_other;
        if net >= 0.0 {
            sp.import_kw[t] = net;
            sp.export_kw[t] = 0.0;
        } else if sp.import_kw[t] > 0.0 || p.export_cap() == 0.0 {
            sp.import_kw[t] = 0.0;
            sp.export_kw[t] = 0.0;
            sp.pv_curtailed_kw[t] = (sp.pv_curtailed_kw[t] - net).min(p.pv(t));
        } else {
            sp.export_kw[t] = -net;
        }
    }
}

/// A bound on any sensible import (used as big-M when no limit is given).
fn big_import(p: &Problem) -> f64 {
    let load = p.load_kw.iter().copied().fold(0.0, f64::max);
    let flex: f64 = p.batteries.iter().map(|b| b.charge_kw).sum::<f64>()
        + p.shiftable.iter().map(|s| s.power_kw).sum::<f64>();
    let pv = p.pv_kw.iter().copied().fold(0.0, f64::max);
    1.0 + load + flex + pv + p.batteries.iter().map(|b| b.discharge_kw).sum::<f64>()
}
