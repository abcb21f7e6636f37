//! Connect UI screens in headless Chromium against the real server: list → OAuth with the local
//! provider → success, then a reconnect session jumping straight to that integration; a subdomain
//! field (and a session preset) feeding the provider's authorization host; expired session and
//! "opened directly" screens; every language's title; the dark theme; and axe-core (WCAG 2.2 AA) on
//! each screen in light and dark. Screenshots go to tests/artifacts/connect-ui/<test>/.

use latchkey_tests::browser::Browser;
use latchkey_tests::connect_ui::{self, UiStack, API_KEY, BASIC, LOCAL_OIDC, TENANT};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Every test here gets 170 s.
const TIME_LIMIT: Duration = Duration::from_secs(170);

async fn with_browser<F, Fut>(name: &str, body: F) -> anyhow::Result<()>
where
    F: FnOnce(Arc<UiStack>, Arc<Browser>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    connect_ui::with_browser(name, TIME_LIMIT, body).await
}

async fn title_is(browser: &Browser, expected: &str) -> anyhow::Result<()> {
    browser
        .wait_for_text("#connect-ui-title", Duration::from_secs(15), |t| {
            t == expected
        })
        .await
        .map(drop)
}

/// axe-core finds nothing on the current frame.
async fn accessible(browser: &Browser, screen: &str) -> anyhow::Result<()> {
    let violations = connect_ui::axe_violations(browser).await?;
    anyhow::ensure!(violations.is_empty(), "axe on {screen}: {violations:#?}");
    Ok(())
}

