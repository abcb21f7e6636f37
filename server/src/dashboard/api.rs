//! `/dashboard/api/…`: the dashboard's private JSON API, authenticated by the session cookie
//! ([`super::auth`]). Each route calls the REST API's own handler for the `dev` environment
//! (the same validation, storage and activity records as `curl` with the secret key), adding only
//! what a browser needs on top: credentials masked until an explicit, logged reveal; keys shown on
//! demand; the catalog searched server-side; the overview's daily counts.

use super::auth::{self, Admin, AdminWrite, ClientIp};
use crate::activity::{Outcome, Subject};
use crate::environment::Environment;
use crate::http::connections::{ConnectionQuery, MetadataBody};
use crate::http::error::ApiError;
use crate::http::extract::{Path, Query, SecretKeyAuth, SecretOrSession, StrictJson};
use crate::http::integrations::{CreateIntegration, IntegrationCredentials, PatchIntegration};
use crate::http::logs::LogQuery;
use crate::http::{connect_sessions, connections, environment, integrations, logs};
use crate::integration_config;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use latchkey_protocol::connect::{CreateConnectSessionRequest, EndUser};
use latchkey_protocol::dashboard::{
    CatalogEntry, DayCount, EnvironmentView, IntegrationDetail, IntegrationEdit, Keys, Overview,
    PreviewSession, RotateKeys, SessionInfo, SignIn,
};
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::settings::EnvironmentSettingsPatch;
use latchkey_protocol::DataEnvelope;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/dashboard/api/session",
            get(session).post(sign_in).delete(sign_out),
        )
        .route(
            "/dashboard/api/session/everywhere",
            post(sign_out_everywhere),
        )
        .route("/dashboard/api/overview", get(overview))
        .route("/dashboard/api/catalog", get(catalog))
        .route(
            "/dashboard/api/integrations",
            get(list_integrations).post(create_integration),
        )
        .route(
            "/dashboard/api/integrations/{key}",
            get(show_integration)
                .patch(update_integration)
                .delete(delete_integration),
        )
        .route("/dashboard/api/connections", get(list_connections))
        .route(
            "/dashboard/api/connections/{key}/{id}",
            get(show_connection).delete(delete_connection),
        )
        .route(
            "/dashboard/api/connections/{key}/{id}/reveal",
            post(reveal_connection),
        )
        .route(
            "/dashboard/api/connections/{key}/{id}/refresh",
            post(refresh_connection),
        )
        .route(
            "/dashboard/api/connections/{key}/{id}/metadata",
            put(replace_metadata),
        )
        .route("/dashboard/api/logs", get(list_logs))
        .route("/dashboard/api/logs/stream", get(stream_logs))
        .route("/dashboard/api/logs/{id}", get(show_log))
        .route("/dashboard/api/environment", get(show_environment))
        .route(
            "/dashboard/api/environment/settings",
            axum::routing::patch(update_settings),
        )
        .route("/dashboard/api/environment/keys/reveal", post(reveal_keys))
        .route("/dashboard/api/environment/keys/rotate", post(rotate_keys))
        .route(
            "/dashboard/api/environment/test-webhook",
            post(test_webhook),
        )
        .route("/dashboard/api/preview-session", post(preview_session))
        .layer(axum::Extension(auth::Limits::new()))
}

/// The environment the dashboard operates: `dev`, the one every admin command uses.
async fn dev(app: &AppState) -> Result<std::sync::Arc<Environment>, ApiError> {
    let row = app
        .store
        .environment_by_name(crate::environment::DEV_ENVIRONMENT)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no dev environment")))?;
    crate::http::extract::environment_by_id(app, row.id)
        .await?
        .map(std::sync::Arc::new)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no dev environment")))
}

fn info(admin: &Admin) -> SessionInfo {
    SessionInfo {
        email: admin.email.clone(),
        csrf_token: admin.csrf_token.clone(),
    }
}

async fn session(admin: Admin) -> Json<SessionInfo> {
    Json(info(&admin))
}

async fn sign_in(
    State(app): State<AppState>,
    axum::Extension(limits): axum::Extension<std::sync::Arc<auth::Limits>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    StrictJson(body): StrictJson<SignIn>,
) -> Result<Response, ApiError> {
    auth::same_origin(&app, &headers)?;
    let (token, row) = auth::sign_in(&app, &limits, &ip, &body.email, &body.password).await?;
    let body = SessionInfo {
        email: row.email,
        csrf_token: row.csrf_token,
    };
    Ok((
        [(header::SET_COOKIE, auth::cookie(Some(&token)))],
        Json(body),
    )
        .into_response())
}

