//! SQLite backend: the default. One file under `./data/`, WAL journal, foreign keys on.

use super::rows::*;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;
use std::str::FromStr;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating file and directory if needed) the database and runs pending migrations.
    pub async fn connect(database_url: &str) -> anyhow::Result<Self> {
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

    /// One process owns a SQLite file: results reach its sockets directly, nothing to publish.
    async fn publish(&self, _ws_client_id: &str) -> sqlx::Result<()> {
        Ok(())
    }

    async fn listen(&self) -> anyhow::Result<Option<tokio::sync::mpsc::UnboundedReceiver<String>>> {
        Ok(None)
    }
}

impl_storage!(
    SqliteStore,
    backend = "sqlite",
    skip_locked = "",
    begin = "BEGIN IMMEDIATE",
    db = sqlx::Sqlite
);

impl_activity_storage!(SqliteStore, begin = "BEGIN IMMEDIATE", db = sqlx::Sqlite);
