//! Forecast models (预测模型) and their common interface.
//!
//! Every model forecasts `horizon` hours that start `lead` hours after the last observed hour
//! (lead 0: the next hour) and gives P10/P50/P90:
//!
//! - [`ModelKind::Naive24`], [`ModelKind::Naive168`]: seasonal naive, the same hour on the
//!   latest observed day (week); intervals from the rule's own errors in the history.
//! - [`ModelKind::Mstl`]: MSTL decomposition (periods 24 and 168; `stlrs` through
//!   `augurs-mstl`) with a simple-exponential-smoothing (ETS(A,N,N)) trend; intervals from the
//!   smoother's own errors at each step ahead.
//! - [`ModelKind::Ridge`]: a direct multi-step ridge regression, one small model per
//!   horizon step, on lags (same hour on the latest day and week, the last value, the last
//!   day's mean), calendar (weekday, Chinese holidays and 调休 workdays) and covariates
//!   (e.g. temperature); the penalty is chosen per step by exact leave-one-out error, and the
//!   intervals are the leave-one-out residual quantiles of that step.
//! - [`ModelKind::Gbm`]: gradient-boosted trees (a small histogram learner of this crate) on
//!   the ridge's features plus step and hour, one model for all steps; the number of trees is
//!   chosen and the P10/P90 are measured on a 14-day holdout.
//! - [`ModelKind::Ensemble`]: the equal-weight average of the ridge and MSTL quantiles.
//! - [`ModelKind::Auto`]: chosen per series by a rolling-origin backtest
//!   ([`crate::backtest::choose_model`]).

use chrono::{Duration, NaiveDateTime};
use serde::Serialize;

pub use crate::clean::MIN_DAYS_AFTER_SHIFT;
use crate::features::{feature_settings, level_relative, ridge_row, seasonal_lag, Days};
pub use crate::input::Input;
use crate::input::{cut_covariates, validate};
use crate::interval::{quantiles_10_90, Quantiles};
use crate::{clean, gbm_model, linalg, ForecastError};

/// Default trailing history of a forecast: 52 weeks of hours. The ridge learns from all of
/// it (so last year's same season is among its training days); MSTL and gbm use its last
/// [`SHORT_WINDOW_HOURS`].
pub const WINDOW_HOURS: usize = 52 * 168;
/// 12 weeks of hours: the window MSTL and gbm fit on, and the fit window of the protocol in
/// forecasting.md.
pub const SHORT_WINDOW_HOURS: usize = 12 * 168;
/// Fewest hours of history the ridge model accepts (4 weeks).
pub const RIDGE_MIN_HOURS: usize = 4 * 168;
/// Fewest hours of history the gbm model accepts (6 weeks: 4 of training, 2 held out).
pub const GBM_MIN_HOURS: usize = 6 * 168;
/// Weight decay per day of age of a ridge training sample: slower than gbm's, so that a year
/// of history still counts (0.995^365 ≈ 0.16).
const RIDGE_DAY_DECAY: f64 = 0.995;
/// Ridge penalties tried per step (relative to the number of samples), chosen by LOO error.
const RIDGE_PENALTIES: [f64; 6] = [0.001, 0.01, 0.03, 0.1, 0.3, 1.0];

/// Which model to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Seasonal naive, period 24 h.
    Naive24,
    /// Seasonal naive, period 168 h.
    Naive168,
    /// MSTL (24, 168) decomposition with an exponential-smoothing trend.
    Mstl,
    /// Direct ridge regression on lags, calendar and covariates.
    Ridge,
    /// Gradient-boosted trees on lags, calendar, step, hour and covariates.
    Gbm,
    /// Equal-weight average of the ridge and MSTL quantiles.
    Ensemble,
    /// Chosen per series by rolling-origin backtest.
    Auto,
}

