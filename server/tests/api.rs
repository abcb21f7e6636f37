//! The real server on 127.0.0.1:0 with a fresh SQLite file, driven over HTTP like a customer backend
//! and a browser would.

mod common;

use common::Harness;
use latchkey_server::{start, Config};
use serde_json::json;

/// The shared harness (every JSON answer checked against /openapi.json).
async fn harness() -> Harness {
    common::harness(None).await
}

/// An OAuth2 integration with a test client.
async fn integration(h: &Harness, key: &str, provider: &str) {
    let credentials = json!({"type": "OAUTH2", "client_id": "cid", "client_secret": "csecret",
                             "scopes": "openid,email"});
    h.create_integration(key, provider, Some(credentials)).await;
}

#[tokio::test]
async fn missing_and_wrong_keys_get_the_error_envelope() {
    let h = harness().await;
    let (status, body) = h.post("/connect/sessions", None, json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "missing_auth_header");
    let (status, body) = h
        .post("/connect/sessions", Some("Bearer not-a-uuid"), json!({}))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_secret_key_format");
    let other = format!("Bearer {}", uuid_v4());
    let (status, body) = h.post("/connect/sessions", Some(&other), json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unknown_account");
}

fn uuid_v4() -> String {
    // A syntactically valid UUID v4 that is not the server's key.
    "0b5a3b9e-7c1d-4f2a-9e6b-3d2c1b0a9f8e".to_string()
}

#[tokio::test]
async fn strict_bodies_reject_unknown_fields_and_unknown_integrations_with_a_path() {
    let h = harness().await;
    let (status, body) = h
        .post(
            "/connect/sessions",
            Some(&h.secret()),
            json!({"end_user": {"id": "u"}, "colour": "red"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_body");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{body}"
    );
    let (status, body) = h
        .post(
            "/connect/sessions",
            Some(&h.secret()),
            json!({"end_user": {"id": "u"}, "allowed_integrations": ["nope"]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["errors"][0]["path"],
        json!(["allowed_integrations", "0"])
    );
    let (status, body) = h
        .post("/connect/sessions", Some(&h.secret()), json!({}))
        .await;
    assert_eq!(status, 400, "end_user or tags is required: {body}");
}

#[tokio::test]
async fn a_session_token_sees_only_its_allowed_integrations() {
    let h = harness().await;
    integration(&h, "local-oidc", "local-oidc").await;
    integration(&h, "github", "github").await;
    let token = h.session(json!({"end_user": {"id": "u1", "email": "u1@example.com"}, "allowed_integrations": ["github"]})).await;
    assert!(token.starts_with("nango_connect_session_") && token.len() == 22 + 64);

    let (status, body) = h.get("/connect/session", &format!("Bearer {token}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["allowed_integrations"], json!(["github"]));
    assert_eq!(body["data"]["endUser"]["id"], "u1");

    let (_, body) = h.get("/integrations", &format!("Bearer {token}")).await;
    let keys: Vec<_> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["unique_key"].clone())
        .collect();
    assert_eq!(keys, vec![json!("github")]);
    let (_, body) = h.get("/integrations", &h.secret()).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 2);

    let res = h
        .http
        .get(format!(
            "{}/oauth/connect/local-oidc?connect_session_token={token}",
            h.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert!(res.text().await.unwrap().contains("not allowed"));

    let (status, body) = h
        .get("/connect/session", "Bearer nango_connect_session_deadbeef")
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["code"],
        "invalid_connect_session_token_format"
    );
}

#[tokio::test]
async fn oauth_start_redirects_with_pkce_and_a_browser_bound_single_use_state() {
    let h = harness().await;
    integration(&h, "local-oidc", "local-oidc").await;
    let token = h.session(json!({"end_user": {"id": "u1"}})).await;
    let res = h
        .http
        .get(format!(
            "{}/oauth/connect/local-oidc?connect_session_token={token}&ws_client_id=abc",
            h.base
        ))
        .header("referer", "http://127.0.0.1:9999/some/page")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 302);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let location = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["client_id"], "cid");
    assert_eq!(q["scope"], "openid email");
    assert_eq!(q["redirect_uri"], format!("{}/oauth/callback", h.base));
    assert_eq!(q["prompt"], "consent");
    let state = q["state"].clone();
    assert_eq!(state.len(), 43, "256-bit state");

    // Without the browser's cookie the callback is refused; the state is not spent (issue 11: a leaked
    // state must not let anyone burn the attempt).
    let res = h
        .http
        .get(format!("{}/oauth/callback?state={state}&code=c", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    let page = res.text().await.unwrap();
    assert!(page.contains("state_cookie_err"), "{page}");
    assert!(
        page.contains("\"origin\":\"http://127.0.0.1:9999\""),
        "posts only to the recorded opener origin"
    );

    let cookie_pair = cookie.split(';').next().unwrap().to_string();
    let deliver = || {
        h.http
            .get(format!("{}/oauth/callback?state={state}&code=c", h.base))
            .header("cookie", cookie_pair.clone())
            .send()
    };
    // With it, the flow goes on to the token exchange (which fails: the code is made up)…
    let page = deliver().await.unwrap().text().await.unwrap();
    assert!(
        !page.contains("state_err") && !page.contains("state_cookie_err"),
        "{page}"
    );
    // …and the state is spent.
    let res = deliver().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert!(
        res.text().await.unwrap().contains("state_err"),
        "a replayed state is refused"
    );
}

#[tokio::test]
async fn unknown_connection_is_a_404_with_its_code() {
    let h = harness().await;
    integration(&h, "local-oidc", "local-oidc").await;
    let (status, body) = h
        .get(
            "/connection/nope?provider_config_key=local-oidc",
            &h.secret(),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "unknown_connection");
    let (status, body) = h.get("/connection/nope", &h.secret()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_query_params");
}

#[tokio::test]
async fn api_key_and_basic_credentials_are_stored_sealed_and_returned_to_the_backend() {
    let h = harness().await;
    for (key, provider) in [
        ("openai", "openai"),
        ("jira", "jira-basic"),
        ("local-oidc", "local-oidc"),
    ] {
        let (status, body) = h
            .post(
                "/integrations",
                Some(&h.secret()),
                json!({"provider": provider, "unique_key": key}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let token = h.session(json!({"end_user": {"id": "u1"}})).await;

    let url = format!("/api-auth/api-key/openai?connect_session_token={token}");
    let (status, body) = h
        .post(
            &url,
            None,
            json!({"apiKey": "sk-test-123", "type": "API_KEY"}),
        )
        .await;
    assert_eq!(status, 400, "unknown fields are rejected: {body}");
    assert_eq!(body["error"]["code"], "invalid_body");
    let (status, body) = h.post(&url, None, json!({"apiKey": "sk-test-123"})).await;
    assert_eq!(status, 200, "{body}");
    let id = body["connectionId"].as_str().unwrap().to_string();
    assert_eq!(body["providerConfigKey"], "openai");

    let (status, conn) = h
        .get(
            &format!("/connection/{id}?provider_config_key=openai"),
            &h.secret(),
        )
        .await;
    assert_eq!(status, 200, "{conn}");
    assert_eq!(
        conn["credentials"],
        json!({"type": "API_KEY", "apiKey": "sk-test-123"})
    );
    assert_eq!(conn["tags"]["end_user_id"], "u1");

    let url = format!("/api-auth/basic/jira?connect_session_token={token}&params[subdomain]=acme");
    let (status, body) = h
        .post(
            &url,
            None,
            json!({"username": "me@acme.com", "password": "pw"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["connectionId"].as_str().unwrap().to_string();
    let (_, conn) = h
        .get(
            &format!("/connection/{id}?provider_config_key=jira"),
            &h.secret(),
        )
        .await;
    assert_eq!(conn["credentials"]["type"], "BASIC");
    assert_eq!(conn["connection_config"]["subdomain"], "acme");

    let url = format!("/api-auth/api-key/local-oidc?connect_session_token={token}");
    let (status, body) = h.post(&url, None, json!({"apiKey": "x"})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_auth_mode");

    let (status, body) = h
        .post("/api-auth/api-key/openai", None, json!({"apiKey": "x"}))
        .await;
    assert_eq!(status, 401, "{body}");
}

/// Nango's 30 minutes, on the server's clock (moved forward here instead of waiting): the token
/// works until then and is refused after, with the code `@nangohq/frontend` reports.
#[tokio::test]
async fn a_session_token_stops_working_when_its_30_minutes_are_over() {
    let clock = latchkey_server::time::Clock::adjustable();
    let h = common::harness_configured(None, |c| c.clock = clock.clone()).await;
    let token = h.session(json!({"end_user": {"id": "u-late"}})).await;
    let bearer = format!("Bearer {token}");

    clock.advance(std::time::Duration::from_secs(29 * 60));
    let (status, body) = h.get("/connect/session", &bearer).await;
    assert_eq!(status, 200, "{body}");

    clock.advance(std::time::Duration::from_secs(2 * 60));
    let (status, body) = h.get("/connect/session", &bearer).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unknown_connect_session_token");
    let (status, _) = h.get("/integrations", &bearer).await;
    assert_eq!(status, 401, "every use of the token is refused");
}

#[tokio::test]
async fn reconnect_sessions_update_the_same_connection_and_metadata_is_set_then_merged() {
    let h = harness().await;
    let (status, _) = h
        .post(
            "/integrations",
            Some(&h.secret()),
            json!({"provider": "openai", "unique_key": "openai"}),
        )
        .await;
    assert_eq!(status, 200);
    let token = h.session(json!({"end_user": {"id": "u1"}})).await;
    let (_, body) = h
        .post(
            &format!("/api-auth/api-key/openai?connect_session_token={token}"),
            None,
            json!({"apiKey": "old"}),
        )
        .await;
    let id = body["connectionId"].as_str().unwrap().to_string();

    let (status, body) = h
        .post(
            "/connect/sessions/reconnect",
            Some(&h.secret()),
            json!({"connection_id": "nope", "integration_id": "openai"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_body");
    let (status, body) = h
        .post(
            "/connect/sessions/reconnect",
            Some(&h.secret()),
            json!({"connection_id": id, "integration_id": "openai"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let reconnect = body["data"]["token"].as_str().unwrap().to_string();
    let (_, info) = h
        .get("/connect/session", &format!("Bearer {reconnect}"))
        .await;
    assert_eq!(info["data"]["isReconnecting"], true);
    assert_eq!(info["data"]["allowed_integrations"], json!(["openai"]));
    let (status, body) = h
        .post(
            &format!("/api-auth/api-key/openai?connect_session_token={reconnect}"),
            None,
            json!({"apiKey": "new"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["connectionId"],
        id.as_str(),
        "the reconnect session pins the connection"
    );
    let (_, conn) = h
        .get(
            &format!("/connection/{id}?provider_config_key=openai"),
            &h.secret(),
        )
        .await;
    assert_eq!(conn["credentials"]["apiKey"], "new");
    assert_eq!(
        conn["tags"]["end_user_id"], "u1",
        "tags survive a reconnect"
    );

    let (status, _) = h
        .post("/connections/metadata", Some(&h.secret()), json!({"connection_id": id, "provider_config_key": "openai", "metadata": {"owner": "acme", "repo": "a"}}))
        .await;
    assert_eq!(status, 201);
    let res = h
        .http
        .patch(format!("{}/connections/metadata", h.base))
        .header("authorization", h.secret())
        .json(&json!({"connection_id": [id.clone()], "provider_config_key": "openai", "metadata": {"repo": "b"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let (_, conn) = h
        .get(
            &format!("/connections/{id}?provider_config_key=openai"),
            &h.secret(),
        )
        .await;
    assert_eq!(conn["metadata"], json!({"owner": "acme", "repo": "b"}));
    let (status, body) = h
        .post("/connections/metadata", Some(&h.secret()), json!({"connection_id": [id, "ghost"], "provider_config_key": "openai", "metadata": {}}))
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "unknown_connection");
}

#[tokio::test]
async fn connect_ui_is_served_at_its_root_with_query_and_is_framable() {
    let dir = tempfile::tempdir().unwrap();
    let ui = dir.path().join("ui");
    std::fs::create_dir_all(&ui).unwrap();
    std::fs::write(
        ui.join("index.html"),
        "<!doctype html><title>Connect</title>",
    )
    .unwrap();
    std::fs::write(ui.join("boot.js"), "export {}").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut config = Config::for_tests(dir.path(), &base);
    config.connect_ui_dir = Some(ui);
    let _server = start(config, listener).await.unwrap();
    let http = reqwest::Client::new();
    for path in [
        "/connect/",
        "/connect/?apiURL=http%3A%2F%2Flocalhost&parentOrigin=http%3A%2F%2F127.0.0.1%3A3010",
        "/connect/index.html",
    ] {
        let res = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("frame-ancestors *"), "{path}: {csp}");
        assert!(res.headers().get("x-frame-options").is_none(), "{path}");
        assert!(res.text().await.unwrap().contains("<title>Connect</title>"));
    }
    let res = http
        .get(format!("{base}/connect/boot.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
}

/// A Connect UI folder as `cargo xtask build` publishes it: `index.html`, content-hashed files under
/// `assets/`, and `.br`/`.gz` copies beside them.
fn published_connect_ui(root: &std::path::Path) -> std::path::PathBuf {
    let ui = root.join("ui");
    std::fs::create_dir_all(ui.join("assets")).unwrap();
    std::fs::write(
        ui.join("index.html"),
        "<!doctype html><title>Connect</title>",
    )
    .unwrap();
    std::fs::write(ui.join("index.html.br"), "br-index").unwrap();
    let js = ui.join("assets/connect_ui-0123456789.js");
    std::fs::write(&js, "export const a = 1;".repeat(50)).unwrap();
    std::fs::write(js.with_extension("js.br"), "br-bytes").unwrap();
    std::fs::write(js.with_extension("js.gz"), "gz-bytes").unwrap();
    ui
}

#[tokio::test]
async fn connect_ui_folder_serves_precompressed_copies_by_accept_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut config = Config::for_tests(dir.path(), &base);
    config.connect_ui_dir = Some(published_connect_ui(dir.path()));
    let _server = start(config, listener).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{base}/connect/assets/connect_ui-0123456789.js");
    for (accept, encoding, body) in [
        ("gzip, deflate, br", Some("br"), "br-bytes"),
        ("gzip", Some("gzip"), "gz-bytes"),
        ("identity", None, "export const a = 1;"),
    ] {
        let res = http
            .get(&url)
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{accept}");
        assert_eq!(
            res.headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accept}"
        );
        assert_eq!(res.headers()["vary"], "accept-encoding", "{accept}");
        assert!(res.text().await.unwrap().starts_with(body), "{accept}");
    }
    let res = http
        .get(format!("{base}/connect/"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "br");
    assert_eq!(res.text().await.unwrap(), "br-index");
}

#[tokio::test]
async fn connect_ui_hashed_assets_are_immutable_and_the_index_is_revalidated() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut config = Config::for_tests(dir.path(), &base);
    config.connect_ui_dir = Some(published_connect_ui(dir.path()));
    let _server = start(config, listener).await.unwrap();
    let http = reqwest::Client::new();
    for (path, status, cache) in [
        (
            "/connect/assets/connect_ui-0123456789.js",
            200,
            "public, max-age=31536000, immutable",
        ),
        ("/connect/", 200, "no-cache"),
        ("/connect/index.html", 200, "no-cache"),
        // A missing name may appear with the next deploy: never cached for long.
        ("/connect/assets/connect_ui-9999999999.js", 404, "no-cache"),
    ] {
        let res = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{path}");
        assert_eq!(res.headers()["cache-control"], cache, "{path}");
    }
}
