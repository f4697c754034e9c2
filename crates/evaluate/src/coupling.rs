//! Coupling degree C (耦合度), comprehensive development index T (综合发展指数) and coupling
//! coordination degree D (耦合协调度) of k ≥ 2 subsystems, with the 10-level classification of D
//! and the four stages of C.
//!
//! - standard: C = k · (Π U_s)^(1/k) / Σ U_s;
//! - corrected (王淑佳 et al. 2021, 自然资源学报 36(3):793–810):
//!   C = sqrt{ [1 − Σ_{i>j} |U_i − U_j| / Σ_{m=1}^{k−1} m] · [Π_s (U_s / max U)]^(1/(k−1)) };
//! - T = Σ α_s U_s with Σ α_s = 1; D = sqrt(C · T).
//!
//! Every U_s must lie in [0, 1]; when every U_s is 0 the subsystems are not developed at all and
//! C = 0 (both forms would otherwise divide 0 by 0).

use serde::{Deserialize, Serialize};

/// Which formula of the coupling degree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouplingForm {
    /// C = k·(ΠU)^(1/k)/ΣU (crowds near 1 when the U are of similar size).
    #[default]
    Standard,
    /// The corrected form of 王淑佳 et al. 2021, spread over [0, 1].
    Corrected,
}

impl CouplingForm {
    /// Parses `standard` or `corrected`.
    pub fn parse(s: &str) -> Result<Self, CouplingError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "standard" => Ok(CouplingForm::Standard),
            "corrected" | "wang2021" => Ok(CouplingForm::Corrected),
            other => Err(CouplingError::UnknownForm(other.to_string())),
        }
    }

    /// The formula, as printed in reports.
    pub fn formula(self) -> &'static str {
        match self {
            CouplingForm::Standard => "C = k·(ΠU)^(1/k) / ΣU",
            CouplingForm::Corrected => {
                "C = sqrt{[1 − Σ_{i>j}|Ui−Uj| / Σ_{m=1}^{k−1} m]·[Π(Ui/maxU)]^(1/(k−1))} (王淑佳 et al. 2021)"
            }
        }
    }
}

/// Why a coupling could not be computed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CouplingError {
    /// Fewer than two subsystems.
    #[error("coupling needs at least 2 subsystems, got {0}")]
    TooFewSubsystems(usize),
    /// A score outside [0, 1] (or not a number).
    #[error("subsystem score U{index} = {value} is outside [0, 1]; normalise the subsystem scores first")]
    OutOfRange {
        /// 1-based subsystem number.
        index: usize,
        /// The score.
        value: f64,
    },
    /// The weights α do not fit the subsystems.
    #[error("{0}")]
    BadWeights(String),
    /// Neither `standard` nor `corrected`.
    #[error("unknown coupling form {0:?}: use standard or corrected")]
    UnknownForm(String),
}

/// Rounding slack accepted at the ends of [0, 1].
const SLACK: f64 = 1e-9;

fn check(u: &[f64]) -> Result<Vec<f64>, CouplingError> {
    if u.len() < 2 {
        return Err(CouplingError::TooFewSubsystems(u.len()));
    }
    u.iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.is_finite() && (-SLACK..=1.0 + SLACK).contains(&v) {
                Ok(v.clamp(0.0, 1.0))
            } else {
                Err(CouplingError::OutOfRange {
                    index: i + 1,
                    value: v,
                })
            }
        })
        .collect()
}

/// The coupling degree C of the subsystem scores `u` (each in [0, 1]).
pub fn coupling_degree(u: &[f64], form: CouplingForm) -> Result<f64, CouplingError> {
    let u = check(u)?;
    let k = u.len() as f64;
    let max = u.iter().cloned().fold(0.0, f64::max);
    if max == 0.0 {
        return Ok(0.0);
    }
    let c = match form {
        CouplingForm::Standard => {
            let sum: f64 = u.iter().sum();
            // geometric mean through logarithms would fail at 0; the product is exact enough
            // for the handful of subsystems a coupling has
            let product: f64 = u.iter().product();
            k * product.powf(1.0 / k) / sum
        }
        CouplingForm::Corrected => {
            let mut spread = 0.0;
            for i in 0..u.len() {
                for j in 0..i {
                    spread += (u[i] - u[j]).abs();
                }
            }
            let pairs = k * (k - 1.0) / 2.0; // Σ_{m=1}^{k−1} m
            let product: f64 = u.iter().map(|v| v / max).product();
            ((1.0 - spread / pairs) * product.powf(1.0 / (k - 1.0))).sqrt()
        }
    };
    Ok(c.clamp(0.0, 1.0))
}

