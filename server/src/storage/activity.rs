//! The activity log's SQL (issue 17): operations and their steps, written in batches by the
//! background writer of [`crate::activity`] and read by `GET /logs` and `latchkey logs`.
//!
//! A trait of its own (a supertrait of [`super::Storage`]) so that the log's statements stay in one
//! place; [`impl_activity_storage!`] instantiates them for each backend from the same portable SQL.
//! Nothing stored here is a secret: callers hand over messages and small details already redacted.

/// One operation as stored. Times are unix milliseconds.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityRow {
    /// Insertion order across all replicas: the pagination and live-tail cursor.
    pub seq: i64,
    pub id: String,
    pub environment_id: i64,
    pub op_type: String,
    pub integration: Option<String>,
    pub connection_id: Option<String>,
    pub end_user_id: Option<String>,
    /// `pending`, `success` or `failure`.
    pub outcome: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub duration_ms: Option<i64>,
}

/// One step of an operation's timeline.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityStepRow {
    pub seq: i64,
    pub entry_id: String,
    pub at: i64,
    pub level: String,
    pub message: String,
    /// A small JSON object.
    pub detail: Option<String>,
}

/// What the writer applies, in order, in one transaction per batch.
#[derive(Debug, Clone)]
pub enum ActivityWrite {
    /// Creates the entry unless it exists (an OAuth callback re-states what its start wrote, in case
    /// that write was dropped).
    Begin {
        id: String,
        environment_id: i64,
        op_type: String,
        integration: Option<String>,
        connection_id: Option<String>,
        end_user_id: Option<String>,
        outcome: String,
        started_at: i64,
    },
    /// Appends a step to an existing entry (steps of an unknown entry are dropped).
    Step {
        entry_id: String,
        at: i64,
        level: String,
        message: String,
        detail: Option<String>,
    },
    /// Sets the outcome and the end (the duration counts from the entry's start), and the
    /// connection when it became known only now (a new connection's id is drawn when it is saved).
    Finish {
        id: String,
        outcome: String,
        ended_at: i64,
        connection_id: Option<String>,
    },
}

/// `GET /logs` filters; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub op_type: Option<String>,
    pub outcome: Option<String>,
    pub integration: Option<String>,
    pub connection_id: Option<String>,
    pub end_user_id: Option<String>,
    /// `started_at >= from` (unix ms).
    pub from: Option<i64>,
    /// `started_at < to` (unix ms).
    pub to: Option<i64>,
    /// `seq < before` (the next page, newest first).
    pub before_seq: Option<i64>,
    /// `seq > after` (the live tail, oldest first).
    pub after_seq: Option<i64>,
}

#[async_trait::async_trait]
pub trait ActivityStorage: Send + Sync {
    /// Applies a batch in one transaction (one commit for many operations).
    async fn write_activity(&self, batch: &[ActivityWrite]) -> sqlx::Result<()>;

    /// Entries of an environment matching `f`: newest first, or oldest first with `ascending`.
    async fn list_activity(
        &self,
        env_id: i64,
        f: &ActivityFilter,
        ascending: bool,
        limit: i64,
    ) -> sqlx::Result<Vec<ActivityRow>>;

    async fn activity_entry(&self, env_id: i64, id: &str) -> sqlx::Result<Option<ActivityRow>>;

    /// An entry's steps in the order they were recorded.
    async fn activity_steps(&self, entry_id: &str) -> sqlx::Result<Vec<ActivityStepRow>>;

    /// Deletes entries started, and steps recorded, before `before_ms`; returns the entries deleted.
    async fn purge_activity(&self, before_ms: i64) -> sqlx::Result<u64>;
}

