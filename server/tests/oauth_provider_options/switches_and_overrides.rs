//! The authorization-code flow against a scripted provider on loopback (`common::scripted_provider`):
//! the environment switches (`browser_cookie_check`, HMAC public-key mode), OAuth client overrides
//! (from the browser, or pinned by the session) and the refresh-failure counter.

use crate::common::scripted_provider::{fake_provider, harness, receiver, PUBLIC_KEY};
use serde_json::json;

const FLOW_PARAMS: &[(&str, &str)] = &[("tenant", "acme"), ("audience", "a")];

#[tokio::test]
async fn the_browser_cookie_is_required_by_default_and_can_be_switched_off() {
    let (provider, token_calls) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;

    // Default: a callback without the binding cookie never reaches the token endpoint.
    let (status, q, cookie, _) = h.start(FLOW_PARAMS).await;
    assert_eq!(status, 302);
    assert!(cookie.starts_with("latchkey_oauth_"), "{cookie}");
    let (status, page) = h
        .callback(&format!("state={}&code=c", q["state"]), "")
        .await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("state_cookie_err"), "{page}");
    assert!(token_calls.lock().unwrap().is_empty());

    // Switched off: the same callback completes without the cookie...
    h.patch_settings(json!({"browser_cookie_check": false}))
        .await;
    let (status, q, _, _) = h.start(FLOW_PARAMS).await;
    assert_eq!(status, 302);
    let callback = format!("state={}&code=c", q["state"]);
    let (status, page) = h.callback(&callback, "").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(token_calls.lock().unwrap().len(), 1);
    // ...and the state is still single-use.
    let (status, page) = h.callback(&callback, "").await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("state_err"), "{page}");
    assert_eq!(token_calls.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn client_overrides_drive_the_authorize_url_the_exchange_and_the_refresh() {
    let (provider, token_calls) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;
    let token = h.session().await;
    let mut query = vec![("connect_session_token".to_string(), token)];
    for (k, v) in FLOW_PARAMS {
        query.push((format!("params[{k}]"), v.to_string()));
    }
    for (k, v) in [
        ("oauth_client_id_override", "user-cid"),
        ("oauth_client_secret_override", "user-secret"),
        ("oauth_refresh_token_override", "fake-refresh-ok"),
    ] {
        query.push((format!("credentials[{k}]"), v.to_string()));
    }
    let (status, q, cookie, body) = h.start_query(&query).await;
    assert_eq!(status, 302, "{body}");
    assert_eq!(
        q["client_id"], "user-cid",
        "authorize URL uses the override"
    );
    let (status, page) = h
        .callback(&format!("state={}&code=c", q["state"]), &cookie)
        .await;
    assert_eq!(status, 200, "{page}");
    // token_request_auth_method: basic → user-cid:user-secret
    let basic = "Basic dXNlci1jaWQ6dXNlci1zZWNyZXQ=";
    {
        let calls = token_calls.lock().unwrap();
        assert_eq!(
            calls[0].1["authorization"], basic,
            "exchange uses the override"
        );
    }

    let id = h.only_connection_id().await;
    let (status, conn) = h.connection(&id, "&refresh_token=true").await;
    assert_eq!(status, 200, "{conn}");
    let cc = conn["connection_config"].as_object().unwrap();
    assert!(
        !cc.keys().any(|k| k.contains("override")),
        "overrides never sit in connection_config: {cc:?}"
    );
    assert!(!conn["connection_config"]
        .to_string()
        .contains("user-secret"));
    assert_eq!(
        conn["credentials"]["config_override"]["client_id"],
        "user-cid"
    );
    assert_eq!(
        conn["credentials"]["refresh_token"], "fake-refresh-ok",
        "refresh-token override replaces the issued one"
    );

    // A refresh uses the override client (and succeeds with the overriding refresh token); a
    // previously counted failure is reset.
    h.sql("UPDATE connections SET refresh_failures = 3").await;
    let (status, conn) = h.connection(&id, "&force_refresh=true").await;
    assert_eq!(status, 200, "{conn}");
    assert_eq!(conn["credentials"]["access_token"], "fake-access-2");
    {
        let calls = token_calls.lock().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            calls[1].1["authorization"], basic,
            "refresh uses the override"
        );
    }
    assert_eq!(
        h.sql_i64("SELECT refresh_failures FROM connections").await,
        0
    );
}

