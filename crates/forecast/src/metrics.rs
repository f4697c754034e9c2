//! Forecast accuracy metrics (预测精度指标), pooled over all origin × step pairs.
//!
//! - MAPE = mean(|y − ŷ| / |y|) · 100 over actuals that are not zero (zeros are counted in
//!   [`Metrics::zero_actuals`] and skipped; near-zero meters should be read by MASE/CV(RMSE)).
//! - WAPE = Σ|y − ŷ| / Σ|y| · 100.
//! - MASE = mean|y − ŷ| / scale, the scale being the in-sample MAE of the lag-24 seasonal
//!   naive forecast on the fit window before the first origin ([`naive_scale`]).
//! - CV(RMSE) = √(mean (y − ŷ)²) / ȳ · 100; NMBE = Σ(y − ŷ) / (n · ȳ) · 100 (ASHRAE
//!   Guideline 14's definitions with p = 0 parameters, since forecasts are not calibrated on
//!   the scored data; positive NMBE means the forecast is too low).
//! - Coverage: share of actuals inside [P10, P90] (nominal 80 %).
//! - ASHRAE Guideline 14, hourly: pass when CV(RMSE) ≤ 30 % and |NMBE| ≤ 10 %.

use serde::Serialize;

/// ASHRAE Guideline 14 hourly limit on CV(RMSE), percent.
pub const ASHRAE_HOURLY_CV_RMSE: f64 = 30.0;
/// ASHRAE Guideline 14 hourly limit on |NMBE|, percent.
pub const ASHRAE_HOURLY_NMBE: f64 = 10.0;

/// Pooled actuals and forecasts of a backtest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointScores {
    /// Actual values.
    pub actual: Vec<f64>,
    /// 10 % quantile forecasts.
    pub p10: Vec<f64>,
    /// Median (point) forecasts.
    pub p50: Vec<f64>,
    /// 90 % quantile forecasts.
    pub p90: Vec<f64>,
}

impl PointScores {
    /// Adds the pairs of one origin.
    pub fn extend(&mut self, actual: &[f64], p10: &[f64], p50: &[f64], p90: &[f64]) {
        self.actual.extend_from_slice(actual);
        self.p10.extend_from_slice(p10);
        self.p50.extend_from_slice(p50);
        self.p90.extend_from_slice(p90);
    }

    /// Mean absolute error of the point forecasts (NaN when empty).
    pub fn mae(&self) -> f64 {
        let n = self.actual.len() as f64;
        self.actual
            .iter()
            .zip(&self.p50)
            .map(|(a, f)| (a - f).abs())
            .sum::<f64>()
            / n
    }
}

/// Accuracy of a backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// Origin × step pairs scored.
    pub pairs: usize,
    /// Actuals equal to zero, skipped by MAPE.
    pub zero_actuals: usize,
    /// Mean absolute percentage error, percent (None when every actual is zero).
    pub mape: Option<f64>,
    /// Weighted absolute percentage error, percent (None when Σ|y| = 0).
    pub wape: Option<f64>,
    /// Mean absolute scaled error (None without a usable scale).
    pub mase: Option<f64>,
    /// Coefficient of variation of the RMSE, percent (None when ȳ = 0).
    pub cv_rmse: Option<f64>,
    /// Normalised mean bias error, percent (None when ȳ = 0).
    pub nmbe: Option<f64>,
    /// Share of actuals inside [P10, P90], percent.
    pub coverage_p10_p90: f64,
    /// ASHRAE Guideline 14 hourly criteria met (None when CV(RMSE) or NMBE is undefined).
    pub ashrae_hourly_pass: Option<bool>,
}