impl ModelKind {
    /// All concrete models, the candidates of [`ModelKind::Auto`].
    pub const CANDIDATES: [ModelKind; 6] = [
        ModelKind::Naive24,
        ModelKind::Naive168,
        ModelKind::Mstl,
        ModelKind::Ridge,
        ModelKind::Gbm,
        ModelKind::Ensemble,
    ];

    /// Short name as used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Naive24 => "naive24",
            ModelKind::Naive168 => "naive168",
            ModelKind::Mstl => "mstl",
            ModelKind::Ridge => "ridge",
            ModelKind::Gbm => "gbm",
            ModelKind::Ensemble => "ensemble",
            ModelKind::Auto => "auto",
        }
    }

    /// Parses a name from [`ModelKind::name`] (`naive` means `naive24`).
    pub fn parse(s: &str) -> Result<ModelKind, ForecastError> {
        Ok(match s {
            "naive" | "naive24" => ModelKind::Naive24,
            "naive168" => ModelKind::Naive168,
            "mstl" => ModelKind::Mstl,
            "ridge" => ModelKind::Ridge,
            "gbm" => ModelKind::Gbm,
            "ensemble" => ModelKind::Ensemble,
            "auto" => ModelKind::Auto,
            _ => {
                return Err(ForecastError::Setting {
                    setting: "model",
                    message: format!(
                        "unknown model {s:?} (expected auto, naive, naive24, naive168, mstl, ridge, gbm or ensemble)"
                    ),
                })
            }
        })
    }

    /// Fewest hours of history the model accepts (a horizon step may need more: an error says so).
    pub fn min_history(self) -> usize {
        match self {
            ModelKind::Naive24 => 24,
            ModelKind::Naive168 => 168,
            ModelKind::Mstl => 2 * 168,
            ModelKind::Ridge | ModelKind::Ensemble | ModelKind::Auto => RIDGE_MIN_HOURS,
            ModelKind::Gbm => GBM_MIN_HOURS,
        }
    }
}

/// P10/P50/P90 forecast of consecutive hours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// Model and settings, e.g. `ridge(window=2016h, covariates=[T])`.
    pub model: String,
    /// Local time of the first forecast hour.
    pub start: NaiveDateTime,
    /// 10 % quantile per hour.
    pub p10: Vec<f64>,
    /// Median (the point forecast) per hour.
    pub p50: Vec<f64>,
    /// 90 % quantile per hour.
    pub p90: Vec<f64>,
    /// What the model did beyond the usual (window cut at a level shift, fallbacks).
    pub notes: Vec<String>,
}

/// Result of the automatic choice of a model for one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection {
    /// The model chosen.
    pub chosen: ModelKind,
    /// Mean absolute error of each candidate on the selection origins (None: not runnable).
    pub scores: Vec<(ModelKind, Option<f64>)>,
    /// Number of selection origins.
    pub origins: usize,
    /// First and last selection origin.
    pub period: Option<(NaiveDateTime, NaiveDateTime)>,
}

