//! Auth webhooks through a durable outbox (PROTOCOL.md §8).
//!
//! [`enqueue_auth`] writes one outbox row per destination in the same process step that changed the
//! connection; a worker ([`spawn_worker`]) claims due rows with a lease, signs and POSTs them, and
//! retries network errors and 5xx with exponential backoff. Rows survive a restart, and a claimed row
//! is sent by one worker at a time.
//!
//! Signatures: `X-Nango-Hmac-Sha256` = hex HMAC-SHA256 of the exact body with the environment's
//! webhook signing key (what `@nangohq/node`'s `verifyIncomingWebhookRequest` checks), the legacy
//! `X-Nango-Signature`, and the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC of "id.timestamp.body">`; the equivalent Standard Webhooks
//! secret is `whsec_` + base64 of the signing key's bytes).

use crate::environment::Environment;
use crate::AppState;
use base64::Engine;
use hmac::{Hmac, Mac};
use latchkey_protocol::webhooks::{AuthWebhook, HMAC_HEADER};
use sha2::{Digest, Sha256};
use std::time::Duration;

const MAX_ATTEMPTS: i64 = 5;
const LEASE_SECS: i64 = 60;
const POLL: Duration = Duration::from_millis(500);

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// The signature headers of one delivery.
pub fn signature_headers(
    signing_key: &str,
    id: &str,
    timestamp: i64,
    body: &str,
) -> Vec<(&'static str, String)> {
    let key = signing_key.as_bytes();
    let ts = timestamp.to_string();
    let standard = hmac_sha256(
        key,
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body.as_bytes()],
    );
    vec![
        (
            HMAC_HEADER,
            hex::encode(hmac_sha256(key, &[body.as_bytes()])),
        ),
        (
            "X-Nango-Signature",
            hex::encode(Sha256::digest([key, body.as_bytes()].concat())),
        ),
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", ts),
        (
            "webhook-signature",
            format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(standard)
            ),
        ),
    ]
}

/// Queues an auth webhook for every destination of the environment (none configured: nothing to do).
pub async fn enqueue_auth(app: &AppState, env_id: i64, event: AuthWebhook) {
    let settings = match app.store.environment_by_id(env_id).await {
        Ok(Some(row)) => serde_json::from_str(&row.settings).unwrap_or_default(),
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "could not read the environment to queue an auth webhook");
            return;
        }
    };
    let urls =
        crate::settings::webhook_destinations(app.config.webhook_url.as_deref(), &settings, &event);
    let body = serde_json::to_string(&event).expect("webhook serializes");
    for url in urls {
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        if let Err(e) = app
            .store
            .enqueue_webhook(
                &id,
                env_id,
                &url,
                &body,
                crate::time::now_unix(),
                &crate::time::now_iso(),
            )
            .await
        {
            tracing::error!(error = %e, "could not queue an auth webhook");
        }
    }
}

/// Builds an auth webhook; `tags` is the connection's tags column (JSON text).
#[allow(clippy::too_many_arguments)]
pub fn auth_event(
    environment: &str,
    provider_config_key: &str,
    connection_id: &str,
    provider: &str,
    auth_mode: &str,
    operation: &str,
    tags: Option<&str>,
    error: Option<(&str, &str)>,
) -> AuthWebhook {
    AuthWebhook {
        from: "nango".into(),
        kind: "auth".into(),
        connection_id: connection_id.into(),
        provider_config_key: provider_config_key.into(),
        auth_mode: auth_mode.into(),
        provider: provider.into(),
        environment: environment.into(),
        operation: operation.into(),
        success: error.is_none(),
        tags: tags
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default(),
        error: error.map(
            |(kind, description)| latchkey_protocol::webhooks::WebhookError {
                kind: kind.into(),
                description: description.into(),
            },
        ),
    }
}

/// Backoff before attempt `n + 1` after `n` failures: 3 s, 6 s, 12 s… capped at 10 minutes.
pub fn backoff_secs(attempts: i64) -> i64 {
    (3i64 << (attempts - 1).clamp(0, 10)).min(600)
}

