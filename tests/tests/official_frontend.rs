//! The official `@nangohq/frontend` (npm, pinned in `package.json`) against a Latchkey server, side
//! by side with our SDK, on a customer page of another origin: headless OAuth `auth()`, API-key
//! `auth()`, `create()`, `reconnect()`, `openConnectUI()` through to `connect` and `close`, Escape
//! closing it, an unknown integration's error type, and the callback page's `postMessage` resolving a
//! Connect UI flow whose WebSocket a proxy cut. Then redirect mode (ours only), with the popup blocked
//! as a webview blocks it, and a page on an origin that is not allowed getting nothing.
//!
//! One provider, one server, one browser for all of it (and so one file over 600 lines: the
//! scenarios run in order on the same page and share its set-up and its parity table). The environment lists the customer page's
//! origin in `allowed_origins` from the start, so every flow also passes the origin checks: the
//! official SDK's by its `Referer`, ours by the `opener_origin` it sends.
//!
//! The official SDK's `dist/` is plain ESM (built by `tsc`, no dependency at run time), so the page
//! imports it as is from `/nango/index.js` on the customer site. `cargo test … -- --nocapture` prints
//! the parity table.

use latchkey_tests::browser::Browser;
use latchkey_tests::node_peer::NodePeer;
use latchkey_tests::oidc::{OidcOptions, OidcProvider};
use latchkey_tests::server::{local_oidc_provider_yaml, LatchkeyServer, ReservedServer};
use latchkey_tests::site::CustomerSite;
use serde_json::{json, Value};
use std::time::Duration;

const LOCAL_OIDC: &str = "local-oidc";
const API_KEY: &str = "test-api-key";
const NONE: &str = "test-none";
const MCP: &str = "local-mcp";
const LOGIN: &str = "dora";

const TEST_PROVIDERS: &str = r#"
test-api-key:
    display_name: Test API Key
    auth_mode: API_KEY
test-none:
    display_name: Public data
    auth_mode: NONE
"#;

/// The customer page: `?sdk=official|latchkey&host=<server>`. Exposes `run(name, token)` for the
/// headless scenarios, `openUI(token, props)` for the Connect UI, and on a return from redirect mode
/// redeems the result. Outcomes go to `window.results[name]` as `{ok}` or `{err: {type, …}}`.
const PAGE: &str = r#"<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Customer</title>
<main><h1>Customer</h1><pre id="state">loading</pre></main>
<script type="module">
const q = new URLSearchParams(location.search);
const host = q.get('host');
const official = q.get('sdk') === 'official';
const mod = official ? await import('/nango/index.js') : await import(host + '/sdk/index.js');
const Nango = mod.default;
window.results = {};
window.events = [];
const settle = (name) => [
  (v) => { window.results[name] = { ok: v ?? null }; },
  (e) => { window.results[name] = { err: { type: e && e.type, message: String(e && e.message), isAuthError: e instanceof mod.AuthError } }; },
];
const scenarios = {
  oauth: (n) => n.auth('local-oidc'),
  oauthCut: (n) => n.auth('local-oidc'),
  mcp: (n) => n.auth('local-mcp'),
  apiKey: (n) => n.auth('test-api-key', { credentials: { apiKey: 'key-one' } }),
  create: (n) => n.create('test-none'),
  reconnect: (n) => n.reconnect('test-api-key', { credentials: { apiKey: 'key-two' } }),
  unknown: (n) => n.auth('no-such-integration'),
  redirect: (n) => n.auth('local-oidc', { redirect: { returnUrl: location.href } }),
};
window.run = (name, token) => {
  window.results[name] = 'pending';
  try {
    scenarios[name](new Nango({ host, connectSessionToken: token })).then(...settle(name));
  } catch (e) { settle(name)[1](e); }
};
window.openUI = (token, props) => {
  window.events = [];
  window.ui = new Nango({ host, connectSessionToken: token }).openConnectUI({
    baseURL: host + '/connect/', apiURL: host, onEvent: (e) => { window.events.push(e); }, ...(props || {}),
  });
};
window.redeem = (id) => {
  history.replaceState(null, '', location.pathname + location.search + '&latchkey_result=' + id);
  window.results.again = 'pending';
  new Nango({ host }).handleRedirectResult().then(...settle('again'));
};
const id = q.get('latchkey_result');
if (id && !official) {
  window.redirectId = id;
  window.results.returned = 'pending';
  new Nango({ host }).handleRedirectResult().then(...settle('returned'));
}
document.getElementById('state').textContent = 'ready';
</script>
</html>"#;

