//! Forecast routes (用能预测): P10/P50/P90 of a meter or node from its stored hourly data,
//! stored as issued when a role that may change data asks for it, and stored forecasts
//! compared with what happened.

use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use shulv_auth::Principal;
use shulv_platform::{
    ForecastAnswer, ForecastComparison, ForecastRequest, ForecastSummary, ModelKind, NodeIntervals,
    StoredForecast, Target, WeatherFields, WeatherRequest,
};

use crate::access;
use crate::error::{ApiError, ErrorBody};
use crate::routes::blocking;
use crate::AppState;

/// Query parameters of `/api/v1/forecast`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ForecastParams {
    /// A meter id (exclusive with `node`).
    pub meter: Option<String>,
    /// A node id: bottom-up sum of the forecasts of every meter below it, by carrier.
    pub node: Option<String>,
    /// Hours to forecast: `24` (day-ahead, default) or `168` (week-ahead).
    pub horizon: Option<String>,
    /// `auto` (default), `naive24` (`naive`), `naive168`, `mstl`, `ridge`, `ensemble` or `gbm`.
    pub model: Option<String>,
    /// Start of the history: RFC 3339, `YYYY-MM-DD[ HH:MM]` in the target's time zone, or
    /// epoch ms (default: 52 weeks before `to`).
    pub from: Option<String>,
    /// End of the history (exclusive) and first forecast hour, same forms (default: the hour
    /// after the last stored hour). A `to` in the past issues the forecast as of that time, to
    /// compare it with what happened.
    pub to: Option<String>,
    /// Node forecasts: `independent` (default: root sum of squares of the meters' deviations),
    /// `correlated` (the deviations combined with the correlation of the meters' week-over-week
    /// changes) or `summed` (the spread of a forecast of the node's summed series around the
    /// bottom-up P50).
    pub intervals: Option<String>,
    /// Keep the forecast (default `false`), to compare it later with what happened; its id is
    /// in the answer. Needs a role that may change data (admin, operator): a read-only role
    /// asking for it gets 403.
    pub store: Option<bool>,
    /// Air-temperature meter (carrier `air_temperature`) whose hourly means over the history
    /// are a covariate of the forecast (a node: of its electricity and heat meters). Without
    /// `temperature_forecast_meter` it must also cover the forecast hours, and the answer says
    /// their weather was `observed` (optimistic).
    pub temperature_meter: Option<String>,
    /// Air-temperature meter holding the forecast weather of the forecast hours (needs
    /// `temperature_meter`).
    pub temperature_forecast_meter: Option<String>,
}

/// Forecast of a meter or of a node's subtree from the stored hourly sums, with P10/P50/P90 per
/// hour, the model and its settings, and the cleaning notes. A node is forecast bottom-up: each
/// meter on its own series, P50 summed per carrier, P10/P90 by root sum of squares of the
/// meters' deviations (or, with `intervals=correlated`, weighted by the correlation of their
/// recent week-over-week changes; with `intervals=summed`, from the spread of the node's summed
/// series; see `method`).
/// The forecast is stored only with `store=true` (`id` in the answer), which needs a role that
/// may change data; it is kept for the server's forecast retention (90 days by default).
#[utoipa::path(get, path = "/api/v1/forecast", tag = "forecast", params(ForecastParams),
    responses((status = 200, body = ForecastAnswer),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn forecast(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<ForecastParams>,
) -> Result<Json<ForecastAnswer>, ApiError> {
    let target = match (params.meter, params.node) {
        (Some(m), None) => Target::Meter(m),
        (None, Some(n)) => Target::Node(n),
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of 'meter' or 'node'",
            ))
        }
    };
    let horizon = match params.horizon.as_deref().unwrap_or("24") {
        "24" => 24,
        "168" => 168,
        other => {
            return Err(ApiError::bad_request(format!(
                "horizon: {other:?} is not offered (expected 24 or 168)"
            )))
        }
    };
    let model = ModelKind::parse(params.model.as_deref().unwrap_or("auto"))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let intervals = NodeIntervals::parse(params.intervals.as_deref().unwrap_or("independent"))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let store = params.store.unwrap_or(false);
    if store && !principal.role.can_manage() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "store=true keeps the forecast on the server, which needs a role that may change data (admin or operator), not '{}'; ask without store to get the forecast without keeping it",
                principal.role
            ),
        ));
    }
    if principal.aggregates_only && matches!(target, Target::Meter(_)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this credential may forecast nodes (aggregates) only, not individual meters",
        ));
    }
    let weather = match (params.temperature_meter, params.temperature_forecast_meter) {
        (Some(observed), forecast) => Some(WeatherRequest {
            observed,
            forecast,
            fields: WeatherFields::FORECAST,
        }),
        (None, None) => None,
        (None, Some(_)) => {
            return Err(ApiError::bad_request(
                "temperature_forecast_meter needs temperature_meter (the observed temperatures of the history)",
            ))
        }
    };
    if principal.aggregates_only && weather.is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this credential may read aggregates only, not a temperature meter",
        ));
    }
    let aggregates_only = principal.aggregates_only;
    let answer = blocking(&state.platform, move |p| {
        let tz = p.with_tree(|t| match &target {
            Target::Meter(id) => access::meter_in_scope(t, &principal.scope, id)
                .then(|| t.meter(id).map(|m| t.timezone_of_node(&m.node)))
                .flatten(),
            Target::Node(id) => {
                access::node_in_scope(t, &principal.scope, id).then(|| t.timezone_of_node(id))
            }
        });
        let Some(tz) = tz else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                match &target {
                    Target::Meter(id) => format!("meter '{id}' not found"),
                    Target::Node(id) => format!("node '{id}' not found"),
                },
            ));
        };
        let from = crate::instant::parse_opt("from", params.from.as_deref(), tz)?;
        let to = crate::instant::parse_opt("to", params.to.as_deref(), tz)?;
        if let Some(w) = &weather {
            let named = [
                ("temperature_meter", Some(&w.observed)),
                ("temperature_forecast_meter", w.forecast.as_ref()),
            ];
            for (param, id) in named {
                let Some(id) = id else { continue };
                if !p.with_tree(|t| access::meter_in_scope(t, &principal.scope, id)) {
                    return Err(ApiError::new(
                        StatusCode::NOT_FOUND,
                        format!("{param}: meter '{id}' not found"),
                    ));
                }
            }
        }
        let mut answer = p.forecast(&ForecastRequest {
            target,
            horizon,
            model,
            from,
            to,
            intervals,
            carrier: None,
            weather,
        })?;
        if store && !answer.series.is_empty() {
            answer.id = Some(p.store_forecast(&answer, &principal.actor())?);
        }
        if aggregates_only {
            for s in &mut answer.series {
                s.meters.clear();
            }
            for s in &mut answer.skipped {
                s.meter.clear();
            }
        }
        Ok(answer)
    })
    .await?;
    Ok(Json(answer))
}

