//! Finding the authorization server of an MCP server the user named (`MCP_OAUTH2_GENERIC`), as the
//! MCP authorization spec prescribes: the server's protected-resource metadata (RFC 9728) names its
//! authorization server, whose metadata (RFC 8414, or OpenID Connect discovery) gives the endpoints.
//!
//! Every request goes through the guarded outbound client (no private addresses unless the deployment
//! allows them, no redirects followed, capped bodies). Endpoints must be `https` (plain `http` only
//! where private networks are allowed, i.e. tests and the offline demo), and the authorization server
//! metadata must name the issuer it was fetched for (RFC 8414 §3.3), so a resource cannot point us at
//! one server's metadata under another's name.

use crate::outbound::{read_capped, OutboundClient, TOKEN_BODY_LIMIT};
use serde::Deserialize;
use url::Url;

/// RFC 9728 protected-resource metadata (the fields we use).
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceMetadata {
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

/// RFC 8414 authorization-server metadata (the fields we use).
#[derive(Debug, Clone, Deserialize)]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
}

/// What discovery found for one MCP server URL.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The RFC 8707 resource indicator to send (the metadata's `resource`, else the server URL).
    pub resource: String,
    pub server: ServerMetadata,
    /// Scopes the resource advertises (else the authorization server's).
    pub scopes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("the MCP server URL is not valid: {0}")]
    BadUrl(String),
    #[error("{0}")]
    Upstream(String),
}

/// Discovers the authorization server of the MCP server at `server_url`.
pub async fn discover(
    client: &OutboundClient,
    server_url: &str,
    allow_http: bool,
) -> Result<Discovered, DiscoveryError> {
    let server = checked_url(server_url, allow_http)?;
    // RFC 9728 §3.1: the well-known suffix goes between host and path; servers without a path-specific
    // document serve one at the root.
    let resource_meta: Option<ResourceMetadata> = {
        let mut found = None;
        for url in well_known(&server, "oauth-protected-resource") {
            if let Some(meta) = get_json(client, &url).await? {
                found = Some(meta);
                break;
            }
        }
        found
    };
    // Servers of the 2025-03 MCP spec have no resource metadata: their origin is the authorization
    // server.
    let issuer = match resource_meta
        .as_ref()
        .and_then(|m| m.authorization_servers.first())
    {
        Some(issuer) => checked_url(issuer, allow_http)?,
        None => {
            let mut origin = server.clone();
            origin.set_path("/");
            origin.set_query(None);
            origin
        }
    };
    let mut metadata: Option<ServerMetadata> = None;
    for url in well_known(&issuer, "oauth-authorization-server")
        .into_iter()
        .chain(well_known(&issuer, "openid-configuration"))
    {
        if let Some(meta) = get_json::<ServerMetadata>(client, &url).await? {
            metadata = Some(meta);
            break;
        }
    }
    let server_meta = metadata.ok_or_else(|| {
        DiscoveryError::Upstream(format!(
            "no authorization server metadata found for {}",
            issuer.origin().ascii_serialization()
        ))
    })?;
    if server_meta.issuer.trim_end_matches('/') != issuer.as_str().trim_end_matches('/') {
        return Err(DiscoveryError::Upstream(
            "the authorization server metadata names another issuer".into(),
        ));
    }
    for endpoint in [
        Some(&server_meta.authorization_endpoint),
        Some(&server_meta.token_endpoint),
        server_meta.registration_endpoint.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        checked_url(endpoint, allow_http)?;
    }
    if !server_meta.code_challenge_methods_supported.is_empty()
        && !server_meta
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
    {
        return Err(DiscoveryError::Upstream(
            "the authorization server does not support PKCE S256".into(),
        ));
    }
    let resource = resource_meta
        .as_ref()
        .and_then(|m| m.resource.clone())
        .unwrap_or_else(|| server_url.to_string());
    let scopes = resource_meta
        .map(|m| m.scopes_supported)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| server_meta.scopes_supported.clone());
    Ok(Discovered {
        resource,
        server: server_meta,
        scopes,
    })
}

/// A URL we may send an authorization flow to: absolute, `https` (or `http` where allowed), without
/// credentials or a fragment.
pub fn checked_url(raw: &str, allow_http: bool) -> Result<Url, DiscoveryError> {
    let url = Url::parse(raw).map_err(|e| DiscoveryError::BadUrl(e.to_string()))?;
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    if !scheme_ok || url.host().is_none() || !url.username().is_empty() || url.password().is_some()
    {
        return Err(DiscoveryError::BadUrl(format!(
            "{} must be an https URL",
            url.origin().ascii_serialization()
        )));
    }
    if url.fragment().is_some() {
        return Err(DiscoveryError::BadUrl("a URL with a fragment".into()));
    }
    Ok(url)
}

/// `https://host/.well-known/<name>/<path>` then, for a URL with a path, `https://host/.well-known/<name>`.
fn well_known(base: &Url, name: &str) -> Vec<String> {
    let path = base.path().trim_end_matches('/');
    let mut root = base.clone();
    root.set_query(None);
    root.set_path(&format!("/.well-known/{name}"));
    let mut out = Vec::new();
    if !path.is_empty() {
        let mut with_path = root.clone();
        with_path.set_path(&format!("/.well-known/{name}{path}"));
        out.push(with_path.to_string());
    }
    out.push(root.to_string());
    out
}

/// A metadata document: `None` when the server has none there (404 and other 4xx).
async fn get_json<T: serde::de::DeserializeOwned>(
    client: &OutboundClient,
    url: &str,
) -> Result<Option<T>, DiscoveryError> {
    let upstream = |e: &dyn std::fmt::Display| DiscoveryError::Upstream(format!("discovery: {e}"));
    let response = client
        .request(reqwest::Method::GET, url)
        .map_err(|e| upstream(&e))?
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| upstream(&crate::outbound::OutboundError::from(e)))?;
    let status = response.status();
    if status.is_client_error() {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(DiscoveryError::Upstream(format!(
            "discovery: {url} answered {status}"
        )));
    }
    let body = read_capped(response, TOKEN_BODY_LIMIT)
        .await
        .map_err(|e| upstream(&e))?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| DiscoveryError::Upstream(format!("discovery: {url}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls_insert_the_suffix_before_the_path() {
        let u = Url::parse("https://mcp.example.com/v1/mcp?x=1").unwrap();
        assert_eq!(
            well_known(&u, "oauth-protected-resource"),
            [
                "https://mcp.example.com/.well-known/oauth-protected-resource/v1/mcp",
                "https://mcp.example.com/.well-known/oauth-protected-resource",
            ]
        );
        let root = Url::parse("https://as.example.com/").unwrap();
        assert_eq!(
            well_known(&root, "oauth-authorization-server"),
            ["https://as.example.com/.well-known/oauth-authorization-server"]
        );
    }

    #[test]
    fn only_https_endpoints_unless_allowed() {
        assert!(checked_url("https://a.example/x", false).is_ok());
        assert!(checked_url("http://a.example/x", false).is_err());
        assert!(checked_url("http://127.0.0.1:4000/x", true).is_ok());
        assert!(checked_url("https://u:p@a.example/", false).is_err());
        assert!(checked_url("javascript:alert(1)", true).is_err());
    }
}