/// Closes the result socket right after its acknowledgement, as a proxy that kills WebSockets would:
/// from then on only the callback page's `postMessage` can bring the result.
const CUT_SOCKETS: &str = r#"
const Real = window.WebSocket;
window.cutSockets = 0;
window.WebSocket = function (url, protocols) {
  const ws = new Real(url, protocols);
  ws.addEventListener('message', (e) => {
    if (String(e.data).includes('connection_ack')) setTimeout(() => { window.cutSockets++; ws.close(); }, 0);
  });
  return ws;
};
window.WebSocket.prototype = Real.prototype;
return true;"#;

/// What a webview without popup support does: `window.open` gives nothing.
const NO_POPUPS: &str = "window.open = () => null; return true;";

/// One row of the parity table.
struct Row {
    scenario: &'static str,
    official: String,
    ours: String,
}

struct Env {
    server: LatchkeyServer,
    site: CustomerSite,
    _oidc: OidcProvider,
    /// MCP authorization server (`@modelcontextprotocol/sdk`), signing users in at once (issue 15).
    _mcp: NodePeer,
    /// The customer site's files (served again from another origin at the end).
    dir: tempfile::TempDir,
}

impl Env {
    async fn start() -> anyhow::Result<Self> {
        let reserved = ReservedServer::bind().await?;
        let oidc = OidcProvider::start(OidcOptions::new(reserved.callback_url())).await?;
        let mcp = NodePeer::start("mcp auth server", "tests/mcp/server.mjs", &[]).await?;
        let (issuer, mcp_url) = (&mcp.ready[0], &mcp.ready[1]);
        let yaml = format!(
            "{}{TEST_PROVIDERS}local-mcp:
    display_name: Local MCP
    auth_mode: MCP_OAUTH2
    client_registration: dynamic
    authorization_url: {issuer}/authorize
    token_url: {issuer}/token
    registration_url: {issuer}/register
    authorization_params: {{ resource: '{mcp_url}' }}
",
            local_oidc_provider_yaml(oidc.issuer())
        );
        let server = reserved.start(Some(&yaml)).await?;
        server
            .create_oauth2_integration(
                "local-oidc",
                LOCAL_OIDC,
                oidc.client_id(),
                oidc.client_secret(),
                Some("openid,offline_access,email"),
            )
            .await?;
        for key in [API_KEY, NONE, MCP] {
            server
                .create_integration(
                    &json!({"provider": key, "unique_key": key, "display_name": key}),
                )
                .await?;
        }
        // The page and the official SDK's ESM files, on the customer's own origin.
        let dir = tempfile::Builder::new()
            .prefix("customer-site-")
            .tempdir()?;
        std::fs::write(dir.path().join("index.html"), PAGE)?;
        let dist = latchkey_tests::workspace_root().join("node_modules/@nangohq/frontend/dist");
        anyhow::ensure!(
            dist.join("index.js").is_file(),
            "{} is missing: npm ci (package.json pins @nangohq/frontend)",
            dist.display()
        );
        std::fs::create_dir(dir.path().join("nango"))?;
        for file in ["index.js", "authModal.js", "connectUI.js", "types.js"] {
            std::fs::copy(dist.join(file), dir.path().join("nango").join(file))?;
        }
        let site = CustomerSite::serve_dir(dir.path().to_owned()).await?;
        let env = Self {
            server,
            site,
            _oidc: oidc,
            _mcp: mcp,
            dir,
        };
        env.settings(json!({"allowed_origins": [env.site.url()]}))
            .await?;
        Ok(env)
    }