impl Metrics {
    /// Computes the metrics of pooled scores; `mase_scale` from [`naive_scale`].
    pub fn compute(s: &PointScores, mase_scale: Option<f64>) -> Metrics {
        let n = s.actual.len();
        let nf = n as f64;
        let mut ape = 0.0;
        let mut ape_n = 0usize;
        let (mut abs_err, mut abs_y, mut sq, mut bias, mut sum_y, mut inside) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0usize);
        for i in 0..n {
            let (y, f) = (s.actual[i], s.p50[i]);
            let e = y - f;
            if y != 0.0 {
                ape += (e / y).abs();
                ape_n += 1;
            }
            abs_err += e.abs();
            abs_y += y.abs();
            sq += e * e;
            bias += e;
            sum_y += y;
            if s.p10[i] <= y && y <= s.p90[i] {
                inside += 1;
            }
        }
        let mean_y = sum_y / nf;
        let ratio = |num: f64, den: f64| (den != 0.0 && n > 0).then(|| 100.0 * num / den);
        let cv_rmse = ratio((sq / nf).sqrt(), mean_y);
        let nmbe = ratio(bias / nf, mean_y);
        Metrics {
            pairs: n,
            zero_actuals: n - ape_n,
            mape: (ape_n > 0).then(|| 100.0 * ape / ape_n as f64),
            wape: ratio(abs_err, abs_y),
            mase: mase_scale
                .filter(|s| *s > 0.0 && n > 0)
                .map(|scale| abs_err / nf / scale),
            cv_rmse,
            nmbe,
            coverage_p10_p90: if n > 0 {
                100.0 * inside as f64 / nf
            } else {
                0.0
            },
            ashrae_hourly_pass: cv_rmse
                .zip(nmbe)
                .map(|(c, b)| c <= ASHRAE_HOURLY_CV_RMSE && b.abs() <= ASHRAE_HOURLY_NMBE),
        }
    }
}

/// In-sample MAE of the seasonal naive forecast with period `period` over `y`
/// (None when `y` is not longer than one period).
pub fn naive_scale(y: &[f64], period: usize) -> Option<f64> {
    (y.len() > period).then(|| {
        y[period..]
            .iter()
            .zip(y)
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
            / (y.len() - period) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    /// Hand-computed: actuals 100, 200, 0, 400; forecasts 110, 180, 10, 400.
    /// Errors y − ŷ: −10, 20, −10, 0.
    #[test]
    fn formulas_on_a_hand_computed_case() {
        let s = PointScores {
            actual: vec![100.0, 200.0, 0.0, 400.0],
            p50: vec![110.0, 180.0, 10.0, 400.0],
            p10: vec![90.0, 190.0, 5.0, 390.0],
            p90: vec![120.0, 210.0, 20.0, 410.0],
        };
        let m = Metrics::compute(&s, Some(20.0));
        assert_eq!((m.pairs, m.zero_actuals), (4, 1));
        // MAPE over the three non-zero actuals: (10 % + 10 % + 0 %) / 3.
        assert!(close(m.mape, 20.0 / 3.0), "{:?}", m.mape);
        // WAPE: Σ|e| = 40, Σ|y| = 700.
        assert!(close(m.wape, 100.0 * 40.0 / 700.0));
        // MASE: MAE 10 / scale 20.
        assert!(close(m.mase, 0.5));
        // CV(RMSE): √((100 + 400 + 100 + 0) / 4) = √150, ȳ = 175.
        assert!(close(m.cv_rmse, 100.0 * 150f64.sqrt() / 175.0));
        // NMBE: Σe = 0.
        assert!(close(m.nmbe, 0.0));
        // Inside [P10, P90]: 100 yes, 200 yes, 0 no (P10 5), 400 yes.
        assert_eq!(m.coverage_p10_p90, 75.0);
        assert_eq!(m.ashrae_hourly_pass, Some(true));
    }

    #[test]
    fn ashrae_fails_on_bias_and_undefined_on_zero_mean() {
        let s = PointScores {
            actual: vec![100.0, 100.0],
            p50: vec![85.0, 85.0],
            p10: vec![80.0, 80.0],
            p90: vec![90.0, 90.0],
        };
        let m = Metrics::compute(&s, None);
        assert!(close(m.nmbe, 15.0));
        assert!(close(m.cv_rmse, 15.0));
        assert_eq!(m.ashrae_hourly_pass, Some(false));
        assert_eq!(m.mase, None);
        let z = PointScores {
            actual: vec![1.0, -1.0],
            p50: vec![0.0, 0.0],
            p10: vec![0.0, 0.0],
            p90: vec![0.0, 0.0],
        };
        let m = Metrics::compute(&z, None);
        assert_eq!(
            (m.cv_rmse, m.nmbe, m.ashrae_hourly_pass),
            (None, None, None)
        );
    }

    #[test]
    fn naive_scale_is_the_lag_mae() {
        // Period 2: |3-1| + |5-2| + |4-3| = 6 over 3 pairs.
        assert!(close(naive_scale(&[1.0, 2.0, 3.0, 5.0, 4.0], 2), 2.0));
        assert_eq!(naive_scale(&[1.0, 2.0], 2), None);
    }
}
