//! `POST /api-auth/api-key/:key` and `POST /api-auth/basic/:key` (reference §3.8): the browser hands
//! over credentials directly, authenticated by the connect session token in the query string.
//!
//! Session rules as Nango: the session's allowed integrations apply, a reconnect session pins the
//! connection id, and the session's connection-config defaults win over what the browser sent.

use super::error::ApiError;
use super::extract::{query_params, session_from_query, StrictJson};
use crate::oauth::flow::connection_aad;
use crate::sessions;
use crate::storage::NewConnection;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use latchkey_protocol::connection::{AuthResult, Credentials};
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::ErrorCode;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api-auth/api-key/{key}", post(api_key))
        .route("/api-auth/basic/{key}", post(basic))
}

const MAX_CREDENTIAL_LEN: usize = 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyBody {
    #[serde(rename = "apiKey")]
    api_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicBody {
    username: String,
    password: String,
}

async fn api_key(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    StrictJson(body): StrictJson<ApiKeyBody>,
) -> Result<Json<AuthResult>, ApiError> {
    if body.api_key.is_empty() || body.api_key.len() > MAX_CREDENTIAL_LEN {
        return Err(ApiError::invalid_body(
            vec!["apiKey".into()],
            "must be 1 to 1024 characters",
        ));
    }
    let credentials = Credentials::ApiKey {
        api_key: body.api_key,
    };
    save(&app, &key, &pairs, AuthMode::ApiKey, credentials).await
}

async fn basic(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    StrictJson(body): StrictJson<BasicBody>,
) -> Result<Json<AuthResult>, ApiError> {
    for (name, v) in [("username", &body.username), ("password", &body.password)] {
        if v.len() > MAX_CREDENTIAL_LEN {
            return Err(ApiError::invalid_body(
                vec![name.into()],
                "must be at most 1024 characters",
            ));
        }
    }
    let credentials = Credentials::Basic {
        username: body.username,
        password: body.password,
    };
    save(&app, &key, &pairs, AuthMode::Basic, credentials).await
}

async fn save(
    app: &AppState,
    key: &str,
    pairs: &[(String, String)],
    mode: AuthMode,
    credentials: Credentials,
) -> Result<Json<AuthResult>, ApiError> {
    let (env, session) = session_from_query(app, pairs).await?;
    let integration = app.store.integration(env.id, key).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownProviderConfig,
            format!("No integration named '{key}'."),
        )
    })?;
    let provider = app
        .catalog
        .get(&integration.provider)
        .and_then(|e| e.provider.as_ref())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownProviderTemplate,
                "The integration's provider is not in the catalog.",
            )
        })?;
    if provider.auth_mode != mode {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidAuthMode,
            format!("Integration '{key}' does not use this authentication mode."),
        ));
    }
    if !sessions::allows(&session, key) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::IntegrationNotAllowed,
            format!("Integration '{key}' is not allowed by this session."),
        ));
    }
    let config = sessions::connection_config(&session, key, query_params(pairs, "params"));
    let connection_id = sessions::connection_id(&session);
    let sealed = app.cipher.seal(
        &serde_json::to_vec(&credentials).expect("credentials serialize"),
        &connection_aad(env.id, key, &connection_id),
    );
    let created = app
        .store
        .upsert_connection(&NewConnection {
            environment_id: env.id,
            provider_config_key: key.to_string(),
            connection_id: connection_id.clone(),
            provider: integration.provider.clone(),
            credentials_enc: sealed,
            key_id: app.cipher.key_id().to_string(),
            connection_config: serde_json::to_string(&config).expect("map serializes"),
            tags: session.tags.clone().unwrap_or_else(|| "{}".into()),
            end_user: session.end_user.clone(),
            now: crate::time::now_iso(),
        })
        .await?;
    let event = crate::webhooks::auth_event(
        &env.name,
        key,
        &connection_id,
        &integration.provider,
        mode.as_str(),
        if created { "creation" } else { "override" },
        session.tags.as_deref(),
        None,
    );
    crate::webhooks::enqueue_auth(app, env.id, event).await;
    Ok(Json(AuthResult {
        provider_config_key: key.to_string(),
        connection_id,
        is_pending: None,
    }))
}
