use chrono::{NaiveDateTime, TimeZone};
use shulv_model::HolidayCalendar;

use super::*;

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn period(lib: &TariffLibrary, id: &str, s: &str) -> PeriodKind {
    lib.get(id, None)
        .unwrap()
        .period_at(at(s), &HolidayCalendar::china(), DayFlags::default())
}

#[test]
fn presets_classify_as_their_documents_say() {
    let lib = TariffLibrary::builtin();
    use PeriodKind::*;
    let gd = "cn-gd-1-10kv-two-part";
    assert_eq!(period(&lib, gd, "2025-03-03 03:00"), Valley);
    assert_eq!(period(&lib, gd, "2025-03-03 09:00"), Flat);
    assert_eq!(period(&lib, gd, "2025-03-03 11:30"), Peak);
    assert_eq!(period(&lib, gd, "2025-07-15 11:30"), CriticalPeak);
    assert_eq!(period(&lib, gd, "2025-07-15 14:30"), Peak);
    assert_eq!(period(&lib, gd, "2025-07-15 19:00"), Flat);
    // A hot day outside July–September triggers the critical peak.
    let t = lib.get(gd, None).unwrap();
    let hot = DayFlags { critical: true };
    assert_eq!(
        t.period_at(at("2025-06-10 16:00"), &HolidayCalendar::china(), hot),
        CriticalPeak
    );
    let js = "cn-js-1-10kv-two-part";
    assert_eq!(period(&lib, js, "2025-07-01 12:00"), Valley);
    assert_eq!(period(&lib, js, "2025-07-01 14:00"), Peak);
    assert_eq!(period(&lib, js, "2025-04-01 12:00"), Valley);
    assert_eq!(period(&lib, js, "2025-04-01 14:30"), Flat);
    assert_eq!(period(&lib, js, "2025-04-01 01:00"), Flat);
    let zj = "cn-zj-1-10kv-two-part";
    assert_eq!(period(&lib, zj, "2025-01-06 10:00"), CriticalPeak);
    assert_eq!(period(&lib, zj, "2025-03-06 10:00"), Peak);
    assert_eq!(period(&lib, zj, "2025-03-06 20:00"), Flat);
    // 国庆节 2025 (holiday named 国庆节、中秋节): deep valley 10–14.
    assert_eq!(period(&lib, zj, "2025-10-02 12:00"), DeepValley);
    assert_eq!(period(&lib, zj, "2025-10-02 15:00"), Peak);
    // Prices: the floating component times the ratio plus the fixed ones.
    let p = lib.get(gd, None).unwrap();
    let fixed = 0.1015 + 0.035 + 0.029;
    assert!((p.price(Peak) - (0.42 * 1.7 + fixed)).abs() < 1e-12);
    assert!((p.price(Valley) - (0.42 * 0.38 + fixed)).abs() < 1e-12);
    // Every part names its provenance; prices are marked as examples.
    assert!(p
        .provenance()
        .iter()
        .any(|(k, v)| k == "component.purchase" && v.status == Status::Example));
}

/// A two-part tariff with all five periods, in June 2025:
///
/// | window        | period   | energy (floats, flat 0.5) | T&D | all-in |
/// |---------------|----------|---------------------------|-----|--------|
/// | 00–08         | 低谷     | 0.5 × 0.4  = 0.2          | 0.1 | 0.3    |
/// | 08–11, 17–21  | 高峰     | 0.5 × 1.6  = 0.8          | 0.1 | 0.9    |
/// | 11–12 (June)  | 尖峰     | 0.5 × 2.0  = 1.0          | 0.1 | 1.1    |
/// | 12–17, 21–24  | 平段     | 0.5                       | 0.1 | 0.6    |
/// | 10–14 端午节  | 深谷     | 0.5 × 0.25 = 0.125        | 0.1 | 0.225  |
const TEST_TARIFF: &str = include_str!("../tests/fixtures/two_part.toml");

/// June 2025 at a constant 100 kW (25 kWh per 15 minutes), plus one interval at 500 kW on
/// June 10 at 18:00 (高峰). 端午节 2025 is May 31 – June 2, so June 1 and 2 are holidays.
fn june() -> (Tariff, Vec<(i64, f64)>, i64, i64) {
    let t = Tariff::from_toml("test.toml", TEST_TARIFF).unwrap();
    let tz = t.timezone();
    let ms = |s: &str| {
        tz.from_local_datetime(&at(s))
            .single()
            .unwrap()
            .timestamp_millis()
    };
    let (from, to) = (ms("2025-06-01 00:00"), ms("2025-07-01 00:00"));
    let spike = ms("2025-06-10 18:00");
    let intervals = (from..to)
        .step_by(900_000)
        .map(|ts| (ts, if ts == spike { 125.0 } else { 25.0 }))
        .collect();
    (t, intervals, from, to)
}

