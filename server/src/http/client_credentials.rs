//! `POST /oauth2/auth/:key` (reference §3.8, `auth_mode: OAUTH2_CC`): the end user submits their
//! client id and secret; the server fetches a token from the provider with the `client_credentials`
//! grant before saving anything, so a wrong secret never becomes a connection. Later reads fetch a
//! new token when it nears expiry ([`crate::credentials::fresh`]).

use super::api_auth::prepare;
use super::error::ApiError;
use super::extract::StrictJson;
use super::extract::{Path, Query};
use crate::oauth::client_credentials::{fetch, ClientCredentialsError};
use crate::secret::Secret;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use latchkey_protocol::connection::AuthResult;
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::ErrorCode;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route(
        &latchkey_protocol::routes::keyed(latchkey_protocol::routes::CLIENT_CREDENTIALS),
        post(client_credentials),
    )
}

/// Nango's body. Certificate-based client auth (mTLS) is not supported: those fields are refused.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientCredentialsBody {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    client_certificate: Option<String>,
    #[serde(default)]
    client_private_key: Option<String>,
}

const MAX_LEN: usize = 1024;

async fn client_credentials(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    StrictJson(body): StrictJson<ClientCredentialsBody>,
) -> Result<Json<AuthResult>, ApiError> {
    if body.client_id.is_empty() || body.client_id.len() > MAX_LEN {
        return Err(ApiError::invalid_body(
            vec!["client_id".into()],
            "must be 1 to 1024 characters",
        ));
    }
    let secret = body.client_secret.unwrap_or_default();
    if secret.len() > MAX_LEN {
        return Err(ApiError::invalid_body(
            vec!["client_secret".into()],
            "must be at most 1024 characters",
        ));
    }
    for (name, v) in [
        ("client_certificate", &body.client_certificate),
        ("client_private_key", &body.client_private_key),
    ] {
        if v.is_some() {
            return Err(ApiError::invalid_body(
                vec![name.into()],
                "certificate-based client authentication is not supported",
            ));
        }
    }
    let prepared = prepare(&app, &key, &pairs, AuthMode::Oauth2Cc).await?;
    let logged = crate::http::api_auth::activity::credentials_submitted(&app, &prepared);
    let mut config = prepared.connection_config(&key, &pairs);
    let fetched = fetch(
        app.upstream(),
        prepared.provider,
        &body.client_id,
        &Secret::new(secret),
        &config,
    )
    .await
    .inspect_err(|e| crate::http::api_auth::activity::verification_failed(&logged, e))
    .map_err(|e| match e {
        ClientCredentialsError::Internal(e) => ApiError::Internal(e),
        ClientCredentialsError::Config(m) => {
            ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidConnection, m)
        }
        ClientCredentialsError::Upstream(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::ClientCredentialsFetchError,
            format!("The provider refused the client credentials: {e}"),
        ),
    })?;
    config.extend(fetched.metadata);
    let saved = prepared.save(&app, &config, &fetched.credentials).await;
    crate::http::api_auth::activity::credentials_saved(&logged, saved)
}
