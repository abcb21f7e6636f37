//! Auth webhooks through a durable outbox (PROTOCOL.md §8).
//!
//! [`Webhooks::auth_rows`] makes one outbox row per destination; the store inserts them in the
//! transaction that changes the connection. A worker ([`spawn_worker`]) claims due rows one at a time
//! with a lease and a random claim token, sends up to [`CONCURRENCY`] at once, and records each result
//! only if its claim still holds, so no two replicas send one row. 408, 429, 5xx and network errors
//! are retried on Standard Webhooks' schedule (5 s … 10 h, [`retry_delay_secs`]) or after the
//! receiver's `Retry-After`; other answers and exhausted retries leave a dead letter that the API
//! (`GET /environment/webhooks`, `POST /environment/webhooks/{id}/resend`) and the CLI show and re-send.
//!
//! Signatures: `X-Nango-Hmac-Sha256` = hex HMAC-SHA256 of the exact body with the environment's
//! webhook signing key (what `@nangohq/node`'s `verifyIncomingWebhookRequest` checks), the legacy
//! `X-Nango-Signature`, and the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC of "id.timestamp.body">`; the equivalent Standard Webhooks
//! secret is `whsec_` + base64 of the signing key's bytes).

use crate::activity::Recorder;
use crate::crypto::Cipher;
use crate::environment::Environment;
use crate::outbound::OutboundClient;
use crate::storage::{NewWebhook, Store, WebhookRow};
use crate::time::Clock;
use base64::Engine;
use hmac::{Hmac, Mac};
use latchkey_protocol::webhooks::{AuthWebhook, HMAC_HEADER};
use sha2::{Digest, Sha256};
use std::time::Duration;

const POLL: Duration = Duration::from_millis(500);

/// The server's auth webhooks: what queues them (beside a connection write or alone) and the worker
/// that delivers them. It reads environments (their destinations and signing keys) and nothing else
/// of the server's state.
#[derive(Clone)]
pub struct Webhooks {
    store: Store,
    cipher: Cipher,
    clock: Clock,
    /// `LATCHKEY_WEBHOOK_URL`: a destination for every environment.
    default_url: Option<String>,
    /// Deliveries' own client (their own private-network switch, `LATCHKEY_ALLOW_PRIVATE_WEBHOOKS`).
    outbound: OutboundClient,
    activity: Recorder,
}

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

impl Webhooks {
    pub fn new(
        (store, cipher, clock): (Store, Cipher, Clock),
        default_url: Option<String>,
        outbound: OutboundClient,
        activity: Recorder,
    ) -> Self {
        Self {
            store,
            cipher,
            clock,
            default_url,
            outbound,
            activity,
        }
    }

    /// The outbox rows of an auth webhook: one per destination of the environment (none configured:
    /// none). They are inserted by the caller, in the transaction that changes the connection when there
    /// is one ([`crate::storage::Storage::upsert_connection`]).
    pub async fn auth_rows(&self, env_id: i64, event: &AuthWebhook) -> Vec<NewWebhook> {
        match self.destination_settings(env_id).await {
            Some(settings) => self.rows_for(env_id, &settings, event),
            None => Vec::new(),
        }
    }

    /// The settings that say where an environment's auth webhooks go (`None`: no environment, or it
    /// could not be read — logged).
    async fn destination_settings(
        &self,
        env_id: i64,
    ) -> Option<Box<latchkey_protocol::settings::EnvironmentSettings>> {
        match crate::environment::opened_by_id(&self.store, &self.cipher, env_id).await {
            Ok(env) => env.map(|env| env.settings),
            Err(e) => {
                tracing::error!(error = %e, "could not read the environment to queue an auth webhook");
                None
            }
        }
    }

    /// [`Self::auth_rows`] for settings already read.
    fn rows_for(
        &self,
        env_id: i64,
        settings: &latchkey_protocol::settings::EnvironmentSettings,
        event: &AuthWebhook,
    ) -> Vec<NewWebhook> {
        let urls =
            crate::settings::webhook_destinations(self.default_url.as_deref(), settings, event);
        let body = serde_json::to_string(event).expect("webhook serializes");
        urls.into_iter()
            .map(|url| NewWebhook {
                id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
                environment_id: env_id,
                url,
                body: body.clone(),
                now_unix: self.clock.now_unix(),
                now: self.clock.now_iso(),
            })
            .collect()
    }

    /// The rows of a connection write's webhook for either outcome: `creation` if the write creates the
    /// connection, `override` if it replaces one.
    pub async fn creation_or_override(
        &self,
        env_id: i64,
        subject: &AuthSubject<'_>,
    ) -> (Vec<NewWebhook>, Vec<NewWebhook>) {
        let Some(settings) = self.destination_settings(env_id).await else {
            return (Vec::new(), Vec::new());
        };
        let rows = |operation| self.rows_for(env_id, &settings, &subject.event(operation, None));
        (rows(AuthOperation::Creation), rows(AuthOperation::Override))
    }

