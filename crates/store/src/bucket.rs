//! Calendar buckets: UTC hours, local days and local months, and UTC-month partitions.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;

use crate::Level;

const HOUR_MS: i64 = 3_600_000;
/// Smallest instant the store accepts (0001-01-01T00:00:00Z).
pub(crate) const MIN_TS: i64 = -62_135_596_800_000;
/// Largest instant the store accepts (9999-12-01T00:00:00Z, so every bucket end exists).
pub(crate) const MAX_TS: i64 = 253_399_622_400_000;
/// Upper bound on any bucket's length, used to widen time filters.
pub(crate) const MAX_BUCKET_MS: i64 = 33 * 24 * HOUR_MS;

/// `[start, end)` of the bucket of `level` containing `ts`, in the zone `tz`.
pub(crate) fn bucket(level: Level, tz: Tz, ts: i64) -> (i64, i64) {
    let hour = ts.div_euclid(HOUR_MS) * HOUR_MS;
    if level == Level::Hour {
        return (hour, hour + HOUR_MS);
    }
    let Some(utc) = DateTime::from_timestamp_millis(ts) else {
        return (hour, hour + HOUR_MS);
    };
    let date = utc.with_timezone(&tz).date_naive();
    let (first, next) = match level {
        Level::Day => (Some(date), date.succ_opt()),
        _ => {
            let first = date.with_day(1);
            let next = if date.month() == 12 {
                NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)
            };
            (first, next)
        }
    };
    match (
        first.and_then(|d| midnight(tz, d)),
        next.and_then(|d| midnight(tz, d)),
    ) {
        (Some(s), Some(e)) if s <= ts && ts < e => (s, e),
        _ => (hour, hour + HOUR_MS),
    }
}

/// First instant of the local calendar day `date` in `tz` (skips DST gaps at midnight).
fn midnight(tz: Tz, date: NaiveDate) -> Option<i64> {
    (0..4).find_map(|h| {
        let local = date.and_hms_opt(h, 0, 0)?;
        tz.from_local_datetime(&local)
            .earliest()
            .map(|t| t.timestamp_millis())
    })
}

/// A UTC calendar month, `year * 12 + month0`; raw data is partitioned by it.
pub(crate) type Partition = i32;

/// Partition of an instant.
pub(crate) fn partition_of(ts: i64) -> Partition {
    match DateTime::from_timestamp_millis(ts) {
        Some(t) => t.year() * 12 + t.month0() as i32,
        None => 0,
    }
}

/// `[start, end)` of a partition in ms.
pub(crate) fn partition_bounds(p: Partition) -> (i64, i64) {
    let start = |p: Partition| {
        NaiveDate::from_ymd_opt(p.div_euclid(12), p.rem_euclid(12) as u32 + 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc().timestamp_millis())
            .unwrap_or(0)
    };
    (start(p), start(p + 1))
}

/// Directory name of a partition, `YYYY-MM`.
pub(crate) fn partition_name(p: Partition) -> String {
    format!("{:04}-{:02}", p.div_euclid(12), p.rem_euclid(12) + 1)
}

/// Parse `YYYY-MM`.
pub(crate) fn parse_partition(name: &str) -> Option<Partition> {
    let (y, m) = name.split_once('-')?;
    let y: i32 = y.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    (1..=12).contains(&m).then_some(y * 12 + m - 1)
}

/// Is `ts` a plausible instant (within the supported calendar range)?
pub(crate) fn valid_ts(ts: i64) -> bool {
    (MIN_TS..MAX_TS).contains(&ts)
}
