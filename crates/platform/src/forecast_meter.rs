//! One meter's forecast: history prepared and cleaned, the model chosen by backtest, the
//! forecast run; and the small thread pool the meters of a node run on.

use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;
use shulv_forecast::{
    choose_model, clean, forecast, BacktestSpec, ForecastError, HourlySeries, Input, ModelKind,
    OriginPlan, Selection,
};
use shulv_model::HolidayCalendar;

use crate::forecasting::{invalid, MeterRun, MAX_LEAD_HOURS};
use crate::weather::WeatherGrid;
use crate::PlatformError;

/// `f` over `items` on up to 4 threads (the machine's cores), results in the order given.
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(items.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<parking_lot::Mutex<Option<R>>> = items
        .iter()
        .map(|_| parking_lot::Mutex::new(None))
        .collect();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= items.len() {
                    break;
                }
                *slots[i].lock() = Some(f(&items[i]));
            });
        }
    });
    slots
        .into_iter()
        .map(|r| r.into_inner().expect("every item run"))
        .collect()
}

/// Settings shared by the meters of one request.
pub(crate) struct Ctx<'a> {
    pub(crate) from: i64,
    pub(crate) to: i64,
    /// Local time of the first forecast hour.
    pub(crate) origin: NaiveDateTime,
    pub(crate) tz: Tz,
    pub(crate) horizon: usize,
    pub(crate) calendar: Option<&'a HolidayCalendar>,
    /// Temperatures of the request, if any.
    pub(crate) weather: Option<&'a WeatherGrid>,
}

/// A series ready to forecast: the cleaned history (with the temperature over it as a
/// covariate, if used), the temperature up to the end of the horizon, the cleaning notes and the
/// lead.
pub(crate) struct Prepared {
    pub(crate) series: HourlySeries,
    pub(crate) temperature: Option<(String, Vec<f64>)>,
    pub(crate) cleaning: Vec<String>,
    pub(crate) lead: usize,
}

/// Cleans hourly readings, measures the hours between their end and the forecast start (the
/// lead) and, with `weather`, attaches the request's temperatures.
pub(crate) fn prepare(
    y: &[(NaiveDateTime, f64)],
    ctx: &Ctx<'_>,
    weather: bool,
) -> Result<Prepared, PlatformError> {
    let times: Vec<NaiveDateTime> = y.iter().map(|p| p.0).collect();
    let values: Vec<f64> = y.iter().map(|p| p.1).collect();
    let (series, report) = clean(&times, &values, &[]).map_err(invalid)?;
    let end = series.time(series.len() - 1) + Duration::hours(1);
    let lead = (ctx.origin - end).num_hours().max(0) as usize;
    if lead > MAX_LEAD_HOURS {
        return Err(PlatformError::Invalid(format!(
            "the data ends at {end}, more than {MAX_LEAD_HOURS} hours before the forecast start {}",
            ctx.origin
        )));
    }
    let mut series = series;
    let temperature = match ctx.weather.filter(|_| weather) {
        Some(g) => {
            let t = g.covariate(series.start)?;
            series.covariates = vec![(g.used.covariate.clone(), t[..series.len()].to_vec())];
            Some((g.used.covariate.clone(), t))
        }
        None => None,
    };
    Ok(Prepared {
        series,
        temperature,
        cleaning: report.notes,
        lead,
    })
}

pub(crate) fn spec(ctx: &Ctx<'_>, lead: usize) -> BacktestSpec {
    let day = ctx.origin.date();
    BacktestSpec {
        model: ModelKind::Auto,
        horizon: ctx.horizon,
        lead,
        plan: OriginPlan::Daily,
        from: day,
        to: day,
        window: shulv_forecast::model::WINDOW_HOURS,
        calendar: ctx.calendar.cloned(),
        covariates_observed: true,
    }
}

/// The automatic choice on a (summed) series, for origins that end at the forecast start.
pub(crate) fn select(
    y: &[(NaiveDateTime, f64)],
    ctx: &Ctx<'_>,
    weather: bool,
) -> Result<Selection, PlatformError> {
    let p = prepare(y, ctx, weather)?;
    choose_model(&p.series, p.series.len() + p.lead, &spec(ctx, p.lead)).map_err(invalid)
}

/// Forecasts one meter's hourly readings with `kind` (auto: chosen on this series), with the
/// request's temperature as covariate when `weather`; a concrete model that lacks history falls
/// back to the seasonal naive 24 h with a note.
pub(crate) fn run_meter(
    y: &[(NaiveDateTime, f64)],
    kind: ModelKind,
    ctx: &Ctx<'_>,
    weather: bool,
) -> Result<MeterRun, PlatformError> {
    if y.is_empty() {
        return Err(PlatformError::Invalid(format!(
            "no stored data between {} and {}",
            shulv_model::format_local(ctx.from, ctx.tz),
            shulv_model::format_local(ctx.to, ctx.tz)
        )));
    }
    let Prepared {
        series,
        temperature,
        cleaning,
        lead,
    } = prepare(y, ctx, weather)?;
    let mut notes = Vec::new();
    if lead > 0 {
        notes.push(format!(
            "the data ends {lead} h before the forecast start; forecast with a lead of {lead} h"
        ));
    }
    let mut selection = None;
    let mut kind = kind;
    if kind == ModelKind::Auto {
        let sel = choose_model(&series, series.len() + lead, &spec(ctx, lead)).map_err(invalid)?;
        kind = sel.chosen;
        selection = Some(sel);
    }
    let n = series.len();
    let start = n.saturating_sub(shulv_forecast::model::WINDOW_HOURS);
    let covariates: Vec<(&str, &[f64])> = temperature
        .iter()
        .map(|(name, t)| (name.as_str(), &t[start..]))
        .collect();
    let input = Input {
        start: series.time(start),
        history: &series.values[start..],
        covariates: &covariates,
        lead,
        horizon: ctx.horizon,
        calendar: ctx.calendar,
    };
    let f = match forecast(kind, &input) {
        Ok(f) => f,
        Err(ForecastError::ShortHistory { have, need, model }) if kind != ModelKind::Naive24 => {
            notes.push(format!(
                "{model} needs {need} hours of history, {have} stored: naive24 used instead"
            ));
            kind = ModelKind::Naive24;
            forecast(kind, &input).map_err(invalid)?
        }
        Err(e) => return Err(invalid(e)),
    };
    debug_assert_eq!(f.start, ctx.origin, "forecast starts at the origin");
    notes.extend(f.notes);
    if let Some((name, _)) = temperature.filter(|(name, _)| !f.model.contains(name.as_str())) {
        notes.push(format!(
            "{} takes no covariates: {name} was not used",
            kind.name()
        ));
    }
    Ok(MeterRun {
        kind,
        settings: f.model,
        selection,
        p10: f.p10,
        p50: f.p50,
        p90: f.p90,
        cleaning,
        notes,
    })
}
