//! The Latchkey demo app: what a customer writes to let their users connect an account.
//!
//! It is deliberately small and shaped like the customer guide (`shared/seeds/004_*`): a backend that
//! holds the Latchkey secret key and creates a connect session per attempt (`POST /session-token`), a
//! page that loads the SDK from the Latchkey server and opens the Connect UI with that token, and one
//! backend call that fetches the new connection once the page reports `connect`. The secret key stays
//! in this process: it is never sent to the browser, never put in a URL and never logged, and the
//! connection endpoint answers only *whether* credentials are stored, never them.
//!
//! The page runs on its own origin (`http://127.0.0.1:3010` by default) while the Latchkey server runs
//! on another (`http://localhost:3003`), so every cross-origin rule of the product is exercised.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_protocol::connect::{
    ConnectSessionCreated, CreateConnectSessionRequest, CreateReconnectSessionRequest, EndUser,
    Organization,
};
use latchkey_protocol::connection::{ConnectionList, ConnectionResponse, Credentials};
use latchkey_protocol::{ApiError, ApiErrorBody, DataEnvelope};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Default Latchkey API URL for local development.
pub const DEFAULT_HOST: &str = "http://localhost:3003";
/// Default listen address of the demo (a different origin from the server on purpose).
pub const DEFAULT_ADDR: &str = "127.0.0.1:3010";

const INDEX_HTML: &str = include_str!("../static/index.html");
const APP_JS: &str = include_str!("../static/app.js");
const STYLE_CSS: &str = include_str!("../static/style.css");

/// How the demo reaches Latchkey.
#[derive(Clone)]
pub struct DemoConfig {
    /// Latchkey API base URL, e.g. `http://localhost:3003` (may carry a path prefix).
    pub host: String,
    /// The environment's secret key. Server-side only.
    pub secret_key: String,
    /// Where the Connect UI is served, e.g. `http://localhost:3003/connect/`.
    pub connect_ui_url: String,
}

impl DemoConfig {
    /// A config whose Connect UI is the one the server itself serves at `<host>/connect/`.
    pub fn new(host: impl Into<String>, secret_key: impl Into<String>) -> Self {
        let host = host.into();
        let connect_ui_url = default_connect_ui_url(&host);
        Self {
            host,
            secret_key: secret_key.into(),
            connect_ui_url,
        }
    }

    /// Reads `LATCHKEY_HOST`, `LATCHKEY_SECRET_KEY` (required) and `LATCHKEY_CONNECT_UI_URL`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let host = var("LATCHKEY_HOST").unwrap_or_else(|| DEFAULT_HOST.to_owned());
        let secret_key = var("LATCHKEY_SECRET_KEY").ok_or(ConfigError::MissingSecretKey)?;
        let mut cfg = Self::new(host, secret_key);
        if let Some(url) = var("LATCHKEY_CONNECT_UI_URL") {
            cfg.connect_ui_url = url;
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks that both URLs are absolute http(s) URLs.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, value) in [
            ("LATCHKEY_HOST", &self.host),
            ("LATCHKEY_CONNECT_UI_URL", &self.connect_ui_url),
        ] {
            let ok = Url::parse(value)
                .map(|u| matches!(u.scheme(), "http" | "https"))
                .unwrap_or(false);
            if !ok {
                return Err(ConfigError::InvalidUrl {
                    name,
                    value: value.clone(),
                });
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for DemoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoConfig")
            .field("host", &self.host)
            .field("secret_key", &"<redacted>")
            .field("connect_ui_url", &self.connect_ui_url)
            .finish()
    }
}

fn default_connect_ui_url(host: &str) -> String {
    format!("{}/connect/", host.trim_end_matches('/'))
}

/// Why the demo cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("LATCHKEY_SECRET_KEY is not set (the secret key the Latchkey server printed on first start)")]
    MissingSecretKey,
    #[error("{name} must be an absolute http(s) URL, got {value:?}")]
    InvalidUrl { name: &'static str, value: String },
}

struct AppState {
    cfg: DemoConfig,
    http: reqwest::Client,
}

/// The demo app: page, config, and the two backend endpoints.
pub fn router(cfg: DemoConfig) -> Router {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .expect("a reqwest client with rustls and no custom roots always builds");
    let state = Arc::new(AppState { cfg, http });
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route("/config.json", get(page_config))
        .route("/session-token", post(create_session_token))
        .route("/session-token/reconnect", post(create_reconnect_token))
        .route("/api/connections", get(list_connections))
        .route("/api/connection/{connection_id}", get(get_connection))
        .with_state(state)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// What the page needs to know; deliberately nothing secret.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PageConfig {
    pub host: String,
    pub connect_ui_url: String,
}

async fn page_config(State(state): State<Arc<AppState>>) -> Json<PageConfig> {
    Json(PageConfig {
        host: state.cfg.host.clone(),
        connect_ui_url: state.cfg.connect_ui_url.clone(),
    })
}

/// Answer of `POST /session-token`, as in the customer guide.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionTokenResponse {
    pub session_token: String,
}

