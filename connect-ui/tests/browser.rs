//! Browser-only behaviour (the parts that go through the browser's `URL` and JS objects), run in
//! headless Chromium: `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p connect-ui --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use connect_ui::config::{Embedder, Hosting, LaunchConfig};
use connect_ui::theme::{self, ThemeChoice};
use connect_ui::wire::{self, Fields, JsObject};
use latchkey_protocol::connect::ConnectUiSettings;
use latchkey_protocol::events::{ConnectPayload, ConnectUiEvent, ParentMessage};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const PAGE: &str = "http://localhost:3003/connect/";
const ORIGIN: &str = "http://localhost:3003";

fn config(query: &str, embedded: bool) -> LaunchConfig {
    LaunchConfig::from_url(&format!("{PAGE}?{query}"), ORIGIN, embedded)
}

#[wasm_bindgen_test]
fn embedded_page_trusts_only_an_exact_parent_origin() {
    let exact = config("parentOrigin=http%3A%2F%2F127.0.0.1%3A3010", true);
    assert_eq!(
        exact.hosting,
        Hosting::Embedded {
            parent_origin: Some("http://127.0.0.1:3010".into())
        }
    );
    for bad in [
        "",
        "parentOrigin=http%3A%2F%2F127.0.0.1%3A3010%2F",
        "parentOrigin=*",
        "parentOrigin=javascript%3Aalert(1)",
        "parentOrigin=null",
    ] {
        assert_eq!(
            config(bad, true).hosting,
            Hosting::Embedded {
                parent_origin: None
            },
            "{bad}"
        );
    }
}

#[wasm_bindgen_test]
fn without_parent_origin_the_browser_names_the_parent() {
    let hosting = |query: &str, ancestor_origin: Option<&str>, referrer: &str| {
        LaunchConfig::from_page(
            &format!("{PAGE}?{query}"),
            ORIGIN,
            Some(Embedder {
                ancestor_origin,
                referrer,
            }),
        )
        .hosting
    };
    let parent = |origin: Option<&str>| Hosting::Embedded {
        parent_origin: origin.map(str::to_owned),
    };
    let app = "http://127.0.0.1:3010";
    // The official @nangohq/frontend adds no parentOrigin: Chromium's ancestorOrigins names it.
    assert_eq!(hosting("apiURL=x", Some(app), ""), parent(Some(app)));
    // Firefox has no ancestorOrigins: the referrer's origin (never its path or query).
    assert_eq!(
        hosting("", None, "http://127.0.0.1:3010/settings?tab=1"),
        parent(Some(app))
    );
    // Nothing to go by (a `no-referrer` page in Firefox): nobody to talk to.
    assert_eq!(hosting("", None, ""), parent(None));
    assert_eq!(hosting("", Some("null"), "about:blank"), parent(None));
    // A parentOrigin the browser contradicts is a lie: no parent at all.
    assert_eq!(
        hosting("parentOrigin=https%3A%2F%2Fevil.example", Some(app), ""),
        parent(None)
    );
    assert_eq!(
        hosting("parentOrigin=http%3A%2F%2F127.0.0.1%3A3010", Some(app), ""),
        parent(Some(app))
    );
}

#[wasm_bindgen_test]
fn session_token_in_the_url_counts_only_for_a_top_level_connect_link() {
    let link = config("session_token=nango_connect_session_ab", false);
    assert_eq!(
        link.hosting,
        Hosting::ConnectLink {
            session_token: Some("nango_connect_session_ab".into())
        }
    );
    assert!(!link.is_embedded());
    let framed = config("session_token=nango_connect_session_ab", true);
    assert_eq!(
        framed.hosting,
        Hosting::Embedded {
            parent_origin: None
        }
    );
}

#[wasm_bindgen_test]
fn api_url_keeps_its_prefix_and_defaults_to_the_page_origin() {
    assert_eq!(
        config("apiURL=https%3A%2F%2Fapi.example.com%2Flatchkey%2F", true).api_url,
        "https://api.example.com/latchkey"
    );
    assert_eq!(
        config("apiURL=http%3A%2F%2Flocalhost%3A3003", true).api_url,
        "http://localhost:3003"
    );
    assert_eq!(config("", true).api_url, ORIGIN);
    assert_eq!(config("apiURL=javascript%3Aalert(1)", true).api_url, ORIGIN);
    assert_eq!(config("apiURL=not%20a%20url", true).api_url, ORIGIN);
}

