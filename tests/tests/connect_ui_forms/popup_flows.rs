//! Flows through the popup: install flows (a GitHub App, a plugin), OAuth 1.0a, generic MCP and
//! AWS SigV4 against their own peers.

use super::*;

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
