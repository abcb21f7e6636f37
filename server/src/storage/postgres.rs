//! PostgreSQL backend: for several server replicas sharing one database (`DATABASE_URL=postgres://…`).

use super::rows::*;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::PgPool;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    /// The same pool: PostgreSQL's writers do not contend like SQLite's.
    reader: PgPool,
    /// Connect-session inserts, group-committed.
    sessions: super::group_commit::SessionWriter,
}

impl PostgresStore {
    /// Connects, creating the database if it does not exist yet (as SQLite creates its file), and runs
    /// pending migrations (sqlx takes an advisory lock, so replicas starting together migrate once).
    pub async fn connect(database_url: &str) -> anyhow::Result<Self> {
        if !sqlx::Postgres::database_exists(database_url).await? {
            // Two replicas may race to create it; losing that race is fine.
            if let Err(e) = sqlx::Postgres::create_database(database_url).await {
                if !sqlx::Postgres::database_exists(database_url).await? {
                    return Err(e.into());
                }
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(database_url)
            .await?;
        MIGRATOR.run(&pool).await?;
        let sessions = super::group_commit::SessionWriter::spawn({
            let pool = pool.clone();
            move |rows| insert_connect_sessions(pool.clone(), rows)
        });
        Ok(Self {
            reader: pool.clone(),
            pool,
            sessions,
        })
    }

    async fn publish(&self, ws_client_id: &str) -> sqlx::Result<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(OAUTH_RESULTS_CHANNEL)
            .bind(ws_client_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A dedicated connection `LISTEN`s and forwards each payload; `PgListener` reconnects by itself
    /// (notifications sent while it is down are lost, which is why results are also kept in a table
    /// and checked when a socket (re)connects).
    async fn listen(&self) -> anyhow::Result<Option<tokio::sync::mpsc::UnboundedReceiver<String>>> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(OAUTH_RESULTS_CHANNEL).await?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(n) => {
                        if tx.send(n.payload().to_string()).is_err() {
                            return; // the server is shutting down
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN connection lost; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Some(rx))
    }
}

/// The `NOTIFY` channel on which a trigger announces environment changes (migration 0048).
const ENVIRONMENTS_CHANNEL: &str = "latchkey_environments";

impl PostgresStore {
    /// One message per environment change anywhere (and one whenever the listening connection was
    /// lost, when changes may have been missed).
    async fn listen_environments(
        &self,
    ) -> anyhow::Result<Option<tokio::sync::mpsc::UnboundedReceiver<()>>> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(ENVIRONMENTS_CHANNEL).await?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let lost = listener.recv().await.is_err();
                if tx.send(()).is_err() {
                    return; // the server is shutting down
                }
                if lost {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        });
        Ok(Some(rx))
    }
}

impl PostgresStore {
    /// A connection read on the reader pool.
    async fn read_connection(
        &self,
        read: super::sql::ConnectionRead,
        env_id: i64,
        pck: &str,
        connection_id: &str,
    ) -> sqlx::Result<Option<ConnectionRow>> {
        read_connection_sqlx(&self.reader, read, env_id, pck, connection_id).await
    }
}

/// The `NOTIFY` channel on which replicas announce OAuth results.
const OAUTH_RESULTS_CHANNEL: &str = "latchkey_oauth_results";

impl_storage!(
    PostgresStore,
    backend = "postgres",
    skip_locked = "FOR UPDATE SKIP LOCKED",
    begin = "BEGIN",
    db = sqlx::Postgres
);

impl_activity_storage!(PostgresStore, begin = "BEGIN", db = sqlx::Postgres);
impl_dashboard_storage!(PostgresStore);
