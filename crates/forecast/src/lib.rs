//! # shulv-forecast
//!
//! Energy-use forecasting (用能预测) for hourly series: cleaning of real meter data
//! ([`clean`]), models (seasonal naive, MSTL decomposition, a direct ridge regression and
//! gradient-boosted trees on lags, calendar and covariates; [`model`]), automatic choice per series by rolling-origin backtest
//! and the backtest itself with its metrics ([`backtest`], [`metrics`]), and a CSV reader for
//! backtests on files ([`csv`]).
//!
//! Time is local wall-clock time on an hourly grid ([`chrono::NaiveDateTime`]): load follows
//! the clock of the people using energy, and the calendar features (weekday, Chinese holidays
//! and 调休 make-up workdays from [`shulv_model::HolidayCalendar`]) are local. Every forecast
//! carries P10/P50/P90 and names the model and settings that produced it.
#![warn(missing_docs)]

pub mod backtest;
mod boosted_trees;
pub mod calendar;
pub mod clean;
pub mod csv;
mod features;
mod gbm_model;
mod input;
mod interval;
mod linalg;
pub mod metrics;
pub mod model;

pub use backtest::{backtest, choose_model, BacktestReport, BacktestSpec, OriginPlan};
pub use clean::{clean, CleanReport, HourlySeries};
pub use metrics::{Metrics, PointScores};
pub use model::{forecast, Forecast, Input, ModelKind, Selection};

/// What went wrong, in words a user can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    /// Not enough history for the requested model, horizon and lead.
    #[error("history too short: {have} hours, {model} needs at least {need} hours")]
    ShortHistory {
        /// Hours available.
        have: usize,
        /// Hours needed.
        need: usize,
        /// Which model or step needs them.
        model: String,
    },
    /// The input series has no usable values.
    #[error("no usable values: {0}")]
    Empty(String),
    /// A covariate does not cover the history and the horizon.
    #[error("covariate {name}: {message}")]
    Covariate {
        /// Covariate name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A setting is out of range.
    #[error("invalid setting {setting}: {message}")]
    Setting {
        /// Setting name.
        setting: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A backtest origin falls outside the data.
    #[error("origin {origin}: {message}")]
    Origin {
        /// The origin (first forecast hour).
        origin: chrono::NaiveDateTime,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or has a bad value.
    #[error("{0}")]
    Input(String),
}
