//! The walking skeleton, as a user sees it: on the demo customer page, "Connect an account" opens the
//! Connect UI, the user picks the local OIDC integration, signs in and consents in the popup, and the
//! page reports the new connection — whose stored access token really works at the provider.

use latchkey_protocol::connection::Credentials;
use latchkey_tests::browser::Browser;
use latchkey_tests::stack::{Stack, LOCAL_OIDC};
use std::time::Duration;

const LOGIN: &str = "alice";

#[tokio::test]
async fn demo_user_connects_local_oidc_through_connect_ui() -> anyhow::Result<()> {
    latchkey_tests::require_web_build()?;
    let stack = Stack::start().await?;
    let browser = Browser::start("demo_user_connects_local_oidc_through_connect_ui").await?;
    let outcome = tokio::time::timeout(Duration::from_secs(180), run(&stack, &browser))
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("test took over 180 s")));
    if outcome.is_err() {
        browser.dump("failure").await;
    }
    browser.close().await;
    outcome
}

async fn run(stack: &Stack, browser: &Browser) -> anyhow::Result<()> {
    // The customer page, on its own origin, loads the SDK from the Latchkey server.
    browser.goto(&format!("{}/", stack.demo.url())).await?;
    browser
        .wait_for_text("#status", Duration::from_secs(20), |t| t == "Ready.")
        .await?;
    browser.screenshot("demo-page").await;
    let main_window = browser.window().await?;

    // "Connect an account" opens the Connect UI iframe, which lists both integrations.
    browser.click("#connect").await?;
    browser.enter_frame("#connect-ui").await?;
    browser
        .wait_for("button[data-integration=\"github\"]")
        .await?;
    let local = browser
        .wait_for(&format!("button[data-integration=\"{LOCAL_OIDC}\"]"))
        .await?;
    browser.screenshot("integration-list").await;
    local.click().await?;

    // The integration screen; its button opens the provider in a popup.
    let known_windows = browser.windows().await?;
    browser.wait_for("#connect-button").await?;
    browser.screenshot("integration-screen").await;
    browser.click("#connect-button").await?;
    browser
        .switch_to_new_window(&known_windows, Duration::from_secs(10))
        .await?;

    // oidc-provider's development login and consent pages, in the popup.
    browser.complete_local_provider_login(LOGIN).await?;

    // The popup lands on Latchkey's callback, which reports to the Connect UI and closes itself.
    browser.switch_to(&main_window).await?;
    let status = browser
        .wait_for_text("#status", Duration::from_secs(30), |t| {
            t.contains("access token present") || t.contains("failed")
        })
        .await?;
    browser.screenshot("connected").await;
    assert!(
        status.contains("access token present"),
        "the page reported: {status}"
    );
    let events = browser
        .wait_for_text("#events", Duration::from_secs(5), |t| {
            t.lines().any(|l| l == "connect")
        })
        .await?;
    assert!(
        !events.lines().any(|l| l == "error"),
        "unexpected error event: {events}"
    );

    // "Connected <id> to local-oidc — access token present"
    let connection_id = status
        .strip_prefix("Connected ")
        .and_then(|rest| rest.split_once(&format!(" to {LOCAL_OIDC} ")))
        .map(|(id, _)| id.to_owned())
        .ok_or_else(|| anyhow::anyhow!("cannot read the connection id from {status:?}"))?;

    // The user finishes; the Connect UI closes and tells the page.
    browser.enter_frame("#connect-ui").await?;
    browser.wait_for("#connect-success").await?;
    browser.screenshot("connect-ui-success").await;
    browser.click_closing_frame("#finish-button").await?;
    browser.leave_frames().await?;
    browser
        .wait_for_text("#events", Duration::from_secs(10), |t| {
            t.lines().any(|l| l == "close")
        })
        .await?;
    browser.screenshot("closed").await;

    // The customer backend reads the stored credentials; the access token works at the provider.
    let connection = stack
        .server
        .get_connection(&connection_id, LOCAL_OIDC)
        .await?;
    assert_eq!(connection.connection_id, connection_id);
    assert_eq!(connection.provider_config_key, LOCAL_OIDC);
    let Credentials::OAuth2 { access_token, .. } = &connection.credentials else {
        panic!(
            "expected OAUTH2 credentials, got {:?}",
            connection.credentials
        );
    };
    let me = stack.oidc.userinfo(access_token).await?;
    assert_eq!(me["sub"], LOGIN, "userinfo: {me}");

    // Exactly one code exchange reached the provider, and nothing failed there.
    let stats = stack.oidc.token_stats().await?;
    assert_eq!(stats.requests("authorization_code"), 1, "{stats:?}");
    assert!(stats.token_errors.is_empty(), "{stats:?}");
    Ok(())
}
