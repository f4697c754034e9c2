//! Forecasts (用能预测) of stored data: the hourly quantity series of a meter, or of every meter
//! of a node's subtree, read from the store's hourly rollups, cleaned and forecast with
//! `shulv-forecast` (P10/P50/P90).
//!
//! A node's forecast is bottom-up (自下而上): every meter of the subtree is forecast on its own
//! series, converted to its carrier's unit, and the P50s are summed per carrier, so the node's
//! P50 equals the sum of its meters' P50 exactly. Quantiles do not add (the sum of the meters'
//! P10s is not the P10 of the sum), so the node's P10/P90 are the summed P50 minus/plus the
//! root of the summed squared deviations of the meters' P10/P90 from their P50, which assumes
//! independent meter errors (it understates the spread when meters err together).

use chrono::{DateTime, Duration, NaiveDateTime};
use chrono_tz::Tz;
use serde::Serialize;
use shulv_forecast::{
    choose_model, clean, forecast, BacktestSpec, ForecastError, HourlySeries, Input, ModelKind,
    OriginPlan, Selection,
};
use shulv_model::{Bucket, Carrier, HolidayCalendar, MeterSpec, Unit};

use crate::query::group_unit;
use crate::{Aggregate, Platform, PlatformError, QuerySpec, Target};

/// Default history: the 12 weeks before the last stored hour.
pub const DEFAULT_HISTORY_HOURS: i64 = shulv_forecast::model::WINDOW_HOURS as i64;
/// Longest history a request may name (the models use the trailing 12 weeks of it).
pub const MAX_HISTORY_DAYS: i64 = 366;
/// A meter whose data ends more than this many hours before the forecast start is skipped.
pub const MAX_LEAD_HOURS: usize = 168;

const HOUR_MS: i64 = 3_600_000;

/// A carrier group of a node: carrier, unit, meters with their conversion factor.
type Group<'a> = (Carrier, Unit, Vec<(&'a MeterSpec, f64)>);

/// What a forecast asks for.
#[derive(Clone, Debug)]
pub struct ForecastRequest {
    /// A meter or a node.
    pub target: Target,
    /// Hours to forecast (24: day-ahead, 168: week-ahead).
    pub horizon: usize,
    /// Model; [`ModelKind::Auto`] chooses by rolling-origin backtest.
    pub model: ModelKind,
    /// Start of the history (ms UTC); default `to` − 12 weeks.
    pub from: Option<i64>,
    /// End of the history, exclusive (ms UTC), which is also the first forecast hour; default
    /// the hour after the last stored hour of the target.
    pub to: Option<i64>,
}

/// A forecast of a meter or node.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ForecastAnswer {
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
    /// How the numbers were made (and, for nodes, how meters are combined).
    pub method: String,
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
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
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
struct MeterRun {
    kind: ModelKind,
    settings: String,
    selection: Option<Selection>,
    p10: Vec<f64>,
    p50: Vec<f64>,
    p90: Vec<f64>,
    cleaning: Vec<String>,
    notes: Vec<String>,
}

fn invalid(e: ForecastError) -> PlatformError {
    PlatformError::Invalid(e.to_string())
}

fn local(ts: i64, tz: Tz) -> NaiveDateTime {
    DateTime::from_timestamp_millis(ts)
        .expect("timestamp in range")
        .with_timezone(&tz)
        .naive_local()
}

