//! Properties of the standard demo park.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use shulv_demo::DemoPark;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

fn park() -> &'static DemoPark {
    static PARK: OnceLock<DemoPark> = OnceLock::new();
    PARK.get_or_init(DemoPark::new)
}

fn registry() -> &'static toml::Table {
    static REG: OnceLock<toml::Table> = OnceLock::new();
    REG.get_or_init(|| {
        park()
            .registry_toml()
            .parse()
            .expect("registry TOML parses")
    })
}

fn entries(kind: &str) -> Vec<&'static toml::Table> {
    registry()[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_table().unwrap())
        .collect()
}

fn field<'a>(t: &'a toml::Table, k: &str) -> &'a str {
    t[k].as_str().unwrap()
}

fn meters_where(f: impl Fn(&toml::Table) -> bool) -> Vec<String> {
    entries("meter")
        .into_iter()
        .filter(|m| f(m))
        .map(|m| field(m, "id").to_string())
        .collect()
}

/// Local (UTC+8) day index and minute of day of an instant.
fn local(park: &DemoPark, t: i64) -> (i64, i64) {
    let off = t - park.start();
    (off.div_euclid(DAY), off.rem_euclid(DAY) / 60_000)
}

fn day_ms(park: &DemoPark, month: u32, day: u32) -> i64 {
    let d = chrono::NaiveDate::from_ymd_opt(2025, month, day).unwrap();
    park.start() + (d - chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()).num_days() * DAY
}

#[test]
fn tree_and_meters_meet_the_minimums() {
    let p = park();
    assert_eq!(p.start(), 1_735_660_800_000); // 2025-01-01T00:00+08:00
    assert_eq!(p.end(), 1_767_196_800_000); // 2026-01-01T00:00+08:00
    let nodes = entries("node");
    let ids: BTreeSet<&str> = nodes.iter().map(|n| field(n, "id")).collect();
    assert_eq!(ids.len(), nodes.len(), "node ids unique");
    for n in &nodes {
        if let Some(parent) = n.get("parent") {
            assert!(ids.contains(parent.as_str().unwrap()), "parent exists");
        }
    }
    let enterprises: Vec<_> = nodes
        .iter()
        .filter(|n| field(n, "kind") == "enterprise")
        .collect();
    assert!(enterprises.len() >= 8);
    assert!(enterprises.iter().all(|e| e.contains_key("industry")));
    let industries: BTreeSet<&str> = enterprises.iter().map(|e| field(e, "industry")).collect();
    assert_eq!(industries.len(), enterprises.len(), "different industries");

    let meters = entries("meter");
    assert!(meters.len() >= 150, "{} meters", meters.len());
    let meter_ids: Vec<String> = meters.iter().map(|m| field(m, "id").to_string()).collect();
    assert_eq!(meter_ids, p.meter_ids());
    assert_eq!(
        meter_ids.iter().collect::<BTreeSet<_>>().len(),
        meter_ids.len(),
        "meter ids unique"
    );
    assert!(meters.iter().all(|m| ids.contains(field(m, "node"))));
    let carriers: BTreeSet<&str> = meters.iter().map(|m| field(m, "carrier")).collect();
    let energy = carriers
        .iter()
        .filter(|c| !matches!(**c, "production_output" | "value_added" | "pv_generation"))
        .count();
    assert!(energy >= 5, "{carriers:?}");
    for c in ["production_output", "value_added", "pv_generation"] {
        assert!(carriers.contains(c));
    }
    let per_ent_output = meters_where(|m| field(m, "carrier") == "production_output");
    assert_eq!(per_ent_output.len(), enterprises.len());
    let pv = meters_where(|m| field(m, "carrier") == "pv_generation");
    assert!(pv.len() >= 3);
    let file = shulv_model::RegistryFile::from_toml(&p.registry_toml())
        .expect("shulv-model parses the registry");
    shulv_model::Tree::new(file).expect("a valid tree");
    let kinds: BTreeMap<&str, usize> = meters.iter().fold(BTreeMap::new(), |mut acc, m| {
        *acc.entry(field(m, "reading")).or_default() += 1;
        acc
    });
    assert!(
        kinds["interval"] > 100 && kinds["cumulative"] >= 3 && kinds["instantaneous"] >= 3,
        "{kinds:?}"
    );
}

