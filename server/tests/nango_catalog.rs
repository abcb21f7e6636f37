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

/// Issue 15: the credential-based modes. Every provider of Nango's catalog (aliases included) whose
/// mode is TWO_STEP, JWT, BILL, SIGNATURE, TBA or AWS_SIGV4 accepts its credentials (the submission reaches the provider —
/// which fails here, with no internet, as an upstream error — or is signed and saved); none answers
/// "invalid auth mode" or a missing template. Credentials and connection config are each field's
/// catalog `example` (real key pairs for the RSA/EC JWT providers). Prints the count per mode.
#[tokio::test]
async fn every_credential_mode_provider_of_nangos_catalog_accepts_credentials() {
    let yaml = nango_catalog();
    let nango: BTreeMap<String, Value> = serde_yaml_ng::from_str(&yaml).unwrap();
    let keys = key_pairs().await;
    let h = common::harness_configured(Some(&yaml), |c| c.allow_private_providers = false).await;
    let mut per_mode: BTreeMap<String, usize> = BTreeMap::new();
    for v in nango.values().filter(|v| v.get("alias").is_none()) {
        let mode = v["auth_mode"].as_str().unwrap_or("?").to_string();
        *per_mode.entry(mode).or_default() += 1;
    }
    println!("Nango's non-alias providers per auth mode: {per_mode:?}");

    let routes = [
        ("TWO_STEP", "two-step"),
        ("JWT", "jwt"),
        ("BILL", "bill"),
        ("SIGNATURE", "signature"),
        ("TBA", "tba"),
        ("AWS_SIGV4", "aws-sigv4"),
    ];
    let mut tried = BTreeMap::<&str, usize>::new();
    let mut aliases = 0;
    for (name, own) in &nango {
        // An alias's fields are its target's, its own win (as the catalog loads them).
        let entry = match own["alias"].as_str().and_then(|a| nango.get(a)) {
            Some(target) => {
                let mut merged = target.as_object().cloned().unwrap_or_default();
                merged.extend(own.as_object().cloned().unwrap_or_default());
                Value::Object(merged)
            }
            None => own.clone(),
        };
        let entry = &entry;
        let mode = entry["auth_mode"].as_str().unwrap_or_default();
        let Some((mode, route)) = routes.iter().find(|(m, _)| *m == mode) else {
            continue;
        };
        if own.get("alias").is_some() {
            aliases += 1;
        } else {
            *tried.entry(mode).or_default() += 1;
        }
        let key = format!("k-{name}");
        if *mode == "AWS_SIGV4" {
            // The owner's settings (built-in STS; AWS is out of reach here).
            let r = h
                .backend(
                    Method::POST,
                    "/integrations",
                    Some(
                        json!({"provider": name, "unique_key": key, "integration_config": {
                        "service": "s3", "awsAccessKeyId": "AKIAEXAMPLE",
                        "awsSecretAccessKey": "secret"}}),
                    ),
                )
                .await;
            assert_eq!(r.status, 200, "{name}: {}", r.body);
        } else if let Some(owner) = entry["integration_config"].as_object() {
            // The owner's fields (Epic's client id and signing key), examples and real keys.
            let values: serde_json::Map<String, Value> = owner
                .iter()
                .map(|(field, schema)| {
                    (field.clone(), json!(value_for(entry, field, schema, &keys)))
                })
                .collect();
            let r = h
                .backend(
                    Method::POST,
                    "/integrations",
                    Some(
                        json!({"provider": name, "unique_key": key, "integration_config": values}),
                    ),
                )
                .await;
            assert_eq!(r.status, 200, "{name}: {}", r.body);
        } else {
            h.create_integration(&key, name, None).await;
        }
        let mut query = String::new();
        if let Some(fields) = entry["connection_config"].as_object() {
            for (field, schema) in fields {
                let example = example(schema, field);
                query.push_str(&format!("&params[{field}]={}", urlencode(&example)));
            }
        }
        let body = match *mode {
            "BILL" => {
                json!({"username": "u", "password": "p", "organization_id": "o", "dev_key": "d"})
            }
            "SIGNATURE" => json!({"type": "SIGNATURE", "username": "user", "password": "secret-1"}),
            "TBA" => json!({"token_id": "tid", "token_secret": "tsecret"}),
            "AWS_SIGV4" => json!({"role_arn": "arn:aws:iam::123456789012:role/NangoAccessRole"}),
            _ => {
                let mut body = serde_json::Map::new();
                body.insert("type".into(), json!(mode));
                if let Some(fields) = entry["credentials"].as_object() {
                    for (field, schema) in fields {
                        if schema["automated"] == true {
                            continue;
                        }
                        body.insert(field.clone(), json!(value_for(entry, field, schema, &keys)));
                    }
                }
                // Client-assertion key material, handed over once (`assertionOption`).
                if let Some(fields) = entry["assertion_option"].as_object() {
                    let option: serde_json::Map<String, Value> = fields
                        .iter()
                        .map(|(f, schema)| (f.clone(), json!(value_for(entry, f, schema, &keys))))
                        .collect();
                    body.insert("assertionOption".into(), Value::Object(option));
                }
                Value::Object(body)
            }
        };
        let token = h.session(json!({"end_user": {"id": "u1"}})).await;
        let r = h
            .browser_post(
                &format!("/auth/{route}/{key}?connect_session_token={token}{query}"),
                body,
            )
            .await;
        let code = r.body["error"]["code"].as_str().unwrap_or_default();
        let upstream = [
            "two_step_credentials_fetch_error",
            "invalid_two_step_credentials",
            "bill_tokens_fetch_error",
            "connection_test_failed",
            "aws_sigv4_sts_request_failed",
        ];
        assert!(
            r.status == 200 || ([400, 502].contains(&r.status) && upstream.contains(&code)),
            "{name} ({mode}): {} {}",
            r.status,
            r.body
        );
    }
    println!("credential-mode providers submitted: {tried:?} and {aliases} aliases of them");
    // Every mode of the catalog is connectable but these (non-alias providers per mode).
    let connectable = [
        "OAUTH2",
        "OAUTH2_CC",
        "API_KEY",
        "BASIC",
        "NONE",
        "TWO_STEP",
        "JWT",
        "BILL",
        "SIGNATURE",
        "TBA",
        "AWS_SIGV4",
        "MCP_OAUTH2",
        "MCP_OAUTH2_GENERIC",
        "OAUTH1",
        "INSTALL_PLUGIN",
    ];
    let missing: BTreeMap<&str, usize> = per_mode
        .iter()
        .filter(|(m, _)| !connectable.contains(&m.as_str()))
        .map(|(m, n)| (m.as_str(), *n))
        .collect();
    let total: usize = per_mode.values().sum();
    let missing_total: usize = missing.values().sum();
    println!(
        "connectable: {} of {total} non-alias providers; not yet: {missing:?}",
        total - missing_total
    );
    assert_eq!((total, missing_total), (944, 0), "{missing:?}");
    for (mode, _) in routes {
        assert_eq!(
            tried.get(mode).copied().unwrap_or(0),
            per_mode.get(mode).copied().unwrap_or(0)
        );
    }
}

