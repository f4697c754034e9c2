//! Indicator weights (权重): objective (entropy 熵权法, CRITIC), subjective (AHP 层次分析法,
//! manual) and their combinations.
//!
//! Objective methods take the normalised matrix as columns (`columns[j][i]`: indicator j,
//! sample i) and return weights summing to 1.

use serde::{Deserialize, Serialize};

/// Why weights could not be computed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WeightError {
    /// Entropy needs values ≥ 0 with a positive column sum.
    #[error(
        "entropy weights need normalised values ≥ 0 with a positive sum; indicator {0} has {1}"
    )]
    EntropyDomain(String, String),
    /// Every indicator has zero information (all d_j = 0 or all C_j = 0).
    #[error("no indicator varies: every {0} weight is 0/0")]
    Degenerate(&'static str),
    /// Fewer than 2 samples.
    #[error("weights need at least 2 samples, got {0}")]
    TooFewSamples(usize),
    /// A bad pairwise comparison matrix.
    #[error("AHP matrix: {0}")]
    AhpMatrix(String),
    /// CR ≥ 0.10 and not forced.
    #[error("AHP judgement matrix is inconsistent: CR = {cr:.4} ≥ 0.10 (λmax = {lambda_max:.6}, CI = {ci:.6}, RI({n}) = {ri} from table {table}); revise the judgements or force it")]
    Inconsistent {
        /// Consistency ratio.
        cr: f64,
        /// Principal eigenvalue.
        lambda_max: f64,
        /// Consistency index.
        ci: f64,
        /// Order of the matrix.
        n: usize,
        /// Random index used.
        ri: f64,
        /// RI table used.
        table: &'static str,
    },
    /// Manual weights that are negative, not finite or sum to 0.
    #[error("manual weights: {0}")]
    Manual(String),
}

/// Entropy weights: p_ij = x_ij/Σ_i x_ij; e_j = −(1/ln n) Σ_i p_ij ln p_ij (0·ln 0 = 0);
/// d_j = 1 − e_j; w_j = d_j/Σ d_j.
pub fn entropy(columns: &[Vec<f64>], names: &[String]) -> Result<Vec<f64>, WeightError> {
    let n = columns.first().map_or(0, Vec::len);
    if n < 2 {
        return Err(WeightError::TooFewSamples(n));
    }
    let ln_n = (n as f64).ln();
    let mut d = Vec::with_capacity(columns.len());
    for (j, col) in columns.iter().enumerate() {
        let sum: f64 = col.iter().sum();
        if col.iter().any(|v| *v < 0.0 || !v.is_finite()) || sum <= 0.0 {
            let min = col.iter().cloned().fold(f64::INFINITY, f64::min);
            return Err(WeightError::EntropyDomain(
                names[j].clone(),
                format!("minimum {min}, sum {sum}"),
            ));
        }
        let e = -col
            .iter()
            .map(|&v| {
                let p = v / sum;
                if p > 0.0 {
                    p * p.ln()
                } else {
                    0.0
                }
            })
            .sum::<f64>()
            / ln_n;
        d.push((1.0 - e).max(0.0));
    }
    share(d, "entropy")
}

/// CRITIC weights: C_j = σ_j Σ_k (1 − r_jk), w_j = C_j/Σ C_j (σ sample standard deviation;
/// the weights do not depend on n − 1 against n, which scales every σ alike).
pub fn critic(columns: &[Vec<f64>]) -> Result<Vec<f64>, WeightError> {
    let n = columns.first().map_or(0, Vec::len);
    if n < 2 {
        return Err(WeightError::TooFewSamples(n));
    }
    let stats: Vec<(f64, f64)> = columns
        .iter()
        .map(|c| {
            let mean = c.iter().sum::<f64>() / n as f64;
            let sd = (c.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt();
            (mean, sd)
        })
        .collect();
    let m = columns.len();
    let mut info = Vec::with_capacity(m);
    for j in 0..m {
        let mut conflict = 0.0;
        for k in 0..m {
            let r = if j == k {
                1.0
            } else {
                pearson(&columns[j], stats[j], &columns[k], stats[k])
            };
            conflict += 1.0 - r;
        }
        info.push(stats[j].1 * conflict);
    }
    share(info, "CRITIC")
}

/// Pearson correlation; a constant column correlates with nothing (r = 0).
fn pearson(x: &[f64], (mx, sx): (f64, f64), y: &[f64], (my, sy): (f64, f64)) -> f64 {
    if sx == 0.0 || sy == 0.0 {
        return 0.0;
    }
    let cov = x
        .iter()
        .zip(y)
        .map(|(a, b)| (a - mx) * (b - my))
        .sum::<f64>()
        / (x.len() as f64 - 1.0);
    cov / (sx * sy)
}

fn share(v: Vec<f64>, what: &'static str) -> Result<Vec<f64>, WeightError> {
    let sum: f64 = v.iter().sum();
    if sum <= 0.0 || !sum.is_finite() {
        return Err(WeightError::Degenerate(what));
    }
    Ok(v.into_iter().map(|x| x / sum).collect())
}

/// Manual weights, normalised to sum 1 (they must be ≥ 0 and not all 0).
pub fn manual(raw: &[f64]) -> Result<Vec<f64>, WeightError> {
    if raw.iter().any(|w| !w.is_finite() || *w < 0.0) {
        return Err(WeightError::Manual(format!(
            "every weight must be a number ≥ 0, got {raw:?}"
        )));
    }
    share(raw.to_vec(), "manual").map_err(|_| WeightError::Manual("all weights are 0".into()))
}

/// A named table of Saaty's random consistency index RI(n).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RiTable {
    /// Saaty (1980), n = 1…15: 0, 0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51,
    /// 1.48, 1.56, 1.57, 1.59.
    #[default]
    Saaty,
    /// The table of Chinese textbooks and MATLAB code (same as Saaty to n = 10, then 1.52,
    /// 1.54, 1.56, 1.58, 1.59 for n = 11…15).
    CnTextbook,
}

