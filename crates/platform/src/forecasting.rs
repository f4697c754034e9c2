//! Forecasts (用能预测) of stored data: the hourly quantity series of a meter, or of every meter
//! of a node's subtree, read from the store's hourly rollups, cleaned and forecast with
//! `shulv-forecast` (P10/P50/P90).
//!
//! A node's forecast is bottom-up (自下而上): every meter of the subtree is forecast on its own
//! series, converted to its carrier's unit, and the P50s are summed per carrier, so the node's
//! P50 equals the sum of its meters' P50 exactly. Quantiles do not add (the sum of the meters'
//! P10s is not the P10 of the sum). The node's P10/P90 are, by default, the root sum of squares
//! of the meters' deviations around the bottom-up P50 ([`NodeIntervals::Independent`], which
//! assumes independent meter errors); [`NodeIntervals::Correlated`] weights the deviations by
//! the correlation of the meters' recent week-over-week changes, and [`NodeIntervals::Summed`]
//! takes the spread of a forecast of the node's summed series (docs/forecasting.md has the
//! backtest of all three).
//!
//! With a temperature meter ([`WeatherRequest`]) the outdoor temperature is a covariate: of the
//! meter's forecast, or of a node's meters of the carriers that follow the weather
//! ([`follows_weather`]: electricity and heat) and of their automatic choice; the answer's
//! `weather` says which meters gave the history's and the forecast hours' temperatures.

use chrono::{DateTime, NaiveDateTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use shulv_forecast::{ForecastError, ModelKind, Selection};
use shulv_model::{Bucket, Carrier, HolidayCalendar, MeterSpec, Unit};
use shulv_store::Level;

use crate::forecast_meter::{run_meter, Ctx};
use crate::query::whole_hour_offsets;
use crate::weather::{follows_weather, WeatherGrid, WeatherRequest, WeatherUsed};
use crate::{Aggregate, Platform, PlatformError, QuerySpec, Target};

/// Default history: the 52 weeks before the last stored hour.
pub const DEFAULT_HISTORY_HOURS: i64 = shulv_forecast::model::WINDOW_HOURS as i64;
/// Longest history a request may name (the ridge uses up to its trailing 52 weeks, MSTL and
/// gbm its trailing 12).
pub const MAX_HISTORY_DAYS: i64 = 366;
/// A meter whose data ends more than this many hours before the forecast start is skipped.
pub const MAX_LEAD_HOURS: usize = 168;

pub(crate) const HOUR_MS: i64 = 3_600_000;

/// A carrier group of a node: carrier, unit, meters (index into the node's meters) with their
/// conversion factor into the unit.
pub(crate) type Group = (Carrier, Unit, Vec<(usize, f64)>);

/// Hourly readings of one series as local hours.
pub(crate) type Hourly = Vec<(NaiveDateTime, f64)>;

/// How a node's P10/P90 are made from its meters' forecasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeIntervals {
    /// The spread (P50 − P10, P90 − P50) of a forecast of the node's summed series with the
    /// same model, around the bottom-up P50: it carries the errors the meters make together,
    /// but was too wide on the demo park's electricity (99.7 % coverage in the backtest).
    Summed,
    /// Root sum of squares of the meters' deviations: right for independent meter errors (the
    /// default: 75.6 % coverage on the demo park's electricity, nominal 80 %, but 48.9 % on the
    /// data centre's electricity in summer, whose meters err together).
    #[default]
    Independent,
    /// The meters' deviations combined with the correlation of their week-over-week changes
    /// over the last four weeks ([`crate::error_correlation`]): between the root sum of squares
    /// (uncorrelated meters) and the plain sum (meters that move together); 70.4 % on the data
    /// centre in summer, but 96.9 % on the park's electricity.
    Correlated,
}

impl NodeIntervals {
    /// Parses `correlated`, `independent` or `summed`.
    pub fn parse(s: &str) -> Result<NodeIntervals, PlatformError> {
        match s {
            "summed" => Ok(NodeIntervals::Summed),
            "independent" => Ok(NodeIntervals::Independent),
            "correlated" => Ok(NodeIntervals::Correlated),
            other => Err(PlatformError::Invalid(format!(
                "intervals: {other:?} is not offered (expected correlated, independent or summed)"
            ))),
        }
    }

    /// The name used in requests and answers.
    pub fn name(self) -> &'static str {
        match self {
            NodeIntervals::Summed => "summed",
            NodeIntervals::Independent => "independent",
            NodeIntervals::Correlated => "correlated",
        }
    }
}

