//! The `[from, to)` range in milliseconds of `WHERE` time bounds.

use shulv_influxql::{parse, time_range, Statement, TimeRange, TimeRangeError};

const NOW_MS: i64 = 1_700_000_000_000;

fn range(cond: &str) -> Result<TimeRange, TimeRangeError> {
    let q = format!("SELECT v FROM m WHERE {cond}");
    let Statement::Select(s) = parse(&q).unwrap().remove(0) else {
        panic!()
    };
    time_range(s.condition.as_ref().unwrap(), NOW_MS)
}

fn r(from_ms: Option<i64>, to_ms: Option<i64>) -> Result<TimeRange, TimeRangeError> {
    Ok(TimeRange { from_ms, to_ms })
}

#[test]
fn bounds_and_rounding() {
    // Grafana's absolute $timeFilter: both ends included
    assert_eq!(
        range("time >= 1700000000000ms and time <= 1700086400000ms"),
        r(Some(1_700_000_000_000), Some(1_700_086_400_001))
    );
    assert_eq!(
        range("time > now() - 6h"),
        r(Some(NOW_MS - 21_600_000 + 1), None)
    );
    assert_eq!(
        range("time >= now() - 6h AND time < now()"),
        r(Some(NOW_MS - 21_600_000), Some(NOW_MS))
    );
    assert_eq!(
        range("time = 1700000000s"),
        r(Some(1_700_000_000_000), Some(1_700_000_000_001))
    );
    // nanosecond bounds inside a millisecond
    assert_eq!(
        range("time >= 1500000 AND time < 2500000"),
        r(Some(2), Some(3))
    );
    assert_eq!(
        range("time > 1500000 AND time <= 2500000"),
        r(Some(2), Some(3))
    );
    assert_eq!(range("time < -1500000"), r(None, Some(-1)));
    // intersection of several bounds, tags ignored, tag ORs allowed
    assert_eq!(
        range("(host = 'a' OR host = 'b') AND time > '2025-01-01T00:00:00Z' AND time > now() - 1000d AND time < now() AND time < now() + 1h"),
        r(Some(1_735_689_600_001), Some(NOW_MS))
    );
    assert_eq!(range("host = 'a'"), r(None, None));
}

#[test]
fn or_across_time_is_refused() {
    assert_eq!(
        range("time > now() - 1h OR host = 'a'"),
        Err(TimeRangeError::OrAcrossTime)
    );
    assert_eq!(
        range("host = 'b' OR (host = 'a' AND time > now())"),
        Err(TimeRangeError::OrAcrossTime)
    );
    assert_eq!(
        TimeRangeError::OrAcrossTime.to_string(),
        "time conditions joined by OR are not supported; use AND"
    );
}

#[test]
fn overflow_is_an_error() {
    assert_eq!(
        range("time > now() + 106751d"),
        Err(TimeRangeError::OutOfRange)
    );
    let Statement::Select(s) = parse("SELECT v FROM m WHERE time > now()")
        .unwrap()
        .remove(0)
    else {
        panic!()
    };
    assert_eq!(
        time_range(s.condition.as_ref().unwrap(), i64::MAX),
        Err(TimeRangeError::OutOfRange)
    );
}
