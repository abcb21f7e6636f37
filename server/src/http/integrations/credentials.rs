//! The app credentials a `POST /integrations` or `PATCH /integrations/:key` body carries (an OAuth
//! client, a plugin, a GitHub App, or both) and their checks.

use crate::http::error::ApiError;
use serde::Deserialize;
use std::collections::BTreeMap;

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
    pub(super) fn id_and_secret(&self) -> Result<(String, String), ApiError> {
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
        let pem = crate::crypto::normalize_pem(&pem);
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
pub(super) fn app_settings(
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