impl RiTable {
    /// The values for n = 1…15.
    pub fn values(self) -> [f64; 15] {
        let mut v = [
            0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59,
        ];
        if self == RiTable::CnTextbook {
            v[10..].copy_from_slice(&[1.52, 1.54, 1.56, 1.58, 1.59]);
        }
        v
    }

    /// The name used in settings.
    pub fn name(self) -> &'static str {
        match self {
            RiTable::Saaty => "saaty",
            RiTable::CnTextbook => "cn-textbook",
        }
    }

    /// RI(n), if the table has it.
    pub fn ri(self, n: usize) -> Option<f64> {
        self.values().get(n.checked_sub(1)?).copied()
    }
}

/// The AHP result of one judgement matrix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ahp {
    /// Normalised principal eigenvector.
    pub weights: Vec<f64>,
    /// Principal eigenvalue λmax.
    pub lambda_max: f64,
    /// CI = (λmax − n)/(n − 1) (0 for n ≤ 2).
    pub ci: f64,
    /// RI(n) from the table.
    pub ri: f64,
    /// CR = CI/RI (0 for n ≤ 2).
    pub cr: f64,
    /// The RI table.
    pub ri_table: &'static str,
    /// True if CR ≥ 0.10 was accepted because forced.
    pub forced: bool,
}

/// AHP on a positive reciprocal judgement matrix: principal eigenvector by power iteration,
/// CI, CR with `table`; refuses CR ≥ 0.10 unless `force`.
pub fn ahp(matrix: &[Vec<f64>], table: RiTable, force: bool) -> Result<Ahp, WeightError> {
    let n = matrix.len();
    if n == 0 {
        return Err(WeightError::AhpMatrix("empty".into()));
    }
    for (i, row) in matrix.iter().enumerate() {
        if row.len() != n {
            return Err(WeightError::AhpMatrix(format!(
                "row {} has {} entries, the matrix has {n} rows",
                i + 1,
                row.len()
            )));
        }
        for (j, &a) in row.iter().enumerate() {
            if !(a.is_finite() && a > 0.0) {
                return Err(WeightError::AhpMatrix(format!(
                    "entry ({}, {}) = {a} must be a positive number",
                    i + 1,
                    j + 1
                )));
            }
            let back = matrix[j][i];
            if (a * back - 1.0).abs() > 0.01 {
                return Err(WeightError::AhpMatrix(format!(
                    "entry ({}, {}) = {a} and ({}, {}) = {back} are not reciprocal",
                    i + 1,
                    j + 1,
                    j + 1,
                    i + 1
                )));
            }
        }
    }
    let ri = table.ri(n).ok_or_else(|| {
        WeightError::AhpMatrix(format!(
            "RI table {} stops at n = 15, the matrix has n = {n}",
            table.name()
        ))
    })?;
    let mut w = vec![1.0 / n as f64; n];
    for _ in 0..10_000 {
        let mut next: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| matrix[i][j] * w[j]).sum())
            .collect();
        let sum: f64 = next.iter().sum();
        next.iter_mut().for_each(|v| *v /= sum);
        let delta = next
            .iter()
            .zip(&w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        w = next;
        if delta < 1e-15 {
            break;
        }
    }
    let lambda_max = (0..n)
        .map(|i| (0..n).map(|j| matrix[i][j] * w[j]).sum::<f64>() / w[i])
        .sum::<f64>()
        / n as f64;
    let (ci, cr) = if n <= 2 {
        (0.0, 0.0)
    } else {
        let ci = (lambda_max - n as f64) / (n as f64 - 1.0);
        (ci, ci / ri)
    };
    if cr >= 0.10 && !force {
        return Err(WeightError::Inconsistent {
            cr,
            lambda_max,
            ci,
            n,
            ri,
            table: table.name(),
        });
    }
    Ok(Ahp {
        weights: w,
        lambda_max,
        ci,
        ri,
        cr,
        ri_table: table.name(),
        forced: cr >= 0.10,
    })
}

