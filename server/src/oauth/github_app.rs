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

use super::flow::{open_client_secret, store, Completed, FlowFailure, ReportTo};
use crate::catalog::Provider;
use crate::credential_modes::ModeError;
use crate::storage::{ConnectionRow, IntegrationRow, OAuthAttemptRow};
use crate::AppState;
use latchkey_protocol::connection::Credentials;
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
    app: &AppState,
    (env, attempt, integration, provider): (
        &crate::storage::EnvironmentRow,
        &OAuthAttemptRow,
        &IntegrationRow,
        &Provider,
    ),
    mut connection_config: BTreeMap<String, String>,
    extra: &BTreeMap<String, String>,
    report: ReportTo,
) -> Result<Completed, FlowFailure> {
    if extra.get("setup_action").map(String::as_str) == Some("request") {
        return Err(FlowFailure::new(
            ErrorCode::WrongAuthMode,
            "The installation waits for an organization owner's approval; GitHub Apps installed on \
             request need the github-app-oauth flow.",
        )
        .reported_to(&report));
    }
    let installation_id = extra
        .get("installation_id")
        .filter(|id| !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            FlowFailure::new(
                ErrorCode::CallbackErr,
                "GitHub did not send an installation id back.",
            )
            .reported_to(&report)
        })?;
    connection_config.insert("installation_id".into(), installation_id.clone());
    connection_config.insert(
        "app_id".into(),
        integration.client_id.clone().unwrap_or_default(),
    );
    let credentials = installation_token(app, integration, provider, &connection_config)
        .await
        .map_err(|e| {
            let code = match &e {
                ModeError::Coded(code, _) => *code,
                ModeError::Internal(_) => ErrorCode::UnknownErr,
            };
            FlowFailure::new(code, e.to_string()).reported_to(&report)
        })?;
    store(
        app,
        env,
        attempt,
        integration,
        provider,
        &connection_config,
        &credentials,
        report,
    )
    .await
}

fn fetch_error(message: impl Into<String>) -> ModeError {
    ModeError::Coded(ErrorCode::GithubAppTokenFetchError, message.into())
}

/// The app's JWT: RS256, issued a minute in the past (clock drift, as GitHub advises), valid nine
/// minutes after now (GitHub refuses more than ten).
pub fn app_jwt(app_id: &str, private_key_pem: &str) -> Result<String, ModeError> {
    let now = crate::time::now_unix();
    let claims = serde_json::json!({"iat": now - 60, "exp": now + 540, "iss": app_id});
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(
        crate::credential_modes::jwt::normalize_pem(private_key_pem).as_bytes(),
    )
    .map_err(|e| fetch_error(format!("the app's private key cannot be read: {e}")))?;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .map_err(|e| fetch_error(format!("the app's JWT cannot be signed: {e}")))
}

/// A new installation access token for the installation in `connection_config`.
pub async fn installation_token(
    app: &AppState,
    integration: &IntegrationRow,
    provider: &Provider,
    connection_config: &BTreeMap<String, String>,
) -> Result<Credentials, ModeError> {
    let app_id = integration
        .client_id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| fetch_error("the integration has no GitHub App id"))?;
    let private_key =
        open_client_secret(app, integration).map_err(|e| ModeError::Internal(e.into()))?;
    let jwt = app_jwt(&app_id, private_key.expose())?;
    let template = super::flow::token_url_template(provider)
        .ok_or_else(|| fetch_error("the provider has no token URL for APP"))?;
    let url = crate::catalog::interpolate(template, connection_config)
        .map_err(|m| fetch_error(format!("the token URL needs {}", m.0.join(", "))))?;
    let res = app
        .outbound
        .request(reqwest::Method::POST, &url)
        .map_err(|e| fetch_error(e.to_string()))?
        .bearer_auth(&jwt)
        .header("accept", "application/vnd.github+json")
        .send()
        .await
        .map_err(|e| fetch_error(format!("GitHub cannot be reached: {}", e.without_url())))?;
    let status = res.status();
    let body = super::outbound::read_capped(res, super::outbound::TOKEN_BODY_LIMIT)
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
    })
}

/// A new installation token for a stored connection (its integration's app, its installation).
pub async fn renew(app: &AppState, row: &ConnectionRow) -> Result<Credentials, ModeError> {
    let integration = app
        .store
        .integration(row.environment_id, &row.provider_config_key)
        .await
        .map_err(|e| ModeError::Internal(e.into()))?
        .ok_or_else(|| fetch_error("the connection's integration no longer exists"))?;
    let provider = app
        .catalog
        .get(&row.provider)
        .and_then(|e| e.provider.as_ref())
        .ok_or_else(|| fetch_error(format!("provider {} is not in the catalog", row.provider)))?;
    let config = crate::credential_modes::connection_config(row);
    installation_token(app, &integration, provider, &config).await
}
