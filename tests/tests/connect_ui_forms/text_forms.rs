//! API-key and basic-auth forms: pattern, email format and enum validation, the single-integration
//! jump, a keyboard-only connection.

use super::*;

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
