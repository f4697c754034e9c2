//! The shulv HTTP API: thin axum handlers over [`shulv_platform::Platform`], access control on
//! every route but `/healthz` and `/api/v1/login` (roles and tree scopes of `shulv-auth`),
//! Prometheus `/metrics`, and an OpenAPI 3 document at `/openapi.json` generated from the
//! handlers themselves. The web console (`web/`, embedded at compile time) is served at `/`.
//!
//! Every route is declared once, in [`api_routes`], with its OpenAPI description; the router and
//! the document are split from that one value, and [`access::policy`] must name an access rule
//! for each of them (a route without a rule is refused for everyone).

pub mod access;
mod accounting;
mod activity_data;
mod admin;
mod backup;
mod certificates;
mod collectors;
mod connections;
mod console;
mod error;
mod evaluate;
mod forecasting;
mod headers;
mod influx;
mod influx_query;
mod ingest;
mod instant;
mod json_errors;
mod limits;
mod metrics;
mod openapi_errors;
mod optimisation;
mod overview;
mod query;
mod registry;
mod routes;
mod system;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::{middleware, Json, Router};
use shulv_auth::AccessControl;
use shulv_platform::Platform;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use connections::{max_connections_for, ConnectionLimits};
pub use shulv_auth;

/// Largest body of the ingest routes (a CSV import of a month of a large site).
pub const MAX_INGEST_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Largest body of `POST /api/v1/registry` (a registry of tens of thousands of meters) and of
/// `POST /api/v1/evaluations` (panels of every province, year and indicator).
pub const MAX_REGISTRY_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Largest body of `POST /api/v1/login` (a user name and a password; it needs no credential,
/// so what it can make the server read and audit is kept small).
pub const MAX_LOGIN_BODY_BYTES: usize = 4 * 1024;
/// Largest body of every other route (users, tokens, replacements).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Settings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Take the client address from the last `X-Forwarded-For` entry (only behind a proxy
    /// that sets it); otherwise the connection's peer address is used.
    pub trust_forwarded_for: bool,
    /// Time limit of a request (reading the body included), ingest routes excepted.
    pub request_timeout: Duration,
    /// Time limit of an ingest request.
    pub ingest_timeout: Duration,
    /// Default of the accounting routes' `allow_unconfirmed`: let factors that are not
    /// confirmed (status S) be chosen by default. Off unless the operator sets it.
    pub allow_unconfirmed_factors: bool,
    /// More Prometheus text appended to `/metrics` (region mode's publisher and federation).
    pub extra_metrics: Option<ExtraMetrics>,
}

/// A source of Prometheus text lines for `/metrics`, called on every scrape.
#[derive(Clone)]
pub struct ExtraMetrics(pub Arc<dyn Fn() -> String + Send + Sync>);

impl std::fmt::Debug for ExtraMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExtraMetrics")
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            trust_forwarded_for: false,
            request_timeout: Duration::from_secs(30),
            ingest_timeout: Duration::from_secs(300),
            allow_unconfirmed_factors: false,
            extra_metrics: None,
        }
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    platform: Arc<Platform>,
    access: Arc<AccessControl>,
    metrics: Arc<metrics::Metrics>,
    config: Arc<ServerConfig>,
    collectors: Arc<collectors::Book>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "shulv (数绿) API",
        description = "Digital energy-carbon management platform: meter data in, energy and carbon out. Every route except /healthz and /api/v1/login needs `Authorization: Bearer <token>` (an API token or a session token from /api/v1/login); what it may do depends on its role and scope."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

