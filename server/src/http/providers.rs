//! `GET /providers`, `GET /providers/:provider` (reference §3.16): catalog entries as stored, plus
//! `name` and `logo_url`, so the Connect UI can build forms from fields the engine does not use.

use super::error::ApiError;
use super::extract::Path;
use super::extract::SecretOrSession;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use latchkey_protocol::{DataEnvelope, ErrorCode};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/providers", get(list))
        .route("/providers/{provider}", get(show))
}

fn view(app: &AppState, name: &str, raw: &serde_json::Value) -> serde_json::Value {
    let mut v = raw.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("name".into(), name.into());
        obj.insert(
            "logo_url".into(),
            super::assets::logo_url(&app.config.public_url, name).into(),
        );
    }
    v
}

pub(crate) async fn list(
    State(app): State<AppState>,
    _who: SecretOrSession,
) -> Json<DataEnvelope<Vec<serde_json::Value>>> {
    Json(DataEnvelope::new(
        app.catalog
            .iter()
            .map(|(name, e)| view(&app, name, &e.raw))
            .collect(),
    ))
}

pub(crate) async fn show(
    State(app): State<AppState>,
    _who: SecretOrSession,
    Path(provider): Path<String>,
) -> Result<Json<DataEnvelope<serde_json::Value>>, ApiError> {
    let entry = app.catalog.get(&provider).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("Unknown provider '{provider}'"),
        )
    })?;
    Ok(Json(DataEnvelope::new(view(&app, &provider, &entry.raw))))
}
