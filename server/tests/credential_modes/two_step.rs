//! Issue 15, TWO_STEP end to end against the local provider (`common::credential_modes`): the token
//! fetched, renewed single-flight and proxied; client assertions (a JWT, a SAML bearer assertion)
//! signed with a key that is not kept; a login over XML; the integration's `integration_config`
//! values; response cookies kept and sent back.

use crate::common::credential_modes::{connected, proxy, refused, setup, submit, Peer};
use reqwest::Method;
use serde_json::{json, Value};

async fn stats(p: &Peer) -> i64 {
    let v: Value = p.get("/two-step/stats").await;
    v["tokenRequests"].as_i64().unwrap()
}

#[tokio::test]
async fn two_step_fetches_renews_single_flight_and_proxies_the_token() {
    let (p, h) = setup().await;
    let good = json!({"type": "TWO_STEP", "clientId": "drupal-client",
                      "clientSecret": "drupal-secret", "userName": "editor"});

    // Wrong secret: the provider's refusal, nothing stored.
    let mut bad = good.clone();
    bad["clientSecret"] = json!("nope");
    let r = refused(
        &h,
        "two-step",
        "drupal",
        "",
        bad,
        "two_step_credentials_fetch_error",
    )
    .await;
    assert!(!r.body.to_string().contains("nope"), "{}", r.body);

    // Another mode's route refuses the integration.
    let r = submit(&h, "jwt", "drupal", "", json!({"privateKey": "x"})).await;
    assert_eq!(r.body["error"]["code"], "invalid_auth_mode", "{}", r.body);

    let r = submit(&h, "two-step", "drupal", "", good).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["providerConfigKey"], "drupal");
    let id = r.body["connectionId"].as_str().unwrap().to_string();

    let c = h.connection("drupal", &id, "").await;
    assert_eq!(c.status, 200, "{}", c.body);
    let creds = &c.body["credentials"];
    assert_eq!(creds["type"], "TWO_STEP");
    assert_eq!(creds["clientId"], "drupal-client");
    assert_eq!(creds["raw"]["token_type"], "Bearer");
    assert!(
        creds["expires_at"].as_str().unwrap().ends_with('Z'),
        "{creds}"
    );
    let first = creds["token"].as_str().unwrap().to_string();

    // The proxy sends the token as a Bearer.
    let res = proxy(&h, "drupal", &id, "/api").send().await.unwrap();
    assert_eq!(res.status(), 200);

    // Five concurrent forced renewals: one token request upstream, one new token for all.
    let before = stats(&p).await;
    let calls = (0..5).map(|_| h.connection("drupal", &id, "&force_refresh=true"));
    let answers = futures_util::future::join_all(calls).await;
    let tokens: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| a.body["credentials"]["token"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert!(!tokens.contains(&first));
    assert_eq!(stats(&p).await - before, 1, "single-flight renewal");
}

/// TWO_STEP with a client assertion (Apple Business Manager): the server signs an ES256 JWT with the
/// key handed over as `assertionOption` (never stored), the provider verifies it; the stored
/// assertion is reused for renewals while it is valid.
#[tokio::test]
async fn two_step_signs_a_client_assertion_with_a_key_it_does_not_keep() {
    let (p, h) = setup().await;
    let creds =
        json!({"type": "TWO_STEP", "clientId": "BUSINESSAPI.9703f56c", "keyId": "ABM-KEY-1"});

    // Without the key there is nothing to sign with: a typed refusal, nothing stored.
    let r = submit(&h, "two-step", "abm", "", creds.clone()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "failed_to_generate", "{}", r.body);

    // Someone else's key: the provider refuses the signature.
    let mut body = creds.clone();
    body["assertionOption"] = json!({"privateKey": p.other_key});
    refused(
        &h,
        "two-step",
        "abm",
        "",
        body,
        "two_step_credentials_fetch_error",
    )
    .await;

    let mut body = creds.clone();
    body["assertionOption"] = json!({"privateKey": p.apple_key.replace('\n', "\\n")});
    let (id, c) = connected(&h, "two-step", "abm", "", body).await;
    let stored = &c.body["credentials"];
    assert_eq!(stored["type"], "TWO_STEP", "{stored}");
    assert_eq!(stored["clientId"], "BUSINESSAPI.9703f56c");
    assert!(
        stored.get("assertionOption").is_none(),
        "the key is not kept: {stored}"
    );
    assert!(!c.body.to_string().contains("PRIVATE KEY"), "{}", c.body);
    let assertion = stored["assertion"].as_str().unwrap().to_string();
    let first = stored["token"].as_str().unwrap().to_string();

    // Renewal: a new token with the stored assertion (the provider saw one assertion in all).
    let c = h.connection("abm", &id, "&force_refresh=true").await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_ne!(c.body["credentials"]["token"], first.as_str());
    assert_eq!(c.body["credentials"]["assertion"], assertion.as_str());
    let seen: Value = p.get("/abm/stats").await;
    assert_eq!(seen["assertions"], 1, "{seen}");
}

