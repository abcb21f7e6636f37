//! Issue 11: attacks by someone holding a session token, a public key or a network position, against
//! the real server (the OAuth attacks that need a real authorization server are in
//! `tests/tests/oauth_attacks.rs`; the rate-limit ones in `rate_limit.rs`, which sets the limit).

/// Every JSON answer is checked against /openapi.json (issue 12).
#[path = "common/openapi.rs"]
mod openapi_check;

use futures_util::StreamExt;
use latchkey_server::config::PublicKeyMode;
use latchkey_server::{start, Config, RunningServer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const PUBLIC_KEY: &str = "7d3f5c1e-2b4a-4c6d-8e9f-0a1b2c3d4e5f";

struct Server {
    server: RunningServer,
    base: String,
    port: u16,
    http: reqwest::Client,
    dir: tempfile::TempDir,
    sqlite: bool,
}

async fn server(configure: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://localhost:{port}");
    let mut config = Config::for_tests(dir.path(), &base);
    config.public_key = Some(PUBLIC_KEY.into());
    configure(&mut config);
    let sqlite = config.database_url.starts_with("sqlite:");
    let server = start(config, listener).await.unwrap();
    Server {
        server,
        base,
        port,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        dir,
        sqlite,
    }
}

impl Server {
    async fn backend(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(self.server.secret_key())
            .json(&body)
            .send()
            .await
            .unwrap();
        openapi_check::read(method.as_str(), path, res).await
    }

    async fn integration(&self, key: &str, provider: &str) {
        let (status, body) = self
            .backend(
                reqwest::Method::POST,
                "/integrations",
                json!({"unique_key": key, "provider": provider,
                       "credentials": {"type": "OAUTH2", "client_id": "cid", "client_secret": "integration-client-secret"}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    async fn session(&self, body: Value) -> String {
        let (status, body) = self
            .backend(reqwest::Method::POST, "/connect/sessions", body)
            .await;
        assert_eq!(status, 201, "{body}");
        body["data"]["token"].as_str().unwrap().to_string()
    }

    async fn get(&self, path_and_query: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path_and_query}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// Every byte the SQLite database holds on disk (database and WAL files).
    fn database_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("latchkey.db")
            {
                all.extend(std::fs::read(entry.path()).unwrap_or_default());
            }
        }
        all
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Finding 1, on the shipped catalog: Salesforce's `hostname` reached the token URL with any DNS name,
/// so a session holder could send the client secret and the code to `login.attacker.example`.
#[tokio::test]
async fn salesforce_hostname_outside_salesforce_domains_is_refused_before_any_redirect() {
    let s = server(|_| {}).await;
    s.integration("sf", "salesforce").await;
    s.integration("sf-sandbox", "salesforce-sandbox").await;
    for key in ["sf", "sf-sandbox"] {
        let token = s.session(json!({"end_user": {"id": "u1"}})).await;
        for evil in [
            "login.attacker.example",
            "salesforce.com.attacker.example",
            "attackersalesforce.com",
        ] {
            let res = s
                .get(&format!(
                    "/oauth/connect/{key}?connect_session_token={token}&params[hostname]={evil}"
                ))
                .await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{key} {evil}");
            assert!(res.headers().get("location").is_none(), "no open redirect");
            let page = res.text().await.unwrap();
            assert!(page.contains("url_param_err"), "{page}");
        }
        // The org's own My Domain still works.
        let res = s
            .get(&format!(
                "/oauth/connect/{key}?connect_session_token={token}&params[hostname]=acme.my.salesforce.com"
            ))
            .await;
        assert_eq!(res.status(), StatusCode::FOUND);
        let location = res.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with("https://acme.my.salesforce.com/services/oauth2/authorize?"),
            "{location}"
        );
    }
}

/// Finding 3: with the default configuration the public key authenticates nothing, so a page's
/// visitor cannot write another end user's connection by naming its id.
#[tokio::test]
async fn public_key_mode_is_off_by_default() {
    let s = server(|_| {}).await;
    s.integration("sf", "salesforce").await;
    let res = s
        .get(&format!(
            "/oauth/connect/sf?public_key={PUBLIC_KEY}&connection_id=victim"
        ))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get("location").is_none());
    assert!(res.text().await.unwrap().contains("invalid_public_key"));
    let res = s
        .http
        .post(format!(
            "{}/api-auth/api-key/sf?public_key={PUBLIC_KEY}&connection_id=victim",
            s.base
        ))
        .json(&json!({"apiKey": "overwritten"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// Finding 3: `LATCHKEY_PUBLIC_KEY_MODE=hmac` requires an HMAC digest with an expiry, whatever the
/// environment's own switch says; an expired or unsigned-expiry digest is refused.
#[tokio::test]
async fn hmac_public_key_mode_requires_an_unexpired_digest() {
    let s = server(|c| c.public_key_mode = PublicKeyMode::Hmac).await;
    s.integration("sf", "salesforce").await;
    let (status, body) = s
        .backend(
            reqwest::Method::PATCH,
            "/environment/settings",
            json!({"hmac_key": "hmac-key-of-the-backend"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let start = |extra: String| {
        format!("/oauth/connect/sf?public_key={PUBLIC_KEY}&connection_id=conn-1{extra}")
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    use latchkey_server::oauth::hmac::{digest, digest_expiring};
    let key = "hmac-key-of-the-backend";
    // Nango's digest without expiry: refused in this mode.
    let plain = digest(key, "sf", Some("conn-1"));
    let res = s.get(&start(format!("&hmac={plain}"))).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("missing_hmac"));
    // Expired.
    let old = digest_expiring(key, "sf", Some("conn-1"), now - 5);
    let res = s
        .get(&start(format!("&hmac={old}&hmac_expires={}", now - 5)))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("invalid_hmac"));
    // Valid for another connection.
    let other = digest_expiring(key, "sf", Some("conn-2"), now + 300);
    let res = s
        .get(&start(format!("&hmac={other}&hmac_expires={}", now + 300)))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Right.
    let good = digest_expiring(key, "sf", Some("conn-1"), now + 300);
    let res = s
        .get(&start(format!("&hmac={good}&hmac_expires={}", now + 300)))
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
}

async fn next_text<S>(ws: &mut S, within: Duration) -> Option<Value>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).ok(),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// Finding 4: an anonymous request naming a socket's `ws_client_id` neither reaches that socket (no
/// forged error) nor stores a result; an id the server did not issue cannot be resumed.
#[tokio::test]
async fn anonymous_requests_cannot_send_results_to_a_socket_or_mint_ids() {
    let s = server(|_| {}).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/", s.port))
        .await
        .unwrap();
    let ack = next_text(&mut ws, Duration::from_secs(5)).await.unwrap();
    let id = ack["ws_client_id"].as_str().unwrap().to_string();

    // No credentials: refused, and nothing reaches the victim's socket.
    let res = s.get(&format!("/oauth/connect/sf?ws_client_id={id}")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        next_text(&mut ws, Duration::from_millis(1500))
            .await
            .is_none(),
        "a forged error reached the socket"
    );

    // Ids the server never issued: a resuming socket gets a fresh id instead.
    for forged in [
        uuid::Uuid::new_v4().to_string(),
        format!("{}.{}", uuid::Uuid::new_v4(), "0".repeat(32)),
    ] {
        let (mut other, _) = tokio_tungstenite::connect_async(format!(
            "ws://127.0.0.1:{}/?ws_client_id={forged}",
            s.port
        ))
        .await
        .unwrap();
        let ack = next_text(&mut other, Duration::from_secs(5)).await.unwrap();
        assert_ne!(ack["ws_client_id"], forged.as_str());
    }
    if s.sqlite {
        assert!(!contains(&s.database_bytes(), &id), "no result row stored");
    }
}

/// Finding 7: the session's `integrations_config_defaults` may carry a client secret override; it is
/// sealed at rest and never shown to the browser by `GET /connect/session`. The HMAC key is sealed too.
#[tokio::test]
async fn secrets_in_session_defaults_and_settings_are_sealed_and_not_returned() {
    let s = server(|_| {}).await;
    s.integration("sf", "salesforce").await;
    let token = s
        .session(json!({
            "end_user": {"id": "u1"},
            "integrations_config_defaults": {"sf": {"connection_config": {
                "oauth_client_secret_override": "override-SECRET-d41d8cd9",
                "hostname": "acme.my.salesforce.com"
            }}}
        }))
        .await;
    let res = s
        .http
        .get(format!("{}/connect/session", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(!body.contains("override-SECRET-d41d8cd9"), "{body}");
    assert!(body.contains("acme.my.salesforce.com"), "{body}");
    // The pinned values still apply to the flow.
    let res = s
        .get(&format!("/oauth/connect/sf?connect_session_token={token}"))
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("https://acme.my.salesforce.com/"));

    let (status, body) = s
        .backend(
            reqwest::Method::PATCH,
            "/environment/settings",
            json!({"hmac_enabled": true, "hmac_key": "hmac-SECRET-0cc175b9"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    if s.sqlite {
        let bytes = s.database_bytes();
        assert!(!contains(&bytes, "override-SECRET-d41d8cd9"));
        assert!(!contains(&bytes, "hmac-SECRET-0cc175b9"));
    }
}

fn b64_key(byte: u8) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

async fn restart(
    dir: &tempfile::TempDir,
    database_url: &str,
    configure: impl FnOnce(&mut Config),
) -> anyhow::Result<Server> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let base = format!("http://localhost:{port}");
    let mut config = Config::for_tests(dir.path(), &base);
    config.database_url = database_url.to_string();
    configure(&mut config);
    let sqlite = config.database_url.starts_with("sqlite:");
    let server = start(config, listener).await?;
    Ok(Server {
        server,
        base,
        port,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?,
        dir: tempfile::tempdir()?,
        sqlite,
    })
}

async fn api_key_of(s: &Server, id: &str) -> (u16, Value) {
    s.backend(
        reqwest::Method::GET,
        &format!("/connection/{id}?provider_config_key=oa"),
        Value::Null,
    )
    .await
}

/// Finding 8: changing `LATCHKEY_ENCRYPTION_KEY` used to stop the server from starting. With the old
/// key in `LATCHKEY_PREVIOUS_ENCRYPTION_KEYS` it starts, reads everything, and `keys reseal` moves
/// everything to the new key, after which the old key can go.
#[tokio::test]
async fn encryption_keys_rotate_through_a_keyring_and_a_reseal() {
    let dir = tempfile::tempdir().unwrap();
    let probe = Config::for_tests(dir.path(), "http://localhost:1");
    let database_url = probe.database_url.clone();
    let (old, new) = (b64_key(1), b64_key(2));

    let s = restart(&dir, &database_url, |c| {
        c.encryption_key = Some(old.clone())
    })
    .await
    .unwrap();
    s.integration("sf", "salesforce").await;
    let (status, body) = s
        .backend(
            reqwest::Method::POST,
            "/integrations",
            json!({"unique_key": "oa", "provider": "openai"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = s
        .backend(
            reqwest::Method::POST,
            "/connections",
            json!({"connection_id": "c1", "provider_config_key": "oa",
                   "credentials": {"type": "API_KEY", "apiKey": "sk-rotated-key-1"}}),
        )
        .await;
    assert!(status < 300, "{status} {body}");
    let secret = s.server.secret_key().to_string();
    s.server.stop().await;

    // The new key alone cannot open what the old one sealed: the server refuses to start.
    assert!(restart(&dir, &database_url, |c| c.encryption_key =
        Some(new.clone()))
    .await
    .is_err());

    // With the keyring it starts, with the same secret key, and serves the old connection.
    let ring = |c: &mut Config| {
        c.encryption_key = Some(new.clone());
        c.previous_encryption_keys = vec![old.clone()];
    };
    let s = restart(&dir, &database_url, ring).await.unwrap();
    assert_eq!(s.server.secret_key(), secret);
    let (status, body) = api_key_of(&s, "c1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["credentials"]["apiKey"], "sk-rotated-key-1");
    s.server.stop().await;

    // `latchkey keys reseal`, with its progress.
    let mut config = Config::for_tests(dir.path(), "http://localhost:1");
    config.database_url = database_url.clone();
    ring(&mut config);
    let (app, _, _) = latchkey_server::prepare(config).await.unwrap();
    let mut seen = Vec::new();
    let done = latchkey_server::reseal::reseal_all(
        &app.vault,
        latchkey_server::reseal::Scope::All,
        &mut |table, done, total| seen.push(format!("{table} {done}/{total}")),
    )
    .await
    .unwrap();
    assert_eq!(done.failed, 0, "{done:?}");
    assert!(seen.contains(&"connections 1/1".to_string()), "{seen:?}");
    app.activity.flush().await;
    drop(app);

    // Now the new key alone is enough.
    let s = restart(&dir, &database_url, |c| {
        c.encryption_key = Some(new.clone())
    })
    .await
    .unwrap();
    let (status, body) = api_key_of(&s, "c1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["credentials"]["apiKey"], "sk-rotated-key-1");
}

/// Finding 9: credentials were bound to `connection:{env}:{key}:{id}`, the same string for
/// (`a`, `b:c`) and (`a:b`, `c`). A start-up migration re-seals every row with an unambiguous
/// encoding, after which a ciphertext bound the old way no longer opens.
#[tokio::test]
async fn connection_credentials_move_to_unambiguous_associated_data() {
    let dir = tempfile::tempdir().unwrap();
    let probe = Config::for_tests(dir.path(), "http://localhost:1");
    if !probe.database_url.starts_with("sqlite:") {
        return; // the row is rewritten in place through SQLite here
    }
    let database_url = probe.database_url.clone();
    let key = b64_key(7);
    let s = restart(&dir, &database_url, |c| {
        c.encryption_key = Some(key.clone())
    })
    .await
    .unwrap();
    let (status, _) = s
        .backend(
            reqwest::Method::POST,
            "/integrations",
            json!({"unique_key": "oa", "provider": "openai"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = s
        .backend(
            reqwest::Method::POST,
            "/connections",
            json!({"connection_id": "b:c", "provider_config_key": "oa",
                   "credentials": {"type": "API_KEY", "apiKey": "sk-aad-1"}}),
        )
        .await;
    assert!(status < 300, "{status} {body}");
    s.server.stop().await;

    // As a server before issue 11 left it: sealed with the old encoding, migration not run.
    let cipher = latchkey_server::crypto::Cipher::from_base64(&key).unwrap();
    let pool = sqlx::SqlitePool::connect(&database_url).await.unwrap();
    let (env_id,): (i64,) = sqlx::query_as("SELECT environment_id FROM connections")
        .fetch_one(&pool)
        .await
        .unwrap();
    let plain = br#"{"type":"API_KEY","apiKey":"sk-aad-1"}"#;
    let legacy = latchkey_server::connections::sealing::legacy_connection_aad(env_id, "oa", "b:c");
    let write = |blob: Vec<u8>| {
        let pool = pool.clone();
        async move {
            sqlx::query("UPDATE connections SET credentials_enc = $1")
                .bind(blob)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    write(cipher.seal(plain, &legacy)).await;
    sqlx::query("DELETE FROM latchkey_meta")
        .execute(&pool)
        .await
        .unwrap();

    // The restart migrates it: still readable, now bound the new way.
    let s = restart(&dir, &database_url, |c| {
        c.encryption_key = Some(key.clone())
    })
    .await
    .unwrap();
    let (status, body) = api_key_of(&s, "b:c").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["credentials"]["apiKey"], "sk-aad-1");
    let (blob,): (Vec<u8>,) = sqlx::query_as("SELECT credentials_enc FROM connections")
        .fetch_one(&pool)
        .await
        .unwrap();
    let v2 = latchkey_server::connections::sealing::connection_aad(env_id, "oa", "b:c");
    assert!(cipher.open(cipher.key_id(), &blob, &v2).is_ok());

    // A ciphertext bound the old way (as one moved from the row ("oa:b", "c") would be) is refused.
    write(cipher.seal(plain, &legacy)).await;
    // Written by another process: the server's kept row gives way within the cache's TTL.
    tokio::time::sleep(latchkey_server::environment_cache::TTL).await;
    let (status, _) = api_key_of(&s, "b:c").await;
    assert!(status >= 500, "{status}");
}

/// Finding 2, for credentials posted from the browser (API key): undeclared `params[…]` are not
/// stored in the connection config.
#[tokio::test]
async fn api_key_connections_keep_only_declared_connection_config_fields() {
    let s = server(|_| {}).await;
    let (status, _) = s
        .backend(
            reqwest::Method::POST,
            "/integrations",
            json!({"unique_key": "oa", "provider": "openai"}),
        )
        .await;
    assert_eq!(status, 200);
    let token = s.session(json!({"end_user": {"id": "u1"}})).await;
    let res = s
        .http
        .post(format!(
            "{}/api-auth/api-key/oa?connect_session_token={token}&params[instance_url]=https://attacker.example",
            s.base
        ))
        .json(&json!({"apiKey": "sk-declared-only"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let body: Value = res.json().await.unwrap();
    let id = body["connectionId"].as_str().unwrap().to_string();
    let (status, body) = s
        .backend(
            reqwest::Method::GET,
            &format!("/connection/{id}?provider_config_key=oa"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["connection_config"].get("instance_url").is_none(),
        "{body}"
    );
}
