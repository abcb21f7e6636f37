//! The two halves of the authorization-code flow; see the module above for the sequence.

use super::token::{request_token, BodyFormat, ClientAuth, TokenRequest};
use crate::catalog::{
    interpolate_params, interpolate_secret_url, MissingParams, Provider, UrlError,
};
use crate::crypto;
use crate::environment::Environment;
use crate::secret::Secret;
use crate::sessions;
use crate::storage::{ConnectSessionRow, IntegrationRow, OAuthAttemptRow};
use crate::AppState;
use latchkey_protocol::connection::ConfigOverride;
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::ErrorCode;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use std::collections::{BTreeMap, BTreeSet};

/// How long a started authorization stays valid.
pub const ATTEMPT_TTL_SECS: i64 = 600;

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

/// A failed flow step: a code from the protocol's catalogue and a message safe to show the user.
#[derive(Debug, Clone)]
pub struct FlowFailure {
    pub code: ErrorCode,
    pub message: String,
    /// Where to report it, when the failure happened after the attempt was identified.
    pub report: Option<Box<ReportTo>>,
}

/// The result channels of one attempt.
#[derive(Debug, Clone, Default)]
pub struct ReportTo {
    pub provider_config_key: String,
    pub connection_id: String,
    pub ws_client_id: Option<String>,
    pub opener_origin: Option<String>,
    /// Redirect mode: the (validated) page the browser returns to with the outcome's id.
    pub return_url: Option<String>,
}

impl FlowFailure {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            report: None,
        }
    }

    pub(crate) fn reported_to(mut self, report: &ReportTo) -> Self {
        self.report = Some(Box::new(report.clone()));
        self
    }
}

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

/// `credentials[oauth_client_id_override]`, `…_secret_override`, `…_refresh_token_override`: the
/// frontend (or the session's `integrations_config_defaults[key].connection_config`) may replace the
/// integration's OAuth client for one connection (reference §4.1 step 9, §4.4).
pub const CLIENT_ID_OVERRIDE: &str = "oauth_client_id_override";
pub const CLIENT_SECRET_OVERRIDE: &str = "oauth_client_secret_override";
pub const REFRESH_TOKEN_OVERRIDE: &str = "oauth_refresh_token_override";
pub const OVERRIDE_KEYS: [&str; 3] = [
    CLIENT_ID_OVERRIDE,
    CLIENT_SECRET_OVERRIDE,
    REFRESH_TOKEN_OVERRIDE,
];

/// What the attempt keeps sealed until the callback: the PKCE verifier and the client overrides.
/// The overrides never go into `connection_config` (which is stored and returned in clear).
/// No `Debug`: nothing here may be printed.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct SealedAttempt {
    verifier: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    overrides: BTreeMap<String, String>,
    /// Redirect mode's return URL (sealed with the rest: no schema change, and not readable from
    /// the database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    return_url: Option<String>,
    /// MCP modes: the client, token URL and resource chosen at the start ([`super::mcp`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mcp: Option<super::mcp::McpAttempt>,
    /// OAuth 1.0a: the temporary credentials (token, secret) from the request-token leg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oauth1: Option<(String, String)>,
}

