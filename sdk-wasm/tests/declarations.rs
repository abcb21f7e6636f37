//! `pkg/index.d.ts` is written by hand (it mirrors `@nangohq/frontend`'s surface, which generated
//! declarations could not name). Where it spells protocol values — the error types the SDK rejects
//! with, the events the Connect UI reports — this test holds it to the code, so the two cannot drift.

use latchkey_protocol::events::{ConnectPayload, ConnectUiEvent, ErrorPayload};
use latchkey_protocol::AuthErrorType;
use std::collections::BTreeSet;

fn declarations() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pkg/index.d.ts");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `'…'` literals of `export type <name> = …;`, in the `key: '…'` position when `key` is given
/// (else every quoted literal).
fn literals(text: &str, name: &str, key: Option<&str>) -> BTreeSet<String> {
    let start = text
        .find(&format!("export type {name} ="))
        .unwrap_or_else(|| panic!("index.d.ts declares no type {name}"));
    let body = &text[start..];
    let body = &body[..body.find(";\n").expect("the declaration ends")];
    let marker = key.map(|k| format!("{k}: '")).unwrap_or_else(|| "'".into());
    let mut out = BTreeSet::new();
    let mut rest = body;
    while let Some(at) = rest.find(&marker) {
        let value = &rest[at + marker.len()..];
        let end = value.find('\'').expect("a closing quote");
        out.insert(value[..end].to_string());
        rest = &value[end + 1..];
    }
    out
}

#[test]
fn the_declared_error_types_are_the_ones_the_sdk_has() {
    let declared = literals(&declarations(), "AuthErrorType", None);
    let code: BTreeSet<String> = AuthErrorType::ALL
        .iter()
        .map(|t| t.as_str().to_string())
        .collect();
    assert_eq!(declared, code, "pkg/index.d.ts AuthErrorType");
}

#[test]
fn the_declared_connect_ui_events_are_the_ones_the_protocol_has() {
    let declared = literals(&declarations(), "ConnectUIEvent", Some("type"));
    let payload = ConnectPayload {
        provider_config_key: String::new(),
        connection_id: String::new(),
        is_pending: None,
    };
    let error = ErrorPayload {
        error_type: String::new(),
        error_message: String::new(),
    };
    // Every variant (a new one fails to compile here until it is listed).
    let events = [
        ConnectUiEvent::Ready,
        ConnectUiEvent::Connect { payload },
        ConnectUiEvent::Error { payload: error },
        ConnectUiEvent::Close,
    ];
    for event in &events {
        match event {
            ConnectUiEvent::Ready
            | ConnectUiEvent::Connect { .. }
            | ConnectUiEvent::Error { .. }
            | ConnectUiEvent::Close => {}
        }
    }
    let code: BTreeSet<String> = events
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(declared, code, "pkg/index.d.ts ConnectUIEvent");
}