/// Runs one concrete model (not [`ModelKind::Auto`]) at one origin.
pub fn forecast(kind: ModelKind, input: &Input<'_>) -> Result<Forecast, ForecastError> {
    validate(input)?;
    let need = kind.min_history();
    if input.history.len() < need {
        return Err(ForecastError::ShortHistory {
            have: input.history.len(),
            need,
            model: kind.name().into(),
        });
    }
    let mut notes = Vec::new();
    // Cut the window after the latest level shift when enough history follows it.
    let shift_covariates: Vec<(&str, &[f64])>;
    let mut input = *input;
    if matches!(
        kind,
        ModelKind::Ridge | ModelKind::Gbm | ModelKind::Mstl | ModelKind::Ensemble
    ) {
        if let Some((day, before, after)) = clean::level_shifts(input.history).last().copied() {
            let days_after = input.history.len() / 24 - day;
            if days_after >= MIN_DAYS_AFTER_SHIFT && 24 * days_after >= need {
                let cut = day * 24;
                notes.push(format!(
                    "fit window starts at the level shift of {} (daily mean {before:.3} → {after:.3})",
                    (input.start + Duration::hours(cut as i64)).date()
                ));
                shift_covariates = cut_covariates(input.covariates, cut);
                input = input.without_first(cut, &shift_covariates);
            } else {
                notes.push(format!(
                    "level shift {days_after} days before the origin (daily mean {before:.3} → {after:.3}); too recent to refit on"
                ));
            }
        }
    }
    let start = input.start + Duration::hours((input.history.len() + input.lead) as i64);
    let short_cut = input.history.len().saturating_sub(SHORT_WINDOW_HOURS);
    let short_covariates = cut_covariates(input.covariates, short_cut);
    let short = input.without_first(short_cut, &short_covariates);
    let (name, p10, p50, p90) = match kind {
        ModelKind::Naive24 | ModelKind::Naive168 => {
            let period = if kind == ModelKind::Naive24 { 24 } else { 168 };
            let (p10, p50, p90) = seasonal_naive(&input, period, &mut notes);
            (kind.name().to_string(), p10, p50, p90)
        }
        ModelKind::Mstl => {
            let ((p10, p50, p90), alpha) = mstl(&short)?;
            (mstl_name(&short, alpha), p10, p50, p90)
        }
        ModelKind::Ridge => {
            let (p10, p50, p90) = ridge(&input)?;
            (ridge_name(&input), p10, p50, p90)
        }
        ModelKind::Gbm => {
            let ((p10, p50, p90), trees) = gbm_model::gbm(&short)?;
            (gbm_model::name(&short, trees), p10, p50, p90)
        }
        ModelKind::Ensemble => {
            let r = ridge(&input)?;
            let (m, alpha) = mstl(&short)?;
            let avg = |a: &[f64], b: &[f64]| -> Vec<f64> {
                a.iter().zip(b).map(|(x, y)| 0.5 * (x + y)).collect()
            };
            (
                format!(
                    "ensemble(0.5 {} + 0.5 {})",
                    ridge_name(&input),
                    mstl_name(&short, alpha)
                ),
                avg(&r.0, &m.0),
                avg(&r.1, &m.1),
                avg(&r.2, &m.2),
            )
        }
        ModelKind::Auto => {
            return Err(ForecastError::Setting {
                setting: "model",
                message: "auto is resolved by backtest::choose_model before forecasting".into(),
            })
        }
    };
    let mut f = Forecast {
        model: name,
        start,
        p10,
        p50,
        p90,
        notes,
    };
    if f.p50
        .iter()
        .chain(&f.p10)
        .chain(&f.p90)
        .any(|v| !v.is_finite())
    {
        // Never hand out NaN: fall back to the seasonal naive forecast and say so.
        let mut notes = std::mem::take(&mut f.notes);
        notes.push(format!(
            "{} gave a non-finite value; fell back to naive24",
            f.model
        ));
        let (p10, p50, p90) = seasonal_naive(&input, 24, &mut notes);
        f = Forecast {
            model: "naive24".into(),
            start,
            p10,
            p50,
            p90,
            notes,
        };
    }
    // Quantiles must not cross.
    for i in 0..f.p50.len() {
        f.p10[i] = f.p10[i].min(f.p50[i]);
        f.p90[i] = f.p90[i].max(f.p50[i]);
    }
    Ok(f)
}

fn mstl_name(input: &Input<'_>, alpha: f64) -> String {
    format!(
        "mstl(periods=[24,168], trend=SES(alpha={alpha}), window={}h)",
        input.history.len()
    )
}

fn ridge_name(input: &Input<'_>) -> String {
    format!("ridge({})", feature_settings(input))
}

