//! What each flow records: one function per hook point, so that the flows themselves carry a single
//! call each. Every message and detail here is chosen field by field — never a token, key, code,
//! verifier, password, or a URL with its query.

use super::{safe_url, Op, Outcome, Subject};
use crate::http::api_auth::{Prepared, Submitter};
use crate::oauth::flow::{CallbackQuery, Completed, FlowFailure, Started};
use crate::storage::{ConnectionRow, WebhookRow};
use crate::AppState;
use latchkey_protocol::ErrorCode;
use serde_json::json;

/// `POST /connect/sessions` (and its reconnect variant) issued a session.
pub fn session_created(
    app: &AppState,
    env_id: i64,
    end_user_id: Option<&str>,
    reconnect_connection_id: Option<&str>,
    allowed_integrations: Option<&[String]>,
) {
    let op = app.activity.begin(
        env_id,
        "connect_session",
        Subject {
            connection_id: reconnect_connection_id.map(str::to_string),
            end_user_id: end_user_id.map(str::to_string),
            ..Default::default()
        },
    );
    op.info(
        if reconnect_connection_id.is_some() {
            "Reconnect session created"
        } else {
            "Connect session created"
        },
        Some(json!({ "allowed_integrations": allowed_integrations })),
    );
    op.finish(Outcome::Success);
}

/// The log id of the OAuth attempt of `state`: both halves of the flow (start, callback) derive it,
/// without the state itself being recoverable from it.
fn oauth_id(state: &str) -> String {
    format!(
        "oa_{}",
        &crate::crypto::sha256_hex(&format!("activity:{state}"))[..32]
    )
}

/// The connection a flow writes when it is known before it is saved (a reconnect session's, or the
/// one a public-key caller named); a new connection's id is drawn when it is saved.
fn chosen_connection(submitter: &Submitter) -> Option<String> {
    match &submitter.session {
        Some(s) => s.reconnect_connection_id.clone(),
        None => submitter.requested_connection_id.clone(),
    }
}

/// `GET /oauth/connect/{key}` ran [`crate::oauth::flow::start`]: the attempt is pending while the
/// user is at the provider, or failed before leaving.
pub fn oauth_started(
    app: &AppState,
    submitter: &Submitter,
    key: &str,
    started: &Result<Started, FlowFailure>,
) {
    let subject = Subject {
        integration: Some(key.to_string()),
        connection_id: chosen_connection(submitter),
        end_user_id: submitter.end_user().as_deref().and_then(super::end_user_id),
    };
    let state = started.as_ref().ok().and_then(|s| {
        url::Url::parse(&s.authorize_url)
            .ok()?
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
    });
    let op = match &state {
        Some(state) => {
            app.activity
                .begin_with_id(oauth_id(state), submitter.env.id, "oauth", subject)
        }
        None => app.activity.begin(submitter.env.id, "oauth", subject),
    };
    op.info("OAuth flow started", Some(json!({ "integration": key })));
    match started {
        Ok(s) => op.info(
            "Redirecting the user to the provider's authorization page",
            Some(json!({ "authorization_url": safe_url(&s.authorize_url) })),
        ),
        Err(f) => {
            op.error(
                format!("The flow could not start: {}", f.message),
                Some(json!({ "code": f.code.as_str() })),
            );
            op.finish(Outcome::Failure);
        }
    }
}

