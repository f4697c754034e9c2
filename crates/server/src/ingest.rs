//! Ingest routes: InfluxDB line protocol (`/api/v2/write`, `/write`), JSON and CSV batches;
//! every format goes through one path that parses off the runtime, checks the caller's scope,
//! stores, answers and audits.

use axum::body::Bytes;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use shulv_auth::Principal;
use shulv_ingest::{Parsed, Precision, Reading};
use shulv_platform::{IngestOptions, IngestReport, Platform};

use crate::access::{self, audit_entry, ClientIp};
use crate::error::{ApiError, ErrorBody};
use crate::routes::{blocking, now_ms, utf8};
use crate::AppState;

/// The authenticated caller and its address.
pub struct Caller {
    principal: Principal,
    ip: ClientIp,
}

/// Refuses the whole request when any reading names a meter outside the caller's scope: a
/// credential writing outside its scope is misconfigured or misused, and storing the rest would
/// hide that. Nothing is stored then (403, every such line named). An unknown meter gets the
/// same answer from a scoped credential, so a scope does not reveal what exists outside it.
fn check_scope(
    p: &Platform,
    principal: &Principal,
    readings: &[Reading<'_>],
) -> Result<(), ApiError> {
    if principal.sees_everything() {
        return Ok(());
    }
    let outside: Vec<String> = p.with_tree(|t| {
        let mut cache: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
        readings
            .iter()
            .filter(|r| {
                !*cache
                    .entry(r.meter.as_ref())
                    .or_insert_with(|| access::meter_in_scope(t, &principal.scope, &r.meter))
            })
            .map(|r| format!("line {}: meter '{}'", r.line, r.meter))
            .collect()
    });
    if outside.is_empty() {
        return Ok(());
    }
    const SHOWN: usize = 20;
    let more = outside.len().saturating_sub(SHOWN);
    let mut list = outside[..outside.len().min(SHOWN)].join("; ");
    if more > 0 {
        list.push_str(&format!("; and {more} more"));
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        format!(
            "nothing stored: {} reading(s) name meters that are unknown or outside the scope '{}' of this credential ({list})",
            outside.len(),
            principal.scope
        ),
    ))
}

/// Query parameters of the line-protocol write endpoints. Other parameters that InfluxDB
/// clients send (`org`, `bucket`, `db`) are accepted and ignored.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct WriteParams {
    /// Timestamp precision: `ns` (default), `us`, `ms` or `s` (v1 also accepts `n`, `u`).
    pub precision: Option<String>,
    /// Refuse the whole batch if any line is bad (default false: accept good lines).
    pub atomic: Option<bool>,
}

fn precision(p: Option<&str>) -> Result<Precision, ApiError> {
    p.unwrap_or("ns").parse().map_err(|_| {
        ApiError::bad_request(format!(
            "unknown precision '{}' (expected ns, us, ms or s)",
            p.unwrap_or_default()
        ))
    })
}

/// Shapes an ingest report: 204 when every line was stored (InfluxDB semantics), 400 with the
/// report when some lines were refused (the good ones are stored unless `atomic`).
fn ingest_response(
    state: &AppState,
    who: &Caller,
    route: &'static str,
    mut report: IngestReport,
) -> Response {
    state
        .metrics
        .ingested(report.accepted, report.refused.len());
    report.refused.sort_by_key(|r| r.line);
    state.access.audit.record_queued(
        &audit_entry(&who.principal, &who.ip, "readings.write", route)
            .outcome(if report.accepted > 0 { "ok" } else { "failed" })
            .details(serde_json::json!({
                "accepted": report.accepted,
                "refused": report.refused.len(),
            })),
    );
    if report.refused.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::BAD_REQUEST, Json(report)).into_response()
    }
}

/// Writes InfluxDB line protocol (Telegraf's `outputs.influxdb_v2` works unchanged).
///
/// Mapping: the meter is tag `meter`, or the measurement if there is no such tag; field `value`
/// is that meter's reading; another field `f` is meter `<meter>.<f>`; tag `unit` is checked
/// against the meter's unit. Answers 204 when every line was stored, 400 with the list of
/// refused lines otherwise (the good lines are stored durably unless `atomic=true`).
#[utoipa::path(post, path = "/api/v2/write", tag = "ingest", params(WriteParams),
    request_body(content = String, content_type = "text/plain", description = "Line protocol"),
    responses((status = 204, description = "All lines stored durably"),
        (status = 400, description = "Some lines refused", body = IngestReport),
        (status = 503, description = "Not durable; nothing stored", body = ErrorBody)))]
