//! Checks a JSON answer against `GET /openapi.json` (issue 12): [`super::Harness::call`] runs every
//! answer of the server suite through [`check`], so a handler that answers a shape, or a status,
//! the document does not promise fails the test that produced it.
//!
//! The operation is found like the router finds it (the template with the most literal segments
//! wins: `/connections/metadata` over `/connections/{id}`); a path no template matches is the
//! unknown-route 404 and a method the template lacks is the 405, both checked against the error
//! envelope. Schemas are JSON Schema 2020-12 (OpenAPI 3.1's dialect), validated by the `jsonschema`
//! crate with `#/components/…` references resolved in the document.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

struct Checker {
    doc: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn checker() -> &'static Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER.get_or_init(|| Checker {
        doc: serde_json::to_value(latchkey_server::http::openapi::doc()).unwrap(),
        validators: Mutex::default(),
    })
}

/// The documented template `path` falls under, if any.
fn template<'d>(doc: &'d Value, path: &str) -> Option<&'d str> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(&str, usize)> = None;
    for tpl in doc["paths"].as_object().unwrap().keys() {
        let parts: Vec<&str> = tpl.split('/').collect();
        // `/proxy/{endpoint}`: the endpoint is the rest of the path, slashes included.
        let rest = tpl.starts_with("/proxy/") && segments.len() >= parts.len();
        if parts.len() != segments.len() && !rest {
            continue;
        }
        let mut literal = 0;
        let matches = parts.iter().zip(&segments).all(|(p, s)| {
            if p.starts_with('{') {
                !s.is_empty()
            } else {
                literal += 1;
                p == s
            }
        });
        if matches && best.is_none_or(|(_, n)| literal > n) {
            best = Some((tpl.as_str(), literal));
        }
    }
    best.map(|(t, _)| t)
}

/// Which schema an answer must match: a pointer into the document, or `None` when the document
/// leaves the body open (`*/*`: a static file, the proxy passing the provider's answer through).
fn schema_pointer(
    doc: &Value,
    method: &str,
    path: &str,
    status: u16,
) -> Result<(String, Option<String>), String> {
    let error = Some("/components/schemas/Error".to_string());
    let Some(tpl) = template(doc, path) else {
        return Ok((format!("{method} <unknown route> {status}"), error));
    };
    let method = method.to_ascii_lowercase();
    let op_pointer = format!(
        "/paths/{}/{method}",
        tpl.replace('~', "~0").replace('/', "~1")
    );
    let Some(op) = doc.pointer(&op_pointer) else {
        return Ok((
            format!(
                "{} {tpl} <no such method> {status}",
                method.to_ascii_uppercase()
            ),
            error,
        ));
    };
    let label = format!("{} {tpl} {status}", method.to_ascii_uppercase());
    let class = format!("{}XX", status / 100);
    let Some(key) = [status.to_string(), class, "default".into()]
        .into_iter()
        .find(|k| op["responses"].get(k).is_some())
    else {
        return Err(format!("{label}: status not documented"));
    };
    let content = &op["responses"][&key]["content"];
    if content.get("application/json").is_some() {
        let pointer = format!("{op_pointer}/responses/{key}/content/application~1json/schema");
        return Ok((label, Some(pointer)));
    }
    if content.get("*/*").is_some() {
        return Ok((label, None));
    }
    Err(format!(
        "{label}: answered JSON, the document says {}",
        serde_json::to_string(content).unwrap()
    ))
}

/// Checks one answer; `Ok(false)` when there was nothing to check (not JSON, or an open body).
pub fn check(
    method: &str,
    path: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> Result<bool, String> {
    if !content_type.starts_with("application/json") {
        return Ok(false);
    }
    let path = path.split('?').next().unwrap_or(path);
    let instance: Value =
        serde_json::from_slice(body).map_err(|e| format!("{method} {path}: not JSON ({e})"))?;
    let c = checker();
    let (label, pointer) = schema_pointer(&c.doc, method, path, status)?;
    let Some(pointer) = pointer else {
        return Ok(false);
    };
    let validator = {
        let mut cache = c.validators.lock().unwrap();
        cache
            .entry(pointer.clone())
            .or_insert_with(|| {
                // The schema with the document's components beside it, so `#/components/…` resolves.
                let mut root = c.doc.pointer(&pointer).unwrap().clone();
                if !root.is_object() {
                    root = json!({ "allOf": [root] });
                }
                root["components"] = c.doc["components"].clone();
                Arc::new(
                    jsonschema::draft202012::new(&root)
                        .unwrap_or_else(|e| panic!("{label}: the schema does not compile: {e}")),
                )
            })
            .clone()
    };
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at `{}`", e, e.instance_path()))
        .collect();
    if !errors.is_empty() {
        return Err(format!(
            "{label}: the answer does not match /openapi.json: {}\nbody: {instance}",
            errors.join("; ")
        ));
    }
    if let Ok(log) = std::env::var("LATCHKEY_OPENAPI_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            // One write per line: test threads append concurrently.
            let _ = f.write_all(format!("{label}\n").as_bytes());
        }
    }
    Ok(true)
}

/// Reads an answer and [`check`]s it (panicking on a mismatch): for suites with their own client
/// helpers. `path` is the request's path (and query).
pub async fn read(method: &str, path: &str, res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = res.bytes().await.unwrap_or_default();
    if let Err(e) = check(method, path, status, &content_type, &bytes) {
        panic!("{e}");
    }
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
