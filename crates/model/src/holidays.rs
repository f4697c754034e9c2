//! Chinese public holidays (法定节假日) and 调休 make-up workdays.
//!
//! The built-in calendar ([`HolidayCalendar::china`]) covers 2023–2026 per the State Council
//! notices; users can add their own entries with [`HolidayCalendar::extend_from_csv`] in the
//! same format as the shipped data file:
//!
//! ```text
//! start,end,kind,name
//! 2027-01-01,2027-01-01,holiday,元旦
//! 2027-02-06,2027-02-06,workday,春节
//! ```
//!
//! `kind` is `holiday` (day off, including weekend days inside the holiday) or `workday`
//! (make-up working day on a weekend). Dates are inclusive; `#` starts a comment line; the
//! header line is optional. Later entries override earlier ones for the same date.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

const CHINA_CSV: &str = include_str!("../data/holidays_cn.csv");

/// Classification of a calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayType {
    /// Ordinary Monday–Friday.
    Workday,
    /// Ordinary Saturday or Sunday.
    Weekend,
    /// Public holiday or day off by 调休.
    Holiday,
    /// Weekend day that is a working day by 调休 (调休上班).
    MakeupWorkday,
}

impl DayType {
    /// True for `Workday` and `MakeupWorkday`.
    pub fn is_working(self) -> bool {
        matches!(self, DayType::Workday | DayType::MakeupWorkday)
    }
}

/// Error in a holiday file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("holiday file line {line}: {field}: {message}")]
pub struct HolidayError {
    /// 1-based line number.
    pub line: usize,
    /// Field name (`start`, `end`, `kind`, `line`).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    holiday: bool,
    name: String,
}

/// A set of special days on top of the Monday–Friday working week.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    days: BTreeMap<NaiveDate, Entry>,
}

/// Longest period one line may declare (the longest real one, the Spring Festival, is 9 days):
/// a typo such as `2024-10-12,2028-10-12` is refused instead of marking four years.
pub const MAX_PERIOD_DAYS: i64 = 31;

impl HolidayCalendar {
    /// The built-in mainland China calendar (2023–2026).
    pub fn china() -> HolidayCalendar {
        let mut c = HolidayCalendar::default();
        c.extend_from_csv(CHINA_CSV)
            .expect("built-in holiday data is valid");
        c
    }

    /// Parses a calendar from CSV text (see the module docs for the format).
    pub fn from_csv(text: &str) -> Result<HolidayCalendar, HolidayError> {
        let mut c = HolidayCalendar::default();
        c.extend_from_csv(text)?;
        Ok(c)
    }