/// Declares the bearer-token scheme in the document.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route of the API, with its OpenAPI description and body limit. `/openapi.json` is the
/// only route added outside (in [`router`]); it is described by hand in [`openapi`].
fn api_routes() -> OpenApiRouter<AppState> {
    let ingest = OpenApiRouter::new()
        .routes(routes!(ingest::write_v2))
        .routes(routes!(ingest::write_v1))
        .routes(routes!(ingest::write_json))
        .routes(routes!(ingest::write_csv))
        .layer(DefaultBodyLimit::max(MAX_INGEST_BODY_BYTES));
    let factors = OpenApiRouter::new()
        .routes(routes!(accounting::add_factors))
        .layer(DefaultBodyLimit::max(MAX_REGISTRY_BODY_BYTES));
    let registry = OpenApiRouter::new()
        .routes(routes!(registry::get_registry, registry::post_registry))
        .layer(DefaultBodyLimit::max(MAX_REGISTRY_BODY_BYTES));
    let login = OpenApiRouter::new()
        .routes(routes!(admin::login))
        .layer(DefaultBodyLimit::max(MAX_LOGIN_BODY_BYTES));
    let collectors = OpenApiRouter::new()
        .routes(routes!(collectors::post_status))
        .layer(DefaultBodyLimit::max(collectors::MAX_REPORT_BODY_BYTES));
    let evaluations = OpenApiRouter::new()
        .routes(routes!(evaluate::evaluate))
        .routes(routes!(evaluate::template))
        .layer(DefaultBodyLimit::max(MAX_REGISTRY_BODY_BYTES));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::healthz))
        .routes(routes!(influx::ping))
        .routes(routes!(system::metrics))
        .routes(routes!(system::status))
        .routes(routes!(registry::post_replacement))
        .routes(routes!(query::query))
        .routes(routes!(accounting::account))
        .routes(routes!(accounting::carbon_grades))
        .routes(routes!(accounting::list_factors))
        .routes(routes!(certificates::list, certificates::register))
        .routes(routes!(certificates::retire))
        .routes(routes!(activity_data::list, activity_data::add))
        .routes(routes!(activity_data::delete))
        .routes(routes!(forecasting::forecast))
        .routes(routes!(forecasting::list))
        .routes(routes!(forecasting::show))
        .routes(routes!(
            optimisation::list_tariffs,
            optimisation::add_tariff
        ))
        .routes(routes!(optimisation::get_tariff))
        .routes(routes!(optimisation::bill))
        .routes(routes!(optimisation::compare_tariffs))
        .routes(routes!(optimisation::schedule))
        .routes(routes!(overview::overview))
        .routes(routes!(influx_query::query_get, influx_query::query_post))
        .routes(routes!(collectors::list))
        .routes(routes!(collectors::remove))
        .routes(routes!(admin::logout))
        .routes(routes!(admin::list_users, admin::create_user))
        .routes(routes!(admin::disable_user))
        .routes(routes!(admin::list_tokens, admin::create_token))
        .routes(routes!(admin::revoke_token))
        .routes(routes!(admin::audit))
        .routes(routes!(backup::backup))
        .merge(ingest)
        .merge(registry)
        .merge(factors)
        .merge(evaluations)
        .merge(collectors)
        .merge(login)
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = api_routes().split_for_parts();
    api.paths.paths.insert(
        "/openapi.json".to_string(),
        utoipa::openapi::path::PathItem::new(
            utoipa::openapi::HttpMethod::Get,
            utoipa::openapi::path::OperationBuilder::new()
                .summary(Some("This OpenAPI 3 document"))
                .tag("system")
                .response("200", utoipa::openapi::Response::new("OpenAPI document")),
        ),
    );
    openapi_errors::add(&mut api);
    api
}

/// Builds the application router.
pub fn router(platform: Arc<Platform>, access: Arc<AccessControl>, config: ServerConfig) -> Router {
    let state = AppState {
        collectors: Arc::new(collectors::Book::open(platform.data_dir())),
        platform,
        access,
        metrics: Arc::new(metrics::Metrics::default()),
        config: Arc::new(config),
    };
    let document = Arc::new(openapi());
    let (routes, _) = api_routes()
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move { Json(document.as_ref().clone()) }
            }),
        )
        .split_for_parts();
    routes
        .merge(console::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), access::gate))
        .fallback(console::fallback)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::limits,
        ))
        .layer(middleware::map_response(json_errors::json_errors))
        .layer(middleware::from_fn(headers::security_headers))
        .with_state(state)
}

/// Serves `router` on `listener` over plain HTTP under `limits` until Ctrl-C or SIGTERM.
pub async fn serve(
    router: Router,
    listener: tokio::net::TcpListener,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    connections::serve(router, listener, None, limits, shutdown_signal()).await
}

/// Loads a PEM certificate chain and private key for [`serve_tls`] (rustls with the `ring`
/// provider).
pub async fn tls_config(
    cert: &Path,
    key: &Path,
) -> std::io::Result<axum_server::tls_rustls::RustlsConfig> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "TLS certificate {} / key {}: {e}",
                    cert.display(),
                    key.display()
                ),
            )
        })
}

/// Serves `router` on `listener` over HTTPS (HTTP/2 or HTTP/1.1) under `limits` until Ctrl-C
/// or SIGTERM.
pub async fn serve_tls(
    router: Router,
    listener: tokio::net::TcpListener,
    tls: axum_server::tls_rustls::RustlsConfig,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    connections::serve(
        router,
        listener,
        Some(tls.get_inner()),
        limits,
        shutdown_signal(),
    )
    .await
}

/// Binds `addr`, with a clear error when the port is taken.
pub async fn bind(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests;
