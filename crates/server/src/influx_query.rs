//! `/query`: the InfluxDB 1.x query API, so Grafana's InfluxDB data source (InfluxQL) and
//! InfluxDB clients read shulv. Credentials are those of `/write` (bearer or `Token`, HTTP
//! Basic, `u`/`p`); the caller's scope limits the databases and series it sees, and an
//! aggregates-only credential sees no meters. The mapping and the statements are
//! [`shulv_influxdb`]'s; this file reads the parameters and picks the answer's format.

use std::sync::OnceLock;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shulv_auth::Principal;
use shulv_influxdb::render::{self, Epoch};
use shulv_influxdb::{Caller, StatementResult};
use tokio::sync::Semaphore;

use crate::access;
use crate::error::{ApiError, ErrorBody};
use crate::routes::{blocking, now_ms};
use crate::AppState;

/// Rows per document of a chunked answer when `chunk_size` is not given (InfluxDB's default).
const DEFAULT_CHUNK_SIZE: usize = 10_000;

/// The InfluxQL queries that run at once, one per core: a statement at its limits (5 M
/// buckets, 1 M rows) holds hundreds of megabytes, so more queries wait their turn instead of
/// holding memory together; a waiting request still ends at the request time limit.
pub(crate) fn running() -> &'static Semaphore {
    static RUNNING: OnceLock<Semaphore> = OnceLock::new();
    RUNNING
        .get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// Parameters of `/query` (query string; for POST also a form body).
#[derive(Deserialize, utoipa::IntoParams)]
pub struct QueryParams {
    /// InfluxQL: one or more statements separated by `;`.
    pub q: Option<String>,
    /// The database: `shulv` (everything the credential sees) or a node id (its subtree).
    pub db: Option<String>,
    /// Times as integers in `ns`, `u`, `µ`, `ms`, `s`, `m` or `h` instead of RFC 3339 text.
    pub epoch: Option<String>,
    /// `true`: stream the answer as JSON documents of at most `chunk_size` rows each.
    pub chunked: Option<String>,
    /// Rows per chunk (default 10 000).
    pub chunk_size: Option<String>,
}

impl QueryParams {
    /// These parameters, each replaced by `other`'s where it has one.
    fn overridden_by(self, other: QueryParams) -> QueryParams {
        QueryParams {
            q: other.q.or(self.q),
            db: other.db.or(self.db),
            epoch: other.epoch.or(self.epoch),
            chunked: other.chunked.or(self.chunked),
            chunk_size: other.chunk_size.or(self.chunk_size),
        }
    }
}

/// InfluxDB 1.x query (GET): InfluxQL statements, answered in InfluxDB 1.8's JSON (or CSV with
/// `Accept: application/csv`). Errors of a statement are in its result; a query that does not
/// parse gets 400. Besides a bearer token, the credential may be HTTP Basic or the `u` and `p`
/// parameters (a user's password, or an API token as the password).
#[utoipa::path(get, path = "/query", tag = "query", params(QueryParams),
    responses((status = 200, description = "InfluxDB 1.8 results (JSON or CSV)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn query_get(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<QueryParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    answer(state, principal, params, &headers).await
}

/// InfluxDB 1.x query (POST): as GET, with the parameters in the query string or in an
/// `application/x-www-form-urlencoded` body (Grafana's POST mode).
#[utoipa::path(post, path = "/query", tag = "query", params(QueryParams),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "Optional form with the same parameters (`q=…&db=…`)"),
    responses((status = 200, description = "InfluxDB 1.8 results (JSON or CSV)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn query_post(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<QueryParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = if body.is_empty() {
        params
    } else {
        let form: QueryParams = serde_urlencoded::from_bytes(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "the body is not an application/x-www-form-urlencoded form: {e}"
            ))
        })?;
        params.overridden_by(form)
    };
    answer(state, principal, params, &headers).await
}

async fn answer(
    state: AppState,
    principal: Principal,
    params: QueryParams,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let q = params
        .q
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("missing required parameter \"q\""))?;
    let statements = shulv_influxql::parse(&q).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let epoch = match params.epoch.filter(|e| !e.is_empty()) {
        Some(e) => e.parse().map_err(ApiError::bad_request)?,
        None => Epoch::Rfc3339,
    };
    let chunked = params.chunked.is_some_and(|c| c == "true");
    let chunk_size = match params.chunk_size.filter(|c| !c.is_empty()) {
        Some(c) => c.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| {
            ApiError::bad_request(format!("chunk_size '{c}' is not a positive integer"))
        })?,
        None => DEFAULT_CHUNK_SIZE,
    };
    let database = params.db;
    let permit = running()
        .acquire()
        .await
        .map_err(|e| ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let results: Vec<StatementResult> = blocking(&state.platform, move |platform| {
        let _permit = permit;
        let visible =
            |tree: &shulv_model::Tree, id: &str| access::node_in_scope(tree, &principal.scope, id);
        let query = shulv_influxdb::Query {
            platform,
            caller: Caller {
                node_visible: &visible,
                aggregates_only: principal.aggregates_only,
            },
            database: database.as_deref(),
            now_ms: now_ms(),
        };
        Ok(shulv_influxdb::execute(&query, &statements))
    })
    .await?;
    state.metrics.queried(started.elapsed());
    let csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/csv") || a.contains("text/csv"));
    let mut response = if csv {
        (
            [(header::CONTENT_TYPE, "application/csv")],
            render::csv(&results, epoch),
        )
            .into_response()
    } else {
        let text = if chunked {
            let mut documents = render::json_chunks(&results, epoch, chunk_size).join("\n");
            documents.push('\n');
            documents
        } else {
            render::json(&results, epoch)
        };
        (
            [(header::CONTENT_TYPE, "application/json")],
            Body::from(text),
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&crate::influx::version()) {
        h.insert("x-influxdb-version", v);
    }
    h.insert("x-influxdb-build", HeaderValue::from_static("OSS"));
    Ok(response)
}
