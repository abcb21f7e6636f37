//! The connections domain: what every way of authorizing, importing and renewing a connection
//! shares, whatever its auth mode. HTTP handlers and the OAuth flow call it; it calls the
//! provider-specific leaves, never the other way round.
//!
//! - [`sealing`]: credentials at rest, sealed with AES-GCM and bound to the row's identity.
//! - [`save`]: storing a grant — sealed, upserted, and its auth webhook queued in one transaction.
//! - [`expiry`]: when credentials are due; [`error`]: why a renewal did not happen.
//! - [`renewal`]: fresh credentials on read — the gate (per-connection lock, [`lease`] across
//!   replicas, re-read, failure backoff) around the strategies that ask providers for new
//!   credentials (`oauth::refresh`, `oauth::client_credentials`, `credential_modes`), which it is
//!   handed by [`crate::credentials`] since they use this module's helpers.

pub mod error;
pub mod expiry;
pub mod lease;
pub mod renewal;
pub mod save;
pub mod sealing;

pub use error::{ModeError, RefreshError, Refusal};
pub use renewal::{RefreshLocks, Renewer, Renewing, Strategies};

/// A connection's `connection_config` as the string map the catalog's templates fill from (numbers
/// and booleans as JSON writes them; an unreadable column as no values).
pub fn config(row: &crate::storage::ConnectionRow) -> std::collections::BTreeMap<String, String> {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&row.connection_config)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, crate::catalog::param_string(&v)))
        .collect()
}
