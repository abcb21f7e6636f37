//! Parameter sets of the handlers that read their query (or headers) as raw pairs rather than
//! through a typed struct: `GET /integrations/{key}` (`include` repeated), the credential
//! submissions and `GET /oauth/connect/{key}` (bracketed maps like `params[…]` and
//! `authorization_params[…]`, which serde cannot name), `GET /connections` (`tags[…]`, strict about
//! unknown keys) and the proxy's control headers.
//!
//! These structs exist for the document only; each sits beside a comment naming the parser it
//! describes. Every other parameter set in the document is the very struct its handler deserializes
//! (`ConnectionQuery`, `LogQuery`, the outbox's `ListQuery`, the callback's `CallbackQuery`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use utoipa::IntoParams;

/// The query of every credential submission (`POST /api-auth/*`, `/oauth2/auth/{key}`, `/auth/*`),
/// read by `api_auth::submitter`, `Submitter::connection_config` and `api_auth::check_hmac`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubmissionQuery {
    /// The connect session token (preferred).
    connect_session_token: Option<String>,
    /// Legacy: the environment's public key (UUID v4), when public-key mode is on.
    public_key: Option<String>,
    /// Public-key mode only: the connection to write (at most 255 characters); refused with a
    /// session token.
    connection_id: Option<String>,
    /// Public-key mode with HMAC on: `hex(HMAC-SHA256(hmac_key, "<integration>:<connection>"))`.
    hmac: Option<String>,
    /// Expiry of `hmac` (Unix seconds), when it is time-limited.
    hmac_expires: Option<String>,
    /// Connection config values (`params[subdomain]=acme`) the provider lets the browser set; the
    /// session's defaults win.
    #[param(style = DeepObject, explode)]
    params: Option<BTreeMap<String, String>>,
}

/// `GET /integrations/{key}`'s query, read by `integrations::Include::parse` (which also takes
/// `include[]=` and a comma-separated list).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IntegrationInclude {
    /// `credentials` (the app credentials, client secret included) and/or `webhook`.
    #[param(explode)]
    include: Option<Vec<String>>,
}

/// `GET /oauth/connect/{key}`'s query, read by `http::oauth::connect` (which also takes the
/// submission query's `public_key`, `connection_id`, `hmac` and `hmac_expires`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OAuthConnectQuery {
    /// The connect session token.
    connect_session_token: Option<String>,
    /// Legacy: the environment's public key.
    public_key: Option<String>,
    /// Public-key mode only: the connection to write.
    connection_id: Option<String>,
    /// Public-key mode with HMAC on.
    hmac: Option<String>,
    hmac_expires: Option<String>,
    /// The WebSocket client that receives the result.
    ws_client_id: Option<String>,
    /// Exact origin of the page that opened the popup, where the callback page posts the result
    /// (else the `Referer` origin).
    opener_origin: Option<String>,
    /// Redirect mode: the page to return to with `?latchkey_result=<id>` (on an allowed origin).
    return_url: Option<String>,
    /// Connection config values.
    #[param(style = DeepObject, explode)]
    params: Option<BTreeMap<String, String>>,
    /// Extra authorization parameters sent to the provider.
    #[param(style = DeepObject, explode)]
    authorization_params: Option<BTreeMap<String, String>>,
    /// OAuth client overrides: `oauth_client_id_override`, `oauth_client_secret_override`, …
    #[param(style = DeepObject, explode)]
    credentials: Option<BTreeMap<String, String>>,
}

/// `GET /connections`' query, read by `connections::ListFilter::parse` (any other key is
/// `invalid_query_params`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct ConnectionListQuery {
    /// Exact connection id.
    connectionId: Option<String>,
    /// Case-insensitive substring of the connection id or the end user's id, email, name.
    search: Option<String>,
    /// The end user's id.
    endUserId: Option<String>,
    /// The end user's organization id.
    endUserOrganizationId: Option<String>,
    /// Comma-separated integration keys.
    integrationId: Option<String>,
    /// Tag values (`tags[team]=a`); all given tags must match.
    #[param(style = DeepObject, explode)]
    tags: Option<BTreeMap<String, String>>,
    /// 1 to 2000 (default: all).
    #[param(minimum = 1, maximum = 2000)]
    limit: Option<u32>,
    /// 0-based page of `limit` connections.
    page: Option<u32>,
}

/// The proxy's control headers, read by `proxy::options`; the query string goes to the provider
/// as it is.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct ProxyHeaders {
    /// The connection to call the API for.
    #[param(rename = "Connection-Id")]
    connection_id: String,
    /// The integration's unique key.
    #[param(rename = "Provider-Config-Key")]
    provider_config_key: String,
    /// Replaces the provider's proxy base URL (still subject to the outbound guard).
    #[param(rename = "Base-Url-Override")]
    base_url_override: Option<String>,
    /// Repeats on 429/5xx/network errors for idempotent methods (default 0, at most 10).
    #[param(rename = "Retries", maximum = 10)]
    retries: Option<u32>,
    /// Comma-separated extra statuses to retry, for any method.
    #[param(rename = "Retry-On")]
    retry_on: Option<String>,
    /// `true`/`false`; accepted, the body keeps its Content-Encoding.
    #[param(rename = "Decompress")]
    decompress: Option<bool>,
}
