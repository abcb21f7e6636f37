//! `/dashboard/api/…`: the dashboard's private JSON API, authenticated by the session cookie
//! ([`super::auth`]). Each route calls the REST API's own handler for the `dev` environment
//! (the same validation, storage and activity records as `curl` with the secret key), adding only
//! what a browser needs on top: credentials masked until an explicit, logged reveal; keys shown on
//! demand; the catalog searched server-side; the overview's daily counts.
//!
//! One module per resource; the routes, and the environment every route acts on (`dev`), are here.

mod catalog;
mod connections;
mod environment;
mod integrations;
mod logs;
mod overview;
mod preview;
mod session;

use super::auth;
use crate::environment::Environment;
use crate::http::error::ApiError;
use crate::AppState;
use axum::routing::{get, post, put};
use axum::Router;
use catalog::catalog;
use connections::{
    delete_connection, list_connections, refresh_connection, replace_metadata, reveal_connection,
    show_connection,
};
use environment::{reveal_keys, rotate_keys, show_environment, test_webhook, update_settings};
use integrations::{
    create_integration, delete_integration, list_integrations, show_integration, update_integration,
};
use logs::{list_logs, show_log, stream_logs};
use overview::overview;
use preview::preview_session;
use session::{session, sign_in, sign_out, sign_out_everywhere};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/dashboard/api/session",
            get(session).post(sign_in).delete(sign_out),
        )
        .route(
            "/dashboard/api/session/everywhere",
            post(sign_out_everywhere),
        )
        .route("/dashboard/api/overview", get(overview))
        .route("/dashboard/api/catalog", get(catalog))
        .route(
            "/dashboard/api/integrations",
            get(list_integrations).post(create_integration),
        )
        .route(
            "/dashboard/api/integrations/{key}",
            get(show_integration)
                .patch(update_integration)
                .delete(delete_integration),
        )
        .route("/dashboard/api/connections", get(list_connections))
        .route(
            "/dashboard/api/connections/{key}/{id}",
            get(show_connection).delete(delete_connection),
        )
        .route(
            "/dashboard/api/connections/{key}/{id}/reveal",
            post(reveal_connection),
        )
        .route(
            "/dashboard/api/connections/{key}/{id}/refresh",
            post(refresh_connection),
        )
        .route(
            "/dashboard/api/connections/{key}/{id}/metadata",
            put(replace_metadata),
        )
        .route("/dashboard/api/logs", get(list_logs))
        .route("/dashboard/api/logs/stream", get(stream_logs))
        .route("/dashboard/api/logs/{id}", get(show_log))
        .route("/dashboard/api/environment", get(show_environment))
        .route(
            "/dashboard/api/environment/settings",
            axum::routing::patch(update_settings),
        )
        .route("/dashboard/api/environment/keys/reveal", post(reveal_keys))
        .route("/dashboard/api/environment/keys/rotate", post(rotate_keys))
        .route(
            "/dashboard/api/environment/test-webhook",
            post(test_webhook),
        )
        .route("/dashboard/api/preview-session", post(preview_session))
        .layer(axum::Extension(auth::Limits::new()))
}

/// The environment the dashboard operates: `dev`, the one every admin command uses.
async fn dev(app: &AppState) -> Result<std::sync::Arc<Environment>, ApiError> {
    let row = app
        .store
        .environment_by_name(crate::environment::DEV_ENVIRONMENT)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no dev environment")))?;
    crate::http::extract::environment_by_id(app, row.id)
        .await?
        .map(std::sync::Arc::new)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no dev environment")))
}