/// True if `principal` may see forecasts of this target: in its scope, and a node when it may
/// see aggregates only.
fn visible(p: &shulv_platform::Platform, principal: &Principal, kind: &str, id: &str) -> bool {
    p.with_tree(|t| match kind {
        "meter" => !principal.aggregates_only && access::meter_in_scope(t, &principal.scope, id),
        _ => access::node_in_scope(t, &principal.scope, id),
    })
}

/// Query parameters of `/api/v1/forecasts`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// Only forecasts of this meter.
    pub meter: Option<String>,
    /// Only forecasts of this node (the node itself, not the nodes below it).
    pub node: Option<String>,
}

/// The stored forecasts the caller may see (of its scope; aggregates-only credentials: nodes
/// only), oldest first, without their hours.
#[utoipa::path(get, path = "/api/v1/forecasts", tag = "forecast", params(ListParams),
    responses((status = 200, body = Vec<ForecastSummary>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<ForecastSummary>>, ApiError> {
    let only = match (params.meter, params.node) {
        (Some(m), None) => Some(("meter", m)),
        (None, Some(n)) => Some(("node", n)),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_request(
                "give at most one of 'meter' or 'node'",
            ))
        }
    };
    let list = blocking(&state.platform, move |p| {
        if let Some((kind, id)) = &only {
            if !visible(p, &principal, kind, id) {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("{kind} '{id}' not found"),
                ));
            }
        }
        let all: Vec<StoredForecast> = p.stored_forecasts();
        Ok(all
            .iter()
            .filter(|f| {
                only.as_ref()
                    .is_none_or(|(k, id)| f.target_kind == *k && f.target == *id)
            })
            .filter(|f| visible(p, &principal, &f.target_kind, &f.target))
            .map(shulv_platform::summary)
            .collect())
    })
    .await?;
    Ok(Json(list))
}

/// A stored forecast against what happened: every hour with the actual hourly sum where the
/// store has one, and per carrier MAPE, WAPE, bias and P10–P90 coverage over the hours with
/// actuals (how many is in `hours_with_actuals`).
#[utoipa::path(get, path = "/api/v1/forecasts/{id}", tag = "forecast",
    params(("id" = String, Path, description = "Forecast id")),
    responses((status = 200, body = ForecastComparison), (status = 404, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<ForecastComparison>, ApiError> {
    let answer = blocking(&state.platform, move |p| {
        let not_found =
            || ApiError::new(StatusCode::NOT_FOUND, format!("forecast '{id}' not found"));
        let f = p.stored_forecast(&id).map_err(|_| not_found())?;
        if !visible(p, &principal, &f.target_kind, &f.target) {
            return Err(not_found());
        }
        Ok(p.compare_forecast(&id)?)
    })
    .await?;
    Ok(Json(answer))
}
