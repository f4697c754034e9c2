//! Composite scores (综合得分): weighted sum, TOPSIS (逼近理想解法) in its two variants, and the
//! obstacle degree (障碍度).

use serde::{Deserialize, Serialize};

use crate::tree::Direction;

/// How samples are scored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreMethod {
    /// S_i = Σ_j w_j x'_ij on the normalised matrix.
    #[default]
    WeightedSum,
    /// Classic TOPSIS: r_ij = x_ij/sqrt(Σ_i x_ij²) on the raw values, v = w·r, ideal and
    /// anti-ideal by direction, C_i = S⁻/(S⁺ + S⁻).
    TopsisVector,
    /// TOPSIS on the min–max normalised matrix (every column already "larger is better").
    TopsisMinMax,
}

impl ScoreMethod {
    /// The label printed with results.
    pub fn label(self) -> &'static str {
        match self {
            ScoreMethod::WeightedSum => "weighted sum Σ w·x'",
            ScoreMethod::TopsisVector => "TOPSIS (classic, vector norm of raw values)",
            ScoreMethod::TopsisMinMax => "TOPSIS (variant on the min–max normalised matrix)",
        }
    }
}

/// S_i = Σ_j w_j x_ij (`columns[j][i]`).
pub fn weighted_sum(columns: &[Vec<f64>], weights: &[f64]) -> Vec<f64> {
    let n = columns.first().map_or(0, Vec::len);
    (0..n)
        .map(|i| columns.iter().zip(weights).map(|(c, w)| w * c[i]).sum())
        .collect()
}

/// Closeness C_i of TOPSIS on `columns` (`columns[j][i]`), weighted by `weights`.
///
/// With `vector_norm` the columns are raw values, divided by their Euclidean norm and judged by
/// `directions`; without it they are taken as already normalised, larger is better.
/// A sample at distance 0 from both the ideal and the anti-ideal (possible only when every
/// column is constant, which normalisation refuses earlier) gets 0.
pub fn topsis(
    columns: &[Vec<f64>],
    weights: &[f64],
    directions: &[Direction],
    vector_norm: bool,
) -> Vec<f64> {
    let n = columns.first().map_or(0, Vec::len);
    let v: Vec<Vec<f64>> = columns
        .iter()
        .zip(weights)
        .map(|(c, w)| {
            let norm = if vector_norm {
                c.iter().map(|x| x * x).sum::<f64>().sqrt()
            } else {
                1.0
            };
            c.iter()
                .map(|x| if norm > 0.0 { w * x / norm } else { 0.0 })
                .collect()
        })
        .collect();
    let (ideal, anti): (Vec<f64>, Vec<f64>) = v
        .iter()
        .zip(directions)
        .map(|(c, d)| {
            let max = c.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let min = c.iter().cloned().fold(f64::INFINITY, f64::min);
            match (vector_norm, d) {
                (true, Direction::Negative) => (min, max),
                _ => (max, min),
            }
        })
        .unzip();
    (0..n)
        .map(|i| {
            let plus = v
                .iter()
                .zip(&ideal)
                .map(|(c, a)| (c[i] - a).powi(2))
                .sum::<f64>()
                .sqrt();
            let minus = v
                .iter()
                .zip(&anti)
                .map(|(c, a)| (c[i] - a).powi(2))
                .sum::<f64>()
                .sqrt();
            if plus + minus == 0.0 {
                0.0
            } else {
                minus / (plus + minus)
            }
        })
        .collect()
}

/// Obstacle degree of every indicator for one sample: O_j = w_j(1 − x'_j) as a share (%) of
/// Σ_j O_j; all 0 when the sample is at the best value everywhere.
pub fn obstacle(values: &[f64], weights: &[f64]) -> Vec<f64> {
    let raw: Vec<f64> = values
        .iter()
        .zip(weights)
        .map(|(x, w)| w * (1.0 - x).max(0.0))
        .collect();
    let sum: f64 = raw.iter().sum();
    raw.iter()
        .map(|o| if sum > 0.0 { 100.0 * o / sum } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topsis_variants_agree_on_order_for_a_dominant_sample() {
        let raw = vec![vec![1.0, 2.0, 3.0], vec![3.0, 2.0, 1.0]];
        let dirs = [Direction::Positive, Direction::Negative];
        let c = topsis(&raw, &[0.5, 0.5], &dirs, true);
        assert!(c[2] > c[1] && c[1] > c[0]);
        assert!((c[2] - 1.0).abs() < 1e-12 && c[0].abs() < 1e-12);
        let norm = vec![vec![0.0, 0.5, 1.0], vec![0.0, 0.5, 1.0]];
        let m = topsis(&norm, &[0.5, 0.5], &dirs, false);
        assert!((m[1] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn obstacle_shares_sum_to_100() {
        let o = obstacle(&[0.2, 1.0, 0.5], &[0.5, 0.3, 0.2]);
        assert!((o.iter().sum::<f64>() - 100.0).abs() < 1e-9);
        assert_eq!(o[1], 0.0);
        assert!((o[0] - 100.0 * 0.4 / 0.5).abs() < 1e-9);
        assert_eq!(obstacle(&[1.0, 1.0], &[0.5, 0.5]), vec![0.0, 0.0]);
    }
}
