//! `/api/v1/query`: a meter or a node subtree over a range, in calendar buckets, with units.

use std::time::Instant;

use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use shulv_auth::Principal;
use shulv_model::{Bucket, Carrier};
use shulv_platform::{Aggregate, QueryAnswer, QuerySpec, Target};

use crate::access;
use crate::error::{ApiError, ErrorBody};
use crate::routes::blocking;
use crate::AppState;

/// Query parameters of `/api/v1/query`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct QueryParams {
    /// A meter id (exclusive with `node`).
    pub meter: Option<String>,
    /// A node id: roll-up of every meter below it, by carrier (exclusive with `meter`).
    pub node: Option<String>,
    /// Start: RFC 3339, `YYYY-MM-DD[ HH:MM]` in the target's time zone, or epoch ms.
    pub from: String,
    /// End (exclusive), same forms as `from`.
    pub to: String,
    /// `15m`, `hour`, `day`, `week`, `month` or `year` (default `hour`).
    pub bucket: Option<String>,
    /// `sum` (default), `mean`, `min`, `max` or `last`.
    pub agg: Option<String>,
    /// Only this carrier (node queries), e.g. `electricity`.
    pub carrier: Option<String>,
}

/// Time series of a meter or of a node's subtree, in calendar buckets of the target's time zone,
/// with units.
#[utoipa::path(get, path = "/api/v1/query", tag = "query", params(QueryParams),
    responses((status = 200, body = QueryAnswer),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn query(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<QueryParams>,
) -> Result<Json<QueryAnswer>, ApiError> {
    let started = Instant::now();
    let target = match (params.meter, params.node) {
        (Some(m), None) => Target::Meter(m),
        (None, Some(n)) => Target::Node(n),
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of 'meter' or 'node'",
            ))
        }
    };
    let bucket: Bucket = params
        .bucket
        .as_deref()
        .unwrap_or("hour")
        .parse()
        .map_err(|e| ApiError::bad_request(format!("bucket: {e}")))?;
    let aggregate: Aggregate = params
        .agg
        .as_deref()
        .unwrap_or("sum")
        .parse()
        .map_err(|e: String| ApiError::bad_request(format!("agg: {e}")))?;
    let carrier: Option<Carrier> = params
        .carrier
        .as_deref()
        .map(|c| c.parse())
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("carrier: {e}")))?;
    if principal.aggregates_only && matches!(target, Target::Meter(_)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this credential may query nodes (aggregates) only, not individual meters",
        ));
    }
    let aggregates_only = principal.aggregates_only;
    let answer = blocking(&state.platform, move |p| {
        let visible = p.with_tree(|t| match &target {
            Target::Meter(id) => access::meter_in_scope(t, &principal.scope, id),
            Target::Node(id) => access::node_in_scope(t, &principal.scope, id),
        });
        if !visible {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                match &target {
                    Target::Meter(id) => format!("meter '{id}' not found"),
                    Target::Node(id) => format!("node '{id}' not found"),
                },
            ));
        }
        let tz = p.with_tree(|t| match &target {
            Target::Meter(id) => t.meter(id).map(|m| t.timezone_of_node(&m.node)),
            Target::Node(id) => t.node(id).map(|_| t.timezone_of_node(id)),
        });
        let tz = tz.unwrap_or(chrono_tz::Asia::Shanghai);
        let from = crate::instant::parse("from", &params.from, tz)?;
        let to = crate::instant::parse("to", &params.to, tz)?;
        let mut answer = p.query(&QuerySpec {
            target,
            from,
            to,
            bucket,
            aggregate,
            carrier,
        })?;
        if aggregates_only {
            for s in &mut answer.series {
                s.meters.clear();
            }
        }
        Ok(answer)
    })
    .await?;
    state.metrics.queried(started.elapsed());
    Ok(Json(answer))
}
