//! The OAuth callback under attack, against two real authorization servers (panva's `oidc-provider`,
//! refresh-token rotation on) on loopback: a refused consent, forged, replayed and foreign states, a
//! callback delivered in another browser, a code injected into another flow (PKCE), a mix-up between
//! two providers (RFC 9207 `iss`), and a token endpoint that answers an HTML error page.
//!
//! Each case asserts what the user sees (status and the escaped error page) and what reached the
//! providers' token endpoints (their `/__stats` counters).

use latchkey_tests::headless::{FlowEnd, HeadlessUser};
use latchkey_tests::oidc::{OidcOptions, OidcProvider};
use latchkey_tests::server::{LatchkeyServer, ReservedServer};
use reqwest::Url;
use serde_json::{json, Value};

/// Integration keys: `a` and `b` on two providers; `a-broken` is provider A with a token endpoint
/// that answers a 502 HTML page.
const A: &str = "a";
const B: &str = "b";
const A_BROKEN: &str = "a-broken";
/// A provider whose host comes from the connection config (as Salesforce's My Domain).
const TENANT: &str = "tenant";

struct Setup {
    server: LatchkeyServer,
    a: OidcProvider,
    b: OidcProvider,
}

/// Provider B declares its issuer (so `iss` is required from it); provider A does not (so a given
/// `iss` must have the origin of its authorization URL). Both send `iss`, as oidc-provider does.
fn catalog(a: &str, b: &str) -> String {
    format!(
        r#"provider-a:
    display_name: Provider A
    auth_mode: OAUTH2
    authorization_url: {a}/auth
    token_url: {a}/token
    authorization_params: {{ prompt: consent }}
    default_scopes: [openid, offline_access]
provider-a-broken:
    display_name: Provider A (broken token endpoint)
    auth_mode: OAUTH2
    authorization_url: {a}/auth
    token_url: {a}/__broken/token
    authorization_params: {{ prompt: consent }}
    default_scopes: [openid, offline_access]
provider-b:
    display_name: Provider B
    auth_mode: OAUTH2
    authorization_url: {b}/auth
    token_url: {b}/token
    issuer: {b}
    authorization_params: {{ prompt: consent }}
    default_scopes: [openid, offline_access]
provider-tenant:
    display_name: Tenant-hosted provider
    auth_mode: OAUTH2
    authorization_url: http://${{connectionConfig.hostname}}:${{connectionConfig.port}}/auth
    token_url: http://${{connectionConfig.hostname}}:${{connectionConfig.port}}/token
    authorization_params: {{ prompt: consent }}
    default_scopes: [openid, offline_access]
    token_response_metadata: [token_type]
    connection_config:
        hostname: {{ type: string, pattern: '^[a-z0-9.-]+$' }}
        port: {{ type: string, pattern: '^[0-9]+$' }}
        region: {{ type: string, pattern: '^[a-z]+$' }}
        token_type: {{ type: string, automated: true }}
"#
    )
}

async fn setup() -> anyhow::Result<Setup> {
    let reserved = ReservedServer::bind().await?;
    let a = OidcProvider::start(OidcOptions::new(reserved.callback_url())).await?;
    let b = OidcProvider::start(OidcOptions::new(reserved.callback_url())).await?;
    let server = reserved
        .start(Some(&catalog(a.issuer(), b.issuer())))
        .await?;
    for (key, provider, idp) in [
        (A, "provider-a", &a),
        (A_BROKEN, "provider-a-broken", &a),
        (B, "provider-b", &b),
        (TENANT, "provider-tenant", &a),
    ] {
        server
            .create_oauth2_integration(provider, key, idp.client_id(), idp.client_secret(), None)
            .await?;
    }
    Ok(Setup { server, a, b })
}

impl Setup {
    /// `/oauth/connect/<key>?connect_session_token=…` for a fresh connect session.
    async fn start_url(&self, key: &str, extra: &[(&str, &str)]) -> anyhow::Result<String> {
        self.start_url_for(json!({"end_user": {"id": "u1"}}), key, extra)
            .await
    }

