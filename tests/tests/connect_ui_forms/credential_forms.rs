//! The credential forms of issue 15: JWT, TBA, OAuth2 client credentials, SIGNATURE, a TWO_STEP
//! client assertion and BILL, each checked by its local provider.

use super::*;

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
