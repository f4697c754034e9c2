//! Green electricity certificates (绿证) and green-power trades: register, list, retire once.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use shulv_auth::Principal;
use shulv_platform::{Certificate, NewCertificate, Period};

use crate::access::{self, audit_entry, ClientIp};
use crate::error::{ApiError, ErrorBody};
use crate::routes::{audit_failed, blocking};
use crate::AppState;

/// Body of `POST /api/v1/certificates`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateBatch {
    /// Certificates to register (all or none).
    pub certificates: Vec<NewCertificate>,
}

/// Answer of `POST /api/v1/certificates`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Registered {
    /// Certificates added.
    pub added: usize,
}

/// Body of a retirement.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireRequest {
    /// Entity (node) the claim is made for.
    pub entity: String,
    /// Consumption period covered: `2025`, `2025-Q2` or `2025-03`.
    pub period: String,
}

/// Certificates held by nodes of the caller's scope.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "accounting",
    responses((status = 200, body = Vec<Certificate>)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Vec<Certificate>>, ApiError> {
    let list = blocking(&state.platform, move |p| {
        let all = p.certificates();
        Ok(p.with_tree(|t| access::keep_in_scope(t, &principal.scope, all, |c| &c.spec.owner)))
    })
    .await?;
    Ok(Json(list))
}

/// Registers green certificates or green-power trades with their serial ranges. The whole
/// batch is refused if an id is taken, a serial range overlaps one registered before (named
/// only when the caller may see it), a GEC range does not match its MWh (1 GEC = 1 MWh), or an
/// owner is unknown or outside the caller's scope (404, worded alike).
#[utoipa::path(post, path = "/api/v1/certificates", tag = "accounting", request_body = CertificateBatch,
    responses((status = 200, body = Registered), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Json(batch): Json<CertificateBatch>,
) -> Result<Json<Registered>, ApiError> {
    let access = state.access.clone();
    let added = blocking(&state.platform, move |p| {
        let owners = batch.certificates.iter().map(|c| c.owner.as_str());
        p.with_tree(|t| access::all_in_scope(t, &principal.scope, owners))?;
        let ids: Vec<String> = batch.certificates.iter().map(|c| c.id.clone()).collect();
        let visible =
            |owner: &str| p.with_tree(|t| access::node_in_scope(t, &principal.scope, owner));
        let result = p.register_certificates(batch.certificates, &visible);
        let entry = audit_entry(
            &principal,
            &ip,
            "certificates.register",
            &principal.scope.to_string(),
        );
        let entry = entry.result(&result, serde_json::json!({ "ids": ids }));
        access.audit.record(&entry).map_err(audit_failed)?;
        Ok(result?)
    })
    .await?;
    Ok(Json(Registered { added }))
}

/// Retires (cancels) a certificate on behalf of an entity for a consumption period. A
/// certificate is retired once only: a second retirement answers 409, also when two requests
/// race. Market-based Scope 2 of the entity's accounts for that period uses it first.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/retirements", tag = "accounting",
    params(("id" = String, Path, description = "Certificate id")), request_body = RetireRequest,
    responses((status = 200, body = Certificate), (status = 404, body = ErrorBody), (status = 409, description = "Retired already", body = ErrorBody)))]
pub async fn retire(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
    Json(req): Json<RetireRequest>,
) -> Result<Json<Certificate>, ApiError> {
    let period: Period = req
        .period
        .parse()
        .map_err(|e: String| ApiError::bad_request(format!("period: {e}")))?;
    let access = state.access.clone();
    let cert = blocking(&state.platform, move |p| {
        let owner = p
            .certificates()
            .into_iter()
            .find(|c| c.spec.id == id)
            .map(|c| c.spec.owner);
        let visible = p.with_tree(|t| {
            owner
                .as_deref()
                .is_some_and(|o| access::node_in_scope(t, &principal.scope, o))
                && access::node_in_scope(t, &principal.scope, &req.entity)
        });
        if !visible {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("certificate '{id}' or node '{}' not found", req.entity),
            ));
        }
        let result = p.retire_certificate(&id, &req.entity, period, &principal.actor());
        let entry = audit_entry(&principal, &ip, "certificates.retire", &id);
        let entry = entry.result(
            &result,
            serde_json::json!({ "entity": req.entity, "period": req.period }),
        );
        access.audit.record(&entry).map_err(audit_failed)?;
        Ok(result?)
    })
    .await?;
    Ok(Json(cert))
}
