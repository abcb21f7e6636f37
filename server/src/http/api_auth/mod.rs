//! `POST /api-auth/api-key/:key` and `POST /api-auth/basic/:key` (reference §3.8): the browser hands
//! over credentials directly, authenticated by the connect session token (or, legacy, the
//! environment's public key) in the query string.
//!
//! This module also owns the pipeline every credential-submission endpoint shares (the client
//! credentials and unauthenticated endpoints use it too): who submits ([`Submitter`]), the
//! integration / provider / auth-mode / allowed-integration checks ([`prepare`]) and the sealed upsert
//! plus auth webhook ([`save_connection`]).
//!
//! Session rules as Nango: the session's allowed integrations apply, a reconnect session pins the
//! connection id, and the session's connection-config defaults win over what the browser sent.
//! API keys and basic credentials are checked against the provider's `proxy.verification` endpoint
//! first when the catalog declares one ([`crate::verification`]).

pub mod activity;

use super::error::ApiError;
use super::extract::{query_params, session_from_query, StrictJson};
use super::extract::{Path, Query};
use crate::catalog::{CatalogEntry, Provider};
use crate::environment::{is_uuid_v4, Environment};
use crate::sessions;
use crate::storage::{ConnectSessionRow, IntegrationRow};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use latchkey_protocol::connection::{AuthResult, Credentials};
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::params::CONNECT_SESSION_TOKEN;
use latchkey_protocol::routes;
use latchkey_protocol::ErrorCode;
use serde::Deserialize;
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(&routes::keyed(routes::API_KEY), post(api_key))
        .route(&routes::keyed(routes::BASIC), post(basic))
}

const MAX_CREDENTIAL_LEN: usize = 1024;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyBody {
    #[serde(rename = "apiKey")]
    api_key: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicBody {
    username: String,
    password: String,
}

/// Who submits credentials: a connect session (the Connect UI, the frontend SDK) or, in Nango's
/// legacy mode, anyone holding the environment's public key (then the caller names the connection).
pub struct Submitter {
    pub env: Environment,
    pub session: Option<ConnectSessionRow>,
    /// `connection_id` from the query (public-key mode only; forbidden with a session).
    pub requested_connection_id: Option<String>,
}

impl Submitter {
    /// The connection a flow writes when it is known before it is saved (a reconnect session's, or the
    /// one a public-key caller named); a new connection's id is drawn when it is saved.
    pub fn chosen_connection(&self) -> Option<String> {
        match &self.session {
            Some(s) => s.reconnect_connection_id.clone(),
            None => self.requested_connection_id.clone(),
        }
    }

    pub fn allows(&self, key: &str) -> bool {
        self.session
            .as_ref()
            .map(|s| sessions::allows(s, key))
            .unwrap_or(true)
    }

    /// The connection config of the new connection: the browser's `params[…]` — only the fields the
    /// provider lets it set ([`Provider::browser_may_set`]), plus Nango's `oauth_scopes` — overlaid by
    /// the session's pinned defaults.
    pub fn connection_config(
        &self,
        key: &str,
        pairs: &[(String, String)],
        provider: &Provider,
    ) -> BTreeMap<String, String> {
        let mut from_browser = query_params(pairs, "params");
        from_browser.retain(|k, _| k == "oauth_scopes" || provider.browser_may_set(k));
        match &self.session {
            Some(s) => sessions::connection_config(s, key, from_browser),
            None => {
                let mut config = from_browser;
                config.remove("webhook_url");
                config
            }
        }
    }

    /// The connection written to: the reconnect session's, the one the public-key caller named, or
    /// a new UUID.
    pub fn connection_id(&self) -> String {
        match &self.session {
            Some(s) => sessions::connection_id(s),
            None => self
                .requested_connection_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        }
    }

    pub fn tags(&self) -> Option<&str> {
        self.session.as_ref().and_then(|s| s.tags.as_deref())
    }

    pub fn end_user(&self) -> Option<String> {
        self.session.as_ref().and_then(|s| s.end_user.clone())
    }
}

fn unauthorized(code: ErrorCode, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
}

/// Authenticates a credential submission from its query: `connect_session_token`, else `public_key`.
pub async fn submitter(app: &AppState, pairs: &[(String, String)]) -> Result<Submitter, ApiError> {
    let has_session = pairs
        .iter()
        .any(|(k, v)| k == CONNECT_SESSION_TOKEN && !v.is_empty());
    if has_session {
        let (env, session) = session_from_query(app, pairs).await?;
        return Ok(Submitter {
            env,
            session: Some(session),
            requested_connection_id: None,
        });
    }
    let public_key = pairs
        .iter()
        .find(|(k, v)| k == "public_key" && !v.is_empty())
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| {
            unauthorized(
                ErrorCode::MissingPublicKey,
                "A connect session token or a public key is required.",
            )
        })?;
    if !is_uuid_v4(public_key) {
        return Err(unauthorized(
            ErrorCode::InvalidPublicKey,
            "The public key is not a UUID v4.",
        ));
    }
    if app.config.public_key_mode == crate::config::PublicKeyMode::Off {
        return Err(unauthorized(
            ErrorCode::InvalidPublicKey,
            "Public-key authentication is turned off on this server (LATCHKEY_PUBLIC_KEY_MODE); \
             use a connect session token.",
        ));
    }
    let row = app
        .store
        .environment_by_public_key(public_key)
        .await?
        .ok_or_else(|| unauthorized(ErrorCode::InvalidPublicKey, "Unknown public key."))?;
    let env = Environment::open(&row, &app.cipher).map_err(ApiError::Internal)?;
    let requested_connection_id = pairs
        .iter()
        .find(|(k, v)| k == "connection_id" && !v.is_empty())
        .map(|(_, v)| v.clone());
    if requested_connection_id
        .as_deref()
        .is_some_and(|id| id.len() > 255)
    {
        return Err(ApiError::Invalid {
            code: ErrorCode::InvalidQueryParams,
            issues: vec![latchkey_protocol::ValidationIssue {
                code: "too_big".into(),
                message: "at most 255 characters".into(),
                path: vec!["connection_id".into()],
            }],
        });
    }
    Ok(Submitter {
        env,
        session: None,
        requested_connection_id,
    })
}