/// `GET /oauth/callback` arrived: records what the provider sent (never the code or the state) and
/// returns the attempt's handle, when the query names one.
pub fn oauth_callback(app: &AppState, query: &CallbackQuery) -> Option<Op> {
    let state = query.state.as_deref().filter(|s| !s.is_empty())?;
    let op = app.activity.resume(oauth_id(state));
    op.info(
        "Callback received from the provider",
        Some(json!({
            "has_code": query.code.as_deref().is_some_and(|c| !c.is_empty()),
            "error": query.error,
        })),
    );
    if let Some(error) = &query.error {
        op.error(
            format!(
                "The provider refused the authorization: {error}{}",
                query
                    .error_description
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
            Some(json!({ "error": error, "error_description": query.error_description })),
        );
    }
    Some(op)
}

/// The callback's result: the token exchange and the saved connection, or the failing step.
pub fn oauth_completed(op: Option<Op>, result: &Result<Completed, FlowFailure>) {
    let Some(op) = op else { return };
    match result {
        Ok(done) => {
            op.info("Token exchange succeeded", None);
            op.info(
                if done.created {
                    "Connection created"
                } else {
                    "Connection updated"
                },
                Some(json!({ "connection_id": done.report.connection_id })),
            );
            op.finish_on(Outcome::Success, Some(done.report.connection_id.clone()));
        }
        Err(f) => {
            // The provider's refusal is already a step of its own (with its error text).
            if f.code != ErrorCode::CallbackErr || !f.message.starts_with("The provider refused") {
                let what = match f.code {
                    ErrorCode::TokenErr => "Token exchange failed",
                    _ => "The callback was refused",
                };
                op.error(
                    format!("{what}: {}", f.message),
                    Some(json!({ "code": f.code.as_str() })),
                );
            }
            let connection = f.report.as_ref().map(|r| r.connection_id.clone());
            op.finish_on(Outcome::Failure, connection);
        }
    }
}

/// An API key or basic credential submission passed its checks; verification and saving follow.
pub fn credentials_submitted(app: &AppState, prepared: &Prepared<'_>) -> Op {
    let submitter = &prepared.submitter;
    let op = app.activity.begin(
        submitter.env.id,
        "credentials",
        Subject {
            integration: Some(prepared.integration.unique_key.clone()),
            connection_id: chosen_connection(submitter),
            end_user_id: submitter.end_user().as_deref().and_then(super::end_user_id),
        },
    );
    op.info(
        "Credentials submitted",
        Some(json!({ "auth_mode": prepared.provider.auth_mode.as_str() })),
    );
    op
}

/// The provider's verification request refused the submitted credentials (or could not be made).
pub fn verification_failed(op: &Op, e: &impl std::fmt::Display) {
    op.error(format!("Verification failed: {e}"), None);
    op.finish(Outcome::Failure);
}

/// The credentials were accepted (verified, when the provider declares a verification request) and
/// the connection was — or could not be — saved. Returns `saved`.
pub fn credentials_saved(
    op: &Op,
    saved: Result<
        axum::Json<latchkey_protocol::connection::AuthResult>,
        crate::http::error::ApiError,
    >,
) -> Result<axum::Json<latchkey_protocol::connection::AuthResult>, crate::http::error::ApiError> {
    match &saved {
        Ok(done) => {
            op.info("Credentials accepted", None);
            op.info("Connection saved", None);
            op.finish_on(Outcome::Success, Some(done.connection_id.clone()));
        }
        Err(e) => {
            op.error(format!("Could not save the connection: {e}"), None);
            op.finish(Outcome::Failure);
        }
    }
    saved
}

/// A refresh (OAuth2) or renewal (client credentials) is about to call the provider.
pub fn renewal(app: &AppState, row: &ConnectionRow, client_credentials: bool) -> Op {
    let op = app.activity.begin(
        row.environment_id,
        if client_credentials {
            "client_credentials"
        } else {
            "refresh"
        },
        Subject::connection(
            &row.provider_config_key,
            &row.connection_id,
            row.end_user.as_deref(),
        ),
    );
    op.info(
        if client_credentials {
            "Requesting a new client-credentials token"
        } else {
            "Refreshing the access token"
        },
        Some(json!({ "failed_before": row.refresh_failures })),
    );
    op
}

/// The refresh's result; a failure says why (the provider's error, a missing refresh token…).
pub fn renewed<T, E: std::fmt::Display>(op: &Op, result: &Result<T, E>) {
    if result.is_ok() {
        op.info("New token stored", None);
    }
    op.finish_with(result, "Refresh failed");
}

/// A webhook delivery attempt is about to start. One entry per webhook (its id derives from the
/// outbox row's), one step per attempt.
pub fn webhook_sending(app: &AppState, row: &WebhookRow, attempt: i64) -> (Op, std::time::Instant) {
    let body: serde_json::Value = serde_json::from_str(&row.body).unwrap_or_default();
    let text = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let op = app.activity.begin_with_id(
        format!("wh_{}", row.id),
        row.environment_id,
        "webhook",
        Subject {
            integration: text("providerConfigKey"),
            connection_id: text("connectionId"),
            end_user_id: None,
        },
    );
    op.info(
        format!("Delivery attempt {attempt}"),
        Some(json!({ "url": safe_url(&row.url), "webhook_id": row.id, "type": text("type"), "operation": text("operation") })),
    );
    (op, std::time::Instant::now())
}

/// A webhook attempt's result: `Ok` delivered, `Err((error, will_retry))` otherwise.
pub fn webhook_result(sending: (Op, std::time::Instant), result: Result<(), (&str, bool)>) {
    let (op, started) = sending;
    let duration_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(()) => {
            op.info("Delivered", Some(json!({ "duration_ms": duration_ms })));
            op.finish(Outcome::Success);
        }
        Err((error, will_retry)) => {
            op.step(
                if will_retry {
                    super::Level::Warn
                } else {
                    super::Level::Error
                },
                format!(
                    "Attempt failed: {error}{}",
                    if will_retry {
                        "; will retry"
                    } else {
                        "; given up"
                    }
                ),
                Some(json!({ "duration_ms": duration_ms, "will_retry": will_retry })),
            );
            if !will_retry {
                op.finish(Outcome::Failure);
            }
        }
    }
}

