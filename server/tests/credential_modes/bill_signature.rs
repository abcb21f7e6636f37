//! Issue 15, BILL and SIGNATURE end to end against the local provider (`common::credential_modes`):
//! Bill's login session, renewed; a WSSE digest (Emarsys) checked at submission and fresh on every
//! proxied call.

use crate::common::credential_modes::{connected, proxy, refused, setup, submit};
use serde_json::json;

#[tokio::test]
async fn bill_logs_in_and_signature_sends_a_fresh_wsse_header() {
    let (p, h) = setup().await;
    let login = json!({"username": "ap@example.com", "password": "bill-pass",
                       "organization_id": "org-1", "dev_key": "dev-1"});
    let mut wrong = login.clone();
    wrong["password"] = json!("x");
    refused(&h, "bill", "bill", "", wrong, "bill_tokens_fetch_error").await;

    let (id, c) = connected(&h, "bill", "bill", "", login).await;
    let creds = &c.body["credentials"];
    assert_eq!(creds["type"], "BILL", "{creds}");
    assert_eq!(creds["organization_id"], "org-1");
    assert_eq!(creds["user_id"], "user-9");
    let session = creds["session_id"].as_str().unwrap();
    let res = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/bill/api", p.port))
        .header("sessionId", session)
        .header("devKey", "dev-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the stored session is Bill's");
    let renewed = h.connection("bill", &id, "&force_refresh=true").await;
    assert_ne!(
        renewed.body["credentials"]["session_id"].as_str(),
        Some(session)
    );

    // SIGNATURE: verified at submission, and every proxied call carries a valid (fresh-nonce) digest.
    let r = submit(
        &h,
        "signature",
        "emarsys",
        "",
        json!({"type": "SIGNATURE", "username": "emarsys_user", "password": "wrong"}),
    )
    .await;
    assert_eq!(
        r.body["error"]["code"], "connection_test_failed",
        "{}",
        r.body
    );
    let (id, c) = connected(
        &h,
        "signature",
        "emarsys",
        "",
        json!({"type": "SIGNATURE", "username": "emarsys_user", "password": "emarsys-secret"}),
    )
    .await;
    assert_eq!(c.body["credentials"]["type"], "SIGNATURE");
    assert!(c.body["credentials"]["token"]
        .as_str()
        .unwrap()
        .starts_with("UsernameToken "));
    // A WSSE nonce is single-use: the proxy must present a new token each time (renewed on read).
    for _ in 0..2 {
        let c = h.connection("emarsys", &id, "&force_refresh=true").await;
        assert_eq!(c.status, 200, "{}", c.body);
        let res = proxy(&h, "emarsys", &id, "/settings").send().await.unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
}