/// Everything a submission endpoint needs once the checks passed.
pub struct Prepared<'a> {
    pub submitter: Submitter,
    pub integration: IntegrationRow,
    pub entry: &'a CatalogEntry,
    pub provider: &'a Provider,
}

impl Prepared<'_> {
    /// The new connection's config: the session's defaults and what the browser may set
    /// (`params[…]` in `pairs`).
    pub fn connection_config(
        &self,
        key: &str,
        pairs: &[(String, String)],
    ) -> BTreeMap<String, String> {
        self.submitter.connection_config(key, pairs, self.provider)
    }

    /// Stores the credentials under the connection id the session (or the public-key caller) names.
    pub async fn save(
        &self,
        app: &AppState,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
    ) -> Result<Json<AuthResult>, ApiError> {
        save_connection(
            app,
            self,
            self.submitter.connection_id(),
            config,
            credentials,
        )
        .await
    }
}

/// Legacy public-key mode with HMAC on: the backend signed "<integration>[:<connection>]" and the
/// page passes it as `hmac` (400 `missing_hmac` / `invalid_hmac`). Session-token calls are not
/// checked, as in Nango.
pub(super) fn check_hmac(
    app: &AppState,
    submitter: &Submitter,
    key: &str,
    pairs: &[(String, String)],
) -> Result<(), ApiError> {
    if submitter.session.is_some() {
        return Ok(());
    }
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let connection_id = submitter.requested_connection_id.as_deref();
    let require = app.config.public_key_mode == crate::config::PublicKeyMode::Hmac;
    crate::oauth::hmac::check_request(
        &submitter.env.settings,
        key,
        connection_id,
        param("hmac"),
        param("hmac_expires"),
        require,
        app.clock.now_unix(),
    )
    .map_err(|e| {
        use crate::oauth::hmac::HmacError;
        let code = match e {
            HmacError::Missing | HmacError::MissingExpiry => ErrorCode::MissingHmac,
            HmacError::Invalid | HmacError::Expired => ErrorCode::InvalidHmac,
        };
        ApiError::new(StatusCode::BAD_REQUEST, code, e.to_string())
    })
}

