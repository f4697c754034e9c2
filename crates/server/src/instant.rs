//! The one parser of every instant the API accepts (query parameters and JSON bodies): the
//! forms of [`shulv_model::parse_instant`], range-checked so that no far-past or far-future
//! instant reaches the calendar code, and refused with a 400 naming the parameter.
//!
//! The range is that of readings (from 1990-01-01, [`EARLIEST_ACCEPTED_MS`]) up to 2201-01-01,
//! the end of the last period the API accepts (years up to 2200), widened by the largest UTC
//! offsets so that a local midnight of either day is accepted in every time zone.

use chrono::NaiveDate;
use chrono_tz::Tz;
use shulv_platform::EARLIEST_ACCEPTED_MS;

use crate::error::ApiError;

/// 14 hours: the largest UTC offset east (UTC+14).
const EAST_MS: i64 = 14 * 3_600_000;
/// 12 hours: the largest UTC offset west (UTC−12).
const WEST_MS: i64 = 12 * 3_600_000;
/// 2201-01-01T00:00:00Z.
const END_MS: i64 = 7_289_654_400_000;
/// Earliest instant accepted: 1990-01-01 00:00 at UTC+14.
pub const EARLIEST_MS: i64 = EARLIEST_ACCEPTED_MS - EAST_MS;
/// Latest instant accepted: 2201-01-01 00:00 at UTC−12.
pub const LATEST_MS: i64 = END_MS + WEST_MS;
/// The range in words, for error messages.
const RANGE: &str = "1990-01-01 .. 2201-01-01 (local time of any zone)";

/// Checks that epoch milliseconds `ms` of parameter `name` lie in the accepted range.
pub fn check(name: &str, ms: i64) -> Result<i64, ApiError> {
    if (EARLIEST_MS..=LATEST_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(ApiError::bad_request(format!(
            "{name}: {ms} ms is outside the range of instants the API accepts, {RANGE}"
        )))
    }
}

/// Parses parameter `name`: RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` in zone `tz`, or epoch ms.
pub fn parse(name: &str, text: &str, tz: Tz) -> Result<i64, ApiError> {
    let ms = shulv_model::parse_instant(text, tz)
        .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))?;
    check(name, ms).map_err(|_| {
        ApiError::bad_request(format!(
            "{name}: '{}' is outside the range of instants the API accepts, {RANGE}",
            text.trim()
        ))
    })
}

/// Parses an optional parameter.
pub fn parse_opt(name: &str, text: Option<&str>, tz: Tz) -> Result<Option<i64>, ApiError> {
    text.map(|t| parse(name, t, tz)).transpose()
}

/// Parses a JSON field `name`: a string as in [`parse`] or integer epoch milliseconds.
pub fn parse_json(name: &str, value: &serde_json::Value, tz: Tz) -> Result<i64, ApiError> {
    match value {
        serde_json::Value::Number(n) => {
            let ms = n.as_i64().ok_or_else(|| {
                ApiError::bad_request(format!("{name}: {n} is not integer epoch milliseconds"))
            })?;
            check(name, ms)
        }
        serde_json::Value::String(s) => parse(name, s, tz),
        _ => Err(ApiError::bad_request(format!(
            "{name}: expected RFC 3339, a local date and time or epoch milliseconds"
        ))),
    }
}

/// Parses a calendar date `YYYY-MM-DD` of parameter `name`, in the same range.
pub fn parse_date(name: &str, text: &str) -> Result<NaiveDate, ApiError> {
    let text = text.trim();
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request(format!("{name}: {text:?} is not a date YYYY-MM-DD")))?;
    let first = NaiveDate::from_ymd_opt(1990, 1, 1).expect("a date");
    let last = NaiveDate::from_ymd_opt(2200, 12, 31).expect("a date");
    if (first..=last).contains(&date) {
        Ok(date)
    } else {
        Err(ApiError::bad_request(format!(
            "{name}: {text} is outside the range of dates the API accepts, 1990-01-01 .. 2200-12-31"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{Asia::Shanghai, Pacific::Kiritimati, UTC};

    #[test]
    fn the_bounds_are_the_days_they_name() {
        assert_eq!(
            chrono::DateTime::from_timestamp_millis(END_MS)
                .unwrap()
                .to_rfc3339(),
            "2201-01-01T00:00:00+00:00"
        );
        assert!(parse("from", "1990-01-01", Kiritimati).is_ok());
        assert!(parse("to", "2201-01-01", chrono_tz::Etc::GMTPlus12).is_ok());
        assert!(parse("from", "1990-01-01", Shanghai).is_ok());
    }

    #[test]
    fn far_instants_are_refused_naming_the_parameter() {
        for text in [
            "8210266876799999",
            "-1",
            "1989-12-01",
            "2202-01-01",
            "+262142-01-01T00:00:00Z",
        ] {
            let e = parse("to", text, UTC).unwrap_err();
            assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST);
            assert!(e.message().starts_with("to: "), "{text}: {}", e.message());
        }
        let e = parse_json("at", &serde_json::json!(8_210_266_876_799_999_i64), UTC).unwrap_err();
        assert!(e.message().contains("outside the range"), "{}", e.message());
        assert!(parse_json("at", &serde_json::json!(1.5), UTC).is_err());
        assert!(parse_json("at", &serde_json::json!(true), UTC).is_err());
        assert_eq!(
            parse_json("at", &serde_json::json!("2025-03-01T00:00:00Z"), UTC).unwrap(),
            1_740_787_200_000
        );
        assert!(parse_date("critical_days", "262142-01-01").is_err());
        assert!(parse_date("critical_days", "2025-07-01").is_ok());
    }
}
