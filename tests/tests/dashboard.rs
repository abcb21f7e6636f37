//! The dashboard (issue 17) in headless Chromium against the real server and the local OAuth
//! provider, one stack for the whole file: sign in by keyboard (after a wrong password is refused and
//! another account is locked out), create and edit an integration from the catalog, find a refused
//! OAuth attempt's failing step with the provider's error text, follow the log live, see a write from
//! another origin refused, reveal / refresh / edit the metadata of / delete a real connection, change
//! the Connect UI theme and see the preview change, and axe-core (WCAG 2.2 AA) on every screen in
//! light and in dark. Screenshots go to tests/artifacts/dashboard/.

use anyhow::Context;
use latchkey_tests::browser::Browser;
use latchkey_tests::headless::HeadlessUser;
use latchkey_tests::stack::{Stack, LOCAL_OIDC};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery staple";
const TIME_LIMIT: Duration = Duration::from_secs(280);
const WAIT: Duration = Duration::from_secs(20);

/// axe-core (WCAG 2.2 AA tags) on the current page, not descending into frames (the Connect UI
/// preview has its own axe runs in connect_ui_screens.rs).
async fn accessible(browser: &Browser, screen: &str) -> anyhow::Result<()> {
    let path = latchkey_tests::workspace_root().join("node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&path).context("axe-core (npm)")?;
    let client = browser.client();
    client.execute(&source, vec![]).await?;
    let result = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
axe.run(document, { iframes: false, runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
  .then(r => done(r.violations.map(v => ({ id: v.id, help: v.help,
     nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary) }))))
  .catch(e => done([{ id: 'axe-error', help: String(e) }]));"#,
            vec![],
        )
        .await?;
    let violations = result.as_array().cloned().unwrap_or_default();
    anyhow::ensure!(violations.is_empty(), "axe on {screen}: {violations:#?}");
    Ok(())
}

async fn text(
    browser: &Browser,
    css: &str,
    accept: impl Fn(&str) -> bool,
) -> anyhow::Result<String> {
    browser.wait_for_text(css, WAIT, accept).await
}

async fn sign_in(browser: &Browser, base: &str, email: &str, password: &str) -> anyhow::Result<()> {
    browser.goto(&format!("{base}/dashboard/")).await?;
    let email_field = browser.wait_for("#email").await?;
    email_field.clear().await?;
    browser.type_into("#email", email).await?;
    let password_field = browser.wait_for("#password").await?;
    password_field.clear().await?;
    // Enter submits the form: no mouse needed.
    browser
        .type_into("#password", &format!("{password}\u{E007}"))
        .await
}

async fn screen(browser: &Browser, base: &str, route: &str, ready: &str) -> anyhow::Result<()> {
    browser.goto(&format!("{base}/dashboard/#/{route}")).await?;
    browser.wait_for_within(ready, WAIT).await.map(drop)
}

#[tokio::test]
async fn operate_latchkey_from_the_dashboard() -> anyhow::Result<()> {
    latchkey_tests::require_web_build()?;
    anyhow::ensure!(
        latchkey_tests::workspace_root()
            .join("dist/dashboard/index.html")
            .is_file(),
        "dist/dashboard is missing: run `cargo xtask build`"
    );
    let stack = Stack::start().await?;
    let browser = Browser::start("dashboard/light").await?;
    let outcome = tokio::time::timeout(TIME_LIMIT, flow(&stack, &browser))
        .await
        .unwrap_or_else(|_| {
            Err(anyhow::anyhow!(
                "the dashboard flow took over {TIME_LIMIT:?}"
            ))
        });
    if outcome.is_err() {
        browser.dump("failure").await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), browser.client().clone().close()).await;
    outcome?;

    // The same screens in dark.
    let dark = Browser::start_dark("dashboard/dark").await?;
    let outcome = tokio::time::timeout(TIME_LIMIT, dark_screens(&stack, &dark)).await;
    let outcome = outcome.unwrap_or_else(|_| Err(anyhow::anyhow!("dark screens took too long")));
    if outcome.is_err() {
        dark.dump("failure").await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), dark.client().clone().close()).await;
    outcome
}

