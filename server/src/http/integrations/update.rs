//! `PATCH /integrations/:key`: a rename, new app credentials, merged `integration_config` values;
//! whatever is sealed for the key is sealed again for the new one.

use super::credentials::{app_settings, IntegrationCredentials};
use super::{integration_not_found, public_view, resolve_config, valid_key};
use crate::http::error::ApiError;
use crate::http::extract::{Path, SecretKeyAuth, StrictJson};
use crate::integration_config::secret_aad;
use crate::storage::NewIntegration;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use latchkey_protocol::integrations::ApiPublicIntegration;
use latchkey_protocol::{DataEnvelope, ErrorCode};
use serde::Deserialize;
use std::collections::BTreeMap;

/// `PATCH /integrations/:key` body (Nango's `PatchPublicIntegration`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchIntegration {
    /// Renames the integration; refused while it has connections (Nango's rule).
    #[serde(default)]
    pub unique_key: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Replaces the OAuth app credentials (and scopes); the type must be the provider's auth mode.
    #[serde(default)]
    pub credentials: Option<IntegrationCredentials>,
    #[serde(default)]
    pub forward_webhooks: Option<bool>,
    /// Values merged into the integration's `integration_config` (an empty optional one clears it).
    #[serde(default)]
    pub integration_config: Option<BTreeMap<String, String>>,
}

pub(crate) async fn update(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Path(key): Path<String>,
    StrictJson(body): StrictJson<PatchIntegration>,
) -> Result<Json<DataEnvelope<ApiPublicIntegration>>, ApiError> {
    let row = app
        .store
        .integration(env.id, &key)
        .await?
        .ok_or_else(|| integration_not_found(&key))?;
    let provider = app
        .catalog
        .get(&row.provider)
        .and_then(|e| e.provider.as_ref())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                format!("Unknown provider {}", row.provider),
            )
        })?;
    if let Some(c) = &body.credentials {
        if c.kind != provider.auth_mode.as_str() {
            return Err(ApiError::invalid_body(
                vec!["credentials".into(), "type".into()],
                "incompatible credentials auth type and provider auth",
            ));
        }
    }
    if let Some(name) = &body.display_name {
        if name.is_empty() || name.chars().count() > 255 {
            return Err(ApiError::invalid_body(
                vec!["display_name".into()],
                "must be 1 to 255 characters",
            ));
        }
    }
    let new_key = match body.unique_key.as_deref().filter(|k| *k != key) {
        None => key.clone(),
        Some(new_key) => {
            if !valid_key(new_key) {
                return Err(ApiError::invalid_body(
                    vec!["unique_key".into()],
                    "must match ^[a-zA-Z0-9~:.@ _-]+$ (max 255)",
                ));
            }
            if app.store.integration(env.id, new_key).await?.is_some() {
                return Err(ApiError::invalid_body(
                    vec!["unique_key".into()],
                    "uniqueKey is already used by another integration",
                ));
            }
            let in_use = app
                .store
                .list_connections(env.id)
                .await?
                .iter()
                .any(|c| c.provider_config_key == key);
            if in_use {
                return Err(ApiError::invalid_body(
                    vec!["unique_key".into()],
                    "Can't rename an integration with active connections",
                ));
            }
            new_key.to_string()
        }
    };
    // The secret is bound to the key it was sealed for: new credentials are sealed for the new key;
    // kept ones are opened with the old key and sealed again when the key changes.
    let (client_id, client_secret_enc, scopes) = match &body.credentials {
        Some(c) => {
            let (id, secret) = c.id_and_secret()?;
            (
                Some(id),
                Some(
                    app.cipher
                        .seal(secret.as_bytes(), &secret_aad(env.id, &new_key)),
                ),
                c.scopes.clone(),
            )
        }
        None => {
            let secret = match (&row.client_secret_enc, new_key != key) {
                (Some(_), true) => {
                    let plain = crate::integration_config::client_secret(&app.cipher, &row)?;
                    Some(
                        app.cipher
                            .seal(plain.expose().as_bytes(), &secret_aad(env.id, &new_key)),
                    )
                }
                _ => row.client_secret_enc.clone(),
            };
            (row.client_id.clone(), secret, row.scopes.clone())
        }
    };
    // `integration_config` is sealed for the key too: merged, or re-sealed on a rename.
    let new_link = body.credentials.is_some();
    let (custom_enc, custom_key_id) =
        if body.integration_config.is_some() || new_key != key || new_link {
            let existing = crate::integration_config::open(&app.cipher, &row)?;
            let mut custom = match &body.integration_config {
                Some(submitted) => resolve_config(&app, &row.provider, submitted, Some(&existing))?,
                None => existing,
            };
            if let Some(c) = body.credentials.as_ref().filter(|_| new_link) {
                app_settings(c, &mut custom)?;
            }
            crate::integration_config::seal(&app.cipher, env.id, &new_key, &custom)
        } else {
            (row.custom_enc.clone(), row.custom_key_id.clone())
        };
    let reseal = client_secret_enc != row.client_secret_enc;
    let updated = NewIntegration {
        environment_id: env.id,
        unique_key: new_key.clone(),
        provider: row.provider.clone(),
        display_name: body.display_name.or(row.display_name.clone()),
        client_id,
        key_id: match (&client_secret_enc, reseal) {
            (Some(_), true) => Some(app.cipher.key_id().to_string()),
            (Some(_), false) => row.key_id.clone(),
            (None, _) => None,
        },
        client_secret_enc,
        scopes,
        custom_enc,
        custom_key_id,
        now: app.clock.now_iso(),
    };
    if !app.store.update_integration(&key, &updated).await? {
        return Err(integration_not_found(&key));
    }
    let saved = app
        .store
        .integration(env.id, &new_key)
        .await?
        .ok_or_else(|| integration_not_found(&new_key))?;
    Ok(Json(DataEnvelope::new(public_view(&app, &saved))))
}