#[test]
fn readings_have_the_documented_cadence() {
    let p = park();
    let slots = ((p.end() - p.start()) / 900_000) as usize;
    for m in entries("meter") {
        let r = p.readings(field(m, "id"));
        let expected = match (
            field(m, "reading"),
            m.get("interval_s").and_then(|v| v.as_integer()),
        ) {
            ("interval", Some(900)) => slots,
            ("interval", Some(3600)) => slots / 4,
            ("interval", Some(86400)) => 365,
            ("interval", None) => 12,
            ("cumulative", _) => slots + 1,
            ("instantaneous", _) => 3 * slots + 1,
            other => panic!("{other:?}"),
        };
        assert_eq!(r.len(), expected, "{}", field(m, "id"));
        assert_eq!(r[0].0, p.start());
        assert!(r.windows(2).all(|w| w[0].0 < w[1].0), "time order");
        // Temperatures may be below zero; quantities never are.
        let signed = field(m, "carrier") == "air_temperature";
        assert!(r
            .iter()
            .all(|(_, v)| v.is_finite() && (signed || *v >= 0.0)));
    }
    assert!(p.readings("no.such.meter").is_empty());
}

#[test]
fn generation_is_deterministic() {
    let digest = |p: &DemoPark| {
        let mut h: u64 = 0;
        let mut n = 0u64;
        p.for_each_reading(|id, t, v| {
            h = h.rotate_left(5) ^ (id.len() as u64) ^ (t as u64) ^ v.to_bits();
            n += 1;
        });
        (h, n)
    };
    let a = digest(park());
    let b = digest(&DemoPark::new());
    assert_eq!(a, b);
    assert!(a.1 > 4_500_000, "{} readings", a.1);
    assert_eq!(park().registry_toml(), DemoPark::new().registry_toml());
}

/// Two-shift electronics plant: working days well above Sundays, Sundays above the Spring
/// Festival shutdown; nights low.
#[test]
fn two_shift_plant_follows_its_calendar() {
    let p = park();
    let r = p.readings("ent02.ws1.line1.elec");
    let day_total = |ms: i64| {
        r.iter()
            .filter(|(t, _)| *t >= ms && *t < ms + DAY)
            .map(|(_, v)| v)
            .sum::<f64>()
    };
    let weekday = day_total(day_ms(p, 3, 12)); // Wednesday
    let sunday = day_total(day_ms(p, 3, 16));
    let spring_festival = day_total(day_ms(p, 1, 30)); // 初二
    assert!(weekday > 4.0 * sunday, "{weekday} {sunday}");
    assert!(sunday > 1.1 * spring_festival, "{sunday} {spring_festival}");
    // 调休: Sunday 2025-09-28 is a make-up workday
    assert!(day_total(day_ms(p, 9, 28)) > 3.0 * day_total(day_ms(p, 9, 21)));
    let at = |ms: i64| r.iter().find(|(t, _)| *t == ms).unwrap().1;
    let wed = day_ms(p, 3, 12);
    assert!(at(wed + 10 * HOUR) > 3.0 * at(wed + 4 * HOUR));
}

#[test]
fn pv_is_zero_at_night_peaks_near_noon_and_is_higher_in_summer() {
    let p = park();
    for id in meters_where(|m| field(m, "carrier") == "pv_generation") {
        let r = p.readings(&id);
        let mut by_quarter = [0.0f64; 96];
        let mut by_month = [0.0f64; 12];
        for (t, v) in &r {
            let (d, min) = local(p, *t);
            if !(5 * 60..19 * 60 + 30).contains(&min) {
                assert_eq!(*v, 0.0, "{id} at night");
            }
            by_quarter[(min / 15) as usize] += v;
            let month = chrono::DateTime::from_timestamp_millis(*t + 8 * HOUR).unwrap();
            by_month[chrono::Datelike::month0(&month) as usize] += v;
            let _ = d;
        }
        let peak = by_quarter
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert!((44..=50).contains(&peak), "{id} peaks at quarter {peak}");
        assert!(
            by_month[6] > 1.5 * by_month[11],
            "{id}: July {} December {}",
            by_month[6],
            by_month[11]
        );
    }
}

