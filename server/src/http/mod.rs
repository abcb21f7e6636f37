//! HTTP layer: one router per resource module, merged here with the cross-cutting layers (CORS for
//! bearer-token API calls, body size limit, security headers, tracing).

pub mod api_auth;
pub mod assets;
pub mod client_credentials;
pub mod connect_sessions;
pub mod connections;
pub mod credential_auth;
pub mod embedded;
pub mod environment;
pub mod error;
pub mod extract;
pub mod integrations;
pub mod logs;
pub mod oauth;
pub mod openapi;
pub mod ops;
pub mod outbox;
pub mod provider_webhooks;
pub mod providers;
pub mod proxy;
pub mod rate_limit;
pub mod security;
pub mod unauthenticated;

use crate::AppState;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::{header, HeaderName, Method};
use axum::response::{IntoResponse, Response};
use axum::Router;
use extract::Query;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted (credentials, metadata): generous for JSON, far from a DoS.
const BODY_LIMIT: usize = 256 * 1024;

/// The whole HTTP surface: the REST API, the OAuth pages, the proxy, the static bundles, and
/// `dashboard`'s routes (the admin UI's API, built by [`crate::dashboard::router`] and mounted here by
/// the caller so that this layer does not depend on the dashboard built on top of it), all under the
/// same body limit, error envelope, metrics and security headers.
pub fn router(app: AppState, dashboard: Router<AppState>) -> Router {
    // Nothing authenticates by ambient cookie, so any origin may call the API with a bearer token.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            HeaderName::from_static("provider-config-key"),
            HeaderName::from_static("connection-id"),
        ])
        .max_age(std::time::Duration::from_secs(600))
        .expose_headers([
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
        ]);
    let api = Router::new()
        .merge(connect_sessions::router())
        .merge(integrations::router())
        .merge(providers::router())
        .merge(connections::router())
        .merge(environment::router())
        .merge(outbox::router())
        .merge(logs::router())
        .merge(api_auth::router())
        .merge(client_credentials::router())
        .merge(credential_auth::router())
        .merge(unauthenticated::router())
        .merge(oauth::result_router());
    // The proxy streams bodies of any size (with its own limits), so it is kept out of BODY_LIMIT;
    // it shares the REST API's rate limit (one budget per key) and CORS.
    let proxied = Router::new().nest("/proxy", proxy::router());
    // Per-key rate limit (LATCHKEY_RATE_LIMIT_PER_MINUTE), inside CORS so a 429 is readable by browsers.
    let (api, proxied) = match rate_limit::Limiter::configured(&app, rate_limit::KeyMode::Caller) {
        Some(limiter) => (
            api.layer(axum::middleware::from_fn_with_state(
                limiter.clone(),
                rate_limit::limit,
            )),
            proxied.layer(axum::middleware::from_fn_with_state(
                limiter,
                rate_limit::limit,
            )),
        ),
        None => (api, proxied),
    };
    let limited = Router::new()
        .merge(api.layer(cors.clone()))
        .merge(oauth::router(&app))
        .merge(provider_webhooks::router())
        .merge(openapi::router())
        .merge(ops::router())
        .merge(assets::router(&app))
        .merge(dashboard)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT));
    Router::new()
        .merge(limited)
        .merge(proxied.layer(cors))
        .fallback(error::not_found)
        // Sees the matched route template (set by the router before its layers run).
        .layer(axum::middleware::from_fn(crate::metrics::track))
        // Outside the body limit, so its 413 (and every other framework rejection) is enveloped.
        .layer(axum::middleware::from_fn(error::envelope))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            security::headers,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // The path only: query strings carry session tokens and OAuth codes.
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            }),
        )
        .with_state(app)
}

/// `GET /` without an upgrade: what this server is.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ServerInfo {
    /// Always `latchkey`.
    pub name: &'static str,
    pub version: &'static str,
}

/// `{"success": true}`: Nango's answer to a deletion.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Success {
    pub success: bool,
}

/// `/` is the WebSocket result channel (Nango's default `websocketsPath`); a plain GET says what this is.
pub(super) async fn root(
    State(app): State<AppState>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match ws {
        Ok(upgrade) => {
            crate::ws::upgrade_resuming(app.ws.clone(), upgrade, q.get("ws_client_id").cloned())
                .await
        }
        Err(_) => axum::Json(ServerInfo {
            name: "latchkey",
            version: env!("CARGO_PKG_VERSION"),
        })
        .into_response(),
    }
}
