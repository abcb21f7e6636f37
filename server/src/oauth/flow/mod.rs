//! The authorization-code flow in three steps (the sequence is in [`super`]'s documentation):
//! [`authorize`] plans the provider's authorize request and records the attempt, [`callback`] checks
//! the provider's return against it, [`exchange`] trades the code for tokens. What they share lives
//! here: the failure type and where to report it, the sealed part of an attempt, the client
//! overrides, storing the result, and the catalog lookups both halves make.

mod authorize;
mod callback;
mod exchange;

pub use authorize::{binding_cookie_name, start, StartRequest, Started};
pub use callback::{complete, CallbackQuery, Completed};

use crate::catalog::{interpolate_secret_url, MissingParams, Provider, UrlError};
use crate::crypto;
use crate::environment::Environment;
use crate::storage::{IntegrationRow, OAuthAttemptRow};
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::ErrorCode;
use std::collections::BTreeMap;

/// What the OAuth flows work with: the settings (callback URL, whether private providers are
/// allowed), the store of attempts, integrations and connections, the cipher that opens integration
/// secrets and seals attempts, the catalog, the way out to providers, and what saving a connection
/// uses (vault, auth webhooks). Built by `AppState::flows`; the flows take this view instead of the
/// whole server state (no WebSocket hub, activity log or refresh locks: handlers report and log).
#[derive(Clone, Copy)]
pub struct Flows<'a> {
    pub config: &'a crate::config::Config,
    pub store: &'a crate::storage::Store,
    pub cipher: &'a crypto::Cipher,
    pub catalog: &'a crate::catalog::Catalog,
    pub upstream: crate::outbound::Upstream<'a>,
    pub vault: &'a crate::connections::sealing::Vault,
    pub webhooks: &'a crate::webhooks::Webhooks,
}

impl Flows<'_> {
    /// What saving the authorized connection uses ([`crate::connections::save::save`]).
    pub(crate) fn savers(
        &self,
    ) -> (
        &crate::connections::sealing::Vault,
        &crate::webhooks::Webhooks,
        &crate::time::Clock,
    ) {
        (self.vault, self.webhooks, self.upstream.clock)
    }
}

/// How long a started authorization stays valid.
pub const ATTEMPT_TTL_SECS: i64 = 600;

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

pub use latchkey_protocol::connect::{
    CLIENT_ID_OVERRIDE, CLIENT_SECRET_OVERRIDE, OVERRIDE_KEYS, REFRESH_TOKEN_OVERRIDE,
};

/// What the attempt keeps sealed until the callback: the PKCE verifier and the client overrides.
/// The overrides never go into `connection_config` (which is stored and returned in clear).
/// No `Debug`: nothing here may be printed.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct SealedAttempt {
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

/// A callback that passed every check ([`callback`]), and what the rest of the flow needs of its
/// attempt; each way of finishing adds to `connection_config` and hands it to [`store`].
pub(crate) struct Checked {
    pub env: Environment,
    pub attempt: OAuthAttemptRow,
    pub sealed: SealedAttempt,
    pub integration: IntegrationRow,
    pub provider: Provider,
    /// As the flow started with it, plus what the provider returned.
    pub connection_config: BTreeMap<String, String>,
    pub report: ReportTo,
}

/// Seals and upserts the connection a completed flow authorized, with its auth webhook.
pub(crate) async fn store(
    flows: &Flows<'_>,
    checked: Checked,
    credentials: &latchkey_protocol::connection::Credentials,
) -> Result<Completed, FlowFailure> {
    let Checked {
        env,
        attempt,
        integration,
        provider,
        connection_config,
        report,
        ..
    } = checked;
    let grant = crate::connections::save::Grant {
        environment_id: env.id,
        environment: &env.name,
        provider_config_key: &attempt.provider_config_key,
        connection_id: &attempt.connection_id,
        provider: &integration.provider,
        auth_mode: provider.auth_mode.as_str(),
        connection_config: serde_json::to_string(&connection_config).expect("map serializes"),
        tags: attempt.tags.as_deref(),
        end_user: attempt.end_user.clone(),
    };
    let created = crate::connections::save::save(flows.savers(), grant, credentials)
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

fn provider_of(flows: &Flows<'_>, name: &str) -> Result<Provider, FlowFailure> {
    flows
        .catalog
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
