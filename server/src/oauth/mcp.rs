//! OAuth 2.1 for remote MCP servers (auth modes `MCP_OAUTH2` and `MCP_OAUTH2_GENERIC`, issue 15).
//!
//! Both run the ordinary authorization-code flow of [`super::flow`] (PKCE S256, state bound to the
//! browser, same callback) with three differences, all decided here when the flow starts:
//!
//! - **The client.** A catalog provider with `client_registration: dynamic` (and every generic one)
//!   gets an OAuth client by dynamic client registration (RFC 7591) at its registration endpoint:
//!   a public client (`token_endpoint_auth_method: none`) whose redirect URI is the environment's
//!   callback. The registration is kept sealed (like credentials) in the metadata table, keyed by
//!   environment, integration, registration endpoint and redirect URI, reused by later flows and
//!   registered again when it expires (`client_secret_expires_at`) or can no longer be opened. An
//!   integration with its own client id (`static` providers, or one the operator set) uses that.
//! - **The endpoints.** The generic mode discovers them from the MCP server URL the user entered
//!   ([`super::mcp_discovery`]); catalog providers declare them.
//! - **The resource.** RFC 8707's `resource` (the catalog's `authorization_params.resource`, or the
//!   discovered resource) is sent with the authorization request and with every token request.
//!
//! Connections are stored as Nango stores them: `credentials.type` `OAUTH2`, with the registered
//! client in `credentials.config_override` (sealed with the tokens) so refreshes, which go through the
//! same single-flight renewal gate as OAuth2, use the client that the refresh token was issued to. The
//! generic mode keeps the discovered token endpoint and resource in `connection_config` (as Nango keeps
//! its `oauth_metadata`), never a secret.

use super::flow::FlowFailure;
use super::mcp_discovery::{checked_url, discover, DiscoveryError};
use crate::catalog::{interpolate_params, Provider};
use crate::environment::Environment;
use crate::oauth::flow::Flows;
use crate::outbound::{read_capped, TOKEN_BODY_LIMIT};
use crate::storage::IntegrationRow;
use base64::Engine as _;
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::ErrorCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `connection_config` key of the MCP server URL the user entered (Nango's name).
pub const SERVER_URL: &str = "mcp_server_url";
/// `connection_config` key of the discovered token endpoint (generic mode; used by refreshes).
pub const TOKEN_ENDPOINT: &str = "oauth_token_endpoint";
/// `connection_config` key of the RFC 8707 resource indicator (Nango's name).
pub const RESOURCE: &str = "oauth_resource_url";

/// Re-register this long before a registration expires, so a flow never starts with a client that
/// expires while the user is consenting.
const EXPIRY_MARGIN_SECS: i64 = 15 * 60;

/// What the flow carries, sealed, from start to callback.
#[derive(Clone, Serialize, Deserialize)]
pub struct McpAttempt {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The token URL (discovered, generic mode) — `None`: the catalog's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Registered by us (kept with the connection's credentials), not the integration's client.
    pub registered: bool,
}

/// What [`prepare`] decided for one flow.
pub struct Prepared {
    pub attempt: McpAttempt,
    /// The discovered authorization endpoint (generic mode).
    pub authorization_url: Option<String>,
    /// Scopes the server advertises, used when the integration sets none (generic mode).
    pub scopes: Vec<String>,
    /// Added to the connection's config (generic mode: server URL, token endpoint, resource).
    pub connection_config: BTreeMap<String, String>,
}

/// A stored RFC 7591 registration (sealed; no `Debug`).
#[derive(Serialize, Deserialize)]
struct Registration {
    client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    /// Unix seconds; 0 or absent: never.
    #[serde(default)]
    client_secret_expires_at: Option<i64>,
}

/// The stored form in the metadata table.
#[derive(Serialize, Deserialize)]
struct StoredRegistration {
    key_id: String,
    sealed: String,
}

pub fn is_mcp(mode: &AuthMode) -> bool {
    matches!(mode, AuthMode::McpOauth2 | AuthMode::McpOauth2Generic)
}

