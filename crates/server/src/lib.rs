//! The shulv HTTP API: thin axum handlers over [`shulv_platform::Platform`], token
//! authentication on every route but `/healthz`, Prometheus `/metrics`, and an OpenAPI 3
//! document at `/openapi.json` generated from the handlers themselves.

mod auth;
mod error;
mod metrics;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{middleware, Json, Router};
use parking_lot::RwLock;
use shulv_platform::Platform;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::Tokens;

/// Largest request body accepted (a CSV import of a month of a large site).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    platform: Arc<Platform>,
    tokens: Arc<RwLock<Tokens>>,
    metrics: Arc<metrics::Metrics>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "shulv (数绿) API",
        description = "Digital energy-carbon management platform: meter data in, energy and carbon out. Every route except /healthz needs `Authorization: Bearer <token>`."
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

/// Routes that need a token, with their OpenAPI descriptions.
fn protected_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::metrics))
        .routes(routes!(routes::status))
        .routes(routes!(routes::write_v2))
        .routes(routes!(routes::write_v1))
        .routes(routes!(routes::write_json))
        .routes(routes!(routes::write_csv))
        .routes(routes!(routes::get_registry, routes::post_registry))
        .routes(routes!(routes::post_replacement))
        .routes(routes!(routes::query))
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = protected_routes()
        .routes(routes!(routes::healthz))
        .split_for_parts();
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
    api
}

/// Builds the application router.
pub fn router(platform: Arc<Platform>, tokens: Tokens) -> Router {
    let state = AppState {
        platform,
        tokens: Arc::new(RwLock::new(tokens)),
        metrics: Arc::new(metrics::Metrics::default()),
    };
    let document = Arc::new(openapi());
    let (protected, _) = protected_routes()
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move { Json(document.as_ref().clone()) }
            }),
        )
        .split_for_parts();
    let protected = protected.layer(middleware::from_fn_with_state(
        state.clone(),
        auth::require_token,
    ));
    Router::new()
        .route("/healthz", get(routes::healthz))
        .merge(protected)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves `router` on `addr` until Ctrl-C or SIGTERM.
pub async fn serve(router: Router, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Binds `addr`, with a clear error when the port is taken.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
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
