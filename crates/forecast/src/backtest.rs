//! Rolling-origin backtests (滚动回测) and the automatic choice of a model per series.
//!
//! Protocol (see docs/forecasting.md): origins at 00:00 of each day (or every 7 days) from
//! `from` to `to`; at each origin the model sees the trailing fit window that ends `lead`
//! hours before the origin and forecasts `horizon` hours from the origin. Metrics are pooled
//! over all origin × step pairs and reported for the model and for the seasonal naive
//! (24 h) baseline under the same protocol.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;
use shulv_model::HolidayCalendar;

use crate::metrics::{naive_scale, Metrics, PointScores};
use crate::model::{forecast, Forecast, Input, ModelKind, Selection, WINDOW_HOURS};
use crate::{ForecastError, HourlySeries};

/// Origins of the selection backtest of [`ModelKind::Auto`] (daily, before the first origin).
pub const SELECTION_ORIGINS: usize = 28;

/// How far apart the origins are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginPlan {
    /// One origin per day at 00:00.
    Daily,
    /// One origin every 7 days at 00:00, starting on `from`.
    Weekly,
}

impl OriginPlan {
    /// Parses `daily` or `weekly`.
    pub fn parse(s: &str) -> Result<OriginPlan, ForecastError> {
        match s {
            "daily" => Ok(OriginPlan::Daily),
            "weekly" => Ok(OriginPlan::Weekly),
            _ => Err(ForecastError::Setting {
                setting: "origins",
                message: format!("unknown origin plan {s:?} (expected daily or weekly)"),
            }),
        }
    }

    fn step_days(self) -> i64 {
        match self {
            OriginPlan::Daily => 1,
            OriginPlan::Weekly => 7,
        }
    }
}

/// Settings of a backtest.
#[derive(Debug, Clone)]
pub struct BacktestSpec {
    /// Model to evaluate ([`ModelKind::Auto`] chooses one first).
    pub model: ModelKind,
    /// Hours forecast at each origin.
    pub horizon: usize,
    /// Hours between the last observation and the origin (0: issue at the origin).
    pub lead: usize,
    /// Origin spacing.
    pub plan: OriginPlan,
    /// First origin day (00:00).
    pub from: NaiveDate,
    /// Last origin day (00:00), inclusive.
    pub to: NaiveDate,
    /// Trailing history in hours (MSTL and gbm fit on its last 12 weeks).
    pub window: usize,
    /// Holiday calendar for calendar features.
    pub calendar: Option<HolidayCalendar>,
    /// Whether the covariates are observed (true) or forecast values, for the report.
    pub covariates_observed: bool,
}

impl BacktestSpec {
    /// Daily origins and lead 0 as in the protocol of forecasting.md, with the default
    /// 52-week history ([`WINDOW_HOURS`]; the protocol's fit window is
    /// [`crate::model::SHORT_WINDOW_HOURS`]).
    pub fn new(model: ModelKind, horizon: usize, from: NaiveDate, to: NaiveDate) -> Self {
        BacktestSpec {
            model,
            horizon,
            lead: 0,
            plan: OriginPlan::Daily,
            from,
            to,
            window: WINDOW_HOURS,
            calendar: None,
            covariates_observed: true,
        }
    }

    fn origins(&self) -> Vec<NaiveDateTime> {
        let mut out = Vec::new();
        let mut d = self.from;
        while d <= self.to {
            out.push(d.and_hms_opt(0, 0, 0).expect("midnight"));
            d += Duration::days(self.plan.step_days());
        }
        out
    }
}

/// Result of a backtest.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestReport {
    /// Model evaluated, with its settings (from the last origin's forecast).
    pub model: String,
    /// Concrete model kind used (the choice, for [`ModelKind::Auto`]).
    pub kind: ModelKind,
    /// The automatic choice, when the model was [`ModelKind::Auto`].
    pub selection: Option<Selection>,
    /// Horizon, lead, window (hours), origin plan.
    pub horizon: usize,
    /// Lead in hours.
    pub lead: usize,
    /// Fit window in hours.
    pub window: usize,
    /// Origin plan.
    pub plan: OriginPlan,
    /// First and last origin.
    pub first_origin: NaiveDateTime,
    /// Last origin.
    pub last_origin: NaiveDateTime,
    /// Number of origins.
    pub origins: usize,
    /// Covariates used, and whether they were observed or forecast values.
    pub covariates: Vec<String>,
    /// True when the covariates are observations (optimistic: real forecasts use forecast weather).
    pub covariates_observed: bool,
    /// MASE scale: in-sample lag-24 naive MAE on the window before the first origin.
    pub mase_scale: Option<f64>,
    /// Metrics of the model.
    pub metrics: Metrics,
    /// Metrics of the seasonal naive 24 h baseline on the same origins.
    pub baseline: Metrics,
    /// Notes from the models (distinct, with counts).
    pub notes: Vec<String>,
    /// Median wall time of one fit + forecast of the model at one origin, milliseconds.
    pub median_fit_ms: f64,
}

