//! The OAuth2 refresh grant (RFC 6749 §6), a leaf of the renewal gate
//! ([`crate::connections::renewal`]): the provider's refresh URL (or token URL) and parameters
//! interpolated from the connection's config, the client (or the connection's overriding client)
//! authenticated as the provider expects; MCP connections use the token endpoint they discovered
//! and their resource indicator.

use super::token::{request_token, BodyFormat, ClientAuth, TokenRequest};
use crate::catalog::{interpolate_params, interpolate_secret_url};
use crate::connections::{RefreshError, Refusal, Renewing};
use crate::secret::Secret;
use latchkey_protocol::connection::Credentials;

/// Calls the provider's token endpoint with the connection's refresh token; the new credentials (the
/// rotated refresh token, if the provider sent one, else the same). The caller holds the renewal
/// gate and stores them.
pub(crate) async fn refreshed(r: &Renewing<'_>) -> Result<Credentials, RefreshError> {
    let Credentials::OAuth2 {
        refresh_token: Some(refresh_token),
        config_override,
        ..
    } = r.current
    else {
        return Err(RefreshError::NoRefreshToken);
    };
    let integration = r
        .integration
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("integration deleted"))?;
    let provider = r
        .catalog
        .get(&integration.provider)
        .and_then(|e| e.provider.clone())
        .ok_or_else(|| anyhow::anyhow!("provider {} not in catalog", integration.provider))?;
    let config = crate::connections::config(r.row);
    // MCP connections: the discovered token endpoint (generic mode) and the resource indicator.
    let mcp = super::mcp::refresh_target(&provider, &config);
    let url = match mcp.as_ref().and_then(|(url, _)| url.clone()) {
        Some(url) => url,
        None => {
            let template = provider
                .refresh_url
                .as_deref()
                .or_else(|| super::flow::token_url_template(&provider))
                .ok_or_else(|| anyhow::anyhow!("provider has no token URL"))?;
            // A stored connection's config was checked when it was authorized (or set by the
            // backend).
            interpolate_secret_url(
                template,
                &config,
                &provider,
                &config.keys().cloned().collect(),
            )
            .map_err(|e| Refusal::Config(e.to_string()))?
        }
    };
    // A connection authorized with an overriding OAuth client refreshes with that client.
    let overridden = config_override.clone().unwrap_or_default();
    let secret = match &overridden.client_secret {
        Some(s) => Secret::new(s.clone()),
        None => crate::integration_config::client_secret(r.cipher, integration)
            .map_err(anyhow::Error::from)?,
    };
    // Nango refreshes with `refresh_params`, else `token_params` (whose grant_type we replace).
    let template_params = if provider.refresh_params.is_empty() {
        &provider.token_params
    } else {
        &provider.refresh_params
    };
    let mut params =
        interpolate_params(template_params, &config).map_err(|e| Refusal::Config(e.to_string()))?;
    params.insert("grant_type".into(), "refresh_token".into());
    params.insert("refresh_token".into(), refresh_token.clone());
    let auth = match &mcp {
        Some((_, resource)) => {
            if let Some(resource) = resource {
                params.insert("resource".into(), resource.clone());
            }
            // A registered public client has no secret.
            if secret.expose().is_empty() {
                ClientAuth::None
            } else {
                ClientAuth::for_provider(&provider)
            }
        }
        None => ClientAuth::for_provider(&provider),
    };
    let client_id = overridden
        .client_id
        .clone()
        .or_else(|| integration.client_id.clone())
        .unwrap_or_default();
    let tokens = request_token(
        r.upstream.outbound,
        r.upstream.clock,
        TokenRequest {
            token_url: &url,
            client_id: &client_id,
            client_secret: &secret,
            auth,
            format: BodyFormat::for_provider(&provider),
            params,
        },
    )
    .await;
    let tokens = tokens.map_err(Refusal::Token)?;
    Ok(tokens.into_credentials(Some(refresh_token.clone()), config_override.clone()))
}
