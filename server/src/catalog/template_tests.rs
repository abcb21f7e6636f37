//! Tests of the template engine ([`super`]): interpolation, host confinement, the shipped catalog's
//! host patterns.

use super::*;

fn cfg(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn subdomain_is_interpolated() {
    let url = interpolate(
        "https://${connectionConfig.subdomain}.zendesk.com/oauth/tokens",
        &cfg(&[("subdomain", "acme")]),
    );
    assert_eq!(url.unwrap(), "https://acme.zendesk.com/oauth/tokens");
}

#[test]
fn fallback_alternative_is_used_when_param_missing() {
    let t = "https://${connectionConfig.hostname}/services/oauth2/token || https://login.salesforce.com/services/oauth2/token";
    assert_eq!(
        interpolate(t, &cfg(&[])).unwrap(),
        "https://login.salesforce.com/services/oauth2/token"
    );
    assert_eq!(
        interpolate(t, &cfg(&[("hostname", "acme.my.salesforce.com")])).unwrap(),
        "https://acme.my.salesforce.com/services/oauth2/token"
    );
}

#[test]
fn missing_param_is_named() {
    let err = interpolate(
        "https://${connectionConfig.subdomain}.zendesk.com",
        &cfg(&[]),
    )
    .unwrap_err();
    assert_eq!(err.0, vec!["subdomain".to_string()]);
}

#[test]
fn values_cannot_inject_url_structure() {
    let url = interpolate(
        "https://${connectionConfig.subdomain}.zendesk.com/x",
        &cfg(&[("subdomain", "evil.com/#")]),
    )
    .unwrap();
    assert_eq!(url, "https://evil.com%2F%23.zendesk.com/x");
}

fn fields(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, FieldSchema> {
    pairs
        .iter()
        .map(|(k, p)| {
            (
                k.to_string(),
                FieldSchema {
                    pattern: p.map(Pattern::new),
                    ..Default::default()
                },
            )
        })
        .collect()
}

const SALESFORCE_TOKEN: &str = "https://${connectionConfig.hostname}/services/oauth2/token || https://login.salesforce.com/services/oauth2/token";
const HOSTNAME: &str = r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$";

#[test]
fn a_host_from_the_connection_config_must_match_its_pattern() {
    let f = fields(&[("hostname", Some(HOSTNAME))]);
    assert_eq!(
        interpolate_url(
            SALESFORCE_TOKEN,
            &cfg(&[("hostname", "acme.my.salesforce.com")]),
            &f
        )
        .unwrap(),
        "https://acme.my.salesforce.com/services/oauth2/token"
    );
    assert_eq!(
        interpolate_url(SALESFORCE_TOKEN, &cfg(&[]), &f).unwrap(),
        "https://login.salesforce.com/services/oauth2/token"
    );
    for evil in [
        "evil.com:8443",
        "evil.com/x",
        "user@evil.com",
        "-x.com",
        "localhost",
    ] {
        assert_eq!(
            interpolate_url(SALESFORCE_TOKEN, &cfg(&[("hostname", evil)]), &f),
            Err(UrlError::Invalid("hostname".into())),
            "{evil}"
        );
    }
}

#[test]
fn a_host_placeholder_without_a_pattern_is_refused_but_a_path_one_is_not() {
    let none = fields(&[]);
    assert_eq!(
        interpolate_url(
            SALESFORCE_TOKEN,
            &cfg(&[("hostname", "attacker.example")]),
            &none
        ),
        Err(UrlError::Invalid("hostname".into()))
    );
    let t = "https://login.microsoftonline.com/${connectionConfig.tenant}/oauth2/v2.0/token";
    assert_eq!(
        interpolate_url(t, &cfg(&[("tenant", "a/b")]), &none).unwrap(),
        "https://login.microsoftonline.com/a%2Fb/oauth2/v2.0/token"
    );
}

fn provider_yaml(yaml: &str) -> Provider {
    serde_yaml_ng::from_str(yaml).unwrap()
}

#[test]
fn a_host_is_constrained_by_a_literal_domain_or_a_pattern_ending_in_one() {
    let none = fields(&[]);
    assert!(host_constrained(
        "${connectionConfig.subdomain}.zendesk.com",
        &none
    ));
    assert!(host_constrained(
        "api.${connectionConfig.region}.example.com:8443",
        &none
    ));
    assert!(!host_constrained("${connectionConfig.hostname}", &none));
    assert!(!host_constrained("${connectionConfig.a}.com", &none));
    let generic = fields(&[("hostname", Some(HOSTNAME))]);
    assert!(!host_constrained("${connectionConfig.hostname}", &generic));
    let salesforce = Catalog::load(None)
        .unwrap()
        .get("salesforce")
        .unwrap()
        .provider
        .clone()
        .unwrap();
    assert!(host_constrained(
        "${connectionConfig.hostname}",
        &salesforce.connection_config
    ));
    let zoho = fields(&[("extension", Some(r"^(com|eu|com\.au)$"))]);
    assert!(host_constrained(
        "accounts.zoho.${connectionConfig.extension}",
        &zoho
    ));
    assert!(!host_constrained(
        "${connectionConfig.a}.${connectionConfig.extension}",
        &zoho
    ));
    let dotless = fields(&[("hostname", Some(r"^[a-z]+salesforce\.com$"))]);
    assert!(
        !host_constrained("${connectionConfig.hostname}", &dotless),
        "evilsalesforce.com is not Salesforce's"
    );
}

#[test]
fn a_browser_supplied_host_outside_the_providers_domains_is_refused_unless_pinned() {
    let p = provider_yaml(&format!(
        "display_name: T\nauth_mode: OAUTH2\nauthorization_url: https://${{connectionConfig.hostname}}/auth\ntoken_url: https://${{connectionConfig.hostname}}/token\nconnection_config:\n    hostname:\n        pattern: '{HOSTNAME}'\n"
    ));
    let t = "https://${connectionConfig.hostname}/token";
    let evil = cfg(&[("hostname", "login.attacker.example")]);
    assert_eq!(
        interpolate_secret_url(t, &evil, &p, &BTreeSet::new()),
        Err(UrlError::HostNotAllowed("hostname".into()))
    );
    let pinned: BTreeSet<String> = ["hostname".to_string()].into();
    assert_eq!(
        interpolate_secret_url(t, &evil, &p, &pinned).unwrap(),
        "https://login.attacker.example/token"
    );
    let mut listed = p.clone();
    listed.allowed_hosts = vec!["*.idp.example".into()];
    assert!(interpolate_secret_url(
        t,
        &cfg(&[("hostname", "acme.idp.example")]),
        &listed,
        &BTreeSet::new()
    )
    .is_ok());
    assert!(interpolate_secret_url(t, &evil, &listed, &BTreeSet::new()).is_err());
    let salesforce = Catalog::load(None)
        .unwrap()
        .get("salesforce")
        .unwrap()
        .provider
        .clone()
        .unwrap();
    let st = salesforce
        .token_url
        .as_ref()
        .unwrap()
        .for_mode("OAUTH2")
        .unwrap()
        .to_string();
    assert!(interpolate_secret_url(&st, &evil, &salesforce, &BTreeSet::new()).is_err());
    assert_eq!(
        interpolate_secret_url(
            &st,
            &cfg(&[("hostname", "acme--dev.sandbox.my.salesforce.com")]),
            &salesforce,
            &BTreeSet::new()
        )
        .unwrap(),
        "https://acme--dev.sandbox.my.salesforce.com/services/oauth2/token"
    );
}

#[test]
fn every_shipped_oauth_provider_keeps_browser_hosts_inside_its_domains() {
    let audit = audit_hosts(&Catalog::load(None).unwrap());
    assert!(audit.needs_pinning.is_empty(), "{audit:?}");
    assert_eq!(audit.host_interpolating, audit.constrained, "{audit:?}");
    assert!(audit.host_interpolating >= 4, "{audit:?}");
}

#[test]
fn params_are_interpolated_without_url_encoding() {
    let mut params = BTreeMap::new();
    params.insert(
        "audience".to_string(),
        serde_json::json!("${connectionConfig.audience}"),
    );
    params.insert("n".to_string(), serde_json::json!(3));
    let out = interpolate_params(&params, &cfg(&[("audience", "https://api.x/ v")])).unwrap();
    assert_eq!(out["audience"], "https://api.x/ v");
    assert_eq!(out["n"], "3");
    assert_eq!(
        interpolate_params(&params, &cfg(&[])).unwrap_err().0,
        vec!["audience".to_string()]
    );
    assert_eq!(interpolate_param("${a} || b", &cfg(&[])).unwrap(), "b");
}

#[test]
fn every_shipped_oauth_url_with_a_host_placeholder_has_a_pattern() {
    let c = Catalog::load(None).unwrap();
    let mut unguarded = Vec::new();
    for (name, e) in c.iter() {
        let p = e.provider.as_ref().unwrap();
        let urls = [
            p.authorization_url.clone(),
            p.token_url
                .as_ref()
                .and_then(|u| u.for_mode(p.auth_mode.as_str()))
                .map(String::from),
            p.refresh_url.clone(),
        ];
        for url in urls.into_iter().flatten() {
            for alternative in url.split("||").map(str::trim) {
                let host_end = alternative.find("://").map(|i| {
                    i + 3
                        + alternative[i + 3..]
                            .find('/')
                            .unwrap_or(alternative.len() - i - 3)
                });
                for (key, at) in placeholders(alternative) {
                    let guarded = p
                        .connection_config
                        .get(&key)
                        .and_then(|f| f.pattern.as_ref());
                    if host_end.is_some_and(|end| at < end) && guarded.is_none() {
                        unguarded.push(format!("{name}: {key}"));
                    }
                }
            }
        }
    }
    // A field without a `pattern` would have its flows refused with `url_param_err` (safe, but
    // useless): every shipped one has a pattern now.
    unguarded.dedup();
    assert!(
        unguarded.is_empty(),
        "host placeholders without a pattern: {unguarded:?}"
    );
}

#[test]
fn shipped_host_patterns_accept_real_values_and_refuse_others() {
    let c = Catalog::load(None).unwrap();
    let check = |provider: &str, key: &str, value: &str| {
        let p = c.get(provider).unwrap().provider.clone().unwrap();
        let url = p
            .token_url
            .as_ref()
            .and_then(|u| u.for_mode(p.auth_mode.as_str()))
            .unwrap()
            .to_string();
        interpolate_url(&url, &cfg(&[(key, value)]), &p.connection_config)
    };
    for ok in ["com", "eu", "com.au", "jp"] {
        let url = check("zoho-crm", "extension", ok).unwrap();
        assert_eq!(url, format!("https://accounts.zoho.{ok}/oauth/v2/token"));
    }
    for bad in ["evil.example", "com/x", "com.evil", "attacker.com#"] {
        assert!(check("zoho", "extension", bad).is_err(), "{bad}");
    }
    assert_eq!(
        check("auth0-cc", "hostname", "acme.us.auth0.com").unwrap(),
        "https://acme.us.auth0.com/oauth/token"
    );
    for bad in [
        "acme.auth0.com/x",
        "user@evil.example",
        "localhost",
        "a.b:8080",
    ] {
        assert!(check("auth0-cc", "hostname", bad).is_err(), "{bad}");
    }
}