/// Index of the origin time in the series, or an error naming it.
fn origin_index(series: &HourlySeries, t: NaiveDateTime) -> Result<usize, ForecastError> {
    let d = (t - series.start).num_hours();
    if d < 0 || d as usize > series.len() {
        return Err(ForecastError::Origin {
            origin: t,
            message: format!(
                "outside the data ({} to {})",
                series.start,
                series.time(series.len().saturating_sub(1))
            ),
        });
    }
    Ok(d as usize)
}

/// Forecast of `kind` at origin index `o` of the series with the given window, lead, horizon.
fn run_at(
    series: &HourlySeries,
    kind: ModelKind,
    o: usize,
    spec: &BacktestSpec,
) -> Result<Forecast, ForecastError> {
    let end = o
        .checked_sub(spec.lead)
        .ok_or_else(|| ForecastError::Origin {
            origin: series.time(o),
            message: "lead reaches before the data".into(),
        })?; // history is [start, end)
    let start = end.saturating_sub(spec.window);
    let covs: Vec<(&str, &[f64])> = series
        .covariates
        .iter()
        .map(|(name, c)| {
            let stop = (o + spec.horizon).min(c.len());
            (name.as_str(), &c[start..stop])
        })
        .collect();
    let input = Input {
        start: series.time(start),
        history: &series.values[start..end],
        covariates: &covs,
        lead: spec.lead,
        horizon: spec.horizon,
        calendar: spec.calendar.as_ref(),
    };
    forecast(kind, &input)
}

