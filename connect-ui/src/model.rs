//! What the Connect UI reads from the server before a flow starts, as it keeps it: the session's
//! settings and the part of a provider's catalog entry it shows. Decoded by [`crate::wire`], fetched
//! by [`crate::api`].

use latchkey_protocol::connect::ConnectUiSettings;
use latchkey_protocol::integrations::AuthMode;

use crate::form::FieldSchema;

/// What the Connect UI reads from `GET /connect/session` (`ConnectSessionInfo` minus the end user
/// and the config defaults, which the server applies itself).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSettings {
    pub connect_ui_settings: ConnectUiSettings,
    pub allowed_integrations: Option<Vec<String>>,
    pub websockets_path: Option<String>,
    /// `integrations_config_defaults[key].connection_config` as text, per integration key.
    pub presets: Vec<(String, Vec<(String, String)>)>,
}

impl SessionSettings {
    /// The connection-config values the session pins for `integration`.
    pub fn presets_for(&self, integration: &str) -> &[(String, String)] {
        self.presets
            .iter()
            .find(|(k, _)| k == integration)
            .map_or(&[], |(_, v)| v.as_slice())
    }
}

/// The part of `GET /providers/:provider` the Connect UI uses (the rest of the catalog entry is
/// ignored). Not in `protocol/` yet because only the Connect UI reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSummary {
    pub display_name: String,
    pub auth_mode: AuthMode,
    pub docs: Option<String>,
    pub docs_connect: Option<String>,
    /// The catalog's `credentials` and `connection_config` field descriptions.
    pub credentials: Vec<FieldSchema>,
    pub connection_config: Vec<FieldSchema>,
    /// `assertion_option`: key material for a TWO_STEP client assertion, sent once.
    pub assertion_option: Vec<FieldSchema>,
}

impl ProviderSummary {
    /// The guide shown as "Need help?": the connect guide when the catalog has one; `https` only.
    pub fn guide_url(&self) -> Option<&str> {
        self.docs_connect
            .as_deref()
            .or(self.docs.as_deref())
            .filter(|u| u.starts_with("https://"))
    }
}
