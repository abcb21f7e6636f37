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
pub mod headless;
pub mod node_peer;
pub mod oidc;
pub mod postgres;
pub mod process;
pub mod server;
pub mod site;
pub mod ssr;
pub mod stack;
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