/// The demo's one end user; a real app would use its logged-in user.
pub const DEMO_END_USER: &str = "demo-user";

fn demo_end_user() -> EndUser {
    EndUser {
        id: DEMO_END_USER.into(),
        email: Some("demo@example.com".into()),
        display_name: Some("Demo User".into()),
        tags: None,
    }
}

fn demo_organization() -> Organization {
    Organization {
        id: "demo-org".into(),
        display_name: None,
    }
}

/// The fixed end user of the demo; a real app would use its logged-in user.
pub fn demo_session_request() -> CreateConnectSessionRequest {
    CreateConnectSessionRequest {
        end_user: Some(demo_end_user()),
        organization: Some(demo_organization()),
        ..Default::default()
    }
}

/// Body of `POST /session-token/reconnect`: which of the end user's connections to renew.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReconnectRequest {
    pub connection_id: String,
    pub integration: String,
}

/// A reconnect session for one of the demo user's connections (the Connect UI goes straight to it
/// and renews the same connection).
async fn create_reconnect_token(
    State(state): State<Arc<AppState>>,
    Json(req): Json<ReconnectRequest>,
) -> Result<Json<SessionTokenResponse>, DemoError> {
    let url = api_url(&state.cfg.host, &["connect", "sessions", "reconnect"])?;
    let body = CreateReconnectSessionRequest {
        connection_id: req.connection_id,
        integration_id: req.integration,
        end_user: Some(demo_end_user()),
        organization: Some(demo_organization()),
        integrations_config_defaults: None,
        overrides: None,
        webhook_url_override: None,
        tags: None,
    };
    let res = state
        .http
        .post(url)
        .bearer_auth(&state.cfg.secret_key)
        .json(&body)
        .send()
        .await
        .map_err(DemoError::Unreachable)?;
    let created: DataEnvelope<ConnectSessionCreated> = read_json(res).await?;
    Ok(Json(SessionTokenResponse {
        session_token: created.data.token,
    }))
}

/// One of the demo user's connections, as the page lists it.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionListEntry {
    pub connection_id: String,
    pub provider_config_key: String,
    pub provider: String,
    pub created: String,
}

/// The demo user's connections (`GET /connections?endUserId=demo-user`), newest first.
async fn list_connections(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<ConnectionListEntry>>, DemoError> {
    let mut url = api_url(&state.cfg.host, &["connections"])?;
    url.query_pairs_mut()
        .append_pair("endUserId", DEMO_END_USER);
    let res = state
        .http
        .get(url)
        .bearer_auth(&state.cfg.secret_key)
        .send()
        .await
        .map_err(DemoError::Unreachable)?;
    let list: ConnectionList = read_json(res).await?;
    let mut entries: Vec<_> = list
        .connections
        .into_iter()
        .map(|c| ConnectionListEntry {
            connection_id: c.connection_id,
            provider_config_key: c.provider_config_key,
            provider: c.provider,
            created: c.created,
        })
        .collect();
    entries.sort_by(|a, b| b.created.cmp(&a.created));
    Ok(Json(entries))
}

async fn create_session_token(
    State(state): State<Arc<AppState>>,
) -> Result<Json<SessionTokenResponse>, DemoError> {
    let url = api_url(&state.cfg.host, &["connect", "sessions"])?;
    let res = state
        .http
        .post(url)
        .bearer_auth(&state.cfg.secret_key)
        .json(&demo_session_request())
        .send()
        .await
        .map_err(DemoError::Unreachable)?;
    let created: DataEnvelope<ConnectSessionCreated> = read_json(res).await?;
    Ok(Json(SessionTokenResponse {
        session_token: created.data.token,
    }))
}

#[derive(Debug, Deserialize)]
struct ConnectionQuery {
    integration: String,
}

/// What the page learns about a connection: its identity, how it authenticates and whether it holds
/// what that needs, never its secrets.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionSummary {
    pub connection_id: String,
    pub provider_config_key: String,
    pub provider: String,
    /// The credentials' `type`: `OAUTH2`, `API_KEY`, `BASIC`, `OAUTH2_CC` or `NONE`.
    pub auth_mode: String,
    /// An access token, API key or login is stored (always true for `NONE`, which needs none).
    pub has_credentials: bool,
    pub expires_at: Option<String>,
}

