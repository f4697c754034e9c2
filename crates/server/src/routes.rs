//! HTTP handlers: thin wrappers that parse the request, call the platform on a blocking thread
//! and shape the answer. Every handler carries a `#[utoipa::path]` so `/openapi.json` is
//! generated from these very functions.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shulv_auth::Principal;
use shulv_ingest::{Parsed, Precision, Reading};
use shulv_model::{Bucket, Carrier, RegistryFile};
use shulv_platform::{
    Aggregate, IngestOptions, IngestReport, Platform, QueryAnswer, QuerySpec, ReplacementRecord,
    Target,
};

use crate::access::{self, audit_entry, ClientIp};
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

/// Runs a blocking platform call off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    platform: &Arc<Platform>,
    f: impl FnOnce(&Platform) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let platform = platform.clone();
    tokio::task::spawn_blocking(move || f(&platform)).await?
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn utf8(body: &Bytes) -> Result<&str, ApiError> {
    std::str::from_utf8(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not UTF-8 (first bad byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// Liveness probe.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()),
    responses((status = 200, description = "The server is up", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Prometheus metrics: ingest counters, WAL size, segment sizes, query latency.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let stats = state.platform.store_stats();
    let mut text = state.metrics.render(&stats);
    if let Some(extra) = &state.config.extra_metrics {
        text.push_str(&(extra.0)());
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Store statistics.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusBody {
    /// Bytes of write-ahead log not yet folded into segments.
    pub wal_bytes: u64,
    /// Points in the in-memory buffer.
    pub memtable_points: u64,
    /// Parquet segment files.
    pub segment_files: u64,
    /// Bytes of Parquet segments.
    pub segment_bytes: u64,
    /// Points persisted in segments.
    pub points_persisted: u64,
    /// Meters in the registry.
    pub meters: usize,
    /// Nodes in the registry.
    pub nodes: usize,
}

/// Store and registry statistics.
#[utoipa::path(get, path = "/api/v1/status", tag = "system",
    responses((status = 200, body = StatusBody)))]
pub async fn status(State(state): State<AppState>) -> Json<StatusBody> {
    let s = state.platform.store_stats();
    let file = state.platform.registry_file();
    Json(StatusBody {
        wal_bytes: s.wal_bytes,
        memtable_points: s.memtable_points,
        segment_files: s.segment_files,
        segment_bytes: s.segment_bytes,
        points_persisted: s.points_persisted,
        meters: file.meters.len(),
        nodes: file.nodes.len(),
    })
}

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

/// Result of a registry change.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RegistryChange {
    /// Meters that did not exist before.
    pub added_meters: Vec<String>,
    /// Meters in the registry now (in the caller's scope).
    pub meters: usize,
    /// Nodes in the registry now (in the caller's scope).
    pub nodes: usize,
}

/// The answer when an audit entry could not be made durable (the message says whether the
/// entry is kept and written later or refused).
pub fn audit_failed(e: std::io::Error) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("{e}; the change was applied but its audit entry is not durable yet"),
    )
}

/// The answer to a request that needs the audit log while it cannot be written (`error`):
/// `what` (changes, logins) are refused until it can, which it notices by itself.
pub fn audit_down(error: &str, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "the audit log cannot be written ({error}), so {what} are refused until it can; free space on the disk of the data directory (no restart needed)"
        ),
    )
}

/// The registry visible to the caller: the nodes of its scope (the scope's root shown as a
/// root) and their meters (no meters for aggregates-only credentials).
#[utoipa::path(get, path = "/api/v1/registry", tag = "registry",
    responses((status = 200, description = "`{\"node\": [...], \"meter\": [...]}`", body = Object)))]