pub fn spawn_worker(app: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let now = crate::time::now_unix();
            match app
                .store
                .claim_due_webhooks(now, now + LEASE_SECS, 16)
                .await
            {
                Ok(rows) => {
                    for row in rows {
                        deliver(&app, row).await;
                    }
                }
                Err(e) => tracing::error!(error = %e, "webhook outbox unavailable"),
            }
            tokio::time::sleep(POLL).await;
        }
    })
}

async fn deliver(app: &AppState, row: crate::storage::WebhookRow) {
    let attempts = row.attempts + 1;
    let now_iso = crate::time::now_iso();
    let signing_key = match app.store.environment_by_id(row.environment_id).await {
        Ok(Some(env_row)) => match Environment::open(&env_row, &app.cipher) {
            Ok(env) => env.webhook_signing_key,
            Err(e) => return tracing::error!(error = %e, "cannot open the webhook signing key"),
        },
        _ => return,
    };
    let mut request = match app.webhook_outbound.post(&row.url) {
        Ok(r) => r
            .timeout(Duration::from_secs(20))
            .header("content-type", "application/json"),
        Err(e) => {
            let _ = app
                .store
                .webhook_attempt_failed(&row.id, attempts, &e.to_string(), None, &now_iso)
                .await;
            crate::metrics::webhook_delivery("failed");
            return tracing::warn!(webhook = %row.id, error = %e, "webhook URL refused");
        }
    };
    for (name, value) in signature_headers(
        signing_key.expose(),
        &row.id,
        crate::time::now_unix(),
        &row.body,
    ) {
        request = request.header(name, value);
    }
    let outcome = request.body(row.body.clone()).send().await;
    let retryable_error = match outcome {
        Ok(res) if res.status().is_success() => {
            let _ = app
                .store
                .webhook_delivered(&row.id, attempts, &now_iso)
                .await;
            crate::metrics::webhook_delivery("delivered");
            return tracing::info!(webhook = %row.id, attempts, "webhook delivered");
        }
        Ok(res) if res.status().is_server_error() => {
            Some(format!("HTTP {}", res.status().as_u16()))
        }
        Ok(res) => {
            // 3xx and 4xx are the receiver's answer; retrying would not change it.
            let _ = app
                .store
                .webhook_attempt_failed(
                    &row.id,
                    attempts,
                    &format!("HTTP {}", res.status().as_u16()),
                    None,
                    &now_iso,
                )
                .await;
            crate::metrics::webhook_delivery("failed");
            return tracing::warn!(webhook = %row.id, status = res.status().as_u16(), "webhook rejected");
        }
        // Without the URL: webhook URLs often carry a secret token.
        Err(e) => Some(e.without_url().to_string()),
    };
    let error = retryable_error.unwrap_or_default();
    let retry_at =
        (attempts < MAX_ATTEMPTS).then(|| crate::time::now_unix() + backoff_secs(attempts));
    tracing::warn!(webhook = %row.id, attempts, error = %error, will_retry = retry_at.is_some(), "webhook delivery failed");
    crate::metrics::webhook_delivery(if retry_at.is_some() {
        "retry"
    } else {
        "failed"
    });
    let _ = app
        .store
        .webhook_attempt_failed(&row.id, attempts, &error, retry_at, &now_iso)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors computed independently with Python's `hmac` and `hashlib`.
    #[test]
    fn signatures_match_independent_computation() {
        let headers = signature_headers("key", "msg_1", 1700000000, "{}");
        let get = |name: &str| headers.iter().find(|(n, _)| *n == name).unwrap().1.clone();
        assert_eq!(
            get(HMAC_HEADER),
            "a777724d943eb48dc69bca8a4a6d57a04db3f9ec7e1de4e581e860265bdf3032"
        );
        assert_eq!(
            get("X-Nango-Signature"),
            "93b867377527644eb6c4262976b0f8a032db9db581af1c7497af5fdc5ca0f2d7"
        );
        assert_eq!(
            get("webhook-signature"),
            "v1,XaXLFEFQ69Q4+demDWPEv5ydXczDW2mM5crCUEFcFBA="
        );
        assert_eq!(get("webhook-timestamp"), "1700000000");
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_secs(1), 3);
        assert_eq!(backoff_secs(2), 6);
        assert_eq!(backoff_secs(3), 12);
        assert_eq!(backoff_secs(20), 600);
    }
}
