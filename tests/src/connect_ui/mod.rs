//! The Connect UI on its own, as the `connect_ui_*` tests drive it: the local OAuth2 provider, a server
//! whose catalog adds three test providers (an API key with a `pattern`, basic auth, and an OAuth2
//! provider whose authorization host comes from a `subdomain` field, like Zendesk), and a customer page
//! on another origin that opens the Connect UI with the SDK for a given session token and records
//! every event it receives. Connect sessions are created over REST with the secret key, so each test
//! chooses its own (allowed integrations, presets, reconnect). The credential modes' local providers
//! (`server/tests/node/credential-modes-peer.mjs`: a Bill login, a GitHub App's install page and
//! token endpoint, a plugin marketplace) run beside them; [`UiStack::start_with_protocol_peers`] adds
//! the OAuth 1.0a, MCP and AWS peers. Also: axe-core injection for the accessibility checks.

mod catalog;

use crate::node_peer::NodePeer;
use crate::oidc::{OidcOptions, OidcProvider};
use crate::server::{local_oidc_provider_yaml, LatchkeyServer, ReservedServer};
use crate::site::CustomerSite;
use anyhow::Context as _;
use serde_json::{json, Value};

/// Integration keys created by [`UiStack::start`].
pub const LOCAL_OIDC: &str = "local-oidc";
pub const API_KEY: &str = "test-api-key";
pub const BASIC: &str = "test-basic";
pub const TENANT: &str = "tenant-oidc";
/// Issue 15: a JWT provider (key id, a multi-line private key, a region select).
pub const JWT: &str = "test-jwt";
/// Issue 15: a NetSuite-like TBA provider (token id and secret, an account id).
pub const TBA: &str = "test-tba";
/// Issue 15: OAuth2 client credentials: the end user's client id and secret, the token from the local
/// provider's `client_credentials` grant.
pub const CLIENT_CREDENTIALS: &str = "test-client-credentials";
/// Issue 15: an Emarsys-like SIGNATURE provider (a WSSE digest made from username and secret).
pub const SIGNATURE: &str = "test-signature";
/// Issue 15: an Apple Business Manager-like TWO_STEP provider: client id and key id, the private key
/// as `assertion_option`; the server signs the client assertion the local provider verifies
/// (`private_key_jwt`).
pub const CLIENT_ASSERTION: &str = "test-client-assertion";
/// Issue 15: a Bill-like BILL provider (the local provider checks the login).
pub const BILL: &str = "test-bill";
/// Issue 15: a GitHub App (APP): its install page sends the user back with an installation id.
pub const GITHUB_APP: &str = "test-github-app";
/// Issue 15: a GitHub App that requests the user's authorization during installation (CUSTOM):
/// its install page sends the user back with a code and an installation id.
pub const GITHUB_APP_OAUTH: &str = "test-github-app-oauth";
/// Issue 15: a Crisp-like plugin install (INSTALL_PLUGIN).
pub const PLUGIN: &str = "test-plugin";
/// Issue 15, with [`UiStack::start_with_protocol_peers`]: OAuth 1.0a against `tests/oauth1/server.mjs`.
pub const OAUTH1: &str = "test-oauth1";
/// Issue 15, with [`UiStack::start_with_protocol_peers`]: a generic MCP server whose authorization
/// server is discovered from the URL the user enters (`tests/mcp/server.mjs`).
pub const MCP_GENERIC: &str = "test-mcp-generic";
/// Issue 15, with [`UiStack::start_with_protocol_peers`]: AWS SigV4 against the local AWS
/// (`server/tests/node/aws-sigv4-peer.mjs`), built-in STS mode.
pub const AWS: &str = "test-aws-sigv4";

/// The OAuth 1.0a consumer the local OAuth 1.0a provider expects.
const OAUTH1_CONSUMER: (&str, &str) = ("latchkey-consumer", "consumer-secret");

