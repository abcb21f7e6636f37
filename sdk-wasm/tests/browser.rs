//! The SDK in a real browser (headless Chromium through wasm-bindgen-test): what a page sees of the
//! `Nango` and `ConnectUI` classes and of the OAuth popup flow.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p latchkey-sdk --target wasm32-unknown-unknown`
//! (Chrome flags in `sdk-wasm/webdriver.json`; popups are allowed there so the flow can open one.)
//! Cross-window messages are synthesized as `MessageEvent`s with the `origin` and `source` a real sender
//! would have, which is exactly what the SDK checks.
//!
//! One file over 600 lines on purpose: each test file is its own wasm-bindgen-test binary, which
//! starts chromedriver and Chromium once more.

#![cfg(all(target_arch = "wasm32", feature = "js"))]

use js_sys::{Array, Function, Promise, Reflect};
use latchkey_sdk::{start_oauth, ConnectPayload, ConnectUi, Nango, OAuthRequest};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{HtmlIFrameElement, MessageEvent, MessageEventInit, Window};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = "
let realOpen = null;
let blocked = false;
let last = null;
export function capture_popups(block) {
    if (!realOpen) {
        realOpen = window.open.bind(window);
        window.open = (...args) => (last = blocked ? null : realOpen(...args));
    }
    blocked = block;
    last = null;
}
export function last_popup() { return last; }
export function collector() {
    const events = [];
    const f = (e) => { events.push(e); };
    f.events = events;
    return f;
}
export function collected(f) { return f.events; }
export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
export function iframe_count() { return document.querySelectorAll('iframe#connect-ui').length; }
export function body_overflow() { return document.body.style.overflow; }
export function loaded(iframe) {
    return new Promise((r) => iframe.addEventListener('load', () => r(), { once: true }));
}
export function next_message(win) {
    return new Promise((r) => win.addEventListener('message', (e) => r(e), { once: true }));
}
export class TestAuthError extends Error {
    constructor(message, type) { super(message); this.type = type; }
}
let realFetch = null;
export function stub_fetch(status, body) {
    if (!realFetch) realFetch = window.fetch;
    const calls = [];
    window.fetch = (url, init) => {
        calls.push([String(url), init]);
        return Promise.resolve(new Response(JSON.stringify(body), { status }));
    };
    return calls;
}
export function unstub_fetch() { if (realFetch) window.fetch = realFetch; }
export function is_test_auth_error(e) { return e instanceof TestAuthError; }
export function test_auth_error_class() { return TestAuthError; }
")]
extern "C" {
    fn capture_popups(block: bool);
    fn last_popup() -> Option<Window>;
    fn collector() -> Function;
    fn collected(f: &Function) -> Array;
    fn sleep(ms: i32) -> Promise;
    fn iframe_count() -> u32;
    fn body_overflow() -> String;
    fn loaded(iframe: &HtmlIFrameElement) -> Promise;
    fn next_message(window: &Window) -> Promise;
    fn is_test_auth_error(e: &JsValue) -> bool;
    fn stub_fetch(status: u16, body: &JsValue) -> Array;
    fn unstub_fetch();
    fn test_auth_error_class() -> Function;
}

fn window() -> Window {
    web_sys::window().unwrap()
}

fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap()
}

/// Dispatches on this page a `message` event as if `source` had posted `data` from `origin`.
fn deliver(origin: &str, source: Option<&Window>, data: &JsValue) {
    let init = MessageEventInit::new();
    init.set_origin(origin);
    init.set_source_opt_window(source);
    init.set_data(data);
    let event = MessageEvent::new_with_event_init_dict("message", &init).unwrap();
    window().dispatch_event(&event).unwrap();
}

/// A promise of the SDK's (typed `Promise<any>` by the façade) as a Rust future.
fn settled(promise: latchkey_sdk::Promise) -> JsFuture {
    JsFuture::from(Promise::unchecked_from_js(promise.into()))
}

async fn wait(ms: i32) {
    JsFuture::from(sleep(ms)).await.unwrap();
}

