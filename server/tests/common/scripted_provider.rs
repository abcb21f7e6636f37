//! The shared rig of `oauth_provider_options/` (`catalog_options.rs`, `switches_and_overrides.rs`): the
//! authorization-code flow against a scripted provider on loopback, for what the real oidc-provider
//! cannot show. A token endpoint that answers leniently and refuses refreshes, a webhook receiver,
//! a catalog entry using every option under test, and a server (on SQLite) driven as a browser and
//! a backend would.

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use latchkey_server::{start, Config, RunningServer};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One request seen by a loopback endpoint: path, headers, body.
pub type Seen = Arc<Mutex<Vec<(String, HeaderMap, String)>>>;

/// The provider's token endpoint: answers an authorization code with a lenient JSON response (string
/// `expires_in`, no `token_type`, extra fields), and refuses every refresh.
pub async fn fake_provider() -> (String, Seen) {
    let seen: Seen = Default::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/{tenant}/token",
        post(
            move |axum::extract::Path(tenant): axum::extract::Path<String>,
                  headers: HeaderMap,
                  body: String| {
                let log = log.clone();
                async move {
                    log.lock()
                        .unwrap()
                        .push((format!("/{tenant}/token"), headers, body.clone()));
                    // A refresh is refused unless it carries the one refresh token we accept.
                    if body.contains("refresh_token") && !body.contains("fake-refresh-ok") {
                        return (
                            StatusCode::BAD_REQUEST,
                            axum::Json(
                                json!({"error": "invalid_grant", "error_description": "revoked"}),
                            ),
                        );
                    }
                    if body.contains("fake-refresh-ok") {
                        return (
                            StatusCode::OK,
                            axum::Json(
                                json!({"access_token": "fake-access-2", "expires_in": 3600}),
                            ),
                        );
                    }
                    (
                        StatusCode::OK,
                        axum::Json(json!({
                            "access_token": "fake-access-1",
                            "refresh_token": "fake-refresh-1",
                            "expires_in": "3600",
                            "instance_url": "https://acme.example",
                        })),
                    )
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

/// A customer webhook endpoint that accepts everything.
pub async fn receiver() -> (String, Seen) {
    let seen: Seen = Default::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hooks",
        post(move |headers: HeaderMap, body: String| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(("/hooks".into(), headers, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hooks",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn catalog(base: &str) -> String {
    format!(
        r#"fake:
    display_name: Fake
    auth_mode: OAUTH2
    authorization_url: {base}/authorize
    token_url: {base}/${{connectionConfig.tenant}}/token
    authorization_params:
        audience: ${{connectionConfig.audience}}
    token_params:
        resource: ${{connectionConfig.audience}}
    body_format: json
    token_request_auth_method: basic
    scope_separator: ','
    default_scopes: [read, write]
    disable_pkce: true
    token_response_metadata: [instance_url]
    redirect_uri_metadata: [realmId]
    connection_config:
        tenant:
            type: string
            pattern: ^[a-z]+$
        audience:
            type: string
"#
    )
}

/// The `dev` environment's public key (legacy public-key mode).
pub const PUBLIC_KEY: &str = "3b0e8f52-6c1d-4e7a-9f30-2d5c8a1b7e64";

pub struct Harness {
    pub server: RunningServer,
    pub base: String,
    pub http: reqwest::Client,
    pub db: String,
    /// The server's clock: a test moves it forward instead of waiting.
    pub clock: latchkey_server::time::Clock,
    _dir: tempfile::TempDir,
}

pub async fn harness(provider_base: &str, webhook_url: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let providers = dir.path().join("providers.yaml");
    std::fs::write(&providers, catalog(provider_base)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut config = Config::for_tests(dir.path(), &base);
    // SQLite on purpose: `sql_*` below read the database directly.
    let db = dir.path().join("oauth.db").display().to_string();
    config.database_url = format!("sqlite://{db}");
    config.providers_file = Some(providers);
    config.webhook_url = Some(webhook_url.to_string());
    config.public_key = Some(PUBLIC_KEY.into());
    config.public_key_mode = latchkey_server::config::PublicKeyMode::Insecure;
    let clock = latchkey_server::time::Clock::adjustable();
    config.clock = clock.clone();
    let server = start(config, listener).await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let h = Harness {
        server,
        base,
        http,
        db,
        clock,
        _dir: dir,
    };
    let res = h
        .http
        .post(format!("{}/integrations", h.base))
        .bearer_auth(h.server.secret_key())
        .json(&json!({"provider": "fake", "unique_key": "fake",
                      "credentials": {"type": "OAUTH2", "client_id": "cid", "client_secret": "csecret"}}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    h
}

impl Harness {
    pub async fn session(&self) -> String {
        self.session_with(json!({"end_user": {"id": "u7"}})).await
    }

    pub async fn session_with(&self, body: Value) -> String {
        let body: Value = self
            .http
            .post(format!("{}/connect/sessions", self.base))
            .bearer_auth(self.server.secret_key())
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["data"]["token"].as_str().unwrap().to_string()
    }

    /// Starts a flow; returns the status, the authorize URL's query and the binding cookie.
    pub async fn start(
        &self,
        params: &[(&str, &str)],
    ) -> (u16, HashMap<String, String>, String, String) {
        let mut query = vec![("connect_session_token".to_string(), self.session().await)];
        for (k, v) in params {
            query.push((format!("params[{k}]"), v.to_string()));
        }
        self.start_query(&query).await
    }

    /// Starts a flow with exactly this query.
    pub async fn start_query(
        &self,
        query: &[(String, String)],
    ) -> (u16, HashMap<String, String>, String, String) {
        let mut url = url::Url::parse(&format!("{}/oauth/connect/fake", self.base)).unwrap();
        for (k, v) in query {
            url.query_pairs_mut().append_pair(k, v);
        }
        let res = self.http.get(url).send().await.unwrap();
        let status = res.status().as_u16();
        let cookie = res
            .headers()
            .get("set-cookie")
            .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
            .unwrap_or_default();
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let body = res.text().await.unwrap();
        let query = location
            .map(|l| {
                url::Url::parse(&l)
                    .unwrap()
                    .query_pairs()
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        (status, query, cookie, body)
    }

    pub async fn callback(&self, query: &str, cookie: &str) -> (u16, String) {
        let res = self
            .http
            .get(format!("{}/oauth/callback?{query}", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    pub async fn connection(&self, id: &str, extra: &str) -> (u16, Value) {
        let res = self
            .http
            .get(format!(
                "{}/connection/{id}?provider_config_key=fake{extra}",
                self.base
            ))
            .bearer_auth(self.server.secret_key())
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }
}

impl Harness {
    pub async fn patch_settings(&self, body: Value) {
        let res = self
            .http
            .patch(format!("{}/environment/settings", self.base))
            .bearer_auth(self.server.secret_key())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }

    pub async fn only_connection_id(&self) -> String {
        let list: Value = self
            .http
            .get(format!("{}/connections", self.base))
            .bearer_auth(self.server.secret_key())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["connections"][0]["connection_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn sql_i64(&self, sql: &str) -> i64 {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", self.db))
            .await
            .unwrap();
        let (v,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
        v
    }

    /// Runs `sql` on the server's file, then waits out the server's row cache (a write from another
    /// process shows there within [`latchkey_server::environment_cache::TTL`]).
    pub async fn sql(&self, sql: &str) {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", self.db))
            .await
            .unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        tokio::time::sleep(latchkey_server::environment_cache::TTL).await;
    }
}
