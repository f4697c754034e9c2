use proptest::prelude::*;

use super::*;

fn battery(energy: f64, kw: f64, eff: f64, soc0: f64) -> Battery {
    Battery {
        name: "bat".into(),
        energy_kwh: energy,
        charge_kw: kw,
        discharge_kw: kw,
        charge_efficiency: eff,
        discharge_efficiency: eff,
        soc_min: 0.0,
        soc_max: 1.0,
        soc_initial: soc0,
        soc_final: None,
        cycle_cost: 0.0,
    }
}

fn hourly(load: Vec<f64>, price: Vec<f64>) -> Problem {
    Problem {
        step_minutes: 60,
        load_kw: load,
        buy_price: price,
        ..Default::default()
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * (1.0 + b.abs())
}

/// Arbitrage with a known spread: valley 0.3, peak 1.0 yuan/kWh, 100 kWh battery of 50 kW
/// with 90 % charge and 90 % discharge efficiency (81 % round trip), empty at start and end.
/// Charging 50 kW for both valley hours stores 90 kWh; the peak hours get 50 kW, then the
/// rest, 90 × 0.9 − 50 = 31 kW: 81 kWh delivered. Cost 0.3 × 100 + 1.0 × (200 − 81) = 149,
/// baseline 200, savings 51 = 81 × 1.0 − 100 × 0.3.
#[test]
fn arbitrage_with_a_known_spread() {
    let mut p = hourly(vec![0.0, 0.0, 100.0, 100.0], vec![0.3, 0.3, 1.0, 1.0]);
    p.batteries.push(battery(100.0, 50.0, 0.9, 0.0));
    let s = schedule(&p).unwrap();
    assert_eq!(s.method, Method::Optimal);
    assert!(close(s.cost.total, 149.0), "{}", s.cost.total);
    assert!(close(s.baseline_cost.total, 200.0));
    assert!(close(s.savings, 51.0));
    assert!(close(s.setpoints.charge_kw[0][0], 50.0));
    assert!(close(s.setpoints.discharge_kw[0][2], 50.0));
    assert!(close(s.setpoints.discharge_kw[0][3], 31.0));
    assert!(close(s.end_state.soc[0], 0.0));
    // With a spread of 0.85 : 1.0, above the 0.81 round trip, arbitrage loses: the battery idles.
    p.buy_price = vec![0.85, 0.85, 1.0, 1.0];
    let s = schedule(&p).unwrap();
    assert!(close(s.savings, 0.0), "{}", s.savings);
    assert!(s.setpoints.charge_kw[0].iter().all(|c| *c < 1e-9));
}

/// A 10 kW job of two hours in one block; prices 1, 1, 0.5, 0.2, 0.2, 0.5, 1, 1: the only
/// cheapest window is hours 3–4, cost 10 × 2 × 0.2 = 4; the baseline starts at hour 0, cost 20.
#[test]
fn shiftable_load_takes_the_cheapest_window() {
    let mut p = hourly(vec![0.0; 8], vec![1.0, 1.0, 0.5, 0.2, 0.2, 0.5, 1.0, 1.0]);
    p.shiftable.push(ShiftableLoad {
        name: "kiln".into(),
        power_kw: 10.0,
        run_steps: 2,
        windows: vec![],
        interruptible: false,
        min_run_steps: 1,
        done_steps: 0,
        running_steps: 0,
    });
    let s = schedule(&p).unwrap();
    assert_eq!(
        s.setpoints.shiftable_kw[0],
        vec![0.0, 0.0, 0.0, 10.0, 10.0, 0.0, 0.0, 0.0]
    );
    assert!(close(s.cost.total, 4.0));
    assert!(close(s.savings, 16.0));
    assert_eq!(
        (s.end_state.done_steps[0], s.end_state.running_steps[0]),
        (2, 0)
    );
    // Restricted to hours 5–7, the job runs 5–6 (0.5 + 1.0) rather than 6–7.
    p.shiftable[0].windows = vec![[5, 8]];
    let s = schedule(&p).unwrap();
    assert_eq!(s.setpoints.shiftable_kw[0][5..], [10.0, 10.0, 0.0]);
    // An interruptible job runs in the two cheapest hours wherever they are.
    p.shiftable[0].windows = vec![];
    p.shiftable[0].interruptible = true;
    p.buy_price = vec![0.2, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.2];
    let s = schedule(&p).unwrap();
    assert!(close(s.cost.total, 4.0));
    // A running block job carries on from step 0 for its remaining steps.
    p.shiftable[0].interruptible = false;
    p.shiftable[0].run_steps = 3;
    p.shiftable[0].done_steps = 1;
    p.shiftable[0].running_steps = 1;
    let s = schedule(&p).unwrap();
    assert_eq!(s.setpoints.shiftable_kw[0][..3], [10.0, 10.0, 0.0]);
    assert_eq!(s.end_state.done_steps[0], 3);
}

/// Contract demand 100 kW: only demand above 105 kW costs, at 2 × 40 = 80 yuan/kW. Load 50,
/// 120, 50, 50 kW at a flat 1 yuan/kWh; a lossless 50 kWh battery of 30 kW, half full at the
/// start and the end, with a wear cost of 0.1 yuan/kWh. Shaving the 15 kW above 105 saves
/// 15 × 80 = 1200 for a wear of 1.5; shaving below 105 saves nothing, so the peak is exactly 105.
/// With a 104 kW peak nothing pays and the battery idles.
#[test]
fn demand_shaving_pays_only_above_the_105_percent_threshold() {
    let mut p = hourly(vec![50.0, 120.0, 50.0, 50.0], vec![1.0; 4]);
    let mut b = battery(50.0, 30.0, 1.0, 0.5);
    b.cycle_cost = 0.1;
    p.batteries.push(b);
    p.demand_charge = Some(DemandCharge::Contract {
        price: 40.0,
        contract_kw: 100.0,
        threshold: 1.05,
        multiplier: 2.0,
        month_peak_kw: 0.0,
    });
    let s = schedule(&p).unwrap();
    assert!(
        close(s.cost.peak_import_kw, 105.0),
        "{}",
        s.cost.peak_import_kw
    );
    assert!(close(s.setpoints.discharge_kw[0][1], 15.0));
    assert!(close(s.cost.demand, 0.0));
    assert!(close(s.baseline_cost.demand, 1200.0));
    assert!(close(s.savings, 1200.0 - 1.5), "{}", s.savings);
    p.load_kw[1] = 104.0;
    let s = schedule(&p).unwrap();
    assert!(s.setpoints.discharge_kw[0].iter().all(|d| *d < 1e-9));
    assert!(close(s.savings, 0.0));
    // Under actual demand (40 yuan/kW) every kW shaved pays: 30 kW, the battery's limit.
    p.load_kw[1] = 120.0;
    p.demand_charge = Some(DemandCharge::Actual {
        price: 40.0,
        month_peak_kw: 0.0,
    });
    let s = schedule(&p).unwrap();
    assert!(
        close(s.cost.peak_import_kw, 90.0),
        "{}",
        s.cost.peak_import_kw
    );
}

#[test]
fn demand_response_is_met_or_explained() {
    // Four hours at 100 kW; event in hours 1–2. A 60 kWh battery of 40 kW, full.
    let mut p = hourly(vec![100.0; 4], vec![1.0; 4]);
    let mut b = battery(60.0, 40.0, 1.0, 1.0);
    b.soc_final = Some(0.0);
    p.batteries.push(b);
    p.event = Some(Event {
        from_step: 1,
        to_step: 3,
        reduce_kw: Some(25.0),
        cap_kw: None,
    });
    let s = schedule(&p).unwrap();
    let e = s.event.as_ref().unwrap();
    assert!(e.met);
    assert!(e.min_reduction_kw >= 25.0 - 1e-6);
    assert!(s.violations.is_empty());
    // 50 kW cannot be met (40 kW discharge limit): the best is 40 kW, and the limit is named.
    p.event.as_mut().unwrap().reduce_kw = Some(50.0);
    let s = schedule(&p).unwrap();
    let e = s.event.as_ref().unwrap();
    assert!(!e.met);
    assert!((e.best_possible_kw.unwrap() - 30.0).abs() < 1e-3, "{e:?}");
    assert!(
        e.binding
            .iter()
            .any(|b| b.contains("energy") || b.contains("limit")),
        "{e:?}"
    );
    assert!(!s.fallback);
    // A cap of 70 kW: the battery holds 60 kWh for two hours of 30 kW. Met.
    p.event = Some(Event {
        from_step: 1,
        to_step: 3,
        reduce_kw: None,
        cap_kw: Some(70.0),
    });
    let s = schedule(&p).unwrap();
    assert!(s.event.unwrap().met);
}

#[test]
fn an_impossible_plan_is_still_published_with_a_flag() {
    let mut p = hourly(vec![100.0, 200.0], vec![1.0, 1.0]);
    p.import_limit_kw = Some(150.0);
    let s = schedule(&p).unwrap();
    assert!(s.fallback);
    assert_eq!(s.method, Method::RuleBased);
    let reason = s.reason.unwrap();
    assert!(reason.contains("import limit"), "{reason}");
    assert!(!s.violations.is_empty());
}

#[test]
fn bad_problems_name_the_field() {
    let mut p = hourly(vec![1.0, 2.0], vec![1.0]);
    assert_eq!(schedule(&p).unwrap_err().field, "buy_price");
    p.buy_price = vec![1.0, 1.0];
    let mut b = battery(10.0, 5.0, 1.2, 0.5);
    b.name = "b".into();
    p.batteries.push(b);
    assert_eq!(
        schedule(&p).unwrap_err().field,
        "batteries[0].charge_efficiency"
    );
    p.batteries.clear();
    p.shiftable.push(ShiftableLoad {
        name: "j".into(),
        power_kw: 1.0,
        run_steps: 2,
        windows: vec![[0, 1]],
        interruptible: false,
        min_run_steps: 1,
        done_steps: 0,
        running_steps: 0,
    });
    let e = schedule(&p).unwrap_err();
    assert_eq!(e.field, "shiftable[0].windows");
}

fn arb_problem() -> impl Strategy<Value = Problem> {
    (8usize..=24, any::<u64>()).prop_map(|(n, seed)| {
        // A small deterministic generator from the seed (xorshift), so shrinking keeps shapes.
        let mut s = seed | 1;
        let mut r = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut p = Problem {
            step_minutes: if r() < 0.5 { 15 } else { 60 },
            load_kw: (0..n).map(|_| 20.0 + 80.0 * r()).collect(),
            ..Default::default()
        };
        p.buy_price = (0..n)
            .map(|_| if r() < 0.05 { -0.1 } else { 0.2 + r() })
            .collect();
        if r() < 0.5 {
            p.pv_kw = (0..n).map(|_| 60.0 * r()).collect();
        }
        if r() < 0.5 {
            p.export_allowed = true;
            p.export_limit_kw = Some(30.0);
            p.sell_price = (0..n).map(|_| 0.3 * r()).collect();
        }
        p.grid_factor_kg_per_kwh = vec![0.58];
        for i in 0..(r() * 3.0) as usize {
            let soc0 = r();
            p.batteries.push(Battery {
                name: format!("b{i}"),
                energy_kwh: 20.0 + 100.0 * r(),
                charge_kw: 10.0 + 40.0 * r(),
                discharge_kw: 10.0 + 40.0 * r(),
                charge_efficiency: 0.85 + 0.15 * r(),
                discharge_efficiency: 0.85 + 0.15 * r(),
                soc_min: 0.1 * r(),
                soc_max: 0.9 + 0.1 * r(),
                soc_initial: 0.1 + 0.8 * soc0,
                soc_final: None,
                cycle_cost: 0.05 * r(),
            });
        }
        for k in 0..(r() * 3.0) as usize {
            let run = 1 + (r() * 4.0) as usize;
            let from = (r() * (n - run) as f64) as usize;
            let to = (from + run + (r() * 6.0) as usize).min(n);
            let interruptible = r() < 0.5;
            p.shiftable.push(ShiftableLoad {
                name: format!("j{k}"),
                power_kw: 5.0 + 30.0 * r(),
                run_steps: run,
                windows: vec![[from, to]],
                interruptible,
                min_run_steps: if interruptible {
                    1 + (r() * run as f64) as usize
                } else {
                    1
                },
                done_steps: 0,
                running_steps: 0,
            });
        }
        if r() < 0.5 {
            p.curtailable.push(CurtailableLoad {
                name: "c".into(),
                max_kw: 15.0,
                price_per_kwh: 0.5 + r(),
            });
        }
        if r() < 0.3 {
            p.demand_charge = Some(DemandCharge::Contract {
                price: 40.0,
                contract_kw: 60.0 + 40.0 * r(),
                threshold: 1.05,
                multiplier: 2.0,
                month_peak_kw: 0.0,
            });
        } else if r() < 0.3 {
            p.demand_charge = Some(DemandCharge::Actual {
                price: 40.0,
                month_peak_kw: 50.0 * r(),
            });
        }
        p
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Every returned schedule meets every constraint (energy balance, state of charge,
    /// power limits, windows, run times, import/export limits), costs what its setpoints
    /// cost, and is never dearer than the (feasible) do-nothing baseline beyond the gap.
    #[test]
    fn every_schedule_meets_every_constraint(p in arb_problem()) {
        let s = schedule(&p).unwrap();
        prop_assert!(!s.fallback, "{:?}", s.reason);
        let v = check(&p, &s.setpoints, None);
        prop_assert!(v.is_empty(), "{v:?}");
        prop_assert!(s.violations.is_empty());
        let c = cost(&p, &s.setpoints);
        prop_assert!((c.total - s.cost.total).abs() < 1e-9);
        let base = baseline(&p);
        prop_assert!(check(&p, &base, None).is_empty(), "baseline {:?}", check(&p, &base, None));
        let slack = p.settings.mip_gap * s.baseline_cost.total.abs() + 1e-6;
        prop_assert!(s.cost.total <= s.baseline_cost.total + slack,
            "plan {} baseline {}", s.cost.total, s.baseline_cost.total);
        // The end state follows from the setpoints.
        for (b, bat) in p.batteries.iter().enumerate() {
            let e = s.setpoints.soc[b].last().copied().unwrap_or(bat.soc_initial);
            prop_assert!((s.end_state.soc[b] - e).abs() < 1e-12);
        }
    }
}
