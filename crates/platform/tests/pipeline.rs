//! The ingest pipeline on a real store: cumulative registers (rollover, replacement, gaps,
//! late and duplicate readings) and power integration (gaps), checked against hand-computed
//! quantities and against the same readings sent in order.

use std::borrow::Cow;

use shulv_ingest::{Instant, Reading};
use shulv_model::{Bucket, RegistryFile};
use shulv_platform::{
    Aggregate, IngestOptions, Platform, PlatformConfig, QuerySpec, ReplacementRecord, Target,
};

/// 2025-03-01T00:00:00+08:00.
const T0: i64 = 1_740_758_400_000;
const Q: i64 = 900_000;

const REGISTRY: &str = r#"
[[node]]
id = "site"
name = "站点"
kind = "site"

[[meter]]
id = "reg"
name = "电能表"
node = "site"
carrier = "electricity"
unit = "kWh"
reading = "cumulative"
rollover = 100000.0

[[meter]]
id = "reg2"
name = "同一电能表（按序）"
node = "site"
carrier = "electricity"
unit = "kWh"
reading = "cumulative"
rollover = 100000.0

[[meter]]
id = "kw"
name = "功率表"
node = "site"
carrier = "electricity"
unit = "kW"
reading = "instantaneous"
max_gap_s = 1800
"#;

fn open(name: &str) -> (Platform, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "shulv-pipeline-{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    ));
    let platform = Platform::open(PlatformConfig::new(&dir)).unwrap();
    platform
        .apply_registry(RegistryFile::from_toml(REGISTRY).unwrap())
        .unwrap();
    (platform, dir)
}

fn send(platform: &Platform, meter: &str, readings: &[(i64, f64)]) -> shulv_platform::IngestReport {
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
    platform
        .ingest(
            batch,
            Vec::new(),
            IngestOptions {
                atomic: false,
                received_at: T0 + 86_400_000,
            },
        )
        .unwrap()
}

/// Quantities of a meter in 15-minute buckets: (interval start, value).
fn quantities(platform: &Platform, meter: &str) -> Vec<(i64, f64)> {
    let answer = platform
        .query(&QuerySpec {
            target: Target::Meter(meter.to_string()),
            from: T0,
            to: T0 + 86_400_000,
            bucket: Bucket::Min15,
            aggregate: Aggregate::Sum,
            carrier: None,
        })
        .unwrap();
    answer.series[0]
        .points
        .iter()
        .map(|p| (p.ts, p.value))
        .collect()
}

fn day_total(platform: &Platform, meter: &str) -> f64 {
    let answer = platform
        .query(&QuerySpec {
            target: Target::Meter(meter.to_string()),
            from: T0,
            to: T0 + 86_400_000,
            bucket: Bucket::Day,
            aggregate: Aggregate::Sum,
            carrier: None,
        })
        .unwrap();
    answer.series[0].points.iter().map(|p| p.value).sum()
}

fn close(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && (x.1 - y.1).abs() < 1e-6)
}

