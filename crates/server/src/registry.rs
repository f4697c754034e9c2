//! Registry routes: the nodes and meters visible to the caller, changes to them, and meter
//! replacements (换表).

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use shulv_auth::Principal;
use shulv_model::RegistryFile;
use shulv_platform::ReplacementRecord;

use crate::access::{self, audit_entry, ClientIp};
use crate::error::{ApiError, ErrorBody};
use crate::routes::{audit_failed, blocking, utf8};
use crate::AppState;

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
        let mut details = serde_json::json!({ "nodes": node_ids, "meters": meter_ids });
        if let Ok(added) = &result {
            details["added_meters"] = serde_json::json!(added);
        }
        let entry = entry.result(&result, details);
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
        let details = serde_json::json!({
            "at": record.at, "old_final": record.old_final, "new_initial": record.new_initial,
        });
        let entry = entry.result(&result, details);
        access.audit.record(&entry).map_err(audit_failed)?;
        Ok(result?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
