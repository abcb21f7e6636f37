//! Shared harness of the server's integration tests: the real server on `127.0.0.1:0` with a fresh
//! SQLite file (and optionally an extra provider catalog), driven over HTTP like a customer backend and
//! a browser would; plus a loopback HTTP service standing in for a provider.
#![allow(dead_code)]

pub mod credential_modes;
pub mod openapi;
pub mod reliability;
pub mod scripted_provider;

use latchkey_server::{start, Config, RunningServer};
use serde_json::{json, Value};

pub struct Harness {
    pub server: RunningServer,
    pub base: String,
    pub http: reqwest::Client,
    /// The database the server uses (SQLite file or a PostgreSQL database), for tests that age rows.
    pub database_url: String,
    _dir: tempfile::TempDir,
}

/// A response as a test looks at it.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

/// The `dev` environment's public key in every harness (legacy public-key mode tests).
pub const PUBLIC_KEY: &str = "7d3f5c1e-2b4a-4c6d-8e9f-0a1b2c3d4e5f";

/// An extra catalog with one provider that needs no credentials (`local-none`, `auth_mode: NONE`).
pub const NONE_CATALOG: &str = "local-none:\n  display_name: Public data\n  auth_mode: NONE\n";

/// Starts the server; `extra_catalog` (Nango `providers.yaml` schema) is merged over the shipped one.
pub async fn harness(extra_catalog: Option<&str>) -> Harness {
    harness_configured(extra_catalog, |_| {}).await
}

/// [`harness`], with a last say on the configuration (limits, the private-network switch).
pub async fn harness_configured(
    extra_catalog: Option<&str>,
    configure: impl FnOnce(&mut Config),
) -> Harness {
    Reserved::bind().await.start(extra_catalog, configure).await
}

/// A bound port and data directory, not serving yet: for a test whose provider must be told the
/// callback URL before the catalog naming that provider can be written (a local oidc-provider).
pub struct Reserved {
    listener: tokio::net::TcpListener,
    base: String,
    dir: tempfile::TempDir,
}

impl Reserved {
    /// Binds `127.0.0.1:0`; the public URL is `http://localhost:<port>`.
    pub async fn bind() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
        Self {
            listener,
            base,
            dir,
        }
    }

    /// Where providers redirect the user back to.
    pub fn callback_url(&self) -> String {
        format!("{}/oauth/callback", self.base)
    }

    /// Starts the server; `extra_catalog` (Nango `providers.yaml` schema) is merged over the shipped
    /// one, then `configure` has the last say.
    pub async fn start(
        self,
        extra_catalog: Option<&str>,
        configure: impl FnOnce(&mut Config),
    ) -> Harness {
        let Self {
            listener,
            base,
            dir,
        } = self;
        let mut config = Config::for_tests(dir.path(), &base);
        config.public_key = Some(PUBLIC_KEY.into());
        // These suites exercise Nango's legacy public-key mode too (off by default since issue 11).
        config.public_key_mode = latchkey_server::config::PublicKeyMode::Insecure;
        if let Some(yaml) = extra_catalog {
            let path = dir.path().join("providers.extra.yaml");
            std::fs::write(&path, yaml).unwrap();
            config.providers_file = Some(path);
        }
        configure(&mut config);
        let database_url = config.database_url.clone();
        let server = start(config, listener).await.unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Harness {
            server,
            base,
            http,
            database_url,
            _dir: dir,
        }
    }
}

impl Harness {
    /// [`latchkey_test_peers::outbox::settled`] of this server's `dev` environment: a test showing
    /// that something is sent only once waits for this rather than sleeping.
    pub async fn settled_webhooks(&self) -> Vec<Value> {
        latchkey_test_peers::outbox::settled(&self.http, &self.base, self.server.secret_key())
            .await
            .unwrap()
    }

