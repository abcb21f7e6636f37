//! `POST /auth/unauthenticated/:key` (reference §3.8, `auth_mode: NONE`): records a connection to a
//! provider that needs no credentials, so the customer's backend can list it and attach metadata like
//! any other. The body must be empty (or `{}`).

use super::api_auth::prepare;
use super::error::ApiError;
use super::extract::StrictJson;
use super::extract::{Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use latchkey_protocol::connection::{AuthResult, Credentials};
use latchkey_protocol::integrations::AuthMode;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route(
        &latchkey_protocol::routes::keyed(latchkey_protocol::routes::UNAUTHENTICATED),
        post(unauthenticated),
    )
}

/// No field is allowed.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

async fn unauthenticated(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    StrictJson(EmptyBody {}): StrictJson<EmptyBody>,
) -> Result<Json<AuthResult>, ApiError> {
    let prepared = prepare(&app, &key, &pairs, AuthMode::None).await?;
    let config = prepared.connection_config(&key, &pairs);
    prepared
        .save(&app, &config, &Credentials::Unauthenticated {})
        .await
}
