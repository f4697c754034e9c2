//! Benchmark of the scheduler (BENCHMARKS.md, "Optimisation"; run by bench/optimise.sh).
//!
//! `bench speed [RUNS]` times the three cases of issue 7 and prints one JSON line each;
//! `bench problem NAME OUT.json` writes a case as a problem file (`emhass`: the problem solved
//! side by side with EMHASS);
//! `bench solve FILE.json [RUNS]` solves a problem file and prints the objective and the
//! median time as JSON.
//!
//! Prices are the Jiangsu preset's (crates/tariff/data) from 2025-07-01, the load an
//! industrial shape with a night shift, PV a clear-sky bell; everything is deterministic.

use std::time::Instant;

use chrono::{Duration, NaiveDate};
use shulv_model::HolidayCalendar;
use shulv_optimise::{schedule, Battery, DemandCharge, Problem, ShiftableLoad};
use shulv_tariff::{DayFlags, TariffLibrary};

fn prices(steps: usize, step_minutes: u32) -> Vec<f64> {
    let lib = TariffLibrary::builtin();
    let t = lib.get("cn-js-1-10kv-two-part", None).expect("preset");
    let cal = HolidayCalendar::china();
    let start = NaiveDate::from_ymd_opt(2025, 7, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date");
    (0..steps)
        .map(|i| {
            let at = start + Duration::minutes(i as i64 * i64::from(step_minutes));
            t.price(t.period_at(at, &cal, DayFlags::default()))
        })
        .collect()
}

/// Hour of day of step `i`, with a deterministic day-to-day wobble.
fn shape(steps: usize, step_minutes: u32, base: f64) -> (Vec<f64>, Vec<f64>) {
    let mut load = Vec::with_capacity(steps);
    let mut pv = Vec::with_capacity(steps);
    for i in 0..steps {
        let h = (i as f64 * f64::from(step_minutes) / 60.0) % 24.0;
        let day = (i as f64 * f64::from(step_minutes) / 1440.0).floor();
        let wobble = 1.0 + 0.08 * (day * 1.7).sin() + 0.03 * (i as f64 * 0.37).sin();
        let shift = if (8.0..20.0).contains(&h) { 1.0 } else { 0.55 };
        load.push(base * shift * wobble);
        let sun = ((h - 6.0) / 12.0 * std::f64::consts::PI).sin().max(0.0);
        pv.push(0.35 * base * sun * (1.0 - 0.2 * (day * 2.3).sin().abs()));
    }
    (load, pv)
}

fn battery(name: &str, energy: f64, kw: f64) -> Battery {
    Battery {
        name: name.into(),
        energy_kwh: energy,
        charge_kw: kw,
        discharge_kw: kw,
        charge_efficiency: 0.95,
        discharge_efficiency: 0.95,
        soc_min: 0.1,
        soc_max: 0.95,
        soc_initial: 0.5,
        soc_final: None,
        cycle_cost: 0.05,
    }
}

fn job(k: usize, steps: usize, power: f64, run: usize, interruptible: bool) -> ShiftableLoad {
    let from = (k * 7) % (steps / 2);
    let to = (from + steps / 2 + k * 3).min(steps);
    ShiftableLoad {
        name: format!("job{k}"),
        power_kw: power,
        run_steps: run,
        windows: vec![[from, to]],
        interruptible,
        min_run_steps: if interruptible { 2.min(run) } else { 1 },
        done_steps: 0,
        running_steps: 0,
    }
}

fn site(steps: usize, step_minutes: u32, base: f64) -> Problem {
    let (load, pv) = shape(steps, step_minutes, base);
    Problem {
        step_minutes,
        load_kw: load,
        pv_kw: pv,
        buy_price: prices(steps, step_minutes),
        grid_factor_kg_per_kwh: vec![0.5366],
        export_allowed: true,
        export_limit_kw: Some(base),
        sell_price: vec![0.0; steps],
        ..Default::default()
    }
}

/// 96 steps of 15 minutes, 1 battery, 3 shiftable loads, actual-demand charge.
fn case_small() -> Problem {
    let mut p = site(96, 15, 400.0);
    p.batteries.push(battery("b0", 400.0, 200.0));
    p.shiftable = vec![
        job(0, 96, 80.0, 8, false),
        job(1, 96, 50.0, 12, true),
        job(2, 96, 120.0, 4, false),
    ];
    p.demand_charge = Some(DemandCharge::Actual {
        price: 40.0,
        month_peak_kw: 300.0,
    });
    p
}

/// 192 steps of 15 minutes, 3 batteries, 10 shiftable loads, contract-demand charge.
fn case_large() -> Problem {
    let mut p = site(192, 15, 1200.0);
    p.batteries = vec![
        battery("b0", 800.0, 400.0),
        battery("b1", 500.0, 250.0),
        battery("b2", 300.0, 150.0),
    ];
    p.shiftable = (0..10)
        .map(|k| job(k, 192, 30.0 + 12.0 * k as f64, 4 + (k % 4) * 3, k % 2 == 1))
        .collect();
    p.demand_charge = Some(DemandCharge::Contract {
        price: 40.0,
        contract_kw: 1100.0,
        threshold: 1.05,
        multiplier: 2.0,
        month_peak_kw: 0.0,
    });
    p
}

/// A year of hourly arbitrage: 8 760 steps, 1 battery, linear.
fn case_year() -> Problem {
    let mut p = site(8760, 60, 400.0);
    p.batteries.push(battery("b0", 800.0, 400.0));
    p
}

/// The problem solved side by side with EMHASS: 48 steps of 30 minutes, PV, one battery, two
/// interruptible deferrable loads (one anywhere, one in steps 8–40), export at price 0.
fn case_emhass() -> Problem {
    let mut p = site(48, 30, 4.0);
    let mut b = battery("b0", 5.0, 1.0);
    b.soc_min = 0.3;
    b.soc_max = 0.9;
    b.soc_initial = 0.6;
    b.soc_final = Some(0.6);
    b.cycle_cost = 0.0;
    p.batteries.push(b);
    p.export_limit_kw = Some(9.0);
    p.import_limit_kw = Some(9.0);
    p.shiftable = vec![
        ShiftableLoad {
            name: "def0".into(),
            power_kw: 3.0,
            run_steps: 8,
            windows: vec![],
            interruptible: true,
            min_run_steps: 1,
            done_steps: 0,
            running_steps: 0,
        },
        ShiftableLoad {
            name: "def1".into(),
            power_kw: 0.75,
            run_steps: 10,
            windows: vec![[8, 40]],
            interruptible: true,
            min_run_steps: 1,
            done_steps: 0,
            running_steps: 0,
        },
    ];
    p.settings.mip_gap = 0.0;
    p
}

fn median_ms(p: &Problem, runs: usize) -> (f64, shulv_optimise::Schedule) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let s = schedule(p).expect("valid problem");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        last = Some(s);
    }
    times.sort_by(f64::total_cmp);
    (times[runs / 2], last.expect("at least one run"))
}

