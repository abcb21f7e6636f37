//! Nango's own catalog (`providers.yaml` of the npm package `@nangohq/providers`, pinned in
//! package.json) loads as `LATCHKEY_PROVIDERS_FILE` without error: every entry is listed by
//! `GET /providers`, and an entry whose auth mode Latchkey does not support refuses to start a flow
//! with a typed error.

mod common;

use common::harness;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn nango_catalog() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../node_modules/@nangohq/providers/providers.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run `cargo xtask setup`, which installs the pinned npm packages)",
            path.display()
        )
    })
}

#[tokio::test]
async fn nangos_provider_catalog_loads_and_unsupported_modes_refuse_flows() {
    let yaml = nango_catalog();
    let nango: BTreeMap<String, serde_yaml_ng::Value> = serde_yaml_ng::from_str(&yaml).unwrap();
    let shipped = latchkey_server::catalog::Catalog::load(None).unwrap().len();
    let h = harness(Some(&yaml)).await;

    let r = h.backend(Method::GET, "/providers", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let listed: Vec<&str> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in nango.keys() {
        assert!(listed.contains(&name.as_str()), "{name} is not listed");
    }
    println!(
        "catalog: {shipped} shipped, {} in @nangohq/providers, {} after the merge",
        nango.len(),
        listed.len()
    );

    // Aliases resolve to their target's auth mode.
    let r = h.backend(Method::GET, "/providers/zoho-crm", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["auth_mode"], "OAUTH2");

    // NetSuite token-based auth (TBA) is listed but cannot start an OAuth2 flow.
    let r = h
        .backend(
            Method::POST,
            "/integrations",
            Some(json!({"provider": "netsuite-tba", "unique_key": "netsuite"})),
        )
        .await;
    assert!(r.status == 200 || r.status == 400, "{}", r.body);
    if r.status == 200 {
        let token = h.session(json!({"end_user": {"id": "u1"}})).await;
        let res = h
            .http
            .get(format!(
                "{}/oauth/connect/netsuite?connect_session_token={token}",
                h.base
            ))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{}", res.status());
        let page = res.text().await.unwrap();
        assert!(
            page.contains("auth_mode_err") && page.contains("does not use OAuth2"),
            "a typed, readable refusal: {page}"
        );
    } else {
        let error: &Value = &r.body["error"];
        assert_eq!(error["code"], "invalid_auth_mode", "{error}");
    }
}
