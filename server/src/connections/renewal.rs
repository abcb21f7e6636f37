//! Fresh credentials on read (`GET /connection/:id`, the proxy): when an access token (or any other
//! renewable credential) expires within 15 minutes, or when the caller forces it, the server renews it
//! before answering. This module is the renewal gate; the strategies that talk to providers only
//! return new credentials: the OAuth2 refresh grant ([`crate::oauth::refresh`]), the
//! client-credentials grant ([`crate::oauth::client_credentials`]) and the other renewable modes
//! ([`crate::credential_modes`], [`crate::oauth::github_app`]). They read this domain's helpers, so
//! the gate does not name them: it is handed them as [`Strategies`] ([`crate::credentials::fresh`]).
//!
//! Concurrent callers for one connection cause exactly one upstream request: each takes the
//! connection's lock, then re-reads the row; whoever comes second finds a fresh token and returns it
//! without calling the provider. A rotated refresh token is stored together with the new access token
//! (one sealed credentials blob, one UPDATE). Across replicas sharing a database, a lease row does the
//! lock's job ([`super::lease`]).
//!
//! A failed refresh is counted on the connection (`refresh_failures`, `last_refresh_failure_at`, and
//! failing days); the next successful one resets the count. Like Nango, automatic refreshes of a
//! failing grant wait [`FAILURE_COOLDOWN_SECS`] after a failure and stop after
//! [`EXHAUSTED_AFTER_DAYS`] failing days (a forced refresh or a reconnect starts over).
//!
//! Every write is a compare-and-swap on the sealed credentials the refresh started from: a refresh
//! that began before a reconnect neither overwrites the newer grant nor marks it as failing.

use super::error::{RefreshError, Refusal, EXHAUSTED_AFTER_DAYS, FAILURE_COOLDOWN_SECS};
use super::expiry::{expired, expires_soon};
use super::lease::{self, LeaseOutcome};
use super::sealing::Vault;
use crate::activity::Recorder;
use crate::catalog::Catalog;
use crate::crypto::Cipher;
use crate::outbound::Upstream;
use crate::storage::Store;
use crate::storage::{ConnectionRow, IntegrationRow};
use crate::webhooks::Webhooks;
use futures_util::future::BoxFuture;
use latchkey_protocol::connection::Credentials;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One async lock per connection, created on demand.
#[derive(Clone, Default)]
pub struct RefreshLocks {
    locks: Arc<Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>>,
}

impl RefreshLocks {
    pub(crate) fn for_connection(&self, id: i64) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .expect("refresh locks")
            .entry(id)
            .or_default()
            .clone()
    }
}

/// One renewal as a leaf strategy sees it: the connection as stored and the credentials being
/// renewed, its integration as stored now (`None` when it was deleted: connections outlive it), and
/// what a strategy may use besides: the way out to providers, the catalog, and the cipher that opens
/// the integration's sealed client secret and settings. Storage, webhooks and the activity log stay
/// with the gate.
pub struct Renewing<'a> {
    pub upstream: Upstream<'a>,
    pub catalog: &'a Catalog,
    pub cipher: &'a Cipher,
    pub row: &'a ConnectionRow,
    pub current: &'a Credentials,
    pub integration: Option<IntegrationRow>,
}

/// What the gate works with: the store it re-reads, leases and writes through, the vault that opens
/// and seals credentials, the auth webhooks a refusal queues, the activity log, the per-connection
/// locks, and what it hands the strategies ([`Renewing`]). Built by `AppState::renewer`; the gate
/// and its callers (`GET /connection`, the proxy, the CLI) take this view instead of the whole
/// server state.
#[derive(Clone, Copy)]
pub struct Renewer<'a> {
    pub store: &'a Store,
    pub vault: &'a Vault,
    pub webhooks: &'a Webhooks,
    pub activity: &'a Recorder,
    pub locks: &'a RefreshLocks,
    pub upstream: Upstream<'a>,
    pub catalog: &'a Catalog,
    pub cipher: &'a Cipher,
}

/// New credentials for a connection from its provider (not stored: the gate stores them).
pub type Renew = for<'a> fn(&'a Renewing<'a>) -> BoxFuture<'a, Result<Credentials, RefreshError>>;

/// The strategies the gate runs: which credentials are renewed at all, and how.
pub struct Strategies {
    pub renewable: fn(&Credentials) -> bool,
    pub renew: Renew,
}