/// TWO_STEP with a SAML 2.0 bearer assertion (SAP SuccessFactors): the server builds and signs the
/// assertion (enveloped XML signature, exclusive c14n, RSA-SHA256) with the key handed over in SAP's
/// own format (the PKCS#8 body base64-encoded again with the company id); the provider checks it
/// with `xml-crypto`. The key is not stored; the ten-year assertion is, and renewals reuse it.
#[tokio::test]
async fn two_step_signs_a_saml_bearer_assertion() {
    use base64::Engine as _;
    let (p, h) = setup().await;
    let body: String = p
        .sf_key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let sap_format = base64::engine::general_purpose::STANDARD.encode(format!("{body}###SFPART01"));
    let submission = |key: &str| {
        json!({"type": "TWO_STEP", "apiKey": "c2YtYXBpLWtleS0xMjM0NTY3ODkw",
               "assertionOption": {"userName": "sfadmin", "privateKey": key}})
    };
    let query = "&params[companyId]=SFPART01";

    // A key the provider does not know: the signature is refused there.
    let other = {
        let out = std::process::Command::new("node")
            .args(["-e", "process.stdout.write(require('crypto').generateKeyPairSync('rsa',{modulusLength:2048}).privateKey.export({type:'pkcs8',format:'pem'}))"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    refused(
        &h,
        "two-step",
        "sf",
        query,
        submission(&other),
        "two_step_credentials_fetch_error",
    )
    .await;

    let (id, c) = connected(&h, "two-step", "sf", query, submission(&sap_format)).await;
    let stored = &c.body["credentials"];
    assert_eq!(stored["type"], "TWO_STEP", "{stored}");
    assert!(
        !c.body.to_string().contains(&sap_format[..40]),
        "the key is not kept"
    );
    assert!(stored.get("assertionOption").is_none(), "{stored}");
    let assertion = stored["assertion"].as_str().unwrap().to_string();
    let xml = base64::engine::general_purpose::STANDARD
        .decode(&assertion)
        .unwrap();
    assert!(String::from_utf8(xml)
        .unwrap()
        .contains("<ds:SignatureValue>"));

    let c = h.connection("sf", &id, "&force_refresh=true").await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["credentials"]["assertion"], assertion.as_str());
    let seen: Value = p.get("/sf/stats").await;
    assert_eq!(
        seen["assertions"], 1,
        "one assertion for both token requests: {seen}"
    );
}

/// TWO_STEP over XML (Sage Intacct): the login is posted as an XML document the provider's parser
/// reads, and the session id and its expiry come from the XML answer.
#[tokio::test]
async fn two_step_logs_in_over_xml() {
    let (_p, h) = setup().await;
    let good = json!({"type": "TWO_STEP", "senderId": "sender-1", "senderPassword": "sender-pass",
                      "companyId": "ACME", "userId": "xml_user", "userPassword": "user-pass"});
    let mut bad = good.clone();
    bad["userPassword"] = json!("wrong");
    refused(
        &h,
        "two-step",
        "intacct-xml",
        "",
        bad,
        "two_step_credentials_fetch_error",
    )
    .await;

    let (_, c) = connected(&h, "two-step", "intacct-xml", "", good).await;
    let creds = &c.body["credentials"];
    assert_eq!(creds["token"].as_str().unwrap().len(), 36, "{creds}");
    assert_eq!(
        creds["raw"]["response"]["operation"]["result"]["function"],
        "getAPISession"
    );
    let expires = chrono::DateTime::parse_from_rfc3339(creds["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    let in_an_hour = chrono::Utc::now().timestamp() + 3600;
    assert!((expires - in_an_hour).abs() < 60, "{creds}");
}

/// TWO_STEP with the integration's `integration_config` (Sage Intacct CC): the owner's client id and
/// secret go into every token request, win over submitted ones, and are not stored per connection.
#[tokio::test]
async fn two_step_uses_the_integrations_config_values_without_storing_them() {
    let (p, h) = setup().await;
    let r = h
        .backend(
            Method::POST,
            "/integrations",
            Some(json!({"provider": "intacct-local", "unique_key": "intacct",
                        "integration_config": {"clientId": "drupal-client", "clientSecret": "drupal-secret"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = submit(
        &h,
        "two-step",
        "intacct",
        "",
        json!({"type": "TWO_STEP", "username": "editor", "clientSecret": "submitted"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["connectionId"].as_str().unwrap().to_string();
    let c = h.connection("intacct", &id, "&force_refresh=true").await;
    assert_eq!(c.status, 200, "renewal uses them too: {}", c.body);
    let creds = &c.body["credentials"];
    assert_eq!(creds["username"], "editor", "{creds}");
    assert!(
        creds.get("clientSecret").is_none() && creds.get("clientId").is_none(),
        "{creds}"
    );
    drop(p);
}

/// TWO_STEP `token_response_headers` (SAP Business One): the session cookies of the login answer are
/// kept with the credentials (each by name, all as `_cookies`) and the proxy sends them back.
#[tokio::test]
async fn two_step_keeps_response_cookies_and_the_proxy_sends_them() {
    let (p, h) = setup().await;
    h.create_integration("sap", "sap-local", None).await;
    let (id, c) = connected(
        &h,
        "two-step",
        "sap",
        "&params[companyDb]=SBODEMO",
        json!({"type": "TWO_STEP", "userName": "manager", "password": "sap-pass"}),
    )
    .await;
    let creds = &c.body["credentials"];
    let session = creds["token"].as_str().unwrap();
    assert_eq!(creds["B1SESSION"], session, "{creds}");
    assert_eq!(
        creds["_cookies"],
        format!("B1SESSION={session}; ROUTEID=.node1").as_str()
    );
    let res = proxy(&h, "sap", &id, "/Items").send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    drop(p);
}
