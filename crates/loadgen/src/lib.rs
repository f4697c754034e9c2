//! Deterministic, realistic meter data for the shulv benchmarks.
//!
//! Every benchmark (the HTTP load generator and the store benchmark) draws its readings from
//! [`reading_centi`], so the same meter at the same instant always has the same value: kWh per
//! 15-minute interval with two decimals, shaped by an industrial daily profile (night base load,
//! morning ramp, lunch dip, evening decline), a weekly profile (lower weekends), a mild seasonal
//! swing (summer cooling, winter heating) and ±8 % noise, for meters whose sizes span three
//! orders of magnitude (5 kW to 5 MW, log-uniform).

/// 2025-01-01T00:00:00+08:00 (Asia/Shanghai), seconds since the epoch.
pub const T0_S: i64 = 1_735_660_800;
/// 15 minutes.
pub const STEP_S: i64 = 900;
/// UTC offset of Asia/Shanghai, used for the local daily profile.
const LOCAL_OFFSET_S: i64 = 8 * 3600;

/// splitmix64: a tiny, fast, well-mixed hash.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Uniform in [0, 1) from a hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The fixed characteristics of one meter.
#[derive(Clone, Copy, Debug)]
pub struct Meter {
    /// Installed load in kW (log-uniform 5 kW .. 5 MW).
    pub kw: f64,
    /// Night load as a fraction of the day load.
    pub night: f64,
    /// Weekend load as a fraction of the weekday load.
    pub weekend: f64,
    /// Seasonal sensitivity (-0.15 .. 0.15).
    pub season: f64,
}

impl Meter {
    /// Meter number `i` (0-based).
    pub fn new(i: u32) -> Meter {
        let h = mix(0x5348_554c_5600_0000 ^ i as u64);
        let kw = 5.0 * 1000f64.powf(unit(h));
        let night = 0.25 + 0.5 * unit(mix(h ^ 1));
        let weekend = 0.4 + 0.55 * unit(mix(h ^ 2));
        let season = 0.3 * unit(mix(h ^ 3)) - 0.15;
        Meter {
            kw,
            night,
            weekend,
            season,
        }
    }
}

/// Shape of the daily profile at local minute-of-day `m` (0..1440), in [0, 1].
fn day_shape(m: i64) -> f64 {
    let h = m as f64 / 60.0;
    match h {
        h if h < 6.0 => 0.0,
        h if h < 9.0 => (h - 6.0) / 3.0,
        h if h < 12.0 => 1.0,
        h if h < 13.5 => 0.8,
        h if h < 18.0 => 1.0,
        h if h < 22.0 => 1.0 - (h - 18.0) / 4.0,
        _ => 0.0,
    }
}

/// The profile of an instant that does not depend on the meter.
#[derive(Clone, Copy, Debug)]
pub struct Instant {
    /// Seconds since the epoch (interval start).
    pub ts_s: i64,
    day: f64,
    weekend: bool,
    season: f64,
}

impl Instant {
    /// Profile of the 15-minute interval starting at `ts_s`.
    pub fn new(ts_s: i64) -> Instant {
        let local = ts_s + LOCAL_OFFSET_S;
        let days = local.div_euclid(86_400);
        let minute = local.rem_euclid(86_400) / 60;
        // 1970-01-01 was a Thursday: weekday 0 = Monday.
        let weekday = (days + 3).rem_euclid(7);
        let doy = days.rem_euclid(365) as f64;
        // +1 at the end of July, -1 at the end of January.
        let season = ((doy - 209.0) / 365.0 * std::f64::consts::TAU).cos();
        Instant {
            ts_s,
            day: day_shape(minute),
            weekend: weekday >= 5,
            season,
        }
    }
}

/// kWh × 100 consumed by `meter` (number `i`) in the interval `at`.
pub fn reading_centi(i: u32, meter: &Meter, at: &Instant) -> i64 {
    let level = meter.night + (1.0 - meter.night) * at.day;
    let week = if at.weekend { meter.weekend } else { 1.0 };
    let season = 1.0 + meter.season * at.season.abs();
    let noise = 1.0 + 0.16 * (unit(mix((at.ts_s as u64) << 20 ^ i as u64)) - 0.5);
    let kwh = meter.kw * 0.25 * level * week * season * noise;
    (kwh * 100.0).round() as i64
}

/// Meter id of meter number `i` (0-based): `m00001`, `m00002`, ...
pub fn meter_id(i: u32) -> String {
    format!("m{:05}", i + 1)
}

/// The registry (TOML) of `meters` interval electricity meters under one site node.
pub fn registry_toml(meters: u32) -> String {
    let mut s = String::with_capacity(meters as usize * 120 + 200);
    s.push_str("[[node]]\nid = \"site\"\nname = \"benchmark site\"\nkind = \"site\"\ntimezone = \"Asia/Shanghai\"\n");
    for i in 0..meters {
        let id = meter_id(i);
        s.push_str(&format!(
            "\n[[meter]]\nid = \"{id}\"\nname = \"meter {id}\"\nnode = \"site\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"interval\"\n"
        ));
    }
    s
}

/// Append `v` in decimal.
pub fn push_int(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

/// Append a value given in hundredths with two decimals (`1234` → `12.34`).
pub fn push_centi(out: &mut Vec<u8>, centi: i64) {
    if centi < 0 {
        out.push(b'-');
    }
    let c = centi.unsigned_abs();
    push_int(out, (c / 100) as i64);
    out.push(b'.');
    let f = (c % 100) as u8;
    out.push(b'0' + f / 10);
    out.push(b'0' + f % 10);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        let mut v = Vec::new();
        push_centi(&mut v, 1234);
        v.push(b' ');
        push_centi(&mut v, 5);
        v.push(b' ');
        push_int(&mut v, 1_735_660_800);
        assert_eq!(String::from_utf8(v).unwrap(), "12.34 0.05 1735660800");
    }

    #[test]
    fn readings_are_deterministic_and_plausible() {
        let mut total = 0i64;
        for i in 0..100 {
            let m = Meter::new(i);
            assert!(m.kw >= 5.0 && m.kw <= 5000.0);
            for step in 0..96 * 7 {
                let at = Instant::new(T0_S + step * STEP_S);
                let v = reading_centi(i, &m, &at);
                assert_eq!(
                    v,
                    reading_centi(i, &Meter::new(i), &Instant::new(T0_S + step * STEP_S))
                );
                assert!(v >= 0 && (v as f64) <= m.kw * 25.0 * 1.3);
                total += v;
            }
        }
        assert!(total > 0);
    }

    #[test]
    fn registry_lists_every_meter() {
        let r = registry_toml(3);
        assert!(
            r.contains("id = \"m00001\"") && r.contains("id = \"m00003\"") && !r.contains("m00004")
        );
    }
}
