//! # shulv-demo: a deterministic, realistic Chinese industrial park
//!
//! `shulv demo` loads this park: one region (浙江省绍兴市) → one park (数绿示范产业园) → ten
//! enterprises of different industries → workshops and sites → 153 meters over twelve carriers,
//! plus the park's outdoor temperature meter `park-weather` (气温, hourly ℃), with one year of
//! readings (2025-01-01T00:00+08:00 up to 2026-01-01T00:00+08:00). Every run
//! yields identical data: all randomness comes from a seeded splitmix64 (module `rng`),
//! seeded by meter and enterprise ids, so one meter's data never depends on another's.
//!
//! ## Where the shapes come from
//!
//! Load shapes are **derived from real public load data**: PJM East hourly load 2002–2018
//! (`PJME_MW`). `examples/derive_shapes.rs` reads that file (rows unsorted; hour-ending labels,
//! shifted to hour-starting; duplicate hours averaged; missing hours skipped; days with fewer
//! than 20 hours dropped) and writes `data/pjm_shapes.csv` (14 KB), which the crate embeds with
//! `include_str!`; nothing outside the crate is read at run time. The file holds:
//!
//! - `P` rows: a normalised hourly profile per month × day type (weekday; weekend or fixed-date
//!   US holiday) × hour: the mean load of that hour divided by its day's mean load (mean 1).
//! - `D` rows, one per day of year: the 2017 daily mean load divided by the all-years
//!   day-of-week factor and the 2017 mean (a weather-driven daily index), and from it a
//!   *cooling* index (load above the 20th percentile, warm half-year 16 Apr–15 Oct) and a
//!   *heating* index (the same in the cold half-year), each scaled to mean 1.
//!
//! Regenerate with
//! `cargo run -p shulv-demo --example derive_shapes -- ../shared/data/load/pjm_east_hourly.csv crates/demo/data/pjm_shapes.csv`.
//!
//! From these the park builds three shared components per 15-minute slot (hour profile
//! interpolated between hour midpoints): *building* (profile × daily index × occupancy: 1 on
//! working days, 0.45 on weekends and holidays, 0.25 in the Spring Festival block), *cooling*
//! (profile² × cooling index, so afternoons of hot days peak) and *heating* (profile × heating
//! index). Each meter's load is a mix of these with the enterprise's *process* level, an
//! optional *alternative* schedule and a *flat* base, with shares of its annual total.
//!
//! ## Weather
//!
//! `park-weather` (under the park node) holds a plausible Shaoxing temperature derived from the
//! same daily cooling and heating indices as the loads (see `shapes::temperature`): the
//! climatology of the season plus an anomaly that follows the indices, with a diurnal cycle.
//! Cooling-following loads (chillers, HVAC, cold stores) therefore rise on days hotter than
//! their season, as the forecasts with this meter as covariate can use.
//!
//! ## Calendar
//!
//! Day types come from `shulv_model::HolidayCalendar::china()`: working days and 调休 make-up
//! workdays run the working-day schedule; Saturdays, Sundays and public holidays have per-plant
//! levels. The Spring Festival block is the longest run of holidays in January–February; each
//! plant shuts down over a window relative to it and then ramps up over some days (from 50 %)
//! while migrant workers return.
//!
//! ## Noise and events
//!
//! Each meter multiplies its load by `1 + σ·(day term + AR(1) drift (φ = 0.97 per 15 min) +
//! ½·white)`. Enterprises add a day-to-day order-book variation. Production lines (process share
//! ≥ 0.5) stop unplanned on about 1.2 % of days for 2–8 hours (standby at 15 %).
//!
//! ## PV
//!
//! Ten rooftop arrays (total 12.4 MWp). The sun position is computed for 30.0°N 120.58°E
//! (declination, equation of time, hour angle), Haurwitz clear-sky irradiance averaged over three
//! points of each 15 minutes, times a park-wide sky: each day is clear, partly cloudy or
//! overcast with probabilities set by a monthly clearness (June's plum rains dullest, July and
//! August sunniest), plus an intraday cloud drift. Output = kWp × G/1000 × PR 0.8 × 0.25 h:
//! exactly zero at night, peaking near 12:00 solar time (≈ 11:55 local), about 1 100 kWh/kWp/yr.
//!
//! ## The enterprises
//!
//! | id | enterprise | industry | load pattern | annual electricity |
//! |---|---|---|---|---|
//! | ent01 | 绍兴恒远钢材轧制 | C31 steel rolling (bars, wire rod) | 3 shifts 7 days, dips at shift change (roll changes), Wednesday 08–14 planned maintenance (定修), stops 1 day before the Spring Festival for 5 days; reheating furnaces on natural gas | 30.7 GWh |
//! | ent02 | 绍兴智联电子科技 | C39 electronics assembly (SMT, PCBA) | 2 shifts 08–24 with meal breaks, Saturday 50 % overtime, Sunday near standby, 3-week Spring Festival shutdown, HVAC for constant temperature | 9.3 GWh |
//! | ent03 | 绍兴锦绣印染 | C17 textile dyeing | round the clock, Sunday 70 %, spring/autumn order peaks, 17-day Spring Festival stop; steam heavy (1.6 × 10⁵ GJ/yr), water heavy, stenters on gas, thermal-oil heat | 5.9 GWh |
//! | ent04 | 浙江瑞丰化工 | C26 chemicals | continuous incl. holidays (92 % at Spring Festival), two-week turnaround (停车大修) from 15 September; gas, steam, compressed air, cooling water | 18.6 GWh |
//! | ent05 | 绍兴味源食品 | C14 frozen food | day shift 07–19, strongly seasonal (peak Nov–Jan before the Spring Festival), cold store all year following temperature; its gas register is replaced on 18 June | 3.8 GWh |
//! | ent06 | 浙江康宁制药 | C27 pharmaceuticals | 08–20 weekdays, but clean-room HVAC runs 24/7 and follows weather; steam for sterilisation and humidification, winter heating water | 7.2 GWh |
//! | ent07 | 绍兴鲜达冷链物流 | G59 cold-chain warehouse | docks 06–22 every day, pre-Spring-Festival peak; cold rooms flat plus cooling; electric forklifts charge at night; diesel forklifts (diesel metered in kg) | 4.4 GWh |
//! | ent08 | 数绿云计算数据中心 | I65 data centre | IT load flat (hall 2 +30 % from June), chillers and towers follow temperature, PUE ≈ 1.35; output = racks in service (rack-days) | 22.8 GWh |
//! | ent09 | 浙江精工汽车零部件 | C36 auto parts machining | two 12-hour shifts Monday–Saturday; gas and electric heat treatment; compressed air | 10.6 GWh |
//! | ent10 | 绍兴华建新型建材 | C30 building materials | rotary kiln on bituminous coal and lime shaft kiln on coke run continuously; raw mills grind in valley-tariff hours (22–08, 11–13); low in winter, 3-week Spring Festival stop | 6.7 GWh |
//!
//! Park totals (order of magnitude for a mid-size Zhejiang park): electricity ≈ 1.2 × 10⁸ kWh,
//! natural gas ≈ 1.6 × 10⁷ m³, steam ≈ 2.5 × 10⁵ GJ (≈ 9 × 10⁴ t), water ≈ 1.7 × 10⁶ m³, coal 2.4 × 10⁴ t,
//! coke 4.5 × 10³ t, PV ≈ 1.2 × 10⁷ kWh, value added ≈ 10.3 亿元.
//!
//! Meters of one carrier inside a node never overlap (no check meters above sub-meters), so
//! subtree roll-ups are exact sums. Electricity meters measure consumption; PV is separate.
//!
//! ## Reading kinds
//!
//! - Interval meters (most): quantity per 15 minutes stamped at the interval start; production
//!   output daily (stamped at local midnight), value added monthly (万元, at the month's start).
//! - Cumulative registers (eight): a value at every 15-minute boundary, the year's end included.
//!   `ent03.ws2.water` (`rollover = 1000000.0`, a 6-digit register) wraps to 0 once; `ent05.boiler.gas` is replaced at
//!   2025-06-18 10:00 (see [`DemoPark::replacements`]): from that instant the new meter reads.
//! - Instantaneous power meters (five, kW): a sample every 5 minutes, the year's end included.

