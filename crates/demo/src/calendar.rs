//! The demo year on the Asia/Shanghai clock: days, their Chinese day types (from
//! `shulv_model::HolidayCalendar`) and the Spring Festival block.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Weekday};
use chrono_tz::Asia::Shanghai;
use shulv_model::{DayType, HolidayCalendar};

pub(crate) const QUARTERS_PER_DAY: usize = 96;
pub(crate) const SLOT_MS: i64 = 900_000;
pub(crate) const DAY_MS: i64 = 86_400_000;

/// One local calendar day of the demo year.
#[derive(Debug, Clone)]
pub(crate) struct Day {
    pub(crate) date: NaiveDate,
    pub(crate) month0: usize,
    pub(crate) weekday: Weekday,
    pub(crate) day_type: DayType,
    /// Inside the official Spring Festival holiday block.
    pub(crate) spring_festival: bool,
}

/// One demo year, e.g. 2025-01-01T00:00+08:00 up to (excluding) 2026-01-01T00:00+08:00.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    pub(crate) year: i32,
    /// Added to every random stream number, so each year has its own noise (0 in the base year,
    /// which keeps the standard demo year's data as it always was).
    pub(crate) stream_offset: u64,
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
    pub(crate) days: Vec<Day>,
    /// Day indices (inclusive) of the Spring Festival holiday block.
    pub(crate) spring_festival: (usize, usize),
}

impl Calendar {
    /// The calendar of `year`; `base_year` is the park's first year (its streams are unshifted).
    pub(crate) fn year(year: i32, base_year: i32) -> Self {
        let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid year");
        let next = NaiveDate::from_ymd_opt(year + 1, 1, 1).expect("valid year");
        let ms = |d: NaiveDate| {
            Shanghai
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
                .single()
                .expect("Asia/Shanghai has no DST")
                .timestamp_millis()
        };
        let holidays = HolidayCalendar::china();
        let mut days: Vec<Day> = (0..(next - first).num_days())
            .map(|i| {
                let date = first + Duration::days(i);
                Day {
                    date,
                    month0: date.month0() as usize,
                    weekday: date.weekday(),
                    day_type: holidays.day_type(date),
                    spring_festival: false,
                }
            })
            .collect();
        let spring_festival = spring_festival_block(&days);
        for day in &mut days[spring_festival.0..=spring_festival.1] {
            day.spring_festival = true;
        }
        Calendar {
            year,
            stream_offset: u64::try_from(year - base_year).expect("year after the base") * 16,
            start_ms: ms(first),
            end_ms: ms(next),
            days,
            spring_festival,
        }
    }

    /// A random stream number of this year (see [`crate::rng::Rng::named`]).
    pub(crate) fn stream(&self, n: u64) -> u64 {
        n + self.stream_offset
    }

    /// Number of 15-minute slots.
    pub(crate) fn slots(&self) -> usize {
        self.days.len() * QUARTERS_PER_DAY
    }

    /// Start instant (ms UTC) of a slot.
    pub(crate) fn slot_ms(&self, slot: usize) -> i64 {
        self.start_ms + slot as i64 * SLOT_MS
    }

    /// Day index of a date, if inside the year.
    pub(crate) fn day_index(&self, date: NaiveDate) -> Option<usize> {
        let i = (date - self.days[0].date).num_days();
        usize::try_from(i).ok().filter(|&i| i < self.days.len())
    }
}

/// The longest run of public-holiday days in January and February. A year the holiday
/// calendar does not cover yet has none: the block is then taken as 1–7 February (the Spring
/// Festival falls between 21 January and 20 February), so the plants still stop once a year.
fn spring_festival_block(days: &[Day]) -> (usize, usize) {
    let mut best = (0, 0, 0); // (len, start, end)
    let mut run_start = None;
    for (i, d) in days.iter().enumerate().take_while(|(_, d)| d.month0 < 2) {
        if d.day_type == DayType::Holiday {
            let s = *run_start.get_or_insert(i);
            if i + 1 - s > best.0 {
                best = (i + 1 - s, s, i);
            }
        } else {
            run_start = None;
        }
    }
    if best.0 < 3 {
        return (31, 37);
    }
    (best.1, best.2)
}
