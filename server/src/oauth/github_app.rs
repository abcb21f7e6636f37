//! `auth_mode: APP` (Nango's `github-app`), issue 15. The integration holds the owner's GitHub App:
//! its id, public link (`app_link`) and private key. [`super::flow::start`] sends the end user to the
//! app's install page (`authorization_url`, `${connectionConfig.appPublicLink}/installations/new`)
//! with the attempt's `state`; GitHub sends them back to the app's setup URL (`/app-auth/connect`, or
//! the callback) with `installation_id` and `setup_action`, where [`complete`] stores the connection.
//!
//! The credentials are an installation access token: the server signs the app's JWT (RS256, `iss`
//! the app id, ten minutes at most) with the private key and posts it to the provider's `token_url`
//! for the installation; GitHub answers `{token, expires_at}` (an hour). [`renew`] gets a new one the
//! same way before it expires, through the connection's renewal gate.
//!
//! `auth_mode: CUSTOM` (Nango's `github-app-oauth`) is a GitHub App that also asks the installing
//! user for OAuth consent: the integration holds the app's OAuth client (`client_id`,
//! `client_secret`) and the app (`app_id`, `private_key`, `app_link`, sealed with its settings).
//! GitHub's return carries a `code` (exchanged at `token_url.OAUTH2` by [`super::flow::complete`])
//! and the `installation_id`; [`finish_user_authorized`] adds the installation token, keeping the
//! user's credentials beside it (`userCredentials`). An installation an organization owner must
//! approve first comes back without an id: the connection is then pending (`isPending`), with the
//! user's token only; GitHub's `installation` webhook finishes it once the owner approved
//! ([`finish_pending`], from [`crate::http::provider_webhooks`]), as does running the flow again.

use super::flow::{store, Checked, Completed, FlowFailure};
use crate::catalog::Provider;
use crate::connections::{ModeError, Renewing};
use crate::crypto::Cipher;
use crate::oauth::flow::Flows;
use crate::outbound::Upstream;
use crate::secret::Secret;
use crate::storage::IntegrationRow;
use latchkey_protocol::connection::Credentials;
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::ErrorCode;
use std::collections::BTreeMap;

/// The placeholder of the app's public link in the catalog's `authorization_url`.
const APP_LINK: &str = "${connectionConfig.appPublicLink}";

/// The install page for the app whose public link is `app_link`, with the attempt's `state`.
pub(super) fn install_url(
    provider: &Provider,
    app_link: &str,
    state: &str,
) -> anyhow::Result<String> {
    let template = provider
        .authorization_url
        .as_deref()
        .unwrap_or("${connectionConfig.appPublicLink}/installations/new");
    let mut url = url::Url::parse(&template.replace(APP_LINK, app_link.trim_end_matches('/')))?;
    url.query_pairs_mut().append_pair("state", state);
    Ok(url.to_string())
}

/// GitHub's return from the install page (Nango's `appAuthController.connect`).
pub(super) async fn complete(
    flows: &Flows<'_>,
    mut checked: Checked,
    extra: &BTreeMap<String, String>,
) -> Result<Completed, FlowFailure> {
    let (integration, provider, report) =
        (&checked.integration, &checked.provider, &checked.report);
    let connection_config = &mut checked.connection_config;
    if extra.get("setup_action").map(String::as_str) == Some("request") {
        return Err(FlowFailure::new(
            ErrorCode::WrongAuthMode,
            "The installation waits for an organization owner's approval; GitHub Apps installed on \
             request need the github-app-oauth flow.",
        )
        .reported_to(report));
    }
    let installation_id = installation_id(extra).ok_or_else(|| {
        FlowFailure::new(
            ErrorCode::CallbackErr,
            "GitHub did not send an installation id back.",
        )
        .reported_to(report)
    })?;
    connection_config.insert("installation_id".into(), installation_id.clone());
    connection_config.insert(
        "app_id".into(),
        integration.client_id.clone().unwrap_or_default(),
    );
    let keys = (flows.upstream, flows.cipher);
    let credentials = installation_token(keys, integration, provider, connection_config)
        .await
        .map_err(|e| flow_failure(e).reported_to(report))?;
    store(flows, checked, &credentials).await
}

/// A mode failure as the flow reports it.
pub(super) fn flow_failure(e: ModeError) -> FlowFailure {
    let code = match &e {
        ModeError::Coded(code, _) => *code,
        ModeError::Internal(_) => ErrorCode::UnknownErr,
    };
    FlowFailure::new(code, e.to_string())
}

/// Whether `id` can be a GitHub installation id (digits).
fn is_installation_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

/// The installation id GitHub sent back, when it is one.
fn installation_id(extra: &BTreeMap<String, String>) -> Option<&String> {
    extra
        .get("installation_id")
        .filter(|id| is_installation_id(id))
}