    /// Like [`Self::start_url`], for a session created with `session` as its body.
    async fn start_url_for(
        &self,
        session: Value,
        key: &str,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<String> {
        let session: Value = reqwest::Client::new()
            .post(format!("{}/connect/sessions", self.server.url()))
            .bearer_auth(self.server.secret_key())
            .json(&session)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = session["data"]["token"].as_str().expect("session token");
        let mut url = self.server.endpoint(&["oauth", "connect", key])?;
        url.query_pairs_mut()
            .append_pair("connect_session_token", token)
            .extend_pairs(extra);
        Ok(url.to_string())
    }

    /// Runs a flow up to the provider's redirect to our callback, without delivering it.
    async fn until_callback(&self, user: &HeadlessUser, key: &str) -> anyhow::Result<Url> {
        let start = self.start_url(key, &[]).await?;
        let end = user
            .authorize_until(&start, "mallory", |u| u.path() == "/oauth/callback")
            .await?;
        anyhow::ensure!(
            end.url.path() == "/oauth/callback" && end.url.query_pairs().any(|(k, _)| k == "code"),
            "expected a redirect to the callback with a code: {end:?}"
        );
        Ok(end.url)
    }

    async fn token_hits(&self) -> anyhow::Result<(u64, u64)> {
        Ok((
            self.a.token_stats().await?.token_endpoint_hits,
            self.b.token_stats().await?.token_endpoint_hits,
        ))
    }
}

fn param(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The callback URL with `code`, `state` and (optionally) `iss` as given.
fn forged(callback: &Url, code: &str, state: &str, iss: Option<&str>) -> String {
    let mut url = callback.clone();
    url.set_query(None);
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", code).append_pair("state", state);
        if let Some(iss) = iss {
            q.append_pair("iss", iss);
        }
    }
    url.to_string()
}

/// A failure page: 4xx (never 5xx), naming the error code, with no markup from the provider.
fn assert_refused(end: &FlowEnd, code: &str) {
    assert!(
        end.status.is_client_error(),
        "expected a 4xx page, got {} at {}: {}",
        end.status,
        end.url,
        end.body
    );
    assert!(
        end.body.contains(code),
        "the page should name {code}: {}",
        end.body
    );
}

#[tokio::test]
async fn user_denying_consent_sees_the_provider_error_escaped_and_no_connection_is_made(
) -> anyhow::Result<()> {
    let s = setup().await?;
    let start = s
        .start_url(A, &[("authorization_params[login_hint]", "deny")])
        .await?;
    let end = HeadlessUser::new()?.authorize(&start, "alice").await?;
    assert_eq!(end.url.path(), "/oauth/callback");
    assert_refused(&end, "callback_err");
    assert!(end.body.contains("access_denied"), "{}", end.body);
    // The provider's description carries markup: shown escaped, never as markup.
    assert!(
        end.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        end.body
    );
    assert!(!end.body.contains("<script>alert(1)"), "{}", end.body);
    assert!(
        end.body.contains(r#"\"no\""#) || end.body.contains("&quot;no&quot;"),
        "{}",
        end.body
    );
    assert_eq!(s.token_hits().await?, (0, 0));
    assert!(s.server.list_connections().await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn unknown_and_replayed_states_are_refused_before_any_token_request() -> anyhow::Result<()> {
    let s = setup().await?;
    let user = HeadlessUser::new()?;
    let callback = s.until_callback(&user, A).await?;

    // A state we never issued, with a real code.
    let bogus = forged(
        &callback,
        &param(&callback, "code"),
        "Zm9yZ2VkLXN0YXRlLXRoYXQtd2FzLW5ldmVyLWlzc3VlZA",
        Some(s.a.issuer()),
    );
    assert_refused(&user.authorize(&bogus, "x").await?, "state_err");
    assert_eq!(s.token_hits().await?, (0, 0));

    // The genuine callback works once…
    let ok = user.authorize(callback.as_str(), "x").await?;
    assert!(ok.status.is_success(), "{}: {}", ok.status, ok.body);
    assert_eq!(s.a.token_stats().await?.requests("authorization_code"), 1);
    // …and its replay, from the same browser (cookie still there), never reaches the provider.
    assert_refused(&user.authorize(callback.as_str(), "x").await?, "state_err");
    assert_eq!(s.token_hits().await?, (1, 0));
    assert_eq!(s.server.list_connections().await?.len(), 1);
    Ok(())
}

/// Finding 5 of issue 11: the attempt is consumed only when the state and the browser binding both
/// match, so a leaked callback URL (or `state`) used elsewhere neither completes the flow nor burns
/// the victim's attempt.
#[tokio::test]
async fn a_callback_delivered_in_another_browser_is_refused_and_does_not_burn_the_victims_attempt(
) -> anyhow::Result<()> {
    let s = setup().await?;
    let victim = HeadlessUser::new()?;
    let callback = s.until_callback(&victim, A).await?;
    // The attacker's browser has no binding cookie for this state.
    let attacker = HeadlessUser::new()?;
    assert_refused(
        &attacker.authorize(callback.as_str(), "x").await?,
        "state_cookie_err",
    );
    assert_eq!(s.token_hits().await?, (0, 0));
    // The victim's own delivery still completes: the attacker could not burn it.
    let end = victim.authorize(callback.as_str(), "x").await?;
    assert!(end.status.is_success(), "{}: {}", end.status, end.body);
    assert_eq!(s.token_hits().await?, (1, 0));
    assert_eq!(s.server.list_connections().await?.len(), 1);
    // And it stays single-use.
    assert_refused(
        &victim.authorize(callback.as_str(), "x").await?,
        "state_err",
    );
    Ok(())
}

#[tokio::test]
async fn a_code_injected_into_another_flow_fails_pkce_at_the_provider() -> anyhow::Result<()> {
    let s = setup().await?;
    let user = HeadlessUser::new()?;
    let first = s.until_callback(&user, A).await?;
    let second = s.until_callback(&user, A).await?;
    // The first flow's code with the second flow's state (and cookie): our server sends the second
    // flow's PKCE verifier, which does not match the challenge the code was issued for.
    let injected = forged(
        &second,
        &param(&first, "code"),
        &param(&second, "state"),
        Some(s.a.issuer()),
    );
    let end = user.authorize(&injected, "x").await?;
    assert_refused(&end, "token_err");
    assert!(end.body.contains("invalid_grant"), "{}", end.body);
    let stats = s.a.token_stats().await?;
    assert_eq!(stats.requests("authorization_code"), 1, "{stats:?}");
    assert_eq!(
        stats.token_errors.get("authorization_code"),
        Some(&1),
        "{stats:?}"
    );
    assert!(s.server.list_connections().await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn mix_up_a_code_from_one_provider_with_the_other_providers_state_reaches_no_token_endpoint(
) -> anyhow::Result<()> {
    let s = setup().await?;
    let user = HeadlessUser::new()?;
    let from_a = s.until_callback(&user, A).await?;
    let from_b = s.until_callback(&user, B).await?;
    let b_again = s.until_callback(&user, B).await?;
    let a_again = s.until_callback(&user, A).await?;

    // A's code and issuer with B's state: B declares its issuer, A's is refused.
    let end = user
        .authorize(
            &forged(
                &from_b,
                &param(&from_a, "code"),
                &param(&from_b, "state"),
                Some(s.a.issuer()),
            ),
            "x",
        )
        .await?;
    assert_refused(&end, "callback_err");
    // The same with `iss` stripped: B is known to send it, so its absence is refused too.
    let end = user
        .authorize(
            &forged(
                &b_again,
                &param(&from_a, "code"),
                &param(&b_again, "state"),
                None,
            ),
            "x",
        )
        .await?;
    assert_refused(&end, "callback_err");
    // B's code and issuer with A's state: A declares no issuer, but B's is not A's origin.
    let end = user
        .authorize(
            &forged(
                &a_again,
                &param(&from_b, "code"),
                &param(&a_again, "state"),
                Some(s.b.issuer()),
            ),
            "x",
        )
        .await?;
    assert_refused(&end, "callback_err");

    assert_eq!(
        s.token_hits().await?,
        (0, 0),
        "no code reached a token endpoint"
    );
    assert!(s.server.list_connections().await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn an_html_error_page_at_the_token_endpoint_is_a_typed_error_not_a_500() -> anyhow::Result<()>
{
    let s = setup().await?;
    let start = s.start_url(A_BROKEN, &[]).await?;
    let end = HeadlessUser::new()?.authorize(&start, "alice").await?;
    assert_eq!(end.url.path(), "/oauth/callback");
    assert_refused(&end, "token_err");
    assert!(
        end.body.contains("502"),
        "the status is reported: {}",
        end.body
    );
    assert!(
        !end.body.contains("Bad Gateway") && !end.body.contains("upstream unavailable"),
        "the provider's HTML is not echoed: {}",
        end.body
    );
    assert_eq!(s.a.token_stats().await?.broken_token_hits, 1);
    assert!(s.server.list_connections().await?.is_empty());
    Ok(())
}

fn port_of(issuer: &str) -> String {
    Url::parse(issuer)
        .ok()
        .and_then(|u| u.port())
        .map(|p| p.to_string())
        .unwrap_or_default()
}

/// Finding 1 of issue 11: an end user holding a session token names the host the integration's
/// client secret and the code are sent to (`params[hostname]`). A host placeholder the browser fills
/// must stay inside the provider's own domains; here the pattern accepts any name, so only the
/// backend may choose it (pinned in the session's `integrations_config_defaults`).
#[tokio::test]
async fn a_browser_cannot_send_the_client_secret_to_a_host_of_its_choosing() -> anyhow::Result<()> {
    let s = setup().await?;
    let user = HeadlessUser::new()?;
    let attacker_port = port_of(s.b.issuer());
    let start = s
        .start_url(
            TENANT,
            &[
                ("params[hostname]", "127.0.0.1"),
                ("params[port]", &attacker_port),
            ],
        )
        .await?;
    let end = user.get(&start).await?;
    assert_refused(&end, "url_param_err");
    assert!(
        end.body.contains("integrations_config_defaults"),
        "{}",
        end.body
    );
    // Nothing went to the attacker's server: no redirect there, no token request.
    assert_eq!(s.token_hits().await?, (0, 0));

    // The backend pins the host: the flow runs against it, whatever the browser sends.
    let pinned = json!({
        "end_user": {"id": "u1"},
        "integrations_config_defaults": {TENANT: {"connection_config": {
            "hostname": "127.0.0.1", "port": port_of(s.a.issuer())
        }}}
    });
    let start = s
        .start_url_for(pinned, TENANT, &[("params[port]", &attacker_port)])
        .await?;
    let end = user.authorize(&start, "alice").await?;
    assert!(end.status.is_success(), "{}: {}", end.status, end.body);
    assert_eq!(
        s.token_hits().await?,
        (1, 0),
        "the code went to the pinned host only"
    );
    assert_eq!(s.server.list_connections().await?.len(), 1);
    Ok(())
}

/// Finding 2 of issue 11: the browser may set only declared, non-automated connection-config fields,
/// and what the token response carries (`token_response_metadata`) wins over anything sent earlier.
#[tokio::test]
async fn browser_connection_config_cannot_preset_automated_or_undeclared_fields(
) -> anyhow::Result<()> {
    let s = setup().await?;
    let pinned = json!({
        "end_user": {"id": "u1"},
        "integrations_config_defaults": {TENANT: {"connection_config": {
            "hostname": "127.0.0.1", "port": port_of(s.a.issuer())
        }}}
    });
    let start = s
        .start_url_for(
            pinned,
            TENANT,
            &[
                ("params[token_type]", "https://attacker.example"),
                ("params[instance_url]", "https://attacker.example"),
                ("params[region]", "eu"),
            ],
        )
        .await?;
    let end = HeadlessUser::new()?.authorize(&start, "alice").await?;
    assert!(end.status.is_success(), "{}: {}", end.status, end.body);
    let listed = s.server.list_connections().await?;
    let id = listed[0]["connection_id"].as_str().expect("connection id");
    let connection = s.server.get_connection(id, TENANT).await?;
    let config = serde_json::to_value(&connection)?["connection_config"].clone();
    assert_eq!(config["region"], "eu", "{config}");
    assert_eq!(
        config["token_type"], "Bearer",
        "the token response wins: {config}"
    );
    assert!(config.get("instance_url").is_none(), "undeclared: {config}");
    Ok(())
}
