//! Field collectors' status: `shulv collect` posts its devices, gateways and queue
//! every 30 s to `POST /api/v1/collectors/{name}/status` with its write token; the server keeps
//! the latest report of each ([`book`]) and `GET /api/v1/collectors` shows them, with the
//! devices that stopped reporting and the collectors that fell silent.
//!
//! A device is *stopped* when, as of its collector's last report (the collector's clock, the
//! same as its `last_success_ms`), it has not been read for more than three poll periods and
//! more than two minutes (`stopped_minutes`; a device never read counts from the collector's
//! start). A collector is
//! *silent* when its last report reached the server more than two minutes ago.
//!
//! Scopes: a scoped credential may post only devices whose meters lie in its scope, and may not
//! replace a report posted under another scope. A reader sees the devices whose meters all lie
//! in its scope; devices with no meter and the MQTT gateways (whose meters come with the
//! messages) only with scope `*`; aggregates-only readers see no meter ids.

mod book;
mod report;

use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use shulv_auth::{Principal, Scope};

pub use book::Book;
use book::{Entry, KeepError, MAX_COLLECTORS};
pub use report::{CollectorReport, ReportedDevice, ReportedGateway, ReportedQueue};

use crate::access::{self, audit_entry, ClientIp};
use crate::error::{ApiError, ErrorBody};
use crate::routes::audit_failed;
use crate::AppState;

/// Largest body of a report (1 000 devices with their meters).
pub const MAX_REPORT_BODY_BYTES: usize = 4 * 1024 * 1024;
/// A collector whose last report is older than this is silent (it reports every 30 s).
const SILENT_MS: i64 = 120_000;
/// Largest `stopped_minutes`: a year.
const MAX_STOPPED_MINUTES: u32 = 525_600;

/// Query parameters of `GET /api/v1/collectors`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct CollectorsParams {
    /// Shortest silence of a device that counts as stopped, in minutes, if longer than three
    /// of its poll periods (default 2, at most a year).
    #[param(minimum = 0, maximum = 525_600)]
    pub stopped_minutes: Option<u32>,
}

/// A device as `GET /api/v1/collectors` shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeviceStatus {
    /// Device name.
    pub name: String,
    /// Channel it is read over.
    pub channel: String,
    /// Protocol of the channel.
    pub protocol: String,
    /// shulv meter ids its points feed (empty for aggregates-only readers).
    pub meters: Vec<String>,
    /// Poll period (ms).
    pub period_ms: i64,
    /// Last successful read (ms UTC, the collector's clock); `null` if none yet.
    pub last_success_ms: Option<i64>,
    /// Failed polls in a row at the last report.
    pub consecutive_failures: u32,
    /// The last error, with its point.
    pub last_error: Option<String>,
    /// Not read for more than three periods (and two minutes) as of the last report.
    pub stopped: bool,
}

/// One collector as `GET /api/v1/collectors` shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CollectorStatus {
    /// Collector name (`[collector] name` of its collect.toml).
    pub name: String,
    /// When its last report arrived (ms UTC, the server's clock).
    pub received_ms: i64,
    /// When it made the report (ms UTC, its clock).
    pub sent_ms: i64,
    /// When it started (ms UTC, its clock).
    pub started_ms: i64,
    /// Its last report is more than two minutes old.
    pub silent: bool,
    /// Devices of the report the caller may see.
    pub devices: Vec<DeviceStatus>,
    /// How many of them are stopped.
    pub stopped: usize,
    /// MQTT gateways (shown to scope `*` only).
    pub gateways: Vec<ReportedGateway>,
    /// Its store-and-forward queue.
    pub queue: ReportedQueue,
}

/// Answer of `GET /api/v1/collectors`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CollectorList {
    /// The server's clock (ms UTC).
    pub now_ms: i64,
    /// Collectors with a device the caller may see (every collector for scope `*`), by name.
    pub collectors: Vec<CollectorStatus>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn stopped(d: &ReportedDevice, report: &CollectorReport, min_ms: i64) -> bool {
    let allowed = d.period_ms.saturating_mul(3).max(min_ms);
    report.sent_ms - d.last_success_ms.unwrap_or(report.started_ms) > allowed
}

/// Keeps a collector's status report (the latest replaces the one before). Only credentials
/// that may write readings may post; a scoped one only devices whose meters lie in its scope.
#[utoipa::path(post, path = "/api/v1/collectors/{name}/status", tag = "ingest",
    params(("name" = String, Path, description = "Collector name: 1 to 64 of A-Z a-z 0-9 . _ -")),
    request_body = CollectorReport,
    responses((status = 204, description = "Kept"),
        (status = 400, body = ErrorBody),
        (status = 403, description = "A meter outside the credential's scope, or a report of another scope", body = ErrorBody),
        (status = 409, description = "The server keeps 64 collectors already", body = ErrorBody),
        (status = 503, description = "Kept in memory, not on disk", body = ErrorBody)))]