/// What a forecast asks for.
#[derive(Clone, Debug)]
pub struct ForecastRequest {
    /// A meter or a node.
    pub target: Target,
    /// Hours to forecast (24: day-ahead, 168: week-ahead).
    pub horizon: usize,
    /// Model; [`ModelKind::Auto`] chooses by rolling-origin backtest.
    pub model: ModelKind,
    /// Start of the history (ms UTC); default `to` − 52 weeks.
    pub from: Option<i64>,
    /// End of the history, exclusive (ms UTC), which is also the first forecast hour; default
    /// the hour after the last stored hour of the target.
    pub to: Option<i64>,
    /// How a node's P10/P90 are combined (ignored for a meter).
    pub intervals: NodeIntervals,
    /// Forecast only a node's meters of this carrier (a schedule needs only electricity);
    /// `None`: every carrier. Ignored for a meter.
    pub carrier: Option<Carrier>,
    /// Outdoor temperature as a covariate (none: no weather).
    pub weather: Option<WeatherRequest>,
}

/// A forecast of a meter or node.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ForecastAnswer {
    /// Id of the stored forecast (`GET /api/v1/forecasts/{id}` compares it with the actuals);
    /// absent when it was not stored.
    pub id: Option<String>,
    /// The meter or node id.
    pub target: String,
    /// `meter` or `node`.
    pub target_kind: String,
    /// IANA time zone of the hours.
    pub timezone: String,
    /// Start of the history used (RFC 3339, local offset).
    pub history_from: String,
    /// End of the history (exclusive) = the first forecast hour.
    pub history_to: String,
    /// Hours forecast.
    pub horizon: usize,
    /// The model asked for (`auto`, `ridge`, …).
    pub model_requested: String,
    /// Holiday calendar of the calendar features.
    pub calendar: String,
    /// Node forecasts: how P10/P90 were combined (`summed` or `independent`).
    pub intervals: Option<String>,
    /// How the numbers were made (and, for nodes, how meters are combined).
    pub method: String,
    /// The temperature covariate: its meters and whether the forecast hours used observed or
    /// forecast weather (absent: no weather was used).
    pub weather: Option<WeatherUsed>,
    /// One forecast per carrier (a meter has one).
    pub series: Vec<ForecastSeries>,
    /// Meters of a node that could not be forecast, with the reason.
    pub skipped: Vec<SkippedMeter>,
}

/// The forecast of one carrier (node) or of the meter.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ForecastSeries {
    /// Energy carrier (能源品种) or series kind.
    #[schema(value_type = String)]
    pub carrier: Carrier,
    /// Unit of every value.
    pub unit: String,
    /// Concrete model used (for a node: the model of its meters, `mixed` if they differ).
    pub model: String,
    /// The model with its settings, e.g. `ridge(window=2016h, calendar=cn, covariates=[])`
    /// (a meter only; for a node see `meters`).
    pub settings: Option<String>,
    /// The automatic choice (scores of every candidate), when `model=auto`.
    #[schema(value_type = Option<Object>)]
    pub selection: Option<Selection>,
    /// One row per forecast hour.
    pub hours: Vec<ForecastHour>,
    /// What the cleaning did (数据清洗) to the history.
    pub cleaning: Vec<String>,
    /// What the model did beyond the usual (window cut at a level shift, fallbacks, lead).
    pub notes: Vec<String>,
    /// Node forecasts: each meter's forecast in this series' unit (empty for a meter and for
    /// aggregates-only credentials).
    pub meters: Vec<MeterComponent>,
}

/// One forecast hour.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ForecastHour {
    /// Start of the hour (RFC 3339, local offset).
    pub start: String,
    /// Start of the hour (ms UTC).
    pub ts: i64,
    /// 10 % quantile.
    pub p10: f64,
    /// Median (the point forecast).
    pub p50: f64,
    /// 90 % quantile.
    pub p90: f64,
}

/// A meter's part of a node forecast.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MeterComponent {
    /// Meter id.
    pub meter: String,
    /// Concrete model.
    pub model: String,
    /// The model with its settings.
    pub settings: String,
    /// 10 % quantile per hour, in the series' unit.
    pub p10: Vec<f64>,
    /// Median per hour, in the series' unit.
    pub p50: Vec<f64>,
    /// 90 % quantile per hour, in the series' unit.
    pub p90: Vec<f64>,
    /// Cleaning and model notes of this meter.
    pub notes: Vec<String>,
}

