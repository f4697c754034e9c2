//! # shulv-ingest
//!
//! Parsers for outside meter data: InfluxDB line protocol ([`line_protocol`]), JSON batches
//! ([`json`]) and CSV ([`csv`]). They turn text into [`Reading`]s with exact line/field
//! errors ([`LineError`]) and know nothing about the registry: meter ids, units and local
//! timestamps are resolved by the caller.
//!
//! A bad line never stops the others: every parser returns all good readings and lists every
//! bad line in [`Parsed::errors`]. Meter ids and units borrow from the input
//! (`Cow::Borrowed`) unless they had to be unescaped or built.

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDateTime;
use shulv_model::chrono_tz::Tz;
use shulv_model::TimeError;

pub mod csv;
pub mod json;
pub mod line_protocol;

pub use line_protocol::Precision;

/// When a reading was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instant {
    /// Epoch milliseconds (UTC).
    Utc(i64),
    /// Local wall-clock time, to be resolved in the meter's time zone.
    Local(NaiveDateTime),
    /// No timestamp given: use the receive time.
    Missing,
}

impl Instant {
    /// Parses a timestamp text: an integer is epoch milliseconds, RFC 3339 with an offset is
    /// UTC, `YYYY-MM-DD HH:MM[:SS[.fff]]` (or with `T`) and `YYYY-MM-DD` are local;
    /// an empty text is [`Instant::Missing`]. The error is a message for [`LineError`].
    pub fn parse_text(s: &str) -> Result<Instant, String> {
        let t = s.trim();
        if t.is_empty() {
            return Ok(Instant::Missing);
        }
        if let Ok(ms) = t.parse::<i64>() {
            return Ok(Instant::Utc(ms));
        }
        if let Some(ms) = shulv_model::parse_rfc3339(t) {
            return Ok(Instant::Utc(ms));
        }
        shulv_model::parse_naive(t).map(Instant::Local).ok_or_else(|| {
            format!("invalid timestamp {t:?} (expected RFC 3339, YYYY-MM-DD HH:MM[:SS] or epoch milliseconds)")
        })
    }

    /// Epoch milliseconds: `Local` is resolved in `tz` (ambiguous times take the earlier
    /// instant), `Missing` becomes `receive_ms`.
    pub fn resolve(self, tz: Tz, receive_ms: i64) -> Result<i64, TimeError> {
        match self {
            Instant::Utc(ms) => Ok(ms),
            Instant::Local(local) => shulv_model::local_to_utc(local, tz),
            Instant::Missing => Ok(receive_ms),
        }
    }
}

/// One parsed reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading<'a> {
    /// 1-based line of the input (record index for JSON).
    pub line: usize,
    /// Meter id as sent.
    pub meter: Cow<'a, str>,
    /// Timestamp.
    pub ts: Instant,
    /// Value (always finite).
    pub value: f64,
    /// Unit as sent, if any (not validated here).
    pub unit: Option<Cow<'a, str>>,
}

impl Reading<'_> {
    /// Copies borrowed parts so the reading outlives the input.
    pub fn into_owned(self) -> Reading<'static> {
        Reading {
            line: self.line,
            meter: Cow::Owned(self.meter.into_owned()),
            ts: self.ts,
            value: self.value,
            unit: self.unit.map(|u| Cow::Owned(u.into_owned())),
        }
    }
}

/// A problem with one line (or JSON record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line (record index for JSON).
    pub line: usize,
    /// Which part: `measurement`, `tag`, `field key`, `field value`, `fields`, `timestamp`,
    /// `meter`, `value`, `unit`, `header`, `line`, `record`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl LineError {
    pub(crate) fn new(line: usize, field: &str, message: impl Into<String>) -> LineError {
        LineError {
            line,
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.message)
    }
}

impl std::error::Error for LineError {}

/// Result of parsing a body: all good readings and every bad line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed<'a> {
    /// Readings in input order.
    pub readings: Vec<Reading<'a>>,
    /// Problems in input order.
    pub errors: Vec<LineError>,
}

/// Parses a numeric text to a finite f64; the error message is for [`LineError`].
pub(crate) fn parse_finite(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(format!("non-finite value {v}")),
        Err(_) => Err(format!("not a number: {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shulv_model::chrono_tz::Asia::Shanghai;

    #[test]
    fn instants() {
        assert_eq!(
            Instant::parse_text("1709223300000"),
            Ok(Instant::Utc(1_709_223_300_000))
        );
        assert_eq!(
            Instant::parse_text("2024-03-01T00:15:00+08:00"),
            Ok(Instant::Utc(1_709_223_300_000))
        );
        let local = Instant::parse_text("2024-03-01 00:15").unwrap();
        assert!(matches!(local, Instant::Local(_)));
        assert_eq!(local.resolve(Shanghai, 0), Ok(1_709_223_300_000));
        assert_eq!(Instant::parse_text(" "), Ok(Instant::Missing));
        assert_eq!(Instant::Missing.resolve(Shanghai, 42), Ok(42));
        assert!(Instant::parse_text("soon").unwrap_err().contains("soon"));
    }

    #[test]
    fn into_owned_and_display() {
        let body = String::from("m1 value=1");
        let r = line_protocol::parse(&body, Precision::Ns)
            .readings
            .remove(0)
            .into_owned();
        drop(body);
        assert_eq!(r.meter, "m1");
        let e = LineError::new(3, "timestamp", "bad");
        assert_eq!(e.to_string(), "line 3: timestamp: bad");
    }
}
