//! Re-sealing secrets at rest (issue 11):
//!
//! - **Key rotation.** The cipher is a keyring ([`crate::crypto::Cipher::with_previous`]): data sealed
//!   by a previous key still opens, and is re-sealed with the current key — lazily when a connection
//!   is read ([`crate::connections::sealing`]), at start-up for the environment and the
//!   integrations (a few rows), and all at once by `latchkey keys reseal` ([`reseal_all`], with
//!   progress). Once that reports nothing left, the previous key can be dropped.
//! - **Unambiguous associated data.** Connection credentials were bound to
//!   `connection:{env}:{key}:{id}`, which two different (key, id) pairs containing `:` can share. They
//!   are now bound to a JSON encoding ([`crate::connections::sealing::connection_aad`]). A one-time migration
//!   at start-up re-seals every connection and records itself in `latchkey_meta`; until it has
//!   completed, the old encoding is still accepted on read (and the row re-sealed).
//!
//! Connect sessions (30 minutes) and OAuth attempts (10 minutes) are not re-sealed: they expire
//! long before a previous key needs to be removed.

use crate::connections::sealing::Vault;
use crate::integration_config::secret_aad;

/// The `latchkey_meta` entry of the associated-data migration.
pub const AAD_MIGRATION: &str = "connection_aad_v2";

/// What a re-seal pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Resealed {
    pub environments: usize,
    pub integrations: usize,
    pub connections: usize,
    /// Rows that could not be opened (sealed by a key not in the ring): left as they are.
    pub failed: usize,
}

/// Which rows a pass covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The environment and its integrations (cheap: done at every start after a rotation).
    Keys,
    /// Those and every connection.
    All,
}

/// Re-seals everything sealed by a previous key (and, for connections, with the old associated
/// data). `progress(table, done, total)` is called as it goes.
pub async fn reseal_all(
    vault: &Vault,
    scope: Scope,
    progress: &mut (dyn FnMut(&str, usize, usize) + Send),
) -> anyhow::Result<Resealed> {
    let mut out = Resealed::default();
    let Some(row) = vault
        .store()
        .environment_by_name(crate::environment::DEV_ENVIRONMENT)
        .await?
    else {
        return Ok(out);
    };
    let env = crate::environment::Environment::open(&row, vault.cipher())?;
    if !vault.cipher().is_current(&row.key_id) {
        let keys = crate::storage::SealedKeys {
            secret_key_hash: row.secret_key_hash.clone(),
            secret_key_enc: vault.cipher().seal(
                env.secret_key.expose().as_bytes(),
                &crate::environment::aad(&env.name, "secret_key"),
            ),
            webhook_signing_key_enc: vault.cipher().seal(
                env.webhook_signing_key.expose().as_bytes(),
                &crate::environment::aad(&env.name, "webhook_signing_key"),
            ),
            key_id: vault.cipher().key_id().to_string(),
        };
        vault
            .store()
            .update_environment_keys(env.id, Some(&keys), None)
            .await?;
        out.environments += 1;
    }
    // The sealed HMAC key, whichever key sealed it (or in clear, as stored before issue 11).
    let stored = crate::settings::to_stored(&env.settings, vault.cipher(), &env.name);
    vault
        .store()
        .update_environment_settings(env.id, &stored)
        .await?;
    progress("environments", 1, 1);

    let integrations = vault.store().list_integrations(env.id).await?;
    let total = integrations.len();
    for (i, integration) in integrations.iter().enumerate() {
        let stale = integration
            .key_id
            .as_deref()
            .is_some_and(|k| !vault.cipher().is_current(k));
        if stale && integration.client_secret_enc.is_some() {
            match crate::integration_config::client_secret(vault.cipher(), integration) {
                Ok(secret) => {
                    let sealed = vault.cipher().seal(
                        secret.expose().as_bytes(),
                        &secret_aad(env.id, &integration.unique_key),
                    );
                    vault
                        .store()
                        .reseal_integration_secret(integration.id, &sealed, vault.cipher().key_id())
                        .await?;
                    out.integrations += 1;
                }
                Err(e) => {
                    tracing::error!(integration = %integration.unique_key, error = %e, "cannot open an integration's client secret");
                    out.failed += 1;
                }
            }
        }
        let custom_stale = integration
            .custom_key_id
            .as_deref()
            .is_some_and(|k| !vault.cipher().is_current(k));
        if custom_stale {
            match crate::integration_config::open(vault.cipher(), integration) {
                Ok(values) => {
                    if let (Some(sealed), Some(key_id)) = crate::integration_config::seal(
                        vault.cipher(),
                        env.id,
                        &integration.unique_key,
                        &values,
                    ) {
                        vault
                            .store()
                            .reseal_integration_custom(integration.id, &sealed, &key_id)
                            .await?;
                    }
                }
                Err(e) => {
                    tracing::error!(integration = %integration.unique_key, error = %e, "cannot open an integration's integration_config");
                    out.failed += 1;
                }
            }
        }
        progress("integrations", i + 1, total);
    }
    if scope == Scope::Keys {
        return Ok(out);
    }

    let connections = vault.store().list_connections(env.id).await?;
    let total = connections.len();
    for (i, row) in connections.iter().enumerate() {
        match vault.open_bytes(row) {
            Ok((plain, true)) => {
                if vault.reseal(row, &plain).await? {
                    out.connections += 1;
                }
            }
            Ok((_, false)) => {}
            Err(e) => {
                tracing::error!(connection = row.id, error = %e, "cannot open a connection's credentials");
                out.failed += 1;
            }
        }
        if (i + 1) % 100 == 0 || i + 1 == total {
            progress("connections", i + 1, total);
        }
    }
    Ok(out)
}

/// At start-up: re-seal the environment and integrations after a key rotation, and run the one-time
/// associated-data migration of connections.
pub async fn on_start(vault: &Vault) -> anyhow::Result<()> {
    let migrated = vault.store().meta(AAD_MIGRATION).await?.is_some();
    vault.accept_legacy(!migrated);
    let scope = if migrated { Scope::Keys } else { Scope::All };
    let done = reseal_all(vault, scope, &mut |_, _, _| {}).await?;
    if done != Resealed::default() {
        tracing::info!(?done, "re-sealed secrets at rest");
    }
    if !migrated {
        if done.failed == 0 {
            vault.store().set_meta(AAD_MIGRATION, "done").await?;
            vault.accept_legacy(false);
        } else {
            tracing::error!(
                failed = done.failed,
                "some connections could not be re-sealed (a previous encryption key missing from \
                 LATCHKEY_PREVIOUS_ENCRYPTION_KEYS?); will retry at the next start"
            );
        }
    }
    Ok(())
}
