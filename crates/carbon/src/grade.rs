//! Industrial carbon-efficiency code (工业碳效码), method of Zhejiang DB33/T 1347-2023.
//!
//! L = CO2 from the enterprise's energy use ÷ its value added (tCO2 per 万元); absolute level
//! L ≤ 0.6 低碳, ≤ 2.0 中碳, else 高碳. K = L ÷ industry average L; grade 1 for K ≤ 0.6, 2 ≤ 0.8,
//! 3 ≤ 1.2, 4 ≤ 2.0, 5 above (upper bounds inclusive; lower is better). The industry average
//! is given by the user, or computed from the enterprises supplied as total CO2 ÷ total value
//! added of the same industry (stated in the result).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Absolute carbon level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CarbonLevel {
    /// 低碳: L ≤ 0.6.
    Low,
    /// 中碳: 0.6 < L ≤ 2.0.
    Medium,
    /// 高碳: L > 2.0.
    High,
}

impl CarbonLevel {
    /// Level of an intensity L (tCO2/万元).
    pub fn of(l: f64) -> CarbonLevel {
        if l <= 0.6 {
            CarbonLevel::Low
        } else if l <= 2.0 {
            CarbonLevel::Medium
        } else {
            CarbonLevel::High
        }
    }

    /// Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            CarbonLevel::Low => "低碳",
            CarbonLevel::Medium => "中碳",
            CarbonLevel::High => "高碳",
        }
    }
}

/// Grade 1–5 of a ratio K.
pub fn grade_of(k: f64) -> u8 {
    if k <= 0.6 {
        1
    } else if k <= 0.8 {
        2
    } else if k <= 1.2 {
        3
    } else if k <= 2.0 {
        4
    } else {
        5
    }
}

/// One enterprise's figures for the period.
#[derive(Debug, Clone, PartialEq)]
pub struct EfficiencyInput {
    /// Entity (node) id.
    pub entity: String,
    /// Entity name.
    pub name: String,
    /// Industry code or name.
    pub industry: String,
    /// CO2 from energy use, t.
    pub co2_t: f64,
    /// Value added, 万元.
    pub value_added_10k_yuan: f64,
}

/// Carbon-efficiency result of one enterprise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CarbonEfficiency {
    /// Entity id.
    pub entity: String,
    /// Entity name.
    pub name: String,
    /// Industry.
    pub industry: String,
    /// CO2 from energy use, t.
    pub co2_t: f64,
    /// Value added, 万元.
    pub value_added_10k_yuan: f64,
    /// L, tCO2 per 万元.
    pub l: f64,
    /// Absolute level.
    pub level: CarbonLevel,
    /// Absolute level in Chinese (低碳/中碳/高碳).
    pub level_zh: String,
    /// Industry average L it is compared with.
    pub industry_average_l: f64,
    /// Where the industry average comes from.
    pub industry_average_basis: String,
    /// K = L / industry average.
    pub k: f64,
    /// Grade 1–5.
    pub grade: u8,
    /// Rank by L among the enterprises given (1 = lowest intensity).
    pub rank: usize,
}

/// Why an enterprise cannot be graded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{entity}: {message}")]
pub struct GradeError {
    /// Entity id.
    pub entity: String,
    /// What is missing.
    pub message: String,
}

