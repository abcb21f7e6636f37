//! A throwaway customer website on `http://127.0.0.1:<port>`, in-process: one HTML page, or a folder
//! of built files (e.g. a Vite `dist/`). It is a different origin from the Latchkey server
//! (`http://localhost:<port>`), like a real customer's site, so the SDK is exercised cross-origin.
//! Dropping it stops serving.

use axum::http::{header, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::path::{Component, Path, PathBuf};

/// An axum router served on `127.0.0.1:0` in this process; stops on drop.
pub struct LoopbackServer {
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl LoopbackServer {
    pub async fn serve(app: Router) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
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
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut self.task).await;
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}

/// A customer's site (one page or a folder) on its own origin; stops on drop.
pub struct CustomerSite {
    server: LoopbackServer,
}

impl CustomerSite {
    /// Serves `html` at `/`.
    pub async fn serve_page(html: String) -> anyhow::Result<Self> {
        let app = Router::new().route("/", get(move || async move { Html(html) }));
        Self::serve(app).await
    }

    /// Serves the files under `dir` (`/` is `index.html`).
    pub async fn serve_dir(dir: PathBuf) -> anyhow::Result<Self> {
        let app = Router::new().fallback(move |uri: Uri| {
            let dir = dir.clone();
            async move { file_response(&dir, uri.path()).await }
        });
        Self::serve(app).await
    }

    async fn serve(app: Router) -> anyhow::Result<Self> {
        Ok(Self {
            server: LoopbackServer::serve(app).await?,
        })
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> &str {
        self.server.url()
    }
}

/// The file at `path` under `dir`, with a content type browsers accept for modules and wasm.
async fn file_response(dir: &Path, path: &str) -> Response {
    let relative = Path::new(path.trim_start_matches('/'));
    // Only plain names: no `..`, no absolute paths.
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut file = dir.join(relative);
    if path.ends_with('/') || path.is_empty() {
        file = file.join("index.html");
    }
    let content_type = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    match tokio::fs::read(&file).await {
        Ok(body) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
