//! `PATCH /integrations/:key` on the real server (issue 3): the display name, unknown fields and
//! another mode's credentials refused, renames (the client secret sealed again for the new key), a
//! taken or missing key, and Nango's rule that an integration with connections keeps its key.

use crate::common::harness;
use reqwest::Method;
use serde_json::{json, Value};

/// A server with one GitHub integration `gh` holding an OAuth client.
async fn with_github_integration() -> crate::common::Harness {
    let h = harness(None).await;
    h.create_integration(
        "gh",
        "github",
        Some(json!({"type": "OAUTH2", "client_id": "id", "client_secret": "s3cret", "scopes": "repo"})),
    )
    .await;
    h
}

async fn patch_integration(
    h: &crate::common::Harness,
    key: &str,
    body: Value,
) -> crate::common::Reply {
    h.backend(Method::PATCH, &format!("/integrations/{key}"), Some(body))
        .await
}

#[tokio::test]
async fn patch_integration_changes_its_display_name() {
    let h = with_github_integration().await;
    let r = patch_integration(&h, "gh", json!({"display_name": "Hub"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["display_name"], "Hub");
    assert_eq!(r.body["data"]["unique_key"], "gh");
}

#[tokio::test]
async fn patch_integration_refuses_unknown_fields_and_another_modes_credentials() {
    let h = with_github_integration().await;
    let r = patch_integration(&h, "gh", json!({"colour": "red"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_body");
    assert_eq!(r.body["error"]["errors"][0]["path"], json!(["colour"]));
    let api_key =
        json!({"credentials": {"type": "API_KEY", "client_id": "a", "client_secret": "b"}});
    let r = patch_integration(&h, "gh", api_key).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_body");
}

#[tokio::test]
async fn renaming_an_integration_moves_it_and_keeps_its_client_secret_readable() {
    let h = with_github_integration().await;
    patch_integration(&h, "gh", json!({"display_name": "Hub"})).await;
    // Renaming re-seals the client secret for the new key: a second rename must open it again.
    for (from, to) in [("gh", "gh2"), ("gh2", "gh3")] {
        let r = patch_integration(&h, from, json!({"unique_key": to})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["unique_key"], to);
        assert_eq!(r.body["data"]["display_name"], "Hub");
        let old = h
            .backend(Method::GET, &format!("/integrations/{from}"), None)
            .await;
        assert_eq!(old.status, 404);
    }
    let credentials =
        json!({"credentials": {"type": "OAUTH2", "client_id": "id2", "client_secret": "new"}});
    let r = patch_integration(&h, "gh3", credentials).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn patch_integration_refuses_a_taken_key_and_answers_404_for_a_missing_one() {
    let h = with_github_integration().await;
    h.create_integration("other", "github", None).await;
    let r = patch_integration(&h, "gh", json!({"unique_key": "other"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_body");
    let r = patch_integration(&h, "nope", json!({"display_name": "x"})).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["code"], "not_found");
}

#[tokio::test]
async fn an_integration_with_connections_keeps_its_key_but_the_rest_can_change() {
    let h = with_github_integration().await;
    let r = h
        .backend(
            Method::POST,
            "/connections",
            Some(json!({"provider_config_key": "gh", "connection_id": "c1",
                        "credentials": {"type": "OAUTH2", "access_token": "t"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Nango's rule: the key can no longer change, the rest still can.
    let r = patch_integration(&h, "gh", json!({"unique_key": "gh4"})).await;
    assert_eq!(r.status, 400);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("active connections"));
    let r = patch_integration(&h, "gh", json!({"display_name": "Still"})).await;
    assert_eq!(r.status, 200);
}
