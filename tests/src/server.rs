//! The real Latchkey server, in-process, on a loopback port, with a throwaway data directory.
//!
//! Starting is two-step because the OAuth provider must know our callback URL before we know its
//! issuer: [`ReservedServer::bind`] takes the port (so `callback_url()` is final), the provider starts,
//! then [`ReservedServer::start`] writes the providers overlay pointing at it and starts serving.
//! The public URL is `http://localhost:<port>` on purpose: a different origin from the demo, which
//! runs on `127.0.0.1`.

use anyhow::Context as _;
use latchkey_protocol::connection::ConnectionResponse;
use latchkey_protocol::integrations::ApiPublicIntegration;
use latchkey_protocol::{ApiErrorBody, DataEnvelope};
use latchkey_server::{Config, RunningServer};
use serde_json::json;
use std::time::Duration;

pub use latchkey_test_peers::local_oidc_provider_yaml;

/// A bound port and a data directory, not serving yet.
pub struct ReservedServer {
    listener: tokio::net::TcpListener,
    public_url: String,
    dir: tempfile::TempDir,
}

impl ReservedServer {
    /// Binds `127.0.0.1:0`; the public URL becomes `http://localhost:<port>`.
    pub async fn bind() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let public_url = format!("http://localhost:{}", listener.local_addr()?.port());
        let dir = tempfile::Builder::new()
            .prefix("latchkey-server-")
            .tempdir()?;
        Ok(Self {
            listener,
            public_url,
            dir,
        })
    }

    /// `http://localhost:<port>`.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Where providers must redirect: `<public url>/oauth/callback`.
    pub fn callback_url(&self) -> String {
        format!("{}/oauth/callback", self.public_url)
    }

    /// Writes `providers_yaml` (if any) as the catalog overlay and starts the server.
    pub async fn start(self, providers_yaml: Option<&str>) -> anyhow::Result<LatchkeyServer> {
        self.start_configured(providers_yaml, |_| {}).await
    }

    /// Like [`Self::start`], with a last say on the configuration (e.g. replicas sharing one
    /// PostgreSQL database and encryption key).
    pub async fn start_configured(
        self,
        providers_yaml: Option<&str>,
        configure: impl FnOnce(&mut Config),
    ) -> anyhow::Result<LatchkeyServer> {
        let mut config = Config::for_tests(self.dir.path(), &self.public_url);
        if let Some(yaml) = providers_yaml {
            let path = self.dir.path().join("providers.yaml");
            std::fs::write(&path, yaml)?;
            config.providers_file = Some(path);
        }
        configure(&mut config);
        let database_url = config.database_url.clone();
        let running = tokio::time::timeout(
            Duration::from_secs(30),
            latchkey_server::start(config, self.listener),
        )
        .await
        .context("timed out starting the Latchkey server")?
        .context("starting the Latchkey server")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(LatchkeyServer {
            running,
            database_url,
            url: self.public_url,
            http,
            _dir: self.dir,
        })
    }
}

/// A running Latchkey server; stops on drop (and its data directory is deleted).
pub struct LatchkeyServer {
    running: RunningServer,
    database_url: String,
    url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A REST call that did not answer 2xx.
#[derive(Debug, thiserror::Error)]
#[error("{method} {path} answered {status}: {body}")]
pub struct ApiCallError {
    pub method: &'static str,
    pub path: String,
    pub status: u16,
    pub body: String,
}

impl ApiCallError {
    /// The error envelope, when the body was one.
    pub fn api_error(&self) -> Option<ApiErrorBody> {
        serde_json::from_str(&self.body).ok()
    }
}

impl LatchkeyServer {
    /// Base URL (`http://localhost:<port>`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates a dashboard administrator, as `latchkey admin create <email>` does.
    pub async fn create_admin(&self, email: &str, password: &str) -> anyhow::Result<()> {
        latchkey_server::dashboard::cli::create(&self.database_url, email, password).await
    }

