//! Issue 15, INSTALL_PLUGIN (Crisp) through the popup: the end user goes to the owner's plugin
//! install page and comes back with the attempt's state; the connection holds the owner's plugin
//! credentials, checked at the local provider (`common::credential_modes`) first.

use crate::common::credential_modes::{install, proxy, setup};
use reqwest::Method;
use serde_json::{json, Value};

/// One INSTALL_PLUGIN round for `end_user`: the popup's redirect to the plugin's install page (whose
/// `payload` is the attempt's state), then the plugin's return to the callback with `website_id`.
/// Returns the install page's URL and the callback page.
async fn install_crisp(
    h: &crate::common::Harness,
    end_user: &str,
    website_id: &str,
) -> (url::Url, String) {
    install(h, "crisp", end_user, "payload", |payload| {
        format!("/oauth/callback?state={payload}&website_id={website_id}")
    })
    .await
}

/// INSTALL_PLUGIN (Crisp): the end user is sent to the owner's plugin install page with the attempt's
/// state as `payload`; the plugin sends them back to the callback with it (and the `website_id`); the
/// connection uses the owner's plugin credentials, checked at the provider first.
#[tokio::test]
async fn install_plugin_sends_the_user_to_the_plugin_and_connects_with_the_owners_credentials() {
    let (p, h) = setup().await;
    let r = h
        .backend(
            Method::POST,
            "/integrations",
            Some(json!({"provider": "crisp-local", "unique_key": "crisp"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The install link is required with INSTALL_PLUGIN credentials.
    let patch = |credentials: Value| {
        h.backend(
            Method::PATCH,
            "/integrations/crisp",
            Some(json!({ "credentials": credentials })),
        )
    };
    let r = patch(
        json!({"type": "INSTALL_PLUGIN", "client_id": "plugin-id", "client_secret": "plugin-key"}),
    )
    .await;
    assert_eq!(r.body["error"]["code"], "invalid_body", "{}", r.body);
    let link = "https://marketplace.example.com/install/plugin-1";
    let r = patch(json!({"type": "INSTALL_PLUGIN", "client_id": "plugin-id",
                         "client_secret": "plugin-key", "app_link": link}))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let (location, page) = install_crisp(&h, "u1", "w-42").await;
    assert!(location.as_str().starts_with(link), "{location}");
    assert!(page.contains("nango_oauth_callback_success"), "{page}");
    let list = h.backend(Method::GET, "/connections", None).await;
    let id = list.body["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["provider_config_key"] == "crisp")
        .and_then(|c| c["connection_id"].as_str())
        .unwrap()
        .to_string();
    let c = h.connection("crisp", &id, "").await;
    assert_eq!(c.body["credentials"]["type"], "BASIC", "{}", c.body);
    assert_eq!(c.body["credentials"]["username"], "plugin-id");
    assert_eq!(c.body["connection_config"]["website_id"], "w-42");
    let res = proxy(&h, "crisp", &id, "/v1/plugin/connect/account")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // Wrong plugin credentials: the provider's check fails and nothing is stored.
    let r = patch(json!({"type": "INSTALL_PLUGIN", "client_id": "plugin-id",
                         "client_secret": "wrong", "app_link": link}))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, page) = install_crisp(&h, "u2", "w-43").await;
    assert!(page.contains("connection_test_failed"), "{page}");
    drop(p);
}
