//! Fuzzes the holiday calendar CSV (`start,end,kind[,name]`, `HolidayCalendar::from_csv`).
//!
//! Invariants beyond "no panic": an error names a 1-based line within the text; on success
//! every listed start and end date is in the calendar, and the last line's kind decides its
//! own days.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shulv_model::chrono::NaiveDate;
use shulv_model::{DayType, HolidayCalendar};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match HolidayCalendar::from_csv(text) {
        Err(e) => {
            let n = text.lines().count();
            assert!(e.line >= 1 && e.line <= n, "error line {} of {n}", e.line);
        }
        Ok(cal) => {
            let mut last = None;
            for l in text.lines() {
                let l = l.trim().trim_start_matches('\u{feff}');
                let cols: Vec<&str> = l.splitn(4, ',').map(str::trim).collect();
                if cols.len() < 3 || l.starts_with('#') || l.starts_with("start,") {
                    continue;
                }
                let d = NaiveDate::parse_from_str(cols[0], "%Y-%m-%d").expect("accepted a bad date");
                let e = NaiveDate::parse_from_str(cols[1], "%Y-%m-%d").expect("accepted a bad date");
                assert!(cal.name(d).is_some() && cal.name(e).is_some(), "listed day {d} missing");
                last = Some((d, e, cols[2].to_ascii_lowercase()));
            }
            // the last line wins for its own days
            if let Some((d, e, kind)) = last {
                for day in [d, e] {
                    let t = cal.day_type(day);
                    match kind.as_str() {
                        "holiday" | "off" | "休" => assert_eq!(t, DayType::Holiday, "{day}"),
                        _ => assert_eq!(t, DayType::MakeupWorkday, "{day}"),
                    }
                }
            }
        }
    }
});
