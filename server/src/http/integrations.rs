//! `GET|POST /integrations`, `GET|PATCH|DELETE /integrations/:key` (reference §3.15). An integration
//! is a provider from the catalog plus this environment's OAuth app credentials; the client secret is
//! sealed with the integration's identity (environment + unique key) as associated data, so a rename
//! re-seals it.

use super::error::ApiError;
use super::extract::{Path, Query, SecretKeyAuth, SecretOrSession, StrictJson};
use crate::oauth::flow::integration_secret_aad;
use crate::sessions;
use crate::storage::{IntegrationRow, NewIntegration};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use latchkey_protocol::integrations::{
    ApiPublicIntegration, ApiPublicIntegrationIncluded, AuthMode, IntegrationAppCredentials,
};
use latchkey_protocol::{DataEnvelope, ErrorCode};
use serde::Deserialize;
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            latchkey_protocol::routes::INTEGRATIONS,
            get(list).post(create),
        )
        .route(
            "/integrations/{key}",
            get(show).patch(update).delete(remove),
        )
}

/// App credentials of an integration (`POST /integrations` body): an OAuth client (`client_id`,
/// `client_secret`, `scopes`), a plugin, a GitHub App (`app_id`, `app_link`, `private_key`), or both
/// (`CUSTOM`: the app's OAuth client and the app).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationCredentials {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub scopes: Option<String>,
    /// `INSTALL_PLUGIN`: the plugin's install page (the end user is sent there with `?payload=`);
    /// `client_id` and `client_secret` are then the plugin's identifier and key. `APP`: the GitHub
    /// App's public link (`https://github.com/apps/<name>`).
    #[serde(default)]
    pub app_link: Option<String>,
    /// `APP`, `CUSTOM`: the GitHub App's id.
    #[serde(default)]
    pub app_id: Option<String>,
    /// `APP`, `CUSTOM`: the GitHub App's private key (PEM, or the PEM base64-encoded as Nango's dashboard
    /// sends it).
    #[serde(default)]
    pub private_key: Option<String>,
}

impl IntegrationCredentials {
    /// The id and secret kept for the integration: a GitHub App's id and private key (PEM), else the
    /// OAuth client's (or plugin's) id and secret (`CUSTOM`: the app's OAuth client; its id and key
    /// go with the integration's settings, [`app_settings`]).
    fn id_and_secret(&self) -> Result<(String, String), ApiError> {
        if self.kind != "APP" {
            let id = self.client_id.clone();
            let secret = self.client_secret.clone();
            return match (id, secret) {
                (Some(id), Some(secret)) => Ok((id, secret)),
                (None, _) => Err(missing("client_id", "Required")),
                (_, None) => Err(missing("client_secret", "Required")),
            };
        }
        Ok((self.app_id()?, self.app_private_key()?))
    }

    /// `APP`, `CUSTOM`: the GitHub App's id.
    fn app_id(&self) -> Result<String, ApiError> {
        self.app_id
            .clone()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| missing("app_id", "a GitHub App needs its id (app_id)"))
    }

    /// `APP`, `CUSTOM`: the GitHub App's RSA private key as PEM (Nango's dashboard sends the PEM
    /// base64-encoded).
    fn app_private_key(&self) -> Result<String, ApiError> {
        let key = self.private_key.as_deref().unwrap_or_default().trim();
        let pem = if key.contains("-----BEGIN") {
            key.to_string()
        } else {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(key)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default()
        };
        let pem = crate::credential_modes::jwt::normalize_pem(&pem);
        jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| {
            missing(
                "private_key",
                "a GitHub App needs its RSA private key (PEM)",
            )
        })?;
        Ok(pem)
    }
}

fn missing(field: &str, what: &str) -> ApiError {
    ApiError::invalid_body(vec!["credentials".into(), field.into()], what.to_string())
}