/// Chooses a model for the series by a rolling-origin backtest of every candidate on
/// [`SELECTION_ORIGINS`] daily origins whose targets all lie before `first` (minus the lead),
/// by mean absolute error. Candidates that cannot run (short history) are skipped. The
/// ensemble is scored on the average of the ridge's and MSTL's P50 at the same origins, which
/// is its P50, rather than by fitting both again.
pub fn choose_model(
    series: &HourlySeries,
    first: usize,
    spec: &BacktestSpec,
) -> Result<Selection, ForecastError> {
    let gap = 24 * (spec.lead + spec.horizon).div_ceil(24);
    let mut origins: Vec<usize> = (0..SELECTION_ORIGINS)
        .filter_map(|k| first.checked_sub(gap + 24 * k))
        .collect();
    origins.reverse();
    // Each candidate's P50 at every origin, concatenated; None when it cannot run.
    let mut p50s: Vec<(ModelKind, Option<Vec<f64>>)> = Vec::new();
    for kind in ModelKind::CANDIDATES {
        // The ensemble comes after the ridge and MSTL in CANDIDATES.
        let p50 = if kind == ModelKind::Ensemble {
            let of = |k: ModelKind| {
                p50s.iter()
                    .find(|(c, _)| *c == k)
                    .and_then(|(_, p)| p.as_ref())
            };
            of(ModelKind::Ridge)
                .zip(of(ModelKind::Mstl))
                .map(|(r, m)| r.iter().zip(m).map(|(a, b)| 0.5 * (a + b)).collect())
        } else {
            let mut p50 = Some(Vec::with_capacity(origins.len() * spec.horizon));
            for &o in &origins {
                match run_at(series, kind, o, spec) {
                    Ok(f) => p50.as_mut().expect("set above").extend_from_slice(&f.p50),
                    Err(ForecastError::ShortHistory { .. }) => {
                        p50 = None;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            p50.filter(|_| !origins.is_empty())
        };
        p50s.push((kind, p50));
    }
    let actual: Vec<f64> = origins
        .iter()
        .flat_map(|&o| &series.values[o..o + spec.horizon])
        .copied()
        .collect();
    let scores: Vec<(ModelKind, Option<f64>)> = p50s
        .iter()
        .map(|(kind, p50)| {
            let mae = p50.as_ref().map(|p| {
                p.iter()
                    .zip(&actual)
                    .map(|(f, a)| (a - f).abs())
                    .sum::<f64>()
                    / actual.len() as f64
            });
            (*kind, mae)
        })
        .collect();
    let chosen = scores
        .iter()
        .filter_map(|(k, m)| m.map(|m| (*k, m)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
        .unwrap_or(ModelKind::Naive24);
    Ok(Selection {
        chosen,
        scores,
        origins: origins.len(),
        period: origins
            .first()
            .zip(origins.last())
            .map(|(a, b)| (series.time(*a), series.time(*b))),
    })
}

/// Runs a backtest of `spec` on a cleaned series; covariates of the series are used by the
/// models that take them.
pub fn backtest(
    series: &HourlySeries,
    spec: &BacktestSpec,
) -> Result<BacktestReport, ForecastError> {
    if spec.horizon == 0 || spec.window < 24 {
        return Err(ForecastError::Setting {
            setting: "horizon/window",
            message: format!(
                "horizon {} and window {} must be at least 1 and 24 hours",
                spec.horizon, spec.window
            ),
        });
    }
    let times = spec.origins();
    if times.is_empty() {
        return Err(ForecastError::Setting {
            setting: "from/to",
            message: format!("no origin between {} and {}", spec.from, spec.to),
        });
    }
    let mut idx = Vec::with_capacity(times.len());
    for &t in &times {
        let o = origin_index(series, t)?;
        if o + spec.horizon > series.len() {
            return Err(ForecastError::Origin {
                origin: t,
                message: format!(
                    "the {} forecast hours run past the data's end {}",
                    spec.horizon,
                    series.time(series.len() - 1)
                ),
            });
        }
        if o < spec.lead + 24 {
            return Err(ForecastError::Origin {
                origin: t,
                message: "less than a day of history before it".into(),
            });
        }
        idx.push(o);
    }
    let selection = match spec.model {
        ModelKind::Auto => Some(choose_model(series, idx[0], spec)?),
        _ => None,
    };
    let kind = selection.as_ref().map_or(spec.model, |s| s.chosen);
    let first_end = idx[0] - spec.lead;
    let mase_scale = naive_scale(
        &series.values[first_end.saturating_sub(spec.window)..first_end],
        24,
    );
    let mut scores = PointScores::default();
    let mut base = PointScores::default();
    let mut notes: Vec<(String, usize)> = Vec::new();
    let mut model = String::new();
    let mut times_ms = Vec::with_capacity(idx.len());
    for &o in &idx {
        let clock = std::time::Instant::now();
        let f = run_at(series, kind, o, spec)?;
        times_ms.push(clock.elapsed().as_secs_f64() * 1000.0);
        let b = run_at(series, ModelKind::Naive24, o, spec)?;
        let actual = &series.values[o..o + spec.horizon];
        scores.extend(actual, &f.p10, &f.p50, &f.p90);
        base.extend(actual, &b.p10, &b.p50, &b.p90);
        for n in f.notes {
            match notes.iter_mut().find(|(m, _)| *m == n) {
                Some((_, c)) => *c += 1,
                None => notes.push((n, 1)),
            }
        }
        model = f.model;
    }
    Ok(BacktestReport {
        model,
        kind,
        selection,
        horizon: spec.horizon,
        lead: spec.lead,
        window: spec.window,
        plan: spec.plan,
        first_origin: times[0],
        last_origin: *times.last().expect("at least one origin"),
        origins: times.len(),
        covariates: series.covariates.iter().map(|(n, _)| n.clone()).collect(),
        covariates_observed: spec.covariates_observed,
        mase_scale,
        metrics: Metrics::compute(&scores, mase_scale),
        baseline: Metrics::compute(&base, mase_scale),
        notes: notes
            .into_iter()
            .map(|(n, c)| {
                if c > 1 {
                    format!("{n} ({c} origins)")
                } else {
                    n
                }
            })
            .collect(),
        median_fit_ms: median(&mut times_ms),
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}
