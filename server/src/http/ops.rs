//! Endpoints for operators and their tooling, on the main port:
//!
//! - `GET /health`: liveness. 200 whenever the process answers HTTP (no database round trip, so a
//!   slow database does not get replicas restarted).
//! - `GET /ready`: readiness. 200 when the database answers and the `dev` environment's keys open
//!   with the configured encryption key; 503 with the error envelope saying which check failed.
//! - `GET /metrics`: Prometheus text format ([`crate::metrics`]). When `LATCHKEY_METRICS_TOKEN` is set
//!   it requires `Authorization: Bearer <token>` (401 otherwise); unset, it is open like most
//!   exporters: keep the port private or set the token.

use super::error::ApiError;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use latchkey_protocol::ErrorCode;
use subtle::ConstantTimeEq as _;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
}

/// `GET /health`'s answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// `GET /ready`'s answer when ready.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// Always `ok`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
}

async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// What `/ready` (and `latchkey doctor`) check: the database answers, the keys open.
pub async fn readiness(app: &AppState) -> Result<(), String> {
    app.store
        .ping()
        .await
        .map_err(|e| format!("the database does not answer: {e}"))?;
    let row = app
        .store
        .environment_by_name(crate::environment::DEV_ENVIRONMENT)
        .await
        .map_err(|e| format!("the database does not answer: {e}"))?
        .ok_or("the dev environment is missing from the database")?;
    crate::environment::Environment::open(&row, &app.cipher).map_err(|_| {
        "the environment's keys do not open with this encryption key (LATCHKEY_ENCRYPTION_KEY differs from the one they were sealed with)".to_string()
    })?;
    Ok(())
}

async fn ready(State(app): State<AppState>) -> Response {
    match readiness(&app).await {
        Ok(()) => Json(Ready {
            status: "ok",
            database: app.store.backend(),
        })
        .into_response(),
        Err(why) => {
            tracing::warn!(reason = %why, "not ready");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::ServerError, why)
                .into_response()
        }
    }
}

async fn metrics(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = &app.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::UnknownAccount,
                "GET /metrics needs `Authorization: Bearer <LATCHKEY_METRICS_TOKEN>`.",
            ));
        }
    }
    let text = crate::metrics::render(&app.store).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}