    /// Queues an auth webhook that goes with no connection write (a failed token exchange).
    pub async fn enqueue_auth(&self, env_id: i64, event: AuthWebhook) {
        for row in self.auth_rows(env_id, &event).await {
            if let Err(e) = self.store.enqueue_webhook(&row).await {
                tracing::error!(error = %e, "could not queue an auth webhook");
            }
        }
    }
}

/// The connection an auth webhook is about.
pub struct AuthSubject<'a> {
    /// The environment's name.
    pub environment: &'a str,
    pub provider_config_key: &'a str,
    pub connection_id: &'a str,
    pub provider: &'a str,
    pub auth_mode: &'a str,
    /// The connection's tags column (JSON text).
    pub tags: Option<&'a str>,
}

/// What happened to the connection (Nango's `operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOperation {
    Creation,
    Override,
    Refresh,
}

impl AuthOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creation => "creation",
            Self::Override => "override",
            Self::Refresh => "refresh",
        }
    }
}

/// Why an authorization or a refresh failed (Nango's `error.type`), with the provider's description.
#[derive(Debug, Clone, Copy)]
pub enum AuthFailure<'a> {
    /// The OAuth flow's code exchange failed (`token_err`).
    TokenExchange(&'a str),
    /// The provider refused a refresh (`refresh_token_external_error`).
    Refresh(&'a str),
}

impl AuthSubject<'_> {
    /// The auth webhook of `operation` on this connection: a success, or the `failure`.
    pub fn event(&self, operation: AuthOperation, failure: Option<AuthFailure<'_>>) -> AuthWebhook {
        AuthWebhook {
            from: "nango".into(),
            kind: "auth".into(),
            connection_id: self.connection_id.into(),
            provider_config_key: self.provider_config_key.into(),
            auth_mode: self.auth_mode.into(),
            provider: self.provider.into(),
            environment: self.environment.into(),
            operation: operation.as_str().into(),
            success: failure.is_none(),
            tags: self
                .tags
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default(),
            error: failure.map(|f| {
                let (kind, description) = match f {
                    AuthFailure::TokenExchange(d) => ("token_err", d),
                    AuthFailure::Refresh(d) => ("refresh_token_external_error", d),
                };
                latchkey_protocol::webhooks::WebhookError {
                    kind: kind.into(),
                    description: description.into(),
                }
            }),
        }
    }
}

/// Waits before attempt `n + 1` after `n` failed ones, the schedule Standard Webhooks recommends:
/// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; `None` after the last one (the row becomes a dead letter,
/// listed by `GET /environment/webhooks?status=failed` and re-sent on request).
pub fn retry_delay_secs(failed_attempts: i64) -> Option<i64> {
    const SCHEDULE: [i64; 7] = [5, 300, 1800, 7200, 18000, 36000, 36000];
    usize::try_from(failed_attempts - 1)
        .ok()
        .and_then(|i| SCHEDULE.get(i).copied())
}

/// The longest `Retry-After` honoured; a receiver asking for more is retried after this.
const MAX_RETRY_AFTER_SECS: i64 = 36_000;

/// A `Retry-After` header in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn retry_after_secs(value: &str, now_unix: i64) -> Option<i64> {
    let value = value.trim();
    let secs = match value.parse::<i64>() {
        Ok(s) => s,
        Err(_) => chrono::DateTime::parse_from_rfc2822(value)
            .ok()?
            .timestamp()
            .checked_sub(now_unix)?,
    };
    Some(secs.clamp(0, MAX_RETRY_AFTER_SECS))
}

/// The first whole second at least `delay` seconds after `now_ms` (rows are due by whole seconds, so a
/// receiver's `Retry-After: 1` is never answered sooner).
fn not_before(now_ms: i64, delay: i64) -> i64 {
    now_ms
        .saturating_add(delay.saturating_mul(1000))
        .saturating_add(999)
        / 1000
}

/// Most webhooks sent at once by one replica (a slow receiver holds one of these, not the queue).
const CONCURRENCY: usize = 8;
/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(15);
/// How long a claim lasts: longer than an attempt, so a live sender is never overtaken; a replica that
/// dies mid-send leaves its row to the others after this.
const LEASE_SECS: i64 = 30;