pub async fn post_status(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    Json(report): Json<CollectorReport>,
) -> Result<StatusCode, ApiError> {
    report::check_name(&name).map_err(ApiError::bad_request)?;
    report.check().map_err(ApiError::bad_request)?;
    if !principal.sees_everything() {
        let outside: Vec<String> = state.platform.with_tree(|t| {
            report
                .devices
                .iter()
                .flat_map(|d| d.meters.iter().map(move |m| (d, m)))
                .filter(|(_, m)| !access::meter_in_scope(t, &principal.scope, m))
                .take(20)
                .map(|(d, m)| format!("device '{}': meter '{m}'", d.name))
                .collect()
        });
        if !outside.is_empty() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "report not kept: meters unknown or outside the scope '{}' of this credential ({})",
                    principal.scope,
                    outside.join("; ")
                ),
            ));
        }
        if let Some(old) = state.collectors.get(&name) {
            if Scope::parse(&old.scope) != principal.scope {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("collector '{name}' is reported with a credential of another scope; give this collector another [collector] name"),
                ));
            }
        }
    }
    let entry = Entry {
        received_ms: now_ms(),
        scope: principal.scope.to_string(),
        report,
    };
    let book = state.collectors.clone();
    let kept = tokio::task::spawn_blocking(move || book.keep(&name, entry)).await?;
    match kept {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(KeepError::Full) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("the server keeps the status of {MAX_COLLECTORS} collectors already; remove one that is gone (DELETE /api/v1/collectors/{{name}}) or reuse its name"),
        )),
        Err(KeepError::Io(e)) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("status kept in memory but not on disk ({e}); it is lost at a restart"),
        )),
    }
}

/// The collectors and their devices (those whose meters lie in the caller's scope), with the
/// devices that stopped reporting and the collectors that fell silent.
#[utoipa::path(get, path = "/api/v1/collectors", tag = "ingest", params(CollectorsParams),
    responses((status = 200, body = CollectorList), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<CollectorsParams>,
) -> Result<Json<CollectorList>, ApiError> {
    let minutes = params.stopped_minutes.unwrap_or(2);
    if minutes > MAX_STOPPED_MINUTES {
        return Err(ApiError::bad_request(format!(
            "stopped_minutes: {minutes} is more than a year ({MAX_STOPPED_MINUTES} minutes)"
        )));
    }
    let min_ms = i64::from(minutes) * 60_000;
    let now = now_ms();
    let entries = state.collectors.all();
    let everything = principal.sees_everything();
    let collectors = state.platform.with_tree(|t| {
        entries
            .into_iter()
            .filter_map(|(name, e)| {
                let devices: Vec<DeviceStatus> = e
                    .report
                    .devices
                    .iter()
                    .filter(|d| {
                        if d.meters.is_empty() {
                            everything
                        } else {
                            d.meters
                                .iter()
                                .all(|m| access::meter_in_scope(t, &principal.scope, m))
                        }
                    })
                    .map(|d| DeviceStatus {
                        name: d.name.clone(),
                        channel: d.channel.clone(),
                        protocol: d.protocol.clone(),
                        meters: if principal.aggregates_only {
                            Vec::new()
                        } else {
                            d.meters.clone()
                        },
                        period_ms: d.period_ms,
                        last_success_ms: d.last_success_ms,
                        consecutive_failures: d.consecutive_failures,
                        last_error: d.last_error.clone(),
                        stopped: stopped(d, &e.report, min_ms),
                    })
                    .collect();
                if !everything && devices.is_empty() {
                    return None;
                }
                Some(CollectorStatus {
                    name,
                    received_ms: e.received_ms,
                    sent_ms: e.report.sent_ms,
                    started_ms: e.report.started_ms,
                    silent: now - e.received_ms > SILENT_MS,
                    stopped: devices.iter().filter(|d| d.stopped).count(),
                    devices,
                    gateways: if everything {
                        e.report.gateways
                    } else {
                        Vec::new()
                    },
                    queue: e.report.queue,
                })
            })
            .collect()
    });
    Ok(Json(CollectorList {
        now_ms: now,
        collectors,
    }))
}

/// Forgets a collector that is gone (its report and file). A scoped credential may remove only
/// a collector reported under its own scope.
#[utoipa::path(delete, path = "/api/v1/collectors/{name}", tag = "ingest",
    params(("name" = String, Path, description = "Collector name")),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found =
        |n: &str| ApiError::new(StatusCode::NOT_FOUND, format!("collector '{n}' not found"));
    let visible = state
        .collectors
        .get(&name)
        .is_some_and(|e| principal.sees_everything() || Scope::parse(&e.scope) == principal.scope);
    if !visible {
        return Err(not_found(&name));
    }
    let (book, access) = (state.collectors.clone(), state.access.clone());
    tokio::task::spawn_blocking(move || {
        let result = book.remove(&name);
        let entry = audit_entry(&principal, &ip, "collectors.delete", &name);
        let entry = match &result {
            Ok(_) => entry,
            Err(e) => entry
                .outcome("failed")
                .details(serde_json::json!({ "error": e })),
        };
        access.audit.record(&entry).map_err(audit_failed)?;
        match result {
            Ok(true) => Ok(StatusCode::NO_CONTENT),
            Ok(false) => Err(not_found(&name)),
            Err(e) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e)),
        }
    })
    .await?
}