/// The providers whose protocols need a peer of their own (OAuth 1.0a, MCP authorization, AWS), for
/// the tests that connect them through the Connect UI; the others do without these three processes.
pub struct ProtocolPeers {
    pub oauth1: NodePeer,
    /// `ready`: the authorization server's issuer, then the MCP server's URL.
    pub mcp: NodePeer,
    /// `ready`: base URL, then the owner's long-lived access key id and secret.
    pub aws: NodePeer,
}

impl ProtocolPeers {
    async fn start() -> anyhow::Result<Self> {
        let (oauth1, mcp, aws) = tokio::try_join!(
            NodePeer::start(
                "oauth1 provider",
                "tests/oauth1/server.mjs",
                &[
                    "--consumer-key",
                    OAUTH1_CONSUMER.0,
                    "--consumer-secret",
                    OAUTH1_CONSUMER.1
                ],
            ),
            NodePeer::start("mcp auth server", "tests/mcp/server.mjs", &[]),
            NodePeer::start(
                "local AWS",
                "server/tests/node/aws-sigv4-peer.mjs",
                &["--ready"]
            ),
        )?;
        anyhow::ensure!(mcp.ready.len() == 2, "MCP READY line: {:?}", mcp.ready);
        anyhow::ensure!(aws.ready.len() == 3, "AWS READY line: {:?}", aws.ready);
        Ok(Self { oauth1, mcp, aws })
    }

    /// The MCP server's URL, which the user types into the generic MCP form.
    pub fn mcp_url(&self) -> &str {
        &self.mcp.ready[1]
    }

    /// The local AWS's base URL.
    pub fn aws_base(&self) -> &str {
        &self.aws.ready[0]
    }

    fn providers_yaml(&self) -> String {
        let oauth1 = &self.oauth1.ready[0];
        let aws = self.aws_base();
        format!(
            r#"
test-oauth1:
    display_name: Test OAuth1
    auth_mode: OAUTH1
    request_url: {oauth1}/oauth/request_token
    request_params: {{ x_auth_access_type: write }}
    authorization_url: {oauth1}/oauth/authorize
    token_url: {oauth1}/oauth/access_token
    signature_method: HMAC-SHA1
    proxy: {{ base_url: '{oauth1}' }}
test-mcp-generic:
    display_name: Test MCP
    auth_mode: MCP_OAUTH2_GENERIC
    connection_config:
        mcp_server_url:
            type: string
            title: MCP Server URL
            pattern: '^https?://[a-zA-Z0-9.-]+(?::[0-9]+)?(?:/.*)?$'
    proxy: {{ base_url: '${{connectionConfig.mcp_server_url}}' }}
test-aws-sigv4:
    display_name: Test AWS
    auth_mode: AWS_SIGV4
    proxy:
        base_url: {aws}/svc/${{connectionConfig.service}}/${{connectionConfig.region}}
    credentials:
        role_arn: {{type: string, title: IAM Role ARN, pattern: '^arn:aws:iam::[0-9]{{12}}:role/.+$'}}
    connection_config:
        region: {{type: string, title: AWS Region, optional: true}}
        service: {{type: string, title: '', automated: true}}
    integration_config:
        service: {{type: string, title: AWS Service, pattern: '^[a-z0-9-]+$', order: 1}}
        defaultRegion: {{type: string, title: Default AWS Region, optional: true}}
        stsMode: {{type: string, title: STS Mode, enum: [builtin, custom], default_value: builtin, optional: true}}
        awsAccessKeyId: {{type: string, title: AWS Access Key ID, secret: true, optional: true}}
        awsSecretAccessKey: {{type: string, title: AWS Secret Access Key, secret: true, optional: true}}
"#
        )
    }

    async fn create_integrations(&self, server: &LatchkeyServer) -> anyhow::Result<()> {
        server
            .create_integration(&json!({"provider": OAUTH1, "unique_key": OAUTH1,
                "credentials": {"type": "OAUTH1", "client_id": OAUTH1_CONSUMER.0,
                    "client_secret": OAUTH1_CONSUMER.1}}))
            .await?;
        server
            .create_integration(&json!({"provider": MCP_GENERIC, "unique_key": MCP_GENERIC}))
            .await?;
        server
            .create_integration(&json!({"provider": AWS, "unique_key": AWS,
                "integration_config": {"service": "execute-api", "defaultRegion": "eu-west-1",
                    "stsMode": "builtin", "awsAccessKeyId": self.aws.ready[1],
                    "awsSecretAccessKey": self.aws.ready[2]}}))
            .await?;
        Ok(())
    }
}

