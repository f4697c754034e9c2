//! Turning an enterprise's operation and a meter's definition into the meter's readings.

use chrono::{Datelike, NaiveDate};
use shulv_model::DayType;

use crate::calendar::{Calendar, DAY_MS, QUARTERS_PER_DAY, SLOT_MS};
use crate::industries::{MeterDef, Mix, Operation, Reading, Resolution, Schedule, Source};
use crate::pv::{array_kwh, Sky};
use crate::rng::{Ar1, Rng};
use crate::shapes::{normalise, Components};

/// Production level while a line is stopped (standby) or in planned maintenance.
const STOPPED: f64 = 0.15;
/// Chance that a production line has an unplanned stop on a given day.
const STOP_PER_DAY: f64 = 0.012;
/// Instantaneous meters sample every 5 minutes.
pub(crate) const SAMPLE_MS: i64 = 300_000;

/// An enterprise's production level per 15-minute slot (mean 1) for its main and alternative
/// schedules: day factor (day type, Spring Festival, ramp-up, turnaround, season, order book)
/// times the quarter-hour schedule.
pub(crate) fn production(
    op: &Operation,
    cal: &Calendar,
    key: &str,
) -> (Vec<f64>, Option<Vec<f64>>) {
    let mut rng = Rng::named(key, cal.stream(1));
    let factors: Vec<f64> = (0..cal.days.len())
        .map(|d| day_factor(op, cal, d) * (1.0 + op.day_noise * rng.normal()).max(0.0))
        .collect();
    let series = |sched: &Schedule, maintenance: bool| {
        let mut v = Vec::with_capacity(cal.slots());
        for (d, day) in cal.days.iter().enumerate() {
            for (q, level) in sched.iter().enumerate() {
                let hour = q as f64 / 4.0;
                let in_maintenance = maintenance
                    && op
                        .maintenance
                        .is_some_and(|(wd, a, b)| wd == day.weekday && hour >= a && hour < b);
                v.push(factors[d] * level * if in_maintenance { STOPPED } else { 1.0 });
            }
        }
        normalise(&mut v);
        v
    };
    (
        series(&op.shifts, true),
        op.alt_shifts.as_ref().map(|s| series(s, false)),
    )
}

fn day_factor(op: &Operation, cal: &Calendar, d: usize) -> f64 {
    let day = &cal.days[d];
    let season = op.monthly[day.month0];
    let sf = op.spring_festival;
    let (first, last) = (
        cal.spring_festival.0 as i64 + sf.from,
        cal.spring_festival.1 as i64 + sf.to,
    );
    let di = d as i64;
    if sf.level < 1.0 && (first..=last).contains(&di) {
        return sf.level * season;
    }
    let mut f = match day.day_type {
        DayType::Workday | DayType::MakeupWorkday => 1.0,
        DayType::Weekend if day.weekday == chrono::Weekday::Sat => op.saturday,
        DayType::Weekend => op.sunday,
        DayType::Holiday => op.holiday,
    };
    if sf.level < 1.0 && di > last && di <= last + i64::from(sf.ramp) {
        f *= 0.5 + 0.5 * (di - last) as f64 / f64::from(sf.ramp + 1);
    }
    if let Some((m, dd, len)) = op.overhaul {
        let start = NaiveDate::from_ymd_opt(day.date.year(), m, dd).and_then(|s| cal.day_index(s));
        if start.is_some_and(|s| d >= s && d < s + len as usize) {
            f = 0.03;
        }
    }
    f * season
}

/// Everything a meter's values depend on.
pub(crate) struct Context<'a> {
    pub(crate) cal: &'a Calendar,
    pub(crate) components: &'a Components,
    pub(crate) sky: &'a Sky,
    pub(crate) process: &'a [f64],
    pub(crate) alt: Option<&'a [f64]>,
}

/// A meter's readings `(ms UTC, value)` in time order, and its replacement
/// `(at, old_final, new_initial)` if it has one.
pub(crate) struct Generated {
    pub(crate) readings: Vec<(i64, f64)>,
    pub(crate) replacement: Option<(i64, f64, f64)>,
}

