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

/// Issue 11, finding 1: the audit of every OAuth2 provider in Nango's catalog whose authorization,
/// token or refresh URL interpolates the connection config. A browser may fill a host only when the
/// template or the field's pattern keeps it inside the provider's domains; the others need the
/// backend to pin the host in the session's `integrations_config_defaults`. The counts are pinned
/// here so a catalog update that changes them is looked at.
#[test]
fn nangos_oauth_urls_with_a_host_from_the_connection_config_are_audited() {
    use latchkey_server::catalog::{audit_hosts, Catalog};
    let nango = audit_hosts(&Catalog::parse(&nango_catalog()).unwrap());
    let shipped = audit_hosts(&Catalog::load(None).unwrap());
    println!(
        "Nango: {} OAuth2 providers interpolate the connection config into a URL, {} into a host, \
         {} of those constrained to the provider's domains, {} need the backend to pin the host: {:?}",
        nango.interpolating,
        nango.host_interpolating,
        nango.constrained,
        nango.needs_pinning.len(),
        nango.needs_pinning
    );
    println!(
        "Shipped: {} interpolate, {} into a host, {} constrained, {} need pinning",
        shipped.interpolating,
        shipped.host_interpolating,
        shipped.constrained,
        shipped.needs_pinning.len()
    );
    assert_eq!(
        nango.constrained + nango.needs_pinning.len(),
        nango.host_interpolating
    );
    assert_eq!(
        (
            nango.interpolating,
            nango.host_interpolating,
            nango.constrained
        ),
        NANGO_AUDIT,
        "{nango:?}"
    );
    // Nango's Salesforce takes any hostname (its pattern even needs look-around, which we refuse);
    // Zendesk's host ends in `.zendesk.com` whatever the subdomain.
    assert!(nango.needs_pinning.iter().any(|p| p == "salesforce"));
    assert!(!nango.needs_pinning.iter().any(|p| p == "zendesk"));
    assert!(shipped.needs_pinning.is_empty(), "{shipped:?}");
    assert_eq!(shipped.host_interpolating, shipped.constrained);
}

/// (interpolating, host-interpolating, constrained) for the pinned `@nangohq/providers`.
const NANGO_AUDIT: (usize, usize, usize) = (87, 75, 28);
