//! The second half of the flow (`GET /oauth/callback`): [`check`] the callback against its attempt
//! (a known state, from the browser that started it, consumed once, unexpired; the provider's issuer),
//! then finish the way the integration's auth mode does: the code exchange ([`super::exchange`]),
//! OAuth 1.0a's access-token leg, or an install's return (a plugin, a GitHub App).

use super::Flows;
use super::{
    attempt_aad, binding_cookie_name, check_issuer, internal, provider_of, store, Checked,
    FlowFailure, ReportTo, SealedAttempt,
};
use crate::crypto;
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::ErrorCode;
use std::collections::BTreeMap;

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
    flows: &Flows<'_>,
    query: CallbackQuery,
    binding: impl Fn(&str) -> Option<String>,
) -> Result<Completed, FlowFailure> {
    let checked = check(flows, &query, binding).await?;
    if let Some(error) = query.error {
        let detail = match query.error_description {
            Some(d) => format!("{error}: {d}"),
            None => error,
        };
        return Err(FlowFailure::new(
            ErrorCode::CallbackErr,
            format!("The provider refused the authorization ({detail})."),
        )
        .reported_to(&checked.report));
    }
    match checked.provider.auth_mode {
        AuthMode::Oauth1 => {
            let c = &checked;
            let credentials = crate::oauth::oauth1::complete(
                flows,
                &c.provider,
                &c.integration,
                &c.connection_config,
                &c.sealed.oauth1,
                &query.extra,
            )
            .await
            .map_err(|f| f.reported_to(&c.report))?;
            store(flows, checked, &credentials).await
        }
        // Installs (a plugin, a GitHub App): no code to exchange; the return carries what they need.
        AuthMode::App => crate::oauth::github_app::complete(flows, checked, &query.extra).await,
        AuthMode::InstallPlugin => {
            crate::oauth::install_plugin::complete(flows, checked, &query.extra).await
        }
        _ => super::exchange::exchange(flows, checked, query.code, &query.extra).await,
    }
}

/// Checks a callback against the attempt its `state` names: known, from the browser that started
/// it (unless the environment switched the binding off), consumed exactly once, unexpired, for an
/// integration that still exists, and answered by that integration's provider (RFC 9207).
async fn check(
    flows: &Flows<'_>,
    query: &CallbackQuery,
    binding: impl Fn(&str) -> Option<String>,
) -> Result<Checked, FlowFailure> {
    let state = query
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 128)
        .ok_or_else(|| FlowFailure::new(ErrorCode::StateErr, "No state found in the callback."))?;
    let state_hash = crypto::sha256_hex(state);
    let unknown = || {
        FlowFailure::new(
            ErrorCode::StateErr,
            "This authorization is unknown or was already used.",
        )
    };
    // Read first, consume only once the browser binding matched: someone who learnt the `state`
    // (a log, a Referer) but not the victim's cookie must not be able to burn the attempt.
    let attempt = flows
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
    let sealed = flows
        .cipher
        .open_string(
            &attempt.key_id,
            &attempt.code_verifier_enc,
            &attempt_aad(&state_hash),
        )
        .map(SealedAttempt::parse)
        .map_err(|e| internal(e).reported_to(&report))?;
    report.return_url = sealed.return_url.clone();
    let env = crate::environment::opened_by_id(flows.store, flows.cipher, attempt.environment_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            FlowFailure::new(ErrorCode::UnknownErr, "The environment no longer exists.")
                .reported_to(&report)
        })?;
    // The browser binding is on by default; an environment may switch it off (`browser_cookie_check:
    // false`, e.g. when its callback URL is on a domain whose cookies never reach us). The state stays
    // single-use and bound to its session either way.
    let check_cookie = env.settings.browser_cookie_check;
    let cookie_ok = binding(&binding_cookie_name(state))
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
    let attempt = flows
        .store
        .consume_oauth_attempt(&state_hash)
        .await
        .map_err(internal)?
        .ok_or_else(unknown)?;
    if attempt.expires_at <= flows.upstream.clock.now_unix() {
        return Err(FlowFailure::new(
            ErrorCode::StateErr,
            "This authorization has expired; please start again.",
        )
        .reported_to(&report));
    }
    let integration = flows
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
    let provider = provider_of(flows, &integration.provider).map_err(|f| f.reported_to(&report))?;
    let connection_config: BTreeMap<String, String> =
        serde_json::from_str(&attempt.connection_config)
            .map_err(|e| internal(e).reported_to(&report))?;
    // Mix-up defence (RFC 9207), before anything else of the response is trusted.
    check_issuer(&provider, &connection_config, query.iss.as_deref())
        .map_err(|f| f.reported_to(&report))?;
    Ok(Checked {
        env,
        attempt,
        sealed,
        integration,
        provider,
        connection_config,
        report,
    })
}