/// Grade every enterprise of `inputs`, ranked by L. `averages` overrides the industry average
/// (industry → L).
pub fn carbon_efficiency(
    inputs: &[EfficiencyInput],
    averages: &BTreeMap<String, f64>,
) -> Result<Vec<CarbonEfficiency>, GradeError> {
    let mut sums: BTreeMap<&str, (f64, f64, usize)> = BTreeMap::new();
    for e in inputs {
        if e.value_added_10k_yuan.is_nan() || e.value_added_10k_yuan <= 0.0 {
            return Err(GradeError {
                entity: e.entity.clone(),
                message: format!("value added must be positive to compute L, got {} 万元 (is a value_added meter registered and reporting?)", e.value_added_10k_yuan),
            });
        }
        let s = sums.entry(&e.industry).or_default();
        s.0 += e.co2_t;
        s.1 += e.value_added_10k_yuan;
        s.2 += 1;
    }
    let mut out: Vec<CarbonEfficiency> = inputs
        .iter()
        .map(|e| {
            let l = e.co2_t / e.value_added_10k_yuan;
            let (avg, basis) = match averages.get(&e.industry) {
                Some(&a) => (a, "industry average given by the user".to_string()),
                None => {
                    let (co2, va, n) = sums[e.industry.as_str()];
                    (co2 / va, format!("total CO2 / total value added of the {n} enterprise(s) of this industry in the request"))
                }
            };
            let k = if avg > 0.0 { l / avg } else { f64::INFINITY };
            let level = CarbonLevel::of(l);
            CarbonEfficiency {
                entity: e.entity.clone(),
                name: e.name.clone(),
                industry: e.industry.clone(),
                co2_t: e.co2_t,
                value_added_10k_yuan: e.value_added_10k_yuan,
                l,
                level,
                level_zh: level.name_zh().to_string(),
                industry_average_l: avg,
                industry_average_basis: basis,
                k,
                grade: grade_of(k),
                rank: 0,
            }
        })
        .collect();
    out.sort_by(|a, b| a.l.total_cmp(&b.l).then_with(|| a.entity.cmp(&b.entity)));
    for (i, e) in out.iter_mut().enumerate() {
        e.rank = i + 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_and_grade_boundaries_are_upper_inclusive() {
        assert_eq!(CarbonLevel::of(0.6), CarbonLevel::Low);
        assert_eq!(CarbonLevel::of(0.6000001), CarbonLevel::Medium);
        assert_eq!(CarbonLevel::of(2.0), CarbonLevel::Medium);
        assert_eq!(CarbonLevel::of(2.0000001), CarbonLevel::High);
        let cases = [
            (0.0, 1),
            (0.6, 1),
            (0.61, 2),
            (0.8, 2),
            (0.81, 3),
            (1.2, 3),
            (1.21, 4),
            (2.0, 4),
            (2.01, 5),
        ];
        for (k, g) in cases {
            assert_eq!(grade_of(k), g, "K = {k}");
        }
    }

    #[test]
    fn industry_average_is_total_over_total_and_ranks_by_l() {
        let e = |id: &str, ind: &str, co2: f64, va: f64| EfficiencyInput {
            entity: id.into(),
            name: id.into(),
            industry: ind.into(),
            co2_t: co2,
            value_added_10k_yuan: va,
        };
        let inputs = [
            e("a", "C17", 300.0, 1000.0),
            e("b", "C17", 900.0, 1000.0),
            e("c", "C31", 5000.0, 1000.0),
        ];
        let r = carbon_efficiency(&inputs, &BTreeMap::new()).unwrap();
        let a = r.iter().find(|x| x.entity == "a").unwrap();
        assert!((a.industry_average_l - 0.6).abs() < 1e-12);
        assert!((a.k - 0.5).abs() < 1e-12);
        assert_eq!((a.grade, a.level, a.rank), (1, CarbonLevel::Low, 1));
        let b = r.iter().find(|x| x.entity == "b").unwrap();
        assert_eq!((b.grade, b.level_zh.as_str()), (4, "中碳")); // K = 1.5
        let c = r.iter().find(|x| x.entity == "c").unwrap();
        assert_eq!((c.grade, c.level, c.rank), (3, CarbonLevel::High, 3)); // alone: K = 1
        let given = BTreeMap::from([("C31".to_string(), 2.0)]);
        let r = carbon_efficiency(&inputs, &given).unwrap();
        assert_eq!(r.iter().find(|x| x.entity == "c").unwrap().grade, 5); // K = 2.5
        let bad = [e("z", "C17", 1.0, 0.0)];
        assert!(carbon_efficiency(&bad, &BTreeMap::new())
            .unwrap_err()
            .to_string()
            .contains("value added"));
    }
}
