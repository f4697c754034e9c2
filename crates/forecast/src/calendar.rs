//! Holiday calendars for the calendar features.
//!
//! Chinese series use [`shulv_model::HolidayCalendar::china`] (法定节假日 and 调休 make-up
//! workdays, extendable by the user). For US series, [`nerc_holidays`] builds the six NERC
//! holidays that grid operators treat as off-peak days.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use shulv_model::HolidayCalendar;

/// The NERC holidays of the years `from..=to`: New Year's Day, Memorial Day (last Monday of
/// May), Independence Day, Labor Day (first Monday of September), Thanksgiving (fourth
/// Thursday of November) and Christmas Day; a fixed-date holiday on a Sunday moves to Monday.
pub fn nerc_holidays(from: i32, to: i32) -> HolidayCalendar {
    let mut csv = String::new();
    let mut add = |d: NaiveDate, name: &str| {
        let d = if d.weekday() == Weekday::Sun {
            d + Duration::days(1)
        } else {
            d
        };
        csv.push_str(&format!("{d},{d},holiday,{name}\n"));
    };
    for y in from..=to {
        let ymd = |m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid holiday date");
        add(ymd(1, 1), "New Year's Day");
        let may31 = ymd(5, 31);
        let back = may31.weekday().num_days_from_monday() as i64;
        add(may31 - Duration::days(back), "Memorial Day");
        add(ymd(7, 4), "Independence Day");
        add(
            NaiveDate::from_weekday_of_month_opt(y, 9, Weekday::Mon, 1).expect("a Monday"),
            "Labor Day",
        );
        add(
            NaiveDate::from_weekday_of_month_opt(y, 11, Weekday::Thu, 4).expect("a Thursday"),
            "Thanksgiving",
        );
        add(ymd(12, 25), "Christmas Day");
    }
    HolidayCalendar::from_csv(&csv).expect("generated holiday lines are valid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use shulv_model::DayType;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn nerc_holidays_of_2017_and_2018() {
        let c = nerc_holidays(2017, 2018);
        for day in [
            "2017-01-02", // New Year's Day on a Sunday → Monday
            "2017-05-29",
            "2017-07-04",
            "2017-09-04",
            "2017-11-23",
            "2017-12-25",
            "2018-05-28",
            "2018-11-22",
        ] {
            assert_eq!(c.day_type(d(day)), DayType::Holiday, "{day}");
        }
        assert_eq!(c.day_type(d("2017-11-24")), DayType::Workday);
    }

    /// The built-in Chinese calendar knows the 2024 Spring Festival 调休: Sunday 2024-02-04
    /// and Sunday 2024-02-18 were working days, 2024-02-10…17 were off.
    #[test]
    fn china_calendar_knows_2024_makeup_sundays() {
        let c = HolidayCalendar::china();
        for day in ["2024-02-04", "2024-02-18"] {
            assert_eq!(d(day).weekday(), Weekday::Sun);
            assert_eq!(c.day_type(d(day)), DayType::MakeupWorkday, "{day}");
            assert!(c.is_working_day(d(day)));
        }
        assert_eq!(c.day_type(d("2024-02-12")), DayType::Holiday);
        assert_eq!(c.day_type(d("2024-02-25")), DayType::Weekend);
    }
}