/// T = Σ α_s U_s; `alpha` empty means equal weights. The α must be ≥ 0 and sum to 1.
pub fn comprehensive_index(u: &[f64], alpha: &[f64]) -> Result<f64, CouplingError> {
    let u = check(u)?;
    if alpha.is_empty() {
        return Ok(u.iter().sum::<f64>() / u.len() as f64);
    }
    if alpha.len() != u.len() {
        return Err(CouplingError::BadWeights(format!(
            "{} subsystem weights for {} subsystems",
            alpha.len(),
            u.len()
        )));
    }
    if alpha.iter().any(|a| !a.is_finite() || *a < 0.0) {
        return Err(CouplingError::BadWeights(format!(
            "subsystem weights must be ≥ 0, got {alpha:?}"
        )));
    }
    let sum: f64 = alpha.iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(CouplingError::BadWeights(format!(
            "subsystem weights must sum to 1, they sum to {sum}"
        )));
    }
    Ok(u.iter().zip(alpha).map(|(u, a)| u * a).sum())
}

/// The ten levels of D (left-open, right-closed intervals of width 0.1).
pub const D_LEVELS: [(&str, &str); 10] = [
    ("极度失调", "extreme imbalance"),
    ("严重失调", "serious imbalance"),
    ("中度失调", "moderate imbalance"),
    ("轻度失调", "mild imbalance"),
    ("濒临失调", "verge of imbalance"),
    ("勉强协调", "barely coordinated"),
    ("初级协调", "primary coordination"),
    ("中级协调", "intermediate coordination"),
    ("良好协调", "good coordination"),
    ("优质协调", "high-quality coordination"),
];

/// Upper bounds of the D levels, written as decimal literals so that a D of exactly 0.3
/// falls in (0.2, 0.3] and not, through 0.3 × 10 = 3.0000000000000004, in the next level.
const D_UPPER: [f64; 10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// A level of D: 1 (极度失调, (0, 0.1]) to 10 (优质协调, (0.9, 1]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DLevel {
    /// 1 … 10.
    pub level: u8,
    /// Chinese name.
    pub zh: &'static str,
    /// English name.
    pub en: &'static str,
}

/// The level of D. D = 0 (outside the left-open first interval) is put in level 1.
pub fn d_level(d: f64) -> DLevel {
    let index = D_UPPER.iter().position(|&upper| d <= upper).unwrap_or(9);
    DLevel {
        level: index as u8 + 1,
        zh: D_LEVELS[index].0,
        en: D_LEVELS[index].1,
    }
}

/// A stage of C: ≤ 0.3 低水平耦合, ≤ 0.5 拮抗, ≤ 0.8 磨合, ≤ 1 高水平耦合.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CStage {
    /// 1 … 4.
    pub stage: u8,
    /// Chinese name.
    pub zh: &'static str,
    /// English name.
    pub en: &'static str,
}

/// The stage of C.
pub fn c_stage(c: f64) -> CStage {
    const STAGES: [(f64, &str, &str); 4] = [
        (0.3, "低水平耦合", "low-level coupling"),
        (0.5, "拮抗", "antagonism"),
        (0.8, "磨合", "running-in"),
        (1.0, "高水平耦合", "high-level coupling"),
    ];
    let i = STAGES.iter().position(|s| c <= s.0).unwrap_or(3);
    CStage {
        stage: i as u8 + 1,
        zh: STAGES[i].1,
        en: STAGES[i].2,
    }
}

/// C, T, D and their classes for one set of subsystem scores.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Coupling {
    /// Coupling degree C.
    pub c: f64,
    /// Comprehensive development index T.
    pub t: f64,
    /// Coupling coordination degree D = sqrt(C·T).
    pub d: f64,
    /// The level of D.
    pub d_level: DLevel,
    /// The stage of C.
    pub c_stage: CStage,
}

