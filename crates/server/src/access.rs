//! Who may call which route, and on which part of the tree.
//!
//! [`policy`] names the access rule of every route (method + path template). The [`gate`]
//! middleware runs after routing on every route: it authenticates the bearer credential (API
//! token or session), applies the per-credential rate limit and the route's rule, and hands the
//! [`Principal`] to the handler, which applies the scope (a subtree of the organisation tree) to
//! what it reads or changes. A route without a rule is refused for everyone.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shulv_auth::{AuditEntry, Principal, Role, Scope};
use shulv_model::{RegistryFile, Tree};

use crate::error::ApiError;
use crate::AppState;

/// The access rule of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No credential needed (`/healthz`, `/api/v1/login`).
    Public,
    /// Roles that read (admin, operator, analyst); the handler applies the scope.
    Read,
    /// Roles that manage the registry (admin, operator); the handler applies the scope.
    Manage,
    /// Roles that write readings (admin, operator, device); the handler applies the scope.
    Write,
    /// Reading roles whose scope is the whole tree (process-wide statistics).
    Global,
    /// Administrators only.
    Admin,
}

/// The rule of `method path` (path as a route template, e.g. `/api/v1/tokens/{id}`).
pub fn policy(method: &Method, path: &str) -> Option<Access> {
    use Access::*;
    let m = method.as_str();
    Some(match (m, path) {
        ("GET", "/healthz") | ("POST", "/api/v1/login") => Public,
        // InfluxDB 1.x clients ping without credentials.
        ("GET" | "HEAD", "/ping") => Public,
        // The console's static shell (no data; it calls the API with the user's credential).
        ("GET", "/" | "/assets/{*file}") => Public,
        ("GET", "/openapi.json") | ("POST", "/api/v1/logout") => Read,
        ("GET", "/metrics") | ("GET", "/api/v1/status") => Global,
        ("POST", "/api/v2/write" | "/write" | "/api/v1/readings" | "/api/v1/readings/csv") => Write,
        ("GET", "/api/v1/registry" | "/api/v1/query" | "/api/v1/accounts")
        | ("GET", "/api/v1/carbon-grades" | "/api/v1/factors" | "/api/v1/forecast") => Read,
        ("GET", "/api/v1/overview" | "/api/v1/collectors") => Read,
        // InfluxDB 1.x queries (Grafana, clients): POST carries a form, it changes nothing.
        ("GET" | "POST", "/query") => Read,
        ("POST", "/api/v1/collectors/{name}/status") => Write,
        ("DELETE", "/api/v1/collectors/{name}") => Manage,
        ("GET", "/api/v1/forecasts" | "/api/v1/forecasts/{id}") => Read,
        ("GET", "/api/v1/evaluations/template") | ("POST", "/api/v1/evaluations") => Read,
        ("GET", "/api/v1/certificates" | "/api/v1/activity-data") => Read,
        (
            "GET",
            "/api/v1/tariffs"
            | "/api/v1/tariffs/{id}"
            | "/api/v1/bills"
            | "/api/v1/bills/comparison",
        ) => Read,
        ("POST", "/api/v1/schedules") => Read,
        ("POST", "/api/v1/tariffs") => Manage,
        ("POST", "/api/v1/registry") | ("POST", "/api/v1/meters/{id}/replacements") => Manage,
        ("POST", "/api/v1/certificates" | "/api/v1/certificates/{id}/retirements") => Manage,
        ("POST", "/api/v1/activity-data") | ("DELETE", "/api/v1/activity-data/{id}") => Manage,
        ("GET" | "POST", "/api/v1/users" | "/api/v1/tokens")
        | ("DELETE", "/api/v1/users/{id}" | "/api/v1/tokens/{id}")
        | ("GET", "/api/v1/audit" | "/api/v1/backup")
        | ("POST", "/api/v1/factors/{kind}") => Admin,
        _ => return None,
    })
}

/// True if `principal` passes `access` (before scopes).
pub fn allowed(access: Access, principal: &Principal) -> bool {
    match access {
        Access::Public => true,
        Access::Read => principal.role.can_read(),
        Access::Manage => principal.role.can_manage(),
        Access::Write => principal.role.can_write(),
        Access::Global => principal.role.can_read() && principal.scope == Scope::All,
        Access::Admin => principal.role == Role::Admin,
    }
}

/// The client address of a request, as recorded in the audit log.
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

fn client_ip(state: &AppState, request: &Request) -> String {
    if state.config.trust_forwarded_for {
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back();
        if let Some(ip) = forwarded {
            return ip.to_string();
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

/// Extracts the credential of a request, from `Authorization: Bearer|Token <secret>`.
fn presented_token(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, secret) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .then_some(secret.trim())
}

/// 429 with `Retry-After` (whole seconds, at least 1) and a JSON error.
pub fn too_many(wait: Duration, message: &str) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut r = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("{message}; retry after {secs} s"),
    )
    .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

fn unauthorized(message: &str) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"shulv\""),
    );
    r
}