/// A meter of a node that has no forecast.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SkippedMeter {
    /// Meter id (empty for aggregates-only credentials).
    pub meter: String,
    /// Its carrier.
    #[schema(value_type = String)]
    pub carrier: Carrier,
    /// Why.
    pub reason: String,
}

/// One meter's forecast in its own quantity unit.
pub(crate) struct MeterRun {
    pub(crate) kind: ModelKind,
    pub(crate) settings: String,
    pub(crate) selection: Option<Selection>,
    pub(crate) p10: Vec<f64>,
    pub(crate) p50: Vec<f64>,
    pub(crate) p90: Vec<f64>,
    pub(crate) cleaning: Vec<String>,
    pub(crate) notes: Vec<String>,
}

pub(crate) fn invalid(e: ForecastError) -> PlatformError {
    PlatformError::Invalid(e.to_string())
}

pub(crate) fn local(ts: i64, tz: Tz) -> NaiveDateTime {
    DateTime::from_timestamp_millis(ts)
        .expect("timestamp in range")
        .with_timezone(&tz)
        .naive_local()
}

/// Holiday calendar of a time zone: the Chinese calendar (法定节假日 and 调休) for zones in
/// mainland China, none elsewhere.
pub(crate) fn calendar_of(tz: Tz) -> (Option<HolidayCalendar>, &'static str) {
    let name = tz.name();
    if matches!(
        name,
        "Asia/Shanghai" | "Asia/Chongqing" | "Asia/Harbin" | "Asia/Urumqi" | "PRC"
    ) {
        (Some(HolidayCalendar::china()), "cn")
    } else {
        (None, "none")
    }
}