/// Returns the connection's credentials, renewed first by `strategies` when needed (or when
/// `force`).
pub async fn fresh(
    renewer: &Renewer<'_>,
    strategies: &Strategies,
    row: ConnectionRow,
    force: bool,
) -> Result<(ConnectionRow, Credentials), RefreshError> {
    let credentials = renewer.vault.open(&row)?;
    if !(strategies.renewable)(&credentials)
        || !(force || expires_soon(&credentials, renewer.upstream.clock.now_unix()))
    {
        return Ok((row, credentials));
    }
    if !force {
        gate(&row, renewer.upstream.clock.now_unix())?;
    }
    let identity = (
        row.environment_id,
        row.provider_config_key.clone(),
        row.connection_id.clone(),
    );
    let started_with = row.credentials_enc.clone();
    match renew_once(renewer, strategies, row, credentials, force).await {
        // A refresh that failed while the connection was re-authorized (the grant it tried is gone):
        // the newer grant is the answer.
        Err(RefreshError::Upstream(e)) => {
            match reread(renewer, (identity.0, &identity.1, &identity.2)).await? {
                Some(now) if now.credentials_enc != started_with => {
                    let credentials = renewer.vault.open(&now)?;
                    Ok((now, credentials))
                }
                _ => Err(RefreshError::Upstream(e)),
            }
        }
        other => other,
    }
}

/// Nango's short-circuits for automatic refreshes of a failing grant: exhausted after
/// [`EXHAUSTED_AFTER_DAYS`] failing days, and [`FAILURE_COOLDOWN_SECS`] between attempts.
fn gate(row: &ConnectionRow, now: i64) -> Result<(), RefreshError> {
    if row.refresh_failure_days >= EXHAUSTED_AFTER_DAYS {
        return Err(RefreshError::Exhausted);
    }
    let last = row
        .last_refresh_failure_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp());
    match last {
        Some(at) if now.saturating_sub(at) < FAILURE_COOLDOWN_SECS => Err(RefreshError::Backoff),
        _ => Ok(()),
    }
}

/// A row's identity: environment, integration key, connection id.
fn identity(row: &ConnectionRow) -> (i64, &str, &str) {
    (
        row.environment_id,
        &row.provider_config_key,
        &row.connection_id,
    )
}

/// The connection `(environment, integration key, connection id)` as stored now.
async fn reread(
    renewer: &Renewer<'_>,
    (env_id, pck, connection_id): (i64, &str, &str),
) -> Result<Option<ConnectionRow>, RefreshError> {
    Ok(renewer
        .store
        .connection(env_id, pck, connection_id)
        .await
        .map_err(anyhow::Error::from)?)
}

/// One renewal under the in-process lock and the cross-replica lease: the leaf strategy for the
/// credentials' kind, then the new credentials stored, or the refusal counted.
async fn renew_once(
    renewer: &Renewer<'_>,
    strategies: &Strategies,
    row: ConnectionRow,
    credentials: Credentials,
    force: bool,
) -> Result<(ConnectionRow, Credentials), RefreshError> {
    let lock = renewer.locks.for_connection(row.id);
    let _guard = lock.lock().await;
    // Re-check after locking: another caller may have refreshed while we waited.
    let row = reread(renewer, identity(&row))
        .await?
        .ok_or_else(|| anyhow::anyhow!("connection deleted during refresh"))?;
    let current = renewer.vault.open(&row)?;
    // Whoever held the lock before us refreshed: use their token, even if the provider's token
    // lifetime is shorter than our refresh window (else every waiter would refresh again, in turn).
    let refreshed_meanwhile = access_token(&current) != access_token(&credentials);
    if refreshed_meanwhile && !expired(&current, renewer.upstream.clock.now_unix()) {
        return Ok((row, current));
    }
    // Whoever held it before us may have failed: readers queued behind a failing refresh do not
    // call the provider again each.
    if !force {
        gate(&row, renewer.upstream.clock.now_unix())?;
    }
    // Other replicas sharing the database may be refreshing too: one caller in all of them holds the
    // lease and calls the provider; the others wait for the token it stores ([`super::lease`]).
    let seen = access_token(&current).map(str::to_owned);
    let changed = |r: &ConnectionRow| {
        renewer
            .vault
            .open(r)
            .is_ok_and(|c| access_token(&c).map(str::to_owned) != seen)
    };
    let lease =
        match lease::lease_refresh(renewer.store, renewer.upstream.clock, &row, changed).await? {
            LeaseOutcome::Held(lease) => lease,
            LeaseOutcome::RefreshedElsewhere(row) => {
                let credentials = renewer.vault.open(&row)?;
                return Ok((*row, credentials));
            }
        };
    let logged = crate::activity::hooks::renewal(
        renewer.activity,
        &row,
        matches!(current, Credentials::OAuth2Cc { .. }),
    );
    // Read here, not with `?`: whatever happens below, the lease is released and the log entry ended.
    let integration = renewer
        .store
        .integration(row.environment_id, &row.provider_config_key)
        .await;
    let renewed = match integration {
        Ok(integration) => {
            let renewing = Renewing {
                upstream: renewer.upstream,
                catalog: renewer.catalog,
                cipher: renewer.cipher,
                row: &row,
                current: &current,
                integration,
            };
            (strategies.renew)(&renewing).await
        }
        Err(e) => Err(RefreshError::Internal(e.into())),
    };
    let refreshed = match renewed {
        Ok(credentials) => store_renewed(renewer, row, credentials).await,
        Err(RefreshError::Upstream(refusal)) => {
            Err(refresh_failed(renewer, &row, &auth_mode(renewer, &row, &current), refusal).await)
        }
        Err(e) => Err(e),
    };
    if let Ok((row, _)) = &refreshed {
        let (integration, connection) = (&row.provider_config_key, &row.connection_id);
        match current {
            Credentials::OAuth2 { .. } => {
                tracing::info!(%integration, %connection, "token refreshed")
            }
            Credentials::OAuth2Cc { .. } => {
                tracing::info!(%integration, %connection, "client-credentials token renewed")
            }
            _ => {
                let auth_mode = current.kind();
                tracing::info!(%integration, %connection, auth_mode, "credentials renewed")
            }
        }
    }
    lease.release().await;
    crate::activity::hooks::renewed(&logged, &refreshed);
    refreshed
}

