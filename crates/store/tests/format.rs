//! Raw file formats: a data directory written in format 1 (one value column whose type differs
//! per file, hour partials beside each raw file) opens and reads as before, and compaction
//! rewrites it in format 2's one schema without hour and day partials.

mod shapes;

use std::path::Path;

use chrono::TimeZone;
use shapes::shape_value;
use shulv_store::{Level, Store, StoreConfig};

const QUARTER: i64 = 900_000;

/// The fixture's first instant (2025-01-31T00:00Z); see tests/fixtures/README.md.
fn t0() -> i64 {
    chrono::Utc
        .with_ymd_and_hms(2025, 1, 31, 0, 0, 0)
        .unwrap()
        .timestamp_millis()
}

/// The points the fixture holds: series 1–5 for i in 0..288, series 6–7 for i in 96..288.
fn expected(series: u32) -> Vec<(i64, f64)> {
    let from = if series <= 5 { 0 } else { 96 };
    (from..288)
        .map(|i| (t0() + i * QUARTER, shape_value(series, i)))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Whether every raw file under `dir` has format 2's schema.
fn raw_formats(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for month in std::fs::read_dir(dir.join("segments")).unwrap() {
        for f in std::fs::read_dir(month.unwrap().path()).unwrap() {
            let path = f.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".parquet") && name.split('.').count() == 2 {
                let file = std::fs::File::open(&path).unwrap();
                let reader =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                        .unwrap();
                let columns: Vec<String> = reader
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| format!("{}:{}", f.name(), f.data_type()))
                    .collect();
                out.push(columns.join(","));
            }
        }
    }
    out
}

fn check_contents(store: &Store, what: &str) {
    let (from, to) = (t0() - 40 * 86_400_000, t0() + 300 * QUARTER);
    // The fast raw scan (decimal runs folded as integers) agrees with the stored partials.
    for level in [Level::Hour, Level::Day, Level::Month] {
        let stored = store
            .rollups(&[1, 2, 3, 4, 5, 6, 7], level, from, to)
            .unwrap();
        let scanned = store.scan_rollups(None, level, from, to).unwrap();
        assert_eq!(stored.len(), scanned.len(), "{what} {level:?}");
        for (a, b) in stored.iter().zip(&scanned) {
            assert_eq!(
                (a.series, a.bucket_start, a.count, a.min, a.max, a.last),
                (b.series, b.bucket_start, b.count, b.min, b.max, b.last),
                "{what} {level:?}"
            );
            assert!(
                (a.sum - b.sum).abs() <= 1e-9 * a.sum.abs().max(1.0),
                "{what} {level:?}"
            );
        }
    }
    for series in 1..=7 {
        let want = expected(series);
        assert_eq!(
            store.raw(series, from, to).unwrap(),
            want,
            "{what}: series {series}"
        );
        let month: f64 = store
            .rollups(&[series], Level::Month, from, to)
            .unwrap()
            .iter()
            .map(|r| r.sum)
            .sum();
        let total: f64 = want.iter().map(|p| p.1).sum();
        assert!(
            (month - total).abs() <= 1e-12 * total.abs().max(1.0),
            "{what}: series {series} month sums {month} vs {total}"
        );
    }
}

#[test]
fn format_1_reads_as_before_and_compacts_to_format_2() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-v1");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture, dir.path());
    let before = raw_formats(dir.path());
    assert!(
        before.iter().any(|s| s.contains("value:Decimal64(18, 3)")),
        "{before:?}"
    );
    assert!(
        before.iter().any(|s| s.contains("value:Float64")),
        "{before:?}"
    );

    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    check_contents(&store, "format 1");
    store.compact().unwrap();
    check_contents(&store, "compacted");
    assert!(store.verify().unwrap().is_ok());
    drop(store);

    // Hour and day partials of raw points are no longer kept; the old ones went with their
    // segments.
    let finer_partials = std::fs::read_dir(dir.path().join("segments"))
        .unwrap()
        .flat_map(|m| std::fs::read_dir(m.unwrap().path()).unwrap())
        .filter(|f| {
            let name = f.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.ends_with(".hour.parquet") || name.ends_with(".day.parquet")
        })
        .count();
    assert_eq!(finer_partials, 0);
    let after = raw_formats(dir.path());
    assert!(!after.is_empty());
    let one = "series:UInt32,ts:Timestamp(ms, \"UTC\"),unscaled:Int64,scale:Int8,double:Float64";
    for schema in &after {
        assert_eq!(schema, one);
    }
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    check_contents(&store, "reopened");
}