/// An audit entry for `principal` at `ip`.
pub fn audit_entry(principal: &Principal, ip: &ClientIp, action: &str, target: &str) -> AuditEntry {
    AuditEntry::now(principal.actor(), action, target)
        .id(principal.id.clone())
        .ip(ip.0.clone())
}

/// The answer for a method the route has no rule for: 405 with the methods it has rules for
/// (`Allow`), or 403 when it has none (a route without a rule is refused for everyone).
fn no_rule(method: &Method, path: &str) -> Response {
    let allowed: Vec<&str> = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
    ]
    .iter()
    .filter(|m| policy(m, path).is_some())
    .map(Method::as_str)
    .collect();
    if allowed.is_empty() {
        return ApiError::new(StatusCode::FORBIDDEN, "no access rule covers this route")
            .into_response();
    }
    let allow = allowed.join(", ");
    let mut r = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{path} does not take {method} (it takes {allow})"),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&allow) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    r
}

/// Middleware on every route: authentication, rate limit, the route's rule.
pub async fn gate(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = ClientIp(client_ip(&state, &request));
    let path = matched.map(|m| m.as_str().to_string()).unwrap_or_default();
    let Some(access) = policy(request.method(), &path) else {
        return no_rule(request.method(), &path);
    };
    request.extensions_mut().insert(ip.clone());
    if access == Access::Public {
        return next.run(request).await;
    }
    let v1 = if (path == "/write" || path == "/query") && presented_token(&request).is_none() {
        crate::influx::v1_credential(&request)
    } else {
        None
    };
    let principal = match (v1, presented_token(&request)) {
        (Some(credential), _) => match v1_principal(&state, credential, &ip).await {
            Ok(p) => p,
            Err(response) => return response,
        },
        (None, None) => {
            return unauthorized(
                "a credential is required: send 'Authorization: Bearer <token>' (an API token, or a session token from POST /api/v1/login)",
            )
        }
        (None, Some(secret)) => match state.access.authenticate(secret) {
            Ok(p) => p,
            Err(e) => return unauthorized(&e.to_string()),
        },
    };
    if let Err(wait) = state.access.rate_limit(&principal) {
        return too_many(wait, "request rate limit of this credential exceeded");
    }
    if !allowed(access, &principal) {
        let what = format!("{} {path}", request.method());
        state
            .access
            .audit
            .record_queued(&audit_entry(&principal, &ip, "access.denied", &what).outcome("denied"));
        let hint = match access {
            Access::Global => "; process-wide statistics need a reading role with scope '*'",
            Access::Admin => "; it is for administrators",
            _ => "",
        };
        return ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "the role '{}' (scope '{}') may not call {what}{hint}",
                principal.role, principal.scope
            ),
        )
        .into_response();
    }
    if request.method() != Method::GET && path != "/query" {
        if let Some(e) = state.access.audit.error() {
            return crate::routes::audit_down(&e, "changes").into_response();
        }
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// The principal of an InfluxDB v1 credential: the password is an API token (the user name is
/// then ignored, as InfluxDB 2 does) or the user's password (checked as a login is, with the
/// same failure limits, without opening a session).
async fn v1_principal(
    state: &AppState,
    credential: crate::influx::V1Credential,
    ip: &ClientIp,
) -> Result<Principal, Response> {
    if let Ok(p) = state.access.authenticate(&credential.password) {
        return Ok(p);
    }
    if credential.user.is_empty() {
        return Err(unauthorized(
            "the API token given as the password is not valid",
        ));
    }
    let access = state.access.clone();
    let ip = ip.0.clone();
    let checked = tokio::task::spawn_blocking(move || {
        access.password_principal(&credential.user, &credential.password, &ip)
    })
    .await;
    match checked {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(shulv_auth::LoginError::Limited(wait))) => {
            Err(too_many(wait, "too many failed logins"))
        }
        Ok(Err(e)) => Err(unauthorized(&e.to_string())),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

/// True if node `id` exists and lies in `scope`.
pub fn node_in_scope(tree: &Tree, scope: &Scope, id: &str) -> bool {
    if tree.node(id).is_none() {
        return false;
    }
    match scope {
        Scope::All => true,
        Scope::Node(root) => id == root || tree.ancestors(id).iter().any(|a| a.id == *root),
    }
}

/// The answer for a node that does not exist or lies outside the caller's scope: the same
/// 404 for both, so a scope does not reveal what exists outside it.
pub fn node_not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("node '{id}' not found"))
}

