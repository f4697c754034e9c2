//! Calendar buckets in a local time zone and instant parsing/formatting.
//!
//! Instants are epoch milliseconds (UTC). Buckets follow the local calendar of the given zone:
//! days start at local midnight (or the first existing local instant after it on days whose
//! midnight is skipped by a DST change), weeks start on Monday, 15-minute and hour buckets
//! follow local wall-clock boundaries (for whole-hour offsets they coincide with UTC).

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    SecondsFormat, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Calendar bucket sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    /// 15 minutes (`15m`).
    Min15,
    /// Hour (`1h`).
    Hour,
    /// Local calendar day.
    Day,
    /// Local calendar week starting Monday.
    Week,
    /// Local calendar month.
    Month,
    /// Local calendar year.
    Year,
}

/// Error for an unknown bucket name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown bucket {0:?} (expected 15m, 1h, day, week, month or year)")]
pub struct UnknownBucket(pub String);

impl Bucket {
    /// Canonical name (`15m`, `1h`, `day`, `week`, `month`, `year`).
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Min15 => "15m",
            Bucket::Hour => "1h",
            Bucket::Day => "day",
            Bucket::Week => "week",
            Bucket::Month => "month",
            Bucket::Year => "year",
        }
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Bucket {
    type Err = UnknownBucket;

    /// Accepts `15m`/`15min`/`min15`, `1h`/`h`/`hour`, `day`/`1d`/`d`, `week`/`1w`/`w`,
    /// `month`/`1mo`, `year`/`1y`/`y` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "15m" | "15min" | "min15" | "15mins" | "quarter_hour" => Bucket::Min15,
            "1h" | "h" | "hour" | "60m" => Bucket::Hour,
            "day" | "1d" | "d" => Bucket::Day,
            "week" | "1w" | "w" => Bucket::Week,
            "month" | "1mo" | "mo" => Bucket::Month,
            "year" | "1y" | "y" => Bucket::Year,
            _ => return Err(UnknownBucket(s.to_string())),
        })
    }
}

impl Serialize for Bucket {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Bucket {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Errors of instant parsing and local-time resolution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not a recognised timestamp.
    #[error("invalid timestamp {0:?} (expected RFC 3339, YYYY-MM-DD HH:MM[:SS], YYYY-MM-DD or epoch milliseconds)")]
    Invalid(String),
    /// The local time does not exist in the zone (skipped by a DST change).
    #[error("local time {local} does not exist in {tz}")]
    NonexistentLocal {
        /// The local time.
        local: NaiveDateTime,
        /// The zone.
        tz: Tz,
    },
}

fn utc(ts_ms: i64) -> DateTime<Utc> {
    // Out-of-range instants (beyond ±262 000 years) are clamped to the epoch.
    DateTime::from_timestamp_millis(ts_ms).unwrap_or_default()
}

fn offset_ms(ts_ms: i64, tz: Tz) -> i64 {
    let off = tz.offset_from_utc_datetime(&utc(ts_ms).naive_utc());
    i64::from(off.fix().local_minus_utc()) * 1000
}

/// First instant at or after local time `t` on its date (handles times skipped by DST);
/// the earlier instant when `t` is ambiguous.
fn local_start(date: NaiveDate, tz: Tz) -> i64 {
    let mut t = date.and_time(NaiveTime::MIN);
    // DST gaps are at most a few hours; step in 15 minutes until the local time exists.
    for _ in 0..(4 * 24) {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(dt) => return dt.timestamp_millis(),
            LocalResult::Ambiguous(a, _) => return a.timestamp_millis(),
            LocalResult::None => t += Duration::minutes(15),
        }
    }
    // Unreachable for real zones; fall back to interpreting midnight at the UTC offset.
    date.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
}

fn local_date(ts_ms: i64, tz: Tz) -> NaiveDate {
    utc(ts_ms).with_timezone(&tz).date_naive()
}

fn start_date(date: NaiveDate, bucket: Bucket) -> NaiveDate {
    match bucket {
        Bucket::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
        Bucket::Month => date.with_day(1).unwrap_or(date),
        Bucket::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date),
        _ => date,
    }
}

/// Start (epoch ms) of the bucket containing `ts_ms` in zone `tz`.
pub fn bucket_start(ts_ms: i64, bucket: Bucket, tz: Tz) -> i64 {
    match bucket {
        Bucket::Min15 | Bucket::Hour => {
            let len = if bucket == Bucket::Min15 {
                900_000
            } else {
                3_600_000
            };
            let off = offset_ms(ts_ms, tz);
            (ts_ms + off).div_euclid(len) * len - off
        }
        _ => local_start(start_date(local_date(ts_ms, tz), bucket), tz),
    }
}

