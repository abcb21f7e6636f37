//! Storing a grant, whichever way it was obtained (an OAuth callback, a GitHub App installation, an
//! API key or other credentials posted by the Connect UI, an import by the customer's backend): the
//! credentials sealed for the row, the upsert, and the `creation` or `override` auth webhook queued
//! in the same transaction.

use super::sealing::Vault;
use crate::storage::NewConnection;
use crate::time::Clock;
use crate::webhooks::Webhooks;
use latchkey_protocol::connection::Credentials;

/// A connection about to be stored, and what is kept of it beside its credentials.
pub(crate) struct Grant<'a> {
    pub environment_id: i64,
    /// The environment's name, as the auth webhook reports it.
    pub environment: &'a str,
    pub provider_config_key: &'a str,
    pub connection_id: &'a str,
    /// The catalog provider (`github`, …).
    pub provider: &'a str,
    /// As the auth webhook reports it: the integration's auth mode.
    pub auth_mode: &'a str,
    /// A JSON object, as stored.
    pub connection_config: String,
    /// A JSON object, as stored (`{}` when `None`).
    pub tags: Option<&'a str>,
    /// JSON, as stored.
    pub end_user: Option<String>,
}

/// Seals `credentials` for the connection and upserts it with the auth webhook (`creation` or
/// `override`) in the same transaction; whether the connection was created. `clock` dates the row.
pub(crate) async fn save(
    (vault, webhooks, clock): (&Vault, &Webhooks, &Clock),
    grant: Grant<'_>,
    credentials: &Credentials,
) -> anyhow::Result<bool> {
    let subject = crate::webhooks::AuthSubject {
        environment: grant.environment,
        provider_config_key: grant.provider_config_key,
        connection_id: grant.connection_id,
        provider: grant.provider,
        auth_mode: grant.auth_mode,
        tags: grant.tags,
    };
    let (on_create, on_update) = webhooks
        .creation_or_override(grant.environment_id, &subject)
        .await;
    let identity = (
        grant.environment_id,
        grant.provider_config_key,
        grant.connection_id,
    );
    let created = vault
        .store()
        .upsert_connection(
            &NewConnection {
                environment_id: grant.environment_id,
                provider_config_key: grant.provider_config_key.to_string(),
                connection_id: grant.connection_id.to_string(),
                provider: grant.provider.to_string(),
                credentials_enc: vault.seal(identity, credentials),
                key_id: vault.cipher().key_id().to_string(),
                connection_config: grant.connection_config,
                tags: grant.tags.unwrap_or("{}").to_string(),
                end_user: grant.end_user,
                now: clock.now_iso(),
            },
            &on_create,
            &on_update,
        )
        .await?;
    Ok(created)
}
