//! `POST /connect/sessions`, `GET|DELETE /connect/session` (reference §3.1–3.4).
//!
//! A session token is 256 random bits behind Nango's prefix, shown once to the backend that asked for
//! it and stored only as its SHA-256. It lives 30 minutes and is scoped to its environment and to
//! its `allowed_integrations`.

use super::error::ApiError;
use super::extract::{SecretKeyAuth, SessionTokenAuth, StrictJson};
use crate::{time, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_protocol::connect::{
    ConnectSessionCreated, ConnectSessionInfo, CreateConnectSessionRequest,
    CreateReconnectSessionRequest, EndUser, Organization, SessionEndUser,
};
use latchkey_protocol::params::{DEFAULT_WEBSOCKETS_PATH, SESSION_TOKEN};
use latchkey_protocol::DataEnvelope;
use std::collections::BTreeMap;

pub const SESSION_TTL_SECS: i64 = 30 * 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/connect/sessions", post(create_session))
        .route(
            "/connect/sessions/reconnect",
            post(create_reconnect_session),
        )
        .route(
            latchkey_protocol::routes::CONNECT_SESSION,
            get(get_session).delete(delete_session),
        )
}

fn validate(body: &CreateConnectSessionRequest) -> Result<(), ApiError> {
    let field = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match &body.end_user {
        None if body.tags.is_none() => {
            return Err(ApiError::invalid_body(
                field(&["end_user"]),
                "end_user is required unless tags are provided",
            ))
        }
        Some(u) if u.id.is_empty() || u.id.len() > 255 => {
            return Err(ApiError::invalid_body(
                field(&["end_user", "id"]),
                "must be 1 to 255 characters",
            ))
        }
        Some(EndUser { email: Some(e), .. }) if e.len() < 5 || !e.contains('@') => {
            return Err(ApiError::invalid_body(
                field(&["end_user", "email"]),
                "must be an email address",
            ))
        }
        _ => {}
    }
    if let Some(org) = &body.organization {
        if org.id.is_empty() || org.id.len() > 255 {
            return Err(ApiError::invalid_body(
                field(&["organization", "id"]),
                "must be 1 to 255 characters",
            ));
        }
    }
    if let Some(tags) = &body.tags {
        if tags.len() > 10 {
            return Err(ApiError::invalid_body(field(&["tags"]), "at most 10 tags"));
        }
        for (k, v) in tags {
            let key_ok = k.len() <= 64
                && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c));
            if !key_ok || v.is_empty() || v.len() > 255 {
                return Err(ApiError::invalid_body(
                    vec!["tags".into(), k.clone()],
                    "invalid tag",
                ));
            }
        }
    }
    Ok(())
}

/// Nango's tag rule ([`crate::sessions::nango_tags`]) for a new session.
fn session_tags(body: &CreateConnectSessionRequest) -> BTreeMap<String, String> {
    crate::sessions::nango_tags(
        body.end_user.as_ref(),
        body.organization.as_ref(),
        body.tags.as_ref(),
    )
}

pub(crate) async fn create_session(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    StrictJson(body): StrictJson<CreateConnectSessionRequest>,
) -> Result<(StatusCode, Json<DataEnvelope<ConnectSessionCreated>>), ApiError> {
    issue(&app, env.id, body, None).await
}

/// A session that re-authorizes one existing connection: any auth with it updates that connection
/// (webhook operation `override`), and only its integration is allowed.
pub(crate) async fn create_reconnect_session(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    StrictJson(body): StrictJson<CreateReconnectSessionRequest>,
) -> Result<(StatusCode, Json<DataEnvelope<ConnectSessionCreated>>), ApiError> {
    let Some(existing) = app
        .store
        .connection(env.id, &body.integration_id, &body.connection_id)
        .await?
    else {
        return Err(ApiError::invalid_body(
            vec!["connection_id".into()],
            "ConnectionID or IntegrationId does not exists",
        ));
    };
    let session = CreateConnectSessionRequest {
        end_user: body.end_user,
        organization: body.organization,
        allowed_integrations: Some(vec![body.integration_id]),
        integrations_config_defaults: body.integrations_config_defaults,
        overrides: body.overrides,
        webhook_url_override: body.webhook_url_override,
        // A reconnect may name no end user: the connection keeps the tags it has.
        tags: body
            .tags
            .or_else(|| serde_json::from_str(&existing.tags).ok())
            .or_else(|| Some(Default::default())),
    };
    issue(&app, env.id, session, Some(body.connection_id)).await
}