mod calendar;
mod industries;
mod pv;
mod rng;
mod series;
mod shapes;

use std::collections::HashMap;
use std::fmt::Write as _;

use calendar::Calendar;
use industries::{EnterpriseDef, MeterDef, Reading, Resolution};
use pv::Sky;
use series::{Context, Generated};
use shapes::{Components, Shapes};

const REGION: (&str, &str) = ("zj-sx", "浙江省绍兴市");
/// The park's node id.
pub const PARK_ID: &str = "shulv-park";
const PARK: (&str, &str) = (PARK_ID, "数绿示范产业园");
/// The park's outdoor temperature meter (气温, hourly, ℃).
pub const WEATHER_METER: &str = "park-weather";
const TIMEZONE: &str = "Asia/Shanghai";
const YEAR: i32 = 2025;

/// The standard demo park: its organisation tree, meters and one year of readings.
#[derive(Debug, Clone)]
pub struct DemoPark {
    cal: Calendar,
    components: Components,
    sky: Sky,
    enterprises: Vec<Enterprise>,
    meters: Vec<Meter>,
    by_id: HashMap<String, usize>,
    /// Outdoor temperature per hour of the year, ℃ ([`WEATHER_METER`]).
    temperature: Vec<f64>,
}

#[derive(Debug, Clone)]
struct Enterprise {
    def: EnterpriseDef,
    process: Vec<f64>,
    alt: Option<Vec<f64>>,
}

