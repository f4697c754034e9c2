//! Conversions of raw readings into interval quantities: cumulative registers (with rollover
//! and meter replacement) and instantaneous rates (trapezoid integration).
//!
//! Instants are epoch milliseconds. Every quantity is stamped with the start of the interval
//! it covers (the earlier reading's instant).

/// A meter exchange on a cumulative register: at instant `at` the old meter showed `old_final`
/// and was replaced by a meter showing `new_initial`. A reading stamped exactly `at` belongs
/// to the new meter.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Replacement {
    /// Instant of the exchange (epoch ms).
    pub at: i64,
    /// Last register value of the old meter.
    pub old_final: f64,
    /// First register value of the new meter.
    pub new_initial: f64,
}

/// Errors of register and power conversions.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConversionError {
    /// The register decreased and no rollover or replacement explains it.
    #[error("register went backwards from {prev_value} at {prev_ts} to {next_value} at {next_ts} (no rollover or meter replacement explains the drop)")]
    RegisterWentBackwards {
        /// Earlier instant (epoch ms).
        prev_ts: i64,
        /// Earlier register value.
        prev_value: f64,
        /// Later instant (epoch ms).
        next_ts: i64,
        /// Later register value.
        next_value: f64,
    },
    /// The second reading is not later than the first.
    #[error("readings not in increasing time order: {prev_ts} then {next_ts}")]
    NotIncreasing {
        /// Earlier instant.
        prev_ts: i64,
        /// Later instant.
        next_ts: i64,
    },
    /// A reading or replacement value is NaN or infinite.
    #[error("non-finite register value {value} at {ts}")]
    NonFinite {
        /// Instant of the value.
        ts: i64,
        /// The value.
        value: f64,
    },
}

/// Relative tolerance under which a tiny decrease (floating-point noise) counts as zero.
const JITTER: f64 = 1e-9;

fn check_finite(ts: i64, value: f64) -> Result<(), ConversionError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(ConversionError::NonFinite { ts, value })
    }
}

/// Difference of one register segment without replacement.
fn segment(
    prev: (i64, f64),
    next: (i64, f64),
    rollover: Option<f64>,
) -> Result<f64, ConversionError> {
    let (p, n) = (prev.1, next.1);
    if n >= p {
        return Ok(n - p);
    }
    let drop = p - n;
    if drop <= JITTER * p.abs().max(1.0) {
        return Ok(0.0);
    }
    if let Some(r) = rollover {
        if r > 0.0 && p <= r && n >= 0.0 && drop > r / 2.0 {
            return Ok(r - p + n);
        }
    }
    Err(ConversionError::RegisterWentBackwards {
        prev_ts: prev.0,
        prev_value: p,
        next_ts: next.0,
        next_value: n,
    })
}

/// Quantity consumed over `[prev.0, next.0)` from two register readings.
///
/// Rules:
/// - Replacements with `prev.0 < at <= next.0` split the interval into segments:
///   `(old_final - prev) + (next - new_initial)` (several replacements chain the same way).
/// - Within a segment, `next >= prev` gives `next - prev`. A decrease smaller than a relative
///   1e-9 of the value is treated as 0 (floating-point noise).
/// - A larger decrease is a rollover only when `rollover = Some(R)`, the register's modulus: the
///   value at which it wraps to 0 (1_000_000 for a 6-digit register; 100_000 for one whose
///   largest reading is 99_999.99 — the largest reading itself is refused by the registry), `0 <= next`,
///   `prev <= R` and the drop exceeds half the range (`prev - next > R / 2`); the delta is then
///   `R - prev + next`. Otherwise [`ConversionError::RegisterWentBackwards`].
pub fn register_delta(
    prev: (i64, f64),
    next: (i64, f64),
    rollover: Option<f64>,
    replacements: &[Replacement],
) -> Result<f64, ConversionError> {
    if next.0 <= prev.0 {
        return Err(ConversionError::NotIncreasing {
            prev_ts: prev.0,
            next_ts: next.0,
        });
    }
    check_finite(prev.0, prev.1)?;
    check_finite(next.0, next.1)?;
    let mut inside: Vec<&Replacement> = replacements
        .iter()
        .filter(|r| r.at > prev.0 && r.at <= next.0)
        .collect();
    inside.sort_by_key(|r| r.at);
    let mut total = 0.0;
    let mut start = prev;
    let mut places = widest(decimal_places(prev.1), decimal_places(next.1));
    if let Some(r) = rollover {
        places = widest(places, decimal_places(r));
    }
    for r in inside {
        check_finite(r.at, r.old_final)?;
        check_finite(r.at, r.new_initial)?;
        places = widest(places, decimal_places(r.old_final));
        places = widest(places, decimal_places(r.new_initial));
        total += segment(start, (r.at, r.old_final), rollover)?;
        start = (r.at, r.new_initial);
    }
    total += segment(start, next, rollover)?;
    // Registers are decimals of a fixed resolution (0.01 kWh): so is their difference, without
    // the binary noise of the subtraction (22.61, not 22.609999999403954).
    Ok(match places {
        Some(p) => (total * POW10[p]).round() / POW10[p],
        None => total,
    })
}

