//! (Over 600 lines, one macro: the methods form one `#[async_trait]` impl of [`super::Storage`], and
//! `#[async_trait]` rewrites that impl before macros inside it expand, so methods from per-resource
//! macros would not match the trait; splitting would mean writing every signature twice.)
//!
//! The SQL of every [`super::Storage`] method, written once and instantiated for each backend by
//! [`impl_storage!`]. Statements use `$N` placeholders, `ON CONFLICT` and `RETURNING`, which SQLite and
//! PostgreSQL both accept; the one dialect difference (row locks when claiming outbox rows) is a macro
//! argument.

/// The columns of [`ConnectionRow`](super::rows::ConnectionRow), in its field order. Named rather
/// than `*`: the table has columns the row does not carry (the refresh lease's), and SQLite's inline
/// reader reads the row by position (a lookup by name compares strings: 2% of a proxied call's CPU).
macro_rules! connection_columns {
    () => {
        "id, environment_id, provider_config_key, connection_id, provider, credentials_enc, key_id, \
         connection_config, metadata, tags, end_user, created_at, updated_at, refresh_failures, \
         last_refresh_failure_at, refresh_failure_days"
    };
}

/// The connection `($1, $2, $3)` = (environment, integration, connection id): the proxy's read.
/// Each backend runs the connection reads its own way (`read_connection`).
pub(super) const CONNECTION: &str = concat!(
    "SELECT ",
    connection_columns!(),
    " FROM connections WHERE environment_id = $1 AND provider_config_key = $2 AND connection_id = $3"
);

/// [`CONNECTION`] if its integration exists: `GET /connection/:id`'s read, the hottest of all.
pub(super) const CONNECTION_WITH_INTEGRATION: &str = concat!(
    "SELECT ",
    connection_columns!(),
    " FROM connections WHERE environment_id = $1 AND provider_config_key = $2 AND connection_id = $3
       AND EXISTS (SELECT 1 FROM integrations i WHERE i.environment_id = $1 AND i.unique_key = $2)"
);

/// Which of the connection reads a backend's `read_connection` runs (SQLite keeps the rows of each
/// apart: `row_cache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum ConnectionRead {
    /// [`CONNECTION`].
    Connection,
    /// [`CONNECTION_WITH_INTEGRATION`].
    WithIntegration,
}

impl ConnectionRead {
    pub(super) fn sql(self) -> &'static str {
        match self {
            Self::Connection => CONNECTION,
            Self::WithIntegration => CONNECTION_WITH_INTEGRATION,
        }
    }
}