#[derive(Debug, Clone)]
struct Meter {
    id: String,
    node: String,
    enterprise: usize,
    index: usize,
}

impl Default for DemoPark {
    fn default() -> Self {
        Self::new()
    }
}

impl DemoPark {
    /// The standard demo park (deterministic), in its base year 2025.
    pub fn new() -> Self {
        Self::build(YEAR, |_, _| {})
    }

    /// The same park one calendar year later (deterministic): the same enterprises and meters,
    /// that year's calendar and its own noise. Registers continue from this year's final values
    /// (a meter is replaced only in the base year), and a load step taken during this year
    /// holds all of the next year (its annual total scaled to the level after the step).
    /// Years the holiday calendar does not cover have weekends but no public holidays.
    pub fn next_year(&self) -> DemoPark {
        let mut carry: HashMap<String, f64> = HashMap::new();
        for m in &self.meters {
            if matches!(self.def(m).reading, Reading::Cumulative { .. }) {
                let last = self.generate(m).readings.last().map(|r| r.1);
                carry.insert(m.id.clone(), last.expect("a register has readings"));
            }
        }
        Self::build(self.cal.year + 1, |id, def| {
            if let Reading::Cumulative {
                initial, replaced, ..
            } = &mut def.reading
            {
                *initial = carry[id];
                *replaced = None;
            }
            if let Some((month0, factor)) = def.step.take() {
                // The step year's mean level, by months: 1 before the step, `factor` after.
                let mean = (month0 as f64 + (12 - month0) as f64 * factor) / 12.0;
                def.annual *= factor / mean;
            }
        })
    }