async fn flow(stack: &Stack, browser: &Browser) -> anyhow::Result<()> {
    let base = stack.server.url().to_string();
    stack
        .server
        .create_admin("ops@example.com", PASSWORD)
        .await?;
    stack
        .server
        .create_admin("locked@example.com", PASSWORD)
        .await?;

    // A wrong password is refused; five in a row lock the account, with a message that says so.
    sign_in(browser, &base, "ops@example.com", "not the password").await?;
    text(browser, ".problem", |t| t == "Wrong email or password.").await?;
    browser.screenshot("wrong-password").await;
    accessible(browser, "sign-in (light)").await?;
    for _ in 0..5 {
        sign_in(browser, &base, "locked@example.com", "guess").await?;
        text(browser, ".problem", |t| !t.is_empty()).await?;
    }
    sign_in(browser, &base, "locked@example.com", PASSWORD).await?;
    text(browser, ".problem", |t| t.contains("locked")).await?;

    // Signed in by keyboard only.
    sign_in(browser, &base, "ops@example.com", PASSWORD).await?;
    text(browser, "main h1", |t| t == "Overview").await?;
    browser.wait_for(".chart").await?;
    browser.screenshot("overview").await;
    accessible(browser, "overview (light)").await?;

    // An integration from the catalog (searched among ~1,000 providers).
    screen(browser, &base, "integrations", "#catalog-search").await?;
    browser.type_into("#catalog-search", "hubspot").await?;
    browser.wait_for(".catalog button").await?;
    browser.click(".catalog button").await?;
    browser.wait_for("#new-client-id").await?;
    browser.type_into("#new-client-id", "hs-client").await?;
    browser.type_into("#new-client-secret", "hs-secret").await?;
    accessible(browser, "integrations (light)").await?;
    browser.click("#create-integration").await?;
    text(browser, "table[aria-label=Integrations]", |t| {
        t.contains("hubspot")
    })
    .await?;
    browser.screenshot("integrations").await;

    // Edited: the form shows the saved client id but never the secret; new scopes are saved and
    // the secret is kept.
    browser.click("button[aria-label='Edit hubspot']").await?;
    let shown = browser
        .wait_for("#edit-client-id")
        .await?
        .prop("value")
        .await?;
    anyhow::ensure!(
        shown.as_deref() == Some("hs-client"),
        "client id shown: {shown:?}"
    );
    let secret = browser
        .wait_for("#edit-client-secret")
        .await?
        .prop("value")
        .await?;
    anyhow::ensure!(secret.as_deref() == Some(""), "the secret reached the page");
    browser.wait_for("#edit-scopes").await?.clear().await?;
    browser
        .type_into("#edit-scopes", "crm.objects.contacts.read")
        .await?;
    accessible(browser, "integration edit (light)").await?;
    browser.click("#save-integration").await?;
    let saved = latchkey_tests::wait::until("the new scopes", WAIT, || async {
        let saved = stack.server.integration_credentials("hubspot").await?;
        Ok((saved["scopes"] == "crm.objects.contacts.read").then_some(saved))
    })
    .await?;
    anyhow::ensure!(
        saved["client_secret"] == "hs-secret",
        "secret lost: {saved}"
    );

    // A refused OAuth attempt: its failing step and the provider's error, found in the log.
    let mut start = stack.oauth_start_url(&stack.demo_session_token().await?)?;
    start
        .query_pairs_mut()
        .append_pair("authorization_params[login_hint]", "deny");
    HeadlessUser::new()?
        .authorize(start.as_str(), "alice")
        .await?;
    screen(browser, &base, "logs", "#f-type").await?;
    browser.click("#f-type option[value=oauth]").await?;
    browser.click("#f-outcome option[value=failure]").await?;
    let mut found = false;
    for _ in 0..30 {
        if browser
            .client()
            .find(fantoccini::Locator::Css(
                "table[aria-label='Log entries'] a",
            ))
            .await
            .is_ok()
        {
            found = true;
            break;
        }
        // Entries are written in the background: look again.
        browser.click("#f-outcome option[value=success]").await?;
        browser.click("#f-outcome option[value=failure]").await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    anyhow::ensure!(found, "no failed OAuth attempt in the log");
    accessible(browser, "activity log (light)").await?;
    browser.click("table[aria-label='Log entries'] a").await?;
    text(browser, ".timeline .level-error .message", |t| {
        t.contains("access_denied")
    })
    .await?;
    browser.screenshot("failed-attempt").await;
    accessible(browser, "log entry (light)").await?;

    // Live mode: entries arrive without a reload (new connect sessions, until the stream is up).
    screen(browser, &base, "logs", "#f-live").await?;
    browser.click("#f-live").await?;
    browser.wait_for("#live-title").await?;
    let live = "section[aria-labelledby=live-title] table[aria-label='Log entries']";
    latchkey_tests::wait::until("a live entry", WAIT, || async {
        stack.demo_session_token().await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let table = browser.client().find(fantoccini::Locator::Css(live)).await;
        Ok(match table {
            Ok(t) => t.text().await?.contains("connect_session").then_some(()),
            Err(_) => None,
        })
    })
    .await?;
    browser.screenshot("live").await;

    // A write from another origin (the demo app's page) is refused: the Strict cookie is not sent
    // and the origin is checked, so the secret key is not rotated.
    browser.goto(stack.demo.url()).await?;
    let attempt = browser
        .client()
        .execute_async(
            "const [url, done] = arguments;
             fetch(url, {method: 'POST', mode: 'no-cors', credentials: 'include',
                         headers: {'content-type': 'text/plain'}, body: '{\"secret\": true}'})
               .then(() => done('sent'), (e) => done('blocked: ' + e));",
            vec![serde_json::json!(format!(
                "{base}/dashboard/api/environment/keys/rotate"
            ))],
        )
        .await?;
    anyhow::ensure!(attempt.is_string(), "cross-origin attempt: {attempt}");
    stack
        .server
        .list_connections()
        .await
        .context("the secret key was rotated by a cross-origin request")?;

    // A connection that works: masked, revealed (and logged), refreshed, its metadata edited, deleted.
    let id = stack.connect_headless("alice").await?;
    let stored = stack.server.get_connection(&id, LOCAL_OIDC).await?;
    let access_token = serde_json::to_value(&stored)?["credentials"]["access_token"]
        .as_str()
        .context("an access token")?
        .to_string();
    screen(
        browser,
        &base,
        "connections",
        "table[aria-label=Connections]",
    )
    .await?;
    accessible(browser, "connections (light)").await?;
    screen(
        browser,
        &base,
        &format!("connections/{LOCAL_OIDC}/{id}"),
        "#credentials",
    )
    .await?;
    let masked = text(browser, "#credentials", |t| t.contains("••••")).await?;
    anyhow::ensure!(
        !masked.contains(&access_token),
        "credentials shown unmasked"
    );
    accessible(browser, "connection (light)").await?;
    browser.click("#reveal").await?;
    text(browser, "#credentials", |t| t.contains(&access_token)).await?;
    let refreshes = refresh_requests(stack).await?;
    browser.click("#refresh").await?;
    text(browser, ".notice", |t| t == "Credentials refreshed.").await?;
    anyhow::ensure!(
        refresh_requests(stack).await? > refreshes,
        "the force refresh did not reach the provider"
    );
    let metadata = browser.wait_for("#metadata").await?;
    metadata.clear().await?;
    browser.type_into("#metadata", r#"{"plan": "pro"}"#).await?;
    browser.click("#save-metadata").await?;
    text(browser, ".notice", |t| t == "Metadata saved.").await?;
    let stored = serde_json::to_value(stack.server.get_connection(&id, LOCAL_OIDC).await?)?;
    anyhow::ensure!(stored["metadata"]["plan"] == "pro", "metadata: {stored}");
    // The reveal is in the connection's own log.
    screen(
        browser,
        &base,
        &format!("connections/{LOCAL_OIDC}/{id}"),
        "#credentials",
    )
    .await?;
    browser.screenshot("connection").await;
    browser
        .client()
        .execute("window.confirm = () => true;", vec![])
        .await?;
    browser.click("#delete-connection").await?;
    text(browser, "main h1", |t| t == "Connections").await?;
    anyhow::ensure!(
        stack.server.list_connections().await?.is_empty(),
        "the connection is still there"
    );

    // The Connect UI theme: saved, and the preview shows it.
    screen(browser, &base, "environment", "#connect-preview").await?;
    accessible(browser, "environment (light)").await?;
    browser.enter_frame("#connect-preview").await?;
    browser
        .wait_for(&format!("button[data-integration=\"{LOCAL_OIDC}\"]"))
        .await?;
    let is_dark = "return document.documentElement.classList.contains('dark');";
    anyhow::ensure!(
        browser.client().execute(is_dark, vec![]).await? == serde_json::json!(false),
        "the preview starts light"
    );
    browser.leave_frames().await?;
    browser.click("#s-theme option[value=dark]").await?;
    browser.click("#save-settings").await?;
    text(browser, ".settings .notice", |t| t == "Settings saved.").await?;
    let mut dark = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        browser.leave_frames().await?;
        if browser.enter_frame("#connect-preview").await.is_err() {
            continue;
        }
        if browser.client().execute(is_dark, vec![]).await? == serde_json::json!(true) {
            dark = true;
            break;
        }
    }
    browser.leave_frames().await?;
    browser.screenshot("environment-dark-preview").await;
    anyhow::ensure!(dark, "the preview never turned dark");
    Ok(())
}

/// How many refresh-token grants the local provider has answered.
async fn refresh_requests(stack: &Stack) -> anyhow::Result<u64> {
    let stats = stack.oidc.token_stats().await?;
    Ok(stats
        .token_requests
        .get("refresh_token")
        .copied()
        .unwrap_or(0))
}

async fn dark_screens(stack: &Stack, browser: &Browser) -> anyhow::Result<()> {
    let base = stack.server.url().to_string();
    browser.goto(&format!("{base}/dashboard/")).await?;
    browser.wait_for("#email").await?;
    accessible(browser, "sign-in (dark)").await?;
    sign_in(browser, &base, "ops@example.com", PASSWORD).await?;
    text(browser, "main h1", |t| t == "Overview").await?;
    for (route, ready) in [
        ("overview", ".chart"),
        ("integrations", "#catalog-search"),
        ("connections", "#f-search"),
        ("logs", "table[aria-label='Log entries']"),
        ("environment", "#connect-preview"),
    ] {
        screen(browser, &base, route, ready).await?;
        browser.screenshot(route).await;
        accessible(browser, &format!("{route} (dark)")).await?;
    }
    Ok(())
}