/// How a subjective and an objective weight vector are combined.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Combination {
    /// w = β·subjective + (1 − β)·objective.
    Linear {
        /// Share β of the subjective weights, in [0, 1].
        subjective_share: f64,
    },
    /// w_j = s_j·o_j / Σ s·o (multiplicative synthesis, 乘法合成).
    Multiplicative,
}

/// Combines subjective and objective weights (same order, each summing to 1).
pub fn combine(
    subjective: &[f64],
    objective: &[f64],
    rule: Combination,
) -> Result<Vec<f64>, WeightError> {
    let raw: Vec<f64> = match rule {
        Combination::Linear { subjective_share } => {
            if !(0.0..=1.0).contains(&subjective_share) {
                return Err(WeightError::Manual(format!(
                    "the subjective share {subjective_share} must lie in [0, 1]"
                )));
            }
            subjective
                .iter()
                .zip(objective)
                .map(|(s, o)| subjective_share * s + (1.0 - subjective_share) * o)
                .collect()
        }
        Combination::Multiplicative => subjective
            .iter()
            .zip(objective)
            .map(|(s, o)| s * o)
            .collect(),
    };
    share(raw, "combined")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critic_prefers_the_varied_and_uncorrelated() {
        let a = vec![0.0, 0.5, 1.0, 0.2];
        let b = vec![0.0, 0.5, 1.0, 0.2]; // duplicate of a
        let c = vec![1.0, 0.0, 0.6, 0.1];
        let w = critic(&[a, b, c]).unwrap();
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((w[0] - w[1]).abs() < 1e-12);
        assert!(w[2] > w[0]);
    }

    #[test]
    fn entropy_of_a_constant_column_is_zero_weight() {
        let names = vec!["a".to_string(), "b".to_string()];
        let w = entropy(&[vec![0.5, 0.5, 0.5], vec![0.1, 0.9, 0.4]], &names).unwrap();
        assert!(w[0].abs() < 1e-12);
        assert!((w[1] - 1.0).abs() < 1e-12);
        assert!(matches!(
            entropy(&[vec![-1.0, 1.0], vec![0.1, 0.2]], &names),
            Err(WeightError::EntropyDomain(..))
        ));
    }

    #[test]
    fn ahp_refuses_inconsistency_unless_forced() {
        // a > b, b > c, c > a: as inconsistent as it gets
        let m = vec![
            vec![1.0, 9.0, 1.0 / 9.0],
            vec![1.0 / 9.0, 1.0, 9.0],
            vec![9.0, 1.0 / 9.0, 1.0],
        ];
        assert!(matches!(
            ahp(&m, RiTable::Saaty, false),
            Err(WeightError::Inconsistent { .. })
        ));
        let forced = ahp(&m, RiTable::Saaty, true).unwrap();
        assert!(forced.forced && forced.cr > 0.10);
        let bad = vec![vec![1.0, 2.0], vec![2.0, 1.0]];
        assert!(matches!(
            ahp(&bad, RiTable::Saaty, false),
            Err(WeightError::AhpMatrix(_))
        ));
    }

    #[test]
    fn ri_tables_differ_from_eleven() {
        assert_eq!(RiTable::Saaty.ri(5), Some(1.12));
        assert_eq!(RiTable::CnTextbook.ri(5), Some(1.12));
        assert_eq!(RiTable::Saaty.ri(12), Some(1.48));
        assert_eq!(RiTable::CnTextbook.ri(12), Some(1.54));
        assert_eq!(RiTable::Saaty.ri(16), None);
    }

    #[test]
    fn combinations() {
        let s = [0.5, 0.5];
        let o = [0.2, 0.8];
        let lin = combine(
            &s,
            &o,
            Combination::Linear {
                subjective_share: 0.5,
            },
        )
        .unwrap();
        assert!((lin[0] - 0.35).abs() < 1e-12);
        let mul = combine(&s, &o, Combination::Multiplicative).unwrap();
        assert!((mul[0] - 0.2).abs() < 1e-12);
    }
}