    async fn settings(&self, patch: Value) -> anyhow::Result<()> {
        let res = self
            .server
            .http()
            .patch(self.server.endpoint(&["environment", "settings"])?)
            .bearer_auth(self.server.secret_key())
            .json(&patch)
            .send()
            .await?;
        anyhow::ensure!(
            res.status().is_success(),
            "PATCH settings: {}",
            res.status()
        );
        Ok(())
    }

    /// A connect session token for `allowed` integrations (all when empty).
    async fn session(&self, allowed: &[&str]) -> anyhow::Result<String> {
        let mut body = json!({"end_user": {"id": "user-1"}});
        if !allowed.is_empty() {
            body["allowed_integrations"] = json!(allowed);
        }
        self.token(&["connect", "sessions"], body).await
    }

    async fn token(&self, path: &[&str], body: Value) -> anyhow::Result<String> {
        let res = self
            .server
            .http()
            .post(self.server.endpoint(path)?)
            .bearer_auth(self.server.secret_key())
            .json(&body)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await?;
        anyhow::ensure!(status.is_success(), "POST {path:?}: {status} {body}");
        Ok(body["data"]["token"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    fn page(&self, sdk: &str) -> String {
        let mut url = reqwest::Url::parse(self.site.url()).expect("site URL");
        url.query_pairs_mut()
            .append_pair("sdk", sdk)
            .append_pair("host", self.server.url());
        url.to_string()
    }
}

async fn js(browser: &Browser, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
    Ok(browser.client().execute(script, args).await?)
}

/// `window.run(name, token)`: starts scenario `name` through the page's SDK (outcome: [`outcome`]).
async fn start(browser: &Browser, name: &str, token: &str) -> anyhow::Result<()> {
    js(
        browser,
        "window.run(arguments[0], arguments[1]); return true;",
        vec![json!(name), json!(token)],
    )
    .await?;
    Ok(())
}

/// `openConnectUI()` through the page's SDK with extra `props`; once the Connect UI has said
/// `ready`, the test is inside its iframe.
async fn open_ui(browser: &Browser, token: &str, props: Value) -> anyhow::Result<()> {
    js(
        browser,
        "window.openUI(arguments[0], arguments[1]); return true;",
        vec![json!(token), props],
    )
    .await?;
    wait_event(browser, "ready").await?;
    browser.enter_frame("#connect-ui").await
}

/// Waits for `window.results[name]` to settle; its `{ok}` / `{err}` object.
async fn outcome(browser: &Browser, name: &str, limit: Duration) -> anyhow::Result<Value> {
    latchkey_tests::wait::until(&format!("the outcome of {name}"), limit, || async {
        let v = js(
            browser,
            "return window.results && window.results[arguments[0]];",
            vec![json!(name)],
        )
        .await?;
        Ok(v.is_object().then_some(v))
    })
    .await
}

/// The Connect UI events the page received so far (`type`s).
async fn event_types(browser: &Browser) -> anyhow::Result<Vec<String>> {
    let v = js(
        browser,
        "return (window.events || []).map(e => e.type);",
        vec![],
    )
    .await?;
    Ok(serde_json::from_value(v)?)
}

async fn wait_event(browser: &Browser, kind: &str) -> anyhow::Result<()> {
    latchkey_tests::wait::until(
        &format!("the `{kind}` event"),
        Duration::from_secs(20),
        || async {
            Ok(event_types(browser)
                .await?
                .iter()
                .any(|t| t == kind)
                .then_some(()))
        },
    )
    .await
}

/// At the provider: signs in when asked (the first flow of the browser), then consents (asked every
/// time: the integration sends `prompt=consent`).
async fn sign_in(browser: &Browser) -> anyhow::Result<()> {
    let login = latchkey_tests::wait::until("the provider's login or consent page", Duration::from_secs(15), || async {
        let page = js(
            browser,
            "return document.querySelector('input[name=\"login\"]') ? 'login' \
             : document.querySelector('input[name=\"prompt\"][value=\"consent\"]') ? 'consent' : null;",
            vec![],
        )
        .await?;
        Ok(page.as_str().map(|p| p == "login"))
    })
    .await?;
    if login {
        browser.complete_local_provider_login(LOGIN).await
    } else {
        browser.screenshot("provider-consent").await;
        browser.click_and_leave("button[type=\"submit\"]").await
    }
}

async fn iframe_present(browser: &Browser) -> anyhow::Result<bool> {
    Ok(js(
        browser,
        "return !!document.getElementById('connect-ui');",
        vec![],
    )
    .await?
    .as_bool()
    .unwrap_or(false))
}

/// `{ok: {connectionId, …}}` → "ok", `{err: {type}}` → the type.
fn summary(v: &Value) -> String {
    match v.get("err") {
        Some(e) => format!("error `{}`", e["type"].as_str().unwrap_or("?")),
        None => "ok".into(),
    }
}

/// Every scenario of the table, through the SDK the page loaded (`sdk`); returns the column.
async fn scenarios(env: &Env, browser: &Browser, sdk: &str) -> anyhow::Result<Vec<String>> {
    let mut column = Vec::new();
    browser.goto(&env.page(sdk)).await?;
    browser
        .wait_for_text("#state", Duration::from_secs(20), |t| t == "ready")
        .await?;
    let main = browser.window().await?;

    browser.note(&format!("{sdk}: oauth"));
    // Headless OAuth: the popup, the provider's login and consent, the WebSocket result.
    let token = env.session(&[LOCAL_OIDC]).await?;
    let known = browser.windows().await?;
    start(browser, "oauth", &token).await?;
    browser
        .switch_to_new_window(&known, Duration::from_secs(10))
        .await?;
    sign_in(browser).await?;
    browser.switch_to(&main).await?;
    let oauth = outcome(browser, "oauth", Duration::from_secs(30)).await?;
    let id = oauth["ok"]["connectionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        oauth["ok"]["providerConfigKey"], LOCAL_OIDC,
        "{sdk}: {oauth}"
    );
    env.server.get_connection(&id, LOCAL_OIDC).await?;
    column.push(summary(&oauth));

    browser.note(&format!("{sdk}: API key"));
    // API key: a POST, no popup.
    let token = env.session(&[API_KEY]).await?;
    start(browser, "apiKey", &token).await?;
    let api_key = outcome(browser, "apiKey", Duration::from_secs(15)).await?;
    assert_eq!(
        api_key["ok"]["providerConfigKey"], API_KEY,
        "{sdk}: {api_key}"
    );
    let api_key_id = api_key["ok"]["connectionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    column.push(summary(&api_key));

    browser.note(&format!("{sdk}: create"));
    // create() for an integration without authentication.
    let token = env.session(&[NONE]).await?;
    start(browser, "create", &token).await?;
    let create = outcome(browser, "create", Duration::from_secs(15)).await?;
    assert_eq!(create["ok"]["providerConfigKey"], NONE, "{sdk}: {create}");
    column.push(summary(&create));

    browser.note(&format!("{sdk}: reconnect"));
    // reconnect() with a reconnect session: the same connection gets the new key.
    let token = env
        .token(
            &["connect", "sessions", "reconnect"],
            json!({"connection_id": api_key_id, "integration_id": API_KEY, "end_user": {"id": "user-1"}}),
        )
        .await?;
    start(browser, "reconnect", &token).await?;
    let reconnect = outcome(browser, "reconnect", Duration::from_secs(15)).await?;
    assert_eq!(
        reconnect["ok"]["connectionId"],
        api_key_id.as_str(),
        "{sdk}: {reconnect}"
    );
    let stored = env.server.get_connection(&api_key_id, API_KEY).await?;
    assert_eq!(
        serde_json::to_value(&stored.credentials)?["apiKey"],
        "key-two",
        "{sdk}: reconnect replaced the key"
    );
    column.push(summary(&reconnect));

    browser.note(&format!("{sdk}: openConnectUI"));
    // openConnectUI(): ready → token → the form → connect → Finish → close, iframe gone.
    let token = env.session(&[API_KEY]).await?;
    open_ui(browser, &token, json!({})).await?;
    browser
        .type_into("#field-credentials-apiKey", "key-three")
        .await?;
    browser.click("#connect-button").await?;
    browser.wait_for("#connect-success").await?;
    browser
        .screenshot(&format!("{sdk}-connect-ui-success"))
        .await;
    browser.click_closing_frame("#finish-button").await?;
    browser.leave_frames().await?;
    wait_event(browser, "close").await?;
    let types = event_types(browser).await?;
    assert!(types.contains(&"connect".to_string()), "{sdk}: {types:?}");
    assert!(
        !iframe_present(browser).await?,
        "{sdk}: the iframe must be removed"
    );
    column.push(format!("ok ({})", types.join(" → ")));

    browser.note(&format!("{sdk}: Escape"));
    // Escape closes it, from any screen (here: the form).
    open_ui(browser, &token, json!({})).await?;
    let field = browser.wait_for("#field-credentials-apiKey").await?;
    browser.press_key_leaving_frame(&field, '\u{e00c}').await?;
    wait_event(browser, "close").await?;
    assert!(
        !iframe_present(browser).await?,
        "{sdk}: Escape must remove the iframe"
    );
    column.push("ok (close)".into());

    browser.note(&format!("{sdk}: unknown integration"));
    // An unknown integration: Nango's error type (the integration is looked up before the session's
    // allowed list is checked).
    let token = env.session(&[LOCAL_OIDC]).await?;
    start(browser, "unknown", &token).await?;
    let unknown = outcome(browser, "unknown", Duration::from_secs(20)).await?;
    assert_eq!(unknown["err"]["isAuthError"], true, "{sdk}: {unknown}");
    column.push(summary(&unknown));
    browser.switch_to(&main).await?;

    browser.note(&format!("{sdk}: Connect UI, WebSocket cut"));
    // The Connect UI's OAuth flow with its WebSocket cut after the ack: the callback page's
    // postMessage (to the Connect UI's exact origin) brings the result.
    let token = env.session(&[LOCAL_OIDC]).await?;
    open_ui(browser, &token, json!({})).await?;
    browser.wait_for("#connect-button:not([disabled])").await?;
    js(browser, CUT_SOCKETS, vec![]).await?;
    let known = browser.windows().await?;
    browser.click("#connect-button").await?;
    browser
        .switch_to_new_window(&known, Duration::from_secs(10))
        .await?;
    sign_in(browser).await?;
    browser.switch_to(&main).await?;
    browser.enter_frame("#connect-ui").await?;
    browser.wait_for("#connect-success").await?;
    let cut = js(browser, "return window.cutSockets;", vec![]).await?;
    assert_eq!(cut, 1, "{sdk}: the socket was cut");
    browser.click_closing_frame("#finish-button").await?;
    browser.leave_frames().await?;
    wait_event(browser, "close").await?;
    column.push("ok (postMessage)".into());

    browser.note(&format!("{sdk}: MCP"));
    // MCP OAuth (issue 15): the SDK's popup; the server registers its client dynamically and the
    // demo authorization server signs the user in at once, so the popup just comes and goes.
    let token = env.session(&[MCP]).await?;
    start(browser, "mcp", &token).await?;
    let mcp = outcome(browser, "mcp", Duration::from_secs(30)).await?;
    assert_eq!(mcp["ok"]["providerConfigKey"], MCP, "{sdk}: {mcp}");
    browser.switch_to(&main).await?;
    column.push(summary(&mcp));

    browser.note(&format!("{sdk}: headless auth(), WebSocket cut"));
    // The same cut in a headless auth(): only an SDK that listens to the callback page's postMessage
    // can finish (Nango's waits for the WebSocket alone).
    js(browser, CUT_SOCKETS, vec![]).await?;
    let token = env.session(&[LOCAL_OIDC]).await?;
    let known = browser.windows().await?;
    start(browser, "oauthCut", &token).await?;
    browser
        .switch_to_new_window(&known, Duration::from_secs(10))
        .await?;
    sign_in(browser).await?;
    browser.switch_to(&main).await?;
    let limit = Duration::from_secs(if sdk == "official" { 8 } else { 30 });
    match outcome(browser, "oauthCut", limit).await {
        Ok(cut) => {
            assert_eq!(cut["ok"]["providerConfigKey"], LOCAL_OIDC, "{sdk}: {cut}");
            column.push(format!("{} (postMessage)", summary(&cut)));
        }
        Err(_) if sdk == "official" => column.push("never settles (WebSocket only)".into()),
        Err(e) => return Err(e),
    }
    Ok(column)
}

#[tokio::test]
async fn official_nango_frontend_and_ours_behave_alike() -> anyhow::Result<()> {
    latchkey_tests::require_web_build()?;
    let env = Env::start().await?;
    let browser = Browser::start("official_frontend").await?;
    let outcome = tokio::time::timeout(Duration::from_secs(400), run(&env, &browser))
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("test took over 400 s")));
    if outcome.is_err() {
        browser.dump("failure").await;
    }
    browser.close().await;
    outcome
}

async fn run(env: &Env, browser: &Browser) -> anyhow::Result<()> {
    let names = [
        "headless OAuth auth()",
        "API-key auth()",
        "create() (auth mode NONE)",
        "reconnect()",
        "openConnectUI() → connect → Finish",
        "Escape closes the Connect UI",
        "auth() of an unknown integration",
        "Connect UI flow, WebSocket cut",
        "MCP auth() (dynamic client registration)",
    ];
    let extra = ["headless auth(), WebSocket cut"];
    let official = scenarios(env, browser, "official").await?;
    let ours = scenarios(env, browser, "latchkey").await?;
    let mut rows: Vec<Row> = names
        .iter()
        .chain(&extra)
        .zip(official.iter().zip(&ours))
        .map(|(scenario, (o, l))| Row {
            scenario,
            official: o.clone(),
            ours: l.clone(),
        })
        .collect();

    browser.note("redirect mode");
    // Redirect mode (ours only): popups blocked as in a webview.
    rows.extend(redirect_mode(env, browser).await?);
    rows.push(other_origin(env, browser).await?);

    eprintln!("\n| scenario | @nangohq/frontend 0.71.10 | Latchkey SDK |\n|---|---|---|");
    for r in &rows {
        eprintln!("| {} | {} | {} |", r.scenario, r.official, r.ours);
    }
    for r in rows.iter().take(names.len()) {
        assert_eq!(r.official, r.ours, "parity: {}", r.scenario);
    }
    assert_eq!(rows[6].ours, "error `provider_config_err`", "Nango's type");
    Ok(())
}

/// `auth()` with `{redirect: {returnUrl}}`, and the Connect UI's "continue in this window" after a
/// blocked popup: the page goes through the provider and back, and redeems its result id once.
async fn redirect_mode(env: &Env, browser: &Browser) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    browser.goto(&env.page("latchkey")).await?;
    browser
        .wait_for_text("#state", Duration::from_secs(20), |t| t == "ready")
        .await?;
    let token = env.session(&[LOCAL_OIDC]).await?;
    start(browser, "redirect", &token).await?;
    sign_in(browser).await?;
    let (id, first) = returned(browser).await?;
    rows.push(Row {
        scenario: "auth() in redirect mode",
        official: "n/a".into(),
        ours: summary(&first),
    });

    // The id works once: replayed (through the SDK, and directly) or tampered with, it is refused.
    js(
        browser,
        "window.redeem(arguments[0]); return true;",
        vec![json!(id)],
    )
    .await?;
    let again = outcome(browser, "again", Duration::from_secs(10)).await?;
    assert_eq!(again["err"]["type"], "not_found", "replayed: {again}");
    let mut tampered = id.clone().into_bytes();
    tampered[0] = if tampered[0] == b'a' { b'b' } else { b'a' };
    for bad in [id.clone(), String::from_utf8(tampered)?] {
        let res = env
            .server
            .http()
            .post(env.server.endpoint(&["oauth", "result", &bad])?)
            .send()
            .await?;
        assert_eq!(res.status(), reqwest::StatusCode::NOT_FOUND, "{bad}");
    }
    rows.push(Row {
        scenario: "redirect result id replayed / tampered",
        official: "n/a".into(),
        ours: "refused (`not_found`)".into(),
    });

    browser.note("Connect UI, popup blocked");
    // The Connect UI in a "webview" without popups offers to continue in this window.
    let token = env.session(&[LOCAL_OIDC]).await?;
    js(
        browser,
        "window.openUI(arguments[0], { redirect: { returnUrl: location.href } }); return true;",
        vec![json!(token)],
    )
    .await?;
    wait_event(browser, "ready").await?;
    browser.enter_frame("#connect-ui").await?;
    browser.wait_for("#connect-button:not([disabled])").await?;
    js(browser, NO_POPUPS, vec![]).await?;
    browser.click("#connect-button").await?;
    browser
        .wait_for("[data-error-type=\"blocked_by_browser\"]")
        .await?;
    browser.screenshot("connect-ui-continue-here").await;
    browser.click("#continue-here").await?;
    // The whole tab goes to the provider: back to the top-level document's context.
    browser.leave_frames().await?;
    sign_in(browser).await?;
    let (_, result) = returned(browser).await?;
    rows.push(Row {
        scenario: "Connect UI, popup blocked → continue in this window",
        official: "n/a".into(),
        ours: summary(&result),
    });
    Ok(rows)
}

/// Back on the customer page after a redirect-mode flow: the id it came back with, and what
/// `handleRedirectResult()` resolved with (the id is gone from the address bar).
async fn returned(browser: &Browser) -> anyhow::Result<(String, Value)> {
    let result = outcome(browser, "returned", Duration::from_secs(30)).await?;
    assert_eq!(result["ok"]["providerConfigKey"], LOCAL_OIDC, "{result}");
    let id = js(browser, "return window.redirectId;", vec![]).await?;
    let href = js(browser, "return location.href;", vec![]).await?;
    assert!(
        !href
            .as_str()
            .unwrap_or_default()
            .contains("latchkey_result"),
        "{href}"
    );
    Ok((id.as_str().unwrap_or_default().to_owned(), result))
}

/// With `allowed_origins` set, the same page served from an origin not in it gets nothing: the
/// browser refuses to frame the Connect UI (no `ready`), and a flow is refused (`forbidden`).
async fn other_origin(env: &Env, browser: &Browser) -> anyhow::Result<Row> {
    let elsewhere = CustomerSite::serve_dir(env.dir.path().to_owned()).await?;
    let mut column = Vec::new();
    for sdk in ["official", "latchkey"] {
        browser.note(&format!("{sdk}: a page on a non-allowed origin"));
        let page = env.page(sdk).replace(env.site.url(), elsewhere.url());
        browser.goto(&page).await?;
        browser
            .wait_for_text("#state", Duration::from_secs(20), |t| t == "ready")
            .await?;
        let main = browser.window().await?;
        let token = env.session(&[LOCAL_OIDC]).await?;
        js(
            browser,
            "window.openUI(arguments[0]); return true;",
            vec![json!(token)],
        )
        .await?;
        start(browser, "oauth", &token).await?;
        let refused = outcome(browser, "oauth", Duration::from_secs(20)).await?;
        assert_eq!(refused["err"]["type"], "forbidden", "{sdk}: {refused}");
        browser.switch_to(&main).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let events = event_types(browser).await?;
        assert!(
            events.is_empty(),
            "{sdk}: a Connect UI framed elsewhere must say nothing: {events:?}"
        );
        column.push(format!("{}, no Connect UI event", summary(&refused)));
    }
    Ok(Row {
        scenario: "page on a non-allowed origin: flow, Connect UI",
        official: column[0].clone(),
        ours: column[1].clone(),
    })
}