async fn sign_out(
    State(app): State<AppState>,
    AdminWrite(admin): AdminWrite,
) -> Result<Response, ApiError> {
    app.store
        .delete_dashboard_session(&admin.token_hash)
        .await?;
    Ok((
        [(header::SET_COOKIE, auth::cookie(None))],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

async fn sign_out_everywhere(
    State(app): State<AppState>,
    AdminWrite(admin): AdminWrite,
) -> Result<Response, ApiError> {
    app.store.end_admin_sessions(admin.admin_id).await?;
    Ok((
        [(header::SET_COOKIE, auth::cookie(None))],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

async fn overview(State(app): State<AppState>, _admin: Admin) -> Result<Json<Overview>, ApiError> {
    let env = dev(&app).await?;
    let today = app.clock.now_unix_ms() / 86_400_000;
    let first = today - Overview::DAYS as i64 + 1;
    let counts = app.store.daily_activity(env.id, first * 86_400_000).await?;
    let days = (first..=today)
        .map(|day| {
            let sum = |outcome: &str| {
                counts
                    .iter()
                    .filter(|c| c.day == day && c.outcome == outcome)
                    .filter(|c| c.op_type == "oauth" || c.op_type == "credentials")
                    .map(|c| c.count as u64)
                    .sum()
            };
            let date = chrono::DateTime::from_timestamp(day * 86_400, 0).unwrap_or_default();
            DayCount {
                day: date.format("%Y-%m-%d").to_string(),
                connections_created: sum("success"),
                failed_attempts: sum("failure"),
            }
        })
        .collect();
    Ok(Json(Overview {
        integrations: app.store.list_integrations(env.id).await?.len() as u64,
        connections: app.store.list_connections(env.id).await?.len() as u64,
        days,
    }))
}

#[derive(serde::Deserialize)]
struct CatalogQuery {
    #[serde(default)]
    q: String,
}

/// Providers whose name or display name holds every word of `q`, best first (a name that starts
/// with the query before one that contains it); at most 50.
async fn catalog(
    State(app): State<AppState>,
    _admin: Admin,
    Query(q): Query<CatalogQuery>,
) -> Json<Vec<CatalogEntry>> {
    let needle = q.q.trim().to_lowercase();
    let words: Vec<&str> = needle.split_whitespace().collect();
    let mut hits: Vec<(bool, CatalogEntry)> = app
        .catalog
        .iter()
        .filter_map(|(name, e)| {
            // Entries the engine cannot run (no provider) are not offered.
            let p = e.provider.as_ref()?;
            let hay = format!("{} {}", name, p.display_name).to_lowercase();
            words.iter().all(|w| hay.contains(w)).then(|| {
                let starts =
                    name.starts_with(&needle) || p.display_name.to_lowercase().starts_with(&needle);
                (
                    !starts,
                    CatalogEntry {
                        name: name.clone(),
                        display_name: p.display_name.clone(),
                        auth_mode: p.auth_mode.as_str().to_string(),
                        app_credentials: p.auth_mode.holds_app_credentials(),
                        integration_config: integration_config::fields(integration_config::schema(
                            &app, name,
                        )),
                    },
                )
            })
        })
        .collect();
    hits.sort_by(|a, b| (a.0, &a.1.display_name).cmp(&(b.0, &b.1.display_name)));
    Json(hits.into_iter().take(50).map(|(_, e)| e).collect())
}

async fn list_integrations(
    State(app): State<AppState>,
    _admin: Admin,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    integrations::list(State(app), SecretOrSession::Secret(env))
        .await
        .map(IntoResponse::into_response)
}

/// What the edit form shows: the REST view plus the auth mode, the app's client id and scopes and
/// the settings with their schema; the client secret and secret settings only as "set".
async fn show_integration(
    State(app): State<AppState>,
    _admin: Admin,
    Path(key): Path<String>,
) -> Result<Json<IntegrationDetail>, ApiError> {
    let env = dev(&app).await?;
    let row = app
        .store
        .integration(env.id, &key)
        .await?
        .ok_or_else(|| integrations::integration_not_found(&key))?;
    let mode = provider_mode(&app, &row.provider);
    let fields = integration_config::fields(integration_config::schema(&app, &row.provider));
    let mut values = integration_config::open(&app, &row)?;
    let app_link = values.remove("app_link");
    // A CUSTOM integration's GitHub App key lives with its settings; it never leaves the server.
    values.remove("private_key");
    let is_secret = |name: &str| fields.iter().any(|f| f.name == name && f.secret);
    let config_secrets_set = values.keys().filter(|k| is_secret(k)).cloned().collect();
    values.retain(|k, _| !is_secret(k));
    Ok(Json(IntegrationDetail {
        integration: integrations::public_view(&app, &row),
        auth_mode: mode.as_str().to_string(),
        app_credentials: mode.holds_app_credentials(),
        client_id: row.client_id.clone(),
        client_secret_set: row.client_secret_enc.is_some(),
        scopes: row.scopes.clone(),
        app_link,
        integration_config: fields,
        config_values: values,
        config_secrets_set,
    }))
}

/// The catalog's auth mode of `provider` (an empty `Other` for an entry the engine cannot run).
fn provider_mode(app: &AppState, provider: &str) -> AuthMode {
    integrations::provider_auth_mode(app, provider)
        .cloned()
        .unwrap_or_else(|| AuthMode::Other(String::new()))
}

async fn create_integration(
    State(app): State<AppState>,
    _admin: AdminWrite,
    body: StrictJson<CreateIntegration>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    integrations::create(State(app), SecretKeyAuth(env), body)
        .await
        .map(IntoResponse::into_response)
}

/// The REST update, with the saved client secret (and other app credentials) kept for what the form
/// leaves out: the browser never holds the secret, so it cannot send it back.
async fn update_integration(
    State(app): State<AppState>,
    _admin: AdminWrite,
    Path(key): Path<String>,
    StrictJson(edit): StrictJson<IntegrationEdit>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    let app_fields = [
        &edit.client_id,
        &edit.client_secret,
        &edit.scopes,
        &edit.app_link,
    ];
    let credentials = if app_fields.iter().all(|f| f.is_none()) {
        None
    } else {
        let row = app
            .store
            .integration(env.id, &key)
            .await?
            .ok_or_else(|| integrations::integration_not_found(&key))?;
        let saved = integrations::app_credentials(&app, &row)?.unwrap_or_default();
        let given = |v: Option<String>| v.filter(|v| !v.is_empty());
        let kind = provider_mode(&app, &row.provider).as_str().to_string();
        let id = given(edit.client_id)
            .or(saved.client_id)
            .unwrap_or_default();
        let secret = given(edit.client_secret)
            .or(saved.client_secret)
            .unwrap_or_default();
        // A GitHub App's id and private key are kept as the client id and secret; a CUSTOM one's
        // (an app with user authorization) with its settings, kept as they are.
        let (client, github) = match kind.as_str() {
            "APP" => ((None, None), (Some(id), Some(secret))),
            "CUSTOM" => {
                let mut custom = crate::integration_config::open(&app, &row)?;
                (
                    (Some(id), Some(secret)),
                    (custom.remove("app_id"), custom.remove("private_key")),
                )
            }
            _ => ((Some(id), Some(secret)), (None, None)),
        };
        Some(IntegrationCredentials {
            kind,
            client_id: client.0,
            client_secret: client.1,
            scopes: match edit.scopes {
                Some(scopes) => given(Some(scopes)),
                None => saved.scopes,
            },
            app_link: given(edit.app_link).or(saved.app_link),
            app_id: github.0,
            private_key: github.1,
        })
    };
    let body = PatchIntegration {
        unique_key: None,
        display_name: edit.display_name,
        credentials,
        forward_webhooks: None,
        integration_config: edit.integration_config,
    };
    integrations::update(State(app), SecretKeyAuth(env), Path(key), StrictJson(body))
        .await
        .map(IntoResponse::into_response)
}

async fn delete_integration(
    State(app): State<AppState>,
    _admin: AdminWrite,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    integrations::remove(State(app), SecretKeyAuth(env), Path(key))
        .await
        .map(IntoResponse::into_response)
}

async fn list_connections(
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

async fn show_connection(
    State(app): State<AppState>,
    _admin: Admin,
    Path((key, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    connection(&app, key, id, false, true).await.map(Json)
}

/// The unmasked credentials, recorded in the activity log (who revealed what, never the values).
async fn reveal_connection(
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

async fn refresh_connection(
    State(app): State<AppState>,
    _admin: AdminWrite,
    Path((key, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    connection(&app, key, id, true, true).await.map(Json)
}

async fn replace_metadata(
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

async fn delete_connection(
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

async fn list_logs(
    State(app): State<AppState>,
    _admin: Admin,
    q: Query<LogQuery>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    logs::list(State(app), SecretKeyAuth(env), q)
        .await
        .map(IntoResponse::into_response)
}

async fn show_log(
    State(app): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    logs::show(State(app), SecretKeyAuth(env), Path(id))
        .await
        .map(IntoResponse::into_response)
}

async fn stream_logs(
    State(app): State<AppState>,
    _admin: Admin,
    q: Query<LogQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    logs::tail(State(app), SecretKeyAuth(env), q, headers)
        .await
        .map(IntoResponse::into_response)
}

async fn show_environment(
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

async fn update_settings(
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
async fn reveal_keys(
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
async fn rotate_keys(
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
        &app,
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
async fn test_webhook(
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
    let rows = crate::webhooks::auth_rows(&app, env.id, &event).await;
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

/// A connect session for the Connect UI preview (end user `dashboard-preview`); it expires like
/// any other.
async fn preview_session(
    State(app): State<AppState>,
    _admin: AdminWrite,
) -> Result<Json<PreviewSession>, ApiError> {
    let env = dev(&app).await?;
    let request = CreateConnectSessionRequest {
        end_user: Some(EndUser {
            id: "dashboard-preview".into(),
            email: None,
            display_name: Some("Dashboard preview".into()),
            tags: None,
        }),
        ..Default::default()
    };
    let (_, Json(DataEnvelope { data })) =
        connect_sessions::create_session(State(app), SecretKeyAuth(env), StrictJson(request))
            .await?;
    Ok(Json(PreviewSession { token: data.token }))
}