/// Checks an `INSTALL_PLUGIN`, `APP` or `CUSTOM` integration's `app_link` (an http(s) URL) and keeps
/// it with the integration's other (sealed) settings; `CUSTOM` keeps its GitHub App's id and private
/// key there too, since its client id and secret are the app's OAuth client.
fn app_settings(
    c: &IntegrationCredentials,
    custom: &mut BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let link_error = || {
        missing(
            "app_link",
            "INSTALL_PLUGIN, APP and CUSTOM need app_link, an http(s) URL",
        )
    };
    match (c.kind.as_str(), &c.app_link) {
        ("INSTALL_PLUGIN" | "APP" | "CUSTOM", Some(link)) => {
            let ok = url::Url::parse(link)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && link.len() <= 2048);
            if !ok {
                return Err(link_error());
            }
            custom.insert("app_link".into(), link.clone());
        }
        ("INSTALL_PLUGIN" | "APP" | "CUSTOM", None) => return Err(link_error()),
        (_, Some(_)) => {
            return Err(missing(
                "app_link",
                "app_link is only for INSTALL_PLUGIN, APP and CUSTOM",
            ))
        }
        _ => {}
    }
    if c.kind == "CUSTOM" {
        custom.insert("app_id".into(), c.app_id()?);
        custom.insert("private_key".into(), c.app_private_key()?);
    }
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntegration {
    pub provider: String,
    pub unique_key: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub forward_webhooks: Option<bool>,
    #[serde(default)]
    pub credentials: Option<IntegrationCredentials>,
    /// Values of the provider's `integration_config` schema ([`crate::integration_config`]).
    #[serde(default)]
    pub integration_config: Option<BTreeMap<String, String>>,
}

/// `PATCH /integrations/:key` body (Nango's `PatchPublicIntegration`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchIntegration {
    /// Renames the integration; refused while it has connections (Nango's rule).
    #[serde(default)]
    pub unique_key: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Replaces the OAuth app credentials (and scopes); the type must be the provider's auth mode.
    #[serde(default)]
    pub credentials: Option<IntegrationCredentials>,
    #[serde(default)]
    pub forward_webhooks: Option<bool>,
    /// Values merged into the integration's `integration_config` (an empty optional one clears it).
    #[serde(default)]
    pub integration_config: Option<BTreeMap<String, String>>,
}

