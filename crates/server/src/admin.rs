//! Users, API tokens, login and logout, and the audit log.

use axum::extract::{Extension, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shulv_auth::{
    AuditEntry, AuditFilter, AuthError, LoginError, NewCredential, Principal, Role, Scope,
    TokenRecord, UserRecord,
};

use crate::access::{audit_entry, too_many, ClientIp};
use crate::error::{ApiError, ErrorBody};
use crate::routes::{audit_down, audit_failed};
use crate::AppState;

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let status = match &e {
            AuthError::Invalid(_) => StatusCode::BAD_REQUEST,
            AuthError::NotFound(_) => StatusCode::NOT_FOUND,
            AuthError::Conflict(_) => StatusCode::CONFLICT,
            AuthError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AuthError::Io(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, e.to_string())
    }
}

/// Runs blocking work (argon2, fsync) off the async runtime.
async fn off_runtime<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await?
}

/// A user as shown by the API (never the password hash).
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    /// Id (to disable the user).
    pub id: String,
    /// Login name.
    pub name: String,
    /// `admin`, `operator` or `analyst`.
    pub role: String,
    /// `*` or a node id.
    pub scope: String,
    /// Node aggregates only (analysts).
    pub aggregates_only: bool,
    /// Creation (ms UTC).
    pub created_ms: i64,
    /// Who created it.
    pub created_by: Option<String>,
    /// When it was disabled (ms UTC).
    pub disabled_ms: Option<i64>,
}

impl From<UserRecord> for UserInfo {
    fn from(u: UserRecord) -> Self {
        UserInfo {
            id: u.id,
            name: u.name,
            role: u.role.to_string(),
            scope: u.scope.to_string(),
            aggregates_only: u.aggregates_only,
            created_ms: u.created_ms,
            created_by: u.created_by,
            disabled_ms: u.disabled_ms,
        }
    }
}

/// A token as shown by the API (never the secret or its digest).
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    /// Id (to revoke it).
    pub id: String,
    /// What or who uses it.
    pub name: String,
    /// `admin`, `operator`, `analyst` or `device`.
    pub role: String,
    /// `*` or a node id.
    pub scope: String,
    /// Node aggregates only (analysts).
    pub aggregates_only: bool,
    /// Creation (ms UTC).
    pub created_ms: i64,
    /// Expiry (ms UTC), if any.
    pub expires_ms: Option<i64>,
    /// Revocation (ms UTC), if revoked.
    pub revoked_ms: Option<i64>,
    /// Who created it.
    pub created_by: Option<String>,
    /// Neither revoked nor expired.
    pub active: bool,
}

impl From<TokenRecord> for TokenInfo {
    fn from(t: TokenRecord) -> Self {
        TokenInfo {
            active: t.is_active(shulv_auth::now_ms()),
            id: t.id,
            name: t.name,
            role: t.role.to_string(),
            scope: t.scope.to_string(),
            aggregates_only: t.aggregates_only,
            created_ms: t.created_ms,
            expires_ms: t.expires_ms,
            revoked_ms: t.revoked_ms,
            created_by: t.created_by,
        }
    }
}

/// A new user.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUserBody {
    /// Login name (no spaces).
    pub name: String,
    /// `admin`, `operator` or `analyst`.
    pub role: String,
    /// `*` (administrators) or a node id of the registry.
    pub scope: String,
    /// Analysts: node aggregates only.
    #[serde(default)]
    pub aggregates_only: bool,
    /// At least 12 characters; stored only as an argon2id hash.
    pub password: String,
}

/// A new API token.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewTokenBody {
    /// What or who uses it (e.g. the collector's name).
    pub name: String,
    /// `admin`, `operator`, `analyst` or `device`.
    pub role: String,
    /// `*` (administrators) or a node id of the registry.
    pub scope: String,
    /// Analysts: node aggregates only.
    #[serde(default)]
    pub aggregates_only: bool,
    /// Expires after this many days (default: never).
    pub expires_days: Option<u32>,
}

/// A created token: the secret is shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewTokenAnswer {
    /// The token.
    pub token: TokenInfo,
    /// The secret, sent as `Authorization: Bearer <secret>`; only its digest is stored.
    pub secret: String,
}

fn credential(
    state: &AppState,
    name: String,
    role: &str,
    scope: &str,
    aggregates_only: bool,
) -> Result<NewCredential, ApiError> {
    let role: Role = role.parse().map_err(ApiError::bad_request)?;
    let scope = Scope::parse(scope);
    if let Scope::Node(id) = &scope {
        if state.platform.with_tree(|t| t.node(id).is_none()) {
            return Err(ApiError::bad_request(format!(
                "scope: node '{id}' is not in the registry"
            )));
        }
    }
    let new = NewCredential {
        name,
        role,
        scope,
        aggregates_only,
    };
    new.validate()?;
    Ok(new)
}

