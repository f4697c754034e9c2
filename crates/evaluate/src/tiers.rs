//! Tiers (梯队) of regions by score: quantiles, Jenks natural breaks or user thresholds.
//! Tier 1 is the top tier (第一梯队).

use serde::{Deserialize, Serialize};

/// How regions are put into tiers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum TierMethod {
    /// `classes` groups of (nearly) equal size by rank.
    Quantiles {
        /// Number of tiers.
        classes: usize,
    },
    /// Jenks natural breaks: the partition into `classes` groups of consecutive sorted values
    /// with the least within-group sum of squared deviations (exact, by dynamic programming).
    NaturalBreaks {
        /// Number of tiers.
        classes: usize,
    },
    /// A value above the i-th highest threshold is in tier i (thresholds in any order).
    Thresholds {
        /// Lower bounds of the tiers above the last one.
        thresholds: Vec<f64>,
    },
}

impl Default for TierMethod {
    fn default() -> Self {
        TierMethod::NaturalBreaks { classes: 4 }
    }
}

impl TierMethod {
    /// A label for reports.
    pub fn label(&self) -> String {
        match self {
            TierMethod::Quantiles { classes } => format!("quantiles ({classes} tiers)"),
            TierMethod::NaturalBreaks { classes } => {
                format!("Jenks natural breaks ({classes} tiers)")
            }
            TierMethod::Thresholds { thresholds } => format!("thresholds {thresholds:?}"),
        }
    }
}

/// The tier (1 = top) of every value.
pub fn tiers(values: &[f64], method: &TierMethod) -> Result<Vec<usize>, String> {
    let n = values.len();
    match method {
        TierMethod::Quantiles { classes } | TierMethod::NaturalBreaks { classes }
            if *classes == 0 || *classes > n.max(1) =>
        {
            Err(format!("{classes} tiers for {n} regions"))
        }
        TierMethod::Quantiles { classes } => {
            let order = descending(values);
            let mut tier = vec![0; n];
            for (rank, &i) in order.iter().enumerate() {
                tier[i] = rank * classes / n + 1;
            }
            Ok(tier)
        }
        TierMethod::NaturalBreaks { classes } => {
            let order = descending(values);
            let sorted: Vec<f64> = order.iter().map(|&i| values[i]).collect();
            let group_of_sorted = jenks(&sorted, *classes);
            let mut tier = vec![0; n];
            for (pos, &i) in order.iter().enumerate() {
                tier[i] = group_of_sorted[pos] + 1;
            }
            Ok(tier)
        }
        TierMethod::Thresholds { thresholds } => {
            if thresholds.iter().any(|t| !t.is_finite()) {
                return Err("thresholds must be numbers".into());
            }
            Ok(values
                .iter()
                .map(|v| 1 + thresholds.iter().filter(|t| *v <= **t).count())
                .collect())
        }
    }
}

fn descending(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order
}

/// Optimal partition of `sorted` into `k` runs; returns the run of every position.
fn jenks(sorted: &[f64], k: usize) -> Vec<usize> {
    let n = sorted.len();
    let mut prefix = vec![0.0; n + 1];
    let mut prefix2 = vec![0.0; n + 1];
    for (i, v) in sorted.iter().enumerate() {
        prefix[i + 1] = prefix[i] + v;
        prefix2[i + 1] = prefix2[i] + v * v;
    }
    // squared deviation of sorted[a..b]
    let ssd = |a: usize, b: usize| {
        let s = prefix[b] - prefix[a];
        let len = (b - a) as f64;
        (prefix2[b] - prefix2[a] - s * s / len).max(0.0)
    };
    // cost[g][b]: best cost of sorted[..b] in g+1 runs; start[g][b]: start of the last run
    let mut cost = vec![vec![f64::INFINITY; n + 1]; k];
    let mut start = vec![vec![0usize; n + 1]; k];
    for (b, c) in cost[0].iter_mut().enumerate().skip(1) {
        *c = ssd(0, b);
    }
    for g in 1..k {
        for b in (g + 1)..=n {
            for a in g..b {
                let c = cost[g - 1][a] + ssd(a, b);
                if c < cost[g][b] {
                    cost[g][b] = c;
                    start[g][b] = a;
                }
            }
        }
    }
    let mut group = vec![0; n];
    let mut b = n;
    for g in (0..k).rev() {
        let a = if g == 0 { 0 } else { start[g][b] };
        for slot in &mut group[a..b] {
            *slot = g;
        }
        b = a;
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_breaks_find_the_gaps() {
        let v = [0.9, 0.1, 0.85, 0.5, 0.12, 0.52, 0.88];
        let t = tiers(&v, &TierMethod::NaturalBreaks { classes: 3 }).unwrap();
        assert_eq!(t, vec![1, 3, 1, 2, 3, 2, 1]);
    }

    #[test]
    fn quantiles_and_thresholds() {
        let v = [0.4, 0.3, 0.2, 0.1];
        assert_eq!(
            tiers(&v, &TierMethod::Quantiles { classes: 2 }).unwrap(),
            vec![1, 1, 2, 2]
        );
        let t = TierMethod::Thresholds {
            thresholds: vec![0.15, 0.35],
        };
        assert_eq!(tiers(&v, &t).unwrap(), vec![1, 2, 2, 3]);
        assert!(tiers(&v, &TierMethod::Quantiles { classes: 9 }).is_err());
    }
}