/// C, T and D of `u` with subsystem weights `alpha` (empty: equal).
pub fn couple(u: &[f64], alpha: &[f64], form: CouplingForm) -> Result<Coupling, CouplingError> {
    let c = coupling_degree(u, form)?;
    let t = comprehensive_index(u, alpha)?;
    let d = (c * t).sqrt();
    Ok(Coupling {
        c,
        t,
        d,
        d_level: d_level(d),
        c_stage: c_stage(c),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use CouplingForm::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn k2_matches_the_closed_forms() {
        let (u1, u2): (f64, f64) = (0.3, 0.6);
        close(
            coupling_degree(&[u1, u2], Standard).unwrap(),
            2.0 * (u1 * u2).sqrt() / (u1 + u2),
        );
        let expected = ((1.0 - (u2 - u1)) * u1 / u2).sqrt();
        close(coupling_degree(&[u1, u2], Corrected).unwrap(), expected);
        close(coupling_degree(&[u2, u1], Corrected).unwrap(), expected);
        let c = couple(&[u1, u2], &[], Standard).unwrap();
        close(c.t, 0.45);
        close(c.d, (c.c * 0.45).sqrt());
    }

    #[test]
    fn k3_corrected_keeps_the_half_exponent() {
        let u = [0.2, 0.5, 0.8];
        // Σ|Ui−Uj| = 0.3 + 0.6 + 0.3 = 1.2, Σm = 3; Π(U/max) = 0.25·0.625·1 = 0.15625
        let expected = ((1.0 - 1.2 / 3.0) * 0.15625f64.powf(0.5)).sqrt();
        close(coupling_degree(&u, Corrected).unwrap(), expected);
        // the form that drops the 1/(k−1) exponent gives a different number: not ours
        let dropped = ((1.0 - 1.2 / 3.0) * 0.15625f64).sqrt();
        assert!((coupling_degree(&u, Corrected).unwrap() - dropped).abs() > 0.05);
        let standard = 3.0 * (0.2f64 * 0.5 * 0.8).powf(1.0 / 3.0) / 1.5;
        close(coupling_degree(&u, Standard).unwrap(), standard);
    }

    #[test]
    fn k4_both_forms() {
        let u = [0.1, 0.4, 0.4, 0.9];
        // pairs: .3 .3 .8 0 .5 .5 → 2.4; Σm = 6; Π(U/max) = (1/9)(4/9)(4/9)(1)
        let p: f64 = (1.0 / 9.0) * (4.0 / 9.0) * (4.0 / 9.0);
        close(
            coupling_degree(&u, Corrected).unwrap(),
            ((1.0 - 2.4 / 6.0) * p.powf(1.0 / 3.0)).sqrt(),
        );
        close(
            coupling_degree(&u, Standard).unwrap(),
            4.0 * (0.1f64 * 0.4 * 0.4 * 0.9).powf(0.25) / 1.8,
        );
        let t = comprehensive_index(&u, &[0.4, 0.3, 0.2, 0.1]).unwrap();
        close(t, 0.04 + 0.12 + 0.08 + 0.09);
    }

    #[test]
    fn edge_cases_for_k_2_3_4() {
        for k in 2..=4 {
            for form in [Standard, Corrected] {
                // all zero: C = 0, T = 0, D = 0 in level 1
                let zero = couple(&vec![0.0; k], &[], form).unwrap();
                assert_eq!((zero.c, zero.t, zero.d), (0.0, 0.0, 0.0));
                assert_eq!(zero.d_level.level, 1);
                // all equal and positive: perfect coupling
                let equal = couple(&vec![0.64; k], &[], form).unwrap();
                close(equal.c, 1.0);
                close(equal.d, 0.8);
                assert_eq!(equal.d_level.zh, "中级协调");
                assert_eq!(equal.c_stage.zh, "高水平耦合");
                // one subsystem at 0: no coupling at all, whatever the others
                let mut u = vec![0.7; k];
                u[k - 1] = 0.0;
                let one_zero = couple(&u, &[], form).unwrap();
                assert_eq!(one_zero.c, 0.0, "k={k} {form:?}");
                assert_eq!(one_zero.d, 0.0);
                close(one_zero.t, 0.7 * (k - 1) as f64 / k as f64);
                // all at 1
                close(coupling_degree(&vec![1.0; k], form).unwrap(), 1.0);
            }
        }
    }

    #[test]
    fn corrected_spreads_what_standard_crowds_near_one() {
        let u = [0.3, 0.6];
        let s = coupling_degree(&u, Standard).unwrap();
        let c = coupling_degree(&u, Corrected).unwrap();
        assert!(s > 0.94 && c < 0.6, "standard {s}, corrected {c}");
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(
            coupling_degree(&[0.5], Standard),
            Err(CouplingError::TooFewSubsystems(1))
        );
        assert!(matches!(
            coupling_degree(&[0.5, 1.2], Corrected),
            Err(CouplingError::OutOfRange { index: 2, .. })
        ));
        assert!(coupling_degree(&[f64::NAN, 0.2], Standard).is_err());
        assert!(comprehensive_index(&[0.1, 0.2], &[0.5, 0.6]).is_err());
        assert!(comprehensive_index(&[0.1, 0.2], &[1.0]).is_err());
        assert!(CouplingForm::parse("other").is_err());
    }

    #[test]
    fn the_ten_levels_at_their_boundaries() {
        // each right end belongs to its level, the next representable number to the next one
        for (i, &upper) in D_UPPER.iter().enumerate() {
            assert_eq!(d_level(upper).level as usize, i + 1, "D = {upper}");
            assert_eq!(d_level(upper).zh, D_LEVELS[i].0);
            if i < 9 {
                let above = f64::from_bits(upper.to_bits() + 1);
                assert_eq!(d_level(above).level as usize, i + 2, "D just above {upper}");
            }
            let lower = if i == 0 { 0.0 } else { D_UPPER[i - 1] };
            assert_eq!(d_level((lower + upper) / 2.0).level as usize, i + 1);
        }
        assert_eq!(d_level(0.0).level, 1);
        // D computed as sqrt(C·T) landing on a boundary: sqrt(0.09) is exactly 0.3
        assert_eq!(d_level((0.3f64 * 0.3).sqrt()).zh, "中度失调");
        assert_eq!(c_stage(0.3).zh, "低水平耦合");
        assert_eq!(c_stage(0.31).zh, "拮抗");
        assert_eq!(c_stage(0.5).zh, "拮抗");
        assert_eq!(c_stage(0.8).zh, "磨合");
        assert_eq!(c_stage(0.81).zh, "高水平耦合");
    }
}