#[test]
fn registers_are_monotonic_except_documented_events() {
    let p = park();
    let replacements = p.replacements();
    assert_eq!(replacements.len(), 1);
    let registers = meters_where(|m| field(m, "reading") == "cumulative");
    let mut rollovers = 0;
    for id in &registers {
        let r = p.readings(id);
        let replacement = replacements.iter().find(|x| &x.0 == id);
        for w in r.windows(2) {
            if w[1].1 >= w[0].1 {
                continue;
            }
            if let Some((_, at, old_final, new_initial)) = replacement {
                if w[1].0 == *at {
                    assert_eq!(w[1].1, *new_initial);
                    assert!(*old_final >= w[0].1);
                    continue;
                }
            }
            let rollover = entries("meter")
                .into_iter()
                .find(|m| field(m, "id") == id)
                .unwrap()["rollover"]
                .as_float()
                .expect("a decrease is a rollover");
            assert!(
                w[0].1 > 0.9 * rollover && w[1].1 < 0.1 * rollover,
                "{id} {w:?}"
            );
            assert!(w[0].1 < rollover);
            rollovers += 1;
        }
    }
    assert_eq!(rollovers, 1);
    // shulv-model converts the register into the generated interval quantities
    let (id, at, old_final, new_initial) = &replacements[0];
    let rep = shulv_model::Replacement {
        at: *at,
        old_final: *old_final,
        new_initial: *new_initial,
    };
    let deltas = shulv_model::register_to_intervals(&p.readings(id), None, &[rep]).unwrap();
    let total: f64 = deltas.iter().map(|d| d.1).sum();
    assert!((total - 450_000.0).abs() < 1.0, "{total}");
    let wrapped =
        shulv_model::register_to_intervals(&p.readings("ent03.ws2.water"), Some(1e6), &[]).unwrap();
    assert!((wrapped.iter().map(|d| d.1).sum::<f64>() - 300_000.0).abs() < 1.0);
    assert!(registers.contains(id));
    assert!(*at > p.start() && *at < p.end() && old_final > new_initial);
}

#[test]
fn annual_totals_are_plausible() {
    let p = park();
    let unit_of: BTreeMap<String, (String, String, String)> = entries("meter")
        .into_iter()
        .map(|m| {
            let s = |k| field(m, k).to_string();
            (s("id"), (s("carrier"), s("unit"), s("reading")))
        })
        .collect();
    let mut totals: BTreeMap<String, f64> = BTreeMap::new();
    for (id, (carrier, _, reading)) in &unit_of {
        let r = p.readings(id);
        let total = match reading.as_str() {
            "interval" => r.iter().map(|x| x.1).sum::<f64>(),
            "cumulative" => {
                let rollover = if id == "ent03.ws2.water" {
                    1_000_000.0
                } else {
                    0.0
                };
                let replaced = p.replacements().into_iter().find(|x| &x.0 == id);
                let fix = replaced.map_or(0.0, |(_, _, old, new)| old - new);
                r.last().unwrap().1 - r[0].1 + rollover + fix
            }
            _ => r
                .windows(2)
                .map(|w| (w[0].1 + w[1].1) / 2.0 * (w[1].0 - w[0].0) as f64 / HOUR as f64)
                .sum(),
        };
        *totals.entry(carrier.clone()).or_default() += total;
    }
    let between = |c: &str, lo: f64, hi: f64| {
        let v = totals[c];
        assert!(v > lo && v < hi, "{c}: {v}");
    };
    between("electricity", 0.8e8, 2.0e8);
    between("natural_gas", 1.0e7, 3.0e7);
    between("steam", 1.5e5, 6e5); // GJ
    between("water", 1e6, 3e6);
    between("value_added", 5e4, 2e5);
    let kwp = 12_400.0;
    between("pv_generation", 850.0 * kwp, 1250.0 * kwp);
}

