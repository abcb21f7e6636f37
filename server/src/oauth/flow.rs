//! The two halves of the authorization-code flow; see the module above for the sequence.

use super::token::{request_token, ClientAuth, TokenRequest};
use crate::catalog::{interpolate, param_string, Provider};
use crate::crypto;
use crate::environment::Environment;
use crate::secret::Secret;
use crate::sessions;
use crate::storage::{ConnectSessionRow, IntegrationRow, NewConnection, OAuthAttemptRow};
use crate::AppState;
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::ErrorCode;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use std::collections::BTreeMap;

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
}

impl FlowFailure {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            report: None,
        }
    }

    fn reported_to(mut self, report: &ReportTo) -> Self {
        self.report = Some(Box::new(report.clone()));
        self
    }
}

pub struct StartRequest<'a> {
    pub env: &'a Environment,
    pub session: &'a ConnectSessionRow,
    pub provider_config_key: &'a str,
    pub ws_client_id: Option<String>,
    pub opener_origin: Option<String>,
    pub params: BTreeMap<String, String>,
    pub authorization_params: BTreeMap<String, String>,
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
            FlowFailure::new(
                ErrorCode::UnknownProviderConfig,
                format!("No integration named '{key}'."),
            )
        })?;
    let provider = provider_of(app, &integration.provider)?;
    if provider.auth_mode != AuthMode::Oauth2 {
        return Err(FlowFailure::new(
            ErrorCode::AuthModeErr,
            format!("Integration '{key}' does not use OAuth2; it cannot start a popup flow."),
        ));
    }
    let client_id = integration
        .client_id
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            FlowFailure::new(
                ErrorCode::ProviderConfigErr,
                format!("Integration '{key}' has no OAuth client id."),
            )
        })?;

    // Session defaults win over what the browser sent (Nango's rule, reference §4.1 step 7).
    let defaults = sessions::defaults_for(req.session, key);
    let connection_config = sessions::connection_config(req.session, key, req.params);
    let mut authorization_params: BTreeMap<String, String> = provider
        .authorization_params
        .iter()
        .map(|(k, v)| (k.clone(), param_string(v)))
        .collect();
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

    let authorization_url = provider.authorization_url.as_deref().ok_or_else(|| {
        FlowFailure::new(
            ErrorCode::ProviderConfigErr,
            "The provider has no authorization URL.",
        )
    })?;
    let authorization_url = interpolate(authorization_url, &connection_config).map_err(|m| {
        FlowFailure::new(
            ErrorCode::UrlParamErr,
            format!("Missing Connection Config param(s): {}", m.0.join(", ")),
        )
    })?;

    let connection_id = sessions::connection_id(req.session);
    let callback_url = req
        .env
        .callback_url
        .clone()
        .unwrap_or_else(|| app.config.callback_url());
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
        .unwrap_or_else(|| provider.default_scopes.clone());
    let separator = provider.scope_separator.as_deref().unwrap_or(" ");

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
            code_verifier_enc: app
                .cipher
                .seal(verifier.secret().as_bytes(), &attempt_aad(&state_hash)),
            key_id: app.cipher.key_id().to_string(),
            state_hash,
            environment_id: req.env.id,
            connect_session_id: Some(req.session.id),
            provider_config_key: key.to_string(),
            connection_id,
            browser_binding_hash: crypto::sha256_hex(&binding),
            ws_client_id: req.ws_client_id,
            opener_origin: req.opener_origin,
            connection_config: serde_json::to_string(&connection_config).expect("map serializes"),
            callback_url,
            tags: req.session.tags.clone(),
            end_user: req.session.end_user.clone(),
            expires_at: crate::time::now_unix() + ATTEMPT_TTL_SECS,
        })
        .await
        .map_err(internal)?;

    Ok(Started {
        authorize_url: url.to_string(),
        binding_cookie: (binding_cookie_name(&state), binding),
    })
}

/// Query of `GET /oauth/callback`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackQuery {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