    /// The harness's client for calls to this server (30 s limit, no redirects followed).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The `dev` environment's secret key.
    pub fn secret_key(&self) -> &str {
        self.running.secret_key()
    }

    /// The address actually listened on.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.running.local_addr()
    }

    /// A URL under the server built from path segments (each percent-encoded by the URL library).
    pub fn endpoint(&self, segments: &[&str]) -> anyhow::Result<reqwest::Url> {
        let mut url = reqwest::Url::parse(&self.url)?;
        url.path_segments_mut()
            .map_err(|_| anyhow::anyhow!("server URL cannot be a base"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Sends `req` with the secret key and decodes a 2xx JSON answer as `T`.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &'static str,
        req: reqwest::RequestBuilder,
        path: String,
    ) -> anyhow::Result<T> {
        let res = req
            .bearer_auth(self.secret_key())
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = res.status();
        let body = res.text().await?;
        if !status.is_success() {
            return Err(ApiCallError {
                method,
                path,
                status: status.as_u16(),
                body,
            }
            .into());
        }
        serde_json::from_str(&body)
            .with_context(|| format!("{method} {path}: unexpected body {body}"))
    }

    /// The app credentials integration `key` holds (`GET /integrations/{key}?include=credentials`).
    pub async fn integration_credentials(&self, key: &str) -> anyhow::Result<serde_json::Value> {
        let mut url = self.endpoint(&["integrations", key])?;
        url.set_query(Some("include=credentials"));
        let path = url.path().to_string();
        let env: DataEnvelope<serde_json::Value> =
            self.call("GET", self.http.get(url), path).await?;
        Ok(env.data["credentials"].clone())
    }

    /// `POST /integrations` with a raw body (Nango's shape).
    pub async fn create_integration(
        &self,
        body: &serde_json::Value,
    ) -> anyhow::Result<ApiPublicIntegration> {
        let url = self.endpoint(&["integrations"])?;
        let env: DataEnvelope<ApiPublicIntegration> = self
            .call(
                "POST",
                self.http.post(url).json(body),
                "/integrations".into(),
            )
            .await?;
        Ok(env.data)
    }

    /// An OAuth2 integration of `provider` under `unique_key` with the given app credentials.
    pub async fn create_oauth2_integration(
        &self,
        provider: &str,
        unique_key: &str,
        client_id: &str,
        client_secret: &str,
        scopes: Option<&str>,
    ) -> anyhow::Result<ApiPublicIntegration> {
        let mut credentials =
            json!({"type": "OAUTH2", "client_id": client_id, "client_secret": client_secret});
        if let Some(scopes) = scopes {
            credentials["scopes"] = json!(scopes);
        }
        self.create_integration(&json!({
            "provider": provider,
            "unique_key": unique_key,
            "display_name": unique_key,
            "credentials": credentials,
        }))
        .await
    }

    /// `GET /connection/:id?provider_config_key=…` (with `extra` query pairs, e.g. `force_refresh`).
    pub async fn get_connection_with(
        &self,
        connection_id: &str,
        provider_config_key: &str,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<ConnectionResponse> {
        let mut url = self.endpoint(&["connection", connection_id])?;
        url.query_pairs_mut()
            .append_pair("provider_config_key", provider_config_key)
            .extend_pairs(extra);
        let path = url.path().to_owned();
        self.call("GET", self.http.get(url), path).await
    }

    /// `GET /connection/:id?provider_config_key=…`.
    pub async fn get_connection(
        &self,
        connection_id: &str,
        provider_config_key: &str,
    ) -> anyhow::Result<ConnectionResponse> {
        self.get_connection_with(connection_id, provider_config_key, &[])
            .await
    }

    /// `GET /connections`: the `connections` array (summaries without credentials).
    pub async fn list_connections(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        let url = self.endpoint(&["connections"])?;
        let body: serde_json::Value = self
            .call("GET", self.http.get(url), "/connections".into())
            .await?;
        Ok(body["connections"].as_array().cloned().unwrap_or_default())
    }
}
