//! Request extractors: who is calling (secret key, connect session) and strictly parsed JSON bodies.

use super::error::ApiError;
use crate::crypto;
use crate::environment::{is_uuid_v4, Environment};
use crate::storage::ConnectSessionRow;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use latchkey_protocol::params::{CONNECT_SESSION_TOKEN, SESSION_TOKEN_PREFIX};
use latchkey_protocol::ErrorCode;
use serde::de::DeserializeOwned;
use std::sync::Arc;

fn unauthorized(code: ErrorCode, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        unauthorized(
            ErrorCode::MissingAuthHeader,
            "Authentication failed. The request is missing the Authorization header.",
        )
    })?;
    let value = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            unauthorized(
                ErrorCode::MalformedAuthHeader,
                "Authentication failed. The Authorization header is malformed.",
            )
        })?;
    Ok(value)
}

/// Whether a string has the connect session token format (`nango_connect_session_` + 64 lowercase hex).
pub fn is_session_token(token: &str) -> bool {
    token
        .strip_prefix(SESSION_TOKEN_PREFIX)
        .map(|hex| {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .unwrap_or(false)
}

/// The environment of a secret key, shared with the cache (no copy of its settings per request).
async fn environment_for_secret(app: &AppState, key: &str) -> Result<Arc<Environment>, ApiError> {
    if !is_uuid_v4(key) {
        return Err(unauthorized(
            ErrorCode::InvalidSecretKeyFormat,
            "Authentication failed. The provided secret key is not a UUID v4.",
        ));
    }
    // Looked up by the key's digest, as the database does; the key itself is compared too, in
    // constant time, whether the environment comes from the cache or the database.
    let digest = crypto::sha256(key);
    let cache = app.store.environments();
    if let Some(env) = cache.by_secret_digest(&digest) {
        if crypto::secrets_equal(env.secret_key.expose(), key) {
            return Ok(env);
        }
    }
    let generation = cache.generation();
    let row = app
        .store
        .environment_by_secret_hash(&hex::encode(digest))
        .await?
        .ok_or_else(|| {
            unauthorized(
                ErrorCode::UnknownAccount,
                "Authentication failed. The provided secret key does not match any environment.",
            )
        })?;
    let env = Environment::open(&row, &app.cipher).map_err(ApiError::Internal)?;
    if !crypto::secrets_equal(env.secret_key.expose(), key) {
        return Err(unauthorized(
            ErrorCode::UnknownAccount,
            "Authentication failed.",
        ));
    }
    let env = Arc::new(env);
    cache.insert(generation, Some(digest), env.clone());
    Ok(env)
}

/// Environment `id`, opened (from the cache when it is there): [`crate::environment::opened_by_id`].
pub(crate) async fn environment_by_id(
    app: &AppState,
    id: i64,
) -> Result<Option<Environment>, ApiError> {
    crate::environment::opened_by_id(&app.store, &app.cipher, id)
        .await
        .map_err(ApiError::Internal)
}

/// Loads the live session for `token`, with its environment.
pub async fn session_for_token(
    app: &AppState,
    token: &str,
) -> Result<(Environment, ConnectSessionRow), ApiError> {
    if !is_session_token(token) {
        return Err(unauthorized(
            ErrorCode::InvalidConnectSessionTokenFormat,
            "The connect session token is malformed.",
        ));
    }
    let (token_hash, mut session) = crate::sessions::find(&app.store, token, app.clock.now_unix())
        .await?
        .ok_or_else(|| {
            unauthorized(
                ErrorCode::UnknownConnectSessionToken,
                "The connect session token is unknown or expired.",
            )
        })?;
    // The defaults are sealed at rest (they may hold a client secret override): opened here, once.
    if let Some(stored) = session.integrations_config_defaults.take() {
        session.integrations_config_defaults = Some(
            crate::sessions::open_defaults(&app.cipher, &token_hash, &stored)
                .map_err(ApiError::Internal)?,
        );
    }
    let env = environment_by_id(app, session.environment_id)
        .await?
        .ok_or_else(|| {
            unauthorized(
                ErrorCode::UnknownAccount,
                "The session's environment no longer exists.",
            )
        })?;
    Ok((env, session))
}

/// The connect session of a browser-initiated authorization (`/oauth/connect`, `/api-auth/*`), from
/// the `connect_session_token` query parameter. With a session token the browser may not name the
/// connection (Nango's rule): the session decides it.
pub async fn session_from_query(
    app: &AppState,
    pairs: &[(String, String)],
) -> Result<(Environment, ConnectSessionRow), ApiError> {
    let token = pairs
        .iter()
        .find(|(k, v)| k == CONNECT_SESSION_TOKEN && !v.is_empty())
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| {
            unauthorized(
                ErrorCode::MissingAuthHeader,
                "A connect session token is required.",
            )
        })?;
    if pairs.iter().any(|(k, _)| k == "connection_id") {
        return Err(ApiError::Invalid {
            code: ErrorCode::InvalidQueryParams,
            issues: vec![latchkey_protocol::ValidationIssue {
                code: "forbidden".into(),
                message: "connection_id is forbidden when using session token".into(),
                path: vec!["connection_id".into()],
            }],
        });
    }
    session_for_token(app, token).await
}

/// Nango's bracketed query keys: `params[subdomain]=x` → `{subdomain: x}` for prefix `params`.
pub fn query_params(
    pairs: &[(String, String)],
    prefix: &str,
) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .filter_map(|(k, v)| {
            let inner = k
                .strip_prefix(prefix)?
                .strip_prefix('[')?
                .strip_suffix(']')?;
            Some((inner.to_string(), v.clone()))
        })
        .collect()
}

