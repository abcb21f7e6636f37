//! The first half of the flow (`GET /oauth/connect/:key`): which client, URL, scopes and
//! parameters the provider's authorize request gets (session defaults over what the browser sent;
//! every host that will receive a secret checked now, before the user consents), the attempt
//! recorded (state hash, sealed PKCE verifier and overrides, browser-binding hash), and the URL the
//! popup opens.

use super::Flows;
use super::{
    attempt_aad, internal, missing_params, provider_of, token_url_template, url_error, FlowFailure,
    SealedAttempt, ATTEMPT_TTL_SECS, CLIENT_ID_OVERRIDE, OVERRIDE_KEYS,
};
use crate::catalog::Provider;
use crate::catalog::{interpolate_params, interpolate_secret_url};
use crate::crypto;
use crate::environment::Environment;
use crate::sessions;
use crate::storage::{ConnectSessionRow, IntegrationRow, OAuthAttemptRow};
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::ErrorCode;
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use std::collections::{BTreeMap, BTreeSet};

/// Authorization parameters a catalog or a caller may not override: the flow's own security
/// parameters are set by us alone.
const RESERVED_AUTH_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

pub struct StartRequest<'a> {
    pub env: &'a Environment,
    /// The connect session; `None` in legacy public-key mode (then the caller names the connection).
    pub session: Option<&'a ConnectSessionRow>,
    /// The connection the flow writes to (the session's rule or the public-key caller's choice).
    pub connection_id: String,
    pub provider_config_key: &'a str,
    /// The session allows this integration (checked after the integration and its provider are
    /// found, so an unknown integration gives Nango's error type).
    pub allowed: bool,
    pub ws_client_id: Option<String>,
    pub opener_origin: Option<String>,
    /// Redirect mode: where the browser returns (already checked against the allowed origins).
    pub return_url: Option<String>,
    pub params: BTreeMap<String, String>,
    pub authorization_params: BTreeMap<String, String>,
    /// `credentials[…]` from the query: the OAuth client overrides ([`OVERRIDE_KEYS`]).
    pub credentials: BTreeMap<String, String>,
}

/// The client overrides of a new flow, out of `connection_config`: a value the session pinned wins,
/// then the browser's `credentials[…]`, then a `params[…]` of the same name (Nango reads all three).
fn take_overrides(
    connection_config: &mut BTreeMap<String, String>,
    pinned: &BTreeMap<String, String>,
    credentials: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for key in OVERRIDE_KEYS {
        let from_config = connection_config.remove(key);
        let value = pinned
            .get(key)
            .cloned()
            .filter(|v| !v.is_empty())
            .or_else(|| credentials.get(key).cloned().filter(|v| !v.is_empty()))
            .or(from_config.filter(|v| !v.is_empty()));
        if let Some(v) = value {
            out.insert(key.to_string(), v);
        }
    }
    out
}

pub struct Started {
    pub authorize_url: String,
    /// Cookie name and value binding the attempt to this browser.
    pub binding_cookie: (String, String),
}

/// Name of the browser-binding cookie of one attempt (several flows may run in one browser).
pub fn binding_cookie_name(state: &str) -> String {
    format!("latchkey_oauth_{}", &crypto::sha256_hex(state)[..16])
}