/// Powers of ten up to the most decimals a register value is taken to have.
const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];

/// The fewest decimals (at most 6) that write `v` exactly, if `|v| < 1e9` (so `v × 10^6` is
/// exact in a double); `None` otherwise (no fixed resolution: differences are left as computed).
fn decimal_places(v: f64) -> Option<usize> {
    if !v.is_finite() || v.abs() >= 1e9 {
        return None;
    }
    (0..POW10.len()).find(|&s| (v * POW10[s]).round() / POW10[s] == v)
}

/// The decimals of two values together: the more of the two, or `None` if either has none.
fn widest(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    Some(a?.max(b?))
}

/// Sorts by instant and keeps the last of duplicate instants (input order decides).
fn sorted_last_wins(readings: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut v = readings.to_vec();
    // Stable sort keeps input order among equal instants; keep the last one of each run.
    v.sort_by_key(|r| r.0);
    let mut out: Vec<(i64, f64)> = Vec::with_capacity(v.len());
    for r in v {
        match out.last_mut() {
            Some(last) if last.0 == r.0 => *last = r,
            _ => out.push(r),
        }
    }
    out
}

/// Converts register readings to interval quantities: one `(start, quantity)` per consecutive
/// pair, stamped with the earlier instant. The input is sorted first; of duplicate instants
/// the last one wins. A gap simply yields a longer interval. See [`register_delta`].
pub fn register_to_intervals(
    readings: &[(i64, f64)],
    rollover: Option<f64>,
    replacements: &[Replacement],
) -> Result<Vec<(i64, f64)>, ConversionError> {
    let v = sorted_last_wins(readings);
    v.windows(2)
        .map(|w| Ok((w[0].0, register_delta(w[0], w[1], rollover, replacements)?)))
        .collect()
}

/// Quantity between two rate samples by the trapezoid rule, in value·hours (kW → kWh,
/// m3/h → m3). `None` when the samples are more than `max_gap_s` seconds apart, not in
/// increasing order, or a value is not finite.
pub fn power_energy(prev: (i64, f64), next: (i64, f64), max_gap_s: u32) -> Option<f64> {
    let dt = next.0 - prev.0;
    if dt <= 0 || dt > i64::from(max_gap_s) * 1000 || !prev.1.is_finite() || !next.1.is_finite() {
        return None;
    }
    Some((prev.1 + next.1) / 2.0 * dt as f64 / 3_600_000.0)
}