    pub fn secret(&self) -> String {
        format!("Bearer {}", self.server.secret_key())
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap_or_default();
        // Every JSON answer of the suite must be what /openapi.json promises.
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Err(e) = openapi::check(method.as_str(), path, status, content_type, &bytes) {
            panic!("{e}");
        }
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `(status, body)` of a `POST` with an optional `Authorization` header.
    pub async fn post(&self, path: &str, auth: Option<&str>, body: Value) -> (u16, Value) {
        let r = self
            .call(reqwest::Method::POST, path, auth, Some(body))
            .await;
        (r.status, r.body)
    }

    /// `(status, body)` of a `GET` with an `Authorization` header.
    pub async fn get(&self, path: &str, auth: &str) -> (u16, Value) {
        let r = self
            .call(reqwest::Method::GET, path, Some(auth), None)
            .await;
        (r.status, r.body)
    }

    /// A backend call with the secret key.
    pub async fn backend(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let auth = self.secret();
        self.call(method, path, Some(&auth), body).await
    }

    /// A browser call (auth in the query string, no Authorization header).
    pub async fn browser_post(&self, path: &str, body: Value) -> Reply {
        self.call(reqwest::Method::POST, path, None, Some(body))
            .await
    }

    pub async fn create_integration(&self, key: &str, provider: &str, credentials: Option<Value>) {
        let mut body = json!({"provider": provider, "unique_key": key});
        if let Some(c) = credentials {
            body["credentials"] = c;
        }
        let r = self
            .backend(reqwest::Method::POST, "/integrations", Some(body))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    pub async fn session(&self, body: Value) -> String {
        let r = self
            .backend(reqwest::Method::POST, "/connect/sessions", Some(body))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["data"]["token"].as_str().unwrap().to_string()
    }

    /// Runs one statement on the server's database (SQLite or PostgreSQL); returns rows affected.
    /// On SQLite it then waits out the server's row cache: a write from another process, like the
    /// CLI's, shows there within [`latchkey_server::environment_cache::TTL`].
    pub async fn sql(&self, sql: &str) -> u64 {
        if self.database_url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.database_url).await.unwrap();
            let rows = sqlx::query(sql)
                .execute(&pool)
                .await
                .unwrap()
                .rows_affected();
            tokio::time::sleep(latchkey_server::environment_cache::TTL).await;
            rows
        } else {
            let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
            sqlx::query(sql)
                .execute(&pool)
                .await
                .unwrap()
                .rows_affected()
        }
    }

    /// One integer from the server's database.
    pub async fn sql_i64(&self, sql: &str) -> i64 {
        if self.database_url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.database_url).await.unwrap();
            sqlx::query_as::<_, (i64,)>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
                .0
        } else {
            let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
            sqlx::query_as::<_, (i64,)>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
                .0
        }
    }

    pub async fn connection(&self, key: &str, id: &str, extra_query: &str) -> Reply {
        self.backend(
            reqwest::Method::GET,
            &format!("/connections/{id}?provider_config_key={key}{extra_query}"),
            None,
        )
        .await
    }
}

/// A loopback HTTP service (a provider's token or API endpoint); stops when the test's runtime ends.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://127.0.0.1:{}", addr.port())
}

/// A Node program under `server/tests/node/` acting as a real provider (verifying signatures with an
/// npm library), killed when the returned child is dropped. It prints one JSON line (its port and
/// whatever key material the test needs) once listening; that line is returned. `npm_module` is the
/// package it imports, checked first so a missing `npm ci` says so instead of a Node stack trace.
pub async fn node_peer(script: &str, npm_module: &str) -> (tokio::process::Child, Value) {
    use tokio::io::AsyncBufReadExt;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    assert!(
        root.join("node_modules").join(npm_module).exists(),
        "run `npm ci` at the workspace root (cargo xtask setup does it)"
    );
    let mut child = tokio::process::Command::new("node")
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/node")
                .join(script),
        )
        .current_dir(&root)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
        .await
        .expect("the peer starts within 20 s")
        .expect("the peer's stdout is readable")
        .expect("the peer prints its port");
    (
        child,
        serde_json::from_str(&line).expect("the peer's first line is JSON"),
    )
}
