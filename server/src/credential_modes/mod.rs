//! The credential-based auth modes of Nango's catalog (issue 15): TWO_STEP, JWT, BILL, SIGNATURE and
//! TBA. The end user submits credentials (`POST /auth/<mode>/:key`, [`crate::http::credential_auth`]);
//! the server turns them into what the provider accepts (a token fetched from the provider, a JWT it
//! signs, a WSSE header, …), stores the result sealed like every connection, and renews it before it
//! expires through the same single-flight gate as OAuth2 refreshes ([`renewed`], a leaf of
//! [`crate::connections::renewal`]).

pub mod assertion;
pub mod aws_sigv4;
pub mod bill;
pub mod jwt;
pub mod saml;
pub mod signature;
pub mod tba;
pub mod template;
pub mod two_step;
pub mod xml;

use crate::connections::{RefreshError, Renewing};
use latchkey_protocol::connection::Credentials;
use std::collections::BTreeMap;

/// Whether stored credentials of this kind are renewed by the server.
pub fn renewable(c: &Credentials) -> bool {
    matches!(
        c,
        Credentials::TwoStep { .. }
            | Credentials::Jwt { .. }
            | Credentials::Bill { .. }
            | Credentials::Signature { .. }
            | Credentials::AwsSigV4 { .. }
            | Credentials::App { .. }
    )
}

/// A provider's error explained in a message: its `error_description`, `error` or `message` field
/// (never the whole body, which may echo what was sent).
pub(crate) fn provider_message(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return String::new();
    };
    ["error_description", "error", "message"]
        .iter()
        .find_map(|k| v.get(*k).and_then(|m| m.as_str()))
        .map(|m| format!(": {}", m.chars().take(200).collect::<String>()))
        .unwrap_or_default()
}

/// The `integration_config` values of the connection's integration (none if it has gone).
fn integration_values(r: &Renewing<'_>) -> Result<BTreeMap<String, String>, RefreshError> {
    match &r.integration {
        Some(i) => crate::integration_config::open(r.cipher, i)
            .map_err(|e| RefreshError::Internal(anyhow::anyhow!(e))),
        None => Ok(BTreeMap::new()),
    }
}

/// Produces new credentials for the connection from the stored ones; the caller holds the renewal
/// gate ([`crate::connections::renewal`]) and stores them.
pub(crate) async fn renewed(r: &Renewing<'_>) -> Result<Credentials, RefreshError> {
    let (row, current) = (r.row, r.current);
    let raw = r
        .catalog
        .get(&row.provider)
        .map(|e| e.raw.clone())
        .ok_or_else(|| anyhow::anyhow!("provider {} not in catalog", row.provider))?;
    let config = crate::connections::config(row);
    let renewed = match current {
        Credentials::TwoStep { .. } => two_step::fetch(
            r.upstream,
            &raw,
            two_step::renewal_fields(current),
            &config,
            true,
            &integration_values(r)?,
        )
        .await
        .map(|f| f.credentials),
        Credentials::Jwt { fields, .. } => jwt::create(&raw, fields.clone(), &config),
        Credentials::Bill { .. } => bill::renew(r.upstream, &raw, current).await,
        Credentials::Signature {
            username, password, ..
        } => signature::create(&raw, username, password, r.upstream.clock.now_unix()),
        Credentials::AwsSigV4 { .. } => aws_sigv4::renew(r).await,
        // GitHub App installation tokens: `oauth::github_app`, chosen by `crate::credentials`.
        _ => return Ok(current.clone()),
    };
    renewed.map_err(RefreshError::from)
}
