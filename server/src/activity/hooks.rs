//! What the flows below the HTTP layer record (sessions, renewals, webhook deliveries, settings and
//! keys): one function per hook point, so that the flows themselves carry a single call each. The
//! OAuth and credential submissions' hooks are in `crate::http::activity` and the proxy's in
//! `crate::proxy::record`, beside the types they read, so that this module depends on none of
//! them. Every message and detail is chosen field by field — never a token, key, code, verifier,
//! password, or a URL with its query.

use super::{safe_url, Completed, Level, Op, Outcome, Recorder, Subject};
use crate::storage::{ConnectionRow, WebhookRow};
use serde_json::json;

/// `POST /connect/sessions` (and its reconnect variant) issued a session.
pub fn session_created(
    log: &Recorder,
    env_id: i64,
    end_user_id: Option<&str>,
    reconnect_connection_id: Option<&str>,
    allowed_integrations: Option<&[String]>,
) {
    log.completed(Completed {
        env_id,
        op_type: "connect_session",
        subject: Subject {
            connection_id: reconnect_connection_id.map(str::to_string),
            end_user_id: end_user_id.map(str::to_string),
            ..Default::default()
        },
        duration_ms: 0,
        outcome: Outcome::Success,
        level: Level::Info,
        message: if reconnect_connection_id.is_some() {
            "Reconnect session created"
        } else {
            "Connect session created"
        }
        .into(),
        detail: Some(json!({ "allowed_integrations": allowed_integrations }).to_string()),
    });
}

/// A refresh (OAuth2) or renewal (client credentials) is about to call the provider.
pub fn renewal(log: &Recorder, row: &ConnectionRow, client_credentials: bool) -> Op {
    let op = log.begin(
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
pub fn webhook_sending(log: &Recorder, row: &WebhookRow, attempt: i64) -> (Op, std::time::Instant) {
    let body: serde_json::Value = serde_json::from_str(&row.body).unwrap_or_default();
    let text = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let op = log.begin_with_id(
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
    log: &Recorder,
    env_id: i64,
    fields: &[String],
    result: &Result<T, E>,
) {
    let op = log.begin(env_id, "settings", Subject::default());
    op.info(
        "Settings change requested",
        Some(json!({ "fields": fields })),
    );
    op.finish_with(result, "Refused");
}

/// An environment's keys were rotated (`latchkey keys rotate`): which ones, never their values.
pub fn keys_rotated(log: &Recorder, env_id: i64, secret: bool, public: bool, signing: bool) {
    let op = log.begin(env_id, "keys", Subject::default());
    op.info(
        "Keys rotated",
        Some(json!({ "secret": secret, "public": public, "webhook_signing": signing })),
    );
    op.finish(Outcome::Success);
}