#[test]
fn register_with_rollover_and_gap() {
    let (platform, dir) = open("register");
    let readings = [
        (T0, 99_950.0),
        (T0 + Q, 99_980.0), // +30
        (T0 + 2 * Q, 15.0), // rollover at 100 000: +35
        (T0 + 4 * Q, 40.0), // 30-minute gap: +25, stamped at the start of [2Q, 4Q)
    ];
    let report = send(&platform, "reg", &readings);
    assert_eq!(report.accepted, 4, "{report:?}");
    assert_eq!(
        quantities(&platform, "reg"),
        vec![(T0, 30.0), (T0 + Q, 35.0), (T0 + 2 * Q, 25.0)]
    );
    // `last` gives the register itself.
    let answer = platform
        .query(&QuerySpec {
            target: Target::Meter("reg".into()),
            from: T0,
            to: T0 + 86_400_000,
            bucket: Bucket::Day,
            aggregate: Aggregate::Last,
            carrier: None,
        })
        .unwrap();
    assert_eq!(answer.series[0].points[0].value, 40.0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn register_replacement_is_not_read_as_use() {
    // The old meter went 40 → 52 (its final reading), the new one 10 → 22: 12 + 12 = 24 kWh.
    let (platform, dir) = open("replacement");
    platform
        .add_replacement(
            "reg",
            ReplacementRecord {
                at: T0 + 5 * Q,
                old_final: 52.0,
                new_initial: 10.0,
            },
        )
        .unwrap();
    let report = send(&platform, "reg", &[(T0 + 4 * Q, 40.0), (T0 + 6 * Q, 22.0)]);
    assert_eq!(report.accepted, 2, "{report:?}");
    assert_eq!(quantities(&platform, "reg"), vec![(T0 + 4 * Q, 24.0)]);
    // A replacement on a meter that is not a register is refused.
    let err = platform
        .add_replacement(
            "kw",
            ReplacementRecord {
                at: T0,
                old_final: 1.0,
                new_initial: 0.0,
            },
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("not a cumulative register"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn register_going_backwards_is_refused_with_line_and_field() {
    let (platform, dir) = open("backwards");
    let report = send(
        &platform,
        "reg",
        &[(T0, 500.0), (T0 + Q, 510.0), (T0 + 2 * Q, 505.0)],
    );
    assert_eq!(report.accepted, 2);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].line, 3);
    assert_eq!(report.refused[0].field, "value");
    assert!(
        report.refused[0].message.contains("505"),
        "{:?}",
        report.refused
    );
    // Nothing of the refused reading was stored.
    assert_eq!(quantities(&platform, "reg"), vec![(T0, 10.0)]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn late_and_duplicate_register_readings_equal_in_order_ingest() {
    let (platform, dir) = open("late");
    let in_order: Vec<(i64, f64)> = (0..12)
        .map(|i| (T0 + i * Q, 1000.0 + (i * i) as f64 * 1.5))
        .collect();
    send(&platform, "reg2", &in_order);

    // The same readings in three batches, out of order, with duplicates and a flush between.
    let shuffled = |idx: &[usize]| idx.iter().map(|&i| in_order[i]).collect::<Vec<_>>();
    send(&platform, "reg", &shuffled(&[0, 3, 7, 11]));
    platform.store().flush().unwrap();
    send(&platform, "reg", &shuffled(&[5, 1, 9, 3, 3]));
    send(&platform, "reg", &shuffled(&[2, 10, 4, 8, 6, 0]));

    let expected = quantities(&platform, "reg2");
    assert_eq!(expected.len(), 11);
    let got = quantities(&platform, "reg");
    assert!(close(&got, &expected), "{got:?}\n!=\n{expected:?}");
    assert!((day_total(&platform, "reg") - day_total(&platform, "reg2")).abs() < 1e-6);
    let report = platform.store().verify().unwrap();
    assert!(report.is_ok(), "{:?}", report.mismatches);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn power_is_integrated_by_trapezoid_and_not_across_gaps() {
    let (platform, dir) = open("power");
    // 100 kW → 200 kW over 15 min = 37.5 kWh; 200 → 200 = 50 kWh; then a 1-hour gap (> 30 min
    // max_gap): nothing integrated; then 80 → 120 over 15 min = 25 kWh.
    let samples = [
        (T0, 100.0),
        (T0 + Q, 200.0),
        (T0 + 2 * Q, 200.0),
        (T0 + 6 * Q, 80.0),
        (T0 + 7 * Q, 120.0),
    ];
    // Sent out of order: the result must be the same.
    let report = send(
        &platform,
        "kw",
        &[samples[3], samples[0], samples[4], samples[2], samples[1]],
    );
    assert_eq!(report.accepted, 5, "{report:?}");
    assert_eq!(
        quantities(&platform, "kw"),
        vec![(T0, 37.5), (T0 + Q, 50.0), (T0 + 6 * Q, 25.0)]
    );
    // Mean power comes from the samples themselves, in kW.
    let answer = platform
        .query(&QuerySpec {
            target: Target::Meter("kw".into()),
            from: T0,
            to: T0 + 86_400_000,
            bucket: Bucket::Day,
            aggregate: Aggregate::Mean,
            carrier: None,
        })
        .unwrap();
    assert_eq!(answer.series[0].unit, "kW");
    assert!((answer.series[0].points[0].value - 140.0).abs() < 1e-9);
    let _ = std::fs::remove_dir_all(&dir);
}