#[tokio::test]
async fn oauth_from_the_list_then_reconnect_jumps_to_the_integration() -> anyhow::Result<()> {
    with_browser("oauth", |stack, browser| async move {
        let token = stack.session(json!({})).await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        let main = browser.window().await?;
        browser.enter_frame("#connect-ui").await?;
        browser
            .wait_for(&format!("button[data-integration=\"{BASIC}\"]"))
            .await?;
        browser.screenshot("list").await;
        accessible(&browser, "the list (light)").await?;
        browser
            .click(&format!("button[data-integration=\"{LOCAL_OIDC}\"]"))
            .await?;
        browser.wait_for("#connect-button").await?;
        browser.screenshot("oauth-screen").await;
        accessible(&browser, "the OAuth screen").await?;
        let known = browser.windows().await?;
        browser.click("#connect-button").await?;
        browser
            .switch_to_new_window(&known, Duration::from_secs(10))
            .await?;
        browser.complete_local_provider_login("alice").await?;
        browser.switch_to(&main).await?;
        browser.enter_frame("#connect-ui").await?;
        browser
            .wait_for_within("#connect-success", Duration::from_secs(30))
            .await?;
        browser.screenshot("success").await;
        accessible(&browser, "the success screen").await?;
        browser.leave_frames().await?;
        let id = connect_ui::connected_id(&browser).await?;

        // Reconnect: one integration, no list, no Back link; the same connection comes back.
        let token = stack.reconnect_session(&id, LOCAL_OIDC).await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        let main = browser.window().await?;
        browser.enter_frame("#connect-ui").await?;
        title_is(&browser, "Link Local OIDC (test provider) Account")
            .await
            .or(title_is(&browser, &format!("Link {LOCAL_OIDC} Account")).await)?;
        anyhow::ensure!(
            browser
                .client()
                .find(fantoccini::Locator::Css("#back-button"))
                .await
                .is_err(),
            "a reconnect shows no Back link"
        );
        browser.screenshot("reconnect").await;
        let known = browser.windows().await?;
        browser.click("#connect-button").await?;
        browser
            .switch_to_new_window(&known, Duration::from_secs(10))
            .await?;
        // Signed in already: oidc-provider asks only for consent.
        browser
            .wait_for("input[name=\"prompt\"][value=\"consent\"]")
            .await?;
        browser.click_and_leave("button[type=\"submit\"]").await?;
        browser.switch_to(&main).await?;
        browser.enter_frame("#connect-ui").await?;
        browser
            .wait_for_within("#connect-success", Duration::from_secs(30))
            .await?;
        browser.leave_frames().await?;
        let events = connect_ui::events(&browser).await?;
        let again = events
            .iter()
            .find(|e| e["type"] == "connect")
            .and_then(|e| e["payload"]["connectionId"].as_str());
        assert_eq!(again, Some(id.as_str()), "{events:?}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn subdomain_field_and_session_preset_feed_the_authorization_host() -> anyhow::Result<()> {
    with_browser("subdomain", |stack, browser| async move {
        let oidc_port = reqwest::Url::parse(stack.oidc.issuer())?.port().unwrap_or(80);
        let token = stack.session(json!({"allowed_integrations": [TENANT]})).await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        let main = browser.window().await?;
        browser.enter_frame("#connect-ui").await?;
        let input = browser.wait_for("#field-params-subdomain").await?;
        let adornments = browser
            .client()
            .execute(
                "return [...document.querySelectorAll('.adornment')].map(e => e.textContent);",
                vec![],
            )
            .await?;
        assert_eq!(adornments, json!(["http://", ".localhost"]));
        input.send_keys("Not Valid").await?;
        browser
            .wait_for_text("#field-params-subdomain-error", Duration::from_secs(5), |t| {
                t == "This Tenant Subdomain does not have the expected format"
            })
            .await?;
        browser.screenshot("subdomain-invalid").await;
        input.clear().await?;
        input.send_keys("acme-test").await?;
        browser.screenshot("subdomain-valid").await;
        accessible(&browser, "the subdomain form").await?;
        let known = browser.windows().await?;
        browser.click("#connect-button").await?;
        browser.switch_to_new_window(&known, Duration::from_secs(10)).await?;
        let prefix = format!("http://acme-test.localhost:{oidc_port}/auth");
        let url = latchkey_tests::wait::until("the provider URL", Duration::from_secs(15), || async {
            let url = browser.client().current_url().await?.to_string();
            Ok(url.starts_with(&prefix).then_some(url))
        })
        .await?;
        assert!(url.contains("client_id=tenant-client"), "{url}");
        browser.client().close_window().await?;
        browser.switch_to(&main).await?;

        // Preset by the session: no field to fill, the value still reaches the provider.
        let token = stack
            .session(json!({"allowed_integrations": [TENANT],
                "integrations_config_defaults": {TENANT: {"connection_config": {"subdomain": "preset-co"}}}}))
            .await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        let main = browser.window().await?;
        browser.enter_frame("#connect-ui").await?;
        browser.wait_for("#connect-button").await?;
        anyhow::ensure!(
            browser.client().find(fantoccini::Locator::Css("#field-params-subdomain")).await.is_err(),
            "a preset field is hidden"
        );
        browser.screenshot("subdomain-preset").await;
        let known = browser.windows().await?;
        browser.click("#connect-button").await?;
        browser.switch_to_new_window(&known, Duration::from_secs(10)).await?;
        let prefix = format!("http://preset-co.localhost:{oidc_port}/auth");
        latchkey_tests::wait::until("the preset provider URL", Duration::from_secs(15), || async {
            let url = browser.client().current_url().await?.to_string();
            Ok(url.starts_with(&prefix).then_some(url))
        })
        .await?;
        browser.client().close_window().await?;
        browser.switch_to(&main).await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn dead_ends_languages_and_dark_theme() -> anyhow::Result<()> {
    with_browser("screens", |stack, browser| async move {
        // Expired or unknown session, as a connect link.
        browser
            .goto(&stack.connect_link("nango_connect_session_0000000000000000000000000000000000000000"))
            .await?;
        browser.wait_for("#connect-notice[data-notice=\"session-expired\"]").await?;
        browser.screenshot("session-expired").await;
        accessible(&browser, "the expired-session screen").await?;
        // Opened directly, without a token.
        browser.goto(&format!("{}/connect/", stack.server.url())).await?;
        browser.wait_for("#connect-notice[data-notice=\"opened-directly\"]").await?;
        browser.screenshot("opened-directly").await;

        // Connect link with a real token: the list, no close button, a tab to close at the end.
        let token = stack.session(json!({"allowed_integrations": [API_KEY]})).await?;
        browser.goto(&stack.connect_link(&token)).await?;
        browser.type_into("#field-credentials-apiKey", "tk_link_1").await?;
        browser.click("#connect-button").await?;
        browser.wait_for("#connect-success").await?;
        browser.screenshot("connect-link-success").await;
        anyhow::ensure!(
            browser.client().find(fantoccini::Locator::Css("#close-button")).await.is_err(),
            "a connect link has no close button"
        );

        // Each language renders its list title (and sets <html lang>).
        let token = stack.session(json!({})).await?;
        for (lang, title) in [
            ("en", "Select Integration"),
            ("fr", "Sélectionnez une intégration"),
            ("de", "Integration auswählen"),
            ("es", "Seleccione una integración"),
            ("ja", "連携を選択"),
        ] {
            browser.goto(&stack.page_url(&token, Some(lang), None)).await?;
            browser.enter_frame("#connect-ui").await?;
            title_is(&browser, title).await?;
            let html_lang = browser
                .client()
                .execute("return document.documentElement.lang;", vec![])
                .await?;
            assert_eq!(html_lang, json!(lang));
            // index.html's spinner (painted while the wasm loads) gave way to the dialog.
            let spinners = browser
                .client()
                .execute("return document.querySelectorAll('.spinner').length;", vec![])
                .await?;
            assert_eq!(spinners, json!(0), "{lang}: a spinner is left beside the list");
            browser.screenshot(&format!("list-{lang}")).await;
            browser.leave_frames().await?;
        }

        // Dark theme: class on <html>, dark surface, and still accessible.
        browser.goto(&stack.page_url(&token, None, Some("dark"))).await?;
        browser.enter_frame("#connect-ui").await?;
        browser.wait_for(&format!("button[data-integration=\"{API_KEY}\"]")).await?;
        let (class, background) = {
            let v = browser
                .client()
                .execute(
                    "return [document.documentElement.className, getComputedStyle(document.getElementById('connect-ui-dialog')).backgroundColor];",
                    vec![],
                )
                .await?;
            (v[0].clone(), v[1].clone())
        };
        assert_eq!(class, json!("dark"));
        assert_eq!(background, json!("rgb(23, 25, 29)"));
        browser.screenshot("list-dark").await;
        accessible(&browser, "the list (dark)").await?;
        browser.click(&format!("button[data-integration=\"{API_KEY}\"]")).await?;
        let input = browser.wait_for("#field-credentials-apiKey").await?;
        input.send_keys("bad").await?;
        browser
            .wait_for_text("#field-credentials-apiKey-error", Duration::from_secs(5), |t| !t.is_empty())
            .await?;
        browser.screenshot("api-key-invalid-dark").await;
        accessible(&browser, "the invalid form (dark)").await?;
        // A key the server refuses (over 1024 characters): the failure screen, one error event.
        input.clear().await?;
        let long = format!("tk_{}", "a".repeat(1100));
        browser
            .client()
            .execute(
                "const i = document.getElementById('field-credentials-apiKey'); i.value = arguments[0]; i.dispatchEvent(new Event('input'));",
                vec![json!(long)],
            )
            .await?;
        browser.click("#connect-button").await?;
        browser.wait_for("#connect-error").await?;
        browser.screenshot("failure-dark").await;
        accessible(&browser, "the failure screen (dark)").await?;
        browser.click("#retry-button").await?;
        let kept = browser.wait_for("#field-credentials-apiKey").await?.prop("value").await?;
        assert_eq!(kept.as_deref().map(str::len), Some(long.len()), "values survive Try again");
        browser.leave_frames().await?;
        let types = connect_ui::event_types(&browser).await?;
        assert_eq!(types.iter().filter(|t| *t == "error").count(), 1, "{types:?}");
        Ok(())
    })
    .await
}

/// The accessibility checks above are not vacuous: the same axe-core run flags an unlabelled input
/// and low-contrast text on a page made to have them.
#[tokio::test]
async fn axe_check_reports_violations_when_there_are_some() -> anyhow::Result<()> {
    let site = latchkey_tests::site::CustomerSite::serve_page(
        r#"<!doctype html><html lang="en"><title>Bad</title><main>
<p style="color:#ccc;background:#fff">Low contrast</p><input type="text"></main></html>"#
            .to_owned(),
    )
    .await?;
    let browser = Browser::start("connect-ui/axe-probe").await?;
    let outcome = async {
        browser.goto(site.url()).await?;
        let violations = connect_ui::axe_violations(&browser).await?;
        let ids: Vec<&str> = violations.iter().filter_map(|v| v["id"].as_str()).collect();
        anyhow::ensure!(
            ids.contains(&"label") && ids.contains(&"color-contrast"),
            "{violations:#?}"
        );
        Ok(())
    }
    .await;
    browser.close().await;
    outcome
}

#[tokio::test]
async fn closing_the_provider_popup_offers_a_retry_and_posts_an_error() -> anyhow::Result<()> {
    with_browser("popup-closed", |stack, browser| async move {
        let token = stack
            .session(json!({"allowed_integrations": [LOCAL_OIDC]}))
            .await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        let main = browser.window().await?;
        browser.enter_frame("#connect-ui").await?;
        let known = browser.windows().await?;
        browser.click("#connect-button").await?;
        browser
            .switch_to_new_window(&known, Duration::from_secs(10))
            .await?;
        // The provider's login page is up; the user closes the popup instead of signing in.
        browser.wait_for("input[name=\"login\"]").await?;
        browser.client().close_window().await?;
        let closed_at = std::time::Instant::now();
        browser.switch_to(&main).await?;
        browser.enter_frame("#connect-ui").await?;
        browser
            .wait_for_within(
                "#connect-alert [role=\"alert\"][data-error-type=\"window_closed\"]",
                Duration::from_secs(5),
            )
            .await?;
        let waited = closed_at.elapsed();
        browser.screenshot("popup-closed").await;
        // The Connect button is the retry: enabled again, no longer busy.
        let button = browser.wait_for("#connect-button").await?;
        assert_eq!(button.prop("disabled").await?.as_deref(), Some("false"));
        assert_ne!(button.attr("aria-busy").await?.as_deref(), Some("true"));
        browser.leave_frames().await?;
        let events = connect_ui::events(&browser).await?;
        let errors: Vec<_> = events.iter().filter(|e| e["type"] == "error").collect();
        assert_eq!(errors.len(), 1, "one error event: {events:?}");
        assert_eq!(errors[0]["payload"]["errorType"], "window_closed");
        assert!(waited < Duration::from_secs(5), "noticed after {waited:?}");
        Ok(())
    })
    .await
}
