//! The SDK's headless flow (`nango.auth()` without the Connect UI) on a customer page of its own
//! origin: a click opens the provider in a popup, the user signs in and consents, and the Promise
//! resolves with the new connection, whose credentials the customer backend can read. Without a user
//! gesture the browser blocks the popup and the Promise rejects with `AuthError('blocked_by_browser')`.

use latchkey_protocol::connect::{ConnectSessionCreated, CreateConnectSessionRequest, EndUser};
use latchkey_protocol::connection::Credentials;
use latchkey_protocol::DataEnvelope;
use latchkey_tests::browser::Browser;
use latchkey_tests::site::CustomerSite;
use latchkey_tests::stack::{Stack, LOCAL_OIDC};
use serde_json::Value;
use std::time::Duration;

const LOGIN: &str = "carol";

/// A connect session for one end user, created the way a customer backend does (secret key).
async fn session_token(stack: &Stack) -> anyhow::Result<String> {
    let request = CreateConnectSessionRequest {
        end_user: Some(EndUser {
            id: "sdk-user".into(),
            email: None,
            display_name: None,
            tags: None,
        }),
        allowed_integrations: Some(vec![LOCAL_OIDC.into()]),
        ..Default::default()
    };
    let res = reqwest::Client::new()
        .post(stack.server.endpoint(&["connect", "sessions"])?)
        .bearer_auth(stack.server.secret_key())
        .json(&request)
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_success(),
        "POST /connect/sessions answered {}",
        res.status()
    );
    let created: DataEnvelope<ConnectSessionCreated> = res.json().await?;
    Ok(created.data.token)
}

/// The customer page: `#connect` calls `auth('local-oidc')` in its click handler; with `#no-click` in
/// the URL the page calls it by itself shortly after loading (no user gesture). The outcome is
/// written as JSON into `#result`.
fn page(host: &str, token: &str) -> String {
    let js = |s: &str| serde_json::to_string(s).expect("a string serializes");
    format!(
        r#"<!doctype html>
<meta charset="utf-8">
<title>Headless auth</title>
<button id="connect" disabled>Connect</button>
<pre id="result">idle</pre>
<script type="module">
import Nango, {{ AuthError }} from {sdk};
const nango = new Nango({{ host: {host}, connectSessionToken: {token} }});
const show = (out) => {{ document.getElementById('result').textContent = JSON.stringify(out); }};
function connect() {{
    show('pending');
    nango.auth({key}).then(
        (connection) => show({{ resolved: connection }}),
        (e) => show({{ rejected: {{ isAuthError: e instanceof AuthError, type: e.type, message: String(e.message) }} }}),
    );
}}
document.getElementById('connect').addEventListener('click', connect);
document.getElementById('connect').disabled = false;
if (location.hash === '#no-click') setTimeout(connect, 50);
</script>
"#,
        sdk = js(&format!("{host}/sdk/index.js")),
        host = js(host),
        token = js(token),
        key = js(LOCAL_OIDC),
    )
}

async fn with_browser<F>(test: &str, limit: Duration, body: F) -> anyhow::Result<()>
where
    F: for<'a> AsyncFnOnce(&'a Browser) -> anyhow::Result<()>,
{
    latchkey_tests::require_web_build()?;
    let browser = Browser::start(test).await?;
    let outcome = tokio::time::timeout(limit, body(&browser))
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("test took over {limit:?}")));
    if outcome.is_err() {
        browser.dump("failure").await;
    }
    browser.close().await;
    outcome
}

