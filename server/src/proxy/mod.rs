//! The proxy (`/proxy/*`, Nango's): call any connected API through Latchkey, which attaches the
//! connection's credentials, picks the provider's base URL, retries rate-limited and failed calls,
//! and refreshes an expired or rejected OAuth token — the caller never handles a token.
//!
//! One call, in order:
//! 1. [`options`] reads the control headers `@nangohq/node` sends (`Connection-Id`, …).
//! 2. The connection is loaded and its credentials made fresh by the same path as
//!    `GET /connection` ([`crate::credentials::fresh`]: refreshed when expiring within 15 minutes).
//! 3. [`transport::RequestBody::read`] keeps a small body (≤ 1 MiB) for replays or streams a large one.
//! 4. Per attempt, [`plan::build`] turns the provider's `proxy` block, the options and the credentials
//!    into a URL and headers ([`crate::catalog::proxy_template`] fills the catalog's `${…}` placeholders), and
//!    [`transport::send`] sends it through the guarded outbound client.
//! 5. A 401 on a renewable connection (OAuth2 with a refresh token, client credentials) forces one
//!    refresh and one more attempt; [`retry`] decides on further attempts and their waits.
//! 6. [`transport::respond`] streams the provider's answer back; [`record`] logs the call when done.
//!
//! What Latchkey does not do that Nango does: follow redirects (a 3xx reaches the caller as is; the
//! caller's client may follow it, without credentials), decompress (`Decompress` is accepted, the
//! body keeps its `Content-Encoding`, which HTTP clients decode), interpolate `${…}` in the endpoint,
//! multipart re-encoding (the body is passed through byte for byte, any content type). Signed
//! schemes are signed per attempt, over the final URL and headers: OAuth 1.0a, NetSuite TBA and AWS
//! SigV4 (a streamed body is sent as `UNSIGNED-PAYLOAD`, which S3 accepts and most services refuse).

pub mod options;
pub mod plan;
pub mod record;
pub mod retry;
pub mod transport;

use crate::connections::{RefreshError, Renewer};
use crate::storage::ConnectionRow;
use axum::body::Body;
use axum::http::{header, request::Parts, HeaderValue, Request, Response, StatusCode};
use latchkey_protocol::connection::Credentials;
use latchkey_protocol::{ErrorCode, ValidationIssue};
use plan::{PlanError, ProxySpec};
use record::CallRecord;
use retry::{Attempt, RetryPolicy};
use std::time::Duration;
use transport::{ReadError, RequestBody, SendError};

/// The proxy's limits (environment variables, read at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `LATCHKEY_PROXY_TIMEOUT_SECS` (default 300): one attempt, from connecting to the last byte of
    /// the answer.
    pub timeout: Duration,
    /// `LATCHKEY_PROXY_MAX_REQUEST_BYTES` (default 1 GiB).
    pub max_request_bytes: u64,
    /// `LATCHKEY_PROXY_MAX_RESPONSE_BYTES` (default 1 GiB).
    pub max_response_bytes: u64,
    /// `LATCHKEY_PROXY_MAX_RETRY_WAIT_SECS` (default 60): all waits between the attempts of one call.
    pub max_retry_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            max_request_bytes: 1 << 30,
            max_response_bytes: 1 << 30,
            max_retry_wait: Duration::from_secs(60),
        }
    }
}

impl Limits {
    /// Reads the `LATCHKEY_PROXY_*` variables through `lookup` (the environment, for
    /// [`crate::Config::from_env`]); unset ones keep their default.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let number = |name: &str, default: u64| -> anyhow::Result<u64> {
            match lookup(name) {
                Some(v) if !v.trim().is_empty() => v
                    .trim()
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{name} must be a whole number, got {v:?}")),
                _ => Ok(default),
            }
        };
        let d = Self::default();
        Ok(Self {
            timeout: Duration::from_secs(number(
                "LATCHKEY_PROXY_TIMEOUT_SECS",
                d.timeout.as_secs(),
            )?),
            max_request_bytes: number("LATCHKEY_PROXY_MAX_REQUEST_BYTES", d.max_request_bytes)?,
            max_response_bytes: number("LATCHKEY_PROXY_MAX_RESPONSE_BYTES", d.max_response_bytes)?,
            max_retry_wait: Duration::from_secs(number(
                "LATCHKEY_PROXY_MAX_RETRY_WAIT_SECS",
                d.max_retry_wait.as_secs(),
            )?),
        })
    }
}