/// A Connect UI served from this very page's origin (a 404 page, but a same-origin window we can watch).
fn same_origin_connect_ui(on_event: &Function) -> ConnectUi {
    let base = format!(
        "{}/latchkey-connect-ui-under-test/",
        window().location().origin().unwrap()
    );
    ConnectUi::new(object(&[
        ("baseURL", base.into()),
        ("apiURL", "http://127.0.0.1:3003".into()),
        ("sessionToken", "nango_connect_session_test".into()),
        ("onEvent", on_event.clone().into()),
    ]))
}

fn iframe_of(ui: &ConnectUi) -> HtmlIFrameElement {
    ui.iframe().dyn_into().expect("the Connect UI is open")
}

#[wasm_bindgen_test]
async fn connect_ui_forwards_events_from_its_iframe_only() {
    let on_event = collector();
    let ui = same_origin_connect_ui(&on_event);
    ui.open().unwrap();
    let iframe = iframe_of(&ui);
    let ours = iframe.content_window().unwrap();
    let origin = window().location().origin().unwrap();
    let connect = object(&[
        ("type", "connect".into()),
        (
            "payload",
            object(&[
                ("providerConfigKey", "github".into()),
                ("connectionId", "c1".into()),
            ]),
        ),
    ]);

    deliver("https://evil.example", Some(&ours), &connect); // foreign origin, our iframe's window
    deliver(&origin, Some(&window()), &connect); // right origin, another window
    deliver(&origin, Some(&ours), &JsValue::from_str("connect")); // not an event object
    assert_eq!(
        collected(&on_event).length(),
        0,
        "nothing but our iframe's events may reach onEvent"
    );

    deliver(&origin, Some(&ours), &connect);
    let events = collected(&on_event);
    assert_eq!(events.length(), 1);
    let forwarded = events.get(0);
    assert_eq!(get(&forwarded, "type"), "connect");
    assert_eq!(get(&get(&forwarded, "payload"), "connectionId"), "c1");
    ui.close();
}

#[wasm_bindgen_test]
async fn connect_ui_sends_the_session_token_to_its_iframe_once_ready() {
    let on_event = collector();
    let ui = same_origin_connect_ui(&on_event);
    ui.open().unwrap();
    let iframe = iframe_of(&ui);
    let src = iframe.src();
    assert!(
        !src.contains("nango_connect_session_test"),
        "the token must never be in the iframe URL: {src}"
    );
    assert!(
        src.contains("apiURL=http%3A%2F%2F127.0.0.1%3A3003"),
        "{src}"
    );
    assert!(src.contains("parentOrigin="), "{src}");
    JsFuture::from(loaded(&iframe)).await.unwrap();
    let ours = iframe.content_window().unwrap();
    let received = next_message(&ours);

    deliver(
        &window().location().origin().unwrap(),
        Some(&ours),
        &object(&[("type", "ready".into())]),
    );

    let message: MessageEvent = JsFuture::from(received).await.unwrap().unchecked_into();
    let data = message.data();
    assert_eq!(get(&data, "type"), "session_token");
    assert_eq!(get(&data, "sessionToken"), "nango_connect_session_test");
    assert_eq!(collected(&on_event).length(), 1, "`ready` is forwarded too");
    ui.close();
}

#[wasm_bindgen_test]
async fn connect_ui_closes_itself_on_its_close_event() {
    let on_event = collector();
    let ui = same_origin_connect_ui(&on_event);
    ui.open().unwrap();
    let ours = iframe_of(&ui).content_window().unwrap();
    deliver(
        &window().location().origin().unwrap(),
        Some(&ours),
        &object(&[("type", "close".into())]),
    );
    assert_eq!(iframe_count(), 0);
    assert!(ui.iframe().is_null());
    assert_eq!(collected(&on_event).length(), 1, "`close` is forwarded too");
}

#[wasm_bindgen_test]
fn connect_ui_open_twice_gives_one_iframe() {
    let ui = same_origin_connect_ui(&collector());
    ui.open().unwrap();
    ui.open().unwrap();
    assert_eq!(iframe_count(), 1);
    let iframe = iframe_of(&ui);
    assert_eq!(
        iframe.get_attribute("allow").as_deref(),
        Some("clipboard-write")
    );
    ui.close();
    assert_eq!(iframe_count(), 0);
}