#[tokio::test]
async fn headless_auth_runs_oauth_in_a_popup_and_resolves_with_the_connection() -> anyhow::Result<()>
{
    let stack = Stack::start().await?;
    let token = session_token(&stack).await?;
    let site = CustomerSite::serve_page(page(stack.server.url(), &token)).await?;
    with_browser(
        "headless_auth_runs_oauth_in_a_popup_and_resolves_with_the_connection",
        Duration::from_secs(180),
        async |browser| {
            browser.goto(&format!("{}/", site.url())).await?;
            browser.wait_for("#connect:not([disabled])").await?;
            browser.screenshot("page").await;
            let main_window = browser.window().await?;
            let known_windows = browser.windows().await?;
            browser.click("#connect").await?;
            browser
                .switch_to_new_window(&known_windows, Duration::from_secs(10))
                .await?;

            // oidc-provider's development login and consent pages, in the popup.
            browser.complete_local_provider_login(LOGIN).await?;

            browser.switch_to(&main_window).await?;
            let text = browser
                .wait_for_text("#result", Duration::from_secs(30), |t| {
                    t.starts_with("{\"re")
                })
                .await?;
            browser.screenshot("resolved").await;
            let result: Value = serde_json::from_str(&text)?;
            let connection = &result["resolved"];
            assert_eq!(connection["providerConfigKey"], LOCAL_OIDC, "{result}");
            let connection_id = connection["connectionId"]
                .as_str()
                .filter(|id| !id.is_empty())
                .ok_or_else(|| anyhow::anyhow!("no connectionId in {result}"))?;

            // The popup closed itself once the flow was over.
            let windows = latchkey_tests::wait::until(
                "the popup to close",
                Duration::from_secs(10),
                || async {
                    let windows = browser.windows().await?;
                    Ok((windows.len() == 1).then_some(windows))
                },
            )
            .await?;
            assert_eq!(windows, vec![main_window]);

            // The customer backend reads working credentials of exactly that connection.
            let stored = stack
                .server
                .get_connection(connection_id, LOCAL_OIDC)
                .await?;
            assert_eq!(stored.connection_id, connection_id);
            assert_eq!(stored.provider_config_key, LOCAL_OIDC);
            let Credentials::OAuth2 { access_token, .. } = &stored.credentials else {
                panic!("expected OAUTH2 credentials, got {:?}", stored.credentials);
            };
            assert_eq!(stack.oidc.userinfo(access_token).await?["sub"], LOGIN);
            Ok(())
        },
    )
    .await
}

#[tokio::test]
async fn popup_blocked_rejects_with_blocked_by_browser() -> anyhow::Result<()> {
    latchkey_tests::require_web_build()?;
    let stack = Stack::start().await?;
    let token = session_token(&stack).await?;
    let site = CustomerSite::serve_page(page(stack.server.url(), &token)).await?;
    let browser =
        Browser::start_with("popup_blocked_rejects_with_blocked_by_browser", true).await?;
    let outcome = tokio::time::timeout(Duration::from_secs(90), async {
        // No click: the page calls `auth()` from a timer, without user activation.
        browser.goto(&format!("{}/#no-click", site.url())).await?;
        let text = browser
            .wait_for_text("#result", Duration::from_secs(20), |t| {
                t.starts_with("{\"re")
            })
            .await?;
        let result: Value = serde_json::from_str(&text)?;
        assert_eq!(result["rejected"]["isAuthError"], true, "{result}");
        assert_eq!(result["rejected"]["type"], "blocked_by_browser", "{result}");
        assert_eq!(browser.windows().await?.len(), 1, "no popup may open");
        assert!(stack.server.list_connections().await?.is_empty());

        // The same page, clicked by the user, is allowed its popup: the blocker is what rejected.
        browser.goto(&format!("{}/", site.url())).await?;
        browser.click("#connect:not([disabled])").await?;
        browser
            .wait_for_text("#result", Duration::from_secs(5), |t| t == "\"pending\"")
            .await?;
        latchkey_tests::wait::until("the popup to open", Duration::from_secs(10), || async {
            Ok((browser.windows().await?.len() == 2).then_some(()))
        })
        .await?;
        anyhow::Ok(())
    })
    .await
    .unwrap_or_else(|_| Err(anyhow::anyhow!("test took over 90 s")));
    let _ = tokio::time::timeout(Duration::from_secs(10), browser.client().clone().close()).await;
    outcome
}