#[tokio::test]
async fn a_session_pinned_override_wins_over_the_browser() {
    let (provider, _) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;
    let token = h
        .session_with(
            json!({"end_user": {"id": "u8"}, "integrations_config_defaults": {
            "fake": {"connection_config": {"oauth_client_id_override": "pinned-cid"}}}}),
        )
        .await;
    let mut query = vec![("connect_session_token".to_string(), token)];
    for (k, v) in FLOW_PARAMS {
        query.push((format!("params[{k}]"), v.to_string()));
    }
    query.push((
        "credentials[oauth_client_id_override]".into(),
        "browser-cid".into(),
    ));
    let (status, q, _, body) = h.start_query(&query).await;
    assert_eq!(status, 302, "{body}");
    assert_eq!(q["client_id"], "pinned-cid");
}

#[tokio::test]
async fn failed_refreshes_are_counted_on_the_connection() {
    let (provider, _) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;
    let (_, q, cookie, _) = h.start(FLOW_PARAMS).await;
    let (status, _) = h
        .callback(&format!("state={}&code=c", q["state"]), &cookie)
        .await;
    assert_eq!(status, 200);
    let id = h.only_connection_id().await;
    for expected in 1..=2 {
        let (status, err) = h.connection(&id, "&force_refresh=true").await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(
            h.sql_i64("SELECT refresh_failures FROM connections").await,
            expected
        );
    }
    assert_eq!(
        h.sql_i64("SELECT COUNT(*) FROM connections WHERE last_refresh_failure_at IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn hmac_public_key_mode_guards_the_popup_but_not_session_tokens() {
    let (provider, _) = fake_provider().await;
    let (hook_url, _) = receiver().await;
    let h = harness(&provider, &hook_url).await;
    let public = |extra: &[(&str, &str)]| {
        let mut q: Vec<(String, String)> = vec![
            ("public_key".into(), PUBLIC_KEY.into()),
            ("connection_id".into(), "conn-1".into()),
        ];
        for (k, v) in FLOW_PARAMS {
            q.push((format!("params[{k}]"), v.to_string()));
        }
        q.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        q
    };

    // HMAC off: the public key alone starts a flow for the connection the caller names.
    let (status, _, _, body) = h.start_query(&public(&[])).await;
    assert_eq!(status, 302, "{body}");

    h.patch_settings(json!({"hmac_enabled": true, "hmac_key": "hmac-key"}))
        .await;
    let (status, _, cookie, page) = h.start_query(&public(&[])).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("missing_hmac"), "{page}");
    assert!(cookie.is_empty());
    // Signed for another connection.
    let wrong = latchkey_server::oauth::hmac::digest("hmac-key", "fake", Some("conn-2"));
    let (status, _, _, page) = h.start_query(&public(&[("hmac", &wrong)])).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("invalid_hmac"), "{page}");
    let right = latchkey_server::oauth::hmac::digest("hmac-key", "fake", Some("conn-1"));
    let (status, q, cookie, page) = h.start_query(&public(&[("hmac", &right)])).await;
    assert_eq!(status, 302, "{page}");
    let (status, page) = h
        .callback(&format!("state={}&code=c", q["state"]), &cookie)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(h.only_connection_id().await, "conn-1");

    // Session tokens are never HMAC-checked.
    let (status, _, _, page) = h.start(FLOW_PARAMS).await;
    assert_eq!(status, 302, "{page}");
}