/// Validates `integration_config` values against the provider's schema; Nango's `invalid_body` with
/// one issue per field.
fn resolve_config(
    app: &AppState,
    provider: &str,
    submitted: &BTreeMap<String, String>,
    existing: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, ApiError> {
    if submitted.values().any(|v| v.len() > 8192) {
        return Err(ApiError::invalid_body(
            vec!["integration_config".into()],
            "values are at most 8192 characters",
        ));
    }
    let schema = crate::integration_config::schema(app, provider);
    crate::integration_config::resolve(schema, submitted, existing).map_err(|errors| {
        ApiError::Invalid {
            code: ErrorCode::InvalidBody,
            issues: errors
                .into_iter()
                .map(|e| latchkey_protocol::ValidationIssue {
                    code: "invalid".into(),
                    message: e.message,
                    path: vec!["integration_config".into(), e.field],
                })
                .collect(),
        }
    })
}

pub fn public_view(app: &AppState, row: &IntegrationRow) -> ApiPublicIntegration {
    let provider_name = app
        .catalog
        .get(&row.provider)
        .and_then(|e| e.raw.get("display_name"))
        .and_then(|v| v.as_str())
        .unwrap_or(&row.provider)
        .to_string();
    ApiPublicIntegration {
        unique_key: row.unique_key.clone(),
        provider: row.provider.clone(),
        display_name: row.display_name.clone().unwrap_or(provider_name),
        logo: super::assets::logo_url(&app.config.public_url, &row.provider),
        forward_webhooks: false,
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 255
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "~:.@ _-".contains(c))
}

/// Builds a sealed integration row; shared by the API and the CLI.
pub fn new_integration(
    app: &AppState,
    env_id: i64,
    body: CreateIntegration,
) -> Result<NewIntegration, ApiError> {
    if !valid_key(&body.unique_key) {
        return Err(ApiError::invalid_body(
            vec!["unique_key".into()],
            "must match ^[a-zA-Z0-9~:.@ _-]+$ (max 255)",
        ));
    }
    if app.catalog.get(&body.provider).is_none() {
        return Err(ApiError::invalid_body(
            vec!["provider".into()],
            "Invalid provider",
        ));
    }
    let (client_id, client_secret_enc, scopes) = match &body.credentials {
        Some(c) => {
            if !AuthMode::parse(&c.kind).holds_app_credentials() {
                return Err(ApiError::invalid_body(
                    vec!["credentials".into(), "type".into()],
                    "unsupported credentials type",
                ));
            }
            let (id, secret) = c.id_and_secret()?;
            let sealed = app.cipher.seal(
                secret.as_bytes(),
                &integration_secret_aad(env_id, &body.unique_key),
            );
            (Some(id), Some(sealed), c.scopes.clone())
        }
        None => (None, None, None),
    };
    let mut custom = match &body.integration_config {
        Some(submitted) => resolve_config(app, &body.provider, submitted, None)?,
        None => BTreeMap::new(),
    };
    if let Some(c) = &body.credentials {
        app_settings(c, &mut custom)?;
    }
    let (custom_enc, custom_key_id) =
        crate::integration_config::seal(app, env_id, &body.unique_key, &custom);
    Ok(NewIntegration {
        environment_id: env_id,
        unique_key: body.unique_key,
        provider: body.provider,
        display_name: body.display_name,
        client_id,
        key_id: client_secret_enc
            .as_ref()
            .map(|_| app.cipher.key_id().to_string()),
        client_secret_enc,
        scopes,
        custom_enc,
        custom_key_id,
        now: app.clock.now_iso(),
    })
}

pub(crate) async fn list(
    State(app): State<AppState>,
    who: SecretOrSession,
) -> Result<Json<DataEnvelope<Vec<ApiPublicIntegration>>>, ApiError> {
    let (env_id, session) = match &who {
        SecretOrSession::Secret(env) => (env.id, None),
        SecretOrSession::Session(s) => (s.env.id, Some(&s.session)),
    };
    let rows = app.store.list_integrations(env_id).await?;
    let data = rows
        .iter()
        .filter(|r| {
            session
                .map(|s| sessions::allows(s, &r.unique_key))
                .unwrap_or(true)
        })
        .map(|r| public_view(&app, r))
        .collect();
    Ok(Json(DataEnvelope::new(data)))
}

pub(crate) async fn create(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    StrictJson(body): StrictJson<CreateIntegration>,
) -> Result<Json<DataEnvelope<ApiPublicIntegration>>, ApiError> {
    let key = body.unique_key.clone();
    let row = new_integration(&app, env.id, body)?;
    if !app.store.save_integration(&row, false).await? {
        return Err(ApiError::invalid_body(
            vec!["unique_key".into()],
            "Unique key already exists",
        ));
    }
    let created = app
        .store
        .integration(env.id, &key)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("integration vanished")))?;
    Ok(Json(DataEnvelope::new(public_view(&app, &created))))
}

/// The optional parts `GET /integrations/{key}` was asked for: `include=credentials&include=webhook`,
/// also accepted as `include[]=…` and as a comma-separated list (how query-string serializers write
/// arrays). Any other parameter is refused.
#[derive(Debug, Default, PartialEq)]
struct Include {
    credentials: bool,
    webhook: bool,
}

impl Include {
    fn parse(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let mut include = Self::default();
        for (key, value) in pairs {
            if key != "include" && key != "include[]" {
                return Err(ApiError::invalid_query(
                    vec![key.clone()],
                    "Unrecognized key",
                ));
            }
            for part in value.split(',').map(str::trim) {
                match part {
                    "credentials" => include.credentials = true,
                    "webhook" => include.webhook = true,
                    _ => {
                        return Err(ApiError::invalid_query(
                            vec!["include".into()],
                            "must be credentials or webhook",
                        ))
                    }
                }
            }
        }
        Ok(include)
    }
}