/// Nango's pipeline before any credential is used: HMAC in public-key mode when the environment
/// enables it (400 `missing_hmac` / `invalid_hmac`), integration (404 `unknown_provider_config`),
/// provider template (404 `unknown_provider_template`), auth mode (400 `invalid_auth_mode`), allowed
/// integrations (400 `integration_not_allowed`).
pub async fn prepare<'a>(
    app: &'a AppState,
    key: &str,
    pairs: &[(String, String)],
    mode: AuthMode,
) -> Result<Prepared<'a>, ApiError> {
    let submitter = submitter(app, pairs).await?;
    check_hmac(app, &submitter, key, pairs)?;
    let integration = app
        .store
        .integration(submitter.env.id, key)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownProviderConfig,
                format!("No integration named '{key}'."),
            )
        })?;
    let entry = app.catalog.get(&integration.provider);
    let (entry, provider) = entry
        .and_then(|e| e.provider.as_ref().map(|p| (e, p)))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownProviderTemplate,
                "The integration's provider is not in the catalog.",
            )
        })?;
    if provider.auth_mode != mode {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidAuthMode,
            format!("Integration '{key}' does not use this authentication mode."),
        ));
    }
    if !submitter.allows(key) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::IntegrationNotAllowed,
            format!("Integration '{key}' is not allowed by this session."),
        ));
    }
    Ok(Prepared {
        submitter,
        integration,
        entry,
        provider,
    })
}

/// Stores the submitted credentials ([`crate::connections::save`]) and answers with the connection.
pub async fn save_connection(
    app: &AppState,
    prepared: &Prepared<'_>,
    connection_id: String,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
) -> Result<Json<AuthResult>, ApiError> {
    let env = &prepared.submitter.env;
    let key = prepared.integration.unique_key.as_str();
    let grant = crate::connections::save::Grant {
        environment_id: env.id,
        environment: &env.name,
        provider_config_key: key,
        connection_id: &connection_id,
        provider: &prepared.integration.provider,
        auth_mode: prepared.provider.auth_mode.as_str(),
        connection_config: serde_json::to_string(config).expect("map serializes"),
        tags: prepared.submitter.tags(),
        end_user: prepared.submitter.end_user(),
    };
    let created = crate::connections::save::save(app.savers(), grant, credentials).await?;
    // Identity only, never the credentials.
    tracing::info!(
        integration = %key,
        connection = %connection_id,
        auth_mode = prepared.provider.auth_mode.as_str(),
        created,
        "connection saved"
    );
    Ok(Json(AuthResult {
        provider_config_key: key.to_string(),
        connection_id,
        is_pending: None,
    }))
}

async fn api_key(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    StrictJson(body): StrictJson<ApiKeyBody>,
) -> Result<Json<AuthResult>, ApiError> {
    if body.api_key.is_empty() || body.api_key.len() > MAX_CREDENTIAL_LEN {
        return Err(ApiError::invalid_body(
            vec!["apiKey".into()],
            "must be 1 to 1024 characters",
        ));
    }
    let credentials = Credentials::ApiKey {
        api_key: body.api_key,
    };
    save_verified(&app, &key, &pairs, AuthMode::ApiKey, credentials).await
}

async fn basic(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    StrictJson(body): StrictJson<BasicBody>,
) -> Result<Json<AuthResult>, ApiError> {
    for (name, v) in [("username", &body.username), ("password", &body.password)] {
        if v.len() > MAX_CREDENTIAL_LEN {
            return Err(ApiError::invalid_body(
                vec![name.into()],
                "must be at most 1024 characters",
            ));
        }
    }
    let credentials = Credentials::Basic {
        username: body.username,
        password: body.password,
    };
    save_verified(&app, &key, &pairs, AuthMode::Basic, credentials).await
}

/// API key / basic: the checks, the provider's verification request, then the upsert.
async fn save_verified(
    app: &AppState,
    key: &str,
    pairs: &[(String, String)],
    mode: AuthMode,
    credentials: Credentials,
) -> Result<Json<AuthResult>, ApiError> {
    let prepared = prepare(app, key, pairs, mode).await?;
    let logged = activity::credentials_submitted(app, &prepared);
    let config = prepared.connection_config(key, pairs);
    crate::verification::verify(&app.outbound, prepared.entry, &credentials, &config)
        .await
        .inspect_err(|e| activity::verification_failed(&logged, e))
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::ConnectionTestFailed,
                e.to_string(),
            )
        })?;
    let saved = prepared.save(app, &config, &credentials).await;
    activity::credentials_saved(&logged, saved)
}
