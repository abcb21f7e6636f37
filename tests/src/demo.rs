//! The demo customer app (`latchkey-demo`), in-process on `127.0.0.1:<free port>`.

use crate::site::LoopbackServer;
use latchkey_demo::DemoConfig;

/// A running demo app; stops on drop.
pub struct DemoApp {
    server: LoopbackServer,
}

impl DemoApp {
    /// Serves the demo for the Latchkey server at `host` with `secret_key`; the Connect UI is the one
    /// the server serves at `<host>/connect/`.
    pub async fn start(host: &str, secret_key: &str) -> anyhow::Result<Self> {
        Self::start_with(DemoConfig::new(host, secret_key)).await
    }

    /// Serves the demo with an explicit configuration.
    pub async fn start_with(config: DemoConfig) -> anyhow::Result<Self> {
        config.validate()?;
        Ok(Self {
            server: LoopbackServer::serve(latchkey_demo::router(config)).await?,
        })
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// Stops and waits (≤ 5 s) for open connections to finish.
    pub async fn stop(self) {
        self.server.stop().await
    }
}
