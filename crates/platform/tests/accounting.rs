//! Energy and carbon accounts computed from stored meter data: the worked example of the
//! reference (carbon.md section 8) written as readings and read back through the store's
//! rollups, the additivity of the tree, factor files added at run time, and grades.

use std::borrow::Cow;
use std::collections::BTreeMap;

use shulv_carbon::{EnergySettings, Regime, Settings};
use shulv_ingest::{Instant, Reading};
use shulv_model::RegistryFile;
use shulv_platform::{AccountRequest, FactorKind, IngestOptions, Period, Platform, PlatformConfig};

/// 2023-01-01T00:00:00+08:00.
const Y2023: i64 = 1_672_502_400_000;
const DAY: i64 = 86_400_000;
const Q: i64 = 900_000;

const REGISTRY: &str = r#"
[[node]]
id = "park"
name = "园区"
kind = "park"
attributes = { province = "CN-ZJ", grid_region = "GRID-EAST" }

[[node]]
id = "company-a"
name = "A 公司"
kind = "enterprise"
parent = "park"
industry = "C17"

[[node]]
id = "company-b"
name = "B 公司"
kind = "enterprise"
parent = "park"
industry = "C17"

[[meter]]
id = "a-boiler-coal"
name = "锅炉燃煤"
node = "company-a"
carrier = "coal_raw"
unit = "t"
reading = "interval"
fuel = "a:boiler_coal"

[[meter]]
id = "a-canteen-lpg"
name = "食堂液化气"
node = "company-a"
carrier = "lpg"
unit = "kg"
reading = "interval"
fuel = "a:canteen_lpg"

[[meter]]
id = "a-grid"
name = "外购电"
node = "company-a"
carrier = "electricity"
unit = "kWh"
reading = "interval"

[[meter]]
id = "a-logistics-diesel"
name = "外包物流柴油"
node = "company-a"
carrier = "diesel"
unit = "t"
reading = "interval"
emission_source = "scope3"
scope3_category = 4
fuel = "a:logistics_diesel"

[[meter]]
id = "a-value-added"
name = "增加值"
node = "company-a"
carrier = "value_added"
unit = "10k yuan"
reading = "interval"

[[meter]]
id = "b-gas"
name = "天然气"
node = "company-b"
carrier = "natural_gas"
unit = "m3"
reading = "interval"

[[meter]]
id = "b-grid"
name = "外购电"
node = "company-b"
carrier = "electricity"
unit = "kWh"
reading = "interval"

[[meter]]
id = "b-value-added"
name = "增加值"
node = "company-b"
carrier = "value_added"
unit = "10k yuan"
reading = "interval"
"#;

/// Company A's own fuels (NCV, carbon content and oxidation of the worked example).
const FUELS: &str = "id,version,guideline,fuel,ncv,ncv_unit,cc_tc_per_gj,oxidation,status\n\
a:boiler_coal,1,company_a,boiler coal,20,GJ/t,0.02749,0.94,S\n\
a:canteen_lpg,1,company_a,canteen LPG,41.87,GJ/t,0.0172,0.98,S\n\
a:logistics_diesel,1,company_a,logistics diesel,43,GJ/t,0.0202,0.98,S\n";