/// The catalog's auth mode of `provider` (`None` for an entry the engine cannot run).
pub fn provider_auth_mode<'a>(app: &'a AppState, provider: &str) -> Option<&'a AuthMode> {
    app.catalog
        .get(provider)
        .and_then(|e| e.provider.as_ref())
        .map(|p| &p.auth_mode)
}

/// The app credentials an integration holds, `None` when it has none (Nango's `credentials`).
pub fn app_credentials(
    app: &AppState,
    row: &IntegrationRow,
) -> Result<Option<IntegrationAppCredentials>, ApiError> {
    let Some(client_id) = &row.client_id else {
        return Ok(None);
    };
    let kind = provider_auth_mode(app, &row.provider)
        .map_or("OAUTH2", AuthMode::as_str)
        .to_string();
    let secret = crate::oauth::flow::open_client_secret(app, row)?;
    let app_link = crate::integration_config::open(app, row)?.remove("app_link");
    // The secret GitHub signs a CUSTOM app's webhooks with (to set in the app's settings).
    let webhook_secret = match kind.as_str() {
        "CUSTOM" => Some(
            crate::oauth::github_app::webhook_secret(app, row)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?
                .expose()
                .to_string(),
        ),
        _ => None,
    };
    Ok(Some(IntegrationAppCredentials {
        kind,
        client_id: Some(client_id.clone()),
        client_secret: Some(secret.expose().to_string()),
        scopes: row.scopes.clone(),
        webhook_secret,
        app_link,
    }))
}

pub(crate) async fn show(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<DataEnvelope<ApiPublicIntegrationIncluded>>, ApiError> {
    let include = Include::parse(&pairs)?;
    let row = app.store.integration(env.id, &key).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "Integration does not exist",
        )
    })?;
    let credentials = match include.credentials {
        true => Some(app_credentials(&app, &row)?),
        false => None,
    };
    Ok(Json(DataEnvelope::new(ApiPublicIntegrationIncluded {
        integration: public_view(&app, &row),
        webhook_url: include
            .webhook
            .then(|| super::provider_webhooks::url(&app, &env, &row)),
        credentials,
    })))
}

pub(crate) fn integration_not_found(key: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        format!("Integration \"{key}\" does not exist"),
    )
}

