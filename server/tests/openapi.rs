//! `GET /openapi.json` documents every route the server answers. The route list comes from the
//! routers' source itself (every `.route(…)`, `.route_service(…)` and `.nest(…)` under `src/http/`,
//! with a literal path or one of `latchkey_protocol::routes`' constants, resolved from its source),
//! so a route added anywhere without documentation fails this test, and so does a documented route
//! that no router serves any more. Whether the schemas are right is checked on every JSON answer of
//! the suite by the harness (`common/openapi.rs`); the last tests here show that check can fail.

mod common;

use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `NAME → path` of the `pub const NAME: &str = "…";` lines of `protocol/src/routes.rs`.
fn shared_routes() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol/src/routes.rs");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("pub const ")?;
            let (name, value) = rest.split_once(": &str = \"")?;
            Some((name.to_string(), value.strip_suffix("\";")?.to_string()))
        })
        .collect()
}

/// The path a router call's first argument names: a literal, `routes::NAME` or
/// `routes::keyed(routes::NAME)` (`NAME`'s path followed by `{key}`).
fn route_path(first_arg: &str, shared: &[(String, String)]) -> Option<String> {
    if let Some(literal) = first_arg.split('"').nth(1) {
        return Some(literal.to_string());
    }
    let (_, name) = first_arg.rsplit_once("routes::")?;
    let name: String = name
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let (_, path) = shared.iter().find(|(n, _)| *n == name)?;
    Some(if first_arg.contains("keyed(") {
        format!("{path}{{key}}")
    } else {
        path.clone()
    })
}

/// The byte index of the first character of `text` for which `stop(c, depth)` holds, `depth` being
/// the parenthesis depth after that character (starting from `depth`).
fn find_at_depth(text: &str, mut depth: i32, stop: impl Fn(char, i32) -> bool) -> Option<usize> {
    text.char_indices()
        .find(|&(_, c)| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            stop(c, depth)
        })
        .map(|(i, _)| i)
}

/// `(method, path)` of every route registered in the routers, and the prefixes of nested routers.
fn routes_in_source() -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let shared = shared_routes();
    assert!(shared.len() > 10, "read protocol/src/routes.rs: {shared:?}");
    let mut routes = BTreeSet::new();
    let mut nested = BTreeSet::new();
    let mut files = vec![];
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 5, "found the router sources");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for call in [".route(", ".route_service(", ".nest("] {
            let mut rest = text.as_str();
            while let Some(at) = rest.find(call) {
                let args = &rest[at + call.len()..];
                // The call's arguments: up to the matching parenthesis.
                let end = find_at_depth(args, 1, |_, depth| depth == 0).unwrap();
                let args = &args[..end];
                rest = &rest[at + call.len() + end..];
                // The first argument ends at the first comma outside parentheses.
                let first_end =
                    find_at_depth(args, 0, |c, depth| c == ',' && depth == 0).unwrap_or(args.len());
                let (first_arg, after_path) = args.split_at(first_end);
                let Some(path) = route_path(first_arg, &shared) else {
                    continue; // not a path (e.g. a doc comment mentioning `.route(…)`)
                };
                let path = path.as_str();
                if call == ".nest(" {
                    nested.insert(path.to_string());
                    continue;
                }
                if call == ".route_service(" {
                    routes.insert(("get".to_string(), path.to_string()));
                    continue;
                }
                for method in METHODS {
                    let needle = format!("{method}(");
                    let found = after_path.match_indices(&needle).any(|(i, _)| {
                        i == 0 || {
                            let prev = after_path.as_bytes()[i - 1];
                            !(prev.is_ascii_alphanumeric() || prev == b'_')
                        }
                    });
                    if found {
                        routes.insert((method.to_string(), path.to_string()));
                    }
                }
            }
        }
    }
    (routes, nested)
}