/// What the proxy's call record needs to write its entry when it is dropped.
#[derive(Clone, Debug)]
pub struct ProxySink {
    recorder: super::Recorder,
    env_id: i64,
}

pub fn proxy_sink(app: &AppState, env_id: i64) -> Option<ProxySink> {
    app.activity.enabled().then(|| ProxySink {
        recorder: app.activity.clone(),
        env_id,
    })
}

impl ProxySink {
    /// One finished proxy call (path only: the query may carry keys).
    pub fn record(self, r: &crate::proxy::record::CallRecord, duration_ms: u64) {
        let started = self.recorder.clock.now_unix_ms() - duration_ms as i64;
        let op = self.recorder.begin_at(
            super::new_id(),
            self.env_id,
            "proxy",
            Subject {
                integration: Some(r.integration.clone()).filter(|s| !s.is_empty()),
                connection_id: Some(r.connection_id.clone()).filter(|s| !s.is_empty()),
                end_user_id: None,
            },
            started,
            true,
        );
        let ok = r.error.is_none() && !r.aborted && (200..400).contains(&r.status);
        let detail = json!({
            "method": r.method.as_str(),
            "endpoint": r.endpoint,
            "status": r.status,
            "error": r.error,
            "retries": r.retries,
            "refreshed": r.refreshed,
            "response_bytes": r.response_bytes,
            "aborted": r.aborted,
            "duration_ms": duration_ms,
        });
        let message = match r.error {
            Some(code) => format!("{} {} failed: {code}", r.method, r.endpoint),
            None => format!("{} {} → {}", r.method, r.endpoint, r.status),
        };
        op.step(
            if ok {
                super::Level::Info
            } else {
                super::Level::Error
            },
            message,
            Some(detail),
        );
        op.finish(if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        });
    }
}

/// The names of the settings a patch sets (never their values: the HMAC key is one).
pub fn patch_fields(patch: &latchkey_protocol::settings::EnvironmentSettingsPatch) -> Vec<String> {
    match serde_json::to_value(patch) {
        Ok(serde_json::Value::Object(m)) => m
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, _)| k)
            .collect(),
        _ => Vec::new(),
    }
}

/// An environment's settings were changed (`PATCH /environment/settings`, `latchkey settings set`).
pub fn settings_changed<T, E: std::fmt::Display>(
    app: &AppState,
    env_id: i64,
    fields: &[String],
    result: &Result<T, E>,
) {
    let op = app.activity.begin(env_id, "settings", Subject::default());
    op.info(
        "Settings change requested",
        Some(json!({ "fields": fields })),
    );
    op.finish_with(result, "Refused");
}

/// An environment's keys were rotated (`latchkey keys rotate`): which ones, never their values.
pub fn keys_rotated(app: &AppState, env_id: i64, secret: bool, public: bool, signing: bool) {
    let op = app.activity.begin(env_id, "keys", Subject::default());
    op.info(
        "Keys rotated",
        Some(json!({ "secret": secret, "public": public, "webhook_signing": signing })),
    );
    op.finish(Outcome::Success);
}