/// A field's value: a real private key where the provider signs with one (by its `signature`
/// protocol or its assertion's algorithm), else [`example`].
fn value_for(entry: &Value, field: &str, schema: &Value, keys: &KeyPairs) -> String {
    if field == "privateKey" {
        let protocol = entry.pointer("/signature/protocol").and_then(Value::as_str);
        // A SAML assertion is signed with RSA-SHA256.
        let alg = match entry.pointer("/assertion/type").and_then(Value::as_str) {
            Some("saml") => Some("RS256"),
            _ => entry
                .pointer("/assertion/header/alg")
                .and_then(Value::as_str),
        };
        match (protocol, alg) {
            (Some("EC"), _) => return keys.ec.clone(),
            (Some("RSA"), _) => return keys.rsa.clone(),
            (_, Some(a)) if a.starts_with("ES") => return keys.ec.clone(),
            (_, Some(_)) => return keys.rsa.clone(),
            _ => {}
        }
    }
    example(schema, field)
}

/// A plausible value for a catalog field: its `example`, else its first `enum` value, else one made
/// to fit common formats.
fn example(schema: &Value, field: &str) -> String {
    if let Some(e) = schema.get("example").and_then(|e| e.as_str()) {
        return e.to_string();
    }
    if let Some(e) = schema.pointer("/enum/0").and_then(|e| e.as_str()) {
        return e.to_string();
    }
    match schema.get("format").and_then(|f| f.as_str()) {
        Some("hostname") => "example.com".into(),
        Some("uri") | Some("url") => "https://example.com".into(),
        Some("uuid") => "a0ee0000-0000-4000-8000-00000000abcd".into(),
        Some("email") => "user@example.com".into(),
        _ => format!("{field}-value"),
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

struct KeyPairs {
    rsa: String,
    ec: String,
}

/// PKCS#8 RSA and P-256 private keys made by node's crypto (the JWT providers sign with them).
async fn key_pairs() -> KeyPairs {
    let script = "const c=require('crypto');const o={privateKeyEncoding:{type:'pkcs8',format:'pem'},publicKeyEncoding:{type:'spki',format:'pem'}};\
        console.log(JSON.stringify({rsa:c.generateKeyPairSync('rsa',{modulusLength:2048,...o}).privateKey,\
        ec:c.generateKeyPairSync('ec',{namedCurve:'P-256',...o}).privateKey}))";
    let out = tokio::process::Command::new("node")
        .args(["-e", script])
        .output()
        .await
        .expect("node runs");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    KeyPairs {
        rsa: v["rsa"].as_str().unwrap().to_string(),
        ec: v["ec"].as_str().unwrap().to_string(),
    }
}

/// Issue 15: every non-alias provider of Nango's popup modes served by `authpop` (MCP_OAUTH2,
/// MCP_OAUTH2_GENERIC, OAUTH1, INSTALL_PLUGIN; and APP and CUSTOM, `github-app` and
/// `github-app-oauth`, aliases with a mode of their own) starts its flow. Outbound requests go to a closed local port (an
/// explicit egress proxy), so a flow that must reach the provider first (dynamic client
/// registration, metadata discovery, an OAuth 1.0a request token) fails with an upstream error; one
/// that needs no network (an MCP provider with a static client, a plugin install page) redirects. None
/// fails with "unsupported auth mode".
#[tokio::test]
async fn nangos_mcp_and_oauth1_providers_start_their_flows() {
    let yaml = nango_catalog();
    let nango: BTreeMap<String, Value> = serde_yaml_ng::from_str(&yaml).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_proxy = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let h = common::harness_configured(Some(&yaml), |c| {
        c.outbound_proxy = Some(dead_proxy);
    })
    .await;
    let modes = [
        "MCP_OAUTH2",
        "MCP_OAUTH2_GENERIC",
        "OAUTH1",
        "INSTALL_PLUGIN",
        "APP",
        "CUSTOM",
    ];
    let keys = key_pairs().await;
    let mut counts: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for (name, entry) in &nango {
        let mode = entry["auth_mode"].as_str().unwrap_or_default();
        // `github-app` and `github-app-oauth` are aliases of `github` with a mode of their own.
        let own_mode = matches!(mode, "APP" | "CUSTOM");
        if (entry.get("alias").is_some() && !own_mode) || !modes.contains(&mode) {
            continue;
        }
        let credentials = match (mode, entry["client_registration"].as_str()) {
            ("OAUTH1", _) => {
                Some(json!({"type": "OAUTH1", "client_id": "ck", "client_secret": "cs"}))
            }
            ("INSTALL_PLUGIN", _) => Some(json!({"type": "INSTALL_PLUGIN", "client_id": "pid",
                "client_secret": "pkey", "app_link": "https://plugins.example.com/install"})),
            ("APP", _) => Some(json!({"type": "APP", "app_id": "123456",
                "app_link": "https://github.com/apps/latchkey", "private_key": keys.rsa})),
            ("CUSTOM", _) => Some(json!({"type": "CUSTOM", "client_id": "Iv1.ci",
                "client_secret": "cs", "app_id": "123456",
                "app_link": "https://github.com/apps/latchkey", "private_key": keys.rsa})),
            ("MCP_OAUTH2", Some("static")) => {
                Some(json!({"type": "MCP_OAUTH2", "client_id": "ci", "client_secret": "cs"}))
            }
            _ => None,
        };
        h.create_integration(name, name, credentials).await;
        let token = h.session(json!({"end_user": {"id": "u1"}})).await;
        let mut url = reqwest::Url::parse(&format!("{}/oauth/connect/{name}", h.base)).unwrap();
        url.query_pairs_mut()
            .append_pair("connect_session_token", &token);
        if let Some(fields) = entry["connection_config"].as_object() {
            for (key, field) in fields {
                let value = match key.as_str() {
                    "mcp_server_url" => "https://mcp.example.com/mcp".to_string(),
                    _ => field["example"].as_str().unwrap_or("x").to_string(),
                };
                url.query_pairs_mut()
                    .append_pair(&format!("params[{key}]"), &value);
            }
        }
        let res = h.http.get(url).send().await.unwrap();
        let status = res.status().as_u16();
        let page = res.text().await.unwrap();
        let outcome = if status == 302 {
            "redirected to the provider"
        } else {
            assert!(
                !page.contains("auth_mode_err") && !page.contains("has no OAuth client id"),
                "{name} ({mode}): {page}"
            );
            assert!(
                [
                    "Dynamic client registration failed",
                    "did not issue a request token",
                    "discovery",
                ]
                .iter()
                .any(|upstream| page.contains(upstream)),
                "{name} ({mode}) should fail only for want of the network: {page}"
            );
            "upstream error"
        };
        *counts.entry((mode.to_string(), outcome)).or_default() += 1;
    }
    println!("popup-mode providers of @nangohq/providers: {counts:?}");
    let per_mode = |m: &str| -> usize {
        counts
            .iter()
            .filter(|((mode, _), _)| mode == m)
            .map(|(_, n)| n)
            .sum()
    };
    assert_eq!(
        (
            per_mode("MCP_OAUTH2"),
            per_mode("MCP_OAUTH2_GENERIC"),
            per_mode("OAUTH1"),
            per_mode("INSTALL_PLUGIN"),
            per_mode("APP"),
            per_mode("CUSTOM")
        ),
        (30, 2, 4, 1, 1, 1),
        "{counts:?}"
    );
}
