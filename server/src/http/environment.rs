//! `GET|PATCH /environment/settings`: the environment's settings, for its administrator (secret key).
//! Nango configures these in its dashboard; a self-hosted Latchkey exposes them here and in the CLI.

use super::error::ApiError;
use super::extract::{SecretKeyAuth, StrictJson};
use crate::settings;
use crate::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use latchkey_protocol::settings::{EnvironmentSettings, EnvironmentSettingsPatch};
use latchkey_protocol::DataEnvelope;

pub fn router() -> Router<AppState> {
    Router::new().route("/environment/settings", get(show).patch(update))
}

pub(crate) async fn show(
    SecretKeyAuth(env): SecretKeyAuth,
) -> Json<DataEnvelope<EnvironmentSettings>> {
    Json(DataEnvelope::new(settings::redacted(&env.settings)))
}

pub(crate) async fn update(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    StrictJson(patch): StrictJson<EnvironmentSettingsPatch>,
) -> Result<Json<DataEnvelope<EnvironmentSettings>>, ApiError> {
    let fields = crate::activity::hooks::patch_fields(&patch);
    let updated = env.update_settings(&app.store, &app.cipher, patch).await?;
    crate::activity::hooks::settings_changed(&app.activity, env.id, &fields, &updated);
    match updated {
        Ok(next) => Ok(Json(DataEnvelope::new(settings::redacted(&next)))),
        Err(e) => Err(ApiError::invalid_body(e.path, e.message)),
    }
}
