//! The demo page's own wiring, in Chromium, against a stand-in Latchkey host whose `/sdk/index.js` is a
//! recording stub: the page opens the Connect UI inside the click, hands it the session token its
//! backend created, lists events, and reports the connection without ever seeing a secret.
//! (The real SDK and Connect UI are covered by `e2e_connect.rs`.)

use axum::http::{header, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_tests::browser::Browser;
use latchkey_tests::demo::DemoApp;
use serde_json::{json, Value};
use std::time::Duration;

const SECRET: &str = "0b7f3c1e-2d4a-4f6b-9c8d-1e2f3a4b5c6d";
const ACCESS_TOKEN: &str = "stub-access-token-never-in-the-page";
const RECONNECT_TOKEN: &str = "nango_connect_session_reconnect";
const SESSION_TOKEN: &str =
    "nango_connect_session_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Records what the page does with the SDK, and plays `ready` then `connect` once it has a token.
const STUB_SDK: &str = r#"
export default class Nango {
  constructor(options) { window.__stub = { ctor: options, calls: [] }; }
  openConnectUI(props) {
    const stub = window.__stub;
    stub.calls.push('openConnectUI');
    stub.props = { baseURL: props.baseURL, apiURL: props.apiURL };
    if (props.themeOverride) stub.props.themeOverride = props.themeOverride;
    if (props.lang) stub.props.lang = props.lang;
    return {
      setSessionToken(token) {
        stub.calls.push('setSessionToken');
        stub.token = token;
        props.onEvent({ type: 'ready' });
        // `window.__stubNext = 'close'`: the user closes the Connect UI without connecting.
        if (window.__stubNext === 'close') props.onEvent({ type: 'close' });
        else props.onEvent({ type: 'connect', payload: { providerConfigKey: 'local-oidc', connectionId: 'conn-42' } });
      },
      close() { stub.calls.push('close'); },
    };
  }
}
"#;

async fn stub_latchkey() -> anyhow::Result<String> {
    let app = Router::new()
        .route(
            "/sdk/index.js",
            get(|| async {
                ([(header::CONTENT_TYPE, "text/javascript"), (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], STUB_SDK)
            }),
        )
        .route(
            "/connect/sessions",
            post(|| async {
                let data = json!({"token": SESSION_TOKEN, "connect_link": "x", "expires_at": "2030-01-01T00:00:00Z"});
                (StatusCode::CREATED, Json(json!({ "data": data })))
            }),
        )
        .route(
            "/connect/sessions/reconnect",
            post(|| async {
                let data = json!({"token": RECONNECT_TOKEN, "connect_link": "x", "expires_at": "2030-01-01T00:00:00Z"});
                (StatusCode::CREATED, Json(json!({ "data": data })))
            }),
        )
        .route(
            "/connections",
            get(|| async {
                Json(json!({"connections": [{
                    "id": 7, "connection_id": "k-9", "provider_config_key": "stripe", "provider": "stripe",
                    "errors": [], "end_user": {"id": "demo-user"}, "tags": {}, "metadata": {},
                    "created": "2030-01-01T00:00:00Z"
                }]}))
            }),
        )
        .route(
            "/connection/{id}",
            get(|| async {
                Json(json!({
                    "id": 1, "connection_id": "conn-42", "provider_config_key": "local-oidc", "provider": "local-oidc",
                    "errors": [], "end_user": null, "tags": {}, "metadata": {}, "connection_config": {},
                    "created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z",
                    "credentials": {"type": "OAUTH2", "access_token": ACCESS_TOKEN, "raw": {}}
                }))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    // `localhost`: a different origin from the demo on 127.0.0.1, as in production.
    let url = format!("http://localhost:{}", listener.local_addr()?.port());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

#[tokio::test]
async fn demo_page_opens_the_connect_ui_with_its_backend_session_token() -> anyhow::Result<()> {
    tokio::time::timeout(Duration::from_secs(90), run())
        .await
        .map_err(|_| anyhow::anyhow!("test took over 90 s"))?
}

async fn run() -> anyhow::Result<()> {
    let host = stub_latchkey().await?;
    let demo = DemoApp::start(&host, SECRET).await?;
    let browser =
        Browser::start("demo_page_opens_the_connect_ui_with_its_backend_session_token").await?;

    browser.goto(&format!("{}/", demo.url())).await?;
    browser
        .wait_for_text("#status", Duration::from_secs(15), |t| t == "Ready.")
        .await?;
    browser.click("#connect").await?;
    let status = browser
        .wait_for_text("#status", Duration::from_secs(15), |t| {
            t.starts_with("Connected")
        })
        .await?;
    browser.screenshot("connected-with-stub-sdk").await;
    assert_eq!(
        status,
        "Connected conn-42 to local-oidc — access token present"
    );
    let events = browser
        .wait_for_text("#events", Duration::from_secs(5), |t| !t.is_empty())
        .await?;
    assert_eq!(events.lines().collect::<Vec<_>>(), ["ready", "connect"]);

    let stub: Value = browser
        .client()
        .execute("return window.__stub;", vec![])
        .await?;
    assert_eq!(stub["calls"], json!(["openConnectUI", "setSessionToken"]));
    assert_eq!(stub["token"], SESSION_TOKEN);
    assert_eq!(
        stub["props"],
        json!({"baseURL": format!("{host}/connect/"), "apiURL": host})
    );
    assert_eq!(stub["ctor"], json!({"host": host}));

    // The user's connections, each with a Reconnect button that opens a reconnect session.
    browser
        .wait_for_text("#connections", Duration::from_secs(5), |t| {
            t.contains("stripe · k-9")
        })
        .await?;
    browser
        .click("#connections li[data-connection-id=\"k-9\"] button")
        .await?;
    latchkey_tests::wait::until("the reconnect token", Duration::from_secs(5), || async {
        let token = browser
            .client()
            .execute("return window.__stub.token;", vec![])
            .await?;
        Ok((token == RECONNECT_TOKEN).then_some(()))
    })
    .await?;

    // Dark theme and French, then closed without connecting: the status says so.
    browser
        .client()
        .execute(
            "document.getElementById('theme').value = 'dark';
             document.getElementById('lang').value = 'fr';
             window.__stubNext = 'close';",
            vec![],
        )
        .await?;
    browser.click("#connect").await?;
    browser
        .wait_for_text("#status", Duration::from_secs(5), |t| {
            t == "Connect UI closed without connecting."
        })
        .await?;
    let stub: Value = browser
        .client()
        .execute("return window.__stub;", vec![])
        .await?;
    assert_eq!(stub["props"]["themeOverride"], "dark");
    assert_eq!(stub["props"]["lang"], "fr");

    let html: Value = browser
        .client()
        .execute("return document.documentElement.outerHTML;", vec![])
        .await?;
    let html = html.as_str().unwrap_or_default();
    assert!(
        !html.contains(SECRET) && !html.contains(ACCESS_TOKEN),
        "the page must hold no secret"
    );
    browser.close().await;
    Ok(())
}
