//! The authorization-code flow against a scripted provider on loopback (`common::scripted_provider`),
//! for what the real oidc-provider cannot show: catalog options (`${connectionConfig.x}` in the token
//! URL and params, `body_format: json`, `token_request_auth_method: basic`, `scope_separator`,
//! `disable_pkce`), lenient token parsing, `token_response_metadata` and `redirect_uri_metadata` into
//! `connection_config`, a value outside its pattern, an expired state, and a refused refresh
//! (`invalid_credentials` + a refresh-failure webhook).

use crate::common::scripted_provider::{fake_provider, harness, receiver};
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn catalog_options_shape_the_token_request_and_metadata_lands_in_connection_config() {
    let (provider, token_calls) = fake_provider().await;
    let (hook_url, hooks) = receiver().await;
    let h = harness(&provider, &hook_url).await;

    let (status, q, cookie, body) = h
        .start(&[("tenant", "acme"), ("audience", "https://api.example/ v1")])
        .await;
    assert_eq!(status, 302, "{body}");
    assert_eq!(q["scope"], "read,write", "scope_separator");
    assert_eq!(
        q["audience"], "https://api.example/ v1",
        "interpolated param"
    );
    assert!(!q.contains_key("code_challenge"), "disable_pkce");

    let state = q["state"].clone();
    let (status, page) = h
        .callback(
            &format!("state={state}&code=the-code&realmId=9130"),
            &cookie,
        )
        .await;
    assert_eq!(status, 200, "{page}");

    let calls = token_calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    let (path, headers, body) = &calls[0];
    assert_eq!(path, "/acme/token", "token URL interpolated");
    assert_eq!(
        headers["content-type"], "application/json",
        "body_format: json"
    );
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["grant_type"], "authorization_code");
    assert_eq!(body["code"], "the-code");
    assert_eq!(body["resource"], "https://api.example/ v1");
    assert!(body.get("code_verifier").is_none());
    assert!(
        body.get("client_secret").is_none(),
        "secret only in the Basic header"
    );
    assert_eq!(
        headers["authorization"], "Basic Y2lkOmNzZWNyZXQ=",
        "token_request_auth_method: basic (cid:csecret)"
    );

    let id = h.only_connection_id().await;
    let (status, conn) = h.connection(&id, "").await;
    assert_eq!(status, 200, "{conn}");
    assert_eq!(conn["credentials"]["access_token"], "fake-access-1");
    assert!(
        conn["credentials"]["expires_at"].is_string(),
        "string expires_in accepted"
    );
    let cc = &conn["connection_config"];
    assert_eq!(
        cc["instance_url"], "https://acme.example",
        "token_response_metadata"
    );
    assert_eq!(cc["realmId"], "9130", "redirect_uri_metadata");
    assert_eq!(cc["tenant"], "acme");

    // A refused refresh: typed error for the API caller, and a refresh-failure webhook.
    let (status, err) = h.connection(&id, "&force_refresh=true").await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["code"], "invalid_credentials");
    assert_eq!(token_calls.lock().unwrap().len(), 2);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let bodies: Vec<Value> = hooks
            .lock()
            .unwrap()
            .iter()
            .map(|(_, _, b)| serde_json::from_str(b).unwrap())
            .collect();
        if let Some(hook) = bodies.iter().find(|b| b["operation"] == "refresh") {
            assert_eq!(hook["success"], false);
            assert_eq!(hook["connectionId"], id.as_str());
            assert_eq!(hook["error"]["type"], "refresh_token_external_error");
            assert!(bodies
                .iter()
                .any(|b| b["operation"] == "creation" && b["success"] == true));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no refresh-failure webhook: {bodies:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_connection_config_value_outside_its_pattern_never_starts_a_flow() {
    let (provider, token_calls) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;
    for evil in ["evil.example", "acme/../x", "ACME"] {
        let (status, _, cookie, page) = h.start(&[("tenant", evil), ("audience", "a")]).await;
        assert_eq!(status, 400, "{evil}: {page}");
        assert!(page.contains("url_param_err"), "{page}");
        assert!(cookie.is_empty(), "no attempt was started");
    }
    // A missing value is named.
    let (status, _, _, page) = h.start(&[("tenant", "acme")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("audience"), "{page}");
    assert!(token_calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_expired_state_is_refused_before_the_token_request() {
    let (provider, token_calls) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;
    let (status, q, cookie, _) = h.start(&[("tenant", "acme"), ("audience", "a")]).await;
    assert_eq!(status, 302);
    // Ten minutes pass.
    h.clock.advance(std::time::Duration::from_secs(601));
    let (status, page) = h
        .callback(&format!("state={}&code=c", q["state"]), &cookie)
        .await;
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("state_err") && page.contains("expired"),
        "{page}"
    );
    assert!(token_calls.lock().unwrap().is_empty());
}
