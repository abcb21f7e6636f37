//! Issue 15, JWT end to end against the local provider (`common::credential_modes`): HMAC (Ghost)
//! and EC (App Store Connect) tokens verified at the provider, proxied, and signed again on renewal.

use crate::common::credential_modes::{connected, proxy, refused, setup, submit};
use serde_json::json;

#[tokio::test]
async fn jwt_hmac_and_ec_tokens_verify_at_the_provider_and_are_re_signed() {
    let (p, h) = setup().await;
    // Ghost: `id:secret`, HS256 with the hex secret; the provider's verification runs first.
    let key = format!("0123456789abcdef01234567:{}", "ab".repeat(32));
    let bad = format!("0123456789abcdef01234567:{}", "cd".repeat(32));
    refused(
        &h,
        "jwt",
        "ghost",
        "&params[version]=v5.0",
        json!({"type": "JWT", "privateKey": bad}),
        "connection_test_failed",
    )
    .await;

    let (id, c) = connected(
        &h,
        "jwt",
        "ghost",
        "&params[version]=v5.0",
        json!({"type": "JWT", "privateKey": key}),
    )
    .await;
    let creds = &c.body["credentials"];
    assert_eq!(creds["type"], "JWT", "{creds}");
    assert_eq!(creds["privateKey"]["id"], "0123456789abcdef01234567");
    assert!(creds["token"].as_str().unwrap().split('.').count() == 3);
    assert!(creds["expires_at"].is_string());
    assert_eq!(c.body["connection_config"]["version"], "v5.0");
    let res = proxy(&h, "ghost", &id, "/users").send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // App Store Connect: ES256 from a PKCS#8 key pasted on one line.
    let one_line = p.apple_key.replace('\n', " ");
    let r = submit(
        &h,
        "jwt",
        "apple",
        "",
        json!({"type": "JWT", "issuerId": p.apple_issuer, "privateKeyId": "KEY123", "privateKey": one_line}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["connectionId"].as_str().unwrap().to_string();
    let res = proxy(&h, "apple", &id, "/apps").send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let c = h.connection("apple", &id, "&force_refresh=true").await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["credentials"]["type"], "JWT");
}
