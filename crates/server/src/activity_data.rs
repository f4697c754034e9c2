//! Scope 3 activity data entered without meters: list, add, delete.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use shulv_auth::Principal;
use shulv_platform::{ActivityRecord, NewActivityRecord};

use crate::access::{self, audit_entry, ClientIp};
use crate::error::{ApiError, ErrorBody};
use crate::routes::{audit_failed, blocking};
use crate::AppState;

/// Body of `POST /api/v1/activity-data`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityBatch {
    /// Records to add (all or none).
    pub records: Vec<NewActivityRecord>,
}

/// Answer of `POST /api/v1/activity-data`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ActivityAdded {
    /// Records added.
    pub added: usize,
}

/// Scope 3 activity records of nodes in the caller's scope.
#[utoipa::path(get, path = "/api/v1/activity-data", tag = "accounting",
    responses((status = 200, body = Vec<ActivityRecord>)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Vec<ActivityRecord>>, ApiError> {
    let list = blocking(&state.platform, move |p| {
        let all = p.activity_records();
        Ok(p.with_tree(|t| access::keep_in_scope(t, &principal.scope, all, |r| &r.spec.node)))
    })
    .await?;
    Ok(Json(list))
}

/// Adds Scope 3 activity data (quantity, unit, the factor applied and its source) for nodes
/// and periods; accounts of the node and of every node above it for a period containing the
/// record's include it in Scope 3. The whole batch is refused if an id is taken (worded alike
/// wherever it is taken), a field is invalid (the error names the record and field) or a node
/// is unknown or outside the caller's scope (404, worded alike).
#[utoipa::path(post, path = "/api/v1/activity-data", tag = "accounting", request_body = ActivityBatch,
    responses((status = 200, body = ActivityAdded), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Json(batch): Json<ActivityBatch>,
) -> Result<Json<ActivityAdded>, ApiError> {
    let access = state.access.clone();
    let added = blocking(&state.platform, move |p| {
        let nodes = batch.records.iter().map(|r| r.node.as_str());
        p.with_tree(|t| access::all_in_scope(t, &principal.scope, nodes))?;
        let ids: Vec<String> = batch.records.iter().map(|r| r.id.clone()).collect();
        let result = p.add_activity_records(batch.records, &principal.actor());
        let entry = audit_entry(
            &principal,
            &ip,
            "activity_data.add",
            &principal.scope.to_string(),
        );
        let entry = entry.result(&result, serde_json::json!({ "ids": ids }));
        access.audit.record(&entry).map_err(audit_failed)?;
        Ok(result?)
    })
    .await?;
    Ok(Json(ActivityAdded { added }))
}

/// Deletes a Scope 3 activity record; answers the deleted record.
#[utoipa::path(delete, path = "/api/v1/activity-data/{id}", tag = "accounting",
    params(("id" = String, Path, description = "Record id")),
    responses((status = 200, body = ActivityRecord), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<Json<ActivityRecord>, ApiError> {
    let access = state.access.clone();
    let record = blocking(&state.platform, move |p| {
        let node = p
            .activity_records()
            .into_iter()
            .find(|r| r.spec.id == id)
            .map(|r| r.spec.node);
        let visible = p.with_tree(|t| {
            node.as_deref()
                .is_some_and(|n| access::node_in_scope(t, &principal.scope, n))
        });
        if !visible {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("activity record '{id}' not found"),
            ));
        }
        let result = p.delete_activity_record(&id);
        let entry = audit_entry(&principal, &ip, "activity_data.delete", &id);
        let entry = entry.result(&result, serde_json::Value::Null);
        access.audit.record(&entry).map_err(audit_failed)?;
        Ok(result?)
    })
    .await?;
    Ok(Json(record))
}