/// Integrates rate samples into interval quantities `(start, quantity)`, one per consecutive
/// pair within `max_gap_s`; pairs across a longer gap yield nothing. The input is sorted
/// first; of duplicate instants the last one wins.
pub fn power_to_intervals(samples: &[(i64, f64)], max_gap_s: u32) -> Vec<(i64, f64)> {
    let v = sorted_last_wins(samples);
    v.windows(2)
        .filter_map(|w| power_energy(w[0], w[1], max_gap_s).map(|q| (w[0].0, q)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000;

    #[test]
    fn plain_delta() {
        assert_eq!(
            register_delta((0, 100.0), (15 * M, 112.5), None, &[]).unwrap(),
            12.5
        );
        assert_eq!(
            register_delta((0, 100.0), (15 * M, 100.0), None, &[]).unwrap(),
            0.0
        );
        // floating-point jitter
        assert_eq!(
            register_delta((0, 1e6), (M, 1e6 - 1e-7), None, &[]).unwrap(),
            0.0
        );
    }

    #[test]
    fn differences_of_decimal_registers_are_decimals() {
        // 3815229.31 - 3815206.70 is 22.609999999403954 in plain f64 arithmetic.
        assert_ne!(3_815_229.31 - 3_815_206.70, 22.61);
        let d = register_delta((0, 3_815_206.70), (15 * M, 3_815_229.31), None, &[]).unwrap();
        assert_eq!(d, 22.61);
        // Mixed resolutions keep the finer one; a value without a decimal form keeps the
        // difference as computed.
        let d = register_delta((0, 1.5), (15 * M, 2.125), None, &[]).unwrap();
        assert_eq!(d, 0.625);
        let third = 1.0 / 3.0;
        let d = register_delta((0, third), (15 * M, 1.0), None, &[]).unwrap();
        assert_eq!(d, 1.0 - third);
        // Across a rollover of a 6-digit register with two decimals.
        let d = register_delta((0, 999_999.99), (15 * M, 0.35), Some(1_000_000.0), &[]).unwrap();
        assert_eq!(d, 0.36);
    }

    #[test]
    fn backwards_is_an_error_with_details() {
        let e = register_delta((0, 100.0), (M, 90.0), None, &[]).unwrap_err();
        assert_eq!(
            e,
            ConversionError::RegisterWentBackwards {
                prev_ts: 0,
                prev_value: 100.0,
                next_ts: M,
                next_value: 90.0
            }
        );
        assert!(e.to_string().contains("100") && e.to_string().contains("90"));
        // small drop with rollover configured is still an error (not a plausible wrap)
        assert!(register_delta((0, 100.0), (M, 90.0), Some(1000.0), &[]).is_err());
    }

    #[test]
    fn rollover() {
        assert_eq!(
            register_delta((0, 99_990.0), (M, 15.0), Some(100_000.0), &[]).unwrap(),
            25.0
        );
        // A wrap to the last digit of the resolution loses nothing: 99 999.99 → 0.02 is 0.03.
        let d = register_delta((0, 99_999.99), (M, 0.02), Some(100_000.0), &[]).unwrap();
        assert!((d - 0.03).abs() < 1e-9, "{d}");
        // value above the range is not a wrap
        assert!(register_delta((0, 200_000.0), (M, 15.0), Some(100_000.0), &[]).is_err());
        // sequence with a wrap
        let r = register_to_intervals(
            &[(0, 999_000.0), (15 * M, 999_900.0), (30 * M, 400.0)],
            Some(1_000_000.0),
            &[],
        )
        .unwrap();
        assert_eq!(r, vec![(0, 900.0), (15 * M, 500.0)]);
    }

    #[test]
    fn replacement() {
        let rep = Replacement {
            at: 10 * M,
            old_final: 150.0,
            new_initial: 0.0,
        };
        // (150 - 100) + (20 - 0)
        assert_eq!(
            register_delta((0, 100.0), (15 * M, 20.0), None, &[rep]).unwrap(),
            70.0
        );
        // replacement exactly at the later reading belongs to the interval
        let at_next = Replacement { at: 15 * M, ..rep };
        assert_eq!(
            register_delta((0, 100.0), (15 * M, 5.0), None, &[at_next]).unwrap(),
            55.0
        );
        // replacement at the earlier reading is not in (prev, next]
        let at_prev = Replacement { at: 0, ..rep };
        assert!(register_delta((0, 100.0), (15 * M, 20.0), None, &[at_prev]).is_err());
        // two replacements in one interval chain
        let r1 = Replacement {
            at: 5 * M,
            old_final: 110.0,
            new_initial: 0.0,
        };
        let r2 = Replacement {
            at: 10 * M,
            old_final: 3.0,
            new_initial: 1000.0,
        };
        assert_eq!(
            register_delta((0, 100.0), (15 * M, 1002.0), None, &[r2, r1]).unwrap(),
            15.0
        );
        // in a series
        let q = register_to_intervals(&[(0, 100.0), (15 * M, 20.0), (30 * M, 30.0)], None, &[rep])
            .unwrap();
        assert_eq!(q, vec![(0, 70.0), (15 * M, 10.0)]);
    }

    #[test]
    fn sorting_duplicates_and_gaps() {
        let q = register_to_intervals(
            &[
                (30 * M, 130.0),
                (0, 100.0),
                (15 * M, 999.0),
                (15 * M, 110.0),
                (120 * M, 200.0),
            ],
            None,
            &[],
        )
        .unwrap();
        assert_eq!(q, vec![(0, 10.0), (15 * M, 20.0), (30 * M, 70.0)]);
        assert!(register_to_intervals(&[], None, &[]).unwrap().is_empty());
        assert!(register_to_intervals(&[(0, 1.0)], None, &[])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn non_finite_and_order() {
        assert!(matches!(
            register_delta((0, f64::NAN), (M, 1.0), None, &[]),
            Err(ConversionError::NonFinite { ts: 0, .. })
        ));
        assert!(matches!(
            register_delta((M, 1.0), (M, 2.0), None, &[]),
            Err(ConversionError::NotIncreasing { .. })
        ));
    }

    #[test]
    fn power() {
        // 100 kW -> 200 kW over 15 minutes = 37.5 kWh
        assert_eq!(power_energy((0, 100.0), (15 * M, 200.0), 3600), Some(37.5));
        assert_eq!(power_energy((0, 100.0), (60 * M, 100.0), 3600), Some(100.0));
        assert_eq!(power_energy((0, 100.0), (61 * M, 100.0), 3600), None);
        assert_eq!(power_energy((M, 100.0), (M, 100.0), 3600), None);
        assert_eq!(power_energy((0, f64::INFINITY), (M, 100.0), 3600), None);
        let q = power_to_intervals(
            &[
                (15 * M, 4.0),
                (0, 4.0),
                (30 * M, 8.0),
                (30 * M, 4.0),
                (180 * M, 4.0),
                (195 * M, 0.0),
            ],
            3600,
        );
        assert_eq!(q, vec![(0, 1.0), (15 * M, 1.0), (180 * M, 0.5)]);
    }
}
