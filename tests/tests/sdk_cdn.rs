//! The SDK as a customer loads it without a bundler: a plain page on its own origin imports
//! `<server>/sdk/index.js` with `<script type="module">`; the module fetches its WebAssembly from the
//! server cross-origin, and `Nango` / `AuthError` behave as documented.

use latchkey_tests::browser::Browser;
use latchkey_tests::server::{LatchkeyServer, ReservedServer};
use latchkey_tests::site::CustomerSite;
use serde_json::Value;
use std::time::Duration;

/// The page: imports the SDK from `host` and writes what it observed, as JSON, into `#result`.
fn page(host: &str) -> String {
    let host_js = serde_json::to_string(host).expect("a string serializes");
    format!(
        r#"<!doctype html>
<meta charset="utf-8">
<title>SDK from the server</title>
<pre id="result">loading</pre>
<script type="module">
import Nango, {{ AuthError }} from {sdk};
const host = {host_js};
const out = {{ typeofNango: typeof Nango, typeofAuthError: typeof AuthError }};
try {{
    const nango = new Nango({{ host }});
    out.constructed = nango instanceof Nango;
}} catch (e) {{
    out.constructed = 'threw ' + e;
}}
try {{
    new Nango({{ host: 'not a url' }});
    out.badHost = 'did not throw';
}} catch (e) {{
    out.badHost = {{ isAuthError: e instanceof AuthError, isError: e instanceof Error, type: e.type, name: e.name }};
}}
document.getElementById('result').textContent = JSON.stringify(out);
</script>
"#,
        sdk = serde_json::to_string(&format!("{host}/sdk/index.js")).expect("a string serializes"),
    )
}

#[tokio::test]
async fn plain_page_on_another_origin_loads_the_sdk_from_the_server() -> anyhow::Result<()> {
    latchkey_tests::require_web_build()?;
    let server = ReservedServer::bind().await?.start(None).await?;
    let site = CustomerSite::serve_page(page(server.url())).await?;
    assert_ne!(
        reqwest::Url::parse(site.url())?.origin(),
        reqwest::Url::parse(server.url())?.origin(),
        "the page must be on another origin than the server"
    );
    let browser =
        Browser::start("plain_page_on_another_origin_loads_the_sdk_from_the_server").await?;
    let outcome = tokio::time::timeout(Duration::from_secs(90), run(&server, &site, &browser))
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("test took over 90 s")));
    if outcome.is_err() {
        browser.dump("failure").await;
    }
    browser.close().await;
    outcome
}

async fn run(
    server: &LatchkeyServer,
    site: &CustomerSite,
    browser: &Browser,
) -> anyhow::Result<()> {
    browser.goto(&format!("{}/", site.url())).await?;
    let text = browser
        .wait_for_text("#result", Duration::from_secs(20), |t| t != "loading")
        .await?;
    browser.screenshot("sdk-loaded").await;
    let result: Value = serde_json::from_str(&text)?;
    assert_eq!(result["typeofNango"], "function", "{result}");
    assert_eq!(result["typeofAuthError"], "function", "{result}");
    assert_eq!(result["constructed"], true, "{result}");
    assert_eq!(result["badHost"]["isAuthError"], true, "{result}");
    assert_eq!(result["badHost"]["isError"], true, "{result}");
    assert_eq!(result["badHost"]["type"], "invalid_host_url", "{result}");
    assert_eq!(result["badHost"]["name"], "AuthError", "{result}");
    // One module, then the wasm: nothing of the SDK is discovered one import at a time.
    let loaded = browser
        .client()
        .execute(
            "return performance.getEntriesByType('resource').map((r) => new URL(r.name))
               .filter((u) => u.pathname.startsWith('/sdk/')).map((u) => u.pathname);",
            vec![],
        )
        .await?;
    assert_eq!(
        loaded,
        serde_json::json!(["/sdk/index.js", "/sdk/latchkey_sdk_bg.wasm"]),
        "what the page fetched of the SDK"
    );

    // What made the cross-origin load work: the wasm is served as wasm (needed for streaming
    // compilation) and readable from any origin.
    let wasm = reqwest::Client::new()
        .get(format!("{}/sdk/latchkey_sdk_bg.wasm", server.url()))
        .header(reqwest::header::ORIGIN, site.url())
        .send()
        .await?;
    assert_eq!(wasm.status(), reqwest::StatusCode::OK);
    let header = |name: &str| {
        wasm.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("content-type").as_deref(),
        Some("application/wasm"),
        "{:?}",
        wasm.headers()
    );
    assert_eq!(
        header("access-control-allow-origin").as_deref(),
        Some("*"),
        "{:?}",
        wasm.headers()
    );
    let bytes = wasm.bytes().await?;
    assert!(
        bytes.starts_with(b"\0asm"),
        "not a WebAssembly module ({} bytes)",
        bytes.len()
    );
    Ok(())
}
