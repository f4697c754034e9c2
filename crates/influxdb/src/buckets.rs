//! `GROUP BY time(interval[, offset])` buckets, in UTC or in the zone of `tz(…)`.

use chrono::{Offset, TimeZone};
use chrono_tz::Tz;

const HOUR_MS: i64 = 3_600_000;

/// How instants fall into buckets.
#[derive(Debug, Clone, Copy)]
pub enum Buckets {
    /// No `GROUP BY time()`: one bucket for the whole range, shown at its start.
    Whole {
        /// The start of the range.
        start: i64,
    },
    /// Buckets of a fixed width.
    Every {
        /// Width in ms.
        interval: i64,
        /// Shift of the boundaries in ms.
        offset: i64,
        /// Zone whose local time the boundaries follow.
        tz: Option<Tz>,
    },
}

impl Buckets {
    /// The start of the bucket holding `ts`.
    pub fn start(&self, ts: i64) -> i64 {
        match *self {
            Buckets::Whole { start } => start,
            Buckets::Every {
                interval,
                offset,
                tz,
            } => {
                let zone = tz.map_or(0, |tz| zone_offset(tz, ts));
                let local = ts + zone - offset;
                local.div_euclid(interval) * interval - zone + offset
            }
        }
    }

    /// The starts of every bucket meeting `[from, to)`.
    pub fn starts(&self, from: i64, to: i64) -> Vec<i64> {
        match *self {
            Buckets::Whole { start } => vec![start],
            Buckets::Every { interval, .. } => {
                let mut out = Vec::new();
                let mut b = self.start(from);
                while b < to {
                    out.push(b);
                    let next = self.start(b + interval);
                    b = if next > b { next } else { b + interval };
                }
                out
            }
        }
    }

    /// How many buckets meet `[from, to)`, without listing them.
    pub fn count(&self, from: i64, to: i64) -> i64 {
        match *self {
            Buckets::Whole { .. } => 1,
            Buckets::Every { interval, .. } => {
                (to.saturating_sub(self.start(from)) + interval - 1) / interval
            }
        }
    }

    /// True if every bucket boundary over `[from, to)` is a UTC hour, so that hour rollups
    /// fall entirely into one bucket.
    pub fn hour_aligned(&self, from: i64, to: i64) -> bool {
        match *self {
            Buckets::Whole { .. } => true,
            Buckets::Every {
                interval,
                offset,
                tz,
            } => {
                let zones = tz.map_or([0, 0], |tz| {
                    [zone_offset(tz, from), zone_offset(tz, to - 1)]
                });
                interval % HOUR_MS == 0
                    && zones.iter().all(|z| (offset - z).rem_euclid(HOUR_MS) == 0)
            }
        }
    }
}

impl Buckets {
    /// True if the zone's offset is the same at both ends of `[from, to)`, so consecutive
    /// buckets are exactly one interval apart (no daylight-saving change inside).
    pub fn fixed_offset(&self, from: i64, to: i64) -> bool {
        match *self {
            Buckets::Every { tz: Some(tz), .. } => zone_offset(tz, from) == zone_offset(tz, to - 1),
            _ => true,
        }
    }
}

/// The offset of `tz` from UTC at `ts`, in ms.
pub fn zone_offset(tz: Tz, ts: i64) -> i64 {
    match tz.timestamp_millis_opt(ts) {
        chrono::LocalResult::Single(t) => i64::from(t.offset().fix().local_minus_utc()) * 1000,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_offset_and_zone() {
        let utc_hours = Buckets::Every {
            interval: HOUR_MS,
            offset: 0,
            tz: None,
        };
        assert_eq!(utc_hours.start(HOUR_MS + 5), HOUR_MS);
        assert_eq!(
            utc_hours.starts(HOUR_MS + 5, 3 * HOUR_MS),
            [HOUR_MS, 2 * HOUR_MS]
        );
        assert_eq!(utc_hours.count(HOUR_MS + 5, 3 * HOUR_MS), 2);
        // Local days in Shanghai start at 16:00 UTC.
        let days = Buckets::Every {
            interval: 24 * HOUR_MS,
            offset: 0,
            tz: Some(chrono_tz::Asia::Shanghai),
        };
        assert_eq!(days.start(20 * HOUR_MS), 16 * HOUR_MS);
        assert_eq!(days.start(15 * HOUR_MS), -8 * HOUR_MS);
        assert!(days.hour_aligned(0, 100 * HOUR_MS));
        let shifted = Buckets::Every {
            interval: HOUR_MS,
            offset: 15 * 60_000,
            tz: None,
        };
        assert_eq!(shifted.start(10 * 60_000), -45 * 60_000);
        assert!(!shifted.hour_aligned(0, HOUR_MS));
        let india = Buckets::Every {
            interval: HOUR_MS,
            offset: 0,
            tz: Some(chrono_tz::Asia::Kolkata),
        };
        assert!(!india.hour_aligned(0, HOUR_MS));
    }
}