    /// Adds (or overrides) entries from CSV text. On error nothing is changed.
    pub fn extend_from_csv(&mut self, text: &str) -> Result<(), HolidayError> {
        let mut added = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim().trim_start_matches('\u{feff}');
            if l.is_empty() || l.starts_with('#') || l.starts_with("start,") {
                continue;
            }
            let cols: Vec<&str> = l.splitn(4, ',').map(str::trim).collect();
            if cols.len() < 3 {
                return Err(HolidayError {
                    line,
                    field: "line",
                    message: format!("expected start,end,kind[,name], got {l:?}"),
                });
            }
            let date = |field: &'static str, s: &str| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| HolidayError {
                    line,
                    field,
                    message: format!("invalid date {s:?} (expected YYYY-MM-DD)"),
                })
            };
            let start = date("start", cols[0])?;
            let end = date("end", cols[1])?;
            if end < start {
                return Err(HolidayError {
                    line,
                    field: "end",
                    message: format!("{end} is before start {start}"),
                });
            }
            if (end - start).num_days() >= MAX_PERIOD_DAYS {
                return Err(HolidayError {
                    line,
                    field: "end",
                    message: format!(
                        "{start} to {end} is longer than {MAX_PERIOD_DAYS} days; a holiday or make-up workday period is a few days"
                    ),
                });
            }
            let holiday = match cols[2].to_ascii_lowercase().as_str() {
                "holiday" | "off" | "休" => true,
                "workday" | "work" | "班" => false,
                k => {
                    return Err(HolidayError {
                        line,
                        field: "kind",
                        message: format!("unknown kind {k:?} (expected holiday or workday)"),
                    })
                }
            };
            let name = cols.get(3).copied().unwrap_or("").to_string();
            for d in start.iter_days().take_while(|d| *d <= end) {
                added.push((
                    d,
                    Entry {
                        holiday,
                        name: name.clone(),
                    },
                ));
            }
        }
        self.days.extend(added);
        Ok(())
    }

    /// Classifies a date.
    pub fn day_type(&self, date: NaiveDate) -> DayType {
        match self.days.get(&date) {
            Some(e) if e.holiday => DayType::Holiday,
            Some(_) => DayType::MakeupWorkday,
            None if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) => DayType::Weekend,
            None => DayType::Workday,
        }
    }

    /// True when the date is a working day (ordinary workday or make-up workday).
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.day_type(date).is_working()
    }

    /// Name of the holiday a special date belongs to (e.g. `春节`), if any.
    pub fn name(&self, date: NaiveDate) -> Option<&str> {
        self.days.get(&date).map(|e| e.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Found by the `holidays` fuzz target (2026-12-01): periods of years (a typo'd end date)
    /// made the calendar mark millions of days and a 2 KB file take seconds to load.
    #[test]
    fn fuzz_regression_periods_of_years_are_refused() {
        let e = HolidayCalendar::from_csv(
            "2024-10-01,2024-10-07,holiday,国庆节\n2024-10-12,2028-10-12,workday,国庆节\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.field), (2, "end"));
        assert!(e.message.contains("longer than 31 days"), "{}", e.message);
        assert!(HolidayCalendar::from_csv("0001-01-01,9999-12-31,holiday,x\n").is_err());
        assert!(HolidayCalendar::from_csv("2025-01-28,2025-02-04,holiday,春节\n").is_ok());
    }

    #[test]
    fn china_2024_spring_festival() {
        let c = HolidayCalendar::china();
        assert_eq!(c.day_type(d("2024-02-04")), DayType::MakeupWorkday);
        assert_eq!(c.day_type(d("2024-02-18")), DayType::MakeupWorkday);
        assert!(c.is_working_day(d("2024-02-04")));
        for day in d("2024-02-10").iter_days().take(8) {
            assert_eq!(c.day_type(day), DayType::Holiday, "{day}");
            assert!(!c.is_working_day(day));
        }
        assert_eq!(c.day_type(d("2024-02-09")), DayType::Workday);
        assert_eq!(c.day_type(d("2024-02-19")), DayType::Workday);
        assert_eq!(c.day_type(d("2024-02-24")), DayType::Weekend);
        assert_eq!(c.name(d("2024-02-12")), Some("春节"));
    }

    #[test]
    fn china_other_years() {
        let c = HolidayCalendar::china();
        for day in d("2025-10-01").iter_days().take(8) {
            assert_eq!(c.day_type(day), DayType::Holiday, "{day}");
        }
        assert_eq!(c.day_type(d("2025-10-09")), DayType::Workday);
        assert_eq!(c.day_type(d("2025-09-28")), DayType::MakeupWorkday);
        assert_eq!(c.day_type(d("2025-10-11")), DayType::MakeupWorkday);
        for day in d("2026-02-15").iter_days().take(9) {
            assert_eq!(c.day_type(day), DayType::Holiday, "{day}");
        }
        assert_eq!(c.day_type(d("2026-02-14")), DayType::MakeupWorkday);
        assert_eq!(c.day_type(d("2026-02-28")), DayType::MakeupWorkday);
        assert_eq!(c.day_type(d("2023-01-28")), DayType::MakeupWorkday);
        assert_eq!(c.day_type(d("2023-04-05")), DayType::Holiday);
        // every make-up workday in the data falls on a weekend
        for (date, e) in &c.days {
            if !e.holiday {
                assert!(
                    matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
                    "{date}"
                );
            }
        }
    }

    #[test]
    fn user_extension_and_errors() {
        let mut c = HolidayCalendar::china();
        c.extend_from_csv("2027-01-01,2027-01-01,holiday,元旦\n")
            .unwrap();
        assert_eq!(c.day_type(d("2027-01-01")), DayType::Holiday);
        let e = HolidayCalendar::from_csv("start,end,kind\n2027-01-01,2027-13-01,holiday\n")
            .unwrap_err();
        assert_eq!((e.line, e.field), (2, "end"));
        let e = HolidayCalendar::from_csv("2027-01-02,2027-01-01,holiday").unwrap_err();
        assert_eq!(e.field, "end");
        let e = HolidayCalendar::from_csv("# c\n2027-01-01,2027-01-01,party").unwrap_err();
        assert_eq!((e.line, e.field), (2, "kind"));
        let e = HolidayCalendar::from_csv("2027-01-01").unwrap_err();
        assert_eq!(e.field, "line");
        // a failed extension changes nothing
        let before = c.clone();
        assert!(c
            .extend_from_csv("2028-01-01,2028-01-01,holiday\nbad")
            .is_err());
        assert_eq!(c, before);
    }
}