#[test]
fn monthly_two_part_bill_matches_the_hand_computation() {
    let (t, intervals, from_ms, to_ms) = june();
    let cal = HolidayCalendar::china();
    let input = BillInput {
        intervals: &intervals,
        step_minutes: 15,
        from_ms,
        to_ms,
        basic: Some(BasicMethod::ContractDemand {
            contract_kw: 400.0,
            capacity_kva: 800.0,
        }),
        critical_days: Default::default(),
    };
    let b = bill(&t, &cal, &input).unwrap();
    // Ordinary day (28 of them): valley 8 h, peak 3 + 4 h, critical 1 h, flat 5 + 3 h at
    // 100 kW = 800 / 700 / 100 / 800 kWh. Holiday (June 1, 2): valley 800, peak 08–10 and
    // 17–21 = 600, deep valley 10–14 = 400, flat 14–17 and 21–24 = 600. Spike: +100 kWh peak.
    let expected = [
        (PeriodKind::CriticalPeak, 28.0 * 100.0, 1.1),
        (PeriodKind::Peak, 28.0 * 700.0 + 2.0 * 600.0 + 100.0, 0.9),
        (PeriodKind::Flat, 28.0 * 800.0 + 2.0 * 600.0, 0.6),
        (PeriodKind::Valley, 30.0 * 800.0, 0.3),
        (PeriodKind::DeepValley, 2.0 * 400.0, 0.225),
    ];
    assert_eq!(b.periods.len(), 5);
    for (line, (p, kwh, price)) in b.periods.iter().zip(expected) {
        assert_eq!(line.period, p);
        assert!((line.kwh - kwh).abs() < 1e-6, "{p}: {} vs {kwh}", line.kwh);
        assert!((line.price - price).abs() < 1e-12, "{p}");
    }
    assert!((b.kwh - 72_100.0).abs() < 1e-6);
    // 2800 × 1.1 + 20900 × 0.9 + 23600 × 0.6 + 24000 × 0.3 + 800 × 0.225
    // = 3080 + 18810 + 14160 + 7200 + 180 = 43430 yuan.
    assert!(
        (b.energy_amount - 43_430.0).abs() < 1e-6,
        "{}",
        b.energy_amount
    );
    // Components: T&D 72100 × 0.1 = 7210; energy the rest.
    assert!((b.components["transmission"] - 7_210.0).abs() < 1e-6);
    assert!((b.components["energy"] - 36_220.0).abs() < 1e-6);
    // Basic: contract 400 kW × 40 = 16000; max demand 500 kW > 105 % × 400 = 420 kW, so the
    // 80 kW above are billed at 2 × 40: 6400. Basic 22400, total 65830.
    let basic = b.basic.as_ref().unwrap();
    assert!((basic.months[0].max_demand_kw - 500.0).abs() < 1e-9);
    assert!((basic.months[0].excess_kw - 80.0).abs() < 1e-9);
    assert!((basic.amount - 22_400.0).abs() < 1e-6, "{}", basic.amount);
    assert!((b.total - 65_830.0).abs() < 1e-6);
    assert_eq!(
        (b.tariff.as_str(), b.tariff_version.as_str()),
        ("test-two-part", "2025-06")
    );
}

