//! The dashboard's private cookie API (`/dashboard/api/…`, issue 17): shapes the server and the
//! dashboard app exchange, defined once. Not part of the public REST API (nor its OpenAPI document),
//! and behind the `dashboard` feature so that the SDK and the Connect UI never compile it.
//!
//! Everything else the dashboard shows (integrations, connections, log entries, settings) is the
//! REST API's own shape, reused as it is.

use serde::{Deserialize, Serialize};

/// Header every write must carry: the session's CSRF token (from [`SessionInfo`]).
pub const CSRF_HEADER: &str = "x-latchkey-csrf";

/// `POST /dashboard/api/session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// The signed-in administrator (`GET|POST /dashboard/api/session`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub email: String,
    /// Sent back in [`CSRF_HEADER`] on every write of this session.
    pub csrf_token: String,
}

/// `GET /dashboard/api/overview`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub integrations: u64,
    pub connections: u64,
    /// The last [`Overview::DAYS`] days, oldest first.
    pub days: Vec<DayCount>,
}

impl Overview {
    pub const DAYS: usize = 14;
}

/// One day of the overview's chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayCount {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Successful OAuth and credential operations (each one saves a connection).
    pub connections_created: u64,
    /// Failed OAuth and credential operations.
    pub failed_attempts: u64,
}

/// One provider of the catalog (`GET /dashboard/api/catalog?q=`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub name: String,
    pub display_name: String,
    pub auth_mode: String,
    /// Whether the integration holds the owner's app credentials (client id, secret, scopes):
    /// the create form asks for them; other modes' credentials come from end users.
    pub app_credentials: bool,
    /// The provider's `integration_config` settings, in display order (empty for most).
    pub integration_config: Vec<ConfigField>,
}

/// A setting of a provider's `integration_config` schema, as the dashboard's forms show it (the
/// server validates the values against the full schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigField {
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub optional: bool,
    /// Masked when typed, never sent back to the browser once saved.
    pub secret: bool,
    /// The allowed values (a select), empty for free text.
    pub choices: Vec<String>,
    pub default_value: Option<String>,
    /// Shown only while another field has a given value.
    pub visible_when: Option<VisibleWhen>,
}

/// [`ConfigField::visible_when`]: the field applies while `field` equals `equals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisibleWhen {
    pub field: String,
    pub equals: String,
}

impl ConfigField {
    /// Whether the field applies given the other values (defaults count; a field whose controller
    /// does not apply does not apply either).
    pub fn visible(&self, fields: &[ConfigField], value: &dyn Fn(&str) -> Option<String>) -> bool {
        self.visible_at(fields, value, 0)
    }

    fn visible_at(
        &self,
        fields: &[ConfigField],
        value: &dyn Fn(&str) -> Option<String>,
        depth: usize,
    ) -> bool {
        let Some(when) = &self.visible_when else {
            return true;
        };
        let controller = fields.iter().find(|f| f.name == when.field);
        if depth <= fields.len()
            && controller.is_some_and(|c| !c.visible_at(fields, value, depth + 1))
        {
            return false;
        }
        let current = value(&when.field)
            .filter(|v| !v.is_empty())
            .or_else(|| controller.and_then(|c| c.default_value.clone()));
        current.as_deref() == Some(when.equals.as_str())
    }
}

/// `GET /dashboard/api/integrations/{key}`: what the edit form shows. Secrets (the client secret,
/// secret settings) are never sent; the form says whether they are set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationDetail {
    pub integration: crate::integrations::ApiPublicIntegration,
    pub auth_mode: String,
    pub app_credentials: bool,
    pub client_id: Option<String>,
    pub client_secret_set: bool,
    pub scopes: Option<String>,
    pub app_link: Option<String>,
    pub integration_config: Vec<ConfigField>,
    /// Saved values of the non-secret settings.
    pub config_values: std::collections::BTreeMap<String, String>,
    /// Names of the secret settings that have a value.
    pub config_secrets_set: Vec<String>,
}

/// `PATCH /dashboard/api/integrations/{key}`: the REST API's update, except that the client secret
/// may be left out to keep the saved one (the browser never has it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationEdit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_link: Option<String>,
    /// Only the settings changed (an empty optional value clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_config: Option<std::collections::BTreeMap<String, String>>,
}

/// `GET /dashboard/api/environment`: the settings (secrets redacted) and what to register elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentView {
    pub name: String,
    pub settings: crate::settings::EnvironmentSettings,
    /// The OAuth callback URL to register with providers (the custom one when set).
    pub callback_url: String,
    /// Where the Connect UI is served (the preview's iframe).
    pub connect_ui_url: String,
    pub public_key: String,
}

/// `POST /dashboard/api/environment/keys/reveal` and `…/rotate` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keys {
    pub secret_key: String,
    pub public_key: String,
    pub webhook_signing_key: String,
}

/// `POST /dashboard/api/environment/keys/rotate` body: which keys to replace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RotateKeys {
    pub secret: bool,
    pub public: bool,
    pub webhook_signing: bool,
}

/// `POST /dashboard/api/preview-session`: a connect session token for the Connect UI preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewSession {
    pub token: String,
}