/// Implements [`super::Storage`] for a type with `pool` and `reader` fields (`sqlx::Pool<_>`): every
/// statement that writes runs on `pool` (on SQLite its one connection: writers queue in the pool,
/// never in SQLite's sleeping busy handler), reads that need no write lock on `reader`. A new method
/// that writes needs nothing special; a read may use `reader`.
/// `$begin` opens a write transaction (`BEGIN IMMEDIATE` on SQLite takes the write lock up front, so a
/// concurrent writer means waiting, not `database is locked`); `$db` is the sqlx database type.
/// `$skip_locked` is appended to the outbox claim's sub-select (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
/// where several replicas claim concurrently; empty on SQLite, whose writers are serialised).
macro_rules! impl_storage {
    ($store:ty, backend = $backend:literal, skip_locked = $skip_locked:literal, begin = $begin:literal, db = $db:ty) => {
        /// A connection read through sqlx on `reader`: PostgreSQL's way, and SQLite's for an
        /// in-memory database.
        async fn read_connection_sqlx(
            reader: &sqlx::Pool<$db>,
            read: $crate::storage::sql::ConnectionRead,
            env_id: i64,
            pck: &str,
            connection_id: &str,
        ) -> sqlx::Result<Option<ConnectionRow>> {
            sqlx::query_as(read.sql())
                .bind(env_id)
                .bind(pck)
                .bind(connection_id)
                .fetch_optional(reader)
                .await
        }

        /// Inserts one outbox row on `conn` (a transaction's or the pool's).
        async fn insert_webhook<'c, E>(conn: E, w: &NewWebhook) -> sqlx::Result<()>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            sqlx::query(
                "INSERT INTO webhook_outbox (id, environment_id, url, body, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&w.id)
            .bind(w.environment_id)
            .bind(&w.url)
            .bind(&w.body)
            .bind(w.now_unix)
            .bind(&w.now)
            .execute(conn)
            .await?;
            Ok(())
        }

        /// Inserts connect sessions with one multi-row statement (one commit: see
        /// [`super::group_commit`]); hands the rows back for a row-by-row retry.
        async fn insert_connect_sessions(
            pool: sqlx::Pool<$db>,
            rows: Vec<NewConnectSession>,
        ) -> (Vec<NewConnectSession>, sqlx::Result<()>) {
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO connect_sessions (environment_id, token_hash, end_user, organization, allowed_integrations,
                   integrations_config_defaults, tags, reconnect_connection_id, expires_at, created_at) ",
            );
            q.push_values(&rows, |mut b, s| {
                b.push_bind(s.environment_id)
                    .push_bind(s.token_hash.clone())
                    .push_bind(s.end_user.clone())
                    .push_bind(s.organization.clone())
                    .push_bind(s.allowed_integrations.clone())
                    .push_bind(s.integrations_config_defaults.clone())
                    .push_bind(s.tags.clone())
                    .push_bind(s.reconnect_connection_id.clone())
                    .push_bind(s.expires_at)
                    .push_bind(s.created_at.clone());
            });
            let result = q.build().execute(&pool).await.map(|_| ());
            (rows, result)
        }

        #[async_trait::async_trait]
        impl $crate::storage::Storage for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

    // ---- environments -------------------------------------------------------------------------

    async fn environment_by_name(&self, name: &str) -> sqlx::Result<Option<EnvironmentRow>> {
        sqlx::query_as("SELECT * FROM environments WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.reader)
            .await
    }

    async fn environment_by_secret_hash(
        &self,
        hash: &str,
    ) -> sqlx::Result<Option<EnvironmentRow>> {
        sqlx::query_as("SELECT * FROM environments WHERE secret_key_hash = $1")
            .bind(hash)
            .fetch_optional(&self.reader)
            .await
    }

    async fn environment_by_id(&self, id: i64) -> sqlx::Result<Option<EnvironmentRow>> {
        sqlx::query_as("SELECT * FROM environments WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await
    }

    async fn insert_environment(&self, env: &NewEnvironment) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO environments (name, secret_key_hash, secret_key_enc, public_key, webhook_signing_key_enc, key_id, created_at, uuid)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&env.name)
        .bind(&env.secret_key_hash)
        .bind(&env.secret_key_enc)
        .bind(&env.public_key)
        .bind(&env.webhook_signing_key_enc)
        .bind(&env.key_id)
        .bind(&env.created_at)
        .bind(&env.uuid)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_environment_keys(
        &self,
        id: i64,
        secret: Option<&SealedKeys>,
        public_key: Option<&str>,
    ) -> sqlx::Result<()> {
        if let Some(k) = secret {
            sqlx::query("UPDATE environments SET secret_key_hash = $1, secret_key_enc = $2, webhook_signing_key_enc = $3, key_id = $4 WHERE id = $5")
                .bind(&k.secret_key_hash)
                .bind(&k.secret_key_enc)
                .bind(&k.webhook_signing_key_enc)
                .bind(&k.key_id)
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        if let Some(pk) = public_key {
            sqlx::query("UPDATE environments SET public_key = $1 WHERE id = $2")
                .bind(pk)
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    async fn update_environment_settings(&self, id: i64, settings: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE environments SET settings = $1 WHERE id = $2")
            .bind(settings)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- integrations -------------------------------------------------------------------------

    async fn save_integration(&self, i: &NewIntegration, replace: bool) -> sqlx::Result<bool> {
        let on_conflict = if replace {
            "DO UPDATE SET provider = excluded.provider, display_name = excluded.display_name,
               client_id = excluded.client_id, client_secret_enc = excluded.client_secret_enc,
               key_id = excluded.key_id, scopes = excluded.scopes, custom_enc = excluded.custom_enc,
               custom_key_id = excluded.custom_key_id, updated_at = excluded.updated_at"
        } else {
            "DO NOTHING"
        };
        let sql = format!(
            "INSERT INTO integrations (environment_id, unique_key, provider, display_name, client_id, client_secret_enc, key_id, scopes, created_at, updated_at, custom_enc, custom_key_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (environment_id, unique_key) {on_conflict}"
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
            .bind(&i.custom_enc)
            .bind(&i.custom_key_id)
            .execute(&self.pool)
            .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn list_integrations(&self, env_id: i64) -> sqlx::Result<Vec<IntegrationRow>> {
        sqlx::query_as("SELECT * FROM integrations WHERE environment_id = $1 ORDER BY unique_key")
            .bind(env_id)
            .fetch_all(&self.reader)
            .await
    }

    async fn integration(
        &self,
        env_id: i64,
        unique_key: &str,
    ) -> sqlx::Result<Option<IntegrationRow>> {
        sqlx::query_as("SELECT * FROM integrations WHERE environment_id = $1 AND unique_key = $2")
            .bind(env_id)
            .bind(unique_key)
            .fetch_optional(&self.reader)
            .await
    }

    async fn delete_integration(&self, env_id: i64, unique_key: &str) -> sqlx::Result<bool> {
        let res =
            sqlx::query("DELETE FROM integrations WHERE environment_id = $1 AND unique_key = $2")
                .bind(env_id)
                .bind(unique_key)
                .execute(&self.pool)
                .await?;
        Ok(res.rows_affected() > 0)
    }

    async fn update_integration(&self, old_key: &str, i: &NewIntegration) -> sqlx::Result<bool> {
        let res = sqlx::query(
            "UPDATE integrations SET unique_key = $1, display_name = $2, client_id = $3,
               client_secret_enc = $4, key_id = $5, scopes = $6, updated_at = $7,
               custom_enc = $10, custom_key_id = $11
             WHERE environment_id = $8 AND unique_key = $9",
        )
        .bind(&i.unique_key)
        .bind(&i.display_name)
        .bind(&i.client_id)
        .bind(&i.client_secret_enc)
        .bind(&i.key_id)
        .bind(&i.scopes)
        .bind(&i.now)
        .bind(i.environment_id)
        .bind(old_key)
        .bind(&i.custom_enc)
        .bind(&i.custom_key_id)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() > 0)
    }

    async fn environment_by_public_key(
        &self,
        public_key: &str,
    ) -> sqlx::Result<Option<EnvironmentRow>> {
        sqlx::query_as("SELECT * FROM environments WHERE public_key = $1")
            .bind(public_key)
            .fetch_optional(&self.reader)
            .await
    }

    async fn environment_by_uuid(&self, uuid: &str) -> sqlx::Result<Option<EnvironmentRow>> {
        sqlx::query_as("SELECT * FROM environments WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(&self.reader)
            .await
    }

    // ---- connect sessions ---------------------------------------------------------------------

    async fn insert_connect_session(&self, s: &NewConnectSession) -> sqlx::Result<()> {
        self.sessions.insert(s.clone()).await
    }

    async fn connect_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> sqlx::Result<Option<ConnectSessionRow>> {
        sqlx::query_as("SELECT * FROM connect_sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.reader)
            .await
    }

    async fn delete_connect_session(&self, id: i64) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM connect_sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- OAuth attempts -----------------------------------------------------------------------

    async fn insert_oauth_attempt(&self, a: &OAuthAttemptRow) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO oauth_attempts (state_hash, environment_id, connect_session_id, provider_config_key, connection_id,
               code_verifier_enc, key_id, browser_binding_hash, ws_client_id, opener_origin, connection_config,
               callback_url, tags, end_user, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
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

    async fn consume_oauth_attempt(
        &self,
        state_hash: &str,
    ) -> sqlx::Result<Option<OAuthAttemptRow>> {
        sqlx::query_as("DELETE FROM oauth_attempts WHERE state_hash = $1 RETURNING *")
            .bind(state_hash)
            .fetch_optional(&self.pool)
            .await
    }

    async fn oauth_attempt(&self, state_hash: &str) -> sqlx::Result<Option<OAuthAttemptRow>> {
        sqlx::query_as("SELECT * FROM oauth_attempts WHERE state_hash = $1")
            .bind(state_hash)
            .fetch_optional(&self.reader)
            .await
    }

    async fn purge_expired_oauth_attempts(&self, now: i64) -> sqlx::Result<u64> {
        let res = sqlx::query("DELETE FROM oauth_attempts WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(res.rows_affected())
    }

    // ---- connections --------------------------------------------------------------------------

    async fn upsert_connection(
        &self,
        c: &NewConnection,
        on_create: &[NewWebhook],
        on_update: &[NewWebhook],
    ) -> sqlx::Result<bool> {
        // One write transaction, begun as a write ($begin), whose first statement writes: a concurrent
        // writer makes us wait (busy timeout / row lock) instead of failing a read→write upgrade.
        // `DO NOTHING` reports the insert exactly once, even when PostgreSQL sessions race on one key
        // (the loser waits for the winner's commit, then sees the conflict).
        let mut tx = self.pool.begin_with($begin).await?;
        let mut created = false;
        for _ in 0..3 {
            let inserted = sqlx::query(
                "INSERT INTO connections (environment_id, provider_config_key, connection_id, provider, credentials_enc, key_id,
                   connection_config, metadata, tags, end_user, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, '{}', $8, $9, $10, $11)
                 ON CONFLICT (environment_id, provider_config_key, connection_id) DO NOTHING",
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
            .await?
            .rows_affected()
                == 1;
            if inserted {
                created = true;
                break;
            }
            let updated = sqlx::query(
                "UPDATE connections SET provider = $1, credentials_enc = $2, key_id = $3, connection_config = $4,
                   tags = $5, end_user = COALESCE($6, end_user), updated_at = $7,
                   refresh_failures = 0, last_refresh_failure_at = NULL, refresh_failure_days = 0
                 WHERE environment_id = $8 AND provider_config_key = $9 AND connection_id = $10",
            )
            .bind(&c.provider)
            .bind(&c.credentials_enc)
            .bind(&c.key_id)
            .bind(&c.connection_config)
            .bind(&c.tags)
            .bind(&c.end_user)
            .bind(&c.now)
            .bind(c.environment_id)
            .bind(&c.provider_config_key)
            .bind(&c.connection_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 1 {
                break;
            }
            // Deleted between the two statements (PostgreSQL): insert again.
        }
        for w in if created { on_create } else { on_update } {
            insert_webhook(&mut *tx, w).await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn set_connection_metadata(
        &self,
        env_id: i64,
        pck: &str,
        connection_id: &str,
        metadata: &str,
        now: &str,
    ) -> sqlx::Result<bool> {
        let res = sqlx::query(
            "UPDATE connections SET metadata = $1, updated_at = $2 WHERE environment_id = $3 AND provider_config_key = $4 AND connection_id = $5",
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

    async fn update_connection_credentials(
        &self,
        id: i64,
        expected: &[u8],
        enc: &[u8],
        key_id: &str,
        now: &str,
    ) -> sqlx::Result<bool> {
        let res = sqlx::query(
            "UPDATE connections SET credentials_enc = $1, key_id = $2, updated_at = $3,
               refresh_failures = 0, last_refresh_failure_at = NULL, refresh_failure_days = 0
             WHERE id = $4 AND credentials_enc = $5",
        )
        .bind(enc)
        .bind(key_id)
        .bind(now)
        .bind(id)
        .bind(expected)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn record_refresh_failure(
        &self,
        id: i64,
        expected: &[u8],
        now: &str,
        on_failure: &[NewWebhook],
    ) -> sqlx::Result<bool> {
        let mut tx = self.pool.begin_with($begin).await?;
        // Nango counts failing days (at most one a calendar day, UTC) towards exhaustion; the plain
        // count says how many attempts failed. Only the grant that failed is marked: a reconnect that
        // replaced it meanwhile (other credentials_enc) is left alone.
        let res = sqlx::query(
            "UPDATE connections SET refresh_failures = refresh_failures + 1,
               refresh_failure_days = refresh_failure_days + CASE
                 WHEN last_refresh_failure_at IS NULL OR SUBSTR(last_refresh_failure_at, 1, 10) <> SUBSTR($1, 1, 10)
                 THEN 1 ELSE 0 END,
               last_refresh_failure_at = $1
             WHERE id = $2 AND credentials_enc = $3",
        )
        .bind(now)
        .bind(id)
        .bind(expected)
        .execute(&mut *tx)
        .await?;
        let counted = res.rows_affected() == 1;
        if counted {
            for w in on_failure {
                insert_webhook(&mut *tx, w).await?;
            }
        }
        tx.commit().await?;
        Ok(counted)
    }

    async fn connection(
        &self,
        env_id: i64,
        pck: &str,
        connection_id: &str,
    ) -> sqlx::Result<Option<ConnectionRow>> {
        self.read_connection($crate::storage::sql::ConnectionRead::Connection, env_id, pck, connection_id)
            .await
    }

    async fn connection_with_integration(
        &self,
        env_id: i64,
        pck: &str,
        connection_id: &str,
    ) -> sqlx::Result<Option<ConnectionRow>> {
        self.read_connection($crate::storage::sql::ConnectionRead::WithIntegration, env_id, pck, connection_id)
            .await
    }

    async fn list_connections(&self, env_id: i64) -> sqlx::Result<Vec<ConnectionRow>> {
        sqlx::query_as("SELECT * FROM connections WHERE environment_id = $1 ORDER BY id")
            .bind(env_id)
            .fetch_all(&self.reader)
            .await
    }

    async fn delete_connection(
        &self,
        env_id: i64,
        pck: &str,
        connection_id: &str,
    ) -> sqlx::Result<bool> {
        let res = sqlx::query(
            "DELETE FROM connections WHERE environment_id = $1 AND provider_config_key = $2 AND connection_id = $3",
        )
        .bind(env_id)
        .bind(pck)
        .bind(connection_id)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() > 0)
    }

    // ---- webhook outbox -----------------------------------------------------------------------

    async fn enqueue_webhook(&self, w: &NewWebhook) -> sqlx::Result<()> {
        let mut conn = self.pool.acquire().await?;
        insert_webhook(&mut *conn, w).await
    }

    async fn claim_webhook(
        &self,
        now_unix: i64,
        lease_until: i64,
        claim: &str,
    ) -> sqlx::Result<Option<WebhookRow>> {
        // One row per claim, so a slow receiver holds only its own row. The outer condition is
        // re-checked against the row as it is when locked: two replicas cannot both claim it.
        let sql = format!(
            "UPDATE webhook_outbox SET next_attempt_at = $1, claim = $2
             WHERE id = (SELECT id FROM webhook_outbox
                         WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $3
                         ORDER BY next_attempt_at LIMIT 1 {})
               AND delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $3
             RETURNING *",
            $skip_locked
        );
        sqlx::query_as(&sql)
            .bind(lease_until)
            .bind(claim)
            .bind(now_unix)
            .fetch_optional(&self.pool)
            .await
    }

    async fn webhook_delivered(
        &self,
        id: &str,
        claim: &str,
        attempts: i64,
        now: &str,
    ) -> sqlx::Result<bool> {
        let res = sqlx::query(
            "UPDATE webhook_outbox SET delivered_at = $1, attempts = $2, last_error = NULL, claim = NULL
             WHERE id = $3 AND claim = $4 AND delivered_at IS NULL",
        )
        .bind(now)
        .bind(attempts)
        .bind(id)
        .bind(claim)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn webhook_attempt_failed(
        &self,
        id: &str,
        claim: &str,
        attempts: i64,
        error: &str,
        retry_at: Option<i64>,
        now: &str,
    ) -> sqlx::Result<bool> {
        let res = match retry_at {
            Some(at) => sqlx::query(
                "UPDATE webhook_outbox SET attempts = $1, last_error = $2, next_attempt_at = $3, claim = NULL
                 WHERE id = $4 AND claim = $5 AND delivered_at IS NULL",
            )
            .bind(attempts)
            .bind(error)
            .bind(at)
            .bind(id)
            .bind(claim)
            .execute(&self.pool)
            .await?,
            None => sqlx::query(
                "UPDATE webhook_outbox SET attempts = $1, last_error = $2, failed_at = $3, claim = NULL
                 WHERE id = $4 AND claim = $5 AND delivered_at IS NULL",
            )
            .bind(attempts)
            .bind(error)
            .bind(now)
            .bind(id)
            .bind(claim)
            .execute(&self.pool)
            .await?,
        };
        Ok(res.rows_affected() == 1)
    }

    async fn list_webhooks(
        &self,
        env_id: i64,
        status: Option<WebhookStatus>,
        limit: i64,
        offset: i64,
    ) -> sqlx::Result<Vec<WebhookRow>> {
        let filter = match status {
            None => "",
            Some(WebhookStatus::Pending) => "AND delivered_at IS NULL AND failed_at IS NULL",
            Some(WebhookStatus::Delivered) => "AND delivered_at IS NOT NULL",
            Some(WebhookStatus::Failed) => "AND failed_at IS NOT NULL",
        };
        sqlx::query_as(&format!(
            "SELECT * FROM webhook_outbox WHERE environment_id = $1 {filter}
             ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
        ))
        .bind(env_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.reader)
        .await
    }

    async fn resend_webhook(
        &self,
        env_id: i64,
        id: &str,
        now_unix: i64,
    ) -> sqlx::Result<Option<WebhookRow>> {
        sqlx::query_as(
            "UPDATE webhook_outbox SET failed_at = NULL, attempts = 0, next_attempt_at = $1, claim = NULL
             WHERE environment_id = $2 AND id = $3 AND failed_at IS NOT NULL
             RETURNING *",
        )
        .bind(now_unix)
        .bind(env_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    // ---- several replicas ---------------------------------------------------------------------

    async fn try_lease_refresh(
        &self,
        connection_row_id: i64,
        holder: &str,
        now: i64,
        until: i64,
    ) -> sqlx::Result<bool> {
        // One conditional UPDATE: atomic on both backends, so two replicas cannot both win.
        let res = sqlx::query(
            "UPDATE connections SET refresh_lease_holder = $1, refresh_lease_until = $2
             WHERE id = $3 AND (refresh_lease_until IS NULL OR refresh_lease_until < $4)",
        )
        .bind(holder)
        .bind(until)
        .bind(connection_row_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn release_refresh(&self, connection_row_id: i64, holder: &str) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE connections SET refresh_lease_holder = NULL, refresh_lease_until = NULL
             WHERE id = $1 AND refresh_lease_holder = $2",
        )
        .bind(connection_row_id)
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn save_oauth_result(
        &self,
        ws_client_id: &str,
        frame: &str,
        expires_at: i64,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO oauth_results (ws_client_id, frame, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (ws_client_id) DO UPDATE SET frame = excluded.frame, expires_at = excluded.expires_at",
        )
        .bind(ws_client_id)
        .bind(frame)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM oauth_results WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn take_oauth_result(&self, ws_client_id: &str, now: i64) -> sqlx::Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "DELETE FROM oauth_results WHERE ws_client_id = $1 AND expires_at >= $2 RETURNING frame",
        )
        .bind(ws_client_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(frame,)| frame))
    }

    async fn publish_oauth_result(&self, ws_client_id: &str) -> sqlx::Result<()> {
        self.publish(ws_client_id).await
    }

    async fn listen_oauth_results(
        &self,
    ) -> anyhow::Result<Option<tokio::sync::mpsc::UnboundedReceiver<String>>> {
        self.listen().await
    }

    async fn listen_environment_changes(
        &self,
    ) -> anyhow::Result<Option<tokio::sync::mpsc::UnboundedReceiver<()>>> {
        self.listen_environments().await
    }

    // ---- re-sealing (issue 11) ------------------------------------------------------------------

    async fn meta(&self, name: &str) -> sqlx::Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM latchkey_meta WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|(v,)| v))
    }

    async fn set_meta(&self, name: &str, value: &str) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO latchkey_meta (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn reseal_connection(
        &self,
        id: i64,
        old: &[u8],
        enc: &[u8],
        key_id: &str,
    ) -> sqlx::Result<bool> {
        let res = sqlx::query(
            "UPDATE connections SET credentials_enc = $1, key_id = $2 WHERE id = $3 AND credentials_enc = $4",
        )
        .bind(enc)
        .bind(key_id)
        .bind(id)
        .bind(old)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn reseal_integration_secret(
        &self,
        id: i64,
        enc: &[u8],
        key_id: &str,
    ) -> sqlx::Result<()> {
        sqlx::query("UPDATE integrations SET client_secret_enc = $1, key_id = $2 WHERE id = $3")
            .bind(enc)
            .bind(key_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn reseal_integration_custom(
        &self,
        id: i64,
        enc: &[u8],
        key_id: &str,
    ) -> sqlx::Result<()> {
        sqlx::query("UPDATE integrations SET custom_enc = $1, custom_key_id = $2 WHERE id = $3")
            .bind(enc)
            .bind(key_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- operations (readiness, metrics) ------------------------------------------------------

    async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn webhook_outbox_depth(&self) -> sqlx::Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(n)
    }

    async fn connections_per_integration(&self) -> sqlx::Result<Vec<(String, i64)>> {
        sqlx::query_as(
            "SELECT provider_config_key, COUNT(*) FROM connections GROUP BY provider_config_key ORDER BY provider_config_key",
        )
        .fetch_all(&self.reader)
        .await
    }
        }
    };
}
