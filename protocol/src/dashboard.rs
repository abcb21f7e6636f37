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
