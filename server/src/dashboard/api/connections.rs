//! `/dashboard/api/connections`: the REST API's connection routes with the credentials masked, and
//! their reveal, recorded in the activity log.

use super::dev;
use crate::activity::{Outcome, Subject};
use crate::dashboard::auth::{Admin, AdminWrite};
use crate::http::connections;
use crate::http::connections::{ConnectionQuery, MetadataBody};
use crate::http::error::ApiError;
use crate::http::extract::{Path, Query, SecretKeyAuth, StrictJson};
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

pub(super) async fn list_connections(
    State(app): State<AppState>,
    _admin: Admin,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    connections::list(State(app), SecretKeyAuth(env), Query(pairs))
        .await
        .map(IntoResponse::into_response)
}

fn query(key: String, force_refresh: bool) -> ConnectionQuery {
    ConnectionQuery {
        provider_config_key: Some(key),
        force_refresh: force_refresh.then(|| "true".into()),
        refresh_token: None,
    }
}

/// A connection as `GET /connection/{id}` answers it, `credentials` masked or not.
async fn connection(
    app: &AppState,
    key: String,
    id: String,
    force_refresh: bool,
    masked: bool,
) -> Result<Value, ApiError> {
    let env = dev(app).await?;
    let Json(mut v) = connections::show(
        State(app.clone()),
        SecretKeyAuth(env),
        Path(id),
        Query(query(key, force_refresh)),
    )
    .await?;
    if masked {
        if let Some(c) = v.get_mut("credentials") {
            mask(c);
        }
    }
    Ok(v)
}

/// Replaces every secret-looking value with dots (its type and expiry stay readable).
fn mask(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if !["type", "expires_at", "token_type"].contains(&k.as_str()) {
                    mask(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask),
        Value::String(s) => *s = "••••••••".into(),
        _ => {}
    }
}

pub(super) async fn show_connection(
    State(app): State<AppState>,
    _admin: Admin,
    Path((key, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    connection(&app, key, id, false, true).await.map(Json)
}

/// The unmasked credentials, recorded in the activity log (who revealed what, never the values).
pub(super) async fn reveal_connection(
    State(app): State<AppState>,
    AdminWrite(admin): AdminWrite,
    Path((key, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let v = connection(&app, key.clone(), id.clone(), false, false).await?;
    let env = dev(&app).await?;
    let op = app
        .activity
        .begin(env.id, "credentials", Subject::connection(&key, &id, None));
    op.info(
        "Credentials revealed in the dashboard",
        Some(serde_json::json!({ "admin": admin.email })),
    );
    op.finish(Outcome::Success);
    Ok(Json(v.get("credentials").cloned().unwrap_or_default()))
}

pub(super) async fn refresh_connection(
    State(app): State<AppState>,
    _admin: AdminWrite,
    Path((key, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    connection(&app, key, id, true, true).await.map(Json)
}

pub(super) async fn replace_metadata(
    State(app): State<AppState>,
    _admin: AdminWrite,
    Path((key, id)): Path<(String, String)>,
    StrictJson(metadata): StrictJson<serde_json::Map<String, Value>>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    let body = MetadataBody {
        connection_id: connections::OneOrMany::One(id),
        provider_config_key: key,
        metadata,
    };
    connections::replace_metadata(State(app), SecretKeyAuth(env), StrictJson(body))
        .await
        .map(IntoResponse::into_response)
}

pub(super) async fn delete_connection(
    State(app): State<AppState>,
    _admin: AdminWrite,
    Path((key, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    connections::remove(
        State(app),
        SecretKeyAuth(env),
        Path(id),
        Query(query(key, false)),
    )
    .await
    .map(IntoResponse::into_response)
}