/// Starts the outbox worker ([`Webhooks`]' deliveries).
pub fn spawn_worker(app: Webhooks) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        loop {
            let permit = slots.clone().acquire_owned().await.expect("never closed");
            let now = app.clock.now_unix();
            let claim = uuid::Uuid::new_v4().simple().to_string();
            match app.store.claim_webhook(now, now + LEASE_SECS, &claim).await {
                Ok(Some(row)) => {
                    let app = app.clone();
                    tokio::spawn(async move {
                        deliver(&app, row, &claim).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => {
                    drop(permit);
                    tracing::error!(error = %e, "webhook outbox unavailable");
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    })
}

/// What one attempt came to.
pub(crate) enum Attempt {
    Delivered,
    /// Worth retrying (408, 429, 5xx, network error), after the receiver's `Retry-After` if it gave one.
    Retry(String, Option<i64>),
    /// The receiver's final answer (other 3xx/4xx) or a URL the policy refuses.
    Final(String),
}

impl Attempt {
    /// For the activity log: delivered, or the error and whether it will be retried.
    fn summary(&self, attempts: i64) -> Result<(), (&str, bool)> {
        match self {
            Self::Delivered => Ok(()),
            Self::Final(error) => Err((error.as_str(), false)),
            Self::Retry(error, _) => Err((error.as_str(), retry_delay_secs(attempts).is_some())),
        }
    }
}

async fn attempt(app: &Webhooks, row: &WebhookRow) -> Attempt {
    let signing_key = match app.store.environment_by_id(row.environment_id).await {
        Ok(Some(env_row)) => match Environment::open(&env_row, &app.cipher) {
            Ok(env) => env.webhook_signing_key,
            Err(e) => return Attempt::Retry(format!("signing key unavailable: {e}"), None),
        },
        Ok(None) => return Attempt::Final("environment deleted".into()),
        Err(e) => return Attempt::Retry(format!("database: {e}"), None),
    };
    let mut request = match app.outbound.post(&row.url) {
        Ok(r) => r
            .timeout(TIMEOUT)
            .header("content-type", "application/json"),
        Err(e) => return Attempt::Final(e.to_string()),
    };
    let now = app.clock.now_unix();
    for (name, value) in signature_headers(signing_key.expose(), &row.id, now, &row.body) {
        request = request.header(name, value);
    }
    match request.body(row.body.clone()).send().await {
        Ok(res) if res.status().is_success() => Attempt::Delivered,
        Ok(res) => {
            let status = res.status();
            let error = format!("HTTP {}", status.as_u16());
            if status.is_server_error()
                || status == reqwest::StatusCode::REQUEST_TIMEOUT
                || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            {
                let after = res
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry_after_secs(v, now));
                Attempt::Retry(error, after)
            } else {
                Attempt::Final(error)
            }
        }
        // Without the URL: webhook URLs often carry a secret token.
        Err(e) => Attempt::Retry(e.without_url().to_string(), None),
    }
}

async fn deliver(app: &Webhooks, row: WebhookRow, claim: &str) {
    let attempts = row.attempts + 1;
    let logged = crate::activity::hooks::webhook_sending(&app.activity, &row, attempts);
    let outcome = attempt(app, &row).await;
    crate::activity::hooks::webhook_result(logged, outcome.summary(attempts));
    let now_iso = app.clock.now_iso();
    let recorded = match outcome {
        Attempt::Delivered => {
            tracing::info!(webhook = %row.id, attempts, "webhook delivered");
            crate::metrics::webhook_delivery("delivered");
            app.store
                .webhook_delivered(&row.id, claim, attempts, &now_iso)
                .await
        }
        Attempt::Final(error) => {
            tracing::warn!(webhook = %row.id, attempts, error = %error, "webhook refused; kept as a dead letter");
            crate::metrics::webhook_delivery("failed");
            app.store
                .webhook_attempt_failed(&row.id, claim, attempts, &error, None, &now_iso)
                .await
        }
        Attempt::Retry(error, after) => {
            let retry_at = retry_delay_secs(attempts)
                .map(|scheduled| after.unwrap_or(scheduled))
                .map(|delay| not_before(app.clock.now_unix_ms(), delay));
            tracing::warn!(webhook = %row.id, attempts, error = %error, will_retry = retry_at.is_some(), "webhook delivery failed");
            crate::metrics::webhook_delivery(if retry_at.is_some() {
                "retry"
            } else {
                "failed"
            });
            app.store
                .webhook_attempt_failed(&row.id, claim, attempts, &error, retry_at, &now_iso)
                .await
        }
    };
    match recorded {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(webhook = %row.id, "webhook claim lost before its result was recorded")
        }
        Err(e) => {
            tracing::error!(webhook = %row.id, error = %e, "could not record a webhook attempt")
        }
    }
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
    fn retries_follow_the_standard_webhooks_schedule_over_hours() {
        let delays: Vec<i64> = (1..).map_while(retry_delay_secs).collect();
        assert_eq!(delays, [5, 300, 1800, 7200, 18000, 36000, 36000]);
        assert!(delays.iter().sum::<i64>() > 24 * 3600);
        assert_eq!(retry_delay_secs(0), None);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(retry_after_secs("7", 0), Some(7));
        assert_eq!(retry_after_secs("-3", 0), Some(0));
        assert_eq!(
            retry_after_secs("99999999999", 0),
            Some(MAX_RETRY_AFTER_SECS)
        );
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
            .unwrap()
            .timestamp();
        assert_eq!(
            retry_after_secs("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(30)
        );
        assert_eq!(retry_after_secs("soon", now), None);
    }
}
