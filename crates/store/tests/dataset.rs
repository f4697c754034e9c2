//! One schema: a store holding every value shape in several files is read by pyarrow as one
//! dataset and by DuckDB by glob (tests/read_dataset.py): the raw files, hour and day buckets
//! recomputed from them, and the stored rollup kind (month). Their sums equal the store's
//! answers: exactly for raw decimal values (as integers of their scale) and doubles (added in
//! time order), to a few units in the last place for hour and day buckets, to 1e-12 for month
//! rollup sums (DOUBLE columns added in another order). Needs python3 with pyarrow and duckdb
//! (`scripts/setup.sh --tests`).

mod shapes;

use std::process::Command;

use chrono::TimeZone;
use serde_json::Value;
use shapes::{shape_scale, shape_value};
use shulv_store::{Level, Point, Store, StoreConfig};

const QUARTER: i64 = 900_000;

#[test]
fn pyarrow_and_duckdb_read_the_segments_as_one_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.flush_interval = std::time::Duration::from_secs(3600);
    let store = Store::open(config).unwrap();
    let series: Vec<u32> = (1..=7).collect();
    for &s in &series {
        store.register_series(s, chrono_tz::Asia::Shanghai).unwrap();
    }
    let t0 = chrono::Utc
        .with_ymd_and_hms(2025, 1, 20, 0, 0, 0)
        .unwrap()
        .timestamp_millis();
    // Three flushes over three months: several files per month and across months.
    for (from, to) in [(0i64, 1500), (1500, 4000), (4000, 6000)] {
        let points: Vec<Point> = series
            .iter()
            .flat_map(|&s| {
                (from..to).map(move |i| Point {
                    series: s,
                    ts: t0 + i * QUARTER,
                    value: shape_value(s, i),
                })
            })
            .collect();
        store.write(&points).unwrap();
        store.flush().unwrap();
    }
    let (from, to) = (t0 - 40 * 86_400_000, t0 + 6100 * QUARTER);

    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/read_dataset.py"
        ))
        .arg(dir.path())
        .output()
        .expect("python3 runs (scripts/setup.sh --tests installs pyarrow and duckdb)");
    assert!(
        out.status.success(),
        "read_dataset.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();

    for &s in &series {
        let points = store.raw(s, from, to).unwrap();
        let key = s.to_string();
        let (arrow, duck) = (&got["pyarrow"][&key], &got["duckdb"][&key]);
        assert_eq!(arrow["count"], points.len(), "series {s}");
        assert_eq!(duck["count"], points.len(), "series {s}");
        match shape_scale(s) {
            Some(scale) => {
                let pow = 10f64.powi(i32::from(scale));
                let exact: i64 = points.iter().map(|p| (p.1 * pow).round() as i64).sum();
                assert_eq!(arrow["scales"], serde_json::json!([scale]), "series {s}");
                assert_eq!(arrow["unscaled_sum"], exact, "series {s}");
                assert_eq!(duck["unscaled_sum"], exact, "series {s}");
                assert_eq!(duck["scale"], scale, "series {s}");
            }
            None => {
                let sum = points.iter().fold(0.0, |a, p| a + p.1);
                let bits = format!("{:016x}", sum.to_bits());
                assert_eq!(arrow["double_sum_bits"], bits, "series {s}");
                assert_eq!(duck["doubles"], points.len(), "series {s}");
            }
        }
        // Hour and day rollups (computed by the store from the raw files) against DuckDB's exact
        // integer sums per bucket. A bucket in two files adds two partial sums in floating
        // point: hence a few units in the last place, not bit equality.
        if let Some(scale) = shape_scale(s) {
            let pow = 10f64.powi(i32::from(scale));
            for (name, level) in [("hour", Level::Hour), ("day", Level::Day)] {
                let ours = store.rollups(&[s], level, from, to).unwrap();
                let theirs = got["buckets"][name].as_object().unwrap();
                let mine = theirs
                    .keys()
                    .filter(|k| k.starts_with(&format!("{s}:")))
                    .count();
                assert_eq!(ours.len(), mine, "series {s} {name} buckets");
                for r in &ours {
                    let b = &theirs[&format!("{s}:{}", r.bucket_start)];
                    assert_eq!(b[0], r.count, "series {s} {name} {}", r.bucket_start);
                    assert_eq!(b[2], scale, "series {s} {name}");
                    let exact = b[1].as_i64().unwrap() as f64 / pow;
                    assert!(
                        (r.sum - exact).abs() <= 4.0 * f64::EPSILON * exact.abs(),
                        "series {s} {name} {}: {} vs {exact}",
                        r.bucket_start,
                        r.sum
                    );
                }
            }
        }
        // The stored rollup kind: months.
        let ours = store.rollups(&[s], Level::Month, from, to).unwrap();
        let theirs = &got["rollups"]["month"][&key];
        let count: u64 = ours.iter().map(|r| r.count).sum();
        let sum: f64 = ours.iter().map(|r| r.sum).sum();
        let min = ours.iter().map(|r| r.min).fold(f64::INFINITY, f64::min);
        let max = ours.iter().map(|r| r.max).fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(theirs["count"], count, "series {s} month");
        let bits = |v: f64| format!("{:016x}", v.to_bits());
        assert_eq!(theirs["min_bits"], bits(min), "series {s} month");
        assert_eq!(theirs["max_bits"], bits(max), "series {s} month");
        let theirs_sum = theirs["sum"].as_f64().unwrap();
        assert!(
            (theirs_sum - sum).abs() <= 1e-12 * sum.abs().max(1.0),
            "series {s} month: {theirs_sum} vs {sum}"
        );
    }
}