/// Provider + server (with the test catalog and its integrations) + a customer page.
pub struct UiStack {
    pub site: CustomerSite,
    pub server: LatchkeyServer,
    pub oidc: OidcProvider,
    /// The credential modes' local providers; its base URL is `ready[0]`.
    pub modes: NodePeer,
    /// With [`Self::start_with_protocol_peers`] only.
    pub protocols: Option<ProtocolPeers>,
    http: reqwest::Client,
}

impl UiStack {
    pub async fn start() -> anyhow::Result<Self> {
        Self::launch(None).await
    }

    /// [`Self::start`] plus the OAuth 1.0a, MCP and AWS peers and their providers ([`OAUTH1`],
    /// [`MCP_GENERIC`], [`AWS`]).
    pub async fn start_with_protocol_peers() -> anyhow::Result<Self> {
        Self::launch(Some(ProtocolPeers::start().await?)).await
    }

    async fn launch(protocols: Option<ProtocolPeers>) -> anyhow::Result<Self> {
        let reserved = ReservedServer::bind().await?;
        let oidc = OidcProvider::start(OidcOptions::new(reserved.callback_url())).await?;
        let oidc_port = reqwest::Url::parse(oidc.issuer())?
            .port_or_known_default()
            .context("issuer port")?;
        let modes = NodePeer::start(
            "credential modes provider",
            "server/tests/node/credential-modes-peer.mjs",
            &["--ready"],
        )
        .await?;
        let modes_base = modes.ready.first().context("peer URL")?.clone();
        let yaml = format!(
            "{}{}{}{}",
            local_oidc_provider_yaml(oidc.issuer()),
            catalog::test_providers_yaml(oidc_port),
            catalog::credential_peer_providers_yaml(&modes_base),
            protocols
                .as_ref()
                .map(ProtocolPeers::providers_yaml)
                .unwrap_or_default()
        );
        let sts = protocols.as_ref().map(|p| format!("{}/sts", p.aws_base()));
        let server = reserved
            .start_configured(Some(&yaml), |config| {
                if let Some(sts) = sts {
                    config.aws_sts_url = sts;
                }
            })
            .await?;
        if let Some(protocols) = &protocols {
            protocols.create_integrations(&server).await?;
        }
        let http = reqwest::Client::new();
        // The install pages send the user back to this server, as an app's setup URL would.
        http.post(format!("{modes_base}/__setup"))
            .json(&json!({"server": server.url()}))
            .send()
            .await?
            .error_for_status()?;
        let keys: Value = http
            .get(format!("{modes_base}/__keys"))
            .send()
            .await?
            .json()
            .await?;
        server
            .create_oauth2_integration(
                "local-oidc",
                LOCAL_OIDC,
                oidc.client_id(),
                oidc.client_secret(),
                Some("openid,offline_access,email"),
            )
            .await?;
        server
            .create_oauth2_integration(TENANT, TENANT, "tenant-client", "tenant-secret", None)
            .await?;
        for key in [
            API_KEY,
            BASIC,
            JWT,
            TBA,
            CLIENT_CREDENTIALS,
            SIGNATURE,
            CLIENT_ASSERTION,
            BILL,
        ] {
            server
                .create_integration(
                    &json!({"provider": key, "unique_key": key, "display_name": key}),
                )
                .await?;
        }
        server
            .create_integration(&json!({"provider": GITHUB_APP, "unique_key": GITHUB_APP,
                "credentials": {"type": "APP", "app_id": "123456",
                    "app_link": format!("{modes_base}/github/apps/latchkey-test"),
                    "private_key": keys["githubAppPrivateKey"]}}))
            .await?;
        server
            .create_integration(
                &json!({"provider": GITHUB_APP_OAUTH, "unique_key": GITHUB_APP_OAUTH,
                "credentials": {"type": "CUSTOM", "client_id": "Iv1.latchkeytest",
                    "client_secret": "gh-oauth-secret", "app_id": "123456",
                    "app_link": format!("{modes_base}/github/apps/latchkey-oauth"),
                    "private_key": keys["githubAppPrivateKey"]}}),
            )
            .await?;
        server
            .create_integration(&json!({"provider": PLUGIN, "unique_key": PLUGIN,
                "credentials": {"type": "INSTALL_PLUGIN", "client_id": "plugin-id",
                    "client_secret": "plugin-key", "app_link": format!("{modes_base}/crisp/install")}}))
            .await?;
        let site = CustomerSite::serve_page(page(server.url())).await?;
        Ok(Self {
            site,
            server,
            oidc,
            modes,
            protocols,
            http,
        })
    }

