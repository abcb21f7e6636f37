//! The authorization-code flow against a scripted provider on loopback, for what the real
//! oidc-provider cannot show: catalog options (`${connectionConfig.x}` in the token URL and params,
//! `body_format: json`, `token_request_auth_method: basic`, `scope_separator`, `disable_pkce`), lenient
//! token parsing, `token_response_metadata` and `redirect_uri_metadata` into `connection_config`, an
//! expired state, and a refused refresh (`invalid_credentials` + a refresh-failure webhook); the
//! environment switches (`browser_cookie_check`, HMAC public-key mode), OAuth client overrides and the
//! refresh-failure counter.

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use latchkey_server::{start, Config, RunningServer};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request seen by a loopback endpoint: path, headers, body.
type Seen = Arc<Mutex<Vec<(String, HeaderMap, String)>>>;

/// The provider's token endpoint: answers an authorization code with a lenient JSON response (string
/// `expires_in`, no `token_type`, extra fields), and refuses every refresh.
async fn fake_provider() -> (String, Seen) {
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
async fn receiver() -> (String, Seen) {
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
const PUBLIC_KEY: &str = "3b0e8f52-6c1d-4e7a-9f30-2d5c8a1b7e64";

struct Harness {
    server: RunningServer,
    base: String,
    http: reqwest::Client,
    db: String,
    _dir: tempfile::TempDir,
}

async fn harness(provider_base: &str, webhook_url: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let providers = dir.path().join("providers.yaml");
    std::fs::write(&providers, catalog(provider_base)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut config = Config::for_tests(dir.path(), &base);
    // SQLite on purpose: the expired-state case ages the attempt row in place.
    let db = dir.path().join("oauth.db").display().to_string();
    config.database_url = format!("sqlite://{db}");
    config.providers_file = Some(providers);
    config.webhook_url = Some(webhook_url.to_string());
    config.public_key = Some(PUBLIC_KEY.into());
    config.public_key_mode = latchkey_server::config::PublicKeyMode::Insecure;
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
    async fn session(&self) -> String {
        self.session_with(json!({"end_user": {"id": "u7"}})).await
    }

    async fn session_with(&self, body: Value) -> String {
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
    async fn start(
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
    async fn start_query(
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

    async fn callback(&self, query: &str, cookie: &str) -> (u16, String) {
        let res = self
            .http
            .get(format!("{}/oauth/callback?{query}", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    async fn connection(&self, id: &str, extra: &str) -> (u16, Value) {
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

#[tokio::test]
async fn catalog_options_shape_the_token_request_and_metadata_lands_in_connection_config() {
    let (provider, token_calls) = fake_provider().await;
    let (hook_url, hooks) = receiver().await;
    let h = harness(&provider, &hook_url).await;

    let (status, q, cookie, body) = h
        .start(&[("tenant", "acme"), ("audience", "https://api.example/ v1")])
        .await;
    assert_eq!(status, 302, "{body}");
    assert_eq!(q["scope"], "read,write", "scope_separator");
    assert_eq!(
        q["audience"], "https://api.example/ v1",
        "interpolated param"
    );
    assert!(!q.contains_key("code_challenge"), "disable_pkce");

    let state = q["state"].clone();
    let (status, page) = h
        .callback(
            &format!("state={state}&code=the-code&realmId=9130"),
            &cookie,
        )
        .await;
    assert_eq!(status, 200, "{page}");

    let calls = token_calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    let (path, headers, body) = &calls[0];
    assert_eq!(path, "/acme/token", "token URL interpolated");
    assert_eq!(
        headers["content-type"], "application/json",
        "body_format: json"
    );
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["grant_type"], "authorization_code");
    assert_eq!(body["code"], "the-code");
    assert_eq!(body["resource"], "https://api.example/ v1");
    assert!(body.get("code_verifier").is_none());
    assert!(
        body.get("client_secret").is_none(),
        "secret only in the Basic header"
    );
    assert_eq!(
        headers["authorization"], "Basic Y2lkOmNzZWNyZXQ=",
        "token_request_auth_method: basic (cid:csecret)"
    );

    let list: Value = h
        .http
        .get(format!("{}/connections", h.base))
        .bearer_auth(h.server.secret_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["connections"][0]["connection_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, conn) = h.connection(&id, "").await;
    assert_eq!(status, 200, "{conn}");
    assert_eq!(conn["credentials"]["access_token"], "fake-access-1");
    assert!(
        conn["credentials"]["expires_at"].is_string(),
        "string expires_in accepted"
    );
    let cc = &conn["connection_config"];
    assert_eq!(
        cc["instance_url"], "https://acme.example",
        "token_response_metadata"
    );
    assert_eq!(cc["realmId"], "9130", "redirect_uri_metadata");
    assert_eq!(cc["tenant"], "acme");

    // A refused refresh: typed error for the API caller, and a refresh-failure webhook.
    let (status, err) = h.connection(&id, "&force_refresh=true").await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["code"], "invalid_credentials");
    assert_eq!(token_calls.lock().unwrap().len(), 2);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let bodies: Vec<Value> = hooks
            .lock()
            .unwrap()
            .iter()
            .map(|(_, _, b)| serde_json::from_str(b).unwrap())
            .collect();
        if let Some(hook) = bodies.iter().find(|b| b["operation"] == "refresh") {
            assert_eq!(hook["success"], false);
            assert_eq!(hook["connectionId"], id.as_str());
            assert_eq!(hook["error"]["type"], "refresh_token_external_error");
            assert!(bodies
                .iter()
                .any(|b| b["operation"] == "creation" && b["success"] == true));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no refresh-failure webhook: {bodies:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_connection_config_value_outside_its_pattern_never_starts_a_flow() {
    let (provider, token_calls) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;
    for evil in ["evil.example", "acme/../x", "ACME"] {
        let (status, _, cookie, page) = h.start(&[("tenant", evil), ("audience", "a")]).await;
        assert_eq!(status, 400, "{evil}: {page}");
        assert!(page.contains("url_param_err"), "{page}");
        assert!(cookie.is_empty(), "no attempt was started");
    }
    // A missing value is named.
    let (status, _, _, page) = h.start(&[("tenant", "acme")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("audience"), "{page}");
    assert!(token_calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_expired_state_is_refused_before_the_token_request() {
    let (provider, token_calls) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;
    let (status, q, cookie, _) = h.start(&[("tenant", "acme"), ("audience", "a")]).await;
    assert_eq!(status, 302);
    // Ten minutes pass (the attempt row is aged in place).
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", h.db))
        .await
        .unwrap();
    let aged = sqlx::query("UPDATE oauth_attempts SET expires_at = expires_at - 601")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(aged.rows_affected(), 1);
    let (status, page) = h
        .callback(&format!("state={}&code=c", q["state"]), &cookie)
        .await;
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("state_err") && page.contains("expired"),
        "{page}"
    );
    assert!(token_calls.lock().unwrap().is_empty());
}

impl Harness {
    async fn patch_settings(&self, body: Value) {
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

    async fn only_connection_id(&self) -> String {
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

    async fn sql_i64(&self, sql: &str) -> i64 {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", self.db))
            .await
            .unwrap();
        let (v,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
        v
    }

    async fn sql(&self, sql: &str) {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", self.db))
            .await
            .unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
}

const FLOW_PARAMS: &[(&str, &str)] = &[("tenant", "acme"), ("audience", "a")];

#[tokio::test]
async fn the_browser_cookie_is_required_by_default_and_can_be_switched_off() {
    let (provider, token_calls) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;

    // Default: a callback without the binding cookie never reaches the token endpoint.
    let (status, q, cookie, _) = h.start(FLOW_PARAMS).await;
    assert_eq!(status, 302);
    assert!(cookie.starts_with("latchkey_oauth_"), "{cookie}");
    let (status, page) = h
        .callback(&format!("state={}&code=c", q["state"]), "")
        .await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("state_cookie_err"), "{page}");
    assert!(token_calls.lock().unwrap().is_empty());

    // Switched off: the same callback completes without the cookie...
    h.patch_settings(json!({"browser_cookie_check": false}))
        .await;
    let (status, q, _, _) = h.start(FLOW_PARAMS).await;
    assert_eq!(status, 302);
    let callback = format!("state={}&code=c", q["state"]);
    let (status, page) = h.callback(&callback, "").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(token_calls.lock().unwrap().len(), 1);
    // ...and the state is still single-use.
    let (status, page) = h.callback(&callback, "").await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("state_err"), "{page}");
    assert_eq!(token_calls.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn client_overrides_drive_the_authorize_url_the_exchange_and_the_refresh() {
    let (provider, token_calls) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;
    let token = h.session().await;
    let mut query = vec![("connect_session_token".to_string(), token)];
    for (k, v) in FLOW_PARAMS {
        query.push((format!("params[{k}]"), v.to_string()));
    }
    for (k, v) in [
        ("oauth_client_id_override", "user-cid"),
        ("oauth_client_secret_override", "user-secret"),
        ("oauth_refresh_token_override", "fake-refresh-ok"),
    ] {
        query.push((format!("credentials[{k}]"), v.to_string()));
    }
    let (status, q, cookie, body) = h.start_query(&query).await;
    assert_eq!(status, 302, "{body}");
    assert_eq!(
        q["client_id"], "user-cid",
        "authorize URL uses the override"
    );
    let (status, page) = h
        .callback(&format!("state={}&code=c", q["state"]), &cookie)
        .await;
    assert_eq!(status, 200, "{page}");
    // token_request_auth_method: basic → user-cid:user-secret
    let basic = "Basic dXNlci1jaWQ6dXNlci1zZWNyZXQ=";
    {
        let calls = token_calls.lock().unwrap();
        assert_eq!(
            calls[0].1["authorization"], basic,
            "exchange uses the override"
        );
    }

    let id = h.only_connection_id().await;
    let (status, conn) = h.connection(&id, "&refresh_token=true").await;
    assert_eq!(status, 200, "{conn}");
    let cc = conn["connection_config"].as_object().unwrap();
    assert!(
        !cc.keys().any(|k| k.contains("override")),
        "overrides never sit in connection_config: {cc:?}"
    );
    assert!(!conn["connection_config"]
        .to_string()
        .contains("user-secret"));
    assert_eq!(
        conn["credentials"]["config_override"]["client_id"],
        "user-cid"
    );
    assert_eq!(
        conn["credentials"]["refresh_token"], "fake-refresh-ok",
        "refresh-token override replaces the issued one"
    );

    // A refresh uses the override client (and succeeds with the overriding refresh token); a
    // previously counted failure is reset.
    h.sql("UPDATE connections SET refresh_failures = 3").await;
    let (status, conn) = h.connection(&id, "&force_refresh=true").await;
    assert_eq!(status, 200, "{conn}");
    assert_eq!(conn["credentials"]["access_token"], "fake-access-2");
    {
        let calls = token_calls.lock().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            calls[1].1["authorization"], basic,
            "refresh uses the override"
        );
    }
    assert_eq!(
        h.sql_i64("SELECT refresh_failures FROM connections").await,
        0
    );
}

#[tokio::test]
async fn a_session_pinned_override_wins_over_the_browser() {
    let (provider, _) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;
    let token = h
        .session_with(
            json!({"end_user": {"id": "u8"}, "integrations_config_defaults": {
            "fake": {"connection_config": {"oauth_client_id_override": "pinned-cid"}}}}),
        )
        .await;
    let mut query = vec![("connect_session_token".to_string(), token)];
    for (k, v) in FLOW_PARAMS {
        query.push((format!("params[{k}]"), v.to_string()));
    }
    query.push((
        "credentials[oauth_client_id_override]".into(),
        "browser-cid".into(),
    ));
    let (status, q, _, body) = h.start_query(&query).await;
    assert_eq!(status, 302, "{body}");
    assert_eq!(q["client_id"], "pinned-cid");
}

#[tokio::test]
async fn failed_refreshes_are_counted_on_the_connection() {
    let (provider, _) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;
    let (_, q, cookie, _) = h.start(FLOW_PARAMS).await;
    let (status, _) = h
        .callback(&format!("state={}&code=c", q["state"]), &cookie)
        .await;
    assert_eq!(status, 200);
    let id = h.only_connection_id().await;
    for expected in 1..=2 {
        let (status, err) = h.connection(&id, "&force_refresh=true").await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(
            h.sql_i64("SELECT refresh_failures FROM connections").await,
            expected
        );
    }
    assert_eq!(
        h.sql_i64("SELECT COUNT(*) FROM connections WHERE last_refresh_failure_at IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn hmac_public_key_mode_guards_the_popup_but_not_session_tokens() {
    let (provider, _) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;
    let public = |extra: &[(&str, &str)]| {
        let mut q: Vec<(String, String)> = vec![
            ("public_key".into(), PUBLIC_KEY.into()),
            ("connection_id".into(), "conn-1".into()),
        ];
        for (k, v) in FLOW_PARAMS {
            q.push((format!("params[{k}]"), v.to_string()));
        }
        q.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        q
    };

    // HMAC off: the public key alone starts a flow for the connection the caller names.
    let (status, _, _, body) = h.start_query(&public(&[])).await;
    assert_eq!(status, 302, "{body}");

    h.patch_settings(json!({"hmac_enabled": true, "hmac_key": "hmac-key"}))
        .await;
    let (status, _, cookie, page) = h.start_query(&public(&[])).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("missing_hmac"), "{page}");
    assert!(cookie.is_empty());
    // Signed for another connection.
    let wrong = latchkey_server::oauth::hmac::digest("hmac-key", "fake", Some("conn-2"));
    let (status, _, _, page) = h.start_query(&public(&[("hmac", &wrong)])).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("invalid_hmac"), "{page}");
    let right = latchkey_server::oauth::hmac::digest("hmac-key", "fake", Some("conn-1"));
    let (status, q, cookie, page) = h.start_query(&public(&[("hmac", &right)])).await;
    assert_eq!(status, 302, "{page}");
    let (status, page) = h
        .callback(&format!("state={}&code=c", q["state"]), &cookie)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(h.only_connection_id().await, "conn-1");

    // Session tokens are never HMAC-checked.
    let (status, _, _, page) = h.start(FLOW_PARAMS).await;
    assert_eq!(status, 302, "{page}");
}
