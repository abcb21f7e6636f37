//! The activity log (issue 17): `GET /logs`, `GET /logs/{id}` and the `GET /logs/stream` events.
//! One entry per operation (an OAuth attempt, a credential submission, a refresh, a webhook delivery,
//! a proxy call, a settings change) with its timeline of steps. Never a secret.

use serde::{Deserialize, Serialize};

/// Operation types (`type` of an entry, and the `type` filter).
pub const OPERATION_TYPES: [&str; 9] = [
    "connect_session",
    "oauth",
    "credentials",
    "refresh",
    "client_credentials",
    "webhook",
    "proxy",
    "settings",
    "keys",
];

/// Outcomes (`outcome` of an entry, and the `outcome` filter).
pub const OUTCOMES: [&str; 3] = ["pending", "success", "failure"];

/// One operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEntry {
    pub id: String,
    /// When it started (ISO-8601 UTC, milliseconds).
    pub time: String,
    /// The environment's name.
    pub environment: String,
    /// One of [`OPERATION_TYPES`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The integration's unique key (`provider_config_key`), when there is one.
    pub integration: Option<String>,
    pub connection_id: Option<String>,
    /// The end user's id (from the connect session), when known.
    pub end_user_id: Option<String>,
    /// One of [`OUTCOMES`].
    pub outcome: String,
    /// When it ended; `None` while pending.
    pub ended_at: Option<String>,
    pub duration_ms: Option<i64>,
    /// The timeline: only in `GET /logs/{id}` and the live tail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<LogStep>>,
}

/// One step of an operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogStep {
    pub time: String,
    /// `info`, `warn` or `error`.
    pub level: String,
    pub message: String,
    /// A small object of facts (HTTP status, the provider's `error` and `error_description`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

/// `GET /logs`: a page of entries, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogPage {
    pub data: Vec<LogEntry>,
    /// Pass as `cursor` for the next (older) page; `None` on the last page.
    pub next_cursor: Option<String>,
}
