//! Persistence behind one [`Storage`] trait with two implementations: SQLite (the default, one file,
//! WAL) and PostgreSQL (several server replicas sharing one database). Each has its own migrations
//! (`migrations/sqlite`, `migrations/postgres`); the statements themselves are written once, in
//! portable SQL, in [`sql`].
//!
//! This module owns every SQL statement; callers get typed rows. Secrets arrive here already sealed by
//! [`crate::crypto::Cipher`] and leave sealed: the store never sees a plaintext credential.

#[macro_use]
mod sql;
#[macro_use]
pub mod activity;
#[macro_use]
pub mod dashboard;
mod group_commit;
mod postgres;
mod row_cache;
mod rows;
mod sqlite;
#[cfg(test)]
pub(crate) mod test_support;

pub use postgres::PostgresStore;
pub use rows::*;
pub use sqlite::{sqlite_file, SqliteStore};

use crate::environment_cache::EnvironmentCache;
use std::sync::Arc;

/// Every query the server makes. Implemented by [`SqliteStore`] and [`PostgresStore`] from the same
/// SQL text, so both backends pass the same test suite.
#[async_trait::async_trait]
pub trait Storage:
    activity::ActivityStorage + dashboard::DashboardStorage + Send + Sync + 'static
{
    /// Which backend this is (`sqlite` or `postgres`), for logs and tests.
    fn backend(&self) -> &'static str;

    async fn environment_by_name(&self, name: &str) -> sqlx::Result<Option<EnvironmentRow>>;

    async fn environment_by_secret_hash(&self, hash: &str) -> sqlx::Result<Option<EnvironmentRow>>;

    async fn environment_by_id(&self, id: i64) -> sqlx::Result<Option<EnvironmentRow>>;

    async fn insert_environment(&self, env: &NewEnvironment) -> sqlx::Result<()>;

    /// Replaces the secret and/or public key of an environment (env-var overrides, `keys rotate`).
    async fn update_environment_keys(
        &self,
        id: i64,
        secret: Option<&SealedKeys>,
        public_key: Option<&str>,
    ) -> sqlx::Result<()>;

    /// Replaces an environment's settings document (`EnvironmentSettings` as JSON).
    async fn update_environment_settings(&self, id: i64, settings: &str) -> sqlx::Result<()>;

    /// Saves an integration. With `replace`, an existing one of the same key is overwritten (the CLI's
    /// idempotent `integration create`); without, `Ok(false)` says the key is taken (the REST API).
    async fn save_integration(&self, i: &NewIntegration, replace: bool) -> sqlx::Result<bool>;

    async fn list_integrations(&self, env_id: i64) -> sqlx::Result<Vec<IntegrationRow>>;

    async fn integration(
        &self,
        env_id: i64,
        unique_key: &str,
    ) -> sqlx::Result<Option<IntegrationRow>>;

    async fn delete_integration(&self, env_id: i64, unique_key: &str) -> sqlx::Result<bool>;

    /// `PATCH /integrations/:key` (issue 3): rewrites an integration's fields, its unique key included
    /// (`i.unique_key`; the caller re-seals the client secret for the new key). `false` when `old_key`
    /// does not exist.
    async fn update_integration(&self, old_key: &str, i: &NewIntegration) -> sqlx::Result<bool>;

    /// The environment whose public key this is (legacy public-key mode of the auth endpoints, issue 3).
    async fn environment_by_public_key(
        &self,
        public_key: &str,
    ) -> sqlx::Result<Option<EnvironmentRow>>;

    /// The environment with this public id (the provider webhook URLs, issue 15).
    async fn environment_by_uuid(&self, uuid: &str) -> sqlx::Result<Option<EnvironmentRow>>;

    async fn insert_connect_session(&self, s: &NewConnectSession) -> sqlx::Result<()>;

    /// The live session with this token hash (expired sessions are not returned).
    async fn connect_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> sqlx::Result<Option<ConnectSessionRow>>;

    async fn delete_connect_session(&self, id: i64) -> sqlx::Result<()>;

    async fn insert_oauth_attempt(&self, a: &OAuthAttemptRow) -> sqlx::Result<()>;

    /// Deletes and returns the attempt in one statement, so a state can be used once only, even
    /// when two callbacks race.
    async fn consume_oauth_attempt(
        &self,
        state_hash: &str,
    ) -> sqlx::Result<Option<OAuthAttemptRow>>;

    /// Reads an attempt without consuming it (the callback checks the browser binding first, so a
    /// leaked `state` alone cannot burn the victim's attempt).
    async fn oauth_attempt(&self, state_hash: &str) -> sqlx::Result<Option<OAuthAttemptRow>>;

    async fn purge_expired_oauth_attempts(&self, now: i64) -> sqlx::Result<u64>;

    /// Creates or replaces a connection's credentials; returns `true` when it was created. In the same
    /// transaction it queues `on_create` (when created) or `on_update` (when replaced), so a webhook
    /// is never lost between the write and its enqueue, and a creation is reported exactly once even
    /// when writers race on one connection.
    async fn upsert_connection(
        &self,
        c: &NewConnection,
        on_create: &[NewWebhook],
        on_update: &[NewWebhook],
    ) -> sqlx::Result<bool>;

    /// Sets a connection's metadata (already merged by the caller); `false` when it does not exist.
    async fn set_connection_metadata(
        &self,
        env_id: i64,
        pck: &str,
        connection_id: &str,
        metadata: &str,
        now: &str,
    ) -> sqlx::Result<bool>;

    /// Replaces sealed credentials after a refresh (access and rotated refresh token together) if the
    /// row still holds `expected` (compare-and-swap: a refresh that began before a reconnect must not
    /// overwrite the newer grant); `false` when it changed meanwhile. Success clears the failure counts.
    async fn update_connection_credentials(
        &self,
        id: i64,
        expected: &[u8],
        enc: &[u8],
        key_id: &str,
        now: &str,
    ) -> sqlx::Result<bool>;

    /// Counts one failed refresh of the grant `expected` (and a failing day, at most once a UTC day)
    /// and queues `on_failure` in the same transaction; `false` (nothing written) when the
    /// connection's credentials changed meanwhile.
    async fn record_refresh_failure(
        &self,
        id: i64,
        expected: &[u8],
        now: &str,
        on_failure: &[NewWebhook],
    ) -> sqlx::Result<bool>;

    async fn connection(
        &self,
        env_id: i64,
        pck: &str,
        connection_id: &str,
    ) -> sqlx::Result<Option<ConnectionRow>>;

    /// The connection, only when its integration exists too: `GET /connection/:id`'s usual case in
    /// one read (`None`: one of them is missing; ask [`Self::integration`] which).
    async fn connection_with_integration(
        &self,
        env_id: i64,
        pck: &str,
        connection_id: &str,
    ) -> sqlx::Result<Option<ConnectionRow>>;

    async fn list_connections(&self, env_id: i64) -> sqlx::Result<Vec<ConnectionRow>>;

    async fn delete_connection(
        &self,
        env_id: i64,
        pck: &str,
        connection_id: &str,
    ) -> sqlx::Result<bool>;

    async fn enqueue_webhook(&self, w: &NewWebhook) -> sqlx::Result<()>;

    /// Claims one due webhook for `claim` by moving its `next_attempt_at` to `lease_until`, so no other
    /// worker (in any replica) takes it while it is being sent.
    async fn claim_webhook(
        &self,
        now_unix: i64,
        lease_until: i64,
        claim: &str,
    ) -> sqlx::Result<Option<WebhookRow>>;

    /// Marks a webhook delivered if `claim` still holds it; `false` otherwise.
    async fn webhook_delivered(
        &self,
        id: &str,
        claim: &str,
        attempts: i64,
        now: &str,
    ) -> sqlx::Result<bool>;

    /// Records a failed attempt (if `claim` still holds the row): retry at `retry_at`, or move it to
    /// the dead letters (`failed_at`) when it is `None`.
    async fn webhook_attempt_failed(
        &self,
        id: &str,
        claim: &str,
        attempts: i64,
        error: &str,
        retry_at: Option<i64>,
        now: &str,
    ) -> sqlx::Result<bool>;

    /// An environment's outbox, newest first, optionally of one status; `limit` rows after `offset`.
    async fn list_webhooks(
        &self,
        env_id: i64,
        status: Option<WebhookStatus>,
        limit: i64,
        offset: i64,
    ) -> sqlx::Result<Vec<WebhookRow>>;

    /// Puts a dead-lettered webhook back in the queue (attempts reset); `None` when there is no
    /// failed webhook of that id in the environment.
    async fn resend_webhook(
        &self,
        env_id: i64,
        id: &str,
        now_unix: i64,
    ) -> sqlx::Result<Option<WebhookRow>>;

    // ---- several replicas ---------------------------------------------------------------------

    /// Takes the refresh lease of a connection for `holder` until `until` (unix seconds) when nobody
    /// holds a live one; `true` when taken. The holder refreshes; other callers, in any replica, wait
    /// and re-read the row.
    async fn try_lease_refresh(
        &self,
        connection_row_id: i64,
        holder: &str,
        now: i64,
        until: i64,
    ) -> sqlx::Result<bool>;

    /// Gives the lease back (only if `holder` still has it).
    async fn release_refresh(&self, connection_row_id: i64, holder: &str) -> sqlx::Result<()>;

    /// Keeps an OAuth result frame for a WebSocket client until it is taken or expires.
    async fn save_oauth_result(
        &self,
        ws_client_id: &str,
        frame: &str,
        expires_at: i64,
        now: i64,
    ) -> sqlx::Result<()>;

    /// Takes (deletes and returns) the result kept for a WebSocket client, so it is delivered once.
    async fn take_oauth_result(&self, ws_client_id: &str, now: i64)
        -> sqlx::Result<Option<String>>;

    /// Tells every replica that a result for `ws_client_id` is waiting (PostgreSQL `NOTIFY`; a no-op
    /// on SQLite, where there is one process).
    async fn publish_oauth_result(&self, ws_client_id: &str) -> sqlx::Result<()>;

    /// Receives the `ws_client_id`s other replicas publish (`LISTEN`); `None` on SQLite.
    async fn listen_oauth_results(
        &self,
    ) -> anyhow::Result<Option<tokio::sync::mpsc::UnboundedReceiver<String>>>;

    /// One message whenever an environment row changed, in any process (PostgreSQL `LISTEN` on a
    /// trigger's `NOTIFY`); `None` on SQLite.
    async fn listen_environment_changes(
        &self,
    ) -> anyhow::Result<Option<tokio::sync::mpsc::UnboundedReceiver<()>>>;

    // ---- re-sealing (issue 11: key rotation, unambiguous associated data) ----------------------

    /// A value of the `latchkey_meta` table (one-time data migrations record themselves there).
    async fn meta(&self, name: &str) -> sqlx::Result<Option<String>>;

    async fn set_meta(&self, name: &str, value: &str) -> sqlx::Result<()>;

    /// Replaces a connection's sealed credentials with the same plaintext sealed anew, only if they
    /// are still `old` (a concurrent refresh wins); `true` when replaced. Touches nothing else.
    async fn reseal_connection(
        &self,
        id: i64,
        old: &[u8],
        enc: &[u8],
        key_id: &str,
    ) -> sqlx::Result<bool>;

    /// Replaces an integration's sealed client secret with the same secret sealed anew.
    async fn reseal_integration_secret(
        &self,
        id: i64,
        enc: &[u8],
        key_id: &str,
    ) -> sqlx::Result<()>;

    /// Replaces an integration's sealed `integration_config` with the same values sealed anew.
    async fn reseal_integration_custom(
        &self,
        id: i64,
        enc: &[u8],
        key_id: &str,
    ) -> sqlx::Result<()>;

    // ---- operations (readiness, metrics) ----

    /// One round trip to the database (`/ready`, `latchkey doctor`).
    async fn ping(&self) -> sqlx::Result<()>;

    /// Webhooks neither delivered nor given up.
    async fn webhook_outbox_depth(&self) -> sqlx::Result<i64>;

    /// Connections per integration key, over all environments.
    async fn connections_per_integration(&self) -> sqlx::Result<Vec<(String, i64)>>;
}

