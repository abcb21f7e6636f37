//! The real third parties Latchkey's tests talk to, and the small pieces to run them: the local
//! OAuth2 provider ([`oidc::OidcProvider`], panva's `oidc-provider` under Node), a browserless end
//! user ([`headless::HeadlessUser`]), the official Nango clients from npm ([`node_peer::NodePeer`]),
//! process groups killed on drop ([`process::ProcessGroup`]), bounded polling ([`wait::until`]) and
//! a server's webhook outbox read as an operator does ([`outbox::settled`]).
//!
//! Its own crate, apart from the end-to-end harness (`latchkey-tests`), so that the server's
//! integration tests can use these peers without depending on the e2e crate (Chromium driver, demo
//! app): the server suite, and its PostgreSQL pass, build only what they run.

pub mod headless;
pub mod node_peer;
pub mod oidc;
pub mod outbox;
pub mod process;
pub mod wait;

use std::path::PathBuf;

/// The Cargo workspace root (parent of this crate), where `node_modules/`, `dist/` and `pkg/` live.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// A TCP port that was free a moment ago on 127.0.0.1 (for programs that must be told a port).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Catalog entry (Nango `providers.yaml` schema) for the local OIDC provider at `issuer`.
pub fn local_oidc_provider_yaml(issuer: &str) -> String {
    format!(
        r#"local-oidc:
    display_name: Local OIDC (test provider)
    auth_mode: OAUTH2
    authorization_url: {issuer}/auth
    token_url: {issuer}/token
    authorization_params: {{ prompt: consent }}
    default_scopes: [openid, offline_access, email]
    scope_separator: ' '
    docs: https://github.com/panva/node-oidc-provider
    proxy:
        base_url: {issuer}
"#
    )
}
