//! A backup snapshot holds every file a user added besides meter data: factor files, tariff
//! versions, Scope 3 activity records and stored forecasts, so a restore loses none of them.

use std::borrow::Cow;

use shulv_ingest::{Instant, Reading};
use shulv_model::RegistryFile;
use shulv_platform::{
    FactorKind, ForecastRequest, IngestOptions, ModelKind, NewActivityRecord, Platform,
    PlatformConfig, Target,
};

/// The two-part tariff of the hand-computed bill (crates/tariff/src/tests.rs).
const TARIFF: &str = include_str!("../../tariff/tests/fixtures/two_part.toml");

#[test]
fn a_snapshot_holds_user_factors_tariffs_and_activity_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = Platform::open(PlatformConfig::new(dir.path().join("data"))).unwrap();
    p.apply_registry(
        RegistryFile::from_toml(
            "[[node]]\nid = \"e1\"\nname = \"e1\"\nkind = \"enterprise\"\n\
             [[meter]]\nid = \"e1.main\"\nname = \"main\"\nnode = \"e1\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"interval\"\n",
        )
        .unwrap(),
    )
    .unwrap();
    // Two days of hourly readings and a stored day-ahead forecast of them.
    let t0 = 1_740_758_400_000_i64; // 2025-03-01T00:00:00+08:00
    let readings = (0..48)
        .map(|h| Reading {
            line: h + 1,
            meter: Cow::Borrowed("e1.main"),
            ts: Instant::Utc(t0 + h as i64 * 3_600_000),
            value: 10.0 + (h % 24) as f64,
            unit: None,
        })
        .collect();
    let options = IngestOptions {
        atomic: true,
        received_at: t0 + 49 * 3_600_000,
    };
    p.ingest(readings, Vec::new(), options).unwrap();
    let answer = p
        .forecast(&ForecastRequest {
            target: Target::Meter("e1.main".into()),
            horizon: 24,
            model: ModelKind::Naive24,
            from: None,
            to: None,
            intervals: Default::default(),
            carrier: None,
            weather: None,
        })
        .unwrap();
    let forecast = p.store_forecast(&answer, "test").unwrap();
    p.add_factors(
        FactorKind::Fuels,
        "id,version,guideline,fuel,ncv,ncv_unit,cc_tc_per_gj,oxidation,status\n         e1:coal,1,e1,coal,20,GJ/t,0.027,0.9,S\n",
    )
    .unwrap();
    let tariff = p.add_tariff(TARIFF).unwrap();
    p.add_activity_records(
        vec![NewActivityRecord {
            id: "freight".into(),
            node: "e1".into(),
            period: "2025".into(),
            category: 4,
            description: "road freight".into(),
            quantity: 1000.0,
            unit: "t·km".into(),
            factor: 0.062,
            factor_unit: "kgCO2e/t·km".into(),
            factor_source: "carrier declaration".into(),
            factor_status: shulv_carbon::Status::S,
        }],
        "test",
    )
    .unwrap();
    let snap = dir.path().join("snapshot");
    p.snapshot(&snap).unwrap();
    assert!(snap.join(format!("forecasts/{forecast}.json")).is_file());
    assert!(snap.join("factors/fuels-000001.csv").is_file());
    assert!(snap
        .join(format!("tariffs/{}--{}.toml", tariff.id, tariff.version))
        .is_file());
    assert!(std::fs::read_to_string(snap.join("activity-data.json"))
        .unwrap()
        .contains("freight"));
    // The snapshot opens as a platform with the same tariff and records.
    let restored = Platform::open(PlatformConfig::new(&snap)).unwrap();
    assert!(restored.tariff(&tariff.id, None).is_ok());
    assert_eq!(restored.activity_records().len(), 1);
    assert_eq!(
        restored.stored_forecast(&forecast).unwrap(),
        p.stored_forecast(&forecast).unwrap()
    );
}