fn seasonal_naive(input: &Input<'_>, period: usize, notes: &mut Vec<String>) -> Quantiles {
    let y = input.history;
    let n = y.len();
    let (mut p10, mut p50, mut p90) = (Vec::new(), Vec::new(), Vec::new());
    let mut thin = false;
    for s in 1..=input.horizon {
        let g = s + input.lead;
        let lag = seasonal_lag(g, period);
        let t = n - 1 + g; // index of the target
        let point = y[t - lag];
        // The same rule's errors at the same hour of earlier days.
        let mut res: Vec<f64> = (1..)
            .map(|k| 24 * k)
            .take_while(|&back| back <= t && t - back >= lag)
            .filter(|&back| t - back < n)
            .map(|back| y[t - back] - y[t - back - lag])
            .collect();
        thin |= res.len() < 5;
        let (lo, hi) = quantiles_10_90(&mut res);
        p10.push(point + lo);
        p50.push(point);
        p90.push(point + hi);
    }
    if thin {
        notes.push("intervals from fewer than 5 past errors for some steps".into());
    }
    (p10, p50, p90)
}

/// Smoothing constants tried for the MSTL trend (ETS(A,N,N), simple exponential smoothing);
/// the one with the least one-step squared error is used.
const SES_ALPHAS: [f64; 9] = [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99];

/// MSTL: decomposition into daily and weekly seasonal components, trend and remainder
/// (`stlrs`, through `augurs-mstl`), the seasonal components continued from their last cycle
/// and the deseasonalised series (trend + remainder) forecast by simple exponential
/// smoothing. Intervals: empirical quantiles of the smoother's in-sample errors `k` steps
/// ahead, for each step `k`.
fn mstl(input: &Input<'_>) -> Result<(Quantiles, f64), ForecastError> {
    let y32: Vec<f32> = input.history.iter().map(|&v| v as f32).collect();
    let periods = [24, 168];
    let fit = augurs_mstl::stlrs::MstlParams::new()
        .fit(&y32, &periods)
        .map_err(|e| ForecastError::Input(format!("mstl decomposition: {e}")))?;
    let n = y32.len();
    let deseason: Vec<f64> = fit
        .trend()
        .iter()
        .zip(fit.remainder())
        .map(|(t, r)| f64::from(*t) + f64::from(*r))
        .collect();
    // Simple exponential smoothing: pick alpha by one-step squared error.
    let smooth = |alpha: f64| {
        let mut level = deseason[0];
        let mut levels = Vec::with_capacity(n);
        let mut sse = 0.0;
        for &d in &deseason {
            sse += (d - level).powi(2);
            level += alpha * (d - level);
            levels.push(level);
        }
        (sse, levels)
    };
    let (alpha, levels) = SES_ALPHAS
        .iter()
        .map(|&a| (a, smooth(a)))
        .min_by(|x, y| x.1 .0.total_cmp(&y.1 .0))
        .map(|(a, (_, l))| (a, l))
        .expect("alphas are given");
    let last_level = levels[n - 1];
    let steps = input.lead + input.horizon;
    let (mut p10, mut p50, mut p90) = (Vec::new(), Vec::new(), Vec::new());
    let mut errors = Vec::with_capacity(n);
    for k in input.lead + 1..=steps {
        let seasonal: f64 = periods
            .iter()
            .zip(fit.seasonal())
            .map(|(&p, c)| f64::from(c[n - p + (k - 1) % p]))
            .sum();
        let point = last_level + seasonal;
        // Errors of the level as a forecast k steps ahead, after a week of warm-up.
        errors.clear();
        errors.extend((168..n.saturating_sub(k)).map(|t| deseason[t + k] - levels[t]));
        let (lo, hi) = quantiles_10_90(&mut errors);
        p10.push(point + lo);
        p50.push(point);
        p90.push(point + hi);
    }
    Ok(((p10, p50, p90), alpha))
}