/// Creates a console user (administrators).
#[utoipa::path(post, path = "/api/v1/users", tag = "access",
    request_body = NewUserBody,
    responses((status = 201, body = UserInfo), (status = 400, body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Json(body): Json<NewUserBody>,
) -> Result<(StatusCode, Json<UserInfo>), ApiError> {
    let new = credential(
        &state,
        body.name,
        &body.role,
        &body.scope,
        body.aggregates_only,
    )?;
    let access = state.access.clone();
    off_runtime(move || {
        let user = access.create_user(&new, &body.password, &principal.actor())?;
        let entry = audit_entry(&principal, &ip, "user.create", &user.name).details(
            serde_json::json!({"id": user.id, "role": user.role, "scope": user.scope.to_string(),
                "aggregates_only": user.aggregates_only}),
        );
        access.audit.record(&entry).map_err(audit_failed)?;
        Ok((StatusCode::CREATED, Json(UserInfo::from(user))))
    })
    .await
}

/// Every user (administrators).
#[utoipa::path(get, path = "/api/v1/users", tag = "access",
    responses((status = 200, body = Vec<UserInfo>)))]
pub async fn list_users(State(state): State<AppState>) -> Json<Vec<UserInfo>> {
    Json(state.access.users().into_iter().map(Into::into).collect())
}

/// Disables a user and ends their sessions (administrators).
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "access",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserInfo), (status = 404, body = ErrorBody)))]
pub async fn disable_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<Json<UserInfo>, ApiError> {
    let access = state.access.clone();
    off_runtime(move || {
        let user = access.disable_user(&id)?;
        let entry = audit_entry(&principal, &ip, "user.disable", &user.name)
            .details(serde_json::json!({"id": user.id}));
        access.audit.record(&entry).map_err(audit_failed)?;
        Ok(Json(UserInfo::from(user)))
    })
    .await
}

/// Creates an API token; the answer holds the secret, shown once (administrators).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "access",
    request_body = NewTokenBody,
    responses((status = 201, body = NewTokenAnswer), (status = 400, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Json(body): Json<NewTokenBody>,
) -> Result<(StatusCode, Json<NewTokenAnswer>), ApiError> {
    let new = credential(
        &state,
        body.name,
        &body.role,
        &body.scope,
        body.aggregates_only,
    )?;
    let expires_ms = match body.expires_days {
        Some(0) => return Err(ApiError::bad_request("expires_days must be at least 1")),
        Some(d) => Some(crate::instant::check(
            "expires_days",
            shulv_auth::now_ms() + i64::from(d) * 86_400_000,
        )?),
        None => None,
    };
    let access = state.access.clone();
    off_runtime(move || {
        let (token, secret) = access.create_token(&new, expires_ms, &principal.actor())?;
        let entry = audit_entry(&principal, &ip, "token.create", &token.id)
            .details(serde_json::json!({"name": token.name, "role": token.role,
                "scope": token.scope.to_string(), "expires_ms": token.expires_ms}));
        access.audit.record(&entry).map_err(audit_failed)?;
        Ok((
            StatusCode::CREATED,
            Json(NewTokenAnswer {
                token: token.into(),
                secret,
            }),
        ))
    })
    .await
}

/// Every token, without secrets (administrators).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "access",
    responses((status = 200, body = Vec<TokenInfo>)))]
pub async fn list_tokens(State(state): State<AppState>) -> Json<Vec<TokenInfo>> {
    Json(state.access.tokens().into_iter().map(Into::into).collect())
}

/// Revokes a token at once (administrators).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "access",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 200, body = TokenInfo), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<Json<TokenInfo>, ApiError> {
    let access = state.access.clone();
    off_runtime(move || {
        let token = access.revoke_token(&id)?;
        let entry = audit_entry(&principal, &ip, "token.revoke", &token.id)
            .details(serde_json::json!({"name": token.name}));
        access.audit.record(&entry).map_err(audit_failed)?;
        Ok(Json(TokenInfo::from(token)))
    })
    .await
}

/// A password login.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A console session.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginAnswer {
    /// Send as `Authorization: Bearer <token>` until it expires or `POST /api/v1/logout`.
    pub token: String,
    /// Expiry (ms UTC).
    pub expires_ms: i64,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// The user.
    pub user: UserInfo,
}