/// Start of the bucket following the one that contains `start_ms`.
pub fn bucket_next(start_ms: i64, bucket: Bucket, tz: Tz) -> i64 {
    match bucket {
        Bucket::Min15 | Bucket::Hour => {
            let len = if bucket == Bucket::Min15 {
                900_000
            } else {
                3_600_000
            };
            let cur = bucket_start(start_ms, bucket, tz);
            bucket_start(cur + len, bucket, tz).max(cur + 1)
        }
        _ => {
            let d = start_date(local_date(start_ms, tz), bucket);
            let next = match bucket {
                Bucket::Day => d + Duration::days(1),
                Bucket::Week => d + Duration::days(7),
                Bucket::Month => {
                    let (y, m) = if d.month() == 12 {
                        (d.year() + 1, 1)
                    } else {
                        (d.year(), d.month() + 1)
                    };
                    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
                }
                _ => NaiveDate::from_ymd_opt(d.year() + 1, 1, 1).unwrap_or(d),
            };
            local_start(next, tz)
        }
    }
}

/// Converts a local wall-clock time in `tz` to epoch ms. Ambiguous times (DST fall-back)
/// resolve to the earlier instant; nonexistent times are an error.
pub fn local_to_utc(local: NaiveDateTime, tz: Tz) -> Result<i64, TimeError> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(dt) | LocalResult::Ambiguous(dt, _) => Ok(dt.timestamp_millis()),
        LocalResult::None => Err(TimeError::NonexistentLocal { local, tz }),
    }
}

/// Parses a zone-less local date-time: `YYYY-MM-DD HH:MM[:SS[.fff]]` (or with `T`),
/// or a date `YYYY-MM-DD` (midnight).
pub fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN))
}

/// Parses an RFC 3339 timestamp with offset (`T` or space separator) to epoch ms.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.timestamp_millis())
}

/// Parses an instant: RFC 3339 with offset, `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DD` in local
/// zone `tz`, or an integer of epoch milliseconds.
pub fn parse_instant(s: &str, tz: Tz) -> Result<i64, TimeError> {
    let t = s.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return Ok(ms);
    }
    if let Some(ms) = parse_rfc3339(t) {
        return Ok(ms);
    }
    match parse_naive(t) {
        Some(local) => local_to_utc(local, tz),
        None => Err(TimeError::Invalid(s.to_string())),
    }
}