pub(crate) async fn issue(
    app: &AppState,
    env_id: i64,
    body: CreateConnectSessionRequest,
    reconnect_connection_id: Option<String>,
) -> Result<(StatusCode, Json<DataEnvelope<ConnectSessionCreated>>), ApiError> {
    validate(&body)?;
    let referenced = body
        .allowed_integrations
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, k)| {
            (
                vec!["allowed_integrations".to_string(), i.to_string()],
                k.clone(),
            )
        })
        .chain(
            body.integrations_config_defaults
                .iter()
                .flat_map(|m| m.keys())
                .map(|k| {
                    (
                        vec!["integrations_config_defaults".to_string(), k.clone()],
                        k.clone(),
                    )
                }),
        );
    for (path, key) in referenced {
        if app.store.integration(env_id, &key).await?.is_none() {
            return Err(ApiError::invalid_body(path, "Integration does not exist"));
        }
    }
    let token = crate::sessions::new_token();
    let token_hash = crate::sessions::storage_key(&token);
    let expires_at = app.clock.now_unix() + SESSION_TTL_SECS;
    app.store
        .insert_connect_session(&crate::storage::NewConnectSession {
            environment_id: env_id,
            token_hash: token_hash.clone(),
            end_user: json(&body.end_user),
            organization: json(&body.organization),
            allowed_integrations: json(&body.allowed_integrations),
            integrations_config_defaults: json(&body.integrations_config_defaults)
                .map(|j| crate::sessions::seal_defaults(&app.cipher, &token_hash, &j)),
            tags: Some(serde_json::to_string(&session_tags(&body)).expect("serializable")),
            reconnect_connection_id: reconnect_connection_id.clone(),
            expires_at,
            created_at: app.clock.now_iso(),
        })
        .await?;
    crate::activity::hooks::session_created(
        &app.activity,
        env_id,
        body.end_user.as_ref().map(|u| u.id.as_str()),
        reconnect_connection_id.as_deref(),
        body.allowed_integrations.as_deref(),
    );
    let mut link =
        url::Url::parse(&app.config.connect_ui_url()).map_err(|e| ApiError::Internal(e.into()))?;
    link.query_pairs_mut().append_pair(SESSION_TOKEN, &token);
    Ok((
        StatusCode::CREATED,
        Json(DataEnvelope::new(ConnectSessionCreated {
            token,
            connect_link: link.to_string(),
            expires_at: time::unix_to_iso(expires_at),
        })),
    ))
}

pub(crate) async fn get_session(
    auth: SessionTokenAuth,
) -> Result<Json<DataEnvelope<ConnectSessionInfo>>, ApiError> {
    let s = &auth.session;
    let end_user: Option<EndUser> = parse(&s.end_user);
    let organization: Option<Organization> = parse(&s.organization);
    Ok(Json(DataEnvelope::new(ConnectSessionInfo {
        end_user: end_user.map(|u| SessionEndUser {
            id: u.id,
            display_name: u.display_name,
            email: u.email,
            tags: u.tags,
            organization,
        }),
        connect_ui_settings: auth.env.settings.connect_ui.clone(),
        allowed_integrations: parse(&s.allowed_integrations),
        integrations_config_defaults: parse(&s.integrations_config_defaults)
            .map(crate::sessions::public_defaults),
        is_reconnecting: s.reconnect_connection_id.as_ref().map(|_| true),
        websockets_path: Some(DEFAULT_WEBSOCKETS_PATH.into()),
    })))
}

pub(crate) async fn delete_session(
    State(app): State<AppState>,
    auth: SessionTokenAuth,
) -> Result<StatusCode, ApiError> {
    app.store.delete_connect_session(auth.session.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn json<T: serde::Serialize>(v: &Option<T>) -> Option<String> {
    v.as_ref()
        .map(|x| serde_json::to_string(x).expect("serializable"))
}

fn parse<T: serde::de::DeserializeOwned>(v: &Option<String>) -> Option<T> {
    v.as_deref().and_then(|t| serde_json::from_str(t).ok())
}
