//! Connect UI forms built from the provider catalog, in headless Chromium against the real server:
//! an API key with pattern validation (single-integration jump, no list), a basic-auth form with an
//! email format and an enum select reached from the list, a keyboard-only API-key connection, and the
//! JWT, TBA, OAuth2 client-credentials, SIGNATURE, TWO_STEP client-assertion and BILL forms of issue
//! 15, its install flows in the popup (a GitHub App, a plugin), and OAuth 1.0a, generic MCP and AWS
//! SigV4 against their own peers.
//! Screenshots go to tests/artifacts/connect-ui/<test>/. One binary, a module per group of forms
//! (a binary per file would link the server and the browser driver once more each).

use latchkey_tests::browser::Browser;
use latchkey_tests::connect_ui::{
    self, UiStack, API_KEY, AWS, BASIC, BILL, CLIENT_ASSERTION, CLIENT_CREDENTIALS, GITHUB_APP,
    GITHUB_APP_OAUTH, JWT, MCP_GENERIC, OAUTH1, PLUGIN, SIGNATURE, TBA,
};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

mod credential_forms;
mod popup_flows;
mod text_forms;

/// Every test here gets 150 s.
const TIME_LIMIT: Duration = Duration::from_secs(150);

async fn with_browser<F, Fut>(name: &str, body: F) -> anyhow::Result<()>
where
    F: FnOnce(Arc<UiStack>, Arc<Browser>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    connect_ui::with_browser(name, TIME_LIMIT, body).await
}

/// The ids of the form's fields of these tags (`"input, select"`), in document order.
async fn field_ids(browser: &Browser, tags: &str) -> anyhow::Result<Vec<String>> {
    let script = "return [...document.querySelectorAll(arguments[0])].map(e => e.id);";
    let selector = tags
        .split(',')
        .map(|t| format!("#connect-form {}", t.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(browser
        .client()
        .execute(script, vec![selector.into()])
        .await?
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

async fn is_disabled(browser: &Browser, css: &str) -> anyhow::Result<bool> {
    Ok(browser
        .wait_for(css)
        .await?
        .prop("disabled")
        .await?
        .as_deref()
        == Some("true"))
}

/// Opens the customer page on a session for `key` alone and waits for the Connect UI's Connect
/// button (inside its frame).
async fn open_alone(stack: &UiStack, browser: &Browser, key: &str) -> anyhow::Result<()> {
    let token = stack
        .session(json!({"allowed_integrations": [key]}))
        .await?;
    browser.goto(&stack.page_url(&token, None, None)).await?;
    browser.enter_frame("#connect-ui").await?;
    browser.wait_for("#connect-button").await?;
    Ok(())
}

/// Waits for the success screen (screenshot `key`), leaves the frame and reads the connection the
/// page was told about: its credentials and connection config, as JSON.
async fn connected(
    stack: &UiStack,
    browser: &Browser,
    key: &str,
) -> anyhow::Result<(serde_json::Value, serde_json::Value)> {
    browser
        .wait_for_within("#connect-success", Duration::from_secs(30))
        .await?;
    browser.screenshot(key).await;
    browser.leave_frames().await?;
    let id = connect_ui::connected_id(browser).await?;
    let c = stack.server.get_connection(&id, key).await?;
    Ok((
        serde_json::to_value(&c.credentials)?,
        serde_json::to_value(&c.connection_config)?,
    ))
}

/// Polls `check` for up to 5 s.
async fn crate_wait<F, Fut>(check: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    latchkey_tests::wait::until("focus", Duration::from_secs(5), || {
        let f = check();
        async move { Ok(f.await?.then_some(())) }
    })
    .await
}