/// Why the proxy answered itself instead of passing on the provider's answer.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("invalid proxy headers")]
    InvalidHeaders(Vec<ValidationIssue>),
    #[error("No integration named '{0}'.")]
    UnknownIntegration(String),
    #[error("No connection matching the provided connection ID and integration.")]
    UnknownConnection,
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Credentials(RefreshError),
    #[error("This base URL override is not allowed by server configuration ({0}).")]
    OverrideNotAllowed(String),
    #[error("The provider could not be reached: {0}.")]
    Unreachable(String),
    #[error("The provider did not answer within {0} s.")]
    Timeout(u64),
    #[error("The request body is larger than the proxy's limit of {0} bytes.")]
    RequestTooLarge(u64),
    #[error("The provider's answer is larger than the proxy's limit of {0} bytes.")]
    ResponseTooLarge(u64),
    #[error("The request body could not be read: {0}")]
    BadBody(String),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ProxyError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl ProxyError {
    /// Status and code of the answer (Nango's codes where Nango has one).
    pub fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        use ErrorCode as C;
        match self {
            Self::InvalidHeaders(_) => (StatusCode::BAD_REQUEST, C::InvalidHeaders),
            Self::UnknownIntegration(_) => (StatusCode::NOT_FOUND, C::UnknownProviderConfig),
            Self::UnknownConnection => (StatusCode::NOT_FOUND, C::UnknownConnection),
            Self::Plan(PlanError::NoBaseUrl) => (StatusCode::BAD_REQUEST, C::UnsupportedProvider),
            Self::Plan(PlanError::MissingConfig(_) | PlanError::BadBaseUrl) => {
                (StatusCode::BAD_REQUEST, C::MissingApiUrl)
            }
            Self::Plan(PlanError::Unsupported(_)) => (StatusCode::BAD_REQUEST, C::UnsupportedAuth),
            Self::Plan(PlanError::BadHeader(_)) => (StatusCode::BAD_REQUEST, C::InvalidConnection),
            Self::Credentials(RefreshError::Internal(_)) | Self::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, C::ServerError)
            }
            Self::Credentials(_) => (StatusCode::BAD_REQUEST, C::InvalidCredentials),
            Self::OverrideNotAllowed(_) => (StatusCode::BAD_REQUEST, C::BaseUrlOverrideNotAllowed),
            Self::Unreachable(_) => (StatusCode::BAD_GATEWAY, C::UpstreamUnreachable),
            Self::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, C::UpstreamTimeout),
            Self::RequestTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, C::PayloadTooLarge),
            Self::ResponseTooLarge(_) => (StatusCode::BAD_GATEWAY, C::ResponseTooLarge),
            Self::BadBody(_) => (StatusCode::BAD_REQUEST, C::InvalidBody),
        }
    }
}

/// Serves one `/proxy/*` request of the environment `env_id` (already authenticated by its secret
/// key). `req`'s path is the endpoint: the router strips `/proxy`. The connection's credentials come
/// through the renewal gate (`renewer`), which also holds the store, catalog, cipher and outbound
/// client the proxy needs; `limits` are the server's proxy settings.
pub async fn forward(
    renewer: &Renewer<'_>,
    limits: &Limits,
    env_id: i64,
    req: Request<Body>,
) -> Result<Response<Body>, ProxyError> {
    let (parts, body) = req.into_parts();
    let mut record = CallRecord::start(parts.method.clone(), parts.uri.path());
    record.activity = record::proxy_sink(renewer.activity, env_id);
    match call((renewer, limits), env_id, &parts, body, &mut record).await {
        Ok(upstream) => {
            let max = limits.max_response_bytes;
            if transport::declared_too_large(&upstream, max) {
                let e = ProxyError::ResponseTooLarge(max);
                record.status = upstream.status().as_u16();
                record.error = Some(e.status_and_code().1.as_str());
                return Err(e);
            }
            Ok(transport::respond(upstream, max, record))
        }
        Err(e) => {
            record.error = Some(e.status_and_code().1.as_str());
            Err(e)
        }
    }
}