    /// The park of `year` with each meter's definition adjusted by `adjust(meter id, def)`.
    fn build(year: i32, adjust: impl Fn(&str, &mut MeterDef)) -> Self {
        let cal = Calendar::year(year, YEAR);
        let shapes = Shapes::pjm();
        let components = Components::new(&shapes, &cal);
        let temperature = shapes::temperature(&shapes, &cal);
        let sky = Sky::new(&cal);
        let mut meters = Vec::new();
        let enterprises: Vec<Enterprise> = industries::park()
            .into_iter()
            .enumerate()
            .map(|(e, mut def)| {
                for (index, m) in def.meters.iter_mut().enumerate() {
                    let node = node_id(def.key, m.node);
                    let id = format!("{node}.{}", m.key);
                    adjust(&id, m);
                    meters.push(Meter {
                        id,
                        node,
                        enterprise: e,
                        index,
                    });
                }
                let (process, alt) = series::production(&def.operation, &cal, def.key);
                Enterprise { def, process, alt }
            })
            .collect();
        let by_id = meters
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
        DemoPark {
            cal,
            components,
            sky,
            enterprises,
            meters,
            by_id,
            temperature,
        }
    }

    /// The calendar year of this park's data.
    pub fn year(&self) -> i32 {
        self.cal.year
    }

    /// The tree and meters in shulv's registry TOML format.
    pub fn registry_toml(&self) -> String {
        let mut t = String::new();
        let mut node = |id: &str, name: &str, kind: &str, parent: Option<&str>, extra: &str| {
            writeln!(
                t,
                "[[node]]\nid = {}\nname = {}\nkind = {}",
                q(id),
                q(name),
                q(kind)
            )
            .unwrap();
            if let Some(p) = parent {
                writeln!(t, "parent = {}", q(p)).unwrap();
            }
            writeln!(t, "{extra}").unwrap();
        };
        node(
            REGION.0,
            REGION.1,
            "region",
            None,
            // Location for provincial and regional grid factors (Zhejiang, East China grid).
            &format!(
                "timezone = {}\nattributes = {{ province = \"CN-ZJ\", grid_region = \"GRID-EAST\" }}",
                q(TIMEZONE)
            ),
        );
        node(PARK.0, PARK.1, "park", Some(REGION.0), "");
        for e in &self.enterprises {
            let d = &e.def;
            node(
                d.key,
                d.name,
                "enterprise",
                Some(PARK.0),
                &format!("industry = {}", q(d.industry)),
            );
            for (key, name, kind) in &d.nodes {
                node(&node_id(d.key, key), name, kind, Some(d.key), "");
            }
        }
        for m in &self.meters {
            let def = self.def(m);
            let (reading, extra) = match def.reading {
                Reading::Interval(Resolution::Quarter) => {
                    ("interval", "interval_s = 900\n".to_string())
                }
                Reading::Interval(Resolution::Day) => {
                    ("interval", "interval_s = 86400\n".to_string())
                }
                Reading::Interval(Resolution::Month) => ("interval", String::new()),
                Reading::Cumulative { rollover, .. } => (
                    "cumulative",
                    rollover.map_or(String::new(), |r| format!("rollover = {r:.2}\n"))
                        + "interval_s = 900\n",
                ),
                Reading::Instantaneous => (
                    "instantaneous",
                    "max_gap_s = 900\ninterval_s = 300\n".to_string(),
                ),
            };
            writeln!(
                t,
                "[[meter]]\nid = {}\nname = {}\nnode = {}\ncarrier = {}\nunit = {}\nreading = {}\n{extra}",
                q(&m.id),
                q(def.name),
                q(&m.node),
                q(def.carrier.name()),
                q(def.unit),
                q(reading),
            )
            .unwrap();
        }
        writeln!(
            t,
            "[[meter]]\nid = {}\nname = \"园区气温\"\nnode = {}\ncarrier = \"air_temperature\"\nunit = \"℃\"\nreading = \"interval\"\ninterval_s = 3600\n",
            q(WEATHER_METER),
            q(PARK.0)
        )
        .unwrap();
        t
    }