/// Formats an instant as RFC 3339 with the zone's offset, e.g. `2024-03-01T00:15:00+08:00`
/// (milliseconds shown only when non-zero).
pub fn format_local(ts_ms: i64, tz: Tz) -> String {
    utc(ts_ms)
        .with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Asia::Kolkata, Asia::Shanghai};

    fn sh(s: &str) -> i64 {
        parse_instant(s, Shanghai).unwrap()
    }

    #[test]
    fn bucket_names() {
        for (s, b) in [
            ("15m", Bucket::Min15),
            ("15min", Bucket::Min15),
            ("1h", Bucket::Hour),
            ("hour", Bucket::Hour),
            ("day", Bucket::Day),
            ("1d", Bucket::Day),
            ("week", Bucket::Week),
            ("MONTH", Bucket::Month),
            ("year", Bucket::Year),
        ] {
            assert_eq!(s.parse::<Bucket>().unwrap(), b);
            assert_eq!(b.as_str().parse::<Bucket>().unwrap(), b);
        }
        assert!("fortnight".parse::<Bucket>().is_err());
        assert_eq!(serde_json::to_string(&Bucket::Min15).unwrap(), "\"15m\"");
    }

    #[test]
    fn parse_and_format() {
        let t = sh("2024-03-01T00:15:00+08:00");
        assert_eq!(t, 1_709_223_300_000);
        assert_eq!(sh("2024-03-01 00:15"), t);
        assert_eq!(sh("2024-03-01 00:15:00"), t);
        assert_eq!(sh("2024-02-29T16:15:00Z"), t);
        assert_eq!(sh("1709223300000"), t);
        assert_eq!(sh("2024-03-01"), t - 15 * 60_000);
        assert_eq!(format_local(t, Shanghai), "2024-03-01T00:15:00+08:00");
        assert_eq!(
            format_local(t + 5, Shanghai),
            "2024-03-01T00:15:00.005+08:00"
        );
        assert!(matches!(
            parse_instant("yesterday", Shanghai),
            Err(TimeError::Invalid(_))
        ));
        // 2024-03-10 02:30 does not exist in New York
        assert!(matches!(
            parse_instant("2024-03-10 02:30", New_York),
            Err(TimeError::NonexistentLocal { .. })
        ));
        // ambiguous resolves to the earlier instant (EDT, -04:00)
        let amb = parse_instant("2024-11-03 01:30", New_York).unwrap();
        assert_eq!(format_local(amb, New_York), "2024-11-03T01:30:00-04:00");
    }

    #[test]
    fn shanghai_buckets() {
        let t = sh("2024-03-06 13:47:12"); // a Wednesday
        assert_eq!(
            bucket_start(t, Bucket::Min15, Shanghai),
            sh("2024-03-06 13:45")
        );
        assert_eq!(
            bucket_start(t, Bucket::Hour, Shanghai),
            sh("2024-03-06 13:00")
        );
        assert_eq!(bucket_start(t, Bucket::Day, Shanghai), sh("2024-03-06"));
        assert_eq!(bucket_start(t, Bucket::Week, Shanghai), sh("2024-03-04"));
        assert_eq!(bucket_start(t, Bucket::Month, Shanghai), sh("2024-03-01"));
        assert_eq!(bucket_start(t, Bucket::Year, Shanghai), sh("2024-01-01"));
        // local midnight, not UTC midnight
        assert_eq!(
            bucket_start(sh("2024-03-06 07:59"), Bucket::Day, Shanghai),
            sh("2024-03-06")
        );
        let d = sh("2024-02-28");
        assert_eq!(bucket_next(d, Bucket::Day, Shanghai), sh("2024-02-29"));
        assert_eq!(
            bucket_next(sh("2024-02-29"), Bucket::Day, Shanghai),
            sh("2024-03-01")
        );
        assert_eq!(
            bucket_next(sh("2024-12-30"), Bucket::Week, Shanghai),
            sh("2025-01-06")
        );
        assert_eq!(
            bucket_next(sh("2024-12-01"), Bucket::Month, Shanghai),
            sh("2025-01-01")
        );
        assert_eq!(
            bucket_next(sh("2024-01-01"), Bucket::Year, Shanghai),
            sh("2025-01-01")
        );
        assert_eq!(
            bucket_next(sh("2024-01-01 23:45"), Bucket::Min15, Shanghai),
            sh("2024-01-02")
        );
        assert_eq!(
            bucket_next(sh("2024-01-01 23:00"), Bucket::Hour, Shanghai),
            sh("2024-01-02")
        );
        // before the epoch
        assert_eq!(
            bucket_start(sh("1969-12-31 10:10"), Bucket::Hour, Shanghai),
            sh("1969-12-31 10:00")
        );
    }

    #[test]
    fn dst_buckets() {
        let ny = |s: &str| parse_instant(s, New_York).unwrap();
        // spring forward: the day has 23 hours
        let d = ny("2024-03-10");
        assert_eq!(bucket_next(d, Bucket::Day, New_York) - d, 23 * 3_600_000);
        assert_eq!(
            bucket_start(ny("2024-03-10 12:00"), Bucket::Day, New_York),
            d
        );
        // fall back: 25 hours; the repeated 01:00 hour yields two hour buckets
        let d = ny("2024-11-03");
        assert_eq!(bucket_next(d, Bucket::Day, New_York) - d, 25 * 3_600_000);
        let first_one = ny("2024-11-03 01:00");
        let second_one = bucket_next(first_one, Bucket::Hour, New_York);
        assert_eq!(second_one - first_one, 3_600_000);
        assert_eq!(
            format_local(second_one, New_York),
            "2024-11-03T01:00:00-05:00"
        );
        assert_eq!(
            bucket_start(second_one + 1_800_000, Bucket::Hour, New_York),
            second_one
        );
        // walking hours over a whole day lands on the next midnight
        let mut t = d;
        let mut n = 0;
        while t < bucket_next(d, Bucket::Day, New_York) {
            t = bucket_next(t, Bucket::Hour, New_York);
            n += 1;
        }
        assert_eq!(n, 25);
        // week containing a DST change
        assert_eq!(
            bucket_start(ny("2024-03-13 09:00"), Bucket::Week, New_York),
            ny("2024-03-11")
        );
        // half-hour offset zone: local hours are not UTC hours
        let k = parse_instant("2024-03-01 10:40", Kolkata).unwrap();
        assert_eq!(
            format_local(bucket_start(k, Bucket::Hour, Kolkata), Kolkata),
            "2024-03-01T10:00:00+05:30"
        );
    }

    #[test]
    fn midnight_gap_zone() {
        // America/Santiago skipped 2024-09-08 00:00 (clocks went to 01:00)
        let tz: Tz = "America/Santiago".parse().unwrap();
        let t = parse_instant("2024-09-08 12:00", tz).unwrap();
        let start = bucket_start(t, Bucket::Day, tz);
        assert_eq!(format_local(start, tz), "2024-09-08T01:00:00-03:00");
        let prev = parse_instant("2024-09-07 12:00", tz).unwrap();
        assert_eq!(
            bucket_next(bucket_start(prev, Bucket::Day, tz), Bucket::Day, tz),
            start
        );
    }
}
