//! The local OAuth2 / OpenID Connect provider (`tests/oidc/provider.mjs`, panva's `oidc-provider`) as a
//! guarded child process.
//!
//! It is a real authorization server on loopback: the Latchkey server runs its authorization-code flow
//! (PKCE S256 enforced), token exchange and refreshes against it, and tests ask it afterwards what
//! happened (`/__stats`: token requests per grant type) and whether an access token works (`/me`).
//!
//! Test knobs of the provider (see `tests/oidc/provider.mjs`): the `client_credentials` grant is enabled
//! for the client; `login_hint=deny` makes it answer `error=access_denied` as a user's "Cancel" would;
//! `POST /__broken/token` answers a 502 HTML page.

use crate::process::ProcessGroup;
use anyhow::Context as _;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How to start the provider.
#[derive(Debug, Clone)]
pub struct OidcOptions {
    pub client_id: String,
    pub client_secret: String,
    /// Registered redirect URIs (Latchkey's `<public url>/oauth/callback`).
    pub redirect_uris: Vec<String>,
    /// Access-token lifetime in seconds.
    pub access_token_ttl: u64,
    /// Every token request is answered this much later (0: at once).
    pub token_delay_ms: u64,
}

impl OidcOptions {
    /// One client with a fixed test id/secret, the given redirect URI and 1-hour access tokens.
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        Self {
            client_id: "latchkey-test-client".into(),
            client_secret: "latchkey-test-client-secret".into(),
            redirect_uris: vec![redirect_uri.into()],
            access_token_ttl: 3600,
            token_delay_ms: 0,
        }
    }
}

/// Token-endpoint requests the provider has seen (`GET /__stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TokenStats {
    /// All token requests per `grant_type`, successful or not.
    pub token_requests: BTreeMap<String, u64>,
    /// The failed ones, per `grant_type`.
    pub token_errors: BTreeMap<String, u64>,
    /// Every POST that reached `/token`, whatever its body (a forged exchange is counted here even when
    /// the provider cannot parse it).
    #[serde(default)]
    pub token_endpoint_hits: u64,
    /// POSTs to `/__broken/token`, the endpoint that answers a 502 HTML page.
    #[serde(default)]
    pub broken_token_hits: u64,
}

impl TokenStats {
    /// Requests seen for `grant_type` (0 when none).
    pub fn requests(&self, grant_type: &str) -> u64 {
        self.token_requests.get(grant_type).copied().unwrap_or(0)
    }
}

/// A running provider; killed (with its process group) on drop.
/// The provider's second client, which authenticates with a signed client assertion.
#[derive(Debug, serde::Deserialize)]
pub struct AssertionClient {
    pub client_id: String,
    pub kid: String,
    pub private_key: String,
}

pub struct OidcProvider {
    issuer: String,
    options: OidcOptions,
    http: reqwest::Client,
    _group: ProcessGroup,
    _log_dir: tempfile::TempDir,
}

impl OidcProvider {
    /// Spawns `node tests/oidc/provider.mjs` and waits (≤ 20 s) for its `READY <issuer>` line.
    /// `node` can be overridden with `LATCHKEY_TEST_NODE`.
    pub async fn start(options: OidcOptions) -> anyhow::Result<Self> {
        let root = crate::workspace_root();
        let script = root.join("tests/oidc/provider.mjs");
        anyhow::ensure!(
            root.join("node_modules/oidc-provider").is_dir(),
            "node_modules/oidc-provider is missing: run `npm ci` in {}",
            root.display()
        );
        let log_dir = tempfile::Builder::new()
            .prefix("latchkey-oidc-")
            .tempdir()?;
        let log_path = log_dir.path().join("stderr.log");
        let log = std::fs::File::create(&log_path)?;
        let node = std::env::var_os("LATCHKEY_TEST_NODE").unwrap_or_else(|| "node".into());
        let mut cmd = Command::new(node);
        cmd.current_dir(&root)
            .arg(&script)
            .args([
                "--port",
                "0",
                "--client-id",
                &options.client_id,
                "--client-secret",
                &options.client_secret,
            ])
            .args(["--access-token-ttl", &options.access_token_ttl.to_string()])
            .args(["--token-delay-ms", &options.token_delay_ms.to_string()]);
        for uri in &options.redirect_uris {
            cmd.args(["--redirect-uri", uri]);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let mut group = ProcessGroup::spawn("oidc provider", cmd)?;
        let stdout = group.child_mut().stdout.take().context("provider stdout")?;

        // Read lines on a thread (stdout is a blocking pipe); keep draining after READY so the
        // provider never blocks on a full pipe.
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(issuer) = line.strip_prefix("READY ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(issuer.trim().to_owned());
                    }
                }
            }
        });
        let issuer = match tokio::time::timeout(Duration::from_secs(20), rx).await {
            Ok(Ok(issuer)) => issuer,
            outcome => {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let why = if outcome.is_err() {
                    "did not print READY within 20 s"
                } else {
                    "exited before READY"
                };
                anyhow::bail!("the OIDC provider {why}; its stderr:\n{log}");
            }
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            issuer,
            options,
            http,
            _group: group,
            _log_dir: log_dir,
        })
    }

    /// `http://127.0.0.1:<port>`, also the base of `/auth`, `/token`, `/me`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The registered client's id.
    pub fn client_id(&self) -> &str {
        &self.options.client_id
    }

    /// The registered client's secret.
    pub fn client_secret(&self) -> &str {
        &self.options.client_secret
    }

    /// Token-endpoint requests so far.
    pub async fn token_stats(&self) -> anyhow::Result<TokenStats> {
        self.test_endpoint("/__stats").await
    }

    /// The `private_key_jwt` client: its id, key id and PKCS#8 private key (`GET /__assertion_key`).
    pub async fn assertion_client(&self) -> anyhow::Result<AssertionClient> {
        self.test_endpoint("/__assertion_key").await
    }

    /// `GET` one of the provider's test endpoints, as JSON.
    async fn test_endpoint<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let res = self
            .http
            .get(format!("{}{path}", self.issuer))
            .send()
            .await?
            .error_for_status()?;
        Ok(res.json().await?)
    }

    /// Revokes a token at the provider (RFC 7009, client authenticated with HTTP Basic).
    pub async fn revoke(&self, token: &str) -> anyhow::Result<()> {
        let res = self
            .http
            .post(format!("{}/token/revocation", self.issuer))
            .basic_auth(&self.options.client_id, Some(&self.options.client_secret))
            .form(&[("token", token)])
            .send()
            .await?;
        let status = res.status();
        anyhow::ensure!(status.is_success(), "revocation answered {status}");
        Ok(())
    }

    /// `GET /me` with the access token; errors unless the provider answers 200.
    pub async fn userinfo(&self, access_token: &str) -> anyhow::Result<serde_json::Value> {
        let res = self
            .http
            .get(format!("{}/me", self.issuer))
            .bearer_auth(access_token)
            .send()
            .await?;
        let status = res.status();
        anyhow::ensure!(status.is_success(), "userinfo answered {status}");
        Ok(res.json().await?)
    }
}