/// Logs in with a user name and password; answers a session token with its expiry. Failed
/// logins block the client (its address with that user name, and its address for any name;
/// 429 with `Retry-After`), never the account: a user name under attack from many addresses
/// is only slowed down (each login waits a second), so its owner still logs in. The body is at
/// most 4 KiB; while the audit log cannot be written, logins are refused (503).
#[utoipa::path(post, path = "/api/v1/login", tag = "access", security(()),
    request_body = LoginBody,
    responses((status = 200, body = LoginAnswer),
        (status = 401, description = "Wrong user name or password", body = ErrorBody),
        (status = 429, description = "Too many failed logins", body = ErrorBody),
        (status = 503, description = "The audit log cannot be written", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Extension(ip): Extension<ClientIp>,
    Json(body): Json<LoginBody>,
) -> Response {
    if let Some(e) = state.access.audit.error() {
        return audit_down(&e, "logins").into_response();
    }
    let access = state.access.clone();
    tokio::time::sleep(access.login_delay(&body.username)).await;
    let result = off_runtime(move || {
        let outcome = access.login(&body.username, &body.password, &ip.0);
        let name = shulv_auth::bounded_name(&body.username);
        let entry = AuditEntry::now(format!("user:{name}"), "login", name).ip(ip.0.clone());
        match &outcome {
            Ok(g) => access
                .audit
                .record(&entry.id(g.user.id.clone()))
                .map_err(audit_failed)?,
            // Refused before the password was checked: the first in full, the rest counted.
            Err(LoginError::Limited(_)) => access.audit.record_refused(
                &ip.0,
                &entry
                    .outcome("denied")
                    .details(serde_json::json!({"reason": "rate limited"})),
            ),
            Err(e) => access.audit.record_client(
                &ip.0,
                &entry
                    .outcome("failed")
                    .details(serde_json::json!({"reason": e.to_string()})),
            ),
        }
        Ok(outcome)
    })
    .await;
    match result {
        Err(e) => e.into_response(),
        Ok(Ok(grant)) => Json(LoginAnswer {
            token: grant.token,
            expires_ms: grant.expires_ms,
            expires_at: chrono::DateTime::from_timestamp_millis(grant.expires_ms)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            user: grant.user.into(),
        })
        .into_response(),
        Ok(Err(LoginError::Limited(wait))) => too_many(wait, "too many failed logins"),
        Ok(Err(e @ LoginError::Invalid)) => {
            ApiError::new(StatusCode::UNAUTHORIZED, e.to_string()).into_response()
        }
        Ok(Err(e)) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

/// Ends the caller's session (a no-op for API tokens, which are revoked instead).
#[utoipa::path(post, path = "/api/v1/logout", tag = "access",
    responses((status = 204, description = "Logged out")))]
pub async fn logout(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
) -> Result<StatusCode, ApiError> {
    let access = state.access.clone();
    off_runtime(move || {
        if access.logout(&principal) {
            let entry = audit_entry(&principal, &ip, "logout", &principal.name);
            access.audit.record(&entry).map_err(audit_failed)?;
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Query parameters of `/api/v1/audit`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditParams {
    /// From (inclusive): RFC 3339, `YYYY-MM-DD[ HH:MM]` (Asia/Shanghai) or epoch ms.
    pub from: Option<String>,
    /// To (exclusive), same forms.
    pub to: Option<String>,
    /// Actor: `user:alice`, `token:collector-7`, or just the name.
    pub actor: Option<String>,
    /// Action, e.g. `login`, `registry.apply`, `token.revoke`.
    pub action: Option<String>,
    /// At most this many entries, the newest (default 10000).
    pub limit: Option<usize>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The audit log: every change, login and refused request, oldest first; `format=csv` exports
/// it (administrators).
#[utoipa::path(get, path = "/api/v1/audit", tag = "access", params(AuditParams),
    responses((status = 200, description = "The entries, oldest first: a JSON array, or CSV with format=csv",
            content((Vec<Object> = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    Query(params): Query<AuditParams>,
) -> Result<Response, ApiError> {
    let shanghai = chrono_tz::Asia::Shanghai;
    let filter = AuditFilter {
        from_ms: crate::instant::parse_opt("from", params.from.as_deref(), shanghai)?,
        to_ms: crate::instant::parse_opt("to", params.to.as_deref(), shanghai)?,
        actor: params.actor,
        action: params.action,
        limit: Some(params.limit.unwrap_or(10_000)),
    };
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format '{other}': expected json or csv"
            )))
        }
    };
    let access = state.access.clone();
    let entries = off_runtime(move || {
        access
            .audit
            .read(&filter)
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
    })
    .await?;
    Ok(if csv {
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"shulv-audit.csv\"",
                ),
            ],
            shulv_auth::csv_export(&entries),
        )
            .into_response()
    } else {
        Json(entries).into_response()
    })
}