/// Decides the client, endpoints and resource of an MCP flow (see the module docs).
pub async fn prepare(
    flows: &Flows<'_>,
    env: &Environment,
    integration: &IntegrationRow,
    provider: &Provider,
    connection_config: &BTreeMap<String, String>,
    callback_url: &str,
) -> Result<Prepared, FlowFailure> {
    let allow_http = flows.config.allow_private_providers;
    let mut extra_config = BTreeMap::new();
    let (registration_endpoint, authorization_url, token_url, resource, scopes) =
        if provider.auth_mode == AuthMode::McpOauth2Generic {
            let server_url = connection_config
                .get(SERVER_URL)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    FlowFailure::new(
                        ErrorCode::UrlParamErr,
                        format!("Missing Connection Config param(s): {SERVER_URL}"),
                    )
                })?;
            let found = discover(flows.upstream.outbound, server_url, allow_http)
                .await
                .map_err(discovery_failure)?;
            extra_config.insert(SERVER_URL.to_string(), server_url.clone());
            extra_config.insert(
                TOKEN_ENDPOINT.to_string(),
                found.server.token_endpoint.clone(),
            );
            extra_config.insert(RESOURCE.to_string(), found.resource.clone());
            (
                found.server.registration_endpoint.clone(),
                Some(found.server.authorization_endpoint.clone()),
                Some(found.server.token_endpoint.clone()),
                Some(found.resource),
                found.scopes,
            )
        } else {
            let resource = interpolate_params(&provider.authorization_params, connection_config)
                .ok()
                .and_then(|p| p.get("resource").cloned());
            (
                provider.registration_url.clone(),
                None,
                None,
                resource,
                Vec::new(),
            )
        };

    // The operator's own client (static registration) wins; else register dynamically.
    let own_client = integration.client_id.clone().filter(|c| !c.is_empty());
    let attempt = match own_client {
        Some(client_id) => McpAttempt {
            client_id,
            client_secret: None,
            token_url,
            resource,
            registered: false,
        },
        None => {
            let static_only = provider.client_registration.as_deref() == Some("static");
            let endpoint = registration_endpoint.filter(|_| !static_only).ok_or_else(|| {
                FlowFailure::new(
                    ErrorCode::ProviderConfigErr,
                    format!(
                        "Integration '{}' has no OAuth client id and its provider offers no dynamic client registration.",
                        integration.unique_key
                    ),
                )
            })?;
            let endpoint = checked_url(&endpoint, allow_http)
                .map_err(discovery_failure)?
                .to_string();
            let registration = registration_for(
                flows,
                env,
                integration,
                provider,
                &endpoint,
                callback_url,
                &scopes,
            )
            .await?;
            McpAttempt {
                client_id: registration.client_id,
                client_secret: registration.client_secret,
                token_url,
                resource,
                registered: true,
            }
        }
    };
    Ok(Prepared {
        attempt,
        authorization_url,
        scopes,
        connection_config: extra_config,
    })
}

/// The stored registration for this endpoint and redirect URI, or a new one.
async fn registration_for(
    flows: &Flows<'_>,
    env: &Environment,
    integration: &IntegrationRow,
    provider: &Provider,
    endpoint: &str,
    callback_url: &str,
    scopes: &[String],
) -> Result<Registration, FlowFailure> {
    let name = format!(
        "mcp_registration:{}",
        crate::crypto::sha256_hex(
            &serde_json::json!([env.id, integration.unique_key, endpoint, callback_url])
                .to_string()
        )
    );
    let now = flows.upstream.clock.now_unix();
    if let Some(stored) = flows.store.meta(&name).await.map_err(internal)? {
        let opened = serde_json::from_str::<StoredRegistration>(&stored)
            .ok()
            .and_then(|s| {
                let sealed = base64::engine::general_purpose::STANDARD
                    .decode(s.sealed)
                    .ok()?;
                flows.cipher.open(&s.key_id, &sealed, &name).ok()
            })
            .and_then(|plain| serde_json::from_slice::<Registration>(&plain).ok());
        match opened {
            Some(r)
                if r.client_secret_expires_at
                    .is_none_or(|at| at == 0 || at > now + EXPIRY_MARGIN_SECS) =>
            {
                return Ok(r);
            }
            // Expired, or sealed with a key we no longer have: register again.
            _ => {
                tracing::info!(integration = %integration.unique_key, "MCP client registration expired or unreadable; registering again")
            }
        }
    }
    let registration = register(flows, env, provider, endpoint, callback_url, scopes).await?;
    let sealed = flows.cipher.seal(
        &serde_json::to_vec(&registration).expect("registration serializes"),
        &name,
    );
    let stored = StoredRegistration {
        key_id: flows.cipher.key_id().to_string(),
        sealed: base64::engine::general_purpose::STANDARD.encode(sealed),
    };
    flows
        .store
        .set_meta(
            &name,
            &serde_json::to_string(&stored).expect("registration serializes"),
        )
        .await
        .map_err(internal)?;
    tracing::info!(integration = %integration.unique_key, "registered an MCP OAuth client");
    Ok(registration)
}