#[wasm_bindgen_test]
fn theme_lang_and_closed_window_detection_are_read() {
    let c = config("theme=dark&lang=fr&detectClosedAuthWindow=true", true);
    assert_eq!(
        (c.theme, c.lang.as_deref(), c.detect_closed_auth_window),
        (Some(ThemeChoice::Dark), Some("fr"), true)
    );
    let c = config("theme=purple&detectClosedAuthWindow=1", true);
    assert_eq!(
        (c.theme, c.lang, c.detect_closed_auth_window),
        (None, None, false)
    );
}

#[wasm_bindgen_test]
fn events_reach_js_in_the_protocol_shape() {
    let event = ConnectUiEvent::Connect {
        payload: ConnectPayload {
            provider_config_key: "github".into(),
            connection_id: "c1".into(),
            is_pending: None,
        },
    };
    let written: JsObject = latchkey_protocol::codec::write_connect_ui_event(&event);
    let json = js_sys::JSON::stringify(&written.0)
        .unwrap()
        .as_string()
        .unwrap();
    assert_eq!(
        json,
        r#"{"type":"connect","payload":{"providerConfigKey":"github","connectionId":"c1"}}"#
    );
}

#[wasm_bindgen_test]
fn parent_messages_are_read_from_js_objects() {
    let parse = |s: &str| JsObject(js_sys::JSON::parse(s).unwrap());
    assert_eq!(
        latchkey_protocol::codec::read_parent_message(&parse(
            r#"{"type":"session_token","sessionToken":"t1"}"#
        )),
        Some(ParentMessage::SessionToken {
            session_token: "t1".into()
        })
    );
    assert_eq!(
        latchkey_protocol::codec::read_parent_message(&parse(
            r#"{"type":"session_token","sessionToken":42}"#
        )),
        None
    );
    assert_eq!(
        latchkey_protocol::codec::read_parent_message(&JsObject(JsValue::from_str(
            "session_token"
        ))),
        None
    );
    let list = parse(
        r#"{"data":[{"unique_key":"k","provider":"p","display_name":"P","logo":"l"},{"bad":1}]}"#,
    );
    let read: Vec<_> = list
        .list("data")
        .unwrap()
        .iter()
        .filter_map(wire::read_integration)
        .collect();
    assert_eq!(read.len(), 1);
}

#[wasm_bindgen_test]
fn theme_sets_class_and_primary_colours() {
    let mut settings = ConnectUiSettings::default();
    settings.theme.light.primary = "#5b21b6".into();
    settings.theme.dark.primary = "red; background: url(x)".into();
    theme::apply(ThemeChoice::Dark, Some(&settings.theme));
    let root = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .document_element()
        .unwrap();
    assert_eq!(root.class_name(), "dark");
    let style = root.get_attribute("style").unwrap_or_default();
    assert!(style.contains("--primary-light: #5b21b6"), "{style}");
    assert!(style.contains("--on-primary-light: #ffffff"), "{style}");
    assert!(
        !style.contains("--primary-dark"),
        "a malformed colour never reaches CSS: {style}"
    );
    theme::apply(ThemeChoice::System, None);
    assert_eq!(root.class_name(), "");
}

#[wasm_bindgen_test]
fn a_listener_ends_with_the_owner_it_was_added_under() {
    use reactive_graph::owner::Owner;
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::JsCast;

    let button: web_sys::HtmlElement = connect_ui::dom::el("button", "").unchecked_into();
    let clicks = Rc::new(Cell::new(0));
    let screen = Owner::new();
    screen.with(|| {
        let clicks = clicks.clone();
        connect_ui::dom::on_click(&button, Box::new(move || clicks.set(clicks.get() + 1)));
    });
    button.click();
    assert_eq!(clicks.get(), 1, "the listener runs while its screen lives");
    // What replacing the screen does to the screen's owner.
    screen.cleanup();
    button.click();
    assert_eq!(clicks.get(), 1, "and is removed (and freed) with it");
}