#[tokio::test]
async fn openapi_document_covers_every_route_of_the_router() {
    let (routes, nested) = routes_in_source();
    assert!(routes.len() > 30, "parsed the routers: {routes:?}");
    assert!(routes.contains(&("patch".into(), "/integrations/{key}".into())));

    let h = common::harness(None).await;
    let r = h.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    let doc: Value = r.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");

    let missing: Vec<_> = routes
        .iter()
        .filter(|(m, p)| paths.get(p).and_then(|item| item.get(m)).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from /openapi.json: {missing:?}"
    );
    for prefix in &nested {
        assert!(
            paths.keys().any(|p| p.starts_with(&format!("{prefix}/"))),
            "nothing documented under the nested router {prefix}"
        );
    }
    // And nothing documented that no router serves.
    let stale: Vec<_> = paths
        .iter()
        .flat_map(|(p, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| (m.to_string(), p.clone()))
        })
        .filter(|(m, p)| {
            !routes.contains(&(m.clone(), p.clone()))
                && !nested.iter().any(|n| p.starts_with(&format!("{n}/")))
        })
        .collect();
    assert!(stale.is_empty(), "documented but not routed: {stale:?}");

    // Authenticated operations name their scheme and the error envelope.
    let get_connection = &paths["/connections/{id}"]["get"];
    assert_eq!(
        get_connection["security"][0]["secretKey"],
        serde_json::json!([])
    );
    assert!(get_connection["responses"]["4XX"].is_object());
    assert!(doc["components"]["securitySchemes"]["connectSessionTokenQuery"].is_object());

    // The OAuth popup's pages are documented as HTML, failures included (only the rate limiter,
    // which answers before them, sends the envelope); every other route, public ones included,
    // documents the error envelope for 4xx and 5xx.
    for (path, method) in [
        ("/oauth/connect/{key}", "get"),
        ("/oauth/callback", "get"),
        ("/app-auth/connect", "get"),
    ] {
        let mut responses = paths[path][method]["responses"]
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            responses["429"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Error"
        );
        responses.remove("429");
        let text = serde_json::to_string(&responses).unwrap();
        assert!(!text.contains("application/json"), "{path}: {text}");
        assert!(
            responses["4XX"]["content"]["text/html"].is_object(),
            "{path}"
        );
    }
    assert!(
        paths["/oauth/callback"]["get"]["responses"]["200"]["content"]["text/html"].is_object()
    );
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            if path.starts_with("/oauth/connect/")
                || ["/oauth/callback", "/app-auth/connect"].contains(&path.as_str())
            {
                continue;
            }
            for class in ["4XX", "5XX"] {
                assert_eq!(
                    op["responses"][class]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{method} {path} {class}"
                );
            }
        }
    }
}