impl Platform {
    /// Forecasts a meter, or every meter of a node's subtree summed bottom-up per carrier.
    pub fn forecast(&self, req: &ForecastRequest) -> Result<ForecastAnswer, PlatformError> {
        if req.horizon != 24 && req.horizon != 168 {
            return Err(PlatformError::Invalid(format!(
                "horizon: {} hours is not offered (expected 24 or 168)",
                req.horizon
            )));
        }
        // The meters, their time zone and their series.
        let (target_id, kind, tz, meters): (String, &str, Tz, Vec<MeterSpec>) = {
            let registry = self.registry.read();
            let tree = registry.tree();
            match &req.target {
                Target::Meter(id) => {
                    let m = tree
                        .meter(id)
                        .ok_or_else(|| PlatformError::NotFound(format!("meter '{id}'")))?;
                    (
                        id.clone(),
                        "meter",
                        tree.timezone_of_node(&m.node),
                        vec![m.clone()],
                    )
                }
                Target::Node(id) => {
                    if tree.node(id).is_none() {
                        return Err(PlatformError::NotFound(format!("node '{id}'")));
                    }
                    let meters = tree
                        .subtree_meters(id)
                        .into_iter()
                        .filter(|m| m.carrier.is_additive())
                        .filter(|m| req.carrier.is_none_or(|c| m.carrier == c))
                        .cloned()
                        .collect();
                    (id.clone(), "node", tree.timezone_of_node(id), meters)
                }
            }
        };
        let to = match req.to {
            Some(to) => to.div_euclid(HOUR_MS) * HOUR_MS,
            None => {
                let mut last: Option<i64> = None;
                for m in &meters {
                    let Some(s) = self.registry.read().series_of(&m.id) else {
                        continue;
                    };
                    if let Some((ts, _)) = self.store.last_point(s.quantity)? {
                        last = Some(last.map_or(ts, |l: i64| l.max(ts)));
                    }
                }
                let last = last.ok_or_else(|| {
                    PlatformError::Invalid(format!(
                        "{kind} '{target_id}' has no stored data to forecast from"
                    ))
                })?;
                // The hour after the hour bucket holding the last stored point.
                last.div_euclid(HOUR_MS) * HOUR_MS + HOUR_MS
            }
        };
        let from = match req.from {
            Some(from) => from.div_euclid(HOUR_MS) * HOUR_MS,
            None => to - DEFAULT_HISTORY_HOURS * HOUR_MS,
        };
        if from >= to {
            return Err(PlatformError::Invalid(
                "from: the history start must be earlier than 'to'".into(),
            ));
        }
        if to - from > MAX_HISTORY_DAYS * 24 * HOUR_MS {
            return Err(PlatformError::Invalid(format!(
                "from/to: the history may span at most {MAX_HISTORY_DAYS} days (the ridge uses up to its last 52 weeks, MSTL and gbm its last 12)"
            )));
        }
        let (cal, cal_name) = calendar_of(tz);
        let origin = local(to, tz);
        let weather = match &req.weather {
            Some(w) => Some(self.weather_grid(w, from, to, req.horizon, tz)?),
            None => None,
        };
        // The forecast hours must be covered, whatever the meters' histories are.
        if let Some(g) = &weather {
            g.covariate(origin)?;
        }
        let ctx = Ctx {
            from,
            to,
            origin,
            tz,
            horizon: req.horizon,
            calendar: cal.as_ref(),
            weather: weather.as_ref(),
        };
        let hours = |p10: &[f64], p50: &[f64], p90: &[f64]| -> Vec<ForecastHour> {
            (0..p50.len())
                .map(|i| {
                    let ts = to + i as i64 * HOUR_MS;
                    ForecastHour {
                        start: shulv_model::format_local(ts, tz),
                        ts,
                        p10: p10[i],
                        p50: p50[i],
                        p90: p90[i],
                    }
                })
                .collect()
        };
        let mut series = Vec::new();
        let mut skipped = Vec::new();
        let method;
        match &req.target {
            Target::Meter(id) => {
                let m = &meters[0];
                let y = self.meter_history(id, &ctx)?;
                let run = run_meter(&y, req.model, &ctx, true)?;
                series.push(ForecastSeries {
                    carrier: m.carrier,
                    unit: m.quantity_unit().to_string(),
                    model: run.kind.name().into(),
                    settings: Some(run.settings),
                    selection: run.selection,
                    hours: hours(&run.p10, &run.p50, &run.p90),
                    cleaning: run.cleaning,
                    notes: run.notes,
                    meters: Vec::new(),
                });
                method = format!(
                    "hourly sums of the meter's quantity series (store rollups) from {} to {}, cleaned, forecast with {}{}",
                    shulv_model::format_local(from, tz),
                    shulv_model::format_local(to, tz),
                    req.model.name(),
                    if req.model == ModelKind::Auto {
                        " (the candidate with the least MAE on 28 daily origins before the forecast start)"
                    } else {
                        ""
                    }
                );
            }
            Target::Node(_) => {
                let parts = self.node_forecast(&meters, req, &ctx)?;
                skipped = parts.1;
                for (carrier, unit, p, group_notes, selection, comps) in parts.0 {
                    let first = comps[0].model.clone();
                    let model = if comps.iter().all(|c| c.model == first) {
                        first
                    } else {
                        "mixed".into()
                    };
                    series.push(ForecastSeries {
                        carrier,
                        unit: unit.to_string(),
                        model,
                        settings: None,
                        selection,
                        hours: hours(&p[0], &p[1], &p[2]),
                        cleaning: Vec::new(),
                        notes: group_notes,
                        meters: comps,
                    });
                }
                let spread = match req.intervals {
                    NodeIntervals::Summed => "P10/P90 = that P50 minus/plus the spread (P50 − P10, P90 − P50) of a forecast of the node's summed series with the same model, which carries the errors the meters make together",
                    NodeIntervals::Independent => "P10 = P50 − sqrt(Σ(P50ᵢ − P10ᵢ)²) and P90 = P50 + sqrt(Σ(P90ᵢ − P50ᵢ)²), which assumes independent meter errors and understates the spread when meters err together",
                    NodeIntervals::Correlated => "P10 = P50 − sqrt(Σᵢⱼ ρᵢⱼ (P50ᵢ − P10ᵢ)(P50ⱼ − P10ⱼ)) and P90 likewise, with ρᵢⱼ the correlation (negative taken as 0) of meters i and j's week-over-week changes over the 4 weeks before the forecast, so meters that move together widen the node's interval",
                };
                method = format!(
                    "bottom-up (自下而上): each meter of the subtree forecast on its hourly sums from {} to {} ({}{}), converted to its carrier's unit; per carrier P50 = the sum of the meters' P50 (so the node's P50 equals the sum of its meters'); quantiles do not add, so {spread}",
                    shulv_model::format_local(from, tz),
                    shulv_model::format_local(to, tz),
                    req.model.name(),
                    if req.model == ModelKind::Auto {
                        "; auto: one choice per carrier by the rolling-origin backtest of the node's summed series, then that model on every meter"
                    } else {
                        ""
                    }
                );
            }
        }
        let weather = weather.map(|g| {
            let mut used = g.used;
            used.carriers = series
                .iter()
                .map(|s| s.carrier)
                .filter(|&c| kind == "meter" || follows_weather(c))
                .collect();
            used
        });
        let mut method = method;
        if let Some(w) = &weather {
            method.push_str(&format!(
                "; covariate {}: hourly means of the temperature meter{}, {} weather for the forecast hours{}",
                w.covariate,
                if w.forecast_meter.is_some() { "s" } else { "" },
                w.horizon_weather,
                if kind == "node" {
                    "; offered to the electricity and heat meters"
                } else {
                    ""
                },
            ));
            if req.model == ModelKind::Auto {
                method.push_str("; the automatic choice's origins use observed temperatures");
            }
        }
        Ok(ForecastAnswer {
            id: None,
            target: target_id,
            target_kind: kind.into(),
            timezone: tz.name().into(),
            history_from: shulv_model::format_local(from, tz),
            history_to: shulv_model::format_local(to, tz),
            horizon: req.horizon,
            model_requested: req.model.name().into(),
            calendar: cal_name.into(),
            intervals: (kind == "node").then(|| req.intervals.name().into()),
            method,
            weather,
            series,
            skipped,
        })
    }

