//! Issue 15, TBA (NetSuite) against the local provider (`common::credential_modes`): proxied requests
//! signed with OAuth 1.0a HMAC-SHA256 and the realm, and a consumer override.

use crate::common::credential_modes::{connected, proxy, setup, submit};
use serde_json::json;

#[tokio::test]
async fn tba_requests_are_oauth1_hmac_sha256_signed_with_the_realm() {
    let (p, h) = setup().await;
    h.create_integration(
        "netsuite",
        "netsuite-local",
        Some(json!({"type": "TBA", "client_id": "ck-1", "client_secret": "cs-1"})),
    )
    .await;
    let (id, c) = connected(
        &h,
        "tba",
        "netsuite",
        "&params[accountId]=1234567-sb1",
        json!({"token_id": "tid-1", "token_secret": "ts-1"}),
    )
    .await;
    let creds = &c.body["credentials"];
    assert_eq!(creds["type"], "TBA", "{creds}");
    assert_eq!(creds["token_id"], "tid-1");
    // NetSuite recomputes the signature over the method, URL and (sorted, encoded) query.
    let res = proxy(&h, "netsuite", &id, "/customer?q=name%20IS%20a%26b&limit=5")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // A consumer override replaces the integration's consumer key.
    let r = submit(
        &h,
        "tba",
        "netsuite",
        "&params[accountId]=1234567-sb1",
        json!({"token_id": "tid-1", "token_secret": "ts-1", "oauth_client_id_override": "other"}),
    )
    .await;
    let id = r.body["connectionId"].as_str().unwrap().to_string();
    let c = h.connection("netsuite", &id, "").await;
    assert_eq!(
        c.body["credentials"]["config_override"]["client_id"],
        "other"
    );
    let res = proxy(&h, "netsuite", &id, "/customer")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        401,
        "the provider refuses an unknown consumer"
    );

    let r = submit(&h, "tba", "netsuite", "", json!({"token_id": "tid"})).await;
    assert_eq!(r.body["error"]["code"], "invalid_body", "{}", r.body);
    drop(p);
}
