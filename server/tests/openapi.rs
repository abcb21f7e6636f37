//! `GET /openapi.json` documents every route the server answers. The route list comes from the
//! routers' source itself (every `.route(…)`, `.route_service(…)` and `.nest(…)` under `src/http/`),
//! so a route added anywhere without documentation fails this test, and so does a documented route
//! that no router serves any more.

mod common;

use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `(method, path)` of every route registered in the routers, and the prefixes of nested routers.
fn routes_in_source() -> (BTreeSet<(String, String)>, BTreeSet<String>) {
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
                let mut depth = 1;
                let end = args
                    .char_indices()
                    .find(|(_, c)| {
                        match c {
                            '(' => depth += 1,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        depth == 0
                    })
                    .map(|(i, _)| i)
                    .unwrap();
                let args = &args[..end];
                rest = &rest[at + call.len() + end..];
                let Some(path) = args.split('"').nth(1) else {
                    continue; // not a literal path (e.g. a doc comment mentioning `.route(…)`)
                };
                if call == ".nest(" {
                    nested.insert(path.to_string());
                    continue;
                }
                if call == ".route_service(" {
                    routes.insert(("get".to_string(), path.to_string()));
                    continue;
                }
                let after_path = args.splitn(3, '"').nth(2).unwrap_or("");
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

    // The OAuth popup's pages are documented as HTML (they never answer JSON); every other route,
    // public ones included, documents the error envelope for 4xx and 5xx.
    for (path, method) in [("/oauth/connect/{key}", "get"), ("/oauth/callback", "get")] {
        let responses = paths[path][method]["responses"].as_object().unwrap();
        let text = serde_json::to_string(responses).unwrap();
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
                || path == "/oauth/callback"
                || path == "/connect/"
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