    /// Reads and checks the temperatures of a forecast: the observed meter over the history
    /// (and the forecast hours without a forecast meter), the forecast meter over the horizon.
    fn weather_grid(
        &self,
        w: &WeatherRequest,
        from: i64,
        to: i64,
        horizon: usize,
        tz: Tz,
    ) -> Result<WeatherGrid, PlatformError> {
        self.check_temperature_meter(w.fields.observed, &w.observed)?;
        let end = to + horizon as i64 * HOUR_MS;
        let (observed, horizon_values) = match &w.forecast {
            Some(f) => {
                self.check_temperature_meter(w.fields.forecast, f)?;
                (
                    self.hourly_temperatures(&w.observed, from, to, tz)?,
                    self.hourly_temperatures(f, to, end, tz)?,
                )
            }
            None => {
                let all = self.hourly_temperatures(&w.observed, from, end, tz)?;
                (all.clone(), all)
            }
        };
        Ok(WeatherGrid::new(
            w,
            &observed,
            &horizon_values,
            local(from, tz),
            local(to, tz),
            horizon,
        ))
    }

    /// Hourly sums of a meter over the history, as local hours.
    fn meter_history(
        &self,
        id: &str,
        ctx: &Ctx<'_>,
    ) -> Result<Vec<(NaiveDateTime, f64)>, PlatformError> {
        let answer = self.query(&QuerySpec {
            target: Target::Meter(id.into()),
            from: ctx.from,
            to: ctx.to,
            bucket: Bucket::Hour,
            aggregate: Aggregate::Sum,
            carrier: None,
        })?;
        Ok(answer
            .series
            .into_iter()
            .flat_map(|s| s.points)
            .map(|p| (local(p.ts, ctx.tz), p.value))
            .collect())
    }

    /// Hourly sums of every meter of `meters` over the history, as local hours, in the order
    /// given: one read of the hour rollups for all of them (a query per meter would read the
    /// same rollup files once per meter).
    pub(crate) fn meters_history(
        &self,
        meters: &[MeterSpec],
        ctx: &Ctx<'_>,
    ) -> Result<Vec<Hourly>, PlatformError> {
        if !whole_hour_offsets(ctx.tz, ctx.from, ctx.to) {
            return meters
                .iter()
                .map(|m| self.meter_history(&m.id, ctx))
                .collect();
        }
        let ids: Vec<Option<u32>> = {
            let registry = self.registry.read();
            meters
                .iter()
                .map(|m| registry.series_of(&m.id).map(|s| s.quantity))
                .collect()
        };
        let wanted: Vec<u32> = ids.iter().flatten().copied().collect();
        let mut by_series: std::collections::HashMap<u32, std::collections::BTreeMap<i64, f64>> =
            std::collections::HashMap::new();
        for r in self.store.rollups(&wanted, Level::Hour, ctx.from, ctx.to)? {
            *by_series
                .entry(r.series)
                .or_default()
                .entry(r.bucket_start)
                .or_default() += r.sum;
        }
        Ok(ids
            .iter()
            .map(|id| {
                id.and_then(|s| by_series.remove(&s))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(ts, v)| (local(ts, ctx.tz), v))
                    .collect()
            })
            .collect())
    }
}