fn ridge(input: &Input<'_>) -> Result<Quantiles, ForecastError> {
    let n = input.history.len();
    let y = input.history;
    let (mut p10, mut p50, mut p90) = (Vec::new(), Vec::new(), Vec::new());
    let mut x: Vec<f64> = Vec::new();
    let mut targets: Vec<f64> = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    let mut row = Vec::new();
    let relative = level_relative(y);
    let days = Days::new(input);
    for s in 1..=input.horizon {
        let g = s + input.lead;
        let t_real = n - 1 + g;
        let earliest = seasonal_lag(g, 168)
            .max(g + 23)
            .max(seasonal_lag(g, 24) + 25); // first target index with all lags
                                            // Training samples: the same step from earlier origins (24 h apart).
        x.clear();
        targets.clear();
        weights.clear();
        let mut p = 0;
        let mut back = 24;
        while back <= t_real && t_real - back >= earliest {
            let t = t_real - back;
            if t < n {
                ridge_row(input, &days, t, t - g, relative, &mut row);
                p = row.len();
                x.extend_from_slice(&row);
                let level = y[t - g + 1 - 24..=t - g].iter().sum::<f64>() / 24.0;
                targets.push(if relative { y[t] / level } else { y[t] });
                weights.push(RIDGE_DAY_DECAY.powf((back / 24) as f64));
            }
            back += 24;
        }
        ridge_row(input, &days, t_real, n - 1, relative, &mut row);
        p = p.max(row.len());
        if targets.len() < p + 5 {
            return Err(ForecastError::ShortHistory {
                have: n,
                need: n + 24 * (p + 5 - targets.len()),
                model: format!("ridge step {s} ({p} features)"),
            });
        }
        let fit = RidgeFit::fit(&x, &targets, &weights, p);
        let k = if relative {
            y[n - 24..].iter().sum::<f64>() / 24.0
        } else {
            1.0
        };
        let point = fit.predict(&row) * k;
        let (lo, hi) = quantiles_10_90(&mut fit.loo_residuals.clone());
        let (lo, hi) = (lo * k, hi * k);
        p10.push(point + lo);
        p50.push(point);
        p90.push(point + hi);
    }
    Ok((p10, p50, p90))
}

/// A ridge regression on standardised features with an unpenalised intercept.
struct RidgeFit {
    mean: Vec<f64>,
    scale: Vec<f64>,
    y_mean: f64,
    beta: Vec<f64>,
    loo_residuals: Vec<f64>,
}