/// Implements [`ActivityStorage`] for a store with a `pool: sqlx::Pool<$db>` field; `$begin` as in
/// `impl_storage!`.
macro_rules! impl_activity_storage {
    ($store:ty, begin = $begin:literal, db = $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::activity::ActivityStorage for $store {
            async fn write_activity(
                &self,
                batch: &[$crate::storage::activity::ActivityWrite],
            ) -> sqlx::Result<()> {
                use $crate::storage::activity::ActivityWrite as W;
                let mut tx = self.pool.begin_with($begin).await?;
                for w in batch {
                    match w {
                        W::Begin {
                            id,
                            environment_id,
                            op_type,
                            integration,
                            connection_id,
                            end_user_id,
                            outcome,
                            started_at,
                        } => {
                            sqlx::query(
                                "INSERT INTO activity_log (id, environment_id, op_type, integration, connection_id, end_user_id, outcome, started_at)
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
                            )
                            .bind(id)
                            .bind(environment_id)
                            .bind(op_type)
                            .bind(integration)
                            .bind(connection_id)
                            .bind(end_user_id)
                            .bind(outcome)
                            .bind(started_at)
                            .execute(&mut *tx)
                            .await?;
                        }
                        W::Step {
                            entry_id,
                            at,
                            level,
                            message,
                            detail,
                        } => {
                            sqlx::query(
                                "INSERT INTO activity_steps (entry_id, at, level, message, detail)
                                 SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM activity_log WHERE id = $1)",
                            )
                            .bind(entry_id)
                            .bind(at)
                            .bind(level)
                            .bind(message)
                            .bind(detail)
                            .execute(&mut *tx)
                            .await?;
                        }
                        W::Finish {
                            id,
                            outcome,
                            ended_at,
                            connection_id,
                        } => {
                            sqlx::query(
                                "UPDATE activity_log SET outcome = $1, ended_at = $2, duration_ms = $2 - started_at,
                                   connection_id = COALESCE($3, connection_id) WHERE id = $4",
                            )
                            .bind(outcome)
                            .bind(ended_at)
                            .bind(connection_id)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                }
                tx.commit().await
            }

            async fn list_activity(
                &self,
                env_id: i64,
                f: &$crate::storage::activity::ActivityFilter,
                ascending: bool,
                limit: i64,
            ) -> sqlx::Result<Vec<$crate::storage::activity::ActivityRow>> {
                let order = if ascending { "ASC" } else { "DESC" };
                let sql = format!(
                    "SELECT * FROM activity_log WHERE environment_id = $1
                       AND ($2 IS NULL OR op_type = $2) AND ($3 IS NULL OR outcome = $3)
                       AND ($4 IS NULL OR integration = $4) AND ($5 IS NULL OR connection_id = $5)
                       AND ($6 IS NULL OR end_user_id = $6) AND ($7 IS NULL OR started_at >= $7)
                       AND ($8 IS NULL OR started_at < $8) AND ($9 IS NULL OR seq < $9)
                       AND ($10 IS NULL OR seq > $10)
                     ORDER BY seq {order} LIMIT $11"
                );
                sqlx::query_as(&sql)
                    .bind(env_id)
                    .bind(&f.op_type)
                    .bind(&f.outcome)
                    .bind(&f.integration)
                    .bind(&f.connection_id)
                    .bind(&f.end_user_id)
                    .bind(f.from)
                    .bind(f.to)
                    .bind(f.before_seq)
                    .bind(f.after_seq)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }

            async fn activity_entry(
                &self,
                env_id: i64,
                id: &str,
            ) -> sqlx::Result<Option<$crate::storage::activity::ActivityRow>> {
                sqlx::query_as("SELECT * FROM activity_log WHERE environment_id = $1 AND id = $2")
                    .bind(env_id)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
            }

            async fn activity_steps(
                &self,
                entry_id: &str,
            ) -> sqlx::Result<Vec<$crate::storage::activity::ActivityStepRow>> {
                sqlx::query_as("SELECT * FROM activity_steps WHERE entry_id = $1 ORDER BY seq")
                    .bind(entry_id)
                    .fetch_all(&self.pool)
                    .await
            }

            async fn purge_activity(&self, before_ms: i64) -> sqlx::Result<u64> {
                let mut tx = self.pool.begin_with($begin).await?;
                let res = sqlx::query("DELETE FROM activity_log WHERE started_at < $1")
                    .bind(before_ms)
                    .execute(&mut *tx)
                    .await?;
                // Steps of deleted entries (an entry's steps are never older than the entry).
                sqlx::query("DELETE FROM activity_steps WHERE at < $1")
                    .bind(before_ms)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(res.rows_affected())
            }
        }
    };
}
