//! What a model sees at one forecast origin ([`Input`]): its checks and its cuts.

use chrono::{Duration, NaiveDateTime};
use shulv_model::HolidayCalendar;

use crate::ForecastError;

/// What a model sees at one forecast origin.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Local time of `history[0]`.
    pub start: NaiveDateTime,
    /// Observed hourly values, oldest first, all finite (see [`crate::clean()`]).
    pub history: &'a [f64],
    /// Covariates by name, each covering the history, the lead and the horizon
    /// (`history.len() + lead + horizon` values).
    pub covariates: &'a [(&'a str, &'a [f64])],
    /// Hours between the last observed hour and the first forecast hour (0: the next hour).
    pub lead: usize,
    /// Hours to forecast.
    pub horizon: usize,
    /// Holiday calendar for the calendar features (none: weekdays only).
    pub calendar: Option<&'a HolidayCalendar>,
}

impl Input<'_> {
    /// This input without its first `cut` hours of history; `covariates` are the input's own
    /// cut as much ([`cut_covariates`]), as they are indexed from the start of the history.
    pub(crate) fn without_first<'b>(
        &self,
        cut: usize,
        covariates: &'b [(&'b str, &'b [f64])],
    ) -> Input<'b>
    where
        Self: 'b,
    {
        Input {
            start: self.start + Duration::hours(cut as i64),
            history: &self.history[cut..],
            covariates,
            ..*self
        }
    }
}

/// Covariates without their first `cut` hours.
pub(crate) fn cut_covariates<'a>(
    covariates: &[(&'a str, &'a [f64])],
    cut: usize,
) -> Vec<(&'a str, &'a [f64])> {
    covariates.iter().map(|&(n, c)| (n, &c[cut..])).collect()
}

/// Checks that the input can be forecast: a horizon, finite history, covariates that cover
/// the history, lead and horizon with finite values.
pub(crate) fn validate(input: &Input<'_>) -> Result<(), ForecastError> {
    if input.horizon == 0 {
        return Err(ForecastError::Setting {
            setting: "horizon",
            message: "must be at least 1 hour".into(),
        });
    }
    if let Some(i) = input.history.iter().position(|v| !v.is_finite()) {
        return Err(ForecastError::Input(format!(
            "history value {i} is not finite; clean the series first"
        )));
    }
    let need = input.history.len() + input.lead + input.horizon;
    for (name, c) in input.covariates {
        if c.len() < need {
            return Err(ForecastError::Covariate {
                name: name.to_string(),
                message: format!(
                    "{} values, the history, lead and horizon need {need}",
                    c.len()
                ),
            });
        }
        if let Some(i) = c[..need].iter().position(|v| !v.is_finite()) {
            return Err(ForecastError::Covariate {
                name: name.to_string(),
                message: format!("value {i} is not finite"),
            });
        }
    }
    Ok(())
}