pub async fn start(flows: &Flows<'_>, req: StartRequest<'_>) -> Result<Started, FlowFailure> {
    let key = req.provider_config_key;
    let integration = flows
        .store
        .integration(req.env.id, key)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            // Nango's popup flow reports an unknown integration as `provider_config_err`
            // (reference §4.1 step 6), unlike the credential `POST`s (`unknown_provider_config`).
            FlowFailure::new(
                ErrorCode::ProviderConfigErr,
                format!("Could not find a Provider Config matching the \"{key}\" key."),
            )
        })?;
    let provider = provider_of(flows, &integration.provider)?;
    if !req.allowed {
        return Err(FlowFailure::new(
            ErrorCode::IntegrationNotAllowed,
            format!("Integration '{key}' is not allowed by this session."),
        ));
    }
    if !matches!(
        provider.auth_mode,
        AuthMode::Oauth2
            | AuthMode::Oauth1
            | AuthMode::InstallPlugin
            | AuthMode::App
            | AuthMode::Custom
    ) && !crate::oauth::mcp::is_mcp(&provider.auth_mode)
    {
        return Err(FlowFailure::new(
            ErrorCode::AuthModeErr,
            format!("Integration '{key}' does not use OAuth2; it cannot start a popup flow."),
        ));
    }

    // Session defaults win over what the browser sent (Nango's rule, reference §4.1 step 7).
    let defaults = req.session.and_then(|s| sessions::defaults_for(s, key));
    // The browser may set only the fields the provider declares (or its templates use) and does not
    // fill itself (`automated`, e.g. Salesforce `instance_url`), and the client overrides (Nango reads
    // them from `params[…]` too). User scopes come from the session only (reference §4.1 step 7).
    let mut browser_params: BTreeMap<String, String> = req
        .params
        .into_iter()
        .filter(|(k, _)| OVERRIDE_KEYS.contains(&k.as_str()) || provider.browser_may_set(k))
        .filter(|(k, _)| k != "user_scope")
        .collect();
    let mut connection_config = match req.session {
        Some(session) => sessions::connection_config(session, key, browser_params),
        None => {
            browser_params.remove("webhook_url");
            browser_params
        }
    };
    let pinned: BTreeMap<String, String> = defaults
        .as_ref()
        .and_then(|d| d.connection_config.as_ref())
        .map(|c| {
            c.iter()
                .map(|(k, v)| (k.clone(), crate::catalog::param_string(v)))
                .collect()
        })
        .unwrap_or_default();
    let overrides = take_overrides(&mut connection_config, &pinned, &req.credentials);
    // Keys the backend chose: a host it pinned is its decision (the pattern still applies).
    let pinned_keys: BTreeSet<String> = pinned.keys().cloned().collect();
    let callback_url = req
        .env
        .callback_url
        .clone()
        .unwrap_or_else(|| flows.config.callback_url());
    // MCP modes choose their client (dynamic registration), endpoints and resource first.
    let mcp = if crate::oauth::mcp::is_mcp(&provider.auth_mode) {
        let prepared = crate::oauth::mcp::prepare(
            flows,
            req.env,
            &integration,
            &provider,
            &connection_config,
            &callback_url,
        )
        .await?;
        connection_config.extend(prepared.connection_config.clone());
        Some(prepared)
    } else {
        None
    };
    let client_id = mcp
        .as_ref()
        .map(|m| m.attempt.client_id.clone())
        .or_else(|| {
            overrides
                .get(CLIENT_ID_OVERRIDE)
                .cloned()
                .or_else(|| integration.client_id.clone())
        })
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            FlowFailure::new(
                ErrorCode::ProviderConfigErr,
                format!("Integration '{key}' has no OAuth client id."),
            )
        })?;
    let user_scope = defaults
        .as_ref()
        .and_then(|d| d.user_scopes.clone())
        .filter(|s| !s.trim().is_empty());
    if let Some(user_scope) = &user_scope {
        connection_config.insert("user_scope".into(), user_scope.clone());
    }
    let mut authorization_params =
        interpolate_params(&provider.authorization_params, &connection_config)
            .map_err(missing_params)?;
    // The token request's parameters must be complete too: fail now, not after the user consented.
    interpolate_params(&provider.token_params, &connection_config).map_err(missing_params)?;
    if let Some(user_scope) = user_scope {
        authorization_params.insert("user_scope".into(), user_scope);
    }
    match defaults
        .as_ref()
        .and_then(|d| d.authorization_params.clone())
    {
        Some(pinned) => authorization_params.extend(pinned),
        None => authorization_params.extend(req.authorization_params),
    }
    for reserved in RESERVED_AUTH_PARAMS {
        authorization_params.remove(*reserved);
    }

    if let Some(resource) = mcp.as_ref().and_then(|m| m.attempt.resource.clone()) {
        authorization_params.insert("resource".into(), resource);
    }
    let (authorization_url, install_link) = authorization_url(
        flows,
        (&integration, &provider),
        mcp.as_ref(),
        &connection_config,
        &pinned_keys,
    )?;

    let connection_id = req.connection_id;
    let state = crypto::random_urlsafe_256();
    let binding = crypto::random_hex_256();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();

    let scopes = scopes(&integration, &provider, mcp.as_ref());
    let separator = provider.scope_separator.as_deref().unwrap_or(" ");
    // OAuth 1.0a: the temporary credentials first; the user authorizes them (issue 15).
    let oauth1 = if provider.auth_mode == AuthMode::Oauth1 {
        let secret = crate::integration_config::client_secret(flows.cipher, &integration)
            .map_err(internal)?;
        Some(
            crate::oauth::oauth1::start(
                flows,
                &provider,
                &connection_config,
                (&client_id, &secret),
                (&callback_url, &state),
                (&authorization_url, &scopes, separator),
                &authorization_params,
            )
            .await?,
        )
    } else {
        None
    };

    let url = authorize_request(
        (client_id, authorization_url, callback_url.clone()),
        &state,
        (&scopes, separator),
        (!provider.disable_pkce).then_some(challenge),
        &authorization_params,
    )?;

    let state_hash = crypto::sha256_hex(&state);
    flows
        .store
        .insert_oauth_attempt(&OAuthAttemptRow {
            code_verifier_enc: flows.cipher.seal(
                &serde_json::to_vec(&SealedAttempt {
                    verifier: verifier.secret().clone(),
                    overrides,
                    return_url: req.return_url,
                    mcp: mcp.map(|m| m.attempt),
                    oauth1: oauth1.as_ref().map(|(_, temporary)| temporary.clone()),
                })
                .expect("attempt serializes"),
                &attempt_aad(&state_hash),
            ),
            key_id: flows.cipher.key_id().to_string(),
            state_hash,
            environment_id: req.env.id,
            connect_session_id: req.session.map(|s| s.id),
            provider_config_key: key.to_string(),
            connection_id,
            browser_binding_hash: crypto::sha256_hex(&binding),
            ws_client_id: req.ws_client_id,
            opener_origin: req.opener_origin,
            connection_config: serde_json::to_string(&connection_config).expect("map serializes"),
            callback_url,
            tags: req.session.and_then(|s| s.tags.clone()),
            end_user: req.session.and_then(|s| s.end_user.clone()),
            expires_at: flows.upstream.clock.now_unix() + ATTEMPT_TTL_SECS,
        })
        .await
        .map_err(internal)?;

    Ok(Started {
        authorize_url: match (oauth1, install_link) {
            (Some((url, _)), _) => url,
            (None, Some(link)) if provider.auth_mode.is_github_app() => {
                crate::oauth::github_app::install_url(&provider, &link, &state).map_err(internal)?
            }
            (None, Some(link)) => {
                let mut link = url::Url::parse(&link).map_err(internal)?;
                link.query_pairs_mut().append_pair("payload", &state);
                link.to_string()
            }
            (None, None) => url.to_string(),
        },
        binding_cookie: (binding_cookie_name(&state), binding),
    })
}

