//! The demo customer app (`latchkey-demo`), in-process on `127.0.0.1:<free port>`.

use latchkey_demo::DemoConfig;
use std::time::Duration;

/// A running demo app; stops on drop.
pub struct DemoApp {
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = latchkey_demo::router(config);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            url,
            shutdown: Some(tx),
            task,
        })
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops and waits (≤ 5 s) for open connections to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
    }
}

impl Drop for DemoApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}