#[wasm_bindgen_test]
fn connect_ui_close_restores_body_overflow() {
    assert_eq!(body_overflow(), "");
    let ui = same_origin_connect_ui(&collector());
    ui.open().unwrap();
    assert_eq!(body_overflow(), "hidden");
    ui.close();
    assert_eq!(body_overflow(), "");
    assert!(ui.iframe().is_null());
}

#[wasm_bindgen_test]
fn open_connect_ui_through_nango_reuses_its_session_token_and_opens_once() {
    let nango = Nango::new(object(&[
        ("host", "http://127.0.0.1:3003/".into()),
        ("connectSessionToken", "nango_connect_session_x".into()),
    ]))
    .unwrap();
    let base = format!(
        "{}/latchkey-connect-ui-under-test/",
        window().location().origin().unwrap()
    );
    let ui = nango
        .open_connect_ui(object(&[("baseURL", base.into())]))
        .unwrap();
    ui.open().unwrap();
    assert_eq!(iframe_count(), 1);
    ui.close();
}

#[wasm_bindgen_test]
fn invalid_host_throws_auth_error_with_a_type() {
    let error = Nango::new(object(&[("host", "not a url".into())]))
        .err()
        .expect("an invalid host must throw");
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&error, "type"), "invalid_host_url");
    assert_eq!(
        get(&error, "message"),
        "Invalid URL provided for the Nango host."
    );
}

#[wasm_bindgen_test]
async fn errors_are_instances_of_the_registered_auth_error_class() {
    latchkey_sdk::register_auth_error(&test_auth_error_class());
    let nango = Nango::new(JsValue::UNDEFINED).unwrap();
    let error = settled(nango.auth("github".into(), JsValue::UNDEFINED, JsValue::UNDEFINED))
        .await
        .expect_err("auth() without a session token must reject");
    assert!(
        is_test_auth_error(&error),
        "rejections are built from the registered AuthError class"
    );
    assert_eq!(get(&error, "type"), "missing_auth_token");
}

#[wasm_bindgen_test]
async fn auth_without_a_session_token_rejects_missing_auth_token_without_a_popup() {
    capture_popups(false);
    let nango = Nango::new(object(&[("host", "http://127.0.0.1:3003".into())])).unwrap();
    let error = settled(nango.auth("github".into(), JsValue::UNDEFINED, JsValue::UNDEFINED))
        .await
        .expect_err("auth() without a session token must reject");
    assert_eq!(get(&error, "type"), "missing_auth_token");
    assert!(last_popup().is_none(), "no popup may open without a token");
}

#[wasm_bindgen_test]
async fn reconnect_without_a_session_token_rejects() {
    let nango = Nango::new(JsValue::UNDEFINED).unwrap();
    let error = settled(nango.reconnect("github".into(), JsValue::UNDEFINED))
        .await
        .unwrap_err();
    assert_eq!(get(&error, "type"), "missing_connect_session_token");
}

#[wasm_bindgen_test]
async fn credentials_never_open_a_popup() {
    capture_popups(false);
    let nango = Nango::new(object(&[
        ("host", "http://127.0.0.1:9".into()),
        ("connectSessionToken", "nango_connect_session_x".into()),
    ]))
    .unwrap();
    let options = object(&[("credentials", object(&[("apiKey", "k".into())]))]);
    let error = settled(nango.auth("github".into(), options, JsValue::UNDEFINED))
        .await
        .unwrap_err();
    // Without the `credentials` feature they are refused; with it, nothing listens on port 9.
    let kind = get(&error, "type").as_string().unwrap();
    assert!(
        kind == "missing_credentials" || kind == "unknown_error",
        "{kind}"
    );
    assert!(last_popup().is_none());
}

fn oauth_request(host: &str) -> OAuthRequest {
    OAuthRequest {
        host: host.into(),
        provider_config_key: "github".into(),
        connect_session_token: "nango_connect_session_x".into(),
        ..OAuthRequest::default()
    }
}

/// A port nothing listens on: the result socket fails at once.
const DEAD_HOST: &str = "http://127.0.0.1:9";

