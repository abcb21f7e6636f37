//! SQLite backend: the default. One file under `./data/`, WAL journal, foreign keys on.
//!
//! One writer connection and a few readers: SQLite takes one write lock per file, and writers that
//! contend for it from several connections wait in its busy handler, which sleeps (up to 100 ms a
//! time) instead of queueing; one writer connection makes them queue in the pool instead, in order.
//! Readers never wait for the writer (WAL).
//!
//! `synchronous=NORMAL` (WAL): a commit is in the WAL file, written, before it returns, so whatever
//! the server answered survives the process being killed (`kill -9`, a crash, OOM); the file is
//! fsynced at checkpoints, not at each commit, so an operating-system crash or power loss may undo
//! the last commits before one (never corrupting the database).
//!
//! Checkpoints (copying the WAL into the database file, with its fsyncs) run every second on a
//! connection of their own, not inside whichever commit crosses SQLite's automatic threshold: a
//! checkpoint's fsync held the one writer, and every request queued behind it, for milliseconds.

use super::rows::*;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Read connections: a request makes a read or two, each short; more would only contend for the cores.
const READERS: u32 = 4;
/// How often the WAL is checkpointed (passively: never waiting for readers or the writer).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Stops the checkpoint task when the last handle on the store is dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// The one writer (every statement that writes).
    pool: SqlitePool,
    reader: SqlitePool,
    /// Connect-session inserts, group-committed on the writer.
    sessions: super::group_commit::SessionWriter,
    _checkpoints: std::sync::Arc<AbortOnDrop>,
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
            .synchronous(SqliteSynchronous::Normal)
            .pragma("wal_autocheckpoint", "0")
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        // No ping before each use (sqlx's default): a connection to a local file cannot go stale, and
        // the ping is a round trip to the connection's thread, as costly as the query itself.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(opts.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .connect_with(opts.clone())
            .await?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(opts)
            .await?;
        let checkpoints = tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            loop {
                tick.tick().await;
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&checkpointer)
                    .await
                {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; retrying");
                }
            }
        });
        let sessions = super::group_commit::SessionWriter::spawn({
            let pool = pool.clone();
            move |rows| insert_connect_sessions(pool.clone(), rows)
        });
        Ok(Self {
            pool,
            reader,
            sessions,
            _checkpoints: std::sync::Arc::new(AbortOnDrop(checkpoints)),
        })
    }

    /// One process owns a SQLite file: results reach its sockets directly, nothing to publish.
    async fn publish(&self, _ws_client_id: &str) -> sqlx::Result<()> {
        Ok(())
    }

    async fn listen(&self) -> anyhow::Result<Option<tokio::sync::mpsc::UnboundedReceiver<String>>> {
        Ok(None)
    }

    /// Nothing to hear: another process writing the file (the CLI) is caught by the cache's TTL.
    async fn listen_environments(
        &self,
    ) -> anyhow::Result<Option<tokio::sync::mpsc::UnboundedReceiver<()>>> {
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
impl_dashboard_storage!(SqliteStore);