#[derive(Debug)]
pub struct Completed {
    pub report: ReportTo,
    pub created: bool,
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
    let attempt = app
        .store
        .consume_oauth_attempt(&state_hash)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            FlowFailure::new(
                ErrorCode::StateErr,
                "This authorization is unknown or was already used.",
            )
        })?;
    let report = ReportTo {
        provider_config_key: attempt.provider_config_key.clone(),
        connection_id: attempt.connection_id.clone(),
        ws_client_id: attempt.ws_client_id.clone(),
        opener_origin: attempt.opener_origin.clone(),
    };
    if attempt.expires_at <= crate::time::now_unix() {
        return Err(FlowFailure::new(
            ErrorCode::StateErr,
            "This authorization has expired; please start again.",
        )
        .reported_to(&report));
    }
    let cookie_ok = binding(&binding_cookie_name(&state))
        .map(|b| crypto::secrets_equal(&crypto::sha256_hex(&b), &attempt.browser_binding_hash))
        .unwrap_or(false);
    if !cookie_ok {
        return Err(FlowFailure::new(
            ErrorCode::StateCookieErr,
            "This authorization was not started in this browser.",
        )
        .reported_to(&report));
    }
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
    let code = query.code.filter(|c| !c.is_empty()).ok_or_else(|| {
        FlowFailure::new(
            ErrorCode::CallbackErr,
            "Did not get an authorization code in the callback.",
        )
        .reported_to(&report)
    })?;

    let env = app
        .store
        .environment_by_id(attempt.environment_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            FlowFailure::new(ErrorCode::UnknownErr, "The environment no longer exists.")
                .reported_to(&report)
        })?;
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
    let client_secret =
        open_client_secret(app, &integration).map_err(|e| internal(e).reported_to(&report))?;
    let verifier = app
        .cipher
        .open_string(
            &attempt.key_id,
            &attempt.code_verifier_enc,
            &attempt_aad(&state_hash),
        )
        .map_err(|e| internal(e).reported_to(&report))?;
    let connection_config: BTreeMap<String, String> =
        serde_json::from_str(&attempt.connection_config)
            .map_err(|e| internal(e).reported_to(&report))?;

    let token_url = provider
        .token_url
        .as_ref()
        .and_then(|u| u.for_mode(provider.auth_mode.as_str()))
        .ok_or_else(|| {
            FlowFailure::new(
                ErrorCode::ProviderConfigErr,
                "The provider has no token URL.",
            )
            .reported_to(&report)
        })?;
    let token_url = interpolate(token_url, &connection_config).map_err(|m| {
        FlowFailure::new(
            ErrorCode::UrlParamErr,
            format!("Missing Connection Config param(s): {}", m.0.join(", ")),
        )
        .reported_to(&report)
    })?;
    let mut params: BTreeMap<String, String> = provider
        .token_params
        .iter()
        .map(|(k, v)| (k.clone(), param_string(v)))
        .collect();
    params.insert("grant_type".into(), "authorization_code".into());
    params.insert("code".into(), code);
    params.insert("redirect_uri".into(), attempt.callback_url.clone());
    if !provider.disable_pkce {
        params.insert(
            "code_verifier".into(),
            PkceCodeVerifier::new(verifier).secret().clone(),
        );
    }
    let auth = ClientAuth::for_provider(&provider);
    let client_id = integration.client_id.clone().unwrap_or_default();
    let tokens = match request_token(
        &app.outbound,
        TokenRequest {
            token_url: &token_url,
            client_id: &client_id,
            client_secret: &client_secret,
            auth,
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
            let event = crate::webhooks::auth_event(
                &env.name,
                &attempt.provider_config_key,
                &attempt.connection_id,
                &integration.provider,
                provider.auth_mode.as_str(),
                if existed { "override" } else { "creation" },
                attempt.tags.as_deref(),
                Some(("token_err", &e.to_string())),
            );
            crate::webhooks::enqueue_auth(app, env.id, event).await;
            return Err(FlowFailure::new(
                ErrorCode::TokenErr,
                format!("The provider did not issue a token: {e}"),
            )
            .reported_to(&report));
        }
    };

    let credentials = tokens.into_credentials(None);
    let plaintext = serde_json::to_vec(&credentials).expect("credentials serialize");
    let created = app
        .store
        .upsert_connection(&NewConnection {
            environment_id: env.id,
            provider_config_key: attempt.provider_config_key.clone(),
            connection_id: attempt.connection_id.clone(),
            provider: integration.provider.clone(),
            credentials_enc: app.cipher.seal(
                &plaintext,
                &connection_aad(env.id, &attempt.provider_config_key, &attempt.connection_id),
            ),
            key_id: app.cipher.key_id().to_string(),
            connection_config: serde_json::to_string(&connection_config).expect("map serializes"),
            tags: attempt.tags.clone().unwrap_or_else(|| "{}".into()),
            end_user: attempt.end_user.clone(),
            now: crate::time::now_iso(),
        })
        .await
        .map_err(|e| internal(e).reported_to(&report))?;
    tracing::info!(integration = %report.provider_config_key, connection = %report.connection_id, created, "connection authorized");
    let event = crate::webhooks::auth_event(
        &env.name,
        &attempt.provider_config_key,
        &attempt.connection_id,
        &integration.provider,
        provider.auth_mode.as_str(),
        if created { "creation" } else { "override" },
        attempt.tags.as_deref(),
        None,
    );
    crate::webhooks::enqueue_auth(app, env.id, event).await;
    Ok(Completed { report, created })
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

/// Associated data of a connection's credentials: the row's identity.
pub fn connection_aad(env_id: i64, pck: &str, connection_id: &str) -> String {
    format!("connection:{env_id}:{pck}:{connection_id}")
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

    #[test]
    fn binding_cookie_name_does_not_reveal_the_state() {
        let name = super::binding_cookie_name("some-state");
        assert!(name.starts_with("latchkey_oauth_"));
        assert!(!name.contains("some-state"));
    }
}