#[wasm_bindgen_test]
fn blocked_popup_fails_with_blocked_by_browser() {
    capture_popups(true);
    let error = start_oauth(oauth_request(DEAD_HOST))
        .err()
        .expect("a blocked popup must fail");
    assert_eq!(error.kind, "blocked_by_browser");
    assert_eq!(error.message, "Modal blocked by browser");
    capture_popups(false);
}

#[wasm_bindgen_test]
fn invalid_host_fails_before_any_popup_opens() {
    capture_popups(false);
    let error = start_oauth(oauth_request("ftp://example.com"))
        .err()
        .unwrap();
    assert_eq!(error.kind, "invalid_host_url");
    assert!(last_popup().is_none());
}

#[wasm_bindgen_test]
async fn unreachable_websocket_rejects_and_closes_the_popup() {
    capture_popups(false);
    let flow = start_oauth(oauth_request(DEAD_HOST)).unwrap();
    let popup = last_popup().expect("the popup opens synchronously");
    assert!(!popup.closed().unwrap());
    let error = flow
        .wait()
        .await
        .expect_err("a dead WebSocket must end the flow");
    assert_eq!(error.kind, "unknown_error");
    wait(700).await;
    assert!(
        popup.closed().unwrap(),
        "no blank popup may be left hanging"
    );
}

#[wasm_bindgen_test]
async fn callback_page_message_resolves_the_flow_and_foreign_ones_are_ignored() {
    capture_popups(false);
    let flow = start_oauth(oauth_request(DEAD_HOST)).unwrap();
    let popup = last_popup().unwrap();
    let success = |connection_id: &str| {
        object(&[
            ("type", "nango_oauth_callback_success".into()),
            ("providerConfigKey", "github".into()),
            ("connectionId", connection_id.into()),
        ])
    };
    // Synchronously, before the socket's failure can be reported.
    deliver("https://evil.example", Some(&popup), &success("forged-1")); // wrong origin
    deliver(DEAD_HOST, Some(&window()), &success("forged-2")); // right origin, not the popup
    deliver(DEAD_HOST, Some(&popup), &success("conn-1"));
    let connection = flow
        .wait()
        .await
        .expect("the callback page's message resolves the flow");
    assert_eq!(
        connection,
        ConnectPayload {
            provider_config_key: "github".into(),
            connection_id: "conn-1".into(),
            is_pending: None
        }
    );
    wait(700).await;
    assert!(popup.closed().unwrap());
}

#[wasm_bindgen_test]
async fn callback_page_error_rejects_with_its_error_type() {
    capture_popups(false);
    let flow = start_oauth(oauth_request(DEAD_HOST)).unwrap();
    let popup = last_popup().unwrap();
    let error = object(&[
        ("type", "nango_oauth_callback_error".into()),
        (
            "payload",
            object(&[
                ("message", "access_denied".into()),
                ("errorType", "connection_validation_failed".into()),
            ]),
        ),
    ]);
    deliver(DEAD_HOST, Some(&popup), &error);
    let error = flow.wait().await.unwrap_err();
    assert_eq!(error.kind, "connection_validation_failed");
    assert_eq!(error.message, "access_denied");
}

#[wasm_bindgen_test]
async fn cancel_ends_the_flow_and_closes_the_popup() {
    capture_popups(false);
    let flow = start_oauth(oauth_request(DEAD_HOST)).unwrap();
    let popup = last_popup().unwrap();
    let canceller = flow.canceller();
    canceller.cancel();
    assert!(flow.wait().await.is_err());
    wait(700).await;
    assert!(popup.closed().unwrap());
    canceller.cancel(); // safe after the end
}

#[wasm_bindgen_test]
async fn auth_opens_the_popup_synchronously_and_rejects_as_auth_error() {
    capture_popups(false);
    let nango = Nango::new(object(&[
        ("host", DEAD_HOST.into()),
        ("connectSessionToken", "nango_connect_session_x".into()),
    ]))
    .unwrap();
    let promise = nango.auth("github".into(), JsValue::UNDEFINED, JsValue::UNDEFINED);
    assert!(
        last_popup().is_some(),
        "the popup must open inside the auth() call"
    );
    let error = settled(promise).await.unwrap_err();
    assert_eq!(get(&error, "type"), "unknown_error");
}