/// The items whose node (`node_of`) lies in `scope`.
pub fn keep_in_scope<T>(
    tree: &Tree,
    scope: &Scope,
    items: Vec<T>,
    node_of: impl Fn(&T) -> &str,
) -> Vec<T> {
    items
        .into_iter()
        .filter(|item| node_in_scope(tree, scope, node_of(item)))
        .collect()
}

/// [`node_not_found`] for the first of `nodes` that is unknown or outside `scope`.
pub fn all_in_scope<'a>(
    tree: &Tree,
    scope: &Scope,
    mut nodes: impl Iterator<Item = &'a str>,
) -> Result<(), ApiError> {
    match nodes.find(|node| !node_in_scope(tree, scope, node)) {
        Some(node) => Err(node_not_found(node)),
        None => Ok(()),
    }
}

/// True if meter `id` exists and its node lies in `scope`.
pub fn meter_in_scope(tree: &Tree, scope: &Scope, id: &str) -> bool {
    tree.meter(id)
        .is_some_and(|m| node_in_scope(tree, scope, &m.node))
}

/// The part of the registry `principal` may see: the nodes of its subtree (the subtree's root
/// shown as a root) and their meters (none for aggregates-only credentials).
pub fn visible_registry(tree: &Tree, principal: &Principal) -> RegistryFile {
    if principal.scope == Scope::All && !principal.aggregates_only {
        return tree.to_file();
    }
    let nodes = tree
        .nodes()
        .iter()
        .filter(|n| node_in_scope(tree, &principal.scope, &n.id))
        .map(|n| {
            let mut n = n.clone();
            if principal.scope.node() == Some(n.id.as_str()) {
                n.parent = None;
            }
            n
        })
        .collect();
    let meters = if principal.aggregates_only {
        Vec::new()
    } else {
        tree.meters()
            .iter()
            .filter(|m| node_in_scope(tree, &principal.scope, &m.node))
            .cloned()
            .collect()
    };
    RegistryFile { nodes, meters }
}

/// Checks that applying `file` changes only the subtree of `scope`: the scope's root is not
/// moved, new nodes hang below the root, every node and meter is inside after the change, and
/// no id of a node or meter outside the scope is named. Returns the first violation.
///
/// A node or meter outside the scope is judged as if it did not exist, so the refusals do not
/// reveal it: only when a new node or meter would have been accepted is the id refused, as
/// "not available", which is all a scoped credential can learn (ids are unique in the tree).
pub fn check_registry_change(
    tree: &Tree,
    scope: &Scope,
    file: &RegistryFile,
) -> Result<(), String> {
    let Scope::Node(root) = scope else {
        return Ok(());
    };
    let mut parent: HashMap<&str, Option<&str>> = tree
        .nodes()
        .iter()
        .filter(|n| node_in_scope(tree, scope, &n.id))
        .map(|n| (n.id.as_str(), n.parent.as_deref()))
        .collect();
    for n in &file.nodes {
        let existing = tree
            .node(&n.id)
            .filter(|_| node_in_scope(tree, scope, &n.id));
        match existing {
            Some(existing) if n.id == *root && n.parent != existing.parent => {
                return Err(format!(
                    "node '{root}' is the root of your scope; only an administrator can move it"
                ));
            }
            Some(_) => {}
            None if n.parent.is_none() => {
                return Err(format!(
                    "node '{}' would be a new root; only an administrator can add roots",
                    n.id
                ))
            }
            None => {}
        }
        parent.insert(n.id.as_str(), n.parent.as_deref());
    }
    let inside = |id: &str| {
        let mut cur = Some(id);
        for _ in 0..=parent.len() {
            match cur {
                Some(c) if c == root => return true,
                Some(c) => cur = parent.get(c).copied().flatten(),
                None => return false,
            }
        }
        false
    };
    for n in &file.nodes {
        if !inside(&n.id) {
            return Err(format!(
                "node '{}' would be outside your scope '{root}' (parent '{}')",
                n.id,
                n.parent.as_deref().unwrap_or_default()
            ));
        }
    }
    for m in &file.meters {
        if !inside(&m.node) {
            return Err(format!(
                "meter '{}' would be on node '{}', outside your scope '{root}'",
                m.id, m.node
            ));
        }
    }
    let taken =
        |kind: &str, id: &str| format!("{kind} id '{id}' is not available: choose another id");
    if let Some(n) = file
        .nodes
        .iter()
        .find(|n| tree.node(&n.id).is_some() && !node_in_scope(tree, scope, &n.id))
    {
        return Err(taken("node", &n.id));
    }
    if let Some(m) = file
        .meters
        .iter()
        .find(|m| tree.meter(&m.id).is_some() && !meter_in_scope(tree, scope, &m.id))
    {
        return Err(taken("meter", &m.id));
    }
    Ok(())
}
