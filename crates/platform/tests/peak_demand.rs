//! The overview's maximum 15-minute demand on a real store equals the bill's, for interval,
//! register and power meters, PV and gas beside them, a burst the hourly mean misses and a
//! meter that reports more often than it declared.

use std::borrow::Cow;
use std::collections::BTreeSet;

use shulv_ingest::{Instant, Reading};
use shulv_model::RegistryFile;
use shulv_platform::{BillRequest, IngestOptions, Period, Platform, PlatformConfig};
use shulv_tariff::BasicMethod;

/// 2025-03-01T00:00:00+08:00.
const T0: i64 = 1_740_758_400_000;
const Q: i64 = 900_000;
const H: i64 = 3_600_000;

const REGISTRY: &str = r#"
[[node]]
id = "site"
name = "站点"
kind = "site"

[[node]]
id = "ws"
name = "车间"
kind = "workshop"
parent = "site"

[[meter]]
id = "main"
name = "进线"
node = "site"
carrier = "electricity"
unit = "kWh"
reading = "interval"

[[meter]]
id = "reg"
name = "电能表"
node = "ws"
carrier = "electricity"
unit = "kWh"
reading = "cumulative"

[[meter]]
id = "kw"
name = "功率表"
node = "ws"
carrier = "electricity"
unit = "kW"
reading = "instantaneous"
interval_s = 300
max_gap_s = 900

[[meter]]
id = "pv"
name = "光伏"
node = "site"
carrier = "pv_generation"
unit = "kWh"
reading = "interval"

[[meter]]
id = "gas"
name = "天然气"
node = "site"
carrier = "natural_gas"
unit = "m3"
reading = "interval"
"#;

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
    let options = IngestOptions {
        atomic: true,
        received_at: T0 + 40 * 86_400_000,
    };
    let report = platform.ingest(batch, Vec::new(), options).unwrap();
    assert!(report.refused.is_empty(), "{meter}: {:?}", report.refused);
}

/// The billed maximum demand (kW) and its quarter-hour of `node` in March 2025.
fn billed(platform: &Platform, node: &str) -> (f64, Option<i64>) {
    let bill = platform
        .bill(&BillRequest {
            node: node.into(),
            period: Period::Month(2025, 3),
            tariff: "cn-zj-1-10kv-two-part".into(),
            version: None,
            basic: Some(BasicMethod::ActualDemand),
            critical_days: BTreeSet::new(),
            temperature_meter: None,
            compare_capacity_kva: None,
        })
        .unwrap();
    let month = &bill.bill.basic.unwrap().months[0];
    (month.max_demand_kw, month.max_demand_at_ms)
}

#[test]
fn the_peak_read_from_candidate_hours_equals_the_billed_maximum_demand() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::open(PlatformConfig::new(dir.path())).unwrap();
    platform
        .apply_registry(RegistryFile::from_toml(REGISTRY).unwrap())
        .unwrap();
    let quarters = 3 * 96;
    // A steady line whose best hour (day 1, 10:00) has the highest hourly mean, 200 kW.
    let main: Vec<(i64, f64)> = (0..quarters)
        .map(|i| {
            let hour = (i / 4) % 24;
            let kwh = if i / 4 == 10 {
                50.0
            } else {
                20.0 + hour as f64
            };
            (T0 + i as i64 * Q, kwh)
        })
        .collect();
    send(&platform, "main", &main);
    // A register that bursts for one quarter on day 2 at 14:45: its hour's mean is lower than
    // 10:00 on day 1, but its 15-minute peak is the month's.
    let mut register = 1000.0;
    let reg: Vec<(i64, f64)> = (0..=quarters)
        .map(|i| {
            let at = (T0 + i as i64 * Q, register);
            register += if i == 96 + 14 * 4 + 3 { 40.0 } else { 1.0 };
            at
        })
        .collect();
    send(&platform, "reg", &reg);
    // A power meter every 5 minutes, and PV and gas that are not electricity import.
    let kw: Vec<(i64, f64)> = (0..=quarters * 3)
        .map(|i| (T0 + i as i64 * 300_000, 8.0 + (i % 7) as f64))
        .collect();
    send(&platform, "kw", &kw);
    let sunny: Vec<(i64, f64)> = (0..quarters).map(|i| (T0 + i as i64 * Q, 500.0)).collect();
    send(&platform, "pv", &sunny);
    send(&platform, "gas", &sunny);

    for node in ["site", "ws"] {
        let peak = platform.peak_demand(node, Period::Month(2025, 3)).unwrap();
        assert_eq!((peak.kw, peak.at_ms), billed(&platform, node), "{node}");
        assert!(peak.hours_read < peak.hours / 4, "{node}: {peak:?}");
    }
    let site = platform
        .peak_demand("site", Period::Month(2025, 3))
        .unwrap();
    assert_eq!(site.at_ms, Some(T0 + 86_400_000 + 14 * H + 3 * Q));
    assert_eq!(site.meters, 3);

    // The line reports twice inside one quarter of day 3, 09:00 (five points in an hour it
    // declared four for): no spacing is assumed for that hour, and the sum stays exact.
    send(
        &platform,
        "main",
        &[(T0 + 2 * 86_400_000 + 9 * H + 300_000, 400.0)],
    );
    let peak = platform
        .peak_demand("site", Period::Month(2025, 3))
        .unwrap();
    assert_eq!((peak.kw, peak.at_ms), billed(&platform, "site"));
    assert_eq!(peak.at_ms, Some(T0 + 2 * 86_400_000 + 9 * H));

    // A month without data has no peak.
    let empty = platform
        .peak_demand("site", Period::Month(2025, 4))
        .unwrap();
    assert_eq!((empty.kw, empty.at_ms, empty.hours), (0.0, None, 0));
}

#[test]
fn raw_points_past_retention_are_not_guessed_from_the_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = PlatformConfig::new(dir.path());
    config.raw_retention = Some(std::time::Duration::from_secs(86_400));
    let platform = Platform::open(config).unwrap();
    platform
        .apply_registry(RegistryFile::from_toml(REGISTRY).unwrap())
        .unwrap();
    let main: Vec<(i64, f64)> = (0..96).map(|i| (T0 + i * Q, 10.0 + i as f64)).collect();
    send(&platform, "main", &main);
    platform.store().flush().unwrap();
    platform.store().compact().unwrap();
    // The rollups still hold the day, its raw points are gone: the bill finds no 15-minute
    // import, and so does the overview, which reads the whole month rather than trust bounds.
    let peak = platform
        .peak_demand("site", Period::Month(2025, 3))
        .unwrap();
    assert_eq!((peak.kw, peak.at_ms), billed(&platform, "site"));
    assert_eq!((peak.kw, peak.at_ms), (0.0, None));
    assert_eq!((peak.hours, peak.hours_read), (24, 24));
}