fn send_error(e: SendError, overridden: bool, limits: &Limits) -> ProxyError {
    match e {
        SendError::Refused(why) if overridden => ProxyError::OverrideNotAllowed(why),
        SendError::Refused(why) => ProxyError::Unreachable(why),
        SendError::NotConnected => ProxyError::Unreachable("connection failed".into()),
        SendError::Broken => ProxyError::Unreachable("the exchange broke off".into()),
        SendError::Timeout => ProxyError::Timeout(limits.timeout.as_secs()),
        // Only the request body is read while sending.
        SendError::TooLarge(t) => ProxyError::RequestTooLarge(t.0),
    }
}

/// Whether a forced refresh can produce a different token.
fn renewable(c: &Credentials) -> bool {
    matches!(
        c,
        Credentials::OAuth2 {
            refresh_token: Some(_),
            ..
        } | Credentials::OAuth2Cc { .. }
    ) || crate::credential_modes::renewable(c)
}

/// NetSuite TBA: the signer of the connection's requests (consumer key and secret from the
/// integration unless the connection overrides them).
async fn tba_signer(
    renewer: &Renewer<'_>,
    row: &ConnectionRow,
    credentials: &Credentials,
) -> Result<Option<crate::credential_modes::tba::Signer>, ProxyError> {
    if !matches!(credentials, Credentials::Tba { .. }) {
        return Ok(None);
    }
    let integration = renewer
        .store
        .integration(row.environment_id, &row.provider_config_key)
        .await?;
    let (key, secret) = match &integration {
        Some(i) => (
            i.client_id.clone(),
            crate::integration_config::client_secret(renewer.cipher, i)
                .ok()
                .map(|s| s.expose().to_string())
                .filter(|s| !s.is_empty()),
        ),
        None => (None, None),
    };
    let config = crate::connections::config(row);
    let account = config
        .get("accountId")
        .map(String::as_str)
        .unwrap_or_default();
    Ok(crate::credential_modes::tba::Signer::new(
        credentials,
        account,
        key,
        secret,
    ))
}

/// AWS SigV4: signs the request's headers (all but those the transport sets or rewrites) and body.
fn sign_aws(
    key: &crate::credential_modes::aws_sigv4::Key<'_>,
    method: &str,
    plan: &mut plan::Plan,
    body: &RequestBody,
) -> Result<(), ProxyError> {
    let payload: Option<&[u8]> = match body {
        RequestBody::Empty => Some(b""),
        RequestBody::Buffered(b) => Some(b.as_ref()),
        _ => None,
    };
    let unsigned = [
        "authorization",
        "content-length",
        "connection",
        "transfer-encoding",
        "user-agent",
    ];
    let headers: Vec<(&str, &str)> = plan
        .headers
        .iter()
        .filter(|(n, _)| !unsigned.contains(&n.as_str()))
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let signed =
        crate::credential_modes::aws_sigv4::sign(key, method, plan.url.as_str(), &headers, payload)
            .map_err(|e| ProxyError::Internal(anyhow::anyhow!("SigV4 signing failed: {e}")))?;
    for (name, value) in signed {
        let name = header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| PlanError::BadHeader(name.clone()))?;
        let value =
            HeaderValue::from_str(&value).map_err(|_| PlanError::BadHeader(name.to_string()))?;
        plan.headers.insert(name, value);
    }
    Ok(())
}

