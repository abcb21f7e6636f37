//! The code exchange (RFC 6749 §4.1.3): the authorization code, the PKCE verifier and the client
//! (the integration's, an override the session allowed, or a registered MCP client) sent to the
//! provider's token endpoint; what comes back becomes the connection's credentials, with the
//! `token_response_metadata` and `redirect_uri_metadata` merged into its config. A refused exchange
//! is reported by an auth webhook.

use super::Flows;
use super::{
    internal, missing_params, store, token_metadata, token_url_template, url_error, Checked,
    Completed, FlowFailure, CLIENT_ID_OVERRIDE, CLIENT_SECRET_OVERRIDE, REFRESH_TOKEN_OVERRIDE,
};
use crate::catalog::{interpolate_params, interpolate_secret_url};
use crate::oauth::token::{request_token, BodyFormat, ClientAuth, TokenRequest};
use crate::secret::Secret;
use latchkey_protocol::connection::ConfigOverride;
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::ErrorCode;
use oauth2::PkceCodeVerifier;
use std::collections::BTreeMap;

/// Exchanges the callback's `code` for tokens and stores the connection.
pub(super) async fn exchange(
    flows: &Flows<'_>,
    mut checked: Checked,
    code: Option<String>,
    extra: &BTreeMap<String, String>,
) -> Result<Completed, FlowFailure> {
    let Checked {
        env,
        attempt,
        sealed,
        integration,
        provider,
        connection_config,
        report,
    } = &mut checked;
    let code = code.filter(|c| !c.is_empty()).ok_or_else(|| {
        let message = match provider.auth_mode {
            AuthMode::Custom => {
                "GitHub did not send an authorization code back: the app must request user \
                 authorization (OAuth) during installation."
            }
            _ => "Did not get an authorization code in the callback.",
        };
        FlowFailure::new(ErrorCode::CallbackErr, message).reported_to(report)
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
        None => crate::integration_config::client_secret(flows.cipher, integration)
            .map_err(|e| internal(e).reported_to(report))?,
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
            let template = token_url_template(provider).ok_or_else(|| {
                FlowFailure::new(
                    ErrorCode::ProviderConfigErr,
                    "The provider has no token URL.",
                )
                .reported_to(report)
            })?;
            // The attempt's config was checked when the flow started (values sealed in our
            // database since).
            interpolate_secret_url(
                template,
                connection_config,
                provider,
                &connection_config.keys().cloned().collect(),
            )
            .map_err(|e| url_error(e).reported_to(report))?
        }
    };
    let mut params = interpolate_params(&provider.token_params, connection_config)
        .map_err(|m| missing_params(m).reported_to(report))?;
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
        _ => ClientAuth::for_provider(provider),
    };
    let tokens = match request_token(
        flows.upstream.outbound,
        flows.upstream.clock,
        TokenRequest {
            token_url: &token_url,
            client_id: &client_id,
            client_secret: &client_secret,
            auth,
            format: BodyFormat::for_provider(provider),
            params,
        },
    )
    .await
    {
        Ok(tokens) => tokens,
        Err(e) => {
            tracing::warn!(integration = %attempt.provider_config_key, error = %e, "token exchange failed");
            // Re-authorizing an existing connection is an override, in failure as in success.
            let existed = flows
                .store
                .connection(env.id, &attempt.provider_config_key, &attempt.connection_id)
                .await
                .map_err(|e| internal(e).reported_to(report))?
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
            flows.webhooks.enqueue_auth(env.id, event).await;
            return Err(FlowFailure::new(
                ErrorCode::TokenErr,
                format!("The provider did not issue a token: {e}"),
            )
            .reported_to(report));
        }
    };

    // Post-connection config: what the provider returned wins over anything the flow started with
    // (a browser or a session cannot pre-set Salesforce's `instance_url`).
    let mut metadata = token_metadata(&tokens.raw, &provider.token_response_metadata);
    for key in &provider.redirect_uri_metadata {
        if let Some(v) = extra.get(key).filter(|v| !v.is_empty()) {
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
        AuthMode::Custom => crate::oauth::github_app::finish_user_authorized(
            flows,
            integration,
            provider,
            connection_config,
            credentials,
            extra,
        )
        .await
        .map_err(|e| crate::oauth::github_app::flow_failure(e).reported_to(report))?,
        _ => (credentials, false),
    };
    let stored = store(flows, checked, &credentials);
    Ok(Completed {
        pending,
        ..stored.await?
    })
}
