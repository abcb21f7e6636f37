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
        /// A new id (not one derived from a state or an outbox row, which may exist already):
        /// its steps and end can be written with it in one multi-row insert.
        fresh: bool,
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

/// A batch as statements: entries begun in it (with their end when it is in the batch too) and
/// their steps go in multi-row inserts; steps and ends of older entries one by one.
#[doc(hidden)]
pub struct Plan<'a> {
    pub entries: Vec<PlannedEntry<'a>>,
    pub new_steps: Vec<PlannedStep<'a>>,
    pub old_steps: Vec<PlannedStep<'a>>,
    pub old_finishes: Vec<PlannedFinish<'a>>,
}

#[doc(hidden)]
pub struct PlannedEntry<'a> {
    pub id: &'a str,
    pub environment_id: i64,
    pub op_type: &'a str,
    pub integration: Option<&'a str>,
    pub connection_id: Option<&'a str>,
    pub end_user_id: Option<&'a str>,
    pub outcome: &'a str,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

#[doc(hidden)]
pub struct PlannedStep<'a> {
    pub entry_id: &'a str,
    pub at: i64,
    pub level: &'a str,
    pub message: &'a str,
    pub detail: Option<&'a str>,
}

#[doc(hidden)]
pub struct PlannedFinish<'a> {
    pub id: &'a str,
    pub outcome: &'a str,
    pub ended_at: i64,
    pub connection_id: Option<&'a str>,
}

impl<'a> Plan<'a> {
    pub fn of(batch: &'a [ActivityWrite]) -> Self {
        let mut plan = Plan {
            entries: Vec::new(),
            new_steps: Vec::new(),
            old_steps: Vec::new(),
            old_finishes: Vec::new(),
        };
        let mut begun: std::collections::HashMap<&str, usize> = Default::default();
        for w in batch {
            match w {
                ActivityWrite::Begin {
                    id,
                    environment_id,
                    op_type,
                    integration,
                    connection_id,
                    end_user_id,
                    outcome,
                    started_at,
                    fresh,
                } => {
                    if *fresh {
                        begun.insert(id, plan.entries.len());
                    }
                    plan.entries.push(PlannedEntry {
                        id,
                        environment_id: *environment_id,
                        op_type,
                        integration: integration.as_deref(),
                        connection_id: connection_id.as_deref(),
                        end_user_id: end_user_id.as_deref(),
                        outcome,
                        started_at: *started_at,
                        ended_at: None,
                    });
                }
                ActivityWrite::Step {
                    entry_id,
                    at,
                    level,
                    message,
                    detail,
                } => {
                    let step = PlannedStep {
                        entry_id,
                        at: *at,
                        level,
                        message,
                        detail: detail.as_deref(),
                    };
                    // A Begin of an entry that already exists is ignored by the insert, so its
                    // steps are guarded like those of older entries.
                    if begun.contains_key(entry_id.as_str()) {
                        plan.new_steps.push(step);
                    } else {
                        plan.old_steps.push(step);
                    }
                }
                ActivityWrite::Finish {
                    id,
                    outcome,
                    ended_at,
                    connection_id,
                } => match begun.get(id.as_str()) {
                    Some(&i) => {
                        let e = &mut plan.entries[i];
                        e.outcome = outcome;
                        e.ended_at = Some(*ended_at);
                        if connection_id.is_some() {
                            e.connection_id = connection_id.as_deref();
                        }
                    }
                    None => plan.old_finishes.push(PlannedFinish {
                        id,
                        outcome,
                        ended_at: *ended_at,
                        connection_id: connection_id.as_deref(),
                    }),
                },
            }
        }
        plan
    }
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
                let plan = $crate::storage::activity::Plan::of(batch);
                let mut tx = self.pool.begin_with($begin).await?;
                // Entries begun in this batch (finished too, most of them): one statement for all.
                for chunk in plan.entries.chunks(500) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO activity_log (id, environment_id, op_type, integration, connection_id, end_user_id, outcome, started_at, ended_at, duration_ms) ",
                    );
                    q.push_values(chunk, |mut b, e| {
                        b.push_bind(e.id)
                            .push_bind(e.environment_id)
                            .push_bind(e.op_type)
                            .push_bind(e.integration)
                            .push_bind(e.connection_id)
                            .push_bind(e.end_user_id)
                            .push_bind(e.outcome)
                            .push_bind(e.started_at)
                            .push_bind(e.ended_at)
                            .push_bind(e.ended_at.map(|t| t - e.started_at));
                    });
                    q.push(" ON CONFLICT (id) DO NOTHING");
                    q.build().execute(&mut *tx).await?;
                }
                for chunk in plan.new_steps.chunks(1000) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO activity_steps (entry_id, at, level, message, detail) ",
                    );
                    q.push_values(chunk, |mut b, s| {
                        b.push_bind(s.entry_id)
                            .push_bind(s.at)
                            .push_bind(s.level)
                            .push_bind(s.message)
                            .push_bind(s.detail);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                // Steps and ends of entries begun earlier (an OAuth callback, a webhook retry),
                // perhaps by another replica: only if the entry exists.
                for s in &plan.old_steps {
                    sqlx::query(
                        "INSERT INTO activity_steps (entry_id, at, level, message, detail)
                         SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM activity_log WHERE id = $1)",
                    )
                    .bind(s.entry_id)
                    .bind(s.at)
                    .bind(s.level)
                    .bind(s.message)
                    .bind(s.detail)
                    .execute(&mut *tx)
                    .await?;
                }
                for f in &plan.old_finishes {
                    sqlx::query(
                        "UPDATE activity_log SET outcome = $1, ended_at = $2, duration_ms = $2 - started_at,
                           connection_id = COALESCE($3, connection_id) WHERE id = $4",
                    )
                    .bind(f.outcome)
                    .bind(f.ended_at)
                    .bind(f.connection_id)
                    .bind(f.id)
                    .execute(&mut *tx)
                    .await?;
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
