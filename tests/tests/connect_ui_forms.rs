//! Connect UI forms built from the provider catalog, in headless Chromium against the real server:
//! an API key with pattern validation (single-integration jump, no list), a basic-auth form with an
//! email format and an enum select reached from the list, a keyboard-only API-key connection, and the
//! JWT, TBA, OAuth2 client-credentials, SIGNATURE, TWO_STEP client-assertion and BILL forms of issue
//! 15, its install flows in the popup (a GitHub App, a plugin), and OAuth 1.0a, generic MCP and AWS
//! SigV4 against their own peers.
//! Screenshots go to tests/artifacts/connect-ui/<test>/.

use latchkey_tests::browser::Browser;
use latchkey_tests::connect_ui::{
    self, UiStack, API_KEY, AWS, BASIC, BILL, CLIENT_ASSERTION, CLIENT_CREDENTIALS, GITHUB_APP,
    GITHUB_APP_OAUTH, JWT, MCP_GENERIC, OAUTH1, PLUGIN, SIGNATURE, TBA,
};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

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

#[tokio::test]
async fn api_key_form_validates_its_pattern_and_connects_without_a_popup() -> anyhow::Result<()> {
    with_browser("api-key", |stack, browser| async move {
        let token = stack
            .session(json!({"allowed_integrations": [API_KEY]}))
            .await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        browser.enter_frame("#connect-ui").await?;

        // One allowed integration: straight to its form, no list and no Back link.
        browser.wait_for("#field-credentials-apiKey").await?;
        browser
            .wait_for_text("#connect-ui-title", Duration::from_secs(5), |t| {
                t == "Link test-api-key Account"
            })
            .await?;
        assert!(browser
            .client()
            .find(fantoccini::Locator::Css("#back-button"))
            .await
            .is_err());
        let input = browser.wait_for("#field-credentials-apiKey").await?;
        assert_eq!(input.attr("type").await?.as_deref(), Some("password"));
        assert_eq!(
            input.attr("placeholder").await?.as_deref(),
            Some("tk_live_123")
        );
        assert!(
            is_disabled(&browser, "#connect-button").await?,
            "empty form must not submit"
        );
        // …and says why.
        browser
            .wait_for_text("#connect-hint", Duration::from_secs(5), |t| {
                t == "Complete the fields marked * to continue."
            })
            .await?;
        assert_eq!(
            browser
                .wait_for("#guide-link")
                .await?
                .attr("href")
                .await?
                .as_deref(),
            Some("https://example.com/docs/api-key")
        );

        input.send_keys("not-a-key").await?;
        let error = browser
            .wait_for_text(
                "#field-credentials-apiKey-error",
                Duration::from_secs(5),
                |t| !t.is_empty(),
            )
            .await?;
        // A format check in the browser, which must not sound like the provider refused the key.
        assert_eq!(error, "This API Key does not have the expected format");
        assert_eq!(input.attr("aria-invalid").await?.as_deref(), Some("true"));
        assert!(is_disabled(&browser, "#connect-button").await?);
        browser.screenshot("api-key-invalid").await;
        let violations = connect_ui::axe_violations(&browser).await?;
        assert!(
            violations.is_empty(),
            "axe on the invalid form: {violations:#?}"
        );

        input.clear().await?;
        input.send_keys("tk_live_abc123").await?;
        browser
            .wait_for_text(
                "#field-credentials-apiKey-error",
                Duration::from_secs(5),
                str::is_empty,
            )
            .await?;
        assert!(!is_disabled(&browser, "#connect-button").await?);
        browser.screenshot("api-key-valid").await;
        let windows = browser.windows().await?.len();
        browser.click("#connect-button").await?;
        browser.wait_for("#connect-success").await?;
        browser.screenshot("api-key-success").await;
        assert_eq!(
            browser.windows().await?.len(),
            windows,
            "no popup for an API key"
        );

        browser.leave_frames().await?;
        let events = connect_ui::events(&browser).await?;
        let connects: Vec<_> = events.iter().filter(|e| e["type"] == "connect").collect();
        assert_eq!(connects.len(), 1, "{events:?}");
        assert_eq!(connects[0]["payload"]["providerConfigKey"], API_KEY);
        let id = connects[0]["payload"]["connectionId"]
            .as_str()
            .unwrap_or_default();
        let connection = stack.server.get_connection(id, API_KEY).await?;
        let credentials = serde_json::to_value(&connection.credentials)?;
        assert_eq!(credentials["apiKey"], "tk_live_abc123", "{credentials}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn basic_form_checks_the_email_and_sends_the_selected_region() -> anyhow::Result<()> {
    with_browser("basic", |stack, browser| async move {
        let token = stack
            .session(json!({"allowed_integrations": [API_KEY, BASIC]}))
            .await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        browser.enter_frame("#connect-ui").await?;
        browser
            .click(&format!("button[data-integration=\"{BASIC}\"]"))
            .await?;
        browser.wait_for("#back-button").await?;

        // Ordered fields: email, password, region (a select starting on its first option).
        let ids = field_ids(&browser, "input, select").await?;
        assert_eq!(
            ids,
            [
                "field-credentials-username",
                "field-credentials-password",
                "field-params-region"
            ]
        );
        let region = browser.wait_for("#field-params-region").await?;
        assert_eq!(region.prop("value").await?.as_deref(), Some("us"));

        browser
            .type_into("#field-credentials-username", "ada")
            .await?;
        let error = browser
            .wait_for_text(
                "#field-credentials-username-error",
                Duration::from_secs(5),
                |t| !t.is_empty(),
            )
            .await?;
        assert_eq!(
            error,
            "This Email Address does not have the expected format"
        );
        browser
            .type_into("#field-credentials-username", "@example.com")
            .await?;
        browser
            .type_into("#field-credentials-password", "s3cret")
            .await?;
        region.select_by_value("eu").await?;
        browser.screenshot("basic-filled").await;
        browser.click("#connect-button").await?;
        browser.wait_for("#connect-success").await?;

        browser.leave_frames().await?;
        let id = connect_ui::connected_id(&browser).await?;
        let connection = stack.server.get_connection(&id, BASIC).await?;
        let credentials = serde_json::to_value(&connection.credentials)?;
        assert_eq!(credentials["username"], "ada@example.com", "{credentials}");
        assert_eq!(credentials["password"], "s3cret");
        let config = serde_json::to_value(&connection.connection_config)?;
        assert_eq!(config["region"], "eu", "{config}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn keyboard_only_user_connects_an_api_key() -> anyhow::Result<()> {
    with_browser("keyboard", |stack, browser| async move {
        let token = stack
            .session(json!({"allowed_integrations": [API_KEY]}))
            .await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        browser.enter_frame("#connect-ui").await?;
        browser.wait_for("#field-credentials-apiKey").await?;
        let client = browser.client();
        // Focus starts on the title; from there only Tab, typing and Enter.
        browser
            .wait_for_text("#connect-ui-title", Duration::from_secs(5), |_| true)
            .await?;
        let focused_id = || async {
            anyhow::Ok(
                client
                    .active_element()
                    .await?
                    .attr("id")
                    .await?
                    .unwrap_or_default(),
            )
        };
        crate_wait(|| async { Ok(focused_id().await? == "connect-ui-title") }).await?;
        client.active_element().await?.send_keys("\u{E004}").await?; // Tab
        assert_eq!(focused_id().await?, "field-credentials-apiKey");
        client
            .active_element()
            .await?
            .send_keys("tk_keyboard_1")
            .await?;
        client.active_element().await?.send_keys("\u{E004}").await?; // Tab
        assert_eq!(focused_id().await?, "connect-button");
        client.active_element().await?.send_keys("\u{E007}").await?; // Enter
        browser.wait_for("#connect-success").await?;
        crate_wait(|| async { Ok(focused_id().await? == "connect-ui-title") }).await?;
        client.active_element().await?.send_keys("\u{E004}").await?; // Tab
        assert_eq!(focused_id().await?, "finish-button");
        client.active_element().await?.send_keys("\u{E007}").await?; // Enter
        browser.leave_frames().await?;
        latchkey_tests::wait::until("the close event", Duration::from_secs(10), || async {
            let types = connect_ui::event_types(&browser).await?;
            Ok(types.iter().any(|t| t == "close").then_some(types))
        })
        .await
        .map(|types| {
            assert_eq!(
                types.iter().filter(|t| *t == "connect").count(),
                1,
                "{types:?}"
            )
        })
    })
    .await
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

/// Issue 15: a JWT provider's form comes from its `credentials` schema — the private key is a
/// multi-line `<textarea>`, the region a `<select>` — and the server signs the JWT on submit.
#[tokio::test]
async fn jwt_form_takes_a_multi_line_key_and_the_server_signs_the_token() -> anyhow::Result<()> {
    with_browser("jwt", |stack, browser| async move {
        let token = stack
            .session(json!({"allowed_integrations": [JWT]}))
            .await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        browser.enter_frame("#connect-ui").await?;
        let key = browser.wait_for("#field-credentials-privateKey").await?;
        assert_eq!(key.prop("tagName").await?.as_deref(), Some("TEXTAREA"));
        let region = browser.wait_for("#field-params-region").await?;
        assert_eq!(region.prop("tagName").await?.as_deref(), Some("SELECT"));
        browser
            .type_into("#field-credentials-keyId", "KEY1")
            .await?;
        browser
            .type_into("#field-credentials-privateKey", "line one\nline two")
            .await?;
        region.select_by_value("eu").await?;
        let violations = connect_ui::axe_violations(&browser).await?;
        assert!(
            violations.is_empty(),
            "axe on the JWT form: {violations:#?}"
        );
        browser.screenshot("jwt-filled").await;
        browser.click("#connect-button").await?;
        browser.wait_for("#connect-success").await?;

        browser.leave_frames().await?;
        let id = connect_ui::connected_id(&browser).await?;
        let connection = stack.server.get_connection(&id, JWT).await?;
        let credentials = serde_json::to_value(&connection.credentials)?;
        assert_eq!(credentials["type"], "JWT", "{credentials}");
        assert_eq!(credentials["keyId"], "KEY1");
        assert_eq!(credentials["privateKey"], "line one\nline two");
        assert_eq!(
            credentials["token"]
                .as_str()
                .unwrap_or_default()
                .split('.')
                .count(),
            3
        );
        let config = serde_json::to_value(&connection.connection_config)?;
        assert_eq!(config["region"], "eu", "{config}");
        Ok(())
    })
    .await
}

/// Issue 15: the TBA form (token id and secret, the account id from `connection_config`), axe-clean,
/// stores the NetSuite token credentials.
#[tokio::test]
async fn tba_form_sends_the_token_and_the_account_id() -> anyhow::Result<()> {
    with_browser("tba", |stack, browser| async move {
        let token = stack
            .session(json!({"allowed_integrations": [TBA]}))
            .await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        browser.enter_frame("#connect-ui").await?;
        browser
            .type_into("#field-credentials-token_id", "tid-1")
            .await?;
        browser
            .type_into("#field-credentials-token_secret", "tsecret-1")
            .await?;
        browser
            .type_into("#field-params-accountId", "1234567_SB1")
            .await?;
        let violations = connect_ui::axe_violations(&browser).await?;
        assert!(
            violations.is_empty(),
            "axe on the TBA form: {violations:#?}"
        );
        browser.click("#connect-button").await?;
        browser.wait_for("#connect-success").await?;
        browser.leave_frames().await?;
        let id = connect_ui::connected_id(&browser).await?;
        let connection = stack.server.get_connection(&id, TBA).await?;
        let credentials = serde_json::to_value(&connection.credentials)?;
        assert_eq!(credentials["type"], "TBA", "{credentials}");
        assert_eq!(credentials["token_id"], "tid-1");
        assert_eq!(credentials["token_secret"], "tsecret-1");
        let config = serde_json::to_value(&connection.connection_config)?;
        assert_eq!(config["accountId"], "1234567_SB1", "{config}");
        Ok(())
    })
    .await
}

/// Issue 15: OAUTH2_CC. The end user's client id and secret; a secret the local provider refuses is
/// the failure screen, and Try again (values kept) with the right one connects, the token coming
/// from the provider's `client_credentials` grant.
#[tokio::test]
async fn client_credentials_form_reports_a_refused_secret_then_connects() -> anyhow::Result<()> {
    with_browser("client-credentials", |stack, browser| async move {
        let token = stack
            .session(json!({"allowed_integrations": [CLIENT_CREDENTIALS]}))
            .await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        browser.enter_frame("#connect-ui").await?;
        let secret_field = browser.wait_for("#field-credentials-client_secret").await?;
        assert_eq!(
            secret_field.attr("type").await?.as_deref(),
            Some("password")
        );
        browser
            .type_into("#field-credentials-client_id", stack.oidc.client_id())
            .await?;
        browser
            .type_into("#field-credentials-client_secret", "not-the-secret")
            .await?;
        let violations = connect_ui::axe_violations(&browser).await?;
        assert!(
            violations.is_empty(),
            "axe on the client-credentials form: {violations:#?}"
        );
        browser.click("#connect-button").await?;
        browser.wait_for("#connect-error").await?;
        browser.screenshot("refused-secret").await;
        browser.click("#retry-button").await?;
        let kept = browser
            .wait_for("#field-credentials-client_id")
            .await?
            .prop("value")
            .await?;
        assert_eq!(
            kept.as_deref(),
            Some(stack.oidc.client_id()),
            "values survive Try again"
        );
        let secret_field = browser.wait_for("#field-credentials-client_secret").await?;
        secret_field.clear().await?;
        browser
            .type_into(
                "#field-credentials-client_secret",
                stack.oidc.client_secret(),
            )
            .await?;
        browser.click("#connect-button").await?;
        browser.wait_for("#connect-success").await?;
        browser.leave_frames().await?;

        let id = connect_ui::connected_id(&browser).await?;
        let connection = stack.server.get_connection(&id, CLIENT_CREDENTIALS).await?;
        let credentials = serde_json::to_value(&connection.credentials)?;
        assert_eq!(credentials["type"], "OAUTH2_CC", "{credentials}");
        assert_eq!(credentials["client_id"], stack.oidc.client_id());
        assert!(
            !credentials["token"].as_str().unwrap_or_default().is_empty(),
            "{credentials}"
        );
        let stats = stack.oidc.token_stats().await?;
        assert_eq!(stats.requests("client_credentials"), 2, "{stats:?}");
        Ok(())
    })
    .await
}

/// Issue 15: SIGNATURE (WSSE). Username and secret from the form; the connection holds them and the
/// server's WSSE digest.
#[tokio::test]
async fn signature_form_stores_the_user_and_a_wsse_digest() -> anyhow::Result<()> {
    with_browser("signature", |stack, browser| async move {
        let token = stack
            .session(json!({"allowed_integrations": [SIGNATURE]}))
            .await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        browser.enter_frame("#connect-ui").await?;
        browser
            .type_into("#field-credentials-username", "emarsys_user")
            .await?;
        browser
            .type_into("#field-credentials-password", "emarsys-secret")
            .await?;
        let violations = connect_ui::axe_violations(&browser).await?;
        assert!(
            violations.is_empty(),
            "axe on the SIGNATURE form: {violations:#?}"
        );
        browser.click("#connect-button").await?;
        browser.wait_for("#connect-success").await?;
        browser.leave_frames().await?;

        let id = connect_ui::connected_id(&browser).await?;
        let connection = stack.server.get_connection(&id, SIGNATURE).await?;
        let credentials = serde_json::to_value(&connection.credentials)?;
        assert_eq!(credentials["type"], "SIGNATURE", "{credentials}");
        assert_eq!(credentials["username"], "emarsys_user");
        let digest = credentials["token"].as_str().unwrap_or_default();
        assert!(
            digest.starts_with("UsernameToken Username=\"emarsys_user\""),
            "{credentials}"
        );
        Ok(())
    })
    .await
}

/// Issue 15: TWO_STEP with a client assertion (Apple Business Manager-like). The form shows the
/// client id and key id and, from `assertion_option`, the private key as a multi-line field (the
/// automated `assertion` is not shown); a key the provider does not know is refused with Try again;
/// the right one connects: the server signs the assertion, `oidc-provider` verifies it
/// (`private_key_jwt`) and issues the token; the key is not stored.
#[tokio::test]
async fn client_assertion_form_signs_with_a_key_it_does_not_keep() -> anyhow::Result<()> {
    with_browser("client-assertion", |stack, browser| async move {
        let client = stack.oidc.assertion_client().await?;
        let token = stack
            .session(json!({"allowed_integrations": [CLIENT_ASSERTION]}))
            .await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        browser.enter_frame("#connect-ui").await?;
        let key = browser
            .wait_for("#field-assertionOption-privateKey")
            .await?;
        assert_eq!(key.prop("tagName").await?.as_deref(), Some("TEXTAREA"));
        let ids = field_ids(&browser, "input, textarea").await?;
        assert_eq!(
            ids,
            [
                "field-credentials-clientId",
                "field-credentials-keyId",
                "field-assertionOption-privateKey"
            ],
            "the automated assertion is not a field"
        );
        browser
            .type_into("#field-credentials-clientId", &client.client_id)
            .await?;
        browser
            .type_into("#field-credentials-keyId", &client.kid)
            .await?;
        // A key of the right kind that the provider does not know.
        browser
            .type_into(
                "#field-assertionOption-privateKey",
                &unknown_ec_key().await?,
            )
            .await?;
        let violations = connect_ui::axe_violations(&browser).await?;
        assert!(
            violations.is_empty(),
            "axe on the client-assertion form: {violations:#?}"
        );
        browser.click("#connect-button").await?;
        browser.wait_for("#connect-error").await?;
        browser.screenshot("unknown-key").await;
        browser.click("#retry-button").await?;
        let key = browser
            .wait_for("#field-assertionOption-privateKey")
            .await?;
        key.clear().await?;
        browser
            .type_into("#field-assertionOption-privateKey", &client.private_key)
            .await?;
        browser.click("#connect-button").await?;
        browser.wait_for("#connect-success").await?;
        browser.leave_frames().await?;

        let id = connect_ui::connected_id(&browser).await?;
        let connection = stack.server.get_connection(&id, CLIENT_ASSERTION).await?;
        let credentials = serde_json::to_value(&connection.credentials)?;
        assert_eq!(credentials["type"], "TWO_STEP", "{credentials}");
        assert_eq!(credentials["clientId"], client.client_id.as_str());
        assert!(
            !credentials["token"].as_str().unwrap_or_default().is_empty(),
            "{credentials}"
        );
        assert!(
            !credentials.to_string().contains("PRIVATE KEY"),
            "the key is not stored: {credentials}"
        );
        Ok(())
    })
    .await
}

/// A P-256 private key (PKCS#8 PEM) no provider knows, made by node's crypto.
async fn unknown_ec_key() -> anyhow::Result<String> {
    let out = tokio::process::Command::new("node")
        .args([
            "-e",
            "process.stdout.write(require('crypto').generateKeyPairSync('ec',{namedCurve:'P-256'})\
             .privateKey.export({type:'pkcs8',format:'pem'}))",
        ])
        .output()
        .await?;
    anyhow::ensure!(out.status.success(), "node could not make a key");
    Ok(String::from_utf8(out.stdout)?)
}

/// Issue 15: BILL. The four login fields; a password Bill refuses is the failure screen; Try again
/// (values kept) with the right one connects with a Bill session.
#[tokio::test]
async fn bill_form_logs_in_with_the_organization_and_developer_key() -> anyhow::Result<()> {
    with_browser("bill", |stack, browser| async move {
        let token = stack
            .session(json!({"allowed_integrations": [BILL]}))
            .await?;
        browser.goto(&stack.page_url(&token, None, None)).await?;
        browser.enter_frame("#connect-ui").await?;
        for (field, value) in [
            ("username", "ap@example.com"),
            ("password", "not-the-password"),
            ("organization_id", "org-1"),
            ("dev_key", "dev-1"),
        ] {
            browser
                .type_into(&format!("#field-credentials-{field}"), value)
                .await?;
        }
        let violations = connect_ui::axe_violations(&browser).await?;
        assert!(
            violations.is_empty(),
            "axe on the Bill form: {violations:#?}"
        );
        browser.click("#connect-button").await?;
        browser.wait_for("#connect-error").await?;
        browser.click("#retry-button").await?;
        let password = browser.wait_for("#field-credentials-password").await?;
        password.clear().await?;
        browser
            .type_into("#field-credentials-password", "bill-pass")
            .await?;
        browser.click("#connect-button").await?;
        browser.wait_for("#connect-success").await?;
        browser.leave_frames().await?;

        let id = connect_ui::connected_id(&browser).await?;
        let connection = stack.server.get_connection(&id, BILL).await?;
        let credentials = serde_json::to_value(&connection.credentials)?;
        assert_eq!(credentials["type"], "BILL", "{credentials}");
        assert_eq!(credentials["organization_id"], "org-1", "{credentials}");
        assert!(credentials["session_id"].is_string(), "{credentials}");
        Ok(())
    })
    .await
}

/// Issue 15: APP, CUSTOM and INSTALL_PLUGIN, each through the popup: the Connect UI's Connect opens
/// the install page (here GitHub's and a marketplace's stand-ins, which send the user straight back
/// as after "Install"), and the connection appears: an installation token fetched with the app's
/// JWT (with the user's own token too, for CUSTOM), and the owner's plugin credentials with the
/// page's `website_id`.
#[tokio::test]
async fn install_flows_in_the_popup_connect_a_github_app_and_a_plugin() -> anyhow::Result<()> {
    with_browser("installs", |stack, browser| async move {
        for key in [GITHUB_APP, GITHUB_APP_OAUTH, PLUGIN] {
            open_alone(&stack, &browser, key).await?;
            let violations = connect_ui::axe_violations(&browser).await?;
            assert!(violations.is_empty(), "axe on {key}: {violations:#?}");
            browser.click("#connect-button").await?;
            let (credentials, config) = connected(&stack, &browser, key).await?;
            if key == GITHUB_APP {
                assert_eq!(credentials["type"], "APP", "{credentials}");
                assert!(
                    credentials["access_token"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("ghs_"),
                    "{credentials}"
                );
                assert_eq!(config["installation_id"], "4242", "{config}");
            } else if key == GITHUB_APP_OAUTH {
                // The installation token, and the user's own token GitHub issued for the code.
                assert_eq!(credentials["type"], "APP", "{credentials}");
                assert_eq!(config["installation_id"], "4242", "{config}");
                assert_eq!(config["handle"], "octo-user", "{config}");
                assert!(
                    config["userCredentials"]["access_token"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("ghu_"),
                    "{config}"
                );
            } else {
                assert_eq!(credentials["type"], "BASIC", "{credentials}");
                assert_eq!(credentials["username"], "plugin-id");
                assert_eq!(config["website_id"], "w-e2e", "{config}");
            }
        }
        Ok(())
    })
    .await
}

/// Issue 15: the protocols with peers of their own, through the Connect UI, each screen axe-clean.
/// OAuth 1.0a: the popup runs request token → authorization → access token (every signature checked
/// by the npm `oauth-1.0a` provider). Generic MCP: the user types the MCP server's URL, the server
/// discovers its authorization server (RFC 9728/8414), registers a client (RFC 7591) and the popup
/// signs in; the token it stores is one the MCP server accepts. AWS SigV4: the user's role ARN (its
/// format checked in the form), STS AssumeRole signed with the integration owner's key on the local
/// AWS, temporary credentials stored.
#[tokio::test]
async fn oauth1_mcp_and_aws_sigv4_connect_through_the_connect_ui() -> anyhow::Result<()> {
    let stack = UiStack::start_with_protocol_peers();
    connect_ui::with_stack(
        "protocols",
        TIME_LIMIT,
        stack,
        |stack, browser| async move {
            let peers = stack.protocols.as_ref().expect("protocol peers");
            let axe = |screen: &'static str| {
                let browser = browser.clone();
                async move {
                    let violations = connect_ui::axe_violations(&browser).await?;
                    anyhow::ensure!(violations.is_empty(), "axe on {screen}: {violations:#?}");
                    anyhow::Ok(())
                }
            };

            open_alone(&stack, &browser, OAUTH1).await?;
            axe("the OAuth 1.0a screen").await?;
            browser.click("#connect-button").await?;
            let (credentials, _) = connected(&stack, &browser, OAUTH1).await?;
            assert_eq!(credentials["type"], "OAUTH1", "{credentials}");
            assert!(
                !credentials["oauth_token"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty(),
                "{credentials}"
            );

            open_alone(&stack, &browser, MCP_GENERIC).await?;
            browser
                .type_into("#field-params-mcp_server_url", "not a url")
                .await?;
            browser
                .wait_for_text(
                    "#field-params-mcp_server_url-error",
                    Duration::from_secs(5),
                    |t| t.contains("expected format"),
                )
                .await?;
            let input = browser.wait_for("#field-params-mcp_server_url").await?;
            input.clear().await?;
            input.send_keys(peers.mcp_url()).await?;
            axe("the MCP form").await?;
            browser.click("#connect-button").await?;
            let (credentials, config) = connected(&stack, &browser, MCP_GENERIC).await?;
            assert_eq!(config["mcp_server_url"], peers.mcp_url(), "{config}");
            let token = credentials["access_token"].as_str().unwrap_or_default();
            let answer = reqwest::Client::new()
                .get(peers.mcp_url())
                .bearer_auth(token)
                .send()
                .await?;
            assert_eq!(
                answer.status(),
                200,
                "the MCP server takes the stored token"
            );

            open_alone(&stack, &browser, AWS).await?;
            browser
                .type_into(
                    "#field-credentials-role_arn",
                    "arn:aws:iam::123456789012:role/Latchkey",
                )
                .await?;
            browser
                .type_into("#field-params-region", "eu-central-1")
                .await?;
            axe("the AWS form").await?;
            browser.click("#connect-button").await?;
            let (credentials, config) = connected(&stack, &browser, AWS).await?;
            assert_eq!(credentials["type"], "AWS_SIGV4", "{credentials}");
            assert_eq!(config["region"], "eu-central-1", "{config}");
            let issued: serde_json::Value = reqwest::get(format!("{}/stats", peers.aws_base()))
                .await?
                .json()
                .await?;
            assert_eq!(
                issued["issued"], 1,
                "one AssumeRole on the local AWS: {issued}"
            );
            Ok(())
        },
    )
    .await
}
