//! Persistence on SQLite (`sqlx`, migrations embedded from `migrations/sqlite`).
//!
//! This module owns every SQL statement; callers get typed rows. Secrets arrive here already sealed by
//! [`crate::crypto::Cipher`] and leave sealed: the store never sees a plaintext credential.
//! (A second implementation on PostgreSQL comes behind a trait with the multi-replica work.)

mod rows;

pub use rows::*;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;
use std::str::FromStr;

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Store {
    /// Opens (creating if needed) the database and runs pending migrations.
    pub async fn connect(database_url: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            database_url.starts_with("sqlite:"),
            "only sqlite:// database URLs are supported in this version (got a different scheme)"
        );
        if let Some(path) = database_url.strip_prefix("sqlite://") {
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)?;
                }
            }
        }
        let opts = SqliteConnectOptions::from_str(database_url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    // ---- environments -------------------------------------------------------------------------

    pub async fn environment_by_name(&self, name: &str) -> sqlx::Result<Option<EnvironmentRow>> {
        sqlx::query_as("SELECT * FROM environments WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn environment_by_secret_hash(
        &self,
        hash: &str,
    ) -> sqlx::Result<Option<EnvironmentRow>> {
        sqlx::query_as("SELECT * FROM environments WHERE secret_key_hash = ?")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn environment_by_id(&self, id: i64) -> sqlx::Result<Option<EnvironmentRow>> {
        sqlx::query_as("SELECT * FROM environments WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn insert_environment(&self, env: &NewEnvironment) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO environments (name, secret_key_hash, secret_key_enc, public_key, webhook_signing_key_enc, key_id, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&env.name)
        .bind(&env.secret_key_hash)
        .bind(&env.secret_key_enc)
        .bind(&env.public_key)
        .bind(&env.webhook_signing_key_enc)
        .bind(&env.key_id)
        .bind(&env.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Replaces the secret and/or public key of an environment (env-var overrides, `keys rotate`).
    pub async fn update_environment_keys(
        &self,
        id: i64,
        secret: Option<(&str, &[u8], &str)>,
        public_key: Option<&str>,
    ) -> sqlx::Result<()> {
        if let Some((hash, enc, key_id)) = secret {
            sqlx::query("UPDATE environments SET secret_key_hash = ?, secret_key_enc = ?, key_id = ? WHERE id = ?")
                .bind(hash)
                .bind(enc)
                .bind(key_id)
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        if let Some(pk) = public_key {
            sqlx::query("UPDATE environments SET public_key = ? WHERE id = ?")
                .bind(pk)
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    // ---- integrations -------------------------------------------------------------------------

    /// Saves an integration. With `replace`, an existing one of the same key is overwritten (the CLI's
    /// idempotent `integration create`); without, `Ok(false)` says the key is taken (the REST API).
    pub async fn save_integration(&self, i: &NewIntegration, replace: bool) -> sqlx::Result<bool> {
        let on_conflict = if replace {
            "DO UPDATE SET provider = excluded.provider, display_name = excluded.display_name,
               client_id = excluded.client_id, client_secret_enc = excluded.client_secret_enc,
               key_id = excluded.key_id, scopes = excluded.scopes, updated_at = excluded.updated_at"
        } else {
            "DO NOTHING"
        };
        let sql = format!(
            "INSERT INTO integrations (environment_id, unique_key, provider, display_name, client_id, client_secret_enc, key_id, scopes, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (environment_id, unique_key) {on_conflict}"
        );
        let res = sqlx::query(&sql)
            .bind(i.environment_id)
            .bind(&i.unique_key)
            .bind(&i.provider)
            .bind(&i.display_name)
            .bind(&i.client_id)
            .bind(&i.client_secret_enc)
            .bind(&i.key_id)
            .bind(&i.scopes)
            .bind(&i.now)
            .bind(&i.now)
            .execute(&self.pool)
            .await?;
        Ok(res.rows_affected() == 1)
    }

    pub async fn list_integrations(&self, env_id: i64) -> sqlx::Result<Vec<IntegrationRow>> {
        sqlx::query_as("SELECT * FROM integrations WHERE environment_id = ? ORDER BY unique_key")
            .bind(env_id)
            .fetch_all(&self.pool)
            .await
    }

    pub async fn integration(
        &self,
        env_id: i64,
        unique_key: &str,
    ) -> sqlx::Result<Option<IntegrationRow>> {
        sqlx::query_as("SELECT * FROM integrations WHERE environment_id = ? AND unique_key = ?")
            .bind(env_id)
            .bind(unique_key)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn delete_integration(&self, env_id: i64, unique_key: &str) -> sqlx::Result<bool> {
        let res =
            sqlx::query("DELETE FROM integrations WHERE environment_id = ? AND unique_key = ?")
                .bind(env_id)
                .bind(unique_key)
                .execute(&self.pool)
                .await?;
        Ok(res.rows_affected() > 0)
    }

    // ---- connect sessions ---------------------------------------------------------------------

    pub async fn insert_connect_session(&self, s: &NewConnectSession) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO connect_sessions (environment_id, token_hash, end_user, organization, allowed_integrations,
               integrations_config_defaults, tags, reconnect_connection_id, expires_at, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(s.environment_id)
        .bind(&s.token_hash)
        .bind(&s.end_user)
        .bind(&s.organization)
        .bind(&s.allowed_integrations)
        .bind(&s.integrations_config_defaults)
        .bind(&s.tags)
        .bind(&s.reconnect_connection_id)
        .bind(s.expires_at)
        .bind(&s.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live session with this token hash (expired sessions are not returned).
    pub async fn connect_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> sqlx::Result<Option<ConnectSessionRow>> {
        sqlx::query_as("SELECT * FROM connect_sessions WHERE token_hash = ? AND expires_at > ?")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn delete_connect_session(&self, id: i64) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM connect_sessions WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- OAuth attempts -----------------------------------------------------------------------

    pub async fn insert_oauth_attempt(&self, a: &OAuthAttemptRow) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO oauth_attempts (state_hash, environment_id, connect_session_id, provider_config_key, connection_id,
               code_verifier_enc, key_id, browser_binding_hash, ws_client_id, opener_origin, connection_config,
               callback_url, tags, end_user, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.state_hash)
        .bind(a.environment_id)
        .bind(a.connect_session_id)
        .bind(&a.provider_config_key)
        .bind(&a.connection_id)
        .bind(&a.code_verifier_enc)
        .bind(&a.key_id)
        .bind(&a.browser_binding_hash)
        .bind(&a.ws_client_id)
        .bind(&a.opener_origin)
        .bind(&a.connection_config)
        .bind(&a.callback_url)
        .bind(&a.tags)
        .bind(&a.end_user)
        .bind(a.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes and returns the attempt in one statement, so a state can be used once only, even
    /// when two callbacks race.
    pub async fn consume_oauth_attempt(
        &self,
        state_hash: &str,
    ) -> sqlx::Result<Option<OAuthAttemptRow>> {
        sqlx::query_as("DELETE FROM oauth_attempts WHERE state_hash = ? RETURNING *")
            .bind(state_hash)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn purge_expired_oauth_attempts(&self, now: i64) -> sqlx::Result<u64> {
        let res = sqlx::query("DELETE FROM oauth_attempts WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(res.rows_affected())
    }

    // ---- connections --------------------------------------------------------------------------

    /// Creates or replaces a connection's credentials; returns `true` when it was created.
    pub async fn upsert_connection(&self, c: &NewConnection) -> sqlx::Result<bool> {
        let mut tx = self.pool.begin().await?;
        let existed: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM connections WHERE environment_id = ? AND provider_config_key = ? AND connection_id = ?",
        )
        .bind(c.environment_id)
        .bind(&c.provider_config_key)
        .bind(&c.connection_id)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO connections (environment_id, provider_config_key, connection_id, provider, credentials_enc, key_id,
               connection_config, metadata, tags, end_user, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, ?)
             ON CONFLICT (environment_id, provider_config_key, connection_id) DO UPDATE SET
               provider = excluded.provider, credentials_enc = excluded.credentials_enc, key_id = excluded.key_id,
               connection_config = excluded.connection_config, tags = excluded.tags,
               end_user = COALESCE(excluded.end_user, connections.end_user), updated_at = excluded.updated_at",
        )
        .bind(c.environment_id)
        .bind(&c.provider_config_key)
        .bind(&c.connection_id)
        .bind(&c.provider)
        .bind(&c.credentials_enc)
        .bind(&c.key_id)
        .bind(&c.connection_config)
        .bind(&c.tags)
        .bind(&c.end_user)
        .bind(&c.now)
        .bind(&c.now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(existed.is_none())
    }

    /// Sets a connection's metadata (already merged by the caller); `false` when it does not exist.
    pub async fn set_connection_metadata(
        &self,
        env_id: i64,
        pck: &str,
        connection_id: &str,
        metadata: &str,
        now: &str,
    ) -> sqlx::Result<bool> {
        let res = sqlx::query(
            "UPDATE connections SET metadata = ?, updated_at = ? WHERE environment_id = ? AND provider_config_key = ? AND connection_id = ?",
        )
        .bind(metadata)
        .bind(now)
        .bind(env_id)
        .bind(pck)
        .bind(connection_id)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() > 0)
    }

    /// Replaces sealed credentials after a refresh (access and rotated refresh token together).
    pub async fn update_connection_credentials(
        &self,
        id: i64,
        enc: &[u8],
        key_id: &str,
        now: &str,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE connections SET credentials_enc = ?, key_id = ?, updated_at = ? WHERE id = ?",
        )
        .bind(enc)
        .bind(key_id)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn connection(
        &self,
        env_id: i64,
        pck: &str,
        connection_id: &str,
    ) -> sqlx::Result<Option<ConnectionRow>> {
        sqlx::query_as(
            "SELECT * FROM connections WHERE environment_id = ? AND provider_config_key = ? AND connection_id = ?",
        )
        .bind(env_id)
        .bind(pck)
        .bind(connection_id)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn list_connections(&self, env_id: i64) -> sqlx::Result<Vec<ConnectionRow>> {
        sqlx::query_as("SELECT * FROM connections WHERE environment_id = ? ORDER BY id")
            .bind(env_id)
            .fetch_all(&self.pool)
            .await
    }

    pub async fn delete_connection(
        &self,
        env_id: i64,
        pck: &str,
        connection_id: &str,
    ) -> sqlx::Result<bool> {
        let res = sqlx::query(
            "DELETE FROM connections WHERE environment_id = ? AND provider_config_key = ? AND connection_id = ?",
        )
        .bind(env_id)
        .bind(pck)
        .bind(connection_id)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() > 0)
    }

    // ---- webhook outbox -----------------------------------------------------------------------

    pub async fn enqueue_webhook(
        &self,
        id: &str,
        env_id: i64,
        url: &str,
        body: &str,
        now_unix: i64,
        now: &str,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO webhook_outbox (id, environment_id, url, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(env_id)
        .bind(url)
        .bind(body)
        .bind(now_unix)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claims up to `limit` due webhooks by moving their `next_attempt_at` past `lease_until`, so no
    /// other worker takes them while they are being sent.
    pub async fn claim_due_webhooks(
        &self,
        now_unix: i64,
        lease_until: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<WebhookRow>> {
        sqlx::query_as(
            "UPDATE webhook_outbox SET next_attempt_at = ?
             WHERE id IN (SELECT id FROM webhook_outbox
                          WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
                          ORDER BY next_attempt_at LIMIT ?)
             RETURNING *",
        )
        .bind(lease_until)
        .bind(now_unix)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn webhook_delivered(&self, id: &str, attempts: i64, now: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE webhook_outbox SET delivered_at = ?, attempts = ?, last_error = NULL WHERE id = ?")
            .bind(now)
            .bind(attempts)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a failed attempt: retry at `retry_at`, or give up when it is `None`.
    pub async fn webhook_attempt_failed(
        &self,
        id: &str,
        attempts: i64,
        error: &str,
        retry_at: Option<i64>,
        now: &str,
    ) -> sqlx::Result<()> {
        match retry_at {
            Some(at) => sqlx::query("UPDATE webhook_outbox SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?")
                .bind(attempts)
                .bind(error)
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await?,
            None => sqlx::query("UPDATE webhook_outbox SET attempts = ?, last_error = ?, failed_at = ? WHERE id = ?")
                .bind(attempts)
                .bind(error)
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?,
        };
        Ok(())
    }
}