impl SealedAttempt {
    /// Older attempts sealed the bare verifier.
    fn parse(plain: String) -> Self {
        serde_json::from_str(&plain).unwrap_or(Self {
            verifier: plain,
            overrides: BTreeMap::new(),
            return_url: None,
            mcp: None,
            oauth1: None,
        })
    }
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

pub async fn start(app: &AppState, req: StartRequest<'_>) -> Result<Started, FlowFailure> {
    let key = req.provider_config_key;
    let integration = app
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
    let provider = provider_of(app, &integration.provider)?;
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
    ) && !super::mcp::is_mcp(&provider.auth_mode)
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
        .unwrap_or_else(|| app.config.callback_url());
    // MCP modes choose their client (dynamic registration), endpoints and resource first.
    let mcp = if super::mcp::is_mcp(&provider.auth_mode) {
        let prepared = super::mcp::prepare(
            app,
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
    // INSTALL_PLUGIN (Nango's `installPluginRequest`): the owner's plugin install page, which gets the
    // attempt's state as `payload` and sends the user back to the callback with it as `state`.
    let install_link = if matches!(
        provider.auth_mode,
        AuthMode::InstallPlugin | AuthMode::App | AuthMode::Custom
    ) {
        let custom = crate::integration_config::open(app, &integration).map_err(internal)?;
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
        .as_ref()
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
            // Every URL that receives the user's consent, the code or the client secret, checked
            // now: a host outside the provider's domains must have been pinned by the backend.
            interpolate_secret_url(template, &connection_config, &provider, &pinned_keys)
                .map_err(url_error)?
        }
    };
    // A GitHub App's token URL names the installation, known only when GitHub sends the user back.
    let token_urls = match provider.auth_mode {
        AuthMode::App | AuthMode::Custom => [None, None],
        _ => [
            token_url_template(&provider),
            provider.refresh_url.as_deref(),
        ],
    };
    for template in token_urls.into_iter().flatten() {
        interpolate_secret_url(template, &connection_config, &provider, &pinned_keys)
            .map_err(url_error)?;
    }

    let connection_id = req.connection_id;
    let state = crypto::random_urlsafe_256();
    let binding = crypto::random_hex_256();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();

    let scopes = integration
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
        .or_else(|| {
            mcp.as_ref()
                .map(|m| m.scopes.clone())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| provider.default_scopes.clone());
    let separator = provider.scope_separator.as_deref().unwrap_or(" ");
    // OAuth 1.0a: the temporary credentials first; the user authorizes them (issue 15).
    let oauth1 = if provider.auth_mode == AuthMode::Oauth1 {
        let secret = open_client_secret(app, &integration).map_err(internal)?;
        Some(
            super::oauth1::start(
                app,
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

    let client = BasicClient::new(ClientId::new(client_id))
        .set_auth_uri(AuthUrl::new(authorization_url).map_err(|e| {
            FlowFailure::new(
                ErrorCode::ProviderConfigErr,
                format!("The provider's authorization URL is invalid: {e}"),
            )
        })?)
        .set_redirect_uri(RedirectUrl::new(callback_url.clone()).map_err(|e| {
            FlowFailure::new(
                ErrorCode::ProviderConfigErr,
                format!("The callback URL is invalid: {e}"),
            )
        })?);
    let state_for_url = state.clone();
    let mut auth = client.authorize_url(move || CsrfToken::new(state_for_url));
    if !scopes.is_empty() {
        auth = auth.add_scope(Scope::new(scopes.join(separator)));
    }
    if !provider.disable_pkce {
        auth = auth.set_pkce_challenge(challenge);
    }
    for (k, v) in &authorization_params {
        auth = auth.add_extra_param(k.clone(), v.clone());
    }
    let (url, _) = auth.url();

    let state_hash = crypto::sha256_hex(&state);
    app.store
        .insert_oauth_attempt(&OAuthAttemptRow {
            code_verifier_enc: app.cipher.seal(
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
            key_id: app.cipher.key_id().to_string(),
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
            expires_at: crate::time::now_unix() + ATTEMPT_TTL_SECS,
        })
        .await
        .map_err(internal)?;

    Ok(Started {
        authorize_url: match (oauth1, install_link) {
            (Some((url, _)), _) => url,
            (None, Some(link))
                if matches!(provider.auth_mode, AuthMode::App | AuthMode::Custom) =>
            {
                super::github_app::install_url(&provider, &link, &state).map_err(internal)?
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

/// Query of `GET /oauth/callback`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// RFC 9207 authorization server issuer identifier.
    pub iss: Option<String>,
    /// Everything else the provider put in the query (source of `redirect_uri_metadata`).
    #[param(ignore)]
    #[serde(flatten)]
    pub extra: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct Completed {
    pub report: ReportTo,
    pub created: bool,
    /// The connection waits for something outside the flow (a GitHub App installation an
    /// organization owner must approve); reported as `isPending`.
    pub pending: bool,
}

/// `binding` is the value of the attempt's cookie as the browser sent it (looked up by the caller
/// with [`binding_cookie_name`]).
pub async fn complete(
    app: &AppState,
    query: CallbackQuery,
    binding: impl Fn(&str) -> Option<String>,
) -> Result<Completed, FlowFailure> {
    let state = query
        .state
        .filter(|s| !s.is_empty() && s.len() <= 128)
        .ok_or_else(|| FlowFailure::new(ErrorCode::StateErr, "No state found in the callback."))?;
    let state_hash = crypto::sha256_hex(&state);
    let unknown = || {
        FlowFailure::new(
            ErrorCode::StateErr,
            "This authorization is unknown or was already used.",
        )
    };
    // Read first, consume only once the browser binding matched: someone who learnt the `state`
    // (a log, a Referer) but not the victim's cookie must not be able to burn the attempt.
    let attempt = app
        .store
        .oauth_attempt(&state_hash)
        .await
        .map_err(internal)?
        .ok_or_else(unknown)?;
    let mut report = ReportTo {
        provider_config_key: attempt.provider_config_key.clone(),
        connection_id: attempt.connection_id.clone(),
        ws_client_id: attempt.ws_client_id.clone(),
        opener_origin: attempt.opener_origin.clone(),
        return_url: None,
    };
    // Opened first: a redirect-mode flow reports every later failure by returning to its page.
    let sealed = app
        .cipher
        .open_string(
            &attempt.key_id,
            &attempt.code_verifier_enc,
            &attempt_aad(&state_hash),
        )
        .map(SealedAttempt::parse)
        .map_err(|e| internal(e).reported_to(&report))?;
    report.return_url = sealed.return_url.clone();
    let env = app
        .store
        .environment_by_id(attempt.environment_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            FlowFailure::new(ErrorCode::UnknownErr, "The environment no longer exists.")
                .reported_to(&report)
        })?;
    // The browser binding is on by default; an environment may switch it off (`browser_cookie_check:
    // false`, e.g. when its callback URL is on a domain whose cookies never reach us). The state stays
    // single-use and bound to its session either way.
    let check_cookie =
        crate::settings::from_stored_or_default(&env.settings, &app.cipher, &env.name)
            .browser_cookie_check;
    let cookie_ok = binding(&binding_cookie_name(&state))
        .map(|b| crypto::secrets_equal(&crypto::sha256_hex(&b), &attempt.browser_binding_hash))
        .unwrap_or(false);
    if check_cookie && !cookie_ok {
        // Not reported on the attempt's WebSocket: this browser is not the one that started it, and
        // must not be able to end the victim's flow. (The page itself posts only to the recorded
        // opener origin, as always.)
        let page_only = ReportTo {
            ws_client_id: None,
            return_url: None,
            ..report.clone()
        };
        return Err(FlowFailure::new(
            ErrorCode::StateCookieErr,
            "This authorization was not started in this browser.",
        )
        .reported_to(&page_only));
    }
    // Single use, atomically (two callbacks racing: one wins).
    let attempt = app
        .store
        .consume_oauth_attempt(&state_hash)
        .await
        .map_err(internal)?
        .ok_or_else(unknown)?;
    if attempt.expires_at <= crate::time::now_unix() {
        return Err(FlowFailure::new(
            ErrorCode::StateErr,
            "This authorization has expired; please start again.",
        )
        .reported_to(&report));
    }
    let integration = app
        .store
        .integration(env.id, &attempt.provider_config_key)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            FlowFailure::new(
                ErrorCode::UnknownProviderConfig,
                "The integration was deleted during the flow.",
            )
            .reported_to(&report)
        })?;
    let provider = provider_of(app, &integration.provider).map_err(|f| f.reported_to(&report))?;
    let mut connection_config: BTreeMap<String, String> =
        serde_json::from_str(&attempt.connection_config)
            .map_err(|e| internal(e).reported_to(&report))?;
    // Mix-up defence (RFC 9207), before anything else of the response is trusted.
    check_issuer(&provider, &connection_config, query.iss.as_deref())
        .map_err(|f| f.reported_to(&report))?;
    if let Some(error) = query.error {
        let detail = match query.error_description {
            Some(d) => format!("{error}: {d}"),
            None => error,
        };
        return Err(FlowFailure::new(
            ErrorCode::CallbackErr,
            format!("The provider refused the authorization ({detail})."),
        )
        .reported_to(&report));
    }
    if provider.auth_mode == AuthMode::Oauth1 {
        let credentials = super::oauth1::complete(
            app,
            &provider,
            &integration,
            &connection_config,
            &sealed.oauth1,
            &query.extra,
        )
        .await
        .map_err(|f| f.reported_to(&report))?;
        return store(
            app,
            &env,
            &attempt,
            &integration,
            &provider,
            &connection_config,
            &credentials,
            report,
        )
        .await;
    }
    // Installs (a plugin, a GitHub App): no code to exchange; the return carries what they need.
    let install = (&env, &attempt, &integration, &provider);
    match provider.auth_mode {
        AuthMode::App => {
            let done =
                super::github_app::complete(app, install, connection_config, &query.extra, report);
            return done.await;
        }
        AuthMode::InstallPlugin => {
            let done = super::install_plugin::complete(
                app,
                install,
                connection_config,
                &query.extra,
                report,
            );
            return done.await;
        }
        _ => {}
    }
    let code = query.code.filter(|c| !c.is_empty()).ok_or_else(|| {
        let message = match provider.auth_mode {
            AuthMode::Custom => {
                "GitHub did not send an authorization code back: the app must request user \
                 authorization (OAuth) during installation."
            }
            _ => "Did not get an authorization code in the callback.",
        };
        FlowFailure::new(ErrorCode::CallbackErr, message).reported_to(&report)
    })?;

    let overrides = &sealed.overrides;
    let mcp = sealed.mcp.as_ref();
    // An MCP client we registered is kept with the connection (its refresh token is bound to it).
    let config_override = match mcp {
        Some(m) if m.registered => ConfigOverride {
            client_id: Some(m.client_id.clone()),
            client_secret: m.client_secret.clone(),
        },
        Some(_) => ConfigOverride::default(),
        None => ConfigOverride {
            client_id: overrides.get(CLIENT_ID_OVERRIDE).cloned(),
            client_secret: overrides.get(CLIENT_SECRET_OVERRIDE).cloned(),
        },
    };
    let client_secret = match &config_override.client_secret {
        Some(s) => Secret::new(s.clone()),
        None if mcp.is_some_and(|m| m.registered) => Secret::new(""),
        None => {
            open_client_secret(app, &integration).map_err(|e| internal(e).reported_to(&report))?
        }
    };
    let client_id = config_override
        .client_id
        .clone()
        .or_else(|| integration.client_id.clone())
        .unwrap_or_default();
    let verifier = sealed.verifier.clone();
    let token_url = match mcp.and_then(|m| m.token_url.clone()) {
        // Discovered at the start (https, from metadata naming its issuer).
        Some(url) => url,
        None => {
            let template = token_url_template(&provider).ok_or_else(|| {
                FlowFailure::new(
                    ErrorCode::ProviderConfigErr,
                    "The provider has no token URL.",
                )
                .reported_to(&report)
            })?;
            // The attempt's config was checked when the flow started (values sealed in our
            // database since).
            interpolate_secret_url(
                template,
                &connection_config,
                &provider,
                &connection_config.keys().cloned().collect(),
            )
            .map_err(|e| url_error(e).reported_to(&report))?
        }
    };
    let mut params = interpolate_params(&provider.token_params, &connection_config)
        .map_err(|m| missing_params(m).reported_to(&report))?;
    params.insert("grant_type".into(), "authorization_code".into());
    params.insert("code".into(), code);
    params.insert("redirect_uri".into(), attempt.callback_url.clone());
    // A GitHub App's install page takes no code challenge, so there is no verifier to send.
    if !provider.disable_pkce && provider.auth_mode != AuthMode::Custom {
        params.insert(
            "code_verifier".into(),
            PkceCodeVerifier::new(verifier).secret().clone(),
        );
    }
    if let Some(resource) = mcp.and_then(|m| m.resource.clone()) {
        params.insert("resource".into(), resource);
    }
    let auth = match mcp {
        // A registered public client authenticates with its client id alone.
        Some(_) if client_secret.expose().is_empty() => ClientAuth::None,
        _ => ClientAuth::for_provider(&provider),
    };
    let tokens = match request_token(
        &app.outbound,
        TokenRequest {
            token_url: &token_url,
            client_id: &client_id,
            client_secret: &client_secret,
            auth,
            format: BodyFormat::for_provider(&provider),
            params,
        },
    )
    .await
    {
        Ok(tokens) => tokens,
        Err(e) => {
            tracing::warn!(integration = %attempt.provider_config_key, error = %e, "token exchange failed");
            // Re-authorizing an existing connection is an override, in failure as in success.
            let existed = app
                .store
                .connection(env.id, &attempt.provider_config_key, &attempt.connection_id)
                .await
                .map_err(|e| internal(e).reported_to(&report))?
                .is_some();
            let event = crate::webhooks::AuthSubject {
                environment: &env.name,
                provider_config_key: &attempt.provider_config_key,
                connection_id: &attempt.connection_id,
                provider: &integration.provider,
                auth_mode: provider.auth_mode.as_str(),
                tags: attempt.tags.as_deref(),
            }
            .event(
                if existed {
                    crate::webhooks::AuthOperation::Override
                } else {
                    crate::webhooks::AuthOperation::Creation
                },
                Some(crate::webhooks::AuthFailure::TokenExchange(&e.to_string())),
            );
            crate::webhooks::enqueue_auth(app, env.id, event).await;
            return Err(FlowFailure::new(
                ErrorCode::TokenErr,
                format!("The provider did not issue a token: {e}"),
            )
            .reported_to(&report));
        }
    };

    // Post-connection config: what the provider returned wins over anything the flow started with
    // (a browser or a session cannot pre-set Salesforce's `instance_url`).
    let mut metadata = token_metadata(&tokens.raw, &provider.token_response_metadata);
    for key in &provider.redirect_uri_metadata {
        if let Some(v) = query.extra.get(key).filter(|v| !v.is_empty()) {
            metadata.insert(key.clone(), v.clone());
        }
    }
    connection_config.extend(metadata);
    // A refresh-token override replaces the issued one (reference §4.4).
    let refresh_override = overrides.get(REFRESH_TOKEN_OVERRIDE).cloned();
    let mut tokens = tokens;
    if let Some(r) = &refresh_override {
        tokens.refresh_token = Some(Secret::new(r.clone()));
    }
    let config_override = (config_override.client_id.is_some()
        || config_override.client_secret.is_some())
    .then_some(config_override);
    let credentials = tokens.into_credentials(None, config_override);
    // A GitHub App with user authorization: the installation's token joins the user's (or the
    // connection waits for an owner's approval).
    let (credentials, pending) = match provider.auth_mode {
        AuthMode::Custom => super::github_app::finish_user_authorized(
            app,
            &integration,
            &provider,
            &mut connection_config,
            credentials,
            &query.extra,
        )
        .await
        .map_err(|e| super::github_app::flow_failure(e).reported_to(&report))?,
        _ => (credentials, false),
    };
    let stored = store(
        app,
        &env,
        &attempt,
        &integration,
        &provider,
        &connection_config,
        &credentials,
        report,
    );
    Ok(Completed {
        pending,
        ..stored.await?
    })
}

/// Seals and upserts the connection a completed flow authorized, with its auth webhook.
#[allow(clippy::too_many_arguments)]
pub(super) async fn store(
    app: &AppState,
    env: &crate::storage::EnvironmentRow,
    attempt: &OAuthAttemptRow,
    integration: &IntegrationRow,
    provider: &Provider,
    connection_config: &BTreeMap<String, String>,
    credentials: &latchkey_protocol::connection::Credentials,
    report: ReportTo,
) -> Result<Completed, FlowFailure> {
    let grant = crate::connections::save::Grant {
        environment_id: env.id,
        environment: &env.name,
        provider_config_key: &attempt.provider_config_key,
        connection_id: &attempt.connection_id,
        provider: &integration.provider,
        auth_mode: provider.auth_mode.as_str(),
        connection_config: serde_json::to_string(connection_config).expect("map serializes"),
        tags: attempt.tags.as_deref(),
        end_user: attempt.end_user.clone(),
    };
    let created = crate::connections::save::save(app, grant, credentials)
        .await
        .map_err(|e| internal(e).reported_to(&report))?;
    tracing::info!(integration = %report.provider_config_key, connection = %report.connection_id, created, "connection authorized");
    Ok(Completed {
        report,
        created,
        pending: false,
    })
}

/// The provider's token URL template for its auth mode.
pub fn token_url_template(provider: &Provider) -> Option<&str> {
    // `CUSTOM` (a GitHub App with user authorization) exchanges the user's code at its OAuth2 URL.
    let mode = match &provider.auth_mode {
        AuthMode::Custom => "OAUTH2",
        other => other.as_str(),
    };
    provider.token_url.as_ref().and_then(|u| u.for_mode(mode))
}

fn missing_params(m: MissingParams) -> FlowFailure {
    FlowFailure::new(
        ErrorCode::UrlParamErr,
        format!("Missing Connection Config param(s): {}", m.0.join(", ")),
    )
}

fn url_error(e: UrlError) -> FlowFailure {
    match e {
        UrlError::Missing(m) => missing_params(m),
        UrlError::Invalid(key) => FlowFailure::new(
            ErrorCode::UrlParamErr,
            format!("Connection Config param '{key}' is not valid for this provider."),
        ),
        UrlError::HostNotAllowed(key) => FlowFailure::new(
            ErrorCode::UrlParamErr,
            format!(
                "Connection Config param '{key}' names a host outside this provider's domains; \
                 the backend must set it in the session's integrations_config_defaults."
            ),
        ),
    }
}

/// RFC 9207: an `iss` in the authorization response must name the provider the flow was started
/// with — the catalog's `issuer` when it declares one (then `iss` is also required), otherwise the
/// origin of the authorization URL. This is what stops a code obtained from one provider being
/// replayed with another provider's `state` (mix-up): it is refused before any token endpoint is called.
fn check_issuer(
    provider: &Provider,
    connection_config: &BTreeMap<String, String>,
    iss: Option<&str>,
) -> Result<(), FlowFailure> {
    let mismatch = || {
        FlowFailure::new(
            ErrorCode::CallbackErr,
            "The authorization response was not issued by this integration's provider.",
        )
    };
    match (iss, provider.issuer.as_deref()) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(mismatch()),
        (Some(iss), Some(expected)) => {
            if crypto::secrets_equal(iss.trim_end_matches('/'), expected.trim_end_matches('/')) {
                Ok(())
            } else {
                Err(mismatch())
            }
        }
        (Some(iss), None) => {
            let authorization_url = provider
                .authorization_url
                .as_deref()
                .and_then(|t| {
                    let trusted = connection_config.keys().cloned().collect();
                    interpolate_secret_url(t, connection_config, provider, &trusted).ok()
                })
                .and_then(|u| url::Url::parse(&u).ok())
                .ok_or_else(mismatch)?;
            let iss = url::Url::parse(iss).map_err(|_| mismatch())?;
            if iss.origin() == authorization_url.origin() && iss.origin().is_tuple() {
                Ok(())
            } else {
                Err(mismatch())
            }
        }
    }
}

/// `token_response_metadata`: string and boolean values at the given (dot) paths of the response.
pub fn token_metadata(raw: &serde_json::Value, paths: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for path in paths {
        let value = path.split('.').try_fold(raw, |v, segment| v.get(segment));
        match value {
            Some(serde_json::Value::String(s)) => {
                out.insert(path.clone(), s.clone());
            }
            Some(serde_json::Value::Bool(b)) => {
                out.insert(path.clone(), b.to_string());
            }
            _ => {}
        }
    }
    out
}

fn provider_of(app: &AppState, name: &str) -> Result<Provider, FlowFailure> {
    app.catalog
        .get(name)
        .and_then(|e| e.provider.clone())
        .ok_or_else(|| {
            FlowFailure::new(
                ErrorCode::UnknownConfigKey,
                format!("The provider '{name}' is not in the catalog."),
            )
        })
}

fn internal(e: impl std::fmt::Display) -> FlowFailure {
    tracing::error!(error = %e, "internal error in the OAuth flow");
    FlowFailure::new(
        ErrorCode::UnknownErr,
        "Unknown error during the OAuth flow. Please try again.",
    )
}

/// Associated data of the PKCE verifier: the attempt it belongs to.
fn attempt_aad(state_hash: &str) -> String {
    format!("oauth_attempt:{state_hash}")
}

/// The integration's OAuth client secret, opened (empty when none is stored).
pub fn open_client_secret(
    app: &AppState,
    integration: &IntegrationRow,
) -> Result<Secret, crate::crypto::CryptoError> {
    match (&integration.client_secret_enc, &integration.key_id) {
        (Some(enc), Some(key_id)) => Ok(Secret::new(app.cipher.open_string(
            key_id,
            enc,
            &integration_secret_aad(integration.environment_id, &integration.unique_key),
        )?)),
        _ => Ok(Secret::new("")),
    }
}

/// Associated data of an integration's client secret.
pub fn integration_secret_aad(env_id: i64, unique_key: &str) -> String {
    format!("integration:{env_id}:{unique_key}:client_secret")
}

#[cfg(test)]
mod tests {
    use oauth2::{PkceCodeChallenge, PkceCodeVerifier};

    #[test]
    fn pkce_s256_matches_rfc7636_appendix_b() {
        let verifier =
            PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_string());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        assert_eq!(
            challenge.as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(challenge.method().as_str(), "S256");
    }

    fn provider(yaml: &str) -> crate::catalog::Provider {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn iss_must_name_the_provider_of_the_flow() {
        let cfg = std::collections::BTreeMap::new();
        let p = provider(
            "display_name: A\nauth_mode: OAUTH2\nauthorization_url: http://127.0.0.1:4000/auth\ntoken_url: http://127.0.0.1:4000/token\n",
        );
        assert!(
            super::check_issuer(&p, &cfg, None).is_ok(),
            "iss is optional by default"
        );
        assert!(super::check_issuer(&p, &cfg, Some("http://127.0.0.1:4000")).is_ok());
        for other in [
            "http://127.0.0.1:4001",
            "https://127.0.0.1:4000",
            "not a url",
        ] {
            let f = super::check_issuer(&p, &cfg, Some(other)).unwrap_err();
            assert_eq!(f.code, latchkey_protocol::ErrorCode::CallbackErr, "{other}");
        }
        let declared = provider(
            "display_name: A\nauth_mode: OAUTH2\nauthorization_url: https://a.example/auth\ntoken_url: https://a.example/token\nissuer: https://id.a.example/\n",
        );
        assert!(super::check_issuer(&declared, &cfg, Some("https://id.a.example")).is_ok());
        assert!(super::check_issuer(&declared, &cfg, Some("https://a.example")).is_err());
        assert!(
            super::check_issuer(&declared, &cfg, None).is_err(),
            "a provider declared to send iss must send it"
        );
    }

    #[test]
    fn token_response_metadata_takes_strings_and_booleans_at_dot_paths() {
        let raw = serde_json::json!({
            "instance_url": "https://acme.my.salesforce.com",
            "incoming_webhook": {"url": "https://hooks.example/1"},
            "team": {"id": "T1", "count": 3},
            "is_enterprise_install": false,
        });
        let paths: Vec<String> = [
            "instance_url",
            "incoming_webhook.url",
            "team.count",
            "is_enterprise_install",
            "absent.x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let m = super::token_metadata(&raw, &paths);
        assert_eq!(m["instance_url"], "https://acme.my.salesforce.com");
        assert_eq!(m["incoming_webhook.url"], "https://hooks.example/1");
        assert_eq!(m["is_enterprise_install"], "false");
        assert!(!m.contains_key("team.count") && !m.contains_key("absent.x"));
    }

    #[test]
    fn binding_cookie_name_does_not_reveal_the_state() {
        let name = super::binding_cookie_name("some-state");
        assert!(name.starts_with("latchkey_oauth_"));
        assert!(!name.contains("some-state"));
    }
}
