//! Rooftop PV: sun position for the park (about 30.0°N 120.6°E), Haurwitz clear-sky irradiance
//! and a deterministic sky (daily clearness by month plus intraday cloud drift).

use std::f64::consts::PI;

use crate::calendar::{Calendar, QUARTERS_PER_DAY, SLOT_MS};
use crate::rng::{Ar1, Rng};

pub(crate) const LATITUDE_DEG: f64 = 30.0;
pub(crate) const LONGITUDE_DEG: f64 = 120.58;

/// Mean clear-sky index by month for northern Zhejiang: the plum-rain season (梅雨, June) is the
/// dullest month, the subtropical-high summer (July, August) the sunniest.
const MONTHLY_CLEARNESS: [f64; 12] = [
    0.54, 0.46, 0.48, 0.54, 0.56, 0.44, 0.68, 0.67, 0.58, 0.62, 0.58, 0.56,
];

/// Cosine of the solar zenith angle at an instant (ms UTC), clamped at 0 below the horizon.
pub(crate) fn cos_zenith(ms: i64) -> f64 {
    let days = ms as f64 / 86_400_000.0; // since 1970-01-01T00:00Z
    let n = (days.rem_euclid(365.2422)) + 1.0; // approximate day of year
    let b = 2.0 * PI * (n - 81.0) / 364.0;
    let eot_min = 9.87 * (2.0 * b).sin() - 7.53 * b.cos() - 1.5 * b.sin();
    let decl = (23.44f64).to_radians() * (2.0 * PI * (284.0 + n) / 365.0).sin();
    let utc_h = days.rem_euclid(1.0) * 24.0;
    let solar_h = utc_h + LONGITUDE_DEG / 15.0 + eot_min / 60.0;
    let hour_angle = (15.0 * (solar_h - 12.0)).to_radians();
    let lat = LATITUDE_DEG.to_radians();
    (lat.sin() * decl.sin() + lat.cos() * decl.cos() * hour_angle.cos()).max(0.0)
}

/// Haurwitz clear-sky global horizontal irradiance (W/m²).
fn clear_sky_ghi(cos_z: f64) -> f64 {
    if cos_z <= 0.0 {
        0.0
    } else {
        1098.0 * cos_z * (-0.057 / cos_z).exp()
    }
}

/// The park's sky for the year: mean global irradiance (W/m²) per 15-minute slot, shared by all
/// arrays (they are a few hundred metres apart, so they see the same weather).
#[derive(Debug, Clone)]
pub(crate) struct Sky {
    pub(crate) irradiance: Vec<f64>,
}

impl Sky {
    pub(crate) fn new(cal: &Calendar) -> Self {
        let mut rng = Rng::named("sky", cal.stream(0));
        let mut drift = Ar1::new(0.9);
        let mut irradiance = Vec::with_capacity(cal.slots());
        for (d, day) in cal.days.iter().enumerate() {
            let m = MONTHLY_CLEARNESS[day.month0];
            let u = rng.uniform();
            // clear, partly cloudy or overcast day, with probabilities set by the monthly mean
            let (k, variability) = if u < m - 0.25 {
                (rng.range(0.85, 1.0), 0.03)
            } else if u < m - 0.25 + (0.85 - m) {
                (rng.range(0.08, 0.35), 0.12)
            } else {
                (rng.range(0.45, 0.85), 0.35)
            };
            for q in 0..QUARTERS_PER_DAY {
                let slot_start = cal.slot_ms(d * QUARTERS_PER_DAY + q);
                let ghi = [1, 3, 5]
                    .iter()
                    .map(|i| clear_sky_ghi(cos_zenith(slot_start + i * SLOT_MS / 6)))
                    .sum::<f64>()
                    / 3.0;
                let cloud = (1.0 + variability * drift.step(&mut rng)).clamp(0.15, 1.12);
                irradiance.push(ghi * (k * cloud).min(1.1));
            }
        }
        Sky { irradiance }
    }
}

/// Energy (kWh) of an array of `kwp` peak power in one 15-minute slot, with performance ratio
/// `pr` and a small per-array measurement/soiling jitter `jitter` (fraction, from the caller).
pub(crate) fn array_kwh(kwp: f64, pr: f64, irradiance: f64, jitter: f64) -> f64 {
    if irradiance <= 0.0 {
        0.0
    } else {
        kwp * irradiance / 1000.0 * pr * 0.25 * (1.0 + jitter).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sun_is_high_at_local_noon_and_down_at_midnight() {
        // 2025-06-21T12:00+08:00 = 04:00Z
        let noon = 1_750_478_400_000;
        let midnight = noon - 12 * 3_600_000;
        let cz = cos_zenith(noon);
        assert!(cz > 0.95, "summer noon cos z {cz}");
        assert_eq!(cos_zenith(midnight), 0.0);
        // winter noon lower
        let dec_noon = 1_766_289_600_000; // 2025-12-21T12:00+08:00
        let cw = cos_zenith(dec_noon);
        assert!(cw > 0.5 && cw < 0.75, "winter noon cos z {cw}");
    }
}
