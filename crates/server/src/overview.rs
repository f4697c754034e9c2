//! `GET /api/v1/overview`: what the console's overview needs beyond the query API — when the
//! data of a node's subtree was last reported, which meters stopped reporting, and the month's
//! maximum 15-minute demand (最大需量) of its electricity, the figure the bill charges
//! ([`shulv_platform::Platform::peak_demand`]).
//!
//! A meter counts as stopped when its newest stored quantity is older than the subtree's newest
//! reading (`as_of`) by more than four of its reading intervals and at least `stale_minutes`.
//! Activity meters (production output, value added) report daily or monthly and are left out.
//! Measuring against `as_of` rather than the clock keeps one late batch from flagging every
//! meter; `now_ms` is in the answer so the console can show how far `as_of` lags behind.

use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Datelike;
use serde::{Deserialize, Serialize};
use shulv_auth::Principal;
use shulv_model::Carrier;
use shulv_platform::{PeakDemand, Period};

use crate::access;
use crate::error::{ApiError, ErrorBody};
use crate::routes::blocking;
use crate::AppState;

/// Largest `stale_minutes`: a year.
const MAX_STALE_MINUTES: u32 = 525_600;

/// Query parameters of `/api/v1/overview`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct OverviewParams {
    /// The node (its whole subtree); default: the root of the caller's scope.
    pub node: Option<String>,
    /// Smallest silence that counts as stopped, in minutes (default 60, at most a year).
    #[param(minimum = 0, maximum = 525_600)]
    pub stale_minutes: Option<u32>,
    /// Month of the peak demand, `YYYY-MM` in the node's time zone; default: the month of
    /// `as_of`.
    pub month: Option<String>,
}

/// A meter that stopped reporting.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StaleMeter {
    /// Meter id.
    pub meter: String,
    /// Meter name.
    pub name: String,
    /// Node of the meter.
    pub node: String,
    /// Energy carrier, e.g. `electricity`.
    #[schema(value_type = String)]
    pub carrier: Carrier,
    /// Newest stored reading (ms UTC); `null` if the meter never reported.
    pub last_ms: Option<i64>,
}

/// Answer of `/api/v1/overview`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Overview {
    /// The node.
    pub node: String,
    /// Its name.
    pub name: String,
    /// Its IANA time zone.
    pub timezone: String,
    /// Newest reading of any meter of the subtree (ms UTC); `null` without data.
    pub as_of_ms: Option<i64>,
    /// The server's clock (ms UTC).
    pub now_ms: i64,
    /// Meters of the subtree (activity meters included).
    pub meters: usize,
    /// Meters checked for silence (activity meters excluded).
    pub monitored: usize,
    /// How many meters stopped reporting.
    pub stale_count: usize,
    /// Meters that stopped reporting, longest silence first (empty for aggregates-only
    /// credentials, which see no single meter).
    pub stale: Vec<StaleMeter>,
    /// Maximum 15-minute demand of the subtree's electricity in `month` (or the month of
    /// `as_of`), equal to the billed maximum demand; `null` without data and no `month`.
    pub peak: Option<PeakDemand>,
}

fn is_activity(carrier: Carrier) -> bool {
    matches!(carrier, Carrier::ProductionOutput | Carrier::ValueAdded)
}

/// Freshness of a node's data (the newest reading, the meters that stopped reporting) and its
/// month's maximum 15-minute electricity demand.
#[utoipa::path(get, path = "/api/v1/overview", tag = "query", params(OverviewParams),
    responses((status = 200, body = Overview),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn overview(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<OverviewParams>,
) -> Result<Json<Overview>, ApiError> {
    let stale_minutes = params.stale_minutes.unwrap_or(60);
    if stale_minutes > MAX_STALE_MINUTES {
        return Err(ApiError::bad_request(format!(
            "stale_minutes: {stale_minutes} is more than a year ({MAX_STALE_MINUTES} minutes)"
        )));
    }
    let stale_ms = i64::from(stale_minutes) * 60_000;
    let month = match params.month.as_deref() {
        None => None,
        Some(text) => match text.parse::<Period>() {
            Ok(p @ Period::Month(..)) => Some(p),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "month: '{text}' is not a month (YYYY-MM)"
                )))
            }
        },
    };
    let answer = blocking(&state.platform, move |p| {
        let ((node, tz), meters) = p.with_tree(|t| {
            let id = match (&params.node, principal.scope.node()) {
                (Some(id), _) => id.clone(),
                (None, Some(root)) => root.to_string(),
                (None, None) => t.roots().first().map(|n| n.id.clone()).unwrap_or_default(),
            };
            if !access::node_in_scope(t, &principal.scope, &id) {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("node '{id}' not found"),
                ));
            }
            let node = t.node(&id).cloned().expect("checked above");
            let tz = t.timezone_of_node(&id);
            let meters: Vec<_> = t.subtree_meters(&id).into_iter().cloned().collect();
            Ok(((node, tz), meters))
        })?;
        let mut last = Vec::with_capacity(meters.len());
        for m in &meters {
            last.push(p.last_reading_ms(&m.id)?);
        }
        let as_of_ms = last.iter().flatten().copied().max();
        let mut stale = Vec::new();
        let mut monitored = 0;
        for (m, last_ms) in meters.iter().zip(&last) {
            if is_activity(m.carrier) {
                continue;
            }
            monitored += 1;
            let allowed = stale_ms.max(4 * i64::from(m.effective_interval_s()) * 1000);
            let silent = match (as_of_ms, last_ms) {
                (Some(as_of), Some(l)) => as_of - l > allowed,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if silent {
                stale.push(StaleMeter {
                    meter: m.id.clone(),
                    name: m.name.clone(),
                    node: m.node.clone(),
                    carrier: m.carrier,
                    last_ms: *last_ms,
                });
            }
        }
        stale.sort_by_key(|s| (s.last_ms, s.meter.clone()));
        let month = month.or_else(|| {
            let local = chrono::DateTime::from_timestamp_millis(as_of_ms?)?.with_timezone(&tz);
            Some(Period::Month(local.year(), local.month()))
        });
        let peak = match month {
            Some(m) => Some(p.peak_demand(&node.id, m)?),
            None => None,
        };
        let stale_count = stale.len();
        if principal.aggregates_only {
            stale.clear();
        }
        Ok(Overview {
            node: node.id,
            name: node.name,
            timezone: tz.name().to_string(),
            as_of_ms,
            now_ms: chrono::Utc::now().timestamp_millis(),
            meters: meters.len(),
            monitored,
            stale_count,
            stale,
            peak,
        })
    })
    .await?;
    Ok(Json(answer))
}