/// A refresh (or client-credentials renewal) the provider refused: counted on the connection and
/// reported by an auth webhook, in one transaction — unless the connection was re-authorized meanwhile
/// (the failure concerns a grant that is gone). Logged with the provider's error, never a token.
async fn refresh_failed(
    renewer: &Renewer<'_>,
    row: &ConnectionRow,
    auth_mode: &str,
    refusal: Refusal,
) -> RefreshError {
    let error = refusal.to_string();
    tracing::warn!(integration = %row.provider_config_key, connection = %row.connection_id, error = %error, "token refresh failed");
    crate::metrics::token_refresh(false);
    let webhooks = match renewer.store.environment_by_id(row.environment_id).await {
        Ok(Some(env)) => {
            let event = crate::webhooks::AuthSubject {
                environment: &env.name,
                provider_config_key: &row.provider_config_key,
                connection_id: &row.connection_id,
                provider: &row.provider,
                auth_mode,
                tags: Some(&row.tags),
            }
            .event(
                crate::webhooks::AuthOperation::Refresh,
                Some(crate::webhooks::AuthFailure::Refresh(&error)),
            );
            renewer.webhooks.auth_rows(row.environment_id, &event).await
        }
        _ => Vec::new(),
    };
    if let Err(db) = renewer
        .store
        .record_refresh_failure(
            row.id,
            &row.credentials_enc,
            &renewer.upstream.clock.now_iso(),
            &webhooks,
        )
        .await
    {
        tracing::error!(error = %db, "could not count a refresh failure");
    }
    RefreshError::Upstream(refusal)
}

/// Seals and stores renewed credentials (which resets the failure counts) if the row still holds the
/// grant that was renewed; returns the row and credentials as stored. When a re-authorization replaced
/// the grant meanwhile, the newer grant stays and is returned instead.
async fn store_renewed(
    renewer: &Renewer<'_>,
    row: ConnectionRow,
    credentials: Credentials,
) -> Result<(ConnectionRow, Credentials), RefreshError> {
    let sealed = renewer.vault.seal(identity(&row), &credentials);
    let now = renewer.upstream.clock.now_iso();
    let swapped = renewer
        .store
        .update_connection_credentials(
            row.id,
            &row.credentials_enc,
            &sealed,
            renewer.cipher.key_id(),
            &now,
        )
        .await
        .map_err(anyhow::Error::from)?;
    crate::metrics::token_refresh(true);
    if !swapped {
        tracing::info!(integration = %row.provider_config_key, connection = %row.connection_id, "connection re-authorized during a refresh; the newer grant is kept");
        let current = reread(renewer, identity(&row))
            .await?
            .ok_or_else(|| anyhow::anyhow!("connection deleted during refresh"))?;
        let credentials = renewer.vault.open(&current)?;
        return Ok((current, credentials));
    }
    Ok((
        ConnectionRow {
            credentials_enc: sealed,
            key_id: renewer.cipher.key_id().to_string(),
            updated_at: now,
            refresh_failures: 0,
            last_refresh_failure_at: None,
            refresh_failure_days: 0,
            ..row
        },
        credentials,
    ))
}

/// The token a renewal replaces: the OAuth2 access token, or the client-credentials token.
fn access_token(c: &Credentials) -> Option<&str> {
    match c {
        Credentials::OAuth2 { access_token, .. } | Credentials::App { access_token, .. } => {
            Some(access_token)
        }
        Credentials::OAuth2Cc { token, .. }
        | Credentials::TwoStep { token, .. }
        | Credentials::Jwt { token, .. }
        | Credentials::Signature { token, .. } => Some(token),
        Credentials::Bill { session_id, .. } => session_id.as_deref(),
        Credentials::AwsSigV4 { access_key_id, .. } => Some(access_key_id),
        _ => None,
    }
}

/// The auth mode a refusal's webhook reports: the integration's for OAuth2 connections (`OAUTH2`,
/// `MCP`, `CUSTOM`, …), the credentials' own kind otherwise.
fn auth_mode(renewer: &Renewer<'_>, row: &ConnectionRow, current: &Credentials) -> String {
    match current {
        Credentials::OAuth2 { .. } => renewer
            .catalog
            .get(&row.provider)
            .and_then(|e| e.provider.as_ref())
            .map_or("OAUTH2", |p| p.auth_mode.as_str())
            .to_string(),
        other => other.kind().to_string(),
    }
}
