//! End-to-end harness for Latchkey.
//!
//! Each piece a test needs is one guard type that starts a real component and stops it on `Drop`, even
//! when the test panics: the local OAuth2 provider ([`oidc::OidcProvider`], panva's `oidc-provider` under
//! Node), the Latchkey server in-process ([`server::LatchkeyServer`]), the demo customer app in-process
//! ([`demo::DemoApp`]) and headless Chromium driven over WebDriver ([`browser::Browser`]). Child
//! processes run in their own process group and are killed as a group, and every wait has a time limit,
//! so a failing test fails quickly instead of hanging `cargo test`.

pub mod browser;
pub mod connect_ui;
pub mod demo;
pub mod postgres;
pub mod server;
pub mod site;
pub mod ssr;
pub mod stack;

// The third-party peers live in their own crate (the server's tests use them too); e2e tests reach
// them through this one as before.
pub use latchkey_test_peers::{
    free_port, headless, node_peer, oidc, process, wait, workspace_root,
};

/// Fails with a clear message unless the web build exists: the SDK package (`pkg/index.js`, served at
/// `/sdk/`) and the Connect UI (`dist/connect-ui/index.html`, served at `/connect/`).
pub fn require_web_build() -> anyhow::Result<()> {
    let root = workspace_root();
    for file in ["pkg/index.js", "dist/connect-ui/index.html"] {
        anyhow::ensure!(
            root.join(file).is_file(),
            "{file} is missing: run `cargo xtask build` first (browser tests need the SDK and the Connect UI)"
        );
    }
    Ok(())
}