pub(crate) async fn update(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Path(key): Path<String>,
    StrictJson(body): StrictJson<PatchIntegration>,
) -> Result<Json<DataEnvelope<ApiPublicIntegration>>, ApiError> {
    let row = app
        .store
        .integration(env.id, &key)
        .await?
        .ok_or_else(|| integration_not_found(&key))?;
    let provider = app
        .catalog
        .get(&row.provider)
        .and_then(|e| e.provider.as_ref())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                format!("Unknown provider {}", row.provider),
            )
        })?;
    if let Some(c) = &body.credentials {
        if c.kind != provider.auth_mode.as_str() {
            return Err(ApiError::invalid_body(
                vec!["credentials".into(), "type".into()],
                "incompatible credentials auth type and provider auth",
            ));
        }
    }
    if let Some(name) = &body.display_name {
        if name.is_empty() || name.chars().count() > 255 {
            return Err(ApiError::invalid_body(
                vec!["display_name".into()],
                "must be 1 to 255 characters",
            ));
        }
    }
    let new_key = match body.unique_key.as_deref().filter(|k| *k != key) {
        None => key.clone(),
        Some(new_key) => {
            if !valid_key(new_key) {
                return Err(ApiError::invalid_body(
                    vec!["unique_key".into()],
                    "must match ^[a-zA-Z0-9~:.@ _-]+$ (max 255)",
                ));
            }
            if app.store.integration(env.id, new_key).await?.is_some() {
                return Err(ApiError::invalid_body(
                    vec!["unique_key".into()],
                    "uniqueKey is already used by another integration",
                ));
            }
            let in_use = app
                .store
                .list_connections(env.id)
                .await?
                .iter()
                .any(|c| c.provider_config_key == key);
            if in_use {
                return Err(ApiError::invalid_body(
                    vec!["unique_key".into()],
                    "Can't rename an integration with active connections",
                ));
            }
            new_key.to_string()
        }
    };
    // The secret is bound to the key it was sealed for: new credentials are sealed for the new key;
    // kept ones are opened with the old key and sealed again when the key changes.
    let (client_id, client_secret_enc, scopes) = match &body.credentials {
        Some(c) => {
            let (id, secret) = c.id_and_secret()?;
            (
                Some(id),
                Some(
                    app.cipher
                        .seal(secret.as_bytes(), &integration_secret_aad(env.id, &new_key)),
                ),
                c.scopes.clone(),
            )
        }
        None => {
            let secret = match (&row.client_secret_enc, new_key != key) {
                (Some(_), true) => {
                    let plain = crate::oauth::flow::open_client_secret(&app, &row)?;
                    Some(app.cipher.seal(
                        plain.expose().as_bytes(),
                        &integration_secret_aad(env.id, &new_key),
                    ))
                }
                _ => row.client_secret_enc.clone(),
            };
            (row.client_id.clone(), secret, row.scopes.clone())
        }
    };
    // `integration_config` is sealed for the key too: merged, or re-sealed on a rename.
    let new_link = body.credentials.is_some();
    let (custom_enc, custom_key_id) =
        if body.integration_config.is_some() || new_key != key || new_link {
            let existing = crate::integration_config::open(&app, &row)?;
            let mut custom = match &body.integration_config {
                Some(submitted) => resolve_config(&app, &row.provider, submitted, Some(&existing))?,
                None => existing,
            };
            if let Some(c) = body.credentials.as_ref().filter(|_| new_link) {
                app_settings(c, &mut custom)?;
            }
            crate::integration_config::seal(&app, env.id, &new_key, &custom)
        } else {
            (row.custom_enc.clone(), row.custom_key_id.clone())
        };
    let reseal = client_secret_enc != row.client_secret_enc;
    let updated = NewIntegration {
        environment_id: env.id,
        unique_key: new_key.clone(),
        provider: row.provider.clone(),
        display_name: body.display_name.or(row.display_name.clone()),
        client_id,
        key_id: match (&client_secret_enc, reseal) {
            (Some(_), true) => Some(app.cipher.key_id().to_string()),
            (Some(_), false) => row.key_id.clone(),
            (None, _) => None,
        },
        client_secret_enc,
        scopes,
        custom_enc,
        custom_key_id,
        now: app.clock.now_iso(),
    };
    if !app.store.update_integration(&key, &updated).await? {
        return Err(integration_not_found(&key));
    }
    let saved = app
        .store
        .integration(env.id, &new_key)
        .await?
        .ok_or_else(|| integration_not_found(&new_key))?;
    Ok(Json(DataEnvelope::new(public_view(&app, &saved))))
}

pub(crate) async fn remove(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Path(key): Path<String>,
) -> Result<Json<super::Success>, ApiError> {
    if !app.store.delete_integration(env.id, &key).await? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "Integration does not exist",
        ));
    }
    Ok(Json(super::Success { success: true }))
}

#[cfg(test)]
mod tests {
    use super::Include;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn include_reads_repeated_bracketed_and_comma_separated_forms() {
        let both = Include {
            credentials: true,
            webhook: true,
        };
        for form in [
            pairs(&[("include", "credentials"), ("include", "webhook")]),
            pairs(&[("include[]", "webhook"), ("include[]", "credentials")]),
            pairs(&[("include", "webhook,credentials")]),
        ] {
            assert_eq!(Include::parse(&form).unwrap(), both);
        }
        assert_eq!(Include::parse(&[]).unwrap(), Include::default());
        assert!(Include::parse(&pairs(&[("include", "secrets")])).is_err());
        assert!(Include::parse(&pairs(&[("expand", "credentials")])).is_err());
    }
}
