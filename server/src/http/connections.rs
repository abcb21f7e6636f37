//! `GET /connection(s)/:id`, `GET /connection(s)`, `DELETE /connection(s)/:id` (reference §3.10–3.12).
//! Credentials are opened only here, for a caller holding the secret key.

use super::error::ApiError;
use super::extract::{SecretKeyAuth, StrictJson};
use crate::oauth::refresh::{self, RefreshError};
use crate::storage::ConnectionRow;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_protocol::connection::{ConnectionResponse, Credentials};
use latchkey_protocol::ErrorCode;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/connections/metadata",
            post(replace_metadata).patch(merge_metadata),
        )
        .route(
            "/connection/metadata",
            post(replace_metadata).patch(merge_metadata),
        )
        .route("/connection/{id}", get(show).delete(remove))
        .route("/connections/{id}", get(show).delete(remove))
        .route("/connection", get(list))
        .route("/connections", get(list))
}

#[derive(Debug, Deserialize)]
pub struct ConnectionQuery {
    provider_config_key: Option<String>,
    /// `true` refreshes the token even when it is not about to expire.
    #[serde(default)]
    force_refresh: Option<String>,
    /// `true` includes the refresh token in the answer (Nango strips it by default).
    #[serde(default)]
    refresh_token: Option<String>,
}

fn flag(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("true") | Some("1"))
}

fn required_key(q: &ConnectionQuery) -> Result<&str, ApiError> {
    q.provider_config_key
        .as_deref()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::Invalid {
            code: ErrorCode::InvalidQueryParams,
            issues: vec![latchkey_protocol::ValidationIssue {
                code: "invalid_type".into(),
                message: "Required".into(),
                path: vec!["provider_config_key".into()],
            }],
        })
}

fn json_map(text: &str) -> serde_json::Map<String, serde_json::Value> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Nango strips refresh tokens unless asked: any key whose letters spell "refreshtoken".
fn strip_refresh_tokens(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.retain(|k, _| {
                !k.chars()
                    .filter(|c| c.is_ascii_alphabetic())
                    .collect::<String>()
                    .eq_ignore_ascii_case("refreshtoken")
            });
            map.values_mut().for_each(strip_refresh_tokens);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_refresh_tokens),
        _ => {}
    }
}

fn view(
    row: &ConnectionRow,
    mut credentials: Credentials,
    include_refresh_token: bool,
) -> ConnectionResponse {
    if !include_refresh_token {
        if let Credentials::OAuth2 {
            refresh_token, raw, ..
        } = &mut credentials
        {
            *refresh_token = None;
            strip_refresh_tokens(raw);
        }
    }
    ConnectionResponse {
        id: row.id,
        connection_id: row.connection_id.clone(),
        provider_config_key: row.provider_config_key.clone(),
        provider: row.provider.clone(),
        errors: Vec::new(),
        end_user: row
            .end_user
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok()),
        tags: serde_json::from_str(&row.tags).unwrap_or_default(),
        metadata: json_map(&row.metadata),
        connection_config: json_map(&row.connection_config),
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
        credentials,
    }
}

async fn show(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Path(id): Path<String>,
    Query(q): Query<ConnectionQuery>,
) -> Result<Json<ConnectionResponse>, ApiError> {
    let key = required_key(&q)?;
    if app.store.integration(env.id, key).await?.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownProviderConfig,
            format!("No integration named '{key}'."),
        ));
    }
    let row = app
        .store
        .connection(env.id, key, &id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownConnection,
                "No connection matching the provided connection ID and integration.",
            )
        })?;
    let (row, credentials) = refresh::fresh(&app, row, flag(&q.force_refresh))
        .await
        .map_err(|e| match e {
            RefreshError::Internal(e) => ApiError::Internal(e),
            other => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidCredentials,
                other.to_string(),
            ),
        })?;
    Ok(Json(view(&row, credentials, flag(&q.refresh_token))))
}

async fn list(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = app.store.list_connections(env.id).await?;
    let connections: Vec<_> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "connection_id": r.connection_id,
                "provider_config_key": r.provider_config_key,
                "provider": r.provider,
                "errors": [],
                "end_user": r.end_user.as_deref().and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok()),
                "tags": serde_json::from_str::<serde_json::Value>(&r.tags).unwrap_or_default(),
                "metadata": json_map(&r.metadata),
                "created": r.created_at,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "connections": connections })))
}

async fn remove(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Path(id): Path<String>,
    Query(q): Query<ConnectionQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = required_key(&q)?;
    if !app.store.delete_connection(env.id, key, &id).await? {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnknownConnection,
            "No connection matching the provided connection ID and integration.",
        ));
    }
    Ok(Json(serde_json::json!({ "success": true })))
}

/// One id or several (metadata writes may target many connections at once, all or nothing).
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Body of the metadata writes, echoed back on success as Nango does.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataBody {
    connection_id: OneOrMany,
    provider_config_key: String,
    metadata: serde_json::Map<String, serde_json::Value>,
}

/// `POST /connections/metadata`: replaces the metadata; 201 echoing the body.
async fn replace_metadata(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    StrictJson(body): StrictJson<MetadataBody>,
) -> Result<(StatusCode, Json<MetadataBody>), ApiError> {
    write_metadata(&app, env.id, body, false)
        .await
        .map(|v| (StatusCode::CREATED, Json(v)))
}

/// `PATCH /connections/metadata`: shallow-merges into the metadata; 200 echoing the body.
async fn merge_metadata(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    StrictJson(body): StrictJson<MetadataBody>,
) -> Result<Json<MetadataBody>, ApiError> {
    write_metadata(&app, env.id, body, true).await.map(Json)
}

async fn write_metadata(
    app: &AppState,
    env_id: i64,
    body: MetadataBody,
    merge: bool,
) -> Result<MetadataBody, ApiError> {
    let ids = match &body.connection_id {
        OneOrMany::One(id) => std::slice::from_ref(id),
        OneOrMany::Many(ids) => ids.as_slice(),
    };
    // All or nothing: check every connection first.
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let row = app
            .store
            .connection(env_id, &body.provider_config_key, id)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    ErrorCode::UnknownConnection,
                    format!("Connection '{id}' does not exist. No actions were taken."),
                )
            })?;
        rows.push(row);
    }
    let now = crate::time::now_iso();
    for row in rows {
        let mut metadata = if merge {
            json_map(&row.metadata)
        } else {
            Default::default()
        };
        metadata.extend(body.metadata.clone());
        let text = serde_json::Value::Object(metadata).to_string();
        app.store
            .set_connection_metadata(
                env_id,
                &row.provider_config_key,
                &row.connection_id,
                &text,
                &now,
            )
            .await?;
    }
    Ok(body)
}