/// The scopes to request: the integration's (comma-separated), else those an MCP server
/// advertised, else the catalog's defaults.
fn scopes(
    integration: &IntegrationRow,
    provider: &Provider,
    mcp: Option<&crate::oauth::mcp::Prepared>,
) -> Vec<String> {
    integration
        .scopes
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .or_else(|| mcp.map(|m| m.scopes.clone()).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| provider.default_scopes.clone())
}

/// The provider's authorize URL for one attempt (built by the `oauth2` crate): client, redirect
/// URI, `state`, scopes joined by the provider's separator, the PKCE challenge unless the provider
/// disables PKCE, and the extra parameters.
fn authorize_request(
    (client_id, authorization_url, callback_url): (String, String, String),
    state: &str,
    (scopes, separator): (&[String], &str),
    challenge: Option<PkceCodeChallenge>,
    params: &BTreeMap<String, String>,
) -> Result<url::Url, FlowFailure> {
    let client = BasicClient::new(ClientId::new(client_id))
        .set_auth_uri(AuthUrl::new(authorization_url).map_err(|e| {
            FlowFailure::new(
                ErrorCode::ProviderConfigErr,
                format!("The provider's authorization URL is invalid: {e}"),
            )
        })?)
        .set_redirect_uri(RedirectUrl::new(callback_url).map_err(|e| {
            FlowFailure::new(
                ErrorCode::ProviderConfigErr,
                format!("The callback URL is invalid: {e}"),
            )
        })?);
    let state = state.to_string();
    let mut auth = client.authorize_url(move || CsrfToken::new(state));
    if !scopes.is_empty() {
        auth = auth.add_scope(Scope::new(scopes.join(separator)));
    }
    if let Some(challenge) = challenge {
        auth = auth.set_pkce_challenge(challenge);
    }
    for (k, v) in params {
        auth = auth.add_extra_param(k.clone(), v.clone());
    }
    Ok(auth.url().0)
}