#[test]
fn basic_charge_rules_and_comparison() {
    let (t, intervals, from_ms, to_ms) = june();
    let cal = HolidayCalendar::china();
    let with = |m: BasicMethod| {
        let input = BillInput {
            intervals: &intervals,
            step_minutes: 15,
            from_ms,
            to_ms,
            basic: Some(m),
            critical_days: Default::default(),
        };
        bill(&t, &cal, &input).unwrap().basic.unwrap()
    };
    // Below the 40 % floor: 300 kW < 0.4 × 800 = 320 kW, billed 320 × 40 = 12800, and the
    // excess over 1.05 × 320 = 336 kW is 164 kW × 80 = 13120: 25920.
    let floor = with(BasicMethod::ContractDemand {
        contract_kw: 300.0,
        capacity_kva: 800.0,
    });
    assert!((floor.amount - 25_920.0).abs() < 1e-6, "{}", floor.amount);
    assert!(floor.notes[0].contains("1583"));
    // Every note also in Chinese, in the same order: the floor, then the month's excess.
    assert_eq!(floor.notes.len(), 2, "{:?}", floor.notes);
    assert_eq!(floor.notes_zh.len(), floor.notes.len());
    assert!(
        floor.notes_zh[0].contains("按 320 kW 计费"),
        "{:?}",
        floor.notes_zh
    );
    assert!(
        floor.notes_zh[1].contains("超出的 164.0 kW"),
        "{:?}",
        floor.notes_zh
    );
    // Within 105 %: a contract of 480 kW × 40 = 19200, no excess (500 < 504).
    let within = with(BasicMethod::ContractDemand {
        contract_kw: 480.0,
        capacity_kva: 800.0,
    });
    assert!((within.amount - 19_200.0).abs() < 1e-6);
    assert!((with(BasicMethod::ActualDemand).amount - 20_000.0).abs() < 1e-6);
    assert!(
        (with(BasicMethod::Capacity {
            capacity_kva: 800.0
        })
        .amount
            - 20_000.0)
            .abs()
            < 1e-6
    );
    let input = BillInput {
        intervals: &intervals,
        step_minutes: 15,
        from_ms,
        to_ms,
        basic: None,
        critical_days: Default::default(),
    };
    let cmp = compare_basic(&t, &cal, &input, 800.0, Some(400.0)).unwrap();
    // Best contract: 500 / 1.05 = 476.19 kW → 19047.62 yuan, cheaper than the rest.
    let best = cmp.best_contract_kw.unwrap();
    assert!((best - 500.0 / 1.05).abs() < 1e-9);
    assert!((cmp.options[0].amount - 500.0 / 1.05 * 40.0).abs() < 1e-6);
    assert_eq!(cmp.options.len(), 4);
}

#[test]
fn bad_files_name_the_field() {
    let bad = |from: &str, to: &str| TEST_TARIFF.replace(from, to);
    let e =
        Tariff::from_toml("x.toml", &bad(r#"to = "12:00" },"#, r#"to = "12:10" },"#)).unwrap_err();
    assert_eq!(e.field, "season[0].windows[1].to");
    let e =
        Tariff::from_toml("x.toml", &bad(r#"from = "17:00""#, r#"from = "11:00""#)).unwrap_err();
    assert!(e.message.contains("overlaps"), "{e}");
    let e = Tariff::from_toml("x.toml", &bad("3, 4, 5, 6, 7, 8", "3, 4, 5, 6, 8")).unwrap_err();
    assert!(e.message.contains("months 7"), "{e}");
    let e = Tariff::from_toml("x.toml", &bad("deep_valley = 0.25\n", "")).unwrap_err();
    assert_eq!(e.field, "ratios.deep_valley");
    let e =
        Tariff::from_toml("x.toml", &bad("floats = true", "floats = true\nfloat = 1")).unwrap_err();
    assert!(e.to_string().starts_with("x.toml: line"), "{e}");
    // Every problem of a file is reported, each with its field, not only the first.
    let three = bad(r#"to = "12:00" },"#, r#"to = "12:10" },"#)
        .replace("3, 4, 5, 6, 7, 8", "3, 4, 5, 6, 8")
        .replace("deep_valley = 0.25\n", "");
    let all = Tariff::check_toml("x.toml", &three).unwrap_err();
    let fields: Vec<&str> = all.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"season[0].windows[1].to"), "{all:?}");
    assert!(fields.contains(&"season"), "{all:?}");
    assert!(fields.contains(&"ratios.deep_valley"), "{all:?}");
    assert!(Tariff::check_toml("x.toml", TEST_TARIFF).is_ok());
    let mut lib = TariffLibrary::builtin();
    lib.add_toml("t.toml", TEST_TARIFF).unwrap();
    let e = lib.add_toml("t2.toml", TEST_TARIFF).unwrap_err();
    assert!(e.message.contains("new version"));
    let v2 = TEST_TARIFF.replace("2025-06", "2025-07");
    lib.add_toml("t3.toml", &v2).unwrap();
    assert_eq!(lib.get("test-two-part", None).unwrap().version(), "2025-07");
    assert_eq!(
        lib.get("test-two-part", Some("2025-06")).unwrap().version(),
        "2025-06"
    );
}

#[test]
fn maximum_demand_keeps_the_earliest_largest_interval_and_never_goes_below_zero() {
    let mut m = MaxDemand::default();
    m.add(0, -5.0, 0.25);
    assert_eq!(
        m,
        MaxDemand {
            kw: 0.0,
            at_ms: None
        }
    );
    m.add(900_000, 10.0, 0.25);
    m.add(1_800_000, 10.0, 0.25);
    m.add(2_700_000, 2.0, 0.25);
    assert_eq!(
        m,
        MaxDemand {
            kw: 40.0,
            at_ms: Some(900_000)
        }
    );
}