    /// Meter ids in registry order (the weather meter last).
    pub fn meter_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.meters.iter().map(|m| m.id.clone()).collect();
        ids.push(WEATHER_METER.into());
        ids
    }

    /// The year's start, e.g. 2025-01-01T00:00+08:00, in ms UTC.
    pub fn start(&self) -> i64 {
        self.cal.start_ms
    }

    /// The next year's start, e.g. 2026-01-01T00:00+08:00, in ms UTC (exclusive end of the
    /// interval data).
    pub fn end(&self) -> i64 {
        self.cal.end_ms
    }

    /// Readings of one meter as sent by the meter (interval quantity stamped at interval start,
    /// register values, or kW samples), in time order; empty for an unknown id.
    pub fn readings(&self, meter_id: &str) -> Vec<(i64, f64)> {
        if meter_id == WEATHER_METER {
            return self.temperature_readings();
        }
        self.by_id
            .get(meter_id)
            .map_or_else(Vec::new, |&i| self.generate(&self.meters[i]).readings)
    }

    /// The readings of one meter a live meter would have sent by `until_ms`: an interval's
    /// quantity once the interval has ended, a register value or power sample once its
    /// instant has come.
    pub fn readings_until(&self, meter_id: &str, until_ms: i64) -> Vec<(i64, f64)> {
        let reading = self
            .by_id
            .get(meter_id)
            .map(|&i| self.def(&self.meters[i]).reading);
        let length = match reading {
            None if meter_id == WEATHER_METER => 3_600_000,
            Some(Reading::Interval(Resolution::Quarter)) => calendar::SLOT_MS,
            Some(Reading::Interval(Resolution::Day)) => calendar::DAY_MS,
            _ => 0,
        };
        let mut readings = self.readings(meter_id);
        if reading == Some(Reading::Interval(Resolution::Month)) {
            // A month's value once the next month has begun.
            let ends: Vec<i64> = readings
                .iter()
                .skip(1)
                .map(|r| r.0)
                .chain([self.end()])
                .collect();
            return readings
                .into_iter()
                .zip(ends)
                .filter(|&(_, end)| end <= until_ms)
                .map(|(r, _)| r)
                .collect();
        }
        readings.retain(|&(ts, _)| ts + length <= until_ms);
        readings
    }

    /// The weather meter's readings: one temperature an hour, stamped at the hour's start.
    fn temperature_readings(&self) -> Vec<(i64, f64)> {
        let start = self.cal.start_ms;
        (0..)
            .zip(&self.temperature)
            .map(|(h, &t)| (start + h * 3_600_000, t))
            .collect()
    }

    /// Every reading of the park, meter by meter in registry order (for bulk loading).
    pub fn for_each_reading(&self, mut f: impl FnMut(&str, i64, f64)) {
        for m in &self.meters {
            for (t, v) in self.generate(m).readings {
                f(&m.id, t, v);
            }
        }
        for (t, v) in self.temperature_readings() {
            f(WEATHER_METER, t, v);
        }
    }

    /// Meter replacements: (meter id, instant ms UTC, old meter's final register value, new
    /// meter's initial value). From `at` on, the meter's readings come from the new meter.
    pub fn replacements(&self) -> Vec<(String, i64, f64, f64)> {
        self.meters
            .iter()
            .filter(|m| {
                matches!(
                    self.def(m).reading,
                    Reading::Cumulative {
                        replaced: Some(_),
                        ..
                    }
                )
            })
            .filter_map(|m| {
                self.generate(m)
                    .replacement
                    .map(|(at, old, new)| (m.id.clone(), at, old, new))
            })
            .collect()
    }

    fn def(&self, m: &Meter) -> &MeterDef {
        &self.enterprises[m.enterprise].def.meters[m.index]
    }

    fn generate(&self, m: &Meter) -> Generated {
        let e = &self.enterprises[m.enterprise];
        let ctx = Context {
            cal: &self.cal,
            components: &self.components,
            sky: &self.sky,
            process: &e.process,
            alt: e.alt.as_deref(),
        };
        series::readings(&ctx, self.def(m), &m.id)
    }
}

fn node_id(enterprise: &str, key: &str) -> String {
    if key.is_empty() {
        enterprise.to_string()
    } else {
        format!("{enterprise}.{key}")
    }
}

/// A TOML basic string.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