pub async fn get_registry(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Json<RegistryFile> {
    Json(
        state
            .platform
            .with_tree(|t| access::visible_registry(t, &principal)),
    )
}

/// Adds or updates nodes and meters, from JSON (`{"node":[...],"meter":[...]}`; `nodes`, `meters` are accepted too) or TOML
/// (`[[node]]`/`[[meter]]`, with `Content-Type: application/toml`). Changing a meter's carrier,
/// unit or reading kind is refused.
#[utoipa::path(post, path = "/api/v1/registry", tag = "registry",
    request_body(content = String, description = "Registry file, JSON or TOML"),
    responses((status = 200, body = RegistryChange),
        (status = 400, description = "Invalid registry; nothing changed", body = ErrorBody)))]
pub async fn post_registry(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<RegistryChange>, ApiError> {
    let is_toml = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("toml"));
    let file = {
        let text = utf8(&body)?;
        if is_toml {
            RegistryFile::from_toml(text).map_err(|e| ApiError::bad_request(e.to_string()))?
        } else {
            serde_json::from_str(text)
                .map_err(|e| ApiError::bad_request(format!("registry JSON: {e}")))?
        }
    };
    let access = state.access.clone();
    blocking(&state.platform, move |p| {
        p.with_tree(|t| access::check_registry_change(t, &principal.scope, &file))
            .map_err(|e| ApiError::new(StatusCode::FORBIDDEN, e))?;
        let node_ids: Vec<String> = file.nodes.iter().map(|n| n.id.clone()).collect();
        let meter_ids: Vec<String> = file.meters.iter().map(|m| m.id.clone()).collect();
        let target = principal.scope.to_string();
        let result = p.apply_registry(file);
        let entry = audit_entry(&principal, &ip, "registry.apply", &target);
        let entry = match &result {
            Ok(added) => entry.details(serde_json::json!({
                "nodes": node_ids, "meters": meter_ids, "added_meters": added,
            })),
            Err(e) => entry.outcome("failed").details(serde_json::json!({
                "nodes": node_ids, "meters": meter_ids, "error": e.to_string(),
            })),
        };
        access.audit.record(&entry).map_err(audit_failed)?;
        let added_meters = result?;
        let (meters, nodes) = p.with_tree(|t| {
            let v = access::visible_registry(t, &principal);
            (v.meters.len(), v.nodes.len())
        });
        Ok(Json(RegistryChange {
            added_meters,
            meters,
            nodes,
        }))
    })
    .await
}

/// A meter replacement, for cumulative registers.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReplacementBody {
    /// Instant of the swap: RFC 3339 or epoch milliseconds.
    #[schema(value_type = String)]
    pub at: serde_json::Value,
    /// Final register value of the old meter.
    pub old_final: f64,
    /// Initial register value of the new meter.
    pub new_initial: f64,
}

/// Declares that a cumulative meter was replaced, so the register jump is not read as consumption.
#[utoipa::path(post, path = "/api/v1/meters/{id}/replacements", tag = "registry",
    params(("id" = String, Path, description = "Meter id")),
    request_body = ReplacementBody,
    responses((status = 204, description = "Recorded"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn post_replacement(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
    Json(body): Json<ReplacementBody>,
) -> Result<StatusCode, ApiError> {
    let at = crate::instant::parse_json("at", &body.at, chrono_tz::Asia::Shanghai)?;
    let record = ReplacementRecord {
        at,
        old_final: body.old_final,
        new_initial: body.new_initial,
    };
    let access = state.access.clone();
    blocking(&state.platform, move |p| {
        if !p.with_tree(|t| access::meter_in_scope(t, &principal.scope, &id)) {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("meter '{id}' not found"),
            ));
        }
        let result = p.add_replacement(&id, record);
        let entry = audit_entry(&principal, &ip, "meter.replacement", &id);
        let entry = match &result {
            Ok(()) => entry.details(serde_json::json!({
                "at": record.at, "old_final": record.old_final, "new_initial": record.new_initial,
            })),
            Err(e) => entry.outcome("failed").details(serde_json::json!({
                "at": record.at, "error": e.to_string(),
            })),
        };
        access.audit.record(&entry).map_err(audit_failed)?;
        Ok(result?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

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