/// Where the user is sent, and the install link when the integration installs something (a plugin,
/// a GitHub App) instead. Every URL that will receive the user's consent, the code or the client
/// secret is checked here, before the user consents: a host outside the provider's domains must have
/// been pinned by the backend (`pinned_keys`).
fn authorization_url(
    flows: &Flows<'_>,
    (integration, provider): (&IntegrationRow, &Provider),
    mcp: Option<&crate::oauth::mcp::Prepared>,
    connection_config: &BTreeMap<String, String>,
    pinned_keys: &BTreeSet<String>,
) -> Result<(String, Option<String>), FlowFailure> {
    let key = &integration.unique_key;
    // INSTALL_PLUGIN (Nango's `installPluginRequest`): the owner's plugin install page, which gets the
    // attempt's state as `payload` and sends the user back to the callback with it as `state`.
    let install_link = if provider.auth_mode.installs() {
        let custom =
            crate::integration_config::open(flows.cipher, integration).map_err(internal)?;
        Some(custom.get("app_link").cloned().ok_or_else(|| {
            FlowFailure::new(
                ErrorCode::ProviderConfigErr,
                format!("Integration '{key}' has no install link (app_link)."),
            )
        })?)
    } else {
        None
    };
    let discovered_authorization_url = mcp
        .and_then(|m| m.authorization_url.clone())
        .or_else(|| install_link.clone());
    let authorization_url = match discovered_authorization_url {
        // Checked by discovery (https, guarded fetch of the metadata naming it).
        Some(url) => url,
        None => {
            let template = provider.authorization_url.as_deref().ok_or_else(|| {
                FlowFailure::new(
                    ErrorCode::ProviderConfigErr,
                    "The provider has no authorization URL.",
                )
            })?;
            interpolate_secret_url(template, connection_config, provider, pinned_keys)
                .map_err(url_error)?
        }
    };
    // A GitHub App's token URL names the installation, known only when GitHub sends the user back.
    let token_urls = if provider.auth_mode.is_github_app() {
        [None, None]
    } else {
        [
            token_url_template(provider),
            provider.refresh_url.as_deref(),
        ]
    };
    for template in token_urls.into_iter().flatten() {
        interpolate_secret_url(template, connection_config, provider, pinned_keys)
            .map_err(url_error)?;
    }
    Ok((authorization_url, install_link))
}
