//! The dashboard's SQL (issue 17): administrator accounts, their sessions and the overview's daily
//! counts. A trait of its own (a supertrait of [`super::Storage`]), instantiated for each backend by
//! [`impl_dashboard_storage!`] from the same portable SQL, like the activity log's.

/// An administrator as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminRow {
    pub id: i64,
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub session_generation: i64,
    pub failed_attempts: i64,
    /// Unix ms until which sign-in is refused.
    pub locked_until: Option<i64>,
}

/// A live session and the administrator it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub admin_id: i64,
    pub email: String,
    /// The session's generation and the administrator's current one (signed out when they differ).
    pub generation: i64,
    pub session_generation: i64,
    pub csrf_token: String,
    pub expires_at: i64,
}

/// Operations of one type and outcome started on one day (days since the Unix epoch, UTC).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DailyCount {
    pub day: i64,
    pub op_type: String,
    pub outcome: String,
    pub count: i64,
}

#[async_trait::async_trait]
pub trait DashboardStorage: Send + Sync {
    /// Creates the administrator, or sets a new password on an existing one (which also lifts a
    /// lockout and signs out all its sessions).
    async fn upsert_admin(&self, email: &str, password_hash: &str, now: &str) -> sqlx::Result<()>;

    async fn admin_by_email(&self, email: &str) -> sqlx::Result<Option<AdminRow>>;

    /// How many administrators exist (`latchkey doctor` says when nobody can sign in).
    async fn admin_count(&self) -> sqlx::Result<i64>;

    /// Counts a failed sign-in; at `max` failures in a row the account is locked until `until_ms`.
    async fn admin_failed(&self, id: i64, max: i64, until_ms: i64) -> sqlx::Result<()>;

    /// A successful sign-in: the failure count starts again.
    async fn admin_succeeded(&self, id: i64) -> sqlx::Result<()>;

    async fn insert_dashboard_session(
        &self,
        token_hash: &str,
        admin_id: i64,
        generation: i64,
        csrf_token: &str,
        expires_at: i64,
    ) -> sqlx::Result<()>;

    async fn dashboard_session(&self, token_hash: &str) -> sqlx::Result<Option<SessionRow>>;

    async fn delete_dashboard_session(&self, token_hash: &str) -> sqlx::Result<()>;

    /// "Sign out everywhere": a new generation, and the administrator's sessions deleted.
    async fn end_admin_sessions(&self, admin_id: i64) -> sqlx::Result<()>;

    /// Operations per day, type and outcome since `from_ms`.
    async fn daily_activity(&self, env_id: i64, from_ms: i64) -> sqlx::Result<Vec<DailyCount>>;
}

macro_rules! impl_dashboard_storage {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::dashboard::DashboardStorage for $store {
            async fn upsert_admin(
                &self,
                email: &str,
                password_hash: &str,
                now: &str,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO dashboard_admins (email, password_hash, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, \
                     failed_attempts = 0, locked_until = NULL, \
                     session_generation = dashboard_admins.session_generation + 1",
                )
                .bind(email)
                .bind(password_hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn admin_by_email(
                &self,
                email: &str,
            ) -> sqlx::Result<Option<$crate::storage::dashboard::AdminRow>> {
                sqlx::query_as(
                    "SELECT id, email, password_hash, session_generation, failed_attempts, locked_until \
                     FROM dashboard_admins WHERE email = $1",
                )
                .bind(email)
                .fetch_optional(&self.pool)
                .await
            }

            async fn admin_count(&self) -> sqlx::Result<i64> {
                sqlx::query_scalar("SELECT COUNT(*) FROM dashboard_admins")
                    .fetch_one(&self.pool)
                    .await
            }

            async fn admin_failed(&self, id: i64, max: i64, until_ms: i64) -> sqlx::Result<()> {
                sqlx::query(
                    "UPDATE dashboard_admins SET failed_attempts = failed_attempts + 1, \
                     locked_until = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_until END \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(max)
                .bind(until_ms)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn admin_succeeded(&self, id: i64) -> sqlx::Result<()> {
                sqlx::query(
                    "UPDATE dashboard_admins SET failed_attempts = 0, locked_until = NULL WHERE id = $1",
                )
                .bind(id)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn insert_dashboard_session(
                &self,
                token_hash: &str,
                admin_id: i64,
                generation: i64,
                csrf_token: &str,
                expires_at: i64,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO dashboard_sessions (token_hash, admin_id, generation, csrf_token, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(token_hash)
                .bind(admin_id)
                .bind(generation)
                .bind(csrf_token)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn dashboard_session(
                &self,
                token_hash: &str,
            ) -> sqlx::Result<Option<$crate::storage::dashboard::SessionRow>> {
                sqlx::query_as(
                    "SELECT s.admin_id, a.email, s.generation, a.session_generation, s.csrf_token, s.expires_at \
                     FROM dashboard_sessions s JOIN dashboard_admins a ON a.id = s.admin_id \
                     WHERE s.token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await
            }

            async fn delete_dashboard_session(&self, token_hash: &str) -> sqlx::Result<()> {
                sqlx::query("DELETE FROM dashboard_sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn end_admin_sessions(&self, admin_id: i64) -> sqlx::Result<()> {
                sqlx::query(
                    "UPDATE dashboard_admins SET session_generation = session_generation + 1 WHERE id = $1",
                )
                .bind(admin_id)
                .execute(&self.pool)
                .await?;
                sqlx::query("DELETE FROM dashboard_sessions WHERE admin_id = $1")
                    .bind(admin_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn daily_activity(
                &self,
                env_id: i64,
                from_ms: i64,
            ) -> sqlx::Result<Vec<$crate::storage::dashboard::DailyCount>> {
                sqlx::query_as(
                    "SELECT started_at / 86400000 AS day, op_type, outcome, COUNT(*) AS count \
                     FROM activity_log WHERE environment_id = $1 AND started_at >= $2 \
                     GROUP BY started_at / 86400000, op_type, outcome",
                )
                .bind(env_id)
                .bind(from_ms)
                .fetch_all(&self.pool)
                .await
            }
        }
    };
}