impl RidgeFit {
    /// Fits `y ≈ X β` (`x` row-major, `p` columns), choosing the penalty by exact
    /// leave-one-out error (`e_i / (1 - h_ii)`).
    fn fit(x: &[f64], y: &[f64], w: &[f64], p: usize) -> RidgeFit {
        let sw: f64 = w.iter().sum();
        let mut mean = vec![0.0; p];
        let mut scale = vec![0.0; p];
        for (r, &wi) in x.chunks_exact(p).zip(w) {
            for j in 0..p {
                mean[j] += wi * r[j];
            }
        }
        mean.iter_mut().for_each(|m| *m /= sw);
        for (r, &wi) in x.chunks_exact(p).zip(w) {
            for j in 0..p {
                scale[j] += wi * (r[j] - mean[j]).powi(2);
            }
        }
        // Constant columns get scale 0 and contribute nothing.
        scale.iter_mut().for_each(|s| {
            let sd = (*s / sw).sqrt();
            *s = if sd > 1e-12 { 1.0 / sd } else { 0.0 };
        });
        let mut z = Vec::with_capacity(x.len());
        for r in x.chunks_exact(p) {
            z.extend((0..p).map(|j| (r[j] - mean[j]) * scale[j]));
        }
        let y_mean = y.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / sw;
        let yc: Vec<f64> = y.iter().map(|v| v - y_mean).collect();
        let mut gram = vec![0.0; p * p];
        let mut zy = vec![0.0; p];
        for ((r, &v), &wi) in z.chunks_exact(p).zip(&yc).zip(w) {
            for i in 0..p {
                zy[i] += wi * r[i] * v;
                for j in 0..=i {
                    gram[i * p + j] += wi * r[i] * r[j];
                }
            }
        }
        for i in 0..p {
            for j in 0..i {
                gram[j * p + i] = gram[i * p + j];
            }
        }
        // In the eigenbasis of the Gram matrix (G = V Λ Vᵀ) every penalty λ is diagonal:
        // coefficients c = (Vᵀ Zᵀ W y) / (Λ + λ), fits q·c and leverages w (1/Σw + Σ q² / (Λ + λ))
        // with q = Vᵀ z per sample.
        let (values, vectors) = linalg::symmetric_eigen(&gram, p);
        let values: Vec<f64> = values.iter().map(|v| v.max(0.0)).collect();
        // Vᵀ row by row, so that each rotated coordinate is a contiguous dot product.
        let columns: Vec<f64> = (0..p * p).map(|i| vectors[(i % p) * p + i / p]).collect();
        let rotate = |r: &[f64], out: &mut Vec<f64>| {
            out.extend(
                columns
                    .chunks_exact(p)
                    .map(|v| v.iter().zip(r).map(|(a, b)| a * b).sum::<f64>()),
            );
        };
        let mut q = Vec::with_capacity(z.len());
        for r in z.chunks_exact(p) {
            rotate(r, &mut q);
        }
        let mut zy_rotated = Vec::with_capacity(p);
        rotate(&zy, &mut zy_rotated);
        let mut best: Option<(f64, Vec<f64>, Vec<f64>)> = None;
        for &rel in &RIDGE_PENALTIES {
            let lambda = rel * sw;
            let inverse: Vec<f64> = values.iter().map(|v| 1.0 / (v + lambda)).collect();
            let c: Vec<f64> = zy_rotated
                .iter()
                .zip(&inverse)
                .map(|(a, b)| a * b)
                .collect();
            let mut sse = 0.0;
            let mut loo = Vec::with_capacity(y.len());
            for ((r, &v), &wi) in q.chunks_exact(p).zip(&yc).zip(w) {
                let (mut fit, mut leverage) = (0.0, 0.0);
                for k in 0..p {
                    fit += r[k] * c[k];
                    leverage += r[k] * r[k] * inverse[k];
                }
                let h = wi * (1.0 / sw + leverage);
                let e_loo = (v - fit) / (1.0 - h).max(1e-6);
                sse += wi * e_loo * e_loo;
                loo.push(e_loo);
            }
            if best.as_ref().is_none_or(|(b, _, _)| sse < *b) {
                let beta = (0..p)
                    .map(|j| (0..p).map(|k| vectors[j * p + k] * c[k]).sum())
                    .collect();
                best = Some((sse, beta, loo));
            }
        }
        let (beta, loo_residuals) = match best {
            Some((_, b, l)) => (b, l),
            // Only without penalties to try; predict the mean.
            None => (vec![0.0; p], yc),
        };
        RidgeFit {
            mean,
            scale,
            y_mean,
            beta,
            loo_residuals,
        }
    }

    fn predict(&self, row: &[f64]) -> f64 {
        self.y_mean
            + row
                .iter()
                .enumerate()
                .map(|(j, v)| (v - self.mean[j]) * self.scale[j] * self.beta[j])
                .sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ridge_recovers_a_linear_law() {
        // y = 3 + 2 x0 - x1, exactly: LOO residuals near zero at the smallest penalty.
        let x: Vec<f64> = (0..40)
            .flat_map(|i| [f64::from(i), f64::from((i * 7) % 11)])
            .collect();
        let y: Vec<f64> = x.chunks(2).map(|r| 3.0 + 2.0 * r[0] - r[1]).collect();
        let fit = RidgeFit::fit(&x, &y, &[1.0; 40], 2);
        let pred = fit.predict(&[50.0, 3.0]);
        assert!((pred - 100.0).abs() < 1.0, "{pred}");
    }
}