/// Generates a meter's readings.
pub(crate) fn readings(ctx: &Context<'_>, def: &MeterDef, id: &str) -> Generated {
    let q = quantities(ctx, def, id);
    let cal = ctx.cal;
    let scale = 10f64.powi(def.decimals as i32);
    let round = |v: f64| (v * scale).round() / scale;
    let readings = match def.reading {
        Reading::Interval(Resolution::Quarter) => q
            .iter()
            .enumerate()
            .map(|(i, v)| (cal.slot_ms(i), round(*v)))
            .collect(),
        Reading::Interval(Resolution::Day) => q
            .chunks(QUARTERS_PER_DAY)
            .enumerate()
            .map(|(d, c)| (cal.start_ms + d as i64 * DAY_MS, round(c.iter().sum())))
            .collect(),
        Reading::Interval(Resolution::Month) => {
            let mut out: Vec<(i64, f64)> = Vec::with_capacity(12);
            for (d, day) in cal.days.iter().enumerate() {
                let sum: f64 = q[d * QUARTERS_PER_DAY..(d + 1) * QUARTERS_PER_DAY]
                    .iter()
                    .sum();
                if day.date.day() == 1 {
                    out.push((cal.start_ms + d as i64 * DAY_MS, 0.0));
                }
                out.last_mut().expect("year starts on the 1st").1 += sum;
            }
            out.iter_mut().for_each(|r| r.1 = round(r.1));
            out
        }
        Reading::Cumulative {
            initial,
            rollover,
            replaced,
        } => {
            // Integer register in units of the last decimal, so increments add up exactly.
            let to_units = |v: f64| (v * scale).round() as i64;
            let modulus = rollover.map(to_units);
            let wrap = |u: i64| modulus.map_or(u, |m| u.rem_euclid(m));
            let mut reg = Vec::with_capacity(q.len() + 1);
            let mut r = to_units(initial);
            reg.push(r);
            for v in &q {
                r += to_units(*v);
                reg.push(r);
            }
            let at = replaced.map(|(m, d, h, new_initial)| {
                let date = NaiveDate::from_ymd_opt(cal.days[0].date.year(), m, d)
                    .expect("replacement date");
                let slot = cal.day_index(date).expect("replacement inside the year")
                    * QUARTERS_PER_DAY
                    + h as usize * 4;
                (slot, to_units(new_initial))
            });
            let out = reg
                .iter()
                .enumerate()
                .map(|(i, &u)| {
                    let u = match at {
                        Some((k, new0)) if i >= k => new0 + u - reg[k],
                        _ => wrap(u),
                    };
                    (cal.slot_ms(i), u as f64 / scale)
                })
                .collect();
            let replacement = at.map(|(k, new0)| {
                (
                    cal.slot_ms(k),
                    wrap(reg[k]) as f64 / scale,
                    new0 as f64 / scale,
                )
            });
            return Generated {
                readings: out,
                replacement,
            };
        }
        Reading::Instantaneous => {
            let mut rng = Rng::named(id, cal.stream(7));
            let power: Vec<f64> = q.iter().map(|v| v * 4.0).collect(); // kWh per 15 min -> kW
            let per_slot = SLOT_MS / SAMPLE_MS;
            let samples = power.len() as i64 * per_slot;
            (0..=samples)
                .map(|j| {
                    // position in slots, interpolated between slot midpoints
                    let x = (j as f64 / per_slot as f64 - 0.5).clamp(0.0, (power.len() - 1) as f64);
                    let i = x.floor() as usize;
                    let w = x - i as f64;
                    let p = power[i] * (1.0 - w) + power[(i + 1).min(power.len() - 1)] * w;
                    (
                        cal.start_ms + j * SAMPLE_MS,
                        round((p * (1.0 + 0.015 * rng.normal())).max(0.0)),
                    )
                })
                .collect()
        }
    };
    Generated {
        readings,
        replacement: None,
    }
}

/// Quantity per 15-minute slot, in the meter's unit (kWh for power meters), unrounded.
fn quantities(ctx: &Context<'_>, def: &MeterDef, id: &str) -> Vec<f64> {
    match def.source {
        Source::Pv { kwp, pr } => {
            let mut rng = Rng::named(id, ctx.cal.stream(3));
            ctx.sky
                .irradiance
                .iter()
                .map(|&g| array_kwh(kwp, pr, g, 0.01 * rng.normal()))
                .collect()
        }
        Source::Load(mix) => {
            let mut v = load(ctx, def, mix, id);
            let sum: f64 = v.iter().sum();
            v.iter_mut().for_each(|x| *x *= def.annual / sum);
            v
        }
    }
}

/// Relative load per slot: the mix of components, unplanned stops, a step change and noise.
fn load(ctx: &Context<'_>, def: &MeterDef, mix: Mix, id: &str) -> Vec<f64> {
    let c = ctx.components;
    let mut rng = Rng::named(id, ctx.cal.stream(5));
    let mut drift = Ar1::new(0.97);
    let mut stop = 0..0; // slots of the current unplanned stop
    let step_from = def.step.map(|(m, f)| {
        (
            ctx.cal.days.iter().position(|d| d.month0 == m).unwrap_or(0),
            f,
        )
    });
    let mut day_eps = 0.0;
    let mut out = Vec::with_capacity(ctx.cal.slots());
    for i in 0..ctx.cal.slots() {
        let (d, q) = (i / QUARTERS_PER_DAY, i % QUARTERS_PER_DAY);
        if q == 0 {
            day_eps = rng.normal();
            if mix.process >= 0.5 && rng.uniform() < STOP_PER_DAY {
                let start = i + rng.range(0.0, QUARTERS_PER_DAY as f64) as usize;
                stop = start..start + rng.range(8.0, 32.0) as usize;
            }
        }
        let stopped = stop.contains(&i);
        let process = ctx.process[i] * if stopped { STOPPED } else { 1.0 };
        let alt = ctx.alt.map_or(0.0, |a| a[i]);
        let base = mix.process * process
            + mix.alt * alt
            + mix.flat
            + mix.building * c.building[i]
            + mix.cooling * c.cooling[i]
            + mix.heating * c.heating[i];
        let step = step_from.map_or(1.0, |(s, f)| if d >= s { f } else { 1.0 });
        let n = def.noise;
        let noise = 1.0 + n * day_eps + n * drift.step(&mut rng) + 0.5 * n * rng.normal();
        out.push((base * step * noise).max(0.0));
    }
    out
}
