//! Prediction intervals from past errors: their empirical 10 % and 90 % quantiles.

/// P10, P50 and P90 per forecast step.
pub(crate) type Quantiles = (Vec<f64>, Vec<f64>, Vec<f64>);

/// Empirical 10 % and 90 % quantiles (linear interpolation between order statistics).
pub(crate) fn quantiles_10_90(residuals: &mut [f64]) -> (f64, f64) {
    if residuals.is_empty() {
        return (0.0, 0.0);
    }
    residuals.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let x = p * (residuals.len() - 1) as f64;
        let (i, f) = (x.floor() as usize, x - x.floor());
        let j = (i + 1).min(residuals.len() - 1);
        residuals[i] * (1.0 - f) + residuals[j] * f
    };
    (q(0.1), q(0.9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_order_statistics() {
        let mut r: Vec<f64> = (0..=10).map(f64::from).collect();
        assert_eq!(quantiles_10_90(&mut r), (1.0, 9.0));
        let mut r = vec![0.0, 10.0];
        let (lo, hi) = quantiles_10_90(&mut r);
        assert!((lo - 1.0).abs() < 1e-12 && (hi - 9.0).abs() < 1e-12);
    }
}
