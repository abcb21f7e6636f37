//! OAuth2 client credentials (`auth_mode: OAUTH2_CC`, reference §3.8 and §4.7): the end user hands us
//! a client id and secret, the server fetches an access token from the provider's `token_url` with the
//! `client_credentials` grant and fetches a new one whenever the stored one is about to expire.
//!
//! The credentials (token, expiry, client id and secret, raw response) are one sealed blob, like every
//! other connection's. Reads go through [`crate::credentials::fresh`], which decides when a
//! token is due and makes sure one caller across all replicas renews it (the per-connection lock, the
//! lease, re-reads), then calls [`renewed`] for OAUTH2_CC connections and stores what it returns.
//!
//! Never logs the client secret or a token; the outbound client refuses private addresses unless the
//! deployment allows them.

use super::token::{request_token, BodyFormat, ClientAuth, TokenRequest};
use crate::catalog::{interpolate_params, interpolate_url, param_string, Provider};
#[cfg(test)]
use crate::connections::expiry::expires_soon;
use crate::connections::{RefreshError, Refusal, Renewing};
use crate::outbound::{TokenError, Upstream};
use crate::secret::Secret;
use latchkey_protocol::connection::Credentials;
use std::collections::BTreeMap;

/// Without an `expires_in`, a client-credentials token is treated as valid this long (Nango's 55 min).
pub const DEFAULT_LIFETIME_SECS: i64 = 55 * 60;

/// Fetch again when the token expires within this window (as refresh tokens: 15 min).
pub const REFRESH_WINDOW_SECS: i64 = crate::connections::expiry::REFRESH_WINDOW_SECS;

#[derive(Debug, thiserror::Error)]
pub enum ClientCredentialsError {
    /// The provider's token URL or params need connection-config values that are missing or invalid.
    #[error("{0}")]
    Config(String),
    /// The provider refused or could not be reached.
    #[error("{0}")]
    Upstream(#[from] TokenError),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

/// A fetched token: the credentials to store and the `token_response_metadata` to copy into the
/// connection config.
#[derive(Debug)]
pub struct Fetched {
    pub credentials: Credentials,
    pub metadata: BTreeMap<String, String>,
}

/// Asks `provider`'s token endpoint for a client-credentials token.
pub async fn fetch(
    upstream: Upstream<'_>,
    provider: &Provider,
    client_id: &str,
    client_secret: &Secret,
    connection_config: &BTreeMap<String, String>,
) -> Result<Fetched, ClientCredentialsError> {
    let template = provider
        .token_url
        .as_ref()
        .and_then(|u| u.for_mode("OAUTH2_CC"))
        .ok_or_else(|| ClientCredentialsError::Config("the provider has no token URL".into()))?;
    let url = interpolate_url(template, connection_config, &provider.connection_config)
        .map_err(|e| ClientCredentialsError::Config(e.to_string()))?;
    let mut params = interpolate_params(&provider.token_params, connection_config)
        .map_err(|e| ClientCredentialsError::Config(e.to_string()))?;
    params
        .entry("grant_type".into())
        .or_insert_with(|| "client_credentials".into());
    // Scopes as Nango: the connection config's `oauth_scopes` (comma-separated), joined with the
    // provider's separator.
    if let Some(scopes) = connection_config
        .get("oauth_scopes")
        .filter(|s| !s.trim().is_empty())
    {
        let separator = provider.scope_separator.as_deref().unwrap_or(" ");
        let joined = scopes
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(separator);
        params.insert("scope".into(), joined);
    }
    let tokens = request_token(
        upstream.outbound,
        upstream.clock,
        TokenRequest {
            token_url: &url,
            client_id,
            client_secret,
            auth: ClientAuth::for_provider(provider),
            format: BodyFormat::for_provider(provider),
            params,
        },
    )
    .await?;
    let now = upstream.clock.now_unix();
    let metadata = provider
        .token_response_metadata
        .iter()
        .filter_map(|k| {
            let v = tokens.raw.get(k)?;
            (!v.is_null()).then(|| (k.clone(), param_string(v)))
        })
        .collect();
    Ok(Fetched {
        credentials: Credentials::OAuth2Cc {
            token: tokens.access_token.expose().to_string(),
            expires_at: Some(crate::time::unix_to_iso(
                tokens.expires_at.unwrap_or(now + DEFAULT_LIFETIME_SECS),
            )),
            client_id: client_id.to_string(),
            client_secret: client_secret.expose().to_string(),
            raw: tokens.raw,
        },
        metadata,
    })
}

/// Fetches a new client-credentials token for `row` (whose opened credentials are `current`); the
/// caller holds the renewal gate and stores it.
pub(crate) async fn renewed(r: &Renewing<'_>) -> Result<Credentials, RefreshError> {
    let Credentials::OAuth2Cc {
        client_id,
        client_secret,
        ..
    } = r.current
    else {
        return Ok(r.current.clone());
    };
    let provider = r
        .catalog
        .get(&r.row.provider)
        .and_then(|e| e.provider.clone())
        .ok_or_else(|| anyhow::anyhow!("provider {} not in catalog", r.row.provider))?;
    let config = crate::connections::config(r.row);
    let secret = Secret::new(client_secret.clone());
    match fetch(r.upstream, &provider, client_id, &secret, &config).await {
        Ok(fetched) => Ok(fetched.credentials),
        Err(ClientCredentialsError::Internal(e)) => Err(RefreshError::Internal(e)),
        Err(ClientCredentialsError::Config(e)) => Err(Refusal::Config(e).into()),
        Err(ClientCredentialsError::Upstream(e)) => Err(Refusal::Token(e).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_expiring_within_the_window_is_due() {
        let now = 1_000_000;
        let cc = |at: i64| Credentials::OAuth2Cc {
            token: "t".into(),
            expires_at: Some(crate::time::unix_to_iso(at)),
            client_id: "c".into(),
            client_secret: "s".into(),
            raw: serde_json::json!({}),
        };
        assert!(expires_soon(&cc(now + 60), now));
        assert!(!expires_soon(&cc(now + 3600), now));
    }
}