    async fn post(&self, path: &[&str], body: Value) -> anyhow::Result<String> {
        let res = self
            .http
            .post(self.server.endpoint(path)?)
            .bearer_auth(self.server.secret_key())
            .json(&body)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await?;
        anyhow::ensure!(status.is_success(), "POST {path:?}: {status} {body}");
        body["data"]["token"]
            .as_str()
            .map(str::to_owned)
            .context("no session token")
    }

    /// `POST /connect/sessions` with `extra` merged into a body with an end user; the token.
    pub async fn session(&self, extra: Value) -> anyhow::Result<String> {
        let mut body = json!({"end_user": {"id": "user-1", "email": "ada@example.com"}});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.post(&["connect", "sessions"], body).await
    }

    /// `POST /connect/sessions/reconnect` for an existing connection; the token.
    pub async fn reconnect_session(
        &self,
        connection_id: &str,
        integration: &str,
    ) -> anyhow::Result<String> {
        self.post(
            &["connect", "sessions", "reconnect"],
            json!({"connection_id": connection_id, "integration_id": integration,
                   "end_user": {"id": "user-1"}}),
        )
        .await
    }

    /// The customer page that opens the Connect UI for `token` (with optional `lang` / `theme`).
    pub fn page_url(&self, token: &str, lang: Option<&str>, theme: Option<&str>) -> String {
        let mut url = reqwest::Url::parse(self.site.url()).expect("site URL");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("token", token);
            if let Some(lang) = lang {
                q.append_pair("lang", lang);
            }
            if let Some(theme) = theme {
                q.append_pair("theme", theme);
            }
        }
        url.to_string()
    }

    /// A connect link (top-level tab) for `token`.
    pub fn connect_link(&self, token: &str) -> String {
        let mut url = self.server.endpoint(&["connect", ""]).expect("server URL");
        url.query_pairs_mut().append_pair("session_token", token);
        url.to_string()
    }
}

/// The customer page: imports the SDK from the server, opens the Connect UI for `?token=` and writes
/// each event as one JSON line into `#events`.
fn page(host: &str) -> String {
    let host_js = serde_json::to_string(host).expect("a string serializes");
    format!(
        r#"<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Customer</title>
<main><h1>Customer</h1><button id="open">Connect</button><pre id="events"></pre></main>
<script type="module">
const host = {host_js};
const {{ default: Nango }} = await import(host + '/sdk/index.js');
const q = new URLSearchParams(location.search);
const out = document.getElementById('events');
// `?scheme=light|dark|normal`: the page's own color-scheme, over a red block at the top left (the
// backdrop tests look for it through the Connect UI's translucent backdrop).
if (q.get('scheme')) {{
  document.documentElement.style.colorScheme = q.get('scheme');
  const marker = document.createElement('div');
  marker.id = 'marker';
  marker.style.cssText = 'position:fixed;left:0;top:0;width:160px;height:160px;background:#f00';
  document.body.append(marker);
}}
window.latchkeyEvents = [];
function open() {{
  const nango = new Nango({{ host }});
  const props = {{ baseURL: host + '/connect/', apiURL: host, sessionToken: q.get('token'),
    onEvent: (e) => {{
      window.latchkeyEvents.push(e); out.textContent += JSON.stringify(e) + '\n'; }} }};
  if (q.get('lang')) props.lang = q.get('lang');
  if (q.get('theme')) props.themeOverride = q.get('theme');
  nango.openConnectUI(props);
}}
document.getElementById('open').addEventListener('click', open);
open();
</script>
</html>"#
    )
}

