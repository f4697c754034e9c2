//! Load shapes derived from real public load data (PJM East, see `data/pjm_shapes.csv` and
//! `examples/derive_shapes.rs`), parsed from the copy shipped inside the crate.

use crate::calendar::{Calendar, QUARTERS_PER_DAY};
use crate::rng::{Ar1, Rng};

const PJM_SHAPES: &str = include_str!("../data/pjm_shapes.csv");

/// The parsed shapes: hourly profile by month x day type, and daily weather indices.
#[derive(Debug, Clone)]
pub(crate) struct Shapes {
    /// `profile[month0][off_day][hour]`: hour's load / day's mean load.
    profile: [[[f64; 24]; 2]; 12],
    /// Per day of year (0-based): de-weekified daily load index (mean about 1).
    load: Vec<f64>,
    /// Per day of year: cooling-like index (warm half-year, mean 1 over the year).
    cooling: Vec<f64>,
    /// Per day of year: heating-like index (cold half-year, mean 1 over the year).
    heating: Vec<f64>,
}

impl Shapes {
    pub(crate) fn pjm() -> Self {
        let mut s = Shapes {
            profile: [[[0.0; 24]; 2]; 12],
            load: Vec::with_capacity(365),
            cooling: Vec::with_capacity(365),
            heating: Vec::with_capacity(365),
        };
        for line in PJM_SHAPES.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split(',').collect();
            let num = |i: usize| f[i].parse::<f64>().expect("pjm_shapes.csv: number");
            match f[0] {
                "P" => {
                    let (m, dt) = (num(1) as usize - 1, num(2) as usize);
                    for h in 0..24 {
                        s.profile[m][dt][h] = num(3 + h);
                    }
                }
                "D" => {
                    s.load.push(num(2));
                    s.cooling.push(num(3));
                    s.heating.push(num(4));
                }
                other => panic!("pjm_shapes.csv: unknown row kind {other}"),
            }
        }
        assert_eq!(s.load.len(), 365, "pjm_shapes.csv: 365 daily rows");
        s
    }

    /// The hourly profile at a quarter of the day, linearly interpolated between hour midpoints
    /// (wrapping around midnight), so 15-minute values have no hourly steps.
    fn profile_at(&self, month0: usize, off_day: bool, quarter: usize) -> f64 {
        let p = &self.profile[month0][usize::from(off_day)];
        let x = (quarter as f64 + 0.5) / 4.0 - 0.5; // hour coordinate of the quarter's midpoint
        let h0 = x.floor();
        let w = x - h0;
        let i0 = (h0 as i64).rem_euclid(24) as usize;
        p[i0] * (1.0 - w) + p[(i0 + 1) % 24] * w
    }
}

/// Park-wide shape components, one value per 15-minute slot of the year, each with mean 1.
#[derive(Debug, Clone)]
pub(crate) struct Components {
    /// Offices, lighting, general services: PJM profile x daily load index x occupancy.
    pub(crate) building: Vec<f64>,
    /// Cooling (air conditioning, chillers, refrigeration): cooling index x PJM profile.
    pub(crate) cooling: Vec<f64>,
    /// Space and process heating in the cold half-year: heating index x PJM profile.
    pub(crate) heating: Vec<f64>,
}

impl Components {
    pub(crate) fn new(shapes: &Shapes, cal: &Calendar) -> Self {
        let n = cal.slots();
        let mut c = Components {
            building: Vec::with_capacity(n),
            cooling: Vec::with_capacity(n),
            heating: Vec::with_capacity(n),
        };
        for (d, day) in cal.days.iter().enumerate() {
            let doy = d.min(364);
            let off = !day.day_type.is_working();
            let occupancy = if day.spring_festival {
                0.25
            } else if off {
                0.45
            } else {
                1.0
            };
            for q in 0..QUARTERS_PER_DAY {
                let p = shapes.profile_at(day.month0, off, q);
                c.building.push(p * shapes.load[doy] * occupancy);
                c.cooling.push(p * p * shapes.cooling[doy]);
                c.heating.push(p * shapes.heating[doy]);
            }
        }
        for v in [&mut c.building, &mut c.cooling, &mut c.heating] {
            normalise(v);
        }
        c
    }
}

/// Outdoor temperature of the park (℃), one value per hour of the year, consistent with the
/// cooling and heating indices that drive the weather-following loads.
///
/// Daily mean = a Shaoxing climatology (5 ℃ mid-January, 29 ℃ mid-July) plus an anomaly:
/// 3 ℃ per unit of √(cooling index) and −3 ℃ per unit of √(heating index), each minus its own
/// 31-day centred mean, so a hotter day than its season has more cooling load, a colder one
/// more heating. Diurnal cycle: ± 4 ℃ around the daily mean, warmest at 14:30; hourly AR(1)
/// noise of 0.4 ℃; rounded to 0.1 ℃ like a weather station.
pub(crate) fn temperature(shapes: &Shapes, cal: &Calendar) -> Vec<f64> {
    let roots = |v: &[f64]| v.iter().map(|x| x.max(0.0).sqrt()).collect::<Vec<f64>>();
    let (cool, heat) = (roots(&shapes.cooling), roots(&shapes.heating));
    let centred = |v: &[f64], d: usize| {
        let (lo, hi) = (d.saturating_sub(15), (d + 15).min(v.len() - 1));
        v[lo..=hi].iter().sum::<f64>() / (hi - lo + 1) as f64
    };
    let mut rng = Rng::named("park-weather", cal.stream(0));
    let mut noise = Ar1::new(0.8);
    let mut out = Vec::with_capacity(cal.days.len() * 24);
    for d in 0..cal.days.len() {
        let doy = d.min(364);
        let climate = 17.0 - 12.0 * (std::f64::consts::TAU * (doy as f64 - 15.0) / 365.0).cos();
        let anomaly =
            3.0 * (cool[doy] - centred(&cool, doy)) - 3.0 * (heat[doy] - centred(&heat, doy));
        for h in 0..24 {
            let diurnal = 4.0 * (std::f64::consts::TAU * (h as f64 - 14.5) / 24.0).cos();
            let t = climate + anomaly + diurnal + 0.4 * noise.step(&mut rng);
            out.push((t * 10.0).round() / 10.0);
        }
    }
    out
}

/// Scales a series to mean 1 (no-op for an all-zero series).
pub(crate) fn normalise(v: &mut [f64]) {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    if mean > 0.0 {
        v.iter_mut().for_each(|x| *x /= mean);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_shapes_parse_and_look_like_load() {
        let s = Shapes::pjm();
        for m in 0..12 {
            for dt in 0..2 {
                let mean = s.profile[m][dt].iter().sum::<f64>() / 24.0;
                assert!((mean - 1.0).abs() < 0.01, "profile mean {mean}");
            }
            // night trough below the day
            assert!(s.profile[m][0][4] < s.profile[m][0][11]);
        }
        // summer cooling, winter heating
        assert!(s.cooling[200] > 1.0 && s.cooling[15] == 0.0);
        assert!(s.heating[15] > 0.5 && s.heating[200] == 0.0);
        // interpolation stays between neighbouring hours
        let v = s.profile_at(0, false, 4 * 7 + 2);
        let (a, b) = (s.profile[0][0][7], s.profile[0][0][8]);
        assert!(v >= a.min(b) && v <= a.max(b));
    }
}
