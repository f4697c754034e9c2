//! Normalisation (标准化) of one indicator column, by its direction.
//!
//! - min–max with a shift [a, b]: positive x' = a + (b − a)(x − min)/(max − min), negative
//!   x' = a + (b − a)(max − x)/(max − min); [0, 1] is the plain form, [0.002, 0.998] or
//!   [0.01, 0.99] keep logarithms (entropy) and products (coupling) away from 0;
//! - vector: r = x / sqrt(Σ x²), negative indicators 1 − r (in [0, 1] for x ≥ 0);
//! - z-score: (x − mean)/sd (sample sd), negative indicators sign-flipped; not in [0, 1], so
//!   neither entropy weights nor coupling accept it.

use serde::{Deserialize, Serialize};

use crate::tree::Direction;

/// A normalisation method.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Normalisation {
    /// Min–max into [a, b].
    MinMax {
        /// Lower end of the shift.
        a: f64,
        /// Upper end of the shift.
        b: f64,
    },
    /// Vector (Euclidean) norm.
    Vector,
    /// Standard score.
    ZScore,
}

impl Default for Normalisation {
    fn default() -> Self {
        Normalisation::MinMax { a: 0.0, b: 1.0 }
    }
}

impl Normalisation {
    /// True if every normalised value lies in [0, 1] (needed by entropy, obstacle degree and
    /// coupling).
    pub fn in_unit_interval(&self) -> bool {
        !matches!(self, Normalisation::ZScore)
    }

    /// Checks the settings (0 ≤ a < b ≤ 1).
    pub fn validate(&self) -> Result<(), String> {
        if let Normalisation::MinMax { a, b } = *self {
            if !(a.is_finite() && b.is_finite() && 0.0 <= a && a < b && b <= 1.0) {
                return Err(format!(
                    "min–max shift [{a}, {b}] must satisfy 0 ≤ a < b ≤ 1"
                ));
            }
        }
        Ok(())
    }

    /// A label for reports, e.g. `min–max [0.002, 0.998]`.
    pub fn label(&self) -> String {
        match self {
            Normalisation::MinMax { a, b } => format!("min–max [{a}, {b}]"),
            Normalisation::Vector => "vector norm".into(),
            Normalisation::ZScore => "z-score".into(),
        }
    }
}

/// Why a column could not be normalised.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum NormaliseError {
    /// All values equal: min–max and z-score divide by 0.
    #[error("all {n} values are equal ({value}): the indicator carries no information here; drop it or use vector normalisation")]
    Constant {
        /// Number of values.
        n: usize,
        /// The value.
        value: f64,
    },
    /// Vector normalisation of a column with a negative value or all zeros.
    #[error("vector normalisation needs values ≥ 0, not all 0")]
    VectorDomain,
    /// Fewer than 2 values.
    #[error("at least 2 values are needed, got {0}")]
    TooFew(usize),
}

/// Normalises `x` (one indicator over the samples) by `method` and `direction`.
pub fn normalise(
    x: &[f64],
    direction: Direction,
    method: &Normalisation,
) -> Result<Vec<f64>, NormaliseError> {
    if x.len() < 2 {
        return Err(NormaliseError::TooFew(x.len()));
    }
    let min = x.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    match *method {
        Normalisation::MinMax { a, b } => {
            let range = max - min;
            if range == 0.0 {
                return Err(NormaliseError::Constant {
                    n: x.len(),
                    value: min,
                });
            }
            Ok(x.iter()
                .map(|&v| {
                    let t = match direction {
                        Direction::Positive => (v - min) / range,
                        Direction::Negative => (max - v) / range,
                    };
                    a + (b - a) * t
                })
                .collect())
        }
        Normalisation::Vector => {
            if min < 0.0 || max == 0.0 {
                return Err(NormaliseError::VectorDomain);
            }
            let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
            Ok(x.iter()
                .map(|&v| match direction {
                    Direction::Positive => v / norm,
                    Direction::Negative => 1.0 - v / norm,
                })
                .collect())
        }
        Normalisation::ZScore => {
            let n = x.len() as f64;
            let mean = x.iter().sum::<f64>() / n;
            let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            if sd == 0.0 {
                return Err(NormaliseError::Constant {
                    n: x.len(),
                    value: min,
                });
            }
            Ok(x.iter()
                .map(|&v| match direction {
                    Direction::Positive => (v - mean) / sd,
                    Direction::Negative => (mean - v) / sd,
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_with_a_shift_by_direction() {
        let x = [3.0, 5.0, 2.0, 7.0];
        let m = Normalisation::MinMax { a: 0.002, b: 0.998 };
        let p = normalise(&x, Direction::Positive, &m).unwrap();
        assert_eq!(p[2], 0.002);
        assert_eq!(p[3], 0.998);
        let n = normalise(&x, Direction::Negative, &m).unwrap();
        assert_eq!(n[2], 0.998);
        assert!((n[0] - (0.002 + 0.996 * 0.8)).abs() < 1e-15);
        assert!(matches!(
            normalise(&[1.0, 1.0], Direction::Positive, &m),
            Err(NormaliseError::Constant { .. })
        ));
        assert!(Normalisation::MinMax { a: 0.5, b: 0.4 }.validate().is_err());
    }

    #[test]
    fn vector_and_z_score() {
        let v = normalise(&[3.0, 4.0], Direction::Positive, &Normalisation::Vector).unwrap();
        assert_eq!(v, vec![0.6, 0.8]);
        let v = normalise(&[3.0, 4.0], Direction::Negative, &Normalisation::Vector).unwrap();
        assert!((v[0] - 0.4).abs() < 1e-15);
        assert!(normalise(&[-1.0, 4.0], Direction::Positive, &Normalisation::Vector).is_err());
        let z = normalise(
            &[1.0, 2.0, 3.0],
            Direction::Negative,
            &Normalisation::ZScore,
        )
        .unwrap();
        assert_eq!(z, vec![1.0, 0.0, -1.0]);
    }
}