/// Resolves, authenticates and sends, with retries; returns the provider's final answer.
async fn call(
    (renewer, limits): (&Renewer<'_>, &Limits),
    env_id: i64,
    parts: &Parts,
    body: Body,
    record: &mut CallRecord,
) -> Result<reqwest::Response, ProxyError> {
    let opts = options::parse(&parts.headers).map_err(ProxyError::InvalidHeaders)?;
    record.integration = opts.provider_config_key.clone();
    record.connection_id = opts.connection_id.clone();
    let key = opts.provider_config_key.as_str();
    let Some(row) = renewer
        .store
        .connection(env_id, key, &opts.connection_id)
        .await?
    else {
        return Err(match renewer.store.integration(env_id, key).await? {
            None => ProxyError::UnknownIntegration(key.to_string()),
            Some(_) => ProxyError::UnknownConnection,
        });
    };
    let spec = renewer
        .catalog
        .get(&row.provider)
        .map(|e| ProxySpec::from_entry(&e.raw))
        .unwrap_or_default();
    let (mut row, mut credentials) = crate::credentials::fresh(renewer, row, false)
        .await
        .map_err(ProxyError::Credentials)?;

    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let mut body = RequestBody::read(body, declared, limits.max_request_bytes)
        .await
        .map_err(|e| match e {
            ReadError::TooLarge(t) => ProxyError::RequestTooLarge(t.0),
            ReadError::Broken(why) => ProxyError::BadBody(why),
        })?;
    let policy = RetryPolicy {
        max_retries: opts.retries,
        retry_on: opts.retry_on.clone(),
        idempotent: retry::is_idempotent(&parts.method),
        hints: spec.retry.clone(),
        max_total_wait: limits.max_retry_wait,
    };
    let tba = tba_signer(renewer, &row, &credentials).await?;
    // OAuth 1.0a: each request is signed, over its final URL and form body (issue 15).
    let oauth1 = match credentials {
        Credentials::OAuth1 { .. } => Some(
            crate::oauth::oauth1::Consumer::of(
                (renewer.store, renewer.catalog, renewer.cipher),
                &row,
            )
            .await
            .map_err(|e| ProxyError::Internal(anyhow::anyhow!(e)))?,
        ),
        _ => None,
    };
    let overridden = opts.base_url_override.is_some();
    let content_type = parts.headers.get(header::CONTENT_TYPE);
    let mut waited = Duration::ZERO;
    loop {
        let mut plan = plan::build(
            &spec,
            &opts,
            parts.uri.path(),
            parts.uri.query(),
            content_type,
            &credentials,
            &crate::connections::config(&row),
        )?;
        if let Some(signer) = &tba {
            let value = signer.authorization(parts.method.as_str(), &plan.url);
            let value = HeaderValue::from_str(&value)
                .map_err(|_| PlanError::BadHeader("authorization".into()))?;
            plan.headers.insert(header::AUTHORIZATION, value);
        }
        if let Some(consumer) = oauth1
            .as_ref()
            .filter(|_| !plan.headers.contains_key(header::AUTHORIZATION))
        {
            let form = content_type
                .and_then(|v| v.to_str().ok())
                .filter(|v| v.starts_with("application/x-www-form-urlencoded"))
                .and_then(|_| body.buffered());
            let signed = consumer
                .authorization(
                    &credentials,
                    parts.method.as_str(),
                    &plan.url,
                    form.map(|b| b.as_ref()),
                )
                .map_err(|e| ProxyError::Internal(anyhow::anyhow!(e)))?;
            plan.headers.insert(header::AUTHORIZATION, signed);
        }
        if let Some(key) = crate::credential_modes::aws_sigv4::Key::of(&credentials, None) {
            sign_aws(&key, parts.method.as_str(), &mut plan, &body)?;
        }
        let sent = transport::send(
            renewer.upstream.outbound,
            &parts.method,
            &plan.url,
            plan.headers,
            &mut body,
            limits.timeout,
        )
        .await;

        // The provider rejected the token: refresh it once, even if it did not look expired (it may
        // have been revoked or rotated elsewhere), and try again.
        let unauthorized = matches!(&sent, Ok(res) if res.status() == StatusCode::UNAUTHORIZED);
        if unauthorized && !record.refreshed && body.replayable() && renewable(&credentials) {
            record.refreshed = true;
            match crate::credentials::fresh(renewer, row.clone(), true).await {
                Ok((r, c)) => {
                    (row, credentials) = (r, c);
                    continue;
                }
                // The provider's 401 is the most useful answer for the caller.
                Err(e) => tracing::warn!(
                    target: record::TARGET,
                    integration = %row.provider_config_key,
                    connection_id = %row.connection_id,
                    error = %e,
                    "forced refresh after a 401 failed"
                ),
            }
        }

        let attempt = match &sent {
            Ok(res) => Attempt::Answered(res.status(), res.headers()),
            Err(SendError::NotConnected) => Attempt::NotConnected,
            Err(SendError::Broken | SendError::Timeout) => Attempt::Broken,
            Err(SendError::Refused(_) | SendError::TooLarge(_)) => Attempt::Broken,
        };
        let refusal = matches!(&sent, Err(SendError::Refused(_) | SendError::TooLarge(_)));
        let wait = if body.replayable() && !refusal {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64();
            policy.next_wait(attempt, record.retries, waited, now, rand::random())
        } else {
            None
        };
        match wait {
            Some(wait) => {
                drop(sent);
                tokio::time::sleep(wait).await;
                waited += wait;
                record.retries += 1;
            }
            None => return sent.map_err(|e| send_error(e, overridden, limits)),
        }
    }
}
