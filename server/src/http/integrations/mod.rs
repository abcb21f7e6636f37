//! `GET|POST /integrations`, `GET|PATCH|DELETE /integrations/:key` (reference §3.15). An integration
//! is a provider from the catalog plus this environment's OAuth app credentials; the client secret is
//! sealed with the integration's identity (environment + unique key) as associated data, so a rename
//! re-seals it.
//!
//! Here: the routes, the public view and what every route looks up; each route with what only it
//! needs in `create.rs` (with the row the CLI saves too), `show.rs` (with the app credentials) and
//! `update.rs`; the app credentials of a body and their checks in `credentials.rs`.

mod create;
mod credentials;
mod show;
mod update;

pub(crate) use create::create;
pub use create::{new_integration, CreateIntegration};
pub use credentials::IntegrationCredentials;
pub use show::app_credentials;
pub(crate) use show::show;
pub(crate) use update::update;
pub use update::PatchIntegration;

use super::error::ApiError;
use super::extract::{Path, SecretKeyAuth, SecretOrSession};
use crate::sessions;
use crate::storage::IntegrationRow;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use latchkey_protocol::integrations::{ApiPublicIntegration, AuthMode};
use latchkey_protocol::{DataEnvelope, ErrorCode};
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            latchkey_protocol::routes::INTEGRATIONS,
            get(list).post(create),
        )
        .route(
            "/integrations/{key}",
            get(show).patch(update).delete(remove),
        )
}

/// Validates `integration_config` values against the provider's schema; Nango's `invalid_body` with
/// one issue per field.
fn resolve_config(
    app: &AppState,
    provider: &str,
    submitted: &BTreeMap<String, String>,
    existing: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, ApiError> {
    if submitted.values().any(|v| v.len() > 8192) {
        return Err(ApiError::invalid_body(
            vec!["integration_config".into()],
            "values are at most 8192 characters",
        ));
    }
    let schema = crate::integration_config::schema(&app.catalog, provider);
    crate::integration_config::resolve(schema, submitted, existing).map_err(|errors| {
        ApiError::Invalid {
            code: ErrorCode::InvalidBody,
            issues: errors
                .into_iter()
                .map(|e| latchkey_protocol::ValidationIssue {
                    code: "invalid".into(),
                    message: e.message,
                    path: vec!["integration_config".into(), e.field],
                })
                .collect(),
        }
    })
}

pub fn public_view(app: &AppState, row: &IntegrationRow) -> ApiPublicIntegration {
    let provider_name = app
        .catalog
        .get(&row.provider)
        .and_then(|e| e.raw.get("display_name"))
        .and_then(|v| v.as_str())
        .unwrap_or(&row.provider)
        .to_string();
    ApiPublicIntegration {
        unique_key: row.unique_key.clone(),
        provider: row.provider.clone(),
        display_name: row.display_name.clone().unwrap_or(provider_name),
        logo: super::assets::logo_url(&app.config.public_url, &row.provider),
        forward_webhooks: false,
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 255
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "~:.@ _-".contains(c))
}

pub(crate) async fn list(
    State(app): State<AppState>,
    who: SecretOrSession,
) -> Result<Json<DataEnvelope<Vec<ApiPublicIntegration>>>, ApiError> {
    let (env_id, session) = match &who {
        SecretOrSession::Secret(env) => (env.id, None),
        SecretOrSession::Session(s) => (s.env.id, Some(&s.session)),
    };
    let rows = app.store.list_integrations(env_id).await?;
    let data = rows
        .iter()
        .filter(|r| {
            session
                .map(|s| sessions::allows(s, &r.unique_key))
                .unwrap_or(true)
        })
        .map(|r| public_view(&app, r))
        .collect();
    Ok(Json(DataEnvelope::new(data)))
}

/// The catalog's auth mode of `provider` (`None` for an entry the engine cannot run).
pub fn provider_auth_mode<'a>(app: &'a AppState, provider: &str) -> Option<&'a AuthMode> {
    app.catalog
        .get(provider)
        .and_then(|e| e.provider.as_ref())
        .map(|p| &p.auth_mode)
}

pub(crate) fn integration_not_found(key: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        format!("Integration \"{key}\" does not exist"),
    )
}

pub(crate) async fn remove(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Path(key): Path<String>,
) -> Result<Json<super::Success>, ApiError> {
    if !app.store.delete_integration(env.id, &key).await? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "Integration does not exist",
        ));
    }
    Ok(Json(super::Success { success: true }))
}