fn open(name: &str) -> Platform {
    let dir = std::env::temp_dir().join(format!(
        "shulv-accounting-{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    ));
    let platform = Platform::open(PlatformConfig::new(&dir)).unwrap();
    platform.add_factors(FactorKind::Fuels, FUELS).unwrap();
    platform
        .apply_registry(RegistryFile::from_toml(REGISTRY).unwrap())
        .unwrap();
    platform
}

fn send(platform: &Platform, meter: &str, readings: &[(i64, f64)]) {
    let batch = readings
        .iter()
        .enumerate()
        .map(|(i, &(ts, value))| Reading {
            line: i + 1,
            meter: Cow::Borrowed(meter),
            ts: Instant::Utc(ts),
            value,
            unit: None,
        })
        .collect();
    let report = platform
        .ingest(
            batch,
            Vec::new(),
            IngestOptions {
                atomic: true,
                received_at: Y2023 + 400 * DAY,
            },
        )
        .unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
}

/// `total` spread over the days of 2023 (one reading per day, a weekly shape).
fn daily(total: f64) -> Vec<(i64, f64)> {
    let shape: Vec<f64> = (0..365)
        .map(|d| if d % 7 < 5 { 1.2 } else { 0.5 })
        .collect();
    let sum: f64 = shape.iter().sum();
    (0..365)
        .map(|d| (Y2023 + d as i64 * DAY, total * shape[d] / sum))
        .collect()
}

/// `total` in 15-minute readings over 2023 with a day/night shape.
fn quarter_hourly(total: f64) -> Vec<(i64, f64)> {
    let n = 365 * 96;
    let shape: Vec<f64> = (0..n)
        .map(|i| {
            if (32..80).contains(&(i % 96)) {
                3.0
            } else {
                1.0
            }
        })
        .collect();
    let sum: f64 = shape.iter().sum();
    (0..n)
        .map(|i| (Y2023 + i as i64 * Q, total * shape[i] / sum))
        .collect()
}

fn load_company_a(p: &Platform) {
    send(p, "a-boiler-coal", &daily(1000.0));
    send(p, "a-canteen-lpg", &daily(5000.0));
    send(p, "a-grid", &quarter_hourly(5_000_000.0));
    send(
        p,
        "a-logistics-diesel",
        &[(Y2023 + 100 * DAY, 1.25), (Y2023 + 200 * DAY, 0.75)],
    );
    send(p, "a-value-added", &[(Y2023 + 364 * DAY, 6000.0)]);
}

fn request(node: &str, settings: Settings) -> AccountRequest {
    AccountRequest {
        node: node.into(),
        period: Period::Year(2023),
        energy: EnergySettings {
            allow_unconfirmed: settings.allow_unconfirmed,
            ..EnergySettings::default()
        },
        settings,
    }
}

/// Settings that let unconfirmed (status S) factors be defaults, as the demo does.
fn allowing_unconfirmed(regime: Regime) -> Settings {
    Settings {
        regime,
        allow_unconfirmed: true,
        ..Settings::default()
    }
}

#[test]
fn worked_example_reproduces_from_stored_readings() {
    let p = open("worked");
    load_company_a(&p);
    let settings = Settings {
        regime: Regime::CnMeeNbs,
        electricity_year: Some(2021),
        ..Settings::default()
    };
    let acc = p.account(&request("company-a", settings)).unwrap();
    let line = |m: &str| acc.inventory.lines.iter().find(|l| l.meter == m).unwrap();
    assert_eq!(format!("{:.2}", line("a-boiler-coal").co2e_t), "1894.98");
    assert_eq!(format!("{:.2}", line("a-canteen-lpg").co2e_t), "12.94");
    assert_eq!(format!("{:.2}", line("a-grid").co2e_t), "2784.00");
    assert_eq!(format!("{:.2}", line("a-logistics-diesel").co2e_t), "6.24");
    assert_eq!(format!("{:.2}", acc.inventory.total_location_t), "4691.92");
    assert_eq!(line("a-grid").factors[0].id, "mee_nbs_average:2021:CN");
    // The meter data behind the numbers came from the monthly rollups.
    let grid = acc.meters.iter().find(|m| m.meter == "a-grid").unwrap();
    assert_eq!(
        (grid.points, grid.source.as_str()),
        (35_040, "rollup:month")
    );
    // 综合能耗: coal by its NCV (20/29.307 tce/t), LPG 1.7143 kgce/kg, electricity 0.1229 kgce/kWh.
    let tce = 1000.0 * 20.0 / 29.307 + 5.0 * 41.87 / 29.307 + 5_000_000.0 * 0.1229e-3;
    assert!(
        (acc.energy.total_tce - tce).abs() < 1e-6,
        "{} vs {tce}",
        acc.energy.total_tce
    );
    assert_eq!(acc.value_added_10k_yuan, Some(6000.0));
    let ci = acc.carbon_intensity_t_per_10k_yuan.unwrap();
    assert!((ci - acc.inventory.total_location_t / 6000.0).abs() < 1e-12);
}

#[test]
fn a_node_is_the_sum_of_its_children_under_every_regime() {
    let p = open("additive");
    load_company_a(&p);
    send(&p, "b-gas", &daily(250_000.0));
    send(&p, "b-grid", &quarter_hourly(1_200_000.0));
    send(&p, "b-value-added", &[(Y2023 + 364 * DAY, 3000.0)]);
    // IPCC 2006 gives natural gas per tonne: a volume meter is refused (no density assumed).
    let ipcc = allowing_unconfirmed(Regime::Ipcc2006);
    let e = p.account(&request("park", ipcc)).unwrap_err().to_string();
    assert!(e.contains("b-gas") && e.contains("mass"), "{e}");
    // Natural gas has no confirmed default factor: refused unless allowed, naming the factor.
    let strict = p
        .account(&request("company-b", Settings::default()))
        .unwrap_err()
        .to_string();
    assert!(
        strict.contains("allow_unconfirmed=true") && strict.contains("natural_gas"),
        "{strict}"
    );
    for regime in [
        Regime::CnCarbonMarket,
        Regime::CnMeeNbs,
        Regime::GhgProtocol,
    ] {
        let s = allowing_unconfirmed(regime);
        let park = p.account(&request("park", s.clone())).unwrap();
        let a = p.account(&request("company-a", s.clone())).unwrap();
        let b = p.account(&request("company-b", s)).unwrap();
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(1.0);
        let inv = |acc: &shulv_platform::Account| {
            let i = &acc.inventory;
            [
                i.scope1.total_t,
                i.scope2_location.total_t,
                i.scope3.total_t,
                i.total_location_t,
                i.total_market_t.unwrap_or(0.0),
            ]
        };
        for (k, (x, (ya, yb))) in inv(&park)
            .iter()
            .zip(inv(&a).iter().zip(inv(&b).iter()))
            .enumerate()
        {
            assert!(
                close(*x, ya + yb),
                "{regime:?} figure {k}: {x} vs {ya} + {yb}"
            );
        }
        assert!(close(
            park.energy.total_tce,
            a.energy.total_tce + b.energy.total_tce
        ));
        for scope in [
            &park.inventory.scope1,
            &park.inventory.scope2_location,
            &park.inventory.scope3,
        ] {
            assert!(
                close(scope.total_t, scope.by_source.values().sum()),
                "{regime:?}"
            );
        }
    }
}

#[test]
fn grades_rank_the_enterprises_of_a_park() {
    let p = open("grades");
    load_company_a(&p);
    send(&p, "b-gas", &daily(250_000.0));
    send(&p, "b-grid", &quarter_hourly(1_200_000.0));
    send(&p, "b-value-added", &[(Y2023 + 364 * DAY, 3000.0)]);
    let report = p
        .carbon_grades(
            "park",
            Period::Year(2023),
            &allowing_unconfirmed(Regime::CnMeeNbs),
            &BTreeMap::new(),
        )
        .unwrap();
    assert_eq!(report.enterprises.len(), 2);
    let (first, second) = (&report.enterprises[0], &report.enterprises[1]);
    assert!(first.l <= second.l && first.rank == 1 && second.rank == 2);
    // Same industry: the average is total CO2 / total value added of both.
    let avg =
        (first.co2_t + second.co2_t) / (first.value_added_10k_yuan + second.value_added_10k_yuan);
    assert!((first.industry_average_l - avg).abs() < 1e-12);
    assert!((first.k - first.l / avg).abs() < 1e-12);
}

#[test]
fn factor_files_are_validated_kept_and_versioned() {
    let p = open("factors");
    let bad = "id,version,guideline,fuel,ncv,ncv_unit,cc_tc_per_gj,oxidation,status\nx,1,g,f,20,GJ/t,27.49,0.94,S\n";
    let e = p
        .add_factors(FactorKind::Fuels, bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2") && e.contains("cc_tc_per_gj"), "{e}");
    let again = p
        .add_factors(FactorKind::Fuels, FUELS)
        .unwrap_err()
        .to_string();
    assert!(again.contains("exists already"), "{again}");
    let v2 = "id,version,guideline,fuel,ncv,ncv_unit,cc_tc_per_gj,oxidation,status\na:boiler_coal,2,company_a,boiler coal (2024 lab),21,GJ/t,0.02749,0.94,S\n";
    p.add_factors(FactorKind::Fuels, v2).unwrap();
    load_company_a(&p);
    let new = p
        .account(&request("company-a", Settings::default()))
        .unwrap();
    let coal = |acc: &shulv_platform::Account| {
        acc.inventory
            .lines
            .iter()
            .find(|l| l.meter == "a-boiler-coal")
            .unwrap()
            .clone()
    };
    assert_eq!(coal(&new).factors[0].version, 2);
    // Pinning version 1 reproduces the earlier result.
    let pinned = Settings {
        pins: BTreeMap::from([("a:boiler_coal".to_string(), 1)]),
        ..Settings::default()
    };
    let old = p.account(&request("company-a", pinned)).unwrap();
    assert_eq!(format!("{:.2}", coal(&old).co2e_t), "1894.98");
    // The files survive a restart.
    let dir = p.data_dir().to_path_buf();
    drop(p);
    let p = Platform::open(PlatformConfig::new(&dir)).unwrap();
    assert_eq!(
        p.factor_library()
            .fuel("a:boiler_coal", None)
            .unwrap()
            .factor
            .version,
        2
    );
}

#[test]
fn certificates_are_retired_once_and_cover_market_based_scope_2() {
    use shulv_platform::{CertificateKind, NewCertificate};
    let p = std::sync::Arc::new(open("certificates"));
    load_company_a(&p);
    let gec = |id: &str, a: u32, b: u32| NewCertificate {
        id: id.into(),
        kind: CertificateKind::Gec,
        owner: "company-a".into(),
        mwh: f64::from(b - a + 1),
        vintage: 2023,
        technology: "wind".into(),
        region: "CN-NM".into(),
        serial_start: format!("GEC2023NM{a:06}"),
        serial_end: format!("GEC2023NM{b:06}"),
    };
    assert_eq!(
        p.register_certificates(vec![gec("lot-1", 1, 1000)], &|_| true)
            .unwrap(),
        1
    );
    // Overlapping serials, a wrong GEC quantity and a repeated id are refused, whole batch.
    let overlap = p
        .register_certificates(
            vec![gec("lot-2", 2000, 2999), gec("lot-3", 900, 1100)],
            &|_| true,
        )
        .unwrap_err()
        .to_string();
    assert!(overlap.contains("overlaps certificate lot-1"), "{overlap}");
    let mut wrong = gec("lot-4", 3000, 3009);
    wrong.mwh = 12.0;
    assert!(p
        .register_certificates(vec![wrong], &|_| true)
        .unwrap_err()
        .to_string()
        .contains("1 GEC = 1 MWh"));
    assert_eq!(
        p.certificates().len(),
        1,
        "nothing of a refused batch is kept"
    );

    // Eight concurrent retirements of the same certificate: exactly one succeeds.
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let p = p.clone();
            std::thread::spawn(move || {
                p.retire_certificate(
                    "lot-1",
                    "company-a",
                    Period::Year(2023),
                    &format!("worker {i}"),
                )
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(e, shulv_platform::PlatformError::Conflict(_)),
            "{e}"
        );
    }

    // GHG Protocol market-based: 1 000 of 5 000 MWh covered, the rest at the residual-like 口径.
    let ghg = Settings {
        electricity_year: Some(2022),
        ..allowing_unconfirmed(Regime::GhgProtocol)
    };
    let acc = p.account(&request("company-a", ghg.clone())).unwrap();
    let market = acc.inventory.scope2_market.as_ref().unwrap().total_t;
    assert!((market - 4000.0 * 0.5856).abs() < 1e-6, "{market}");
    assert_eq!(acc.inventory.certificates_mwh_applied, 1000.0);
    // The park account includes its enterprise's certificate; a month account does not (the
    // certificate covers the year).
    let park = p.account(&request("park", ghg.clone())).unwrap();
    assert_eq!(park.inventory.certificates.len(), 1);
    let month = p
        .account(&AccountRequest {
            period: Period::Month(2023, 3),
            ..request("company-a", ghg)
        })
        .unwrap();
    assert!(month.inventory.certificates.is_empty());

    // The book survives a restart, retirement included.
    let dir = p.data_dir().to_path_buf();
    drop(month);
    let p = std::sync::Arc::into_inner(p).unwrap();
    drop(p);
    let p = Platform::open(PlatformConfig::new(&dir)).unwrap();
    let c = &p.certificates()[0];
    assert_eq!(c.retirement.as_ref().unwrap().entity, "company-a");
    assert!(p
        .retire_certificate("lot-1", "company-a", Period::Year(2023), "again")
        .is_err());
}

#[test]
fn scope3_activity_data_without_meters_is_accounted_and_kept() {
    use shulv_platform::NewActivityRecord;
    let p = open("scope3");
    load_company_a(&p);
    let record = |id: &str, period: &str, quantity: f64| NewActivityRecord {
        id: id.into(),
        node: "company-a".into(),
        period: period.into(),
        category: 6,
        description: "business travel by air".into(),
        quantity,
        unit: "passenger·km".into(),
        factor: 0.15,
        factor_unit: "kgCO2e/passenger·km".into(),
        factor_source: "DEFRA 2023 conversion factors, business travel air".into(),
        factor_status: shulv_carbon::Status::S,
    };
    // Validation names the record and the field; nothing is stored from a refused batch.
    let mut bad = record("bad", "2023-03", 1.0);
    bad.factor_unit = "kgCO2e/km".into();
    let e = p
        .add_activity_records(vec![record("ok", "2023-03", 1.0), bad], "test")
        .unwrap_err()
        .to_string();
    assert!(e.contains("records[1] (bad): factor_unit"), "{e}");
    assert!(p.activity_records().is_empty());

    let base = p
        .account(&request("company-a", Settings::default()))
        .unwrap();
    p.add_activity_records(
        vec![
            record("travel-03", "2023-03", 10_000.0),
            record("travel-q2", "2023-Q2", 20_000.0),
        ],
        "test",
    )
    .unwrap();
    let year = p
        .account(&request("company-a", Settings::default()))
        .unwrap();
    // 30 000 passenger·km × 0.15 kgCO2e = 4.5 tCO2e in Scope 3 category 6, nothing else moves.
    let added = year.inventory.scope3.total_t - base.inventory.scope3.total_t;
    assert!((added - 4.5).abs() < 1e-9, "{added}");
    assert!((year.inventory.scope3.by_source["scope3_category_6"] - 4.5).abs() < 1e-9);
    assert_eq!(
        year.inventory.total_location_t,
        base.inventory.total_location_t
    );
    let line = year
        .inventory
        .lines
        .iter()
        .find(|l| l.meter == "activity:travel-03")
        .unwrap();
    assert_eq!(
        line.factors[0].document,
        "DEFRA 2023 conversion factors, business travel air"
    );
    // The park includes its enterprise's records; March includes only the March record, and
    // says why the quarter's record is left out of a month.
    let close = |x: f64, y: f64| (x - y).abs() < 1e-9;
    let park = p
        .account(&request("park", allowing_unconfirmed(Regime::CnMeeNbs)))
        .unwrap();
    assert!(close(
        park.inventory.scope3.by_source["scope3_category_6"],
        4.5
    ));
    let march = p
        .account(&AccountRequest {
            period: Period::Month(2023, 3),
            ..request("company-a", Settings::default())
        })
        .unwrap();
    assert!(close(
        march.inventory.scope3.by_source["scope3_category_6"],
        1.5
    ));
    let april = p
        .account(&AccountRequest {
            period: Period::Month(2023, 4),
            ..request("company-a", Settings::default())
        })
        .unwrap();
    assert!(april
        .inventory
        .notes
        .iter()
        .any(|n| n.contains("travel-q2") && n.contains("left out")));
    // Records survive a restart; deleting one removes it from the accounts.
    let dir = p.data_dir().to_path_buf();
    drop(p);
    let p = Platform::open(PlatformConfig::new(&dir)).unwrap();
    assert_eq!(p.activity_records().len(), 2);
    p.delete_activity_record("travel-q2").unwrap();
    let after = p
        .account(&request("company-a", Settings::default()))
        .unwrap();
    assert!(close(
        after.inventory.scope3.by_source["scope3_category_6"],
        1.5
    ));
    assert!(p.delete_activity_record("travel-q2").is_err());
}