/// The store the server holds: a cheap handle on whichever backend `DATABASE_URL` chose, with the
/// opened environments authenticated calls use ([`EnvironmentCache`]), forgotten when written here.
#[derive(Clone)]
pub struct Store(Arc<dyn Storage>, Arc<EnvironmentCache>);

impl Store {
    /// Opens the database named by `database_url` (`sqlite://…` or `postgres://…`), creating it if
    /// needed, and runs pending migrations.
    pub async fn connect(database_url: &str) -> anyhow::Result<Self> {
        let backend: Arc<dyn Storage> = if database_url.starts_with("sqlite:") {
            Arc::new(SqliteStore::connect(database_url).await?)
        } else if database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
        {
            Arc::new(PostgresStore::connect(database_url).await?)
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://")
        };
        Ok(Self(backend, Default::default()))
    }

    /// Forgets the cached environments whenever another process changes one (PostgreSQL); the task
    /// runs until aborted. `None` on SQLite, where the cache's TTL covers the CLI.
    pub async fn follow_environment_changes(
        &self,
    ) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
        let Some(mut changes) = self.0.listen_environment_changes().await? else {
            return Ok(None);
        };
        let cache = self.1.clone();
        Ok(Some(tokio::spawn(async move {
            while changes.recv().await.is_some() {
                cache.clear();
            }
        })))
    }

    /// Opened environments, by secret-key digest and by id.
    pub fn environments(&self) -> &EnvironmentCache {
        &self.1
    }

    /// [`Storage::update_environment_keys`], then forgets the cached environments (a rotated-out key
    /// stops working here at once; other processes: [`EnvironmentCache`]).
    pub async fn update_environment_keys(
        &self,
        id: i64,
        secret: Option<&SealedKeys>,
        public_key: Option<&str>,
    ) -> sqlx::Result<()> {
        let done = self.0.update_environment_keys(id, secret, public_key).await;
        self.1.clear();
        done
    }

    /// [`Storage::update_environment_settings`], then forgets the cached environments.
    pub async fn update_environment_settings(&self, id: i64, settings: &str) -> sqlx::Result<()> {
        let done = self.0.update_environment_settings(id, settings).await;
        self.1.clear();
        done
    }
}

impl std::ops::Deref for Store {
    type Target = dyn Storage;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Store").field(&self.0.backend()).finish()
    }
}