/// Holiday calendar of a time zone: the Chinese calendar (法定节假日 and 调休) for zones in
/// mainland China, none elsewhere.
fn calendar_of(tz: Tz) -> (Option<HolidayCalendar>, &'static str) {
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
                "from/to: the history may span at most {MAX_HISTORY_DAYS} days (the models use its last 12 weeks)"
            )));
        }
        let (cal, cal_name) = calendar_of(tz);
        let origin = local(to, tz);
        let ctx = Ctx {
            from,
            to,
            origin,
            tz,
            horizon: req.horizon,
            calendar: cal.as_ref(),
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
                let run = run_meter(&y, req.model, &ctx)?;
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
            Target::Node(node) => {
                // Carrier groups as in the node query: (carrier, unit) with the meters converted.
                let mut groups: Vec<Group> = Vec::new();
                for m in &meters {
                    let unit = m.quantity_unit();
                    let target_unit = group_unit(m.carrier, unit);
                    let factor = unit.convert(1.0, target_unit).unwrap_or(1.0);
                    match groups
                        .iter_mut()
                        .find(|g| g.0 == m.carrier && g.1 == target_unit)
                    {
                        Some(g) => g.2.push((m, factor)),
                        None => groups.push((m.carrier, target_unit, vec![(m, factor)])),
                    }
                }
                groups.sort_by_key(|g| (g.0.to_string(), g.1.to_string()));
                for (carrier, unit, members) in groups {
                    // With `auto`, one choice per carrier on the carrier's summed series, then
                    // that model on every meter (a backtest per meter would take minutes on a
                    // park).
                    let mut selection = None;
                    let mut kind = req.model;
                    let mut group_notes = Vec::new();
                    if kind == ModelKind::Auto {
                        match self.node_history(node, carrier, unit, &ctx) {
                            Ok(y) => match select(&y, &ctx) {
                                Ok(sel) => {
                                    kind = sel.chosen;
                                    group_notes.push(format!(
                                        "model chosen on the summed {carrier} series of the node: {}",
                                        kind.name()
                                    ));
                                    selection = Some(sel);
                                }
                                Err(e) => {
                                    kind = ModelKind::Naive24;
                                    group_notes.push(format!(
                                        "automatic choice not possible ({e}); naive24 used"
                                    ));
                                }
                            },
                            Err(e) => {
                                kind = ModelKind::Naive24;
                                group_notes.push(format!(
                                    "automatic choice not possible ({e}); naive24 used"
                                ));
                            }
                        }
                    }
                    let runs = self.run_meters(&members, kind, &ctx);
                    let mut comps: Vec<MeterComponent> = Vec::new();
                    for ((m, factor), run) in members.iter().zip(runs) {
                        match run {
                            Ok(r) => {
                                let scale = |v: &[f64]| v.iter().map(|x| x * factor).collect();
                                let mut notes = r.cleaning;
                                notes.extend(r.notes);
                                comps.push(MeterComponent {
                                    meter: m.id.clone(),
                                    model: r.kind.name().into(),
                                    settings: r.settings,
                                    p10: scale(&r.p10),
                                    p50: scale(&r.p50),
                                    p90: scale(&r.p90),
                                    notes,
                                });
                            }
                            Err(e) => skipped.push(SkippedMeter {
                                meter: m.id.clone(),
                                carrier,
                                reason: e.to_string(),
                            }),
                        }
                    }
                    if comps.is_empty() {
                        continue;
                    }
                    let h = req.horizon;
                    let mut p10 = vec![0.0; h];
                    let mut p50 = vec![0.0; h];
                    let mut p90 = vec![0.0; h];
                    for i in 0..h {
                        let mut lo = 0.0;
                        let mut hi = 0.0;
                        for c in &comps {
                            p50[i] += c.p50[i];
                            lo += (c.p50[i] - c.p10[i]).max(0.0).powi(2);
                            hi += (c.p90[i] - c.p50[i]).max(0.0).powi(2);
                        }
                        p10[i] = p50[i] - lo.sqrt();
                        p90[i] = p50[i] + hi.sqrt();
                    }
                    let first = comps[0].model.clone();
                    let model = if comps.iter().all(|c| c.model == first) {
                        first
                    } else {
                        "mixed".into()
                    };
                    let fallbacks = comps.iter().filter(|c| c.model != kind.name()).count();
                    if fallbacks > 0 {
                        group_notes.push(format!(
                            "{fallbacks} of {} meters fell back to another model (see meters)",
                            comps.len()
                        ));
                    }
                    series.push(ForecastSeries {
                        carrier,
                        unit: unit.to_string(),
                        model,
                        settings: None,
                        selection,
                        hours: hours(&p10, &p50, &p90),
                        cleaning: Vec::new(),
                        notes: group_notes,
                        meters: comps,
                    });
                }
                method = format!(
                    "bottom-up (自下而上): each meter of the subtree forecast on its hourly sums from {} to {} ({}{}), converted to its carrier's unit; per carrier P50 = the sum of the meters' P50 (so the node's P50 equals the sum of its meters'); quantiles do not add, so P10 = P50 − sqrt(Σ(P50ᵢ − P10ᵢ)²) and P90 = P50 + sqrt(Σ(P90ᵢ − P50ᵢ)²), which assumes independent meter errors and understates the spread when meters err together",
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
        Ok(ForecastAnswer {
            target: target_id,
            target_kind: kind.into(),
            timezone: tz.name().into(),
            history_from: shulv_model::format_local(from, tz),
            history_to: shulv_model::format_local(to, tz),
            horizon: req.horizon,
            model_requested: req.model.name().into(),
            calendar: cal_name.into(),
            method,
            series,
            skipped,
        })
    }

    /// Hourly sums of a meter over the history, as local hours.
    fn meter_history(
        &self,
        id: &str,
        ctx: &Ctx,
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

    /// Hourly sums of a node's meters of one carrier and unit group.
    fn node_history(
        &self,
        node: &str,
        carrier: Carrier,
        unit: Unit,
        ctx: &Ctx,
    ) -> Result<Vec<(NaiveDateTime, f64)>, PlatformError> {
        let answer = self.query(&QuerySpec {
            target: Target::Node(node.into()),
            from: ctx.from,
            to: ctx.to,
            bucket: Bucket::Hour,
            aggregate: Aggregate::Sum,
            carrier: Some(carrier),
        })?;
        Ok(answer
            .series
            .into_iter()
            .filter(|s| s.unit == unit.to_string())
            .flat_map(|s| s.points)
            .map(|p| (local(p.ts, ctx.tz), p.value))
            .collect())
    }

    /// Forecasts meters with one model on up to 4 threads, in the order given.
    fn run_meters(
        &self,
        members: &[(&MeterSpec, f64)],
        kind: ModelKind,
        ctx: &Ctx,
    ) -> Vec<Result<MeterRun, PlatformError>> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4)
            .min(members.len().max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut out: Vec<Option<Result<MeterRun, PlatformError>>> =
            (0..members.len()).map(|_| None).collect();
        let results = parking_lot::Mutex::new(&mut out);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= members.len() {
                        break;
                    }
                    let r = self
                        .meter_history(&members[i].0.id, ctx)
                        .and_then(|y| run_meter(&y, kind, ctx));
                    results.lock()[i] = Some(r);
                });
            }
        });
        out.into_iter()
            .map(|r| r.expect("every meter run"))
            .collect()
    }
}

