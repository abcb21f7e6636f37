//! Token refresh on read (`GET /connection/:id`): when the access token expires within 15 minutes, or
//! when the caller forces it, the server exchanges the refresh token before answering.
//!
//! Concurrent callers for one connection cause exactly one upstream request: each takes the
//! connection's lock, then re-reads the row; whoever comes second finds a fresh token and returns it
//! without calling the provider. A rotated refresh token is stored together with the new access token
//! (one sealed credentials blob, one UPDATE).

use super::flow::{connection_aad, open_client_secret};
use super::token::{request_token, ClientAuth, TokenRequest};
use crate::catalog::{interpolate, param_string};
use crate::storage::ConnectionRow;
use crate::AppState;
use latchkey_protocol::connection::Credentials;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Refresh when the token expires within this window.
pub const REFRESH_WINDOW_SECS: i64 = 15 * 60;

/// One async lock per connection, created on demand.
#[derive(Clone, Default)]
pub struct RefreshLocks {
    locks: Arc<Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>>,
}

impl RefreshLocks {
    fn for_connection(&self, id: i64) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .expect("refresh locks")
            .entry(id)
            .or_default()
            .clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("the connection has no refresh token and its access token has expired")]
    NoRefreshToken,
    #[error("the provider refused to refresh the token: {0}")]
    Upstream(String),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

fn open(app: &AppState, row: &ConnectionRow) -> anyhow::Result<Credentials> {
    let plain = app.cipher.open(
        &row.key_id,
        &row.credentials_enc,
        &connection_aad(
            row.environment_id,
            &row.provider_config_key,
            &row.connection_id,
        ),
    )?;
    Ok(serde_json::from_slice(&plain)?)
}

fn expires_soon(c: &Credentials, now: i64) -> bool {
    match c {
        Credentials::OAuth2 {
            expires_at: Some(at),
            ..
        } => chrono::DateTime::parse_from_rfc3339(at)
            .map(|t| t.timestamp() - now < REFRESH_WINDOW_SECS)
            .unwrap_or(true),
        _ => false,
    }
}

/// Returns the connection's credentials, refreshed first when needed (or when `force`).
pub async fn fresh(
    app: &AppState,
    row: ConnectionRow,
    force: bool,
) -> Result<(ConnectionRow, Credentials), RefreshError> {
    let credentials = open(app, &row)?;
    let is_oauth2 = matches!(credentials, Credentials::OAuth2 { .. });
    if !is_oauth2 || !(force || expires_soon(&credentials, crate::time::now_unix())) {
        return Ok((row, credentials));
    }
    let lock = app.refresh_locks.for_connection(row.id);
    let _guard = lock.lock().await;
    // Re-check after locking: another caller may have refreshed while we waited.
    let row = app
        .store
        .connection(
            row.environment_id,
            &row.provider_config_key,
            &row.connection_id,
        )
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| anyhow::anyhow!("connection deleted during refresh"))?;
    let current = open(app, &row)?;
    let refreshed_meanwhile = access_token(&current) != access_token(&credentials);
    if refreshed_meanwhile && !expires_soon(&current, crate::time::now_unix()) {
        return Ok((row, current));
    }
    let Credentials::OAuth2 {
        refresh_token: Some(refresh_token),
        ..
    } = &current
    else {
        return Err(RefreshError::NoRefreshToken);
    };
    let integration = app
        .store
        .integration(row.environment_id, &row.provider_config_key)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| anyhow::anyhow!("integration deleted"))?;
    let provider = app
        .catalog
        .get(&integration.provider)
        .and_then(|e| e.provider.clone())
        .ok_or_else(|| anyhow::anyhow!("provider {} not in catalog", integration.provider))?;
    let config: BTreeMap<String, String> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&row.connection_config)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, param_string(&v)))
            .collect();
    let template = provider
        .refresh_url
        .as_deref()
        .or_else(|| {
            provider
                .token_url
                .as_ref()
                .and_then(|u| u.for_mode(provider.auth_mode.as_str()))
        })
        .ok_or_else(|| anyhow::anyhow!("provider has no token URL"))?;
    let url = interpolate(template, &config).map_err(|e| RefreshError::Upstream(e.to_string()))?;
    let secret = open_client_secret(app, &integration).map_err(anyhow::Error::from)?;
    let mut params: BTreeMap<String, String> = provider
        .refresh_params
        .iter()
        .map(|(k, v)| (k.clone(), param_string(v)))
        .collect();
    params.insert("grant_type".into(), "refresh_token".into());
    params.insert("refresh_token".into(), refresh_token.clone());
    let auth = ClientAuth::for_provider(&provider);
    let client_id = integration.client_id.clone().unwrap_or_default();
    let tokens = request_token(
        &app.outbound,
        TokenRequest {
            token_url: &url,
            client_id: &client_id,
            client_secret: &secret,
            auth,
            params,
        },
    )
    .await;
    let tokens = match tokens {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(integration = %row.provider_config_key, connection = %row.connection_id, error = %e, "token refresh failed");
            if let Ok(Some(env)) = app.store.environment_by_id(row.environment_id).await {
                let event = crate::webhooks::auth_event(
                    &env.name,
                    &row.provider_config_key,
                    &row.connection_id,
                    &row.provider,
                    provider.auth_mode.as_str(),
                    "refresh",
                    Some(&row.tags),
                    Some(("refresh_token_external_error", &e.to_string())),
                );
                crate::webhooks::enqueue_auth(app, row.environment_id, event).await;
            }
            return Err(RefreshError::Upstream(e.to_string()));
        }
    };
    let new = tokens.into_credentials(Some(refresh_token.clone()));
    let sealed = app.cipher.seal(
        &serde_json::to_vec(&new).expect("credentials serialize"),
        &connection_aad(
            row.environment_id,
            &row.provider_config_key,
            &row.connection_id,
        ),
    );
    let now = crate::time::now_iso();
    app.store
        .update_connection_credentials(row.id, &sealed, app.cipher.key_id(), &now)
        .await
        .map_err(anyhow::Error::from)?;
    tracing::info!(integration = %row.provider_config_key, connection = %row.connection_id, "token refreshed");
    let row = ConnectionRow {
        credentials_enc: sealed,
        key_id: app.cipher.key_id().to_string(),
        updated_at: now,
        ..row
    };
    Ok((row, new))
}

fn access_token(c: &Credentials) -> Option<&str> {
    match c {
        Credentials::OAuth2 { access_token, .. } => Some(access_token),
        _ => None,
    }
}