#[wasm_bindgen_test]
async fn api_key_is_posted_with_the_session_token_and_server_errors_keep_their_code() {
    let nango = Nango::new(object(&[
        ("host", "http://127.0.0.1:3003/prefix/".into()),
        ("connectSessionToken", "nango_connect_session_x".into()),
    ]))
    .unwrap();
    let options = || {
        object(&[
            ("credentials", object(&[("apiKey", "sk_live".into())])),
            ("params", object(&[("region", "eu".into())])),
        ])
    };

    let ok = object(&[
        ("connectionId", "c1".into()),
        ("providerConfigKey", "stripe".into()),
    ]);
    let calls = stub_fetch(200, &ok);
    let connection = settled(nango.auth("stripe".into(), options(), JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(get(&connection, "connectionId"), "c1");
    let call: Array = calls.get(0).unchecked_into();
    assert_eq!(
        call.get(0).as_string().unwrap(),
        "http://127.0.0.1:3003/prefix/api-auth/api-key/stripe?connect_session_token=nango_connect_session_x&params%5Bregion%5D=eu"
    );
    let init = call.get(1);
    assert_eq!(get(&init, "method"), "POST");
    assert_eq!(get(&init, "body"), r#"{"apiKey":"sk_live"}"#);

    let refused = object(&[(
        "error",
        object(&[
            ("code", "connection_test_failed".into()),
            ("message", "invalid key".into()),
        ]),
    )]);
    stub_fetch(400, &refused);
    let error = settled(nango.auth("stripe".into(), options(), JsValue::UNDEFINED))
        .await
        .unwrap_err();
    assert_eq!(get(&error, "type"), "connection_test_failed");
    assert_eq!(get(&error, "message"), "invalid key");
    unstub_fetch();
}

/// A client on a stubbed API host; `auth_options` are the second `auth()` argument.
fn stubbed_client(extra: &[(&str, JsValue)]) -> Nango {
    let mut options = vec![("host", JsValue::from("http://127.0.0.1:3003"))];
    options.extend(extra.iter().cloned());
    Nango::new(object(&options)).unwrap()
}

fn fetched(calls: &Array, i: u32) -> (String, JsValue) {
    let call: Array = calls.get(i).unchecked_into();
    (call.get(0).as_string().unwrap(), call.get(1))
}

fn session() -> (&'static str, JsValue) {
    ("connectSessionToken", "nango_connect_session_x".into())
}

#[wasm_bindgen_test]
async fn basic_and_client_credentials_go_to_their_routes_with_nango_bodies() {
    capture_popups(false);
    let nango = stubbed_client(&[session()]);
    let ok = object(&[
        ("connectionId", "c1".into()),
        ("providerConfigKey", "k".into()),
    ]);
    let calls = stub_fetch(200, &ok);

    let basic = object(&[(
        "credentials",
        object(&[("username", "u".into()), ("type", "BASIC".into())]),
    )]);
    settled(nango.auth("jira".into(), basic, JsValue::UNDEFINED))
        .await
        .unwrap();
    let cc = object(&[(
        "credentials",
        object(&[
            ("client_id", "id".into()),
            ("client_secret", "secret".into()),
        ]),
    )]);
    let done = settled(nango.auth("m2m".into(), cc, JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(get(&done, "connectionId"), "c1");
    unstub_fetch();

    let (url, init) = fetched(&calls, 0);
    assert_eq!(
        url,
        "http://127.0.0.1:3003/api-auth/basic/jira?connect_session_token=nango_connect_session_x"
    );
    assert_eq!(get(&init, "body"), r#"{"username":"u","password":""}"#);
    let (url, init) = fetched(&calls, 1);
    assert_eq!(
        url,
        "http://127.0.0.1:3003/oauth2/auth/m2m?connect_session_token=nango_connect_session_x"
    );
    assert_eq!(
        get(&init, "body"),
        r#"{"client_id":"id","client_secret":"secret"}"#
    );
    assert!(last_popup().is_none(), "credentials never open a popup");
}

#[wasm_bindgen_test]
async fn create_posts_without_a_body_and_public_key_mode_sends_connection_id_and_hmac() {
    let nango = stubbed_client(&[("publicKey", "pk-1".into())]);
    let ok = object(&[
        ("connectionId", "user-7".into()),
        ("providerConfigKey", "none".into()),
    ]);
    let calls = stub_fetch(200, &ok);
    let options = object(&[
        ("hmac", "abc123".into()),
        ("params", object(&[("region", "eu".into())])),
    ]);
    let done = settled(nango.create("none".into(), "user-7".into(), options))
        .await
        .unwrap();
    unstub_fetch();
    assert_eq!(get(&done, "connectionId"), "user-7");
    let (url, init) = fetched(&calls, 0);
    assert_eq!(
        url,
        "http://127.0.0.1:3003/auth/unauthenticated/none?connection_id=user-7&public_key=pk-1&params%5Bregion%5D=eu&hmac=abc123"
    );
    assert_eq!(get(&init, "method"), "POST");
    assert!(get(&init, "body").is_undefined(), "create() sends no body");
}

#[wasm_bindgen_test]
async fn with_a_session_token_the_connection_id_argument_is_not_sent() {
    let nango = stubbed_client(&[session()]);
    let calls = stub_fetch(200, &object(&[("connectionId", "srv".into())]));
    let options = object(&[("credentials", object(&[("apiKey", "k".into())]))]);
    settled(nango.auth("s".into(), "mine".into(), options))
        .await
        .unwrap();
    unstub_fetch();
    let (url, _) = fetched(&calls, 0);
    assert!(!url.contains("connection_id"), "{url}");
}

#[wasm_bindgen_test]
async fn aws_sigv4_credentials_post_the_role_and_region_as_nangos_frontend() {
    let nango = stubbed_client(&[session()]);
    let calls = stub_fetch(200, &object(&[("connectionId", "c1".into())]));
    let aws = object(&[(
        "credentials",
        object(&[
            ("type", "AWS_SIGV4".into()),
            ("region", "eu-west-1".into()),
            ("role_arn", "arn:aws:iam::1:role/R".into()),
        ]),
    )]);
    settled(nango.auth("aws".into(), aws, JsValue::UNDEFINED))
        .await
        .unwrap();
    unstub_fetch();
    let (url, init) = fetched(&calls, 0);
    assert_eq!(
        url,
        "http://127.0.0.1:3003/auth/aws-sigv4/aws?connect_session_token=nango_connect_session_x"
    );
    assert_eq!(
        get(&init, "body"),
        r#"{"role_arn":"arn:aws:iam::1:role/R","region":"eu-west-1"}"#
    );
}

#[wasm_bindgen_test]
async fn oauth_overrides_open_the_popup_and_unsupported_credentials_are_refused() {
    capture_popups(false);
    let nango = Nango::new(object(&[("host", DEAD_HOST.into()), session()])).unwrap();
    let calls = stub_fetch(200, &JsValue::NULL);
    let overrides = object(&[(
        "credentials",
        object(&[
            ("oauth_client_id_override", "cid".into()),
            ("oauth_client_secret_override", "cs".into()),
        ]),
    )]);
    let promise = nango.auth("github".into(), overrides, JsValue::UNDEFINED);
    assert!(
        last_popup().is_some(),
        "OAuth client overrides go through the popup"
    );
    nango.clear();
    let error = settled(promise).await.unwrap_err();
    assert_eq!(get(&error, "type"), "unknown_error");

    capture_popups(false);
    // AWS SigV4 credentials without the role to assume are refused before anything is sent.
    let aws = object(&[("credentials", object(&[("type", "AWS_SIGV4".into())]))]);
    let error = settled(nango.auth("aws".into(), aws, JsValue::UNDEFINED))
        .await
        .unwrap_err();
    unstub_fetch();
    assert_eq!(get(&error, "type"), "missing_credentials");
    assert!(last_popup().is_none());
    assert_eq!(calls.length(), 0, "nothing is sent for refused credentials");
}