/// The check the harness runs on every answer refuses what the document does not promise: a wrong
/// shape, a status the operation does not list, JSON where HTML is documented; and accepts the
/// right ones (unknown routes and methods against the error envelope).
#[test]
fn harness_check_refuses_answers_the_document_does_not_promise() {
    use common::openapi::check;
    let json = "application/json";
    let session = br#"{"data":{"token":"nango_connect_session_x","connect_link":"http://l/connect/","expires_at":"2026-01-01T00:00:00Z"}}"#;
    assert_eq!(
        check("POST", "/connect/sessions", 201, json, session),
        Ok(true)
    );
    let missing_token = br#"{"data":{"connect_link":"x","expires_at":"y"}}"#;
    let err = check("POST", "/connect/sessions", 201, json, missing_token).unwrap_err();
    assert!(err.contains("token"), "{err}");
    let wrong_type = br#"{"success":"yes"}"#;
    assert!(check(
        "DELETE",
        "/connections/c1?provider_config_key=k",
        200,
        json,
        wrong_type
    )
    .is_err());
    assert_eq!(
        check(
            "DELETE",
            "/connections/c1",
            200,
            json,
            br#"{"success":true}"#
        ),
        Ok(true)
    );
    // A status the operation does not document (a 2xx other than its own).
    assert!(check("POST", "/connect/sessions", 202, json, session).is_err());
    // Errors: the envelope, on documented routes and on unknown ones.
    let envelope = br#"{"error":{"code":"not_found","message":"Unknown route."}}"#;
    assert_eq!(
        check("GET", "/no/such/route", 404, json, envelope),
        Ok(true)
    );
    assert_eq!(check("PUT", "/connections", 405, json, envelope), Ok(true));
    assert!(check(
        "GET",
        "/integrations/x",
        404,
        json,
        br#"{"message":"nope"}"#
    )
    .is_err());
    // The OAuth callback answers HTML, never JSON.
    assert!(check("GET", "/oauth/callback", 200, json, br#"{}"#).is_err());
    assert_eq!(
        check("GET", "/oauth/callback", 200, "text/html", b"<html>"),
        Ok(false)
    );
    // The most literal template wins: metadata is not a connection id.
    let metadata = br#"{"connection_id":["a","b"],"provider_config_key":"k","metadata":{"x":1}}"#;
    assert_eq!(
        check("PATCH", "/connections/metadata", 200, json, metadata),
        Ok(true)
    );
    // Credentials of a connection without any are `{}`; an unknown type is refused.
    let conn = |creds: &str| {
        format!(
            r#"{{"id":1,"connection_id":"c","provider_config_key":"k","provider":"p","errors":[],"end_user":null,"tags":{{}},"metadata":{{}},"connection_config":{{}},"created_at":"t","updated_at":"t","credentials":{creds}}}"#
        )
    };
    for (creds, ok) in [
        (r#"{}"#, true),
        (r#"{"type":"API_KEY","apiKey":"k"}"#, true),
        (r#"{"type":"API_KEY"}"#, false),
        (r#"{"type":"MAGIC"}"#, false),
    ] {
        let result = check("GET", "/connections/c", 200, json, conn(creds).as_bytes());
        assert_eq!(result.is_ok(), ok, "{creds}: {result:?}");
    }
}

/// Every `$ref` of the document names a schema it has.
#[test]
fn every_reference_resolves() {
    let doc = serde_json::to_value(latchkey_server::http::openapi::doc()).unwrap();
    let mut refs = vec![];
    let mut stack = vec![&doc];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    refs.push(r.clone());
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    assert!(refs.len() > 20, "{refs:?}");
    let dangling: Vec<_> = refs
        .iter()
        .filter(|r| doc.pointer(r.trim_start_matches('#')).is_none())
        .collect();
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
    if let Ok(out) = std::env::var("LATCHKEY_OPENAPI_DUMP") {
        std::fs::write(out, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    }
}

/// The JSON operations no other suite of the harness reaches, called once each so that their
/// answers go through the harness's check too (success and error shapes).
#[tokio::test]
async fn answers_of_the_remaining_operations_match_the_document() {
    let h = common::harness(None).await;
    let get = |path: &'static str| h.call(Method::GET, path, None, None);
    let info = get("/").await;
    assert_eq!(
        (info.status, info.body["name"].as_str()),
        (200, Some("latchkey"))
    );
    assert_eq!(get("/health").await.status, 200);
    assert_eq!(get("/ready").await.body["status"], "ok");

    h.create_integration("gh", "github", None).await;
    let unknown = h
        .call(
            Method::POST,
            &format!("/oauth/result/{}", "a".repeat(64)),
            None,
            None,
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let metadata = serde_json::json!({"connection_id": "c1", "provider_config_key": "gh", "metadata": {"a": 1}});
    for method in [Method::POST, Method::PATCH] {
        let r = h
            .backend(method, "/connection/metadata", Some(metadata.clone()))
            .await;
        assert_eq!(r.body["error"]["code"], "unknown_connection", "{}", r.body);
    }
    let r = h
        .backend(
            Method::DELETE,
            "/connection/c1?provider_config_key=gh",
            None,
        )
        .await;
    assert_eq!(r.body["error"]["code"], "unknown_connection");
    let r = h.backend(Method::DELETE, "/integrations/gh", None).await;
    assert_eq!(
        (r.status, &r.body),
        (200, &serde_json::json!({"success": true}))
    );
}
