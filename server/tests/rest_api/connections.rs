//! `POST /connections` (import) and `GET /connections` on the real server (issue 3): imports of each
//! credential type read back like any other connection, refused or overriding imports; Nango's list
//! filters, paging and the deprecated list path.

use crate::common::{harness, NONE_CATALOG};
use reqwest::Method;
use serde_json::{json, Value};

/// A server with an OAuth2 (`gh`), an API-key (`openai`) and an unauthenticated (`pub`) integration.
async fn importing() -> crate::common::Harness {
    let h = harness(Some(NONE_CATALOG)).await;
    h.create_integration("gh", "github", None).await;
    h.create_integration("openai", "openai", None).await;
    h.create_integration("pub", "local-none", None).await;
    h
}

async fn import(h: &crate::common::Harness, body: Value) -> crate::common::Reply {
    h.backend(Method::POST, "/connections", Some(body)).await
}

/// Imports `gh`/`imported-1` with an OAuth2 access token and refresh token, metadata, config, an end
/// user and tags.
async fn import_oauth2(h: &crate::common::Harness) -> crate::common::Reply {
    import(
        h,
        json!({
            "provider_config_key": "gh",
            "connection_id": "imported-1",
            "metadata": {"plan": "pro"},
            "connection_config": {"org": "acme"},
            "credentials": {"type": "OAUTH2", "access_token": "gho_abc", "refresh_token": "ghr_def",
                            "expires_at": "2099-01-01T00:00:00Z"},
            "end_user": {"id": "eu-1", "email": "a@b.co", "organization": {"id": "org-1"}},
            "tags": {"Team": "blue"}
        }),
    )
    .await
}

#[tokio::test]
async fn an_import_answers_the_full_connection_and_reads_back_like_any_other() {
    let h = importing().await;
    let r = import_oauth2(&h).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["connection_id"], "imported-1");
    assert_eq!(r.body["credentials"]["access_token"], "gho_abc");
    assert_eq!(r.body["metadata"], json!({"plan": "pro"}));
    assert_eq!(r.body["end_user"]["id"], "eu-1");
    assert_eq!(r.body["tags"]["team"], "blue");
    assert_eq!(r.body["tags"]["organization_id"], "org-1");

    let r = h.connection("gh", "imported-1", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["credentials"]["access_token"], "gho_abc");
    assert_eq!(r.body["connection_config"]["org"], "acme");
    assert!(r.body["credentials"].get("refresh_token").is_none());
    let r = h
        .connection("gh", "imported-1", "&refresh_token=true")
        .await;
    assert_eq!(r.body["credentials"]["refresh_token"], "ghr_def");
}

#[tokio::test]
async fn api_key_and_unauthenticated_connections_can_be_imported() {
    let h = importing().await;
    let r = import(
        &h,
        json!({"provider_config_key": "openai", "credentials": {"type": "API_KEY", "apiKey": "sk-x"}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["credentials"]["apiKey"], "sk-x");
    assert!(!r.body["connection_id"].as_str().unwrap().is_empty());
    let r = import(
        &h,
        json!({"provider_config_key": "pub", "connection_id": "p", "credentials": {"type": "NONE"}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["credentials"], json!({}));
}

#[tokio::test]
async fn an_import_of_the_wrong_type_integration_or_fields_is_refused() {
    let h = importing().await;
    // Credentials of another mode than the provider's.
    let r = import(
        &h,
        json!({"provider_config_key": "gh", "credentials": {"type": "API_KEY", "apiKey": "k"}}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_body");
    // A type the protocol does not know.
    let r = import(
        &h,
        json!({"provider_config_key": "gh", "credentials": {"type": "SAML", "x": 1}}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_body");
    assert_eq!(r.body["error"]["errors"][0]["path"][0], "credentials");
    let r = import(
        &h,
        json!({"provider_config_key": "nope", "credentials": {"type": "NONE"}}),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = import(
        &h,
        json!({"provider_config_key": "gh", "credentials": {"type": "NONE"}, "extra": 1}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["errors"][0]["path"], json!(["extra"]));
}

#[tokio::test]
async fn importing_an_existing_connection_id_again_overrides_it() {
    let h = importing().await;
    assert_eq!(import_oauth2(&h).await.status, 201);
    let r = import(
        &h,
        json!({"provider_config_key": "gh", "connection_id": "imported-1",
                "credentials": {"type": "OAUTH2", "access_token": "gho_new"}}),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        h.connection("gh", "imported-1", "").await.body["credentials"]["access_token"],
        "gho_new"
    );
}

/// A server with three imported connections (two on `gh`, one on `slack`) of two end users in two
/// organizations, tagged by team.
async fn three_connections() -> crate::common::Harness {
    let h = harness(None).await;
    h.create_integration("gh", "github", None).await;
    h.create_integration("slack", "slack", None).await;
    for (key, id, user, org, team) in [
        ("gh", "alpha", "u1", "o1", "red"),
        ("gh", "beta", "u2", "o1", "blue"),
        ("slack", "gamma", "u1", "o2", "red"),
    ] {
        let r = h
            .backend(
                Method::POST,
                "/connections",
                Some(json!({"provider_config_key": key, "connection_id": id,
                            "credentials": {"type": "OAUTH2", "access_token": "t"},
                            "end_user": {"id": user, "display_name": format!("User {user}"), "organization": {"id": org}},
                            "tags": {"team": team}})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    h
}

/// The sorted connection ids of a `GET /connections` answer.
fn ids(r: &crate::common::Reply) -> Vec<String> {
    let mut v: Vec<String> = r.body["connections"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.body))
        .iter()
        .map(|c| c["connection_id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn list_connections_applies_nangos_filters() {
    let h = three_connections().await;
    for (query, expected) in [
        ("", vec!["alpha", "beta", "gamma"]),
        ("?connectionId=beta", vec!["beta"]),
        ("?search=AMM", vec!["gamma"]),
        ("?search=user%20u2", vec!["beta"]),
        ("?endUserId=u1", vec!["alpha", "gamma"]),
        ("?endUserOrganizationId=o1", vec!["alpha", "beta"]),
        ("?integrationId=slack", vec!["gamma"]),
        (
            "?integrationId=gh,slack&endUserId=u1",
            vec!["alpha", "gamma"],
        ),
        ("?tags[team]=red", vec!["alpha", "gamma"]),
        ("?tags[Team]=red&integrationId=gh", vec!["alpha"]),
    ] {
        let r = h
            .backend(Method::GET, &format!("/connections{query}"), None)
            .await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        assert_eq!(ids(&r), expected, "{query}");
    }
}

#[tokio::test]
async fn list_connections_pages_with_limit_and_page() {
    let h = three_connections().await;
    let r = h.backend(Method::GET, "/connections?limit=2", None).await;
    assert_eq!(r.body["connections"].as_array().unwrap().len(), 2);
    let r = h
        .backend(Method::GET, "/connections?limit=2&page=1", None)
        .await;
    assert_eq!(r.body["connections"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_deprecated_list_path_filters_too() {
    let h = three_connections().await;
    let r = h
        .backend(Method::GET, "/connection?endUserId=u2", None)
        .await;
    assert_eq!(ids(&r), vec!["beta"]);
}

#[tokio::test]
async fn list_connections_refuses_unknown_or_invalid_query_parameters() {
    let h = three_connections().await;
    for bad in ["?colour=red", "?limit=0", "?limit=abc"] {
        let r = h
            .backend(Method::GET, &format!("/connections{bad}"), None)
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.body["error"]["code"], "invalid_query_params", "{bad}");
    }
}