fn fetch_error(message: impl Into<String>) -> ModeError {
    ModeError::Coded(ErrorCode::GithubAppTokenFetchError, message.into())
}

/// The app's JWT: RS256, issued a minute in the past (clock drift, as GitHub advises), valid nine
/// minutes after now (GitHub refuses more than ten).
pub fn app_jwt(app_id: &str, private_key_pem: &str) -> Result<String, ModeError> {
    // Signed for GitHub, which checks it against its own clock.
    let now = crate::time::real_unix();
    let claims = serde_json::json!({"iat": now - 60, "exp": now + 540, "iss": app_id});
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(
        crate::crypto::normalize_pem(private_key_pem).as_bytes(),
    )
    .map_err(|e| fetch_error(format!("the app's private key cannot be read: {e}")))?;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .map_err(|e| fetch_error(format!("the app's JWT cannot be signed: {e}")))
}

/// The GitHub App's id and private key: the integration's client id and secret for `APP`; for
/// `CUSTOM` (whose client is the app's OAuth client) they are kept with its sealed settings.
pub(crate) fn app_identity(
    cipher: &Cipher,
    integration: &IntegrationRow,
    mode: &AuthMode,
) -> Result<(String, Secret), ModeError> {
    if *mode == AuthMode::Custom {
        return settings_identity(&app_settings(cipher, integration)?);
    }
    let key = crate::integration_config::client_secret(cipher, integration)
        .map_err(|e| ModeError::Internal(e.into()))?;
    identity(integration.client_id.clone(), Some(key))
}

/// A `CUSTOM` integration's sealed settings (`app_id`, `private_key`, `app_link`).
fn app_settings(
    cipher: &Cipher,
    integration: &IntegrationRow,
) -> Result<BTreeMap<String, String>, ModeError> {
    crate::integration_config::open(cipher, integration).map_err(|e| ModeError::Internal(e.into()))
}

/// The app's id and key in a `CUSTOM` integration's settings.
fn settings_identity(settings: &BTreeMap<String, String>) -> Result<(String, Secret), ModeError> {
    identity(
        settings.get("app_id").cloned(),
        settings.get("private_key").cloned().map(Secret::new),
    )
}

fn identity(id: Option<String>, key: Option<Secret>) -> Result<(String, Secret), ModeError> {
    let id = id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| fetch_error("the integration has no GitHub App id"))?;
    let key = key.ok_or_else(|| fetch_error("the integration has no GitHub App private key"))?;
    Ok((id, key))
}