fn report(name: &str, p: &Problem, runs: usize) {
    let (ms, s) = median_ms(p, runs);
    println!(
        "{}",
        serde_json::json!({
            "case": name, "steps": p.steps(), "batteries": p.batteries.len(),
            "shiftable": p.shiftable.len(), "runs": runs, "median_ms": ms,
            "method": s.method, "fallback": s.fallback, "mip_gap": s.mip_gap,
            "objective": s.cost.total, "savings": s.savings,
        })
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs = |i: usize, d: usize| args.get(i).and_then(|r| r.parse().ok()).unwrap_or(d);
    match args.first().map(String::as_str) {
        Some("speed") => {
            let r = runs(1, 11);
            report("96 steps, 1 battery, 3 shiftable", &case_small(), r);
            report(
                "192 steps, 3 batteries, 10 shiftable",
                &case_large(),
                r.min(5),
            );
            report("8760 hourly steps, 1 battery (linear)", &case_year(), 3);
        }
        Some("problem") => {
            let p = match args.get(1).map(String::as_str) {
                Some("small") => case_small(),
                Some("large") => case_large(),
                Some("year") => case_year(),
                Some("emhass") => case_emhass(),
                _ => panic!("bench problem small|large|year|emhass OUT.json"),
            };
            let out = args.get(2).expect("bench problem NAME OUT.json");
            let text = serde_json::to_string_pretty(&p).expect("serialisable");
            std::fs::write(out, text).expect("writing the problem");
        }
        Some("solve") => {
            let path = args.get(1).expect("bench solve FILE.json");
            let text = std::fs::read_to_string(path).expect("reading the problem");
            let p: Problem = serde_json::from_str(&text).expect("a problem file");
            report(path, &p, runs(2, 11));
        }
        _ => {
            eprintln!("usage: bench speed [RUNS] | bench problem small|large|year|emhass OUT.json | bench solve FILE.json [RUNS]");
            std::process::exit(2);
        }
    }
}