pub async fn write_v2(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Query(params): Query<WriteParams>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let route = "/api/v2/write";
    write_line_protocol(state, Caller { principal, ip }, route, params, body).await
}

/// InfluxDB v1 `/write` (same mapping as `/api/v2/write`).
#[utoipa::path(post, path = "/write", tag = "ingest", params(WriteParams),
    request_body(content = String, content_type = "text/plain", description = "Line protocol"),
    responses((status = 204, description = "All lines stored durably"),
        (status = 400, description = "Some lines refused", body = IngestReport),
        (status = 503, description = "Not durable; nothing stored", body = ErrorBody)))]
pub async fn write_v1(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Query(params): Query<WriteParams>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let route = "/write";
    write_line_protocol(state, Caller { principal, ip }, route, params, body).await
}

async fn write_line_protocol(
    state: AppState,
    who: Caller,
    route: &'static str,
    params: WriteParams,
    body: Bytes,
) -> Result<Response, ApiError> {
    let precision = precision(params.precision.as_deref())?;
    let atomic = params.atomic.unwrap_or(false);
    ingest(state, who, route, atomic, body, move |text| {
        Ok(shulv_ingest::line_protocol::parse(text, precision))
    })
    .await
}

/// The ingest path of every format: parse off the runtime, check the caller's scope, store,
/// answer and audit (scope refusals included).
async fn ingest(
    state: AppState,
    who: Caller,
    route: &'static str,
    atomic: bool,
    body: Bytes,
    parse: impl for<'a> FnOnce(&'a str) -> Result<Parsed<'a>, ApiError> + Send + 'static,
) -> Result<Response, ApiError> {
    let options = IngestOptions {
        atomic,
        received_at: now_ms(),
    };
    let principal = who.principal.clone();
    let result = blocking(&state.platform, move |p| {
        let parsed = parse(utf8(&body)?)?;
        check_scope(p, &principal, &parsed.readings)?;
        Ok(p.ingest(parsed.readings, parsed.errors, options)?)
    })
    .await;
    match result {
        Ok(report) => Ok(ingest_response(&state, &who, route, report)),
        Err(e) => {
            if e.status() == StatusCode::FORBIDDEN {
                state.access.audit.record_queued(
                    &audit_entry(&who.principal, &who.ip, "access.denied", route)
                        .outcome("denied")
                        .details(serde_json::json!({ "error": e.message() })),
                );
            }
            Err(e)
        }
    }
}

/// Query parameters of the JSON and CSV ingest endpoints.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct IngestParams {
    /// Refuse the whole batch if any line is bad (default false: accept good lines).
    pub atomic: Option<bool>,
}

/// Writes a JSON batch: `{"readings":[{"meter":"m1","ts":"2025-03-01T00:15:00+08:00","value":1.5,"unit":"kWh"}]}`.
/// `ts` is RFC 3339 or epoch milliseconds. `line` in refusals is the 1-based index of the reading.
#[utoipa::path(post, path = "/api/v1/readings", tag = "ingest", params(IngestParams),
    request_body(content = String, content_type = "application/json", description = "JSON batch"),
    responses((status = 204, description = "All readings stored durably"),
        (status = 400, description = "Some readings refused", body = IngestReport),
        (status = 503, description = "Not durable; nothing stored", body = ErrorBody)))]
pub async fn write_json(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Query(params): Query<IngestParams>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = Caller { principal, ip };
    let atomic = params.atomic.unwrap_or(false);
    ingest(state, who, "/api/v1/readings", atomic, body, |text| {
        shulv_ingest::json::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))
    })
    .await
}

/// Writes a CSV file: long layout `meter,ts,value[,unit]` or wide layout `ts,<meter>,<meter>...`.
/// Timestamps without an offset are read in the meter's time zone.
#[utoipa::path(post, path = "/api/v1/readings/csv", tag = "ingest", params(IngestParams),
    request_body(content = String, content_type = "text/csv", description = "CSV file"),
    responses((status = 204, description = "All rows stored durably"),
        (status = 400, description = "Some rows refused", body = IngestReport),
        (status = 503, description = "Not durable; nothing stored", body = ErrorBody)))]
pub async fn write_csv(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Query(params): Query<IngestParams>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = Caller { principal, ip };
    let atomic = params.atomic.unwrap_or(false);
    ingest(state, who, "/api/v1/readings/csv", atomic, body, |text| {
        if text.trim().is_empty() {
            return Err(ApiError::bad_request(
                "the body is empty: send a CSV file with its header line",
            ));
        }
        Ok(shulv_ingest::csv::parse(text))
    })
    .await
}
