//! `POST /integrations`: its body, and the sealed row it becomes ([`new_integration`], which
//! `latchkey integration create` uses too).

use super::credentials::{app_settings, IntegrationCredentials};
use super::{public_view, resolve_config, valid_key};
use crate::http::error::ApiError;
use crate::http::extract::{SecretKeyAuth, StrictJson};
use crate::integration_config::secret_aad;
use crate::storage::NewIntegration;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use latchkey_protocol::integrations::{ApiPublicIntegration, AuthMode};
use latchkey_protocol::DataEnvelope;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntegration {
    pub provider: String,
    pub unique_key: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub forward_webhooks: Option<bool>,
    #[serde(default)]
    pub credentials: Option<IntegrationCredentials>,
    /// Values of the provider's `integration_config` schema ([`crate::integration_config`]).
    #[serde(default)]
    pub integration_config: Option<BTreeMap<String, String>>,
}

/// Builds a sealed integration row; shared by the API and the CLI.
pub fn new_integration(
    app: &AppState,
    env_id: i64,
    body: CreateIntegration,
) -> Result<NewIntegration, ApiError> {
    if !valid_key(&body.unique_key) {
        return Err(ApiError::invalid_body(
            vec!["unique_key".into()],
            "must match ^[a-zA-Z0-9~:.@ _-]+$ (max 255)",
        ));
    }
    if app.catalog.get(&body.provider).is_none() {
        return Err(ApiError::invalid_body(
            vec!["provider".into()],
            "Invalid provider",
        ));
    }
    let (client_id, client_secret_enc, scopes) = match &body.credentials {
        Some(c) => {
            if !AuthMode::parse(&c.kind).holds_app_credentials() {
                return Err(ApiError::invalid_body(
                    vec!["credentials".into(), "type".into()],
                    "unsupported credentials type",
                ));
            }
            let (id, secret) = c.id_and_secret()?;
            let sealed = app
                .cipher
                .seal(secret.as_bytes(), &secret_aad(env_id, &body.unique_key));
            (Some(id), Some(sealed), c.scopes.clone())
        }
        None => (None, None, None),
    };
    let mut custom = match &body.integration_config {
        Some(submitted) => resolve_config(app, &body.provider, submitted, None)?,
        None => BTreeMap::new(),
    };
    if let Some(c) = &body.credentials {
        app_settings(c, &mut custom)?;
    }
    let (custom_enc, custom_key_id) =
        crate::integration_config::seal(&app.cipher, env_id, &body.unique_key, &custom);
    Ok(NewIntegration {
        environment_id: env_id,
        unique_key: body.unique_key,
        provider: body.provider,
        display_name: body.display_name,
        client_id,
        key_id: client_secret_enc
            .as_ref()
            .map(|_| app.cipher.key_id().to_string()),
        client_secret_enc,
        scopes,
        custom_enc,
        custom_key_id,
        now: app.clock.now_iso(),
    })
}

pub(crate) async fn create(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    StrictJson(body): StrictJson<CreateIntegration>,
) -> Result<Json<DataEnvelope<ApiPublicIntegration>>, ApiError> {
    let key = body.unique_key.clone();
    let row = new_integration(&app, env.id, body)?;
    if !app.store.save_integration(&row, false).await? {
        return Err(ApiError::invalid_body(
            vec!["unique_key".into()],
            "Unique key already exists",
        ));
    }
    let created = app
        .store
        .integration(env.id, &key)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("integration vanished")))?;
    Ok(Json(DataEnvelope::new(public_view(&app, &created))))
}
