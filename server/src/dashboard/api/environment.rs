//! `/dashboard/api/environment`: the environment and its settings, its keys (revealed or rotated,
//! recorded in the activity log) and a test webhook.

use super::dev;
use crate::activity::{Outcome, Subject};
use crate::dashboard::auth::{Admin, AdminWrite};
use crate::environment::Environment;
use crate::http::environment;
use crate::http::error::ApiError;
use crate::http::extract::{SecretKeyAuth, StrictJson};
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_protocol::dashboard::{EnvironmentView, Keys, RotateKeys};
use latchkey_protocol::settings::EnvironmentSettingsPatch;

pub(super) async fn show_environment(
    State(app): State<AppState>,
    _admin: Admin,
) -> Result<Json<EnvironmentView>, ApiError> {
    let env = dev(&app).await?;
    Ok(Json(EnvironmentView {
        name: env.name.clone(),
        settings: crate::settings::redacted(&env.settings),
        callback_url: env
            .settings
            .callback_url
            .clone()
            .unwrap_or_else(|| app.config.callback_url()),
        connect_ui_url: app.config.connect_ui_url(),
        public_key: env.public_key.clone(),
    }))
}

pub(super) async fn update_settings(
    State(app): State<AppState>,
    _admin: AdminWrite,
    body: StrictJson<EnvironmentSettingsPatch>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    environment::update(State(app), SecretKeyAuth(env), body)
        .await
        .map(IntoResponse::into_response)
}

fn keys(env: &Environment) -> Keys {
    Keys {
        secret_key: env.secret_key.expose().to_string(),
        public_key: env.public_key.clone(),
        webhook_signing_key: env.webhook_signing_key.expose().to_string(),
    }
}

/// The environment's keys, recorded in the activity log (who, never the values).
pub(super) async fn reveal_keys(
    State(app): State<AppState>,
    AdminWrite(admin): AdminWrite,
) -> Result<Json<Keys>, ApiError> {
    let env = dev(&app).await?;
    let op = app.activity.begin(env.id, "keys", Subject::default());
    op.info(
        "Keys revealed in the dashboard",
        Some(serde_json::json!({ "admin": admin.email })),
    );
    op.finish(Outcome::Success);
    Ok(Json(keys(&env)))
}

/// `latchkey keys rotate` from the dashboard: new random keys for the ones asked.
pub(super) async fn rotate_keys(
    State(app): State<AppState>,
    _admin: AdminWrite,
    StrictJson(which): StrictJson<RotateKeys>,
) -> Result<Json<Keys>, ApiError> {
    if !(which.secret || which.public || which.webhook_signing) {
        return Err(ApiError::invalid_body(
            vec![],
            "say which key to rotate: secret, public and/or webhook_signing",
        ));
    }
    let env = dev(&app).await?;
    let fresh = |on: bool| on.then(|| uuid::Uuid::new_v4().to_string());
    let (secret, public, signing) = (
        fresh(which.secret),
        fresh(which.public),
        fresh(which.webhook_signing),
    );
    let overrides = crate::environment::KeyOverrides {
        secret: secret.as_deref(),
        public: public.as_deref(),
        webhook_signing: signing.as_deref(),
    };
    let env =
        crate::environment::set_keys(&app.store, &app.cipher, Environment::clone(&env), overrides)
            .await?;
    crate::activity::hooks::keys_rotated(
        &app.activity,
        env.id,
        which.secret,
        which.public,
        which.webhook_signing,
    );
    Ok(Json(keys(&env)))
}

/// "Send a test webhook": a signed `auth` webhook (operation `creation`) for the made-up connection
/// `test-webhook` of integration `latchkey-test`, queued in the outbox to every configured
/// destination like a real one (so its deliveries show in the activity log).
pub(super) async fn test_webhook(
    State(app): State<AppState>,
    _admin: AdminWrite,
) -> Result<Json<serde_json::Value>, ApiError> {
    let env = dev(&app).await?;
    let event = crate::webhooks::AuthSubject {
        environment: &env.name,
        provider_config_key: "latchkey-test",
        connection_id: "test-webhook",
        provider: "latchkey-test",
        auth_mode: "NONE",
        tags: None,
    }
    .event(crate::webhooks::AuthOperation::Creation, None);
    let rows = app.webhooks.auth_rows(env.id, &event).await;
    if rows.is_empty() {
        return Err(ApiError::invalid_body(
            vec!["webhook_url".into()],
            "No webhook URL is set (or auth webhooks for new connections are off): nothing to send.",
        ));
    }
    for row in &rows {
        app.store.enqueue_webhook(row).await?;
    }
    Ok(Json(serde_json::json!({ "queued": rows.len() })))
}