/// RFC 7591 §3.1: registers a public client with our callback as its redirect URI.
async fn register(
    flows: &Flows<'_>,
    env: &Environment,
    provider: &Provider,
    endpoint: &str,
    callback_url: &str,
    scopes: &[String],
) -> Result<Registration, FlowFailure> {
    let mut body = serde_json::json!({
        "redirect_uris": [callback_url],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": format!("Latchkey - {} - {}", env.name, provider.display_name),
    });
    // Nango forwards only these two of the catalog's `registration_params`.
    for key in ["grant_types", "response_types"] {
        if let Some(v) = provider.registration_params.get(key) {
            body[key] = v.clone();
        }
    }
    if !scopes.is_empty() {
        body["scope"] = serde_json::Value::String(scopes.join(" "));
    }
    let upstream = |detail: String| {
        FlowFailure::new(
            ErrorCode::ProviderConfigErr,
            format!("Dynamic client registration failed: {detail}"),
        )
    };
    let response = flows
        .upstream
        .outbound
        .post(endpoint)
        .map_err(|e| upstream(e.to_string()))?
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&body)
        .send()
        .await
        .map_err(|e| upstream(crate::outbound::OutboundError::from(e).to_string()))?;
    let status = response.status();
    let bytes = read_capped(response, TOKEN_BODY_LIMIT)
        .await
        .map_err(|e| upstream(e.to_string()))?;
    if !status.is_success() {
        // The OAuth error code and description only (RFC 7591 §3.2.2), never the raw body.
        let detail = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| {
                let code = v.get("error")?.as_str()?.to_string();
                Some(match v.get("error_description").and_then(|d| d.as_str()) {
                    Some(d) => format!("{code}: {d}"),
                    None => code,
                })
            })
            .unwrap_or_else(|| format!("the registration endpoint answered {status}"));
        return Err(upstream(detail));
    }
    serde_json::from_slice::<Registration>(&bytes)
        .map_err(|e| upstream(format!("unreadable registration response: {e}")))
}

/// Token-request additions of an MCP connection's refresh: the token URL (generic mode) and the
/// resource indicator. `None` for other modes.
pub fn refresh_target(
    provider: &Provider,
    connection_config: &BTreeMap<String, String>,
) -> Option<(Option<String>, Option<String>)> {
    if !is_mcp(&provider.auth_mode) {
        return None;
    }
    let resource = connection_config.get(RESOURCE).cloned().or_else(|| {
        interpolate_params(&provider.authorization_params, connection_config)
            .ok()
            .and_then(|p| p.get("resource").cloned())
    });
    let token_url = (provider.auth_mode == AuthMode::McpOauth2Generic)
        .then(|| connection_config.get(TOKEN_ENDPOINT).cloned())
        .flatten();
    Some((token_url, resource))
}

fn discovery_failure(e: DiscoveryError) -> FlowFailure {
    match e {
        DiscoveryError::BadUrl(m) => FlowFailure::new(
            ErrorCode::UrlParamErr,
            format!("Connection Config param '{SERVER_URL}' is not valid: {m}"),
        ),
        DiscoveryError::Upstream(m) => FlowFailure::new(ErrorCode::UnknownErr, m),
    }
}

fn internal(e: impl std::fmt::Display) -> FlowFailure {
    tracing::error!(error = %e, "internal error in the MCP OAuth flow");
    FlowFailure::new(
        ErrorCode::UnknownErr,
        "Unknown error during the OAuth flow. Please try again.",
    )
}
