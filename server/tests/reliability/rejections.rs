//! Bad input (issue 12; on PostgreSQL too when the suite runs with `LATCHKEY_TEST_POSTGRES`): every
//! rejection, from a handler or from the framework, is the JSON error envelope with Nango's code.

use crate::common::reliability::with_receiver;
use reqwest::Method;
use serde_json::Value;

/// (method, path, raw body, status, code) for a rejection.
type Case = (Method, &'static str, Option<String>, u16, &'static str);

#[tokio::test]
async fn every_rejection_is_the_json_envelope_with_nangos_code() {
    let (h, _) = with_receiver().await;
    let big = format!("{{\"provider\":\"{}\"}}", "x".repeat(300 * 1024));
    let cases: Vec<Case> = vec![
        // Query: a duplicate field, a wrong type, an unknown field.
        (
            Method::GET,
            "/connections/c1?provider_config_key=key-only&provider_config_key=other",
            None,
            400,
            "invalid_query_params",
        ),
        (
            Method::GET,
            "/environment/webhooks?limit=many",
            None,
            400,
            "invalid_query_params",
        ),
        (
            Method::GET,
            "/environment/webhooks?colour=red",
            None,
            400,
            "invalid_query_params",
        ),
        // Path: bad UTF-8 in a path parameter.
        (
            Method::GET,
            "/connections/%FF%FE?provider_config_key=key-only",
            None,
            400,
            "invalid_uri_params",
        ),
        (
            Method::GET,
            "/providers/%C3%28",
            None,
            400,
            "invalid_uri_params",
        ),
        // Body: not JSON, not an object where an object is required, over the size limit.
        (
            Method::POST,
            "/integrations",
            Some("{not json".into()),
            400,
            "invalid_json",
        ),
        (
            Method::POST,
            "/integrations",
            Some(r#"["key-only","arr-key"]"#.into()),
            400,
            "invalid_body",
        ),
        (
            Method::POST,
            "/integrations",
            Some(r#""key-only""#.into()),
            400,
            "invalid_body",
        ),
        (
            Method::POST,
            "/connect/sessions",
            Some(r#"[{"id":"u1"}]"#.into()),
            400,
            "invalid_body",
        ),
        (
            Method::PATCH,
            "/environment/settings",
            Some("[null,null]".into()),
            400,
            "invalid_body",
        ),
        (
            Method::PATCH,
            "/environment/settings",
            Some("42".into()),
            400,
            "invalid_body",
        ),
        (
            Method::POST,
            "/connections/metadata",
            Some("true".into()),
            400,
            "invalid_body",
        ),
        (
            Method::POST,
            "/integrations",
            Some(big),
            413,
            "payload_too_large",
        ),
        // Method, route, and files under /connect/ and /sdk/.
        (
            Method::DELETE,
            "/providers",
            None,
            405,
            "method_not_allowed",
        ),
        (
            Method::PUT,
            "/connect/sessions",
            None,
            405,
            "method_not_allowed",
        ),
        (Method::GET, "/no/such/route", None, 404, "not_found"),
        (Method::GET, "/connect/missing.js", None, 404, "not_found"),
        (Method::GET, "/sdk/missing.js", None, 404, "not_found"),
    ];
    for (method, path, body, status, code) in cases {
        let mut req = h
            .http
            .request(method.clone(), format!("{}{path}", h.base))
            .bearer_auth(h.server.secret_key());
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let res = req.send().await.unwrap();
        let got = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let text = res.text().await.unwrap();
        assert_eq!(got, status, "{method} {path}: {text}");
        assert!(
            content_type.starts_with("application/json"),
            "{method} {path}: {content_type} {text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["code"], code, "{method} {path}: {v}");
        assert!(
            !v["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{method} {path}: a message says what is wrong: {v}"
        );
    }
    // Nothing was created from the array.
    let r = h.backend(Method::GET, "/integrations/arr-key", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
}