/// The park's temperature looks like Shaoxing and the cooling-following loads follow it.
#[test]
fn weather_is_plausible_and_drives_cooling_loads() {
    let p = park();
    let weather = meters_where(|m| field(m, "carrier") == "air_temperature");
    assert_eq!(weather, [shulv_demo::WEATHER_METER]);
    let t = p.readings(shulv_demo::WEATHER_METER);
    let month_mean = |month: u32| {
        let (a, b) = (day_ms(p, month, 1), day_ms(p, month, 28));
        let v: Vec<f64> = t
            .iter()
            .filter(|x| x.0 >= a && x.0 < b)
            .map(|x| x.1)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (jan, jul) = (month_mean(1), month_mean(7));
    assert!(
        (2.0..8.0).contains(&jan) && (26.0..32.0).contains(&jul),
        "{jan} {jul}"
    );
    let (lo, hi) = t
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), x| (l.min(x.1), h.max(x.1)));
    assert!(
        (-8.0..2.0).contains(&lo) && (34.0..42.0).contains(&hi),
        "{lo} {hi}"
    );
    // Afternoons warmer than dawn.
    let hour_mean = |hour: i64| {
        let v: Vec<f64> = t
            .iter()
            .filter(|x| local(p, x.0).1 / 60 == hour)
            .map(|x| x.1)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(hour_mean(14) > hour_mean(5) + 6.0);
    // Daily chiller energy of the data centre against the daily mean temperature, July–August.
    let chiller = "ent08.cooling.chiller2.elec";
    let (a, b) = (day_ms(p, 7, 1), day_ms(p, 9, 1));
    let daily = |r: Vec<(i64, f64)>| {
        let mut d: BTreeMap<i64, f64> = BTreeMap::new();
        for (ts, v) in r.into_iter().filter(|x| x.0 >= a && x.0 < b) {
            *d.entry(local(p, ts).0).or_default() += v;
        }
        d.into_values().collect::<Vec<f64>>()
    };
    let load = daily(p.readings(chiller));
    let temp = daily(t.clone());
    let r = correlation(&load, &temp);
    assert!(r > 0.6, "{chiller} vs temperature: r = {r}");
}

fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

#[test]
fn the_next_year_continues_the_registers_with_its_own_noise() {
    let base = park();
    let next = base.next_year();
    assert_eq!((base.year(), next.year()), (2025, 2026));
    assert_eq!(next.start(), base.end());
    let registers = meters_where(|m| field(m, "reading") == "cumulative");
    assert!(!registers.is_empty());
    for id in &registers {
        let (a, b) = (base.readings(id), next.readings(id));
        // The base year's final value is the next year's first: the register continues.
        assert_eq!(a.last().unwrap(), b.first().unwrap(), "{id}");
        let wraps = b.windows(2).filter(|w| w[1].1 < w[0].1).count();
        assert!(wraps <= 1, "{id}: {wraps} backward steps in the next year");
    }
    let elec = "ent02.ws1.line1.elec";
    let (a, b) = (base.readings(elec), next.readings(elec));
    assert!(!a.is_empty() && !b.is_empty());
    let (sum_a, sum_b): (f64, f64) = (a.iter().map(|r| r.1).sum(), b.iter().map(|r| r.1).sum());
    assert!((sum_b / sum_a - 1.0).abs() < 0.05, "{sum_a} vs {sum_b}");
    // Same calendar position, different noise.
    assert_ne!(a[96 * 40..96 * 41], b[96 * 40..96 * 41]);
    // Two years on (2027 is beyond the built-in holiday calendar) the park still builds.
    assert_eq!(next.next_year().year(), 2027);
}

#[test]
fn readings_until_holds_only_finished_intervals() {
    let p = park();
    let until = day_ms(p, 3, 10) + 10 * HOUR + 7 * 60_000; // 10:07 local
    let quarter = p.readings_until("ent02.ws1.line1.elec", until);
    assert_eq!(quarter.last().unwrap().0, until - 7 * 60_000 - 15 * 60_000);
    let registers = meters_where(|m| field(m, "reading") == "cumulative");
    let register = p.readings_until(&registers[0], until);
    assert_eq!(register.last().unwrap().0, until - 7 * 60_000);
    let daily = meters_where(|m| m.get("interval_s").and_then(|v| v.as_integer()) == Some(86_400));
    let day = p.readings_until(&daily[0], until);
    assert_eq!(day.last().unwrap().0, day_ms(p, 3, 9));
    let monthly =
        meters_where(|m| field(m, "reading") == "interval" && !m.contains_key("interval_s"));
    let month = p.readings_until(&monthly[0], until);
    assert_eq!(month.len(), 2, "January and February of {}", monthly[0]);
    assert_eq!(p.readings_until(&monthly[0], p.end()).len(), 12);
}