async fn get_connection(
    State(state): State<Arc<AppState>>,
    Path(connection_id): Path<String>,
    Query(query): Query<ConnectionQuery>,
) -> Result<Json<ConnectionSummary>, DemoError> {
    let mut url = api_url(&state.cfg.host, &["connection", &connection_id])?;
    url.query_pairs_mut()
        .append_pair("provider_config_key", &query.integration);
    let res = state
        .http
        .get(url)
        .bearer_auth(&state.cfg.secret_key)
        .send()
        .await
        .map_err(DemoError::Unreachable)?;
    let conn: ConnectionResponse = read_json(res).await?;
    let (auth_mode, has_credentials, expires_at) = match &conn.credentials {
        Credentials::OAuth2 {
            access_token,
            expires_at,
            ..
        } => ("OAUTH2", !access_token.is_empty(), expires_at.clone()),
        Credentials::ApiKey { api_key } => ("API_KEY", !api_key.is_empty(), None),
        Credentials::Basic { username, .. } => ("BASIC", !username.is_empty(), None),
        Credentials::OAuth2Cc {
            token, expires_at, ..
        } => ("OAUTH2_CC", !token.is_empty(), expires_at.clone()),
        Credentials::Unauthenticated {} => ("NONE", true, None),
        Credentials::TwoStep {
            token, expires_at, ..
        } => ("TWO_STEP", !token.is_empty(), expires_at.clone()),
        Credentials::Jwt {
            token, expires_at, ..
        } => ("JWT", !token.is_empty(), expires_at.clone()),
        Credentials::Bill { expires_at, .. } => ("BILL", true, expires_at.clone()),
        Credentials::Signature {
            token, expires_at, ..
        } => ("SIGNATURE", !token.is_empty(), expires_at.clone()),
        Credentials::Tba { token_id, .. } => ("TBA", !token_id.is_empty(), None),
        Credentials::OAuth1 { oauth_token, .. } => ("OAUTH1", !oauth_token.is_empty(), None),
        Credentials::AwsSigV4 {
            access_key_id,
            expires_at,
            ..
        } => ("AWS_SIGV4", !access_key_id.is_empty(), expires_at.clone()),
        Credentials::App {
            access_token,
            expires_at,
            ..
        } => ("APP", !access_token.is_empty(), expires_at.clone()),
    };
    Ok(Json(ConnectionSummary {
        connection_id: conn.connection_id,
        provider_config_key: conn.provider_config_key,
        provider: conn.provider,
        auth_mode: auth_mode.to_owned(),
        has_credentials,
        expires_at,
    }))
}

/// `<host>/<segments…>`, each segment percent-encoded by the URL library (host may carry a path prefix).
fn api_url(host: &str, segments: &[&str]) -> Result<Url, DemoError> {
    let mut url = Url::parse(host).map_err(|_| DemoError::BadHost)?;
    url.path_segments_mut()
        .map_err(|_| DemoError::BadHost)?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

async fn read_json<T: serde::de::DeserializeOwned>(res: reqwest::Response) -> Result<T, DemoError> {
    let status = res.status();
    if status.is_success() {
        return res
            .json::<T>()
            .await
            .map_err(|_| DemoError::UnexpectedBody {
                status: status.as_u16(),
            });
    }
    let body = res.json::<ApiErrorBody>().await.ok();
    Err(DemoError::Upstream {
        status: status.as_u16(),
        error: body.map(|b| b.error),
    })
}

/// Failures of the demo backend, answered to the page as Latchkey's error envelope.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("LATCHKEY_HOST is not a usable base URL")]
    BadHost,
    #[error("could not reach the Latchkey server: {0}")]
    Unreachable(#[source] reqwest::Error),
    #[error("the Latchkey server answered {status}")]
    Upstream {
        status: u16,
        error: Option<ApiError>,
    },
    #[error("the Latchkey server answered {status} with a body the demo does not understand")]
    UnexpectedBody { status: u16 },
}

impl IntoResponse for DemoError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            DemoError::BadHost => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "demo_misconfigured".to_owned(),
                self.to_string(),
            ),
            // Without the URL: reqwest's message would repeat it, and it is not the page's business.
            DemoError::Unreachable(e) => (
                StatusCode::BAD_GATEWAY,
                "latchkey_unreachable".to_owned(),
                format!(
                    "could not reach the Latchkey server ({})",
                    transport_cause(e)
                ),
            ),
            DemoError::Upstream { status, error } => {
                let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
                match error {
                    Some(e) => (
                        status,
                        e.code.clone(),
                        format!("Latchkey answered {}: {}", status.as_u16(), e.message),
                    ),
                    None => (status, "upstream_error".to_owned(), self.to_string()),
                }
            }
            DemoError::UnexpectedBody { .. } => (
                StatusCode::BAD_GATEWAY,
                "unexpected_upstream_body".to_owned(),
                self.to_string(),
            ),
        };
        let body = ApiErrorBody {
            error: ApiError {
                code,
                message,
                errors: None,
            },
        };
        (status, Json(body)).into_response()
    }
}

/// A short cause of a transport failure that never contains the URL.
fn transport_cause(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection refused or unreachable"
    } else {
        "request failed"
    }
}
