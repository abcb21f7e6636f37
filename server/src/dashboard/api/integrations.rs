//! `/dashboard/api/integrations`: the REST API's integration routes, plus what the edit form shows
//! (settings with their schema, secrets only as "set") and an update that keeps the saved secret.

use super::dev;
use crate::dashboard::auth::{Admin, AdminWrite};
use crate::http::error::ApiError;
use crate::http::extract::{Path, SecretKeyAuth, SecretOrSession, StrictJson};
use crate::http::integrations;
use crate::http::integrations::{CreateIntegration, IntegrationCredentials, PatchIntegration};
use crate::integration_config;
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_protocol::dashboard::{IntegrationDetail, IntegrationEdit};
use latchkey_protocol::integrations::AuthMode;

pub(super) async fn list_integrations(
    State(app): State<AppState>,
    _admin: Admin,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    integrations::list(State(app), SecretOrSession::Secret(env))
        .await
        .map(IntoResponse::into_response)
}

/// What the edit form shows: the REST view plus the auth mode, the app's client id and scopes and
/// the settings with their schema; the client secret and secret settings only as "set".
pub(super) async fn show_integration(
    State(app): State<AppState>,
    _admin: Admin,
    Path(key): Path<String>,
) -> Result<Json<IntegrationDetail>, ApiError> {
    let env = dev(&app).await?;
    let row = app
        .store
        .integration(env.id, &key)
        .await?
        .ok_or_else(|| integrations::integration_not_found(&key))?;
    let mode = provider_mode(&app, &row.provider);
    let fields =
        integration_config::fields(integration_config::schema(&app.catalog, &row.provider));
    let mut values = integration_config::open(&app.cipher, &row)?;
    let app_link = values.remove("app_link");
    // A CUSTOM integration's GitHub App key lives with its settings; it never leaves the server.
    values.remove("private_key");
    let is_secret = |name: &str| fields.iter().any(|f| f.name == name && f.secret);
    let config_secrets_set = values.keys().filter(|k| is_secret(k)).cloned().collect();
    values.retain(|k, _| !is_secret(k));
    Ok(Json(IntegrationDetail {
        integration: integrations::public_view(&app, &row),
        auth_mode: mode.as_str().to_string(),
        app_credentials: mode.holds_app_credentials(),
        client_id: row.client_id.clone(),
        client_secret_set: row.client_secret_enc.is_some(),
        scopes: row.scopes.clone(),
        app_link,
        integration_config: fields,
        config_values: values,
        config_secrets_set,
    }))
}

/// The catalog's auth mode of `provider` (an empty `Other` for an entry the engine cannot run).
fn provider_mode(app: &AppState, provider: &str) -> AuthMode {
    integrations::provider_auth_mode(app, provider)
        .cloned()
        .unwrap_or_else(|| AuthMode::Other(String::new()))
}

pub(super) async fn create_integration(
    State(app): State<AppState>,
    _admin: AdminWrite,
    body: StrictJson<CreateIntegration>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    integrations::create(State(app), SecretKeyAuth(env), body)
        .await
        .map(IntoResponse::into_response)
}

/// The REST update, with the saved client secret (and other app credentials) kept for what the form
/// leaves out: the browser never holds the secret, so it cannot send it back.
pub(super) async fn update_integration(
    State(app): State<AppState>,
    _admin: AdminWrite,
    Path(key): Path<String>,
    StrictJson(edit): StrictJson<IntegrationEdit>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    let app_fields = [
        &edit.client_id,
        &edit.client_secret,
        &edit.scopes,
        &edit.app_link,
    ];
    let credentials = if app_fields.iter().all(|f| f.is_none()) {
        None
    } else {
        let row = app
            .store
            .integration(env.id, &key)
            .await?
            .ok_or_else(|| integrations::integration_not_found(&key))?;
        let saved = integrations::app_credentials(&app, &row)?.unwrap_or_default();
        let given = |v: Option<String>| v.filter(|v| !v.is_empty());
        let kind = provider_mode(&app, &row.provider).as_str().to_string();
        let id = given(edit.client_id)
            .or(saved.client_id)
            .unwrap_or_default();
        let secret = given(edit.client_secret)
            .or(saved.client_secret)
            .unwrap_or_default();
        // A GitHub App's id and private key are kept as the client id and secret; a CUSTOM one's
        // (an app with user authorization) with its settings, kept as they are.
        let (client, github) = match kind.as_str() {
            "APP" => ((None, None), (Some(id), Some(secret))),
            "CUSTOM" => {
                let mut custom = crate::integration_config::open(&app.cipher, &row)?;
                (
                    (Some(id), Some(secret)),
                    (custom.remove("app_id"), custom.remove("private_key")),
                )
            }
            _ => ((Some(id), Some(secret)), (None, None)),
        };
        Some(IntegrationCredentials {
            kind,
            client_id: client.0,
            client_secret: client.1,
            scopes: match edit.scopes {
                Some(scopes) => given(Some(scopes)),
                None => saved.scopes,
            },
            app_link: given(edit.app_link).or(saved.app_link),
            app_id: github.0,
            private_key: github.1,
        })
    };
    let body = PatchIntegration {
        unique_key: None,
        display_name: edit.display_name,
        credentials,
        forward_webhooks: None,
        integration_config: edit.integration_config,
    };
    integrations::update(State(app), SecretKeyAuth(env), Path(key), StrictJson(body))
        .await
        .map(IntoResponse::into_response)
}

pub(super) async fn delete_integration(
    State(app): State<AppState>,
    _admin: AdminWrite,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    integrations::remove(State(app), SecretKeyAuth(env), Path(key))
        .await
        .map(IntoResponse::into_response)
}