/// The events the page recorded so far (`{type, payload?}` objects).
pub async fn events(browser: &crate::browser::Browser) -> anyhow::Result<Vec<Value>> {
    let v = browser
        .client()
        .execute("return window.latchkeyEvents || [];", vec![])
        .await?;
    Ok(v.as_array().cloned().unwrap_or_default())
}

/// The `connectionId` of the first `connect` event on the customer page.
pub async fn connected_id(browser: &crate::browser::Browser) -> anyhow::Result<String> {
    let events = events(browser).await?;
    events
        .iter()
        .find(|e| e["type"] == "connect")
        .and_then(|e| e["payload"]["connectionId"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no connect event: {events:?}"))
}

/// The `type`s of [`events`].
pub async fn event_types(browser: &crate::browser::Browser) -> anyhow::Result<Vec<String>> {
    Ok(events(browser)
        .await?
        .iter()
        .filter_map(|e| e["type"].as_str().map(str::to_owned))
        .collect())
}

/// Runs axe-core (npm, from the workspace's `node_modules`) on the current frame with the WCAG 2.2 AA
/// tags; returns the violations (`id`, `impact`, `help`, the failing nodes' targets).
pub async fn axe_violations(browser: &crate::browser::Browser) -> anyhow::Result<Vec<Value>> {
    let path = crate::workspace_root().join("node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&path)
        .with_context(|| format!("{} (npm install axe-core)", path.display()))?;
    let client = browser.client();
    client
        .execute(&source, vec![])
        .await
        .context("injecting axe-core")?;
    let result = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
  .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
     nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary) }))))
  .catch(e => done([{ id: 'axe-error', help: String(e) }]));"#,
            vec![],
        )
        .await
        .context("running axe-core")?;
    Ok(result.as_array().cloned().unwrap_or_default())
}

/// Runs a Connect UI test `body` with a fresh stack and browser (screenshots under
/// `tests/artifacts/connect-ui/<name>/`), fails it after `time_limit`, dumps the page when it fails,
/// and stops both afterwards (dropping the last handles stops chromedriver, Chromium and the stack).
pub async fn with_browser<F, Fut>(
    name: &str,
    time_limit: std::time::Duration,
    body: F,
) -> anyhow::Result<()>
where
    F: FnOnce(std::sync::Arc<UiStack>, std::sync::Arc<crate::browser::Browser>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    with_stack(name, time_limit, UiStack::start(), body).await
}

/// [`with_browser`] on a stack the caller starts (e.g. [`UiStack::start_with_protocol_peers`]).
pub async fn with_stack<F, Fut>(
    name: &str,
    time_limit: std::time::Duration,
    stack: impl std::future::Future<Output = anyhow::Result<UiStack>>,
    body: F,
) -> anyhow::Result<()>
where
    F: FnOnce(std::sync::Arc<UiStack>, std::sync::Arc<crate::browser::Browser>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    crate::require_web_build()?;
    let stack = std::sync::Arc::new(stack.await?);
    let browser =
        std::sync::Arc::new(crate::browser::Browser::start(&format!("connect-ui/{name}")).await?);
    let outcome = tokio::time::timeout(time_limit, body(stack.clone(), browser.clone()))
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("{name} took over {time_limit:?}")));
    if outcome.is_err() {
        browser.dump("failure").await;
    }
    // Close the session politely before the drop kills what is left.
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        browser.client().clone().close(),
    )
    .await;
    outcome
}