/// A new installation access token for the installation in `connection_config`.
pub async fn installation_token(
    (upstream, cipher): (Upstream<'_>, &Cipher),
    integration: &IntegrationRow,
    provider: &Provider,
    connection_config: &BTreeMap<String, String>,
) -> Result<Credentials, ModeError> {
    let (app_id, private_key) = app_identity(cipher, integration, &provider.auth_mode)?;
    let jwt = app_jwt(&app_id, private_key.expose())?;
    let template = provider
        .token_url
        .as_ref()
        .and_then(|u| u.for_mode("APP"))
        .ok_or_else(|| fetch_error("the provider has no token URL for APP"))?;
    let url = crate::catalog::interpolate(template, connection_config)
        .map_err(|m| fetch_error(format!("the token URL needs {}", m.0.join(", "))))?;
    let res = upstream
        .outbound
        .request(reqwest::Method::POST, &url)
        .map_err(|e| fetch_error(e.to_string()))?
        .bearer_auth(&jwt)
        .header("accept", "application/vnd.github+json")
        .send()
        .await
        .map_err(|e| fetch_error(format!("GitHub cannot be reached: {}", e.without_url())))?;
    let status = res.status();
    let body = crate::outbound::read_capped(res, crate::outbound::TOKEN_BODY_LIMIT)
        .await
        .map_err(|e| fetch_error(e.to_string()))?;
    let raw: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if !status.is_success() {
        let why = raw["message"].as_str().unwrap_or_default();
        return Err(fetch_error(format!(
            "GitHub answered {}{}{}",
            status.as_u16(),
            if why.is_empty() { "" } else { ": " },
            why.chars().take(200).collect::<String>()
        )));
    }
    let token = raw["token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| fetch_error("GitHub's answer has no installation token"))?
        .to_string();
    let expires_at = raw["expires_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| crate::time::unix_to_iso(t.timestamp()));
    Ok(Credentials::App {
        access_token: token,
        expires_at,
        raw,
        jwt_token: Some(jwt),
        user_credentials: None,
    })
}

/// A new installation token for a stored connection (its integration's app, its installation);
/// a `CUSTOM` connection's user credentials come along, refreshed when they expire soon too.
pub async fn renew(r: &Renewing<'_>) -> Result<Credentials, ModeError> {
    let integration = r
        .integration
        .as_ref()
        .ok_or_else(|| fetch_error("the connection's integration no longer exists"))?;
    let provider = r
        .catalog
        .get(&r.row.provider)
        .and_then(|e| e.provider.as_ref())
        .ok_or_else(|| fetch_error(format!("provider {} is not in the catalog", r.row.provider)))?;
    let config = crate::connections::config(r.row);
    let keys = (r.upstream, r.cipher);
    let mut renewed = installation_token(keys, integration, provider, &config).await?;
    if let (
        Credentials::App {
            user_credentials: Some(user),
            ..
        },
        Credentials::App {
            user_credentials: kept,
            ..
        },
    ) = (r.current, &mut renewed)
    {
        *kept = fresh_user_credentials(keys, integration, provider, user).await;
    }
    Ok(renewed)
}

/// The user's OAuth2 credentials, refreshed at `token_url.OAUTH2` when they expire within the
/// refresh window and can be; as they were when not. GitHub refusing the refresh token drops them
/// (as Nango: the installation token the connection lives on is renewed regardless); any other
/// failure keeps them for the next renewal to try again.
async fn fresh_user_credentials(
    (upstream, cipher): (Upstream<'_>, &Cipher),
    integration: &IntegrationRow,
    provider: &Provider,
    user: &serde_json::Value,
) -> Option<serde_json::Value> {
    let Some(refresh_token) =
        crate::connections::expiry::due_user_refresh_token(user, upstream.clock.now_unix())
    else {
        return Some(user.clone());
    };
    let refreshed = async {
        let url = provider
            .token_url
            .as_ref()
            .and_then(|u| u.for_mode("OAUTH2"))
            .ok_or_else(|| anyhow::anyhow!("the provider has no token URL for OAUTH2"))?;
        let secret = crate::integration_config::client_secret(cipher, integration)
            .map_err(anyhow::Error::from)?;
        let params = BTreeMap::from([
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("refresh_token".to_string(), refresh_token.clone()),
        ]);
        let tokens = super::token::request_token(
            upstream.outbound,
            upstream.clock,
            super::token::TokenRequest {
                token_url: url,
                client_id: integration.client_id.as_deref().unwrap_or_default(),
                client_secret: &secret,
                auth: super::token::ClientAuth::for_provider(provider),
                format: super::token::BodyFormat::for_provider(provider),
                params,
            },
        )
        .await?;
        anyhow::Ok(tokens.into_credentials(Some(refresh_token.clone()), None))
    };
    match refreshed.await {
        Ok(new) => serde_json::to_value(new).ok(),
        Err(e) => {
            let refused = matches!(
                e.downcast_ref::<crate::outbound::TokenError>(),
                Some(crate::outbound::TokenError::Rejected { .. })
            );
            tracing::warn!(integration = %integration.unique_key, error = %e, refused, "the GitHub user token could not be refreshed");
            (!refused).then(|| user.clone())
        }
    }
}

/// `CUSTOM`, after the user's code was exchanged for `user` (OAuth2 credentials): the connection's
/// credentials and whether it is pending. With an installation id, the installation token with the
/// user's credentials beside it; without one (an organization owner must approve the installation
/// first), the user's credentials alone and `pending`, finished later by GitHub's `installation`
/// webhook. Either way the user's GitHub login is kept as `handle` (the webhook names the requester
/// by it), when GitHub tells it.
pub(super) async fn finish_user_authorized(
    flows: &Flows<'_>,
    integration: &IntegrationRow,
    provider: &Provider,
    connection_config: &mut BTreeMap<String, String>,
    user: Credentials,
    extra: &BTreeMap<String, String>,
) -> Result<(Credentials, bool), ModeError> {
    if let Some(login) = user_login(flows, integration, &user).await {
        connection_config.insert("handle".into(), login);
    }
    let (app_id, _) = app_identity(flows.cipher, integration, &provider.auth_mode)?;
    connection_config.insert("app_id".into(), app_id);
    let Some(installation) = installation_id(extra) else {
        connection_config.insert("pending".into(), "true".into());
        return Ok((user, true));
    };
    let installed = with_installation(
        flows,
        (integration, provider),
        connection_config,
        installation,
        &user,
    );
    Ok((installed.await?, false))
}

/// A `CUSTOM` connection's credentials once its installation is known: `connection_config` names
/// the installation (and is no longer pending); the installation token, with the user's
/// credentials beside it.
async fn with_installation(
    flows: &Flows<'_>,
    (integration, provider): (&IntegrationRow, &Provider),
    connection_config: &mut BTreeMap<String, String>,
    installation: &str,
    user: &Credentials,
) -> Result<Credentials, ModeError> {
    connection_config.insert("installation_id".into(), installation.to_string());
    connection_config.remove("pending");
    let keys = (flows.upstream, flows.cipher);
    let mut credentials =
        installation_token(keys, integration, provider, connection_config).await?;
    if let Credentials::App {
        user_credentials, ..
    } = &mut credentials
    {
        *user_credentials = serde_json::to_value(user).ok();
    }
    Ok(credentials)
}

/// The GitHub login of the user whose token `user` holds (`GET <proxy base URL>/user`); `None` when
/// it cannot be told (the connection works without it; only a pending one needs it to be found).
async fn user_login(
    flows: &Flows<'_>,
    integration: &IntegrationRow,
    user: &Credentials,
) -> Option<String> {
    let Credentials::OAuth2 { access_token, .. } = user else {
        return None;
    };
    let entry = flows.catalog.get(&integration.provider)?;
    let base = entry.raw["proxy"]["base_url"].as_str()?;
    let url = format!("{}/user", base.trim_end_matches('/'));
    let res = flows
        .upstream
        .outbound
        .request(reqwest::Method::GET, &url)
        .ok()?
        .bearer_auth(access_token)
        .header("accept", "application/vnd.github+json")
        .send()
        .await
        .ok()?;
    if !res.status().is_success() {
        return None;
    }
    let body = crate::outbound::read_capped(res, crate::outbound::TOKEN_BODY_LIMIT)
        .await
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    v["login"].as_str().map(str::to_owned)
}

/// The secret GitHub signs the app's webhooks with (`x-hub-signature-256`), set in the app's
/// settings: derived as Nango does (SHA-256, hex, of the app id, the private key and the public link),
/// so an app moved from Nango keeps working.
pub fn webhook_secret(cipher: &Cipher, integration: &IntegrationRow) -> Result<Secret, ModeError> {
    use sha2::Digest as _;
    let settings = app_settings(cipher, integration)?;
    let (app_id, key) = settings_identity(&settings)?;
    let link = settings
        .get("app_link")
        .map(String::as_str)
        .unwrap_or_default();
    let digest = sha2::Sha256::new()
        .chain_update(app_id.as_bytes())
        .chain_update(key.expose().as_bytes())
        .chain_update(link.as_bytes())
        .finalize();
    Ok(Secret::new(hex::encode(digest)))
}

/// GitHub's `installation` event (`action: created`) for a `CUSTOM` integration: the pending
/// connection of the user who asked for the installation (`requester.login`, the `handle` kept when
/// they authorized) on this app gets the installation id and an installation token, beside the user
/// credentials it holds. The finished connection's id, `None` when no pending connection matches.
pub async fn finish_pending(
    flows: &Flows<'_>,
    env: &crate::storage::EnvironmentRow,
    integration: &IntegrationRow,
    provider: &Provider,
    event: &serde_json::Value,
) -> Result<Option<String>, ModeError> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let (Some(installation), Some(event_app), Some(login)) = (
        text(&event["installation"]["id"]).filter(|id| is_installation_id(id)),
        text(&event["installation"]["app_id"]),
        event["requester"]["login"].as_str(),
    ) else {
        return Ok(None);
    };
    let (app_id, _) = app_identity(flows.cipher, integration, &provider.auth_mode)?;
    if event["action"] != "created" || event_app != app_id {
        return Ok(None);
    }
    let rows = flows
        .store
        .list_connections(env.id)
        .await
        .map_err(|e| ModeError::Internal(e.into()))?;
    let Some(row) = rows.into_iter().find(|r| {
        let config = crate::connections::config(r);
        r.provider_config_key == integration.unique_key
            && config.get("pending").map(String::as_str) == Some("true")
            && config.get("handle").map(String::as_str) == Some(login)
            && !config.contains_key("installation_id")
    }) else {
        return Ok(None);
    };
    let user = flows.vault.open(&row).map_err(ModeError::Internal)?;
    let mut config = crate::connections::config(&row);
    let installed = with_installation(
        flows,
        (integration, provider),
        &mut config,
        &installation,
        &user,
    );
    let credentials = installed.await?;
    let grant = crate::connections::save::Grant {
        environment_id: env.id,
        environment: &env.name,
        provider_config_key: &row.provider_config_key,
        connection_id: &row.connection_id,
        provider: &integration.provider,
        auth_mode: provider.auth_mode.as_str(),
        connection_config: serde_json::to_string(&config).expect("map serializes"),
        tags: Some(&row.tags),
        end_user: row.end_user.clone(),
    };
    crate::connections::save::save(flows.savers(), grant, &credentials)
        .await
        .map_err(ModeError::Internal)?;
    tracing::info!(integration = %row.provider_config_key, connection = %row.connection_id, "pending GitHub App connection finished by its installation webhook");
    Ok(Some(row.connection_id))
}
