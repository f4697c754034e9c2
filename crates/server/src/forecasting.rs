//! Forecast route (用能预测): P10/P50/P90 of a meter or node from its stored hourly data.

use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use shulv_auth::Principal;
use shulv_platform::{ForecastAnswer, ForecastRequest, ModelKind, Target};

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
    /// `auto` (default), `naive24` (`naive`), `naive168`, `mstl`, `ridge` or `ensemble`.
    pub model: Option<String>,
    /// Start of the history: RFC 3339, `YYYY-MM-DD[ HH:MM]` in the target's time zone, or
    /// epoch ms (default: 12 weeks before `to`).
    pub from: Option<String>,
    /// End of the history (exclusive) and first forecast hour, same forms (default: the hour
    /// after the last stored hour).
    pub to: Option<String>,
}

/// Forecast of a meter or of a node's subtree from the stored hourly sums, with P10/P50/P90 per
/// hour, the model and its settings, and the cleaning notes. A node is forecast bottom-up: each
/// meter on its own series, P50 summed per carrier, P10/P90 combined by summing the squared
/// deviations from P50 (assumes independent meter errors; see `method` in the answer).
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
    if principal.aggregates_only && matches!(target, Target::Meter(_)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this credential may forecast nodes (aggregates) only, not individual meters",
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
        let instant = |name: &str, v: Option<&String>| {
            v.map(|s| shulv_model::parse_instant(s, tz))
                .transpose()
                .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
        };
        let from = instant("from", params.from.as_ref())?;
        let to = instant("to", params.to.as_ref())?;
        let mut answer = p.forecast(&ForecastRequest {
            target,
            horizon,
            model,
            from,
            to,
        })?;
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