/// Settings shared by the meters of one request.
struct Ctx<'a> {
    from: i64,
    to: i64,
    /// Local time of the first forecast hour.
    origin: NaiveDateTime,
    tz: Tz,
    horizon: usize,
    calendar: Option<&'a HolidayCalendar>,
}

/// Cleans hourly readings and the hours between their end and the forecast start (the lead).
fn prepare(
    y: &[(NaiveDateTime, f64)],
    ctx: &Ctx,
) -> Result<(HourlySeries, Vec<String>, usize), PlatformError> {
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
    Ok((series, report.notes, lead))
}

fn spec(ctx: &Ctx, lead: usize) -> BacktestSpec {
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
fn select(y: &[(NaiveDateTime, f64)], ctx: &Ctx) -> Result<Selection, PlatformError> {
    let (series, _, lead) = prepare(y, ctx)?;
    choose_model(&series, series.len() + lead, &spec(ctx, lead)).map_err(invalid)
}

/// Forecasts one meter's hourly readings with `kind` (auto: chosen on this series); a concrete
/// model that lacks history falls back to the seasonal naive 24 h with a note.
fn run_meter(
    y: &[(NaiveDateTime, f64)],
    kind: ModelKind,
    ctx: &Ctx,
) -> Result<MeterRun, PlatformError> {
    if y.is_empty() {
        return Err(PlatformError::Invalid(format!(
            "no stored data between {} and {}",
            shulv_model::format_local(ctx.from, ctx.tz),
            shulv_model::format_local(ctx.to, ctx.tz)
        )));
    }
    let (series, cleaning, lead) = prepare(y, ctx)?;
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
    let input = Input {
        start: series.time(start),
        history: &series.values[start..],
        covariates: &[],
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
