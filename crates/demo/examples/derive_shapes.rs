//! Derives the demo park's load shapes from real public load data.
//!
//! ```text
//! cargo run -p shulv-demo --example derive_shapes -- \
//!     ../shared/data/load/pjm_east_hourly.csv crates/demo/data/pjm_shapes.csv
//! ```
//!
//! Input: PJM East hourly load (`Datetime,PJME_MW`, hour-ending labels in US Eastern time, rows
//! unsorted, a few duplicate and missing hours). Output: the small CSV that `shulv-demo` ships with
//! `include_str!`; see the crate documentation for what each row means.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Weekday};

/// The weather year whose day-by-day variation drives the demo's daily index.
const WEATHER_YEAR: i32 = 2017;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        eprintln!("usage: derive_shapes <pjm_east_hourly.csv> <out.csv>");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(input).expect("read input");

    // Hour-starting instant -> (sum, count): duplicates are averaged.
    let mut hours: BTreeMap<NaiveDateTime, (f64, u32)> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let Some((stamp, mw)) = line.split_once(',') else {
            continue;
        };
        let (Ok(t), Ok(mw)) = (
            NaiveDateTime::parse_from_str(stamp.trim(), "%Y-%m-%d %H:%M:%S"),
            mw.trim().parse::<f64>(),
        ) else {
            continue;
        };
        let e = hours.entry(t - Duration::hours(1)).or_default();
        e.0 += mw;
        e.1 += 1;
    }
    let load = |t: &NaiveDateTime| hours.get(t).map(|(s, n)| s / f64::from(*n));

    // Per day: mean load over the hours present (days with fewer than 20 hours are skipped).
    let mut days: BTreeMap<NaiveDate, (f64, u32)> = BTreeMap::new();
    for t in hours.keys() {
        let e = days.entry(t.date()).or_default();
        e.0 += load(t).unwrap();
        e.1 += 1;
    }
    let daily: BTreeMap<NaiveDate, f64> = days
        .into_iter()
        .filter(|(_, (_, n))| *n >= 20)
        .map(|(d, (s, n))| (d, s / f64::from(n)))
        .collect();

    // Hourly profile by month x day type, each hour divided by its day's mean (pure shape).
    let mut prof = [[[(0.0f64, 0u32); 24]; 2]; 12];
    for (t, _) in hours.iter() {
        let Some(day_mean) = daily.get(&t.date()) else {
            continue;
        };
        let d = t.date();
        let dt = usize::from(is_off_day(d));
        let e = &mut prof[d.month0() as usize][dt][t.hour() as usize];
        e.0 += load(t).unwrap() / day_mean;
        e.1 += 1;
    }

    // Day-of-week factor over all years, then the weather year de-weekified.
    let mut dow = [(0.0f64, 0u32); 7];
    for (d, v) in &daily {
        let yearly = year_mean(&daily, d.year());
        let e = &mut dow[d.weekday().num_days_from_monday() as usize];
        e.0 += v / yearly;
        e.1 += 1;
    }
    let dow: Vec<f64> = dow.iter().map(|(s, n)| s / f64::from(*n)).collect();
    let ymean = year_mean(&daily, WEATHER_YEAR);
    let first = NaiveDate::from_ymd_opt(WEATHER_YEAR, 1, 1).unwrap();
    let mut index: Vec<f64> = Vec::with_capacity(365);
    for i in 0..365 {
        let d = first + Duration::days(i);
        let v = match daily.get(&d) {
            Some(v) => v / dow[d.weekday().num_days_from_monday() as usize] / ymean,
            None => *index.last().unwrap_or(&1.0),
        };
        index.push(v);
    }
    // Temperature-like indices: load above the shoulder-season baseline (20th percentile),
    // cooling in the warm half (16 Apr..15 Oct), heating in the cold half; each mean 1.
    let mut sorted = index.clone();
    sorted.sort_by(f64::total_cmp);
    let base = sorted[sorted.len() / 5];
    let warm = |i: usize| (105..288).contains(&i);
    let mut cooling: Vec<f64> = (0..365)
        .map(|i| {
            if warm(i) {
                (index[i] - base).max(0.0)
            } else {
                0.0
            }
        })
        .collect();
    let mut heating: Vec<f64> = (0..365)
        .map(|i| {
            if warm(i) {
                0.0
            } else {
                (index[i] - base).max(0.0)
            }
        })
        .collect();
    for v in [&mut cooling, &mut heating] {
        let m = v.iter().sum::<f64>() / 365.0;
        v.iter_mut().for_each(|x| *x /= m);
    }

    let mut out = String::new();
    writeln!(
        out,
        "# Derived by crates/demo/examples/derive_shapes.rs from PJM East hourly load"
    )
    .unwrap();
    writeln!(
        out,
        "# (PJME_MW, 2002-2018). P,month,daytype(0=weekday,1=weekend/holiday),h00..h23: mean load"
    )
    .unwrap();
    writeln!(
        out,
        "# of that hour / mean load of its day. D,day_of_year,load,cooling,heating: weather year"
    )
    .unwrap();
    writeln!(
        out,
        "# {WEATHER_YEAR}, daily mean / day-of-week factor / year mean; cooling and heating: load"
    )
    .unwrap();
    writeln!(
        out,
        "# above the 20th percentile ({base:.4}) in the warm / cold half-year, scaled to mean 1."
    )
    .unwrap();
    for (m, by_type) in prof.iter().enumerate() {
        for (dt, hrs) in by_type.iter().enumerate() {
            write!(out, "P,{},{}", m + 1, dt).unwrap();
            for (s, n) in hrs {
                write!(out, ",{:.4}", s / f64::from(*n)).unwrap();
            }
            out.push('\n');
        }
    }
    for i in 0..365 {
        writeln!(
            out,
            "D,{},{:.4},{:.4},{:.4}",
            i + 1,
            index[i],
            cooling[i],
            heating[i]
        )
        .unwrap();
    }
    std::fs::write(output, out).expect("write output");
}

/// Weekends and the fixed-date US federal holidays count as off days.
fn is_off_day(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
        || matches!((d.month(), d.day()), (1, 1) | (7, 4) | (12, 25))
}

fn year_mean(daily: &BTreeMap<NaiveDate, f64>, year: i32) -> f64 {
    let v: Vec<f64> = daily
        .iter()
        .filter(|(d, _)| d.year() == year)
        .map(|(_, v)| *v)
        .collect();
    v.iter().sum::<f64>() / v.len() as f64
}
