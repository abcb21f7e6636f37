//! The SDK's headless `auth()` with credentials (no popup, no Connect UI), as a customer page on its
//! own origin uses it: an API key and a basic login are `POST`ed to the server from the browser, the
//! Promises resolve with the new connections, the customer backend reads exactly those credentials,
//! and a refusal by the server reaches the page as an `AuthError` carrying the server's error code.

use latchkey_protocol::connect::{ConnectSessionCreated, CreateConnectSessionRequest, EndUser};
use latchkey_protocol::connection::Credentials;
use latchkey_protocol::DataEnvelope;
use latchkey_tests::browser::Browser;
use latchkey_tests::server::{LatchkeyServer, ReservedServer};
use latchkey_tests::site::CustomerSite;
use serde_json::{json, Value};
use std::time::Duration;

/// Catalog entries with no connection test, so the credentials are stored without reaching out to a
/// real provider.
const PROVIDERS: &str = r#"e2e-api-key:
    display_name: E2E API key
    auth_mode: API_KEY
    proxy:
        base_url: http://127.0.0.1:9
e2e-basic:
    display_name: E2E basic
    auth_mode: BASIC
    proxy:
        base_url: http://127.0.0.1:9
    connection_config:
        subdomain:
            type: string
            title: Subdomain
"#;

async fn session_token(server: &LatchkeyServer, allowed: &[&str]) -> anyhow::Result<String> {
    let request = CreateConnectSessionRequest {
        end_user: Some(EndUser {
            id: "sdk-credentials-user".into(),
            email: None,
            display_name: None,
            tags: None,
        }),
        allowed_integrations: Some(allowed.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    let res = reqwest::Client::new()
        .post(server.endpoint(&["connect", "sessions"])?)
        .bearer_auth(server.secret_key())
        .json(&request)
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_success(),
        "POST /connect/sessions: {}",
        res.status()
    );
    let created: DataEnvelope<ConnectSessionCreated> = res.json().await?;
    Ok(created.data.token)
}

/// The customer page: runs three `auth()` calls one after the other, without any click, and writes
/// every outcome into `#result` as JSON.
fn page(host: &str, token: &str) -> String {
    let js = |s: &str| serde_json::to_string(s).expect("a string serializes");
    format!(
        r#"<!doctype html>
<meta charset="utf-8">
<title>Credentials</title>
<pre id="result">idle</pre>
<script type="module">
import Nango, {{ AuthError }} from {sdk};
const nango = new Nango({{ host: {host}, connectSessionToken: {token} }});
const settle = (p) => p.then(
    (resolved) => ({{ resolved }}),
    (e) => ({{ rejected: {{ isAuthError: e instanceof AuthError, type: e.type, message: String(e.message) }} }}),
);
const out = [];
out.push(await settle(nango.auth('openai', {{ credentials: {{ apiKey: 'sk-e2e-123', type: 'API_KEY' }} }})));
out.push(await settle(nango.auth('jira', {{ params: {{ subdomain: 'acme' }}, credentials: {{ username: 'me@acme.com', password: 'pw' }} }})));
out.push(await settle(nango.auth('not-allowed', {{ credentials: {{ apiKey: 'x' }} }})));
document.getElementById('result').textContent = JSON.stringify(out);
</script>
"#,
        sdk = js(&format!("{host}/sdk/index.js")),
        host = js(host),
        token = js(token),
    )
}

#[tokio::test]
async fn api_key_and_basic_auth_resolve_and_server_refusals_keep_their_code() -> anyhow::Result<()>
{
    latchkey_tests::require_web_build()?;
    let server = ReservedServer::bind().await?.start(Some(PROVIDERS)).await?;
    for (key, provider) in [
        ("openai", "e2e-api-key"),
        ("jira", "e2e-basic"),
        ("not-allowed", "e2e-api-key"),
    ] {
        server
            .create_integration(&json!({"provider": provider, "unique_key": key}))
            .await?;
    }
    let token = session_token(&server, &["openai", "jira"]).await?;
    let site = CustomerSite::serve_page(page(server.url(), &token)).await?;
    let browser =
        Browser::start("api_key_and_basic_auth_resolve_and_server_refusals_keep_their_code")
            .await?;
    let outcome = tokio::time::timeout(Duration::from_secs(90), async {
        browser.goto(&format!("{}/", site.url())).await?;
        let text = browser
            .wait_for_text("#result", Duration::from_secs(30), |t| t.starts_with('['))
            .await?;
        let out: Value = serde_json::from_str(&text)?;
        assert_eq!(
            browser.windows().await?.len(),
            1,
            "credentials never open a popup"
        );

        let api_key = &out[0]["resolved"];
        assert_eq!(api_key["providerConfigKey"], "openai", "{out}");
        let id = api_key["connectionId"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("{out}"))?;
        let stored = server.get_connection(id, "openai").await?;
        let Credentials::ApiKey { api_key, .. } = &stored.credentials else {
            panic!("expected API_KEY credentials, got {:?}", stored.credentials);
        };
        assert_eq!(api_key, "sk-e2e-123");

        let basic = &out[1]["resolved"];
        assert_eq!(basic["providerConfigKey"], "jira", "{out}");
        let id = basic["connectionId"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("{out}"))?;
        let stored = server.get_connection(id, "jira").await?;
        let Credentials::Basic {
            username, password, ..
        } = &stored.credentials
        else {
            panic!("expected BASIC credentials, got {:?}", stored.credentials);
        };
        assert_eq!(
            (username.as_str(), password.as_str()),
            ("me@acme.com", "pw")
        );
        assert_eq!(stored.connection_config["subdomain"], "acme");

        let refused = &out[2]["rejected"];
        assert_eq!(refused["isAuthError"], true, "{out}");
        assert_eq!(refused["type"], "integration_not_allowed", "{out}");
        assert_eq!(server.list_connections().await?.len(), 2);
        anyhow::Ok(())
    })
    .await
    .unwrap_or_else(|_| Err(anyhow::anyhow!("test took over 90 s")));
    if outcome.is_err() {
        browser.dump("failure").await;
    }
    browser.close().await;
    outcome
}