/// A backend call authenticated with the environment's secret key.
pub struct SecretKeyAuth(pub Arc<Environment>);

impl FromRequestParts<AppState> for SecretKeyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let key = bearer(parts)?;
        Ok(Self(environment_for_secret(app, key).await?))
    }
}

/// A Connect UI call authenticated with a connect session token in the Authorization header.
pub struct SessionTokenAuth {
    pub env: Environment,
    pub session: ConnectSessionRow,
}

impl FromRequestParts<AppState> for SessionTokenAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        let (env, session) = session_for_token(app, token).await?;
        Ok(Self { env, session })
    }
}

/// Routes open to both backends and the Connect UI (`GET /integrations`, `/providers`).
pub enum SecretOrSession {
    Secret(Arc<Environment>),
    Session(Box<SessionTokenAuth>),
}

impl FromRequestParts<AppState> for SecretOrSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        // A session token is never retried as a secret key (Nango's rule).
        if token.starts_with(SESSION_TOKEN_PREFIX) {
            let (env, session) = session_for_token(app, token).await?;
            Ok(Self::Session(Box::new(SessionTokenAuth { env, session })))
        } else {
            Ok(Self::Secret(environment_for_secret(app, token).await?))
        }
    }
}

/// A JSON body parsed strictly: syntax errors are `invalid_json`, shape errors are `invalid_body` with
/// the JSON path of the offending field (unknown fields included, where the type denies them).
pub struct StrictJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for StrictJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, app).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::PayloadTooLarge,
                    "The request body is over the size limit.",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidBody,
                    e.body_text(),
                )
            }
        })?;
        let bytes = if bytes.is_empty() {
            Bytes::from_static(b"{}")
        } else {
            bytes
        };
        if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidJson,
                "The body is not valid JSON.",
            ));
        }
        // Every body this API takes is an object; serde would also read a struct from an array
        // (`["resend","key"]` as `{provider, unique_key}`), so anything else is refused first.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::invalid_body(
                Vec::new(),
                "The body must be a JSON object.",
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut de)
            .map(StrictJson)
            .map_err(|e| {
                let path: Vec<String> = e
                    .path()
                    .iter()
                    .filter_map(|seg| match seg {
                        serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                        serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                        serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                        serde_path_to_error::Segment::Unknown => None,
                    })
                    .collect();
                ApiError::invalid_body(path, e.inner().to_string())
            })
    }
}

/// `axum::extract::Query` whose rejection (a malformed value, a duplicate or unknown field) is the
/// envelope with Nango's `invalid_query_params`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(q)| Query(q))
            .map_err(|e| {
                let message = e.body_text();
                let message = message
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&message);
                ApiError::invalid_query(Vec::new(), message)
            })
    }
}

/// `axum::extract::Path` whose rejection (bad percent-encoding or UTF-8, a wrong type) is the
/// envelope with Nango's `invalid_uri_params`.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(p)| Path(p))
            .map_err(|e| ApiError::Invalid {
                code: ErrorCode::InvalidUriParams,
                issues: vec![latchkey_protocol::ValidationIssue {
                    code: "invalid".into(),
                    message: e.body_text(),
                    path: Vec::new(),
                }],
            })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn session_token_format() {
        let good = format!("nango_connect_session_{}", "a1".repeat(32));
        assert!(super::is_session_token(&good));
        assert!(!super::is_session_token(&good.to_uppercase()));
        assert!(!super::is_session_token("nango_connect_session_abc"));
    }
}
