//! The time range a `WHERE` condition selects.

use crate::ast::{Cond, TimeCond, TimeOp};

/// A half-open range `[from_ms, to_ms)` in milliseconds since the epoch; `None` is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    /// First millisecond included.
    pub from_ms: Option<i64>,
    /// First millisecond excluded.
    pub to_ms: Option<i64>,
}

/// Why a condition has no single time range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeRangeError {
    /// `OR` with a time bound on either side (InfluxDB refuses these too).
    #[error("time conditions joined by OR are not supported; use AND")]
    OrAcrossTime,
    /// A bound beyond the range of `i64` nanoseconds.
    #[error("time bound out of range")]
    OutOfRange,
}

/// The time range of `cond` (the intersection of its `AND`ed time bounds), given the query's
/// `now` in milliseconds. Conditions on tags and fields do not narrow it. Nanosecond bounds are
/// rounded to the milliseconds they include: `time > t` starts at the first millisecond after
/// `t`, `time <= t` ends after the millisecond holding `t`.
pub fn time_range(cond: &Cond, now_ms: i64) -> Result<TimeRange, TimeRangeError> {
    let now_ns = now_ms
        .checked_mul(1_000_000)
        .ok_or(TimeRangeError::OutOfRange)?;
    let mut range = TimeRange::default();
    collect(cond, now_ns, &mut range)?;
    Ok(range)
}

fn collect(cond: &Cond, now_ns: i64, range: &mut TimeRange) -> Result<(), TimeRangeError> {
    match cond {
        Cond::And(a, b) => {
            collect(a, now_ns, range)?;
            collect(b, now_ns, range)
        }
        Cond::Or(a, b) => {
            if mentions_time(a) || mentions_time(b) {
                return Err(TimeRangeError::OrAcrossTime);
            }
            Ok(())
        }
        Cond::Time(t) => bound(t, now_ns, range),
        Cond::Compare(_) => Ok(()),
    }
}

fn mentions_time(cond: &Cond) -> bool {
    match cond {
        Cond::And(a, b) | Cond::Or(a, b) => mentions_time(a) || mentions_time(b),
        Cond::Time(_) => true,
        Cond::Compare(_) => false,
    }
}

fn bound(t: &TimeCond, now_ns: i64, range: &mut TimeRange) -> Result<(), TimeRangeError> {
    let ns = t.value.eval_ns(now_ns).ok_or(TimeRangeError::OutOfRange)?;
    let floor = ns.div_euclid(1_000_000);
    let ceil = floor + i64::from(ns.rem_euclid(1_000_000) != 0);
    let (from, to) = match t.op {
        TimeOp::Gte => (Some(ceil), None),
        TimeOp::Gt => (Some(floor + 1), None),
        TimeOp::Lt => (None, Some(ceil)),
        TimeOp::Lte => (None, Some(floor + 1)),
        TimeOp::Eq => (Some(ceil), Some(floor + 1)),
    };
    if let Some(f) = from {
        range.from_ms = Some(range.from_ms.map_or(f, |x| x.max(f)));
    }
    if let Some(t) = to {
        range.to_ms = Some(range.to_ms.map_or(t, |x| x.min(t)));
    }
    Ok(())
}
