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
//! A passive checkpoint never waits, and so, under sustained writes, never lets the WAL start over:
//! it grew by 1.3 GB in 12 s of `POST /connect/sessions` at full speed (and every frame past the
//! file's end cost ext4 a block allocation). When the WAL holds more than [`RESTART_AFTER_FRAMES`],
//! the writer connection itself runs a `RESTART` checkpoint, queued in order with the other writes:
//! it copies the little the passive one left, waits for readers of the old frames (microseconds),
//! and the next commit writes the WAL from its start again. The file stays bounded by about one
//! second of writes.

use super::row_cache::{Commits, RowCache};
use super::rows::*;
use super::sql::ConnectionRead;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Read connections: a request makes a read or two, each short; more would only contend for the cores.
const READERS: u32 = 4;
/// How often the WAL is checkpointed (passively: never waiting for readers or the writer).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// WAL frames (a page and 24 bytes each) above which the writer restarts the WAL (16 MiB of 4 KiB
/// pages): far above what a second of ordinary traffic writes.
const RESTART_AFTER_FRAMES: i64 = 4096;

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
    /// The connection reads ([`InlineReader`]); `None` for an in-memory database, which only sqlx's
    /// connections share (and for a URL that names no file as `sqlite://<path>`).
    inline: Option<std::sync::Arc<InlineReader>>,
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
        let commits = Commits::new();
        // No ping before each use (sqlx's default): a connection to a local file cannot go stale, and
        // the ping is a round trip to the connection's thread, as costly as the query itself.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .after_connect(move |conn, _| Box::pin(commits.count(conn)))
            .connect_with(opts.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        // Kept rows are forgotten on commits the WAL hook reports: none without WAL (a file system
        // that refused it), so nothing is kept then.
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&pool)
            .await?;
        let wal = journal.eq_ignore_ascii_case("wal");
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
        let checkpoints = tokio::spawn(checkpoint_loop(checkpointer, pool.clone()));
        let sessions = super::group_commit::SessionWriter::spawn({
            let pool = pool.clone();
            move |rows| insert_connect_sessions(pool.clone(), rows)
        });
        let file = sqlite_file(database_url).filter(|path| {
            let in_memory = path.as_os_str().is_empty()
                || path.to_string_lossy().contains(":memory:")
                || database_url.contains("mode=memory");
            !in_memory
        });
        Ok(Self {
            pool,
            reader,
            inline: file.map(|path| {
                std::sync::Arc::new(InlineReader::new(
                    path.into(),
                    wal.then(|| RowCache::new(commits)),
                ))
            }),
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

/// Checkpoints every [`CHECKPOINT_EVERY`], passively on `checkpointer`, and restarts the WAL through
/// `writer` when it has grown past [`RESTART_AFTER_FRAMES`] (see the module doc).
async fn checkpoint_loop(checkpointer: SqlitePool, writer: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    loop {
        tick.tick().await;
        let frames = match passive_checkpoint(&checkpointer).await {
            Ok(frames) => frames,
            Err(e) => {
                tracing::warn!(error = %e, "SQLite checkpoint failed; retrying");
                continue;
            }
        };
        if frames <= RESTART_AFTER_FRAMES {
            continue;
        }
        // The first pass copied a whole second of writes (tens of milliseconds under load) while the
        // writer kept writing; a second pass copies what came meanwhile, so that the restart, which
        // holds the writer, has little left (measured: its hold fell from ~18 to ~12 ms, mostly the
        // two fsyncs, and the POST p99 from 11.5 to 8.5 ms).
        let restarted = match passive_checkpoint(&checkpointer).await {
            Ok(_) => {
                sqlx::query("PRAGMA wal_checkpoint(RESTART)")
                    .execute(&writer)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = restarted {
            tracing::warn!(error = %e, "SQLite WAL restart failed; retrying");
        }
    }
}

/// A passive checkpoint; returns how many frames the WAL holds.
async fn passive_checkpoint(pool: &SqlitePool) -> sqlx::Result<i64> {
    // (busy, frames in the WAL, frames copied into the database)
    let (_, frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?;
    Ok(frames)
}

impl SqliteStore {
    /// A connection read: kept, or inline ([`InlineReader`]).
    async fn read_connection(
        &self,
        read: ConnectionRead,
        env_id: i64,
        pck: &str,
        connection_id: &str,
    ) -> sqlx::Result<Option<ConnectionRow>> {
        let Some(inline) = &self.inline else {
            return read_connection_sqlx(&self.reader, read, env_id, pck, connection_id).await;
        };
        let Some(cache) = &inline.cache else {
            return inline.connection(read, env_id, pck, connection_id);
        };
        let key = (read, env_id, pck.to_owned(), connection_id.to_owned());
        if let Some(row) = cache.get(&key) {
            return Ok(Some(row));
        }
        let commits = cache.commits();
        let row = inline.connection(read, env_id, pck, connection_id)?;
        if let Some(row) = &row {
            cache.keep(key, commits, row);
        }
        Ok(row)
    }
}

/// A row of [`sql::CONNECTION`](super::sql::CONNECTION) (or its variant) as [`ConnectionRow`], by
/// column position: the statements name the columns in the struct's field order.
fn connection_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConnectionRow> {
    Ok(ConnectionRow {
        id: r.get(0)?,
        environment_id: r.get(1)?,
        provider_config_key: r.get(2)?,
        connection_id: r.get(3)?,
        provider: r.get(4)?,
        credentials_enc: r.get(5)?,
        key_id: r.get(6)?,
        connection_config: r.get(7)?,
        metadata: r.get(8)?,
        tags: r.get(9)?,
        end_user: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        refresh_failures: r.get(13)?,
        last_refresh_failure_at: r.get(14)?,
        refresh_failure_days: r.get(15)?,
    })
}

/// The hottest reads (a connection, for `GET /connection/:id` and the proxy), run on the calling
/// thread with rusqlite instead of through sqlx. sqlx runs each
/// SQLite connection on a thread of its own and hands every query to it and the rows back: two thread
/// wake-ups per query, which `perf` showed as about half the CPU of `GET /connection/:id` on two
/// cores (`cargo xtask bench`). A WAL-mode read of a cached page takes microseconds, less than those
/// wake-ups, and never waits for the writer, so it runs inline. Connections are opened on demand and
/// kept (at most [`READERS`] idle); each is `query_only`. The rows read are kept between writes
/// ([`RowCache`]) when the file is in WAL mode.
#[derive(Debug)]
struct InlineReader {
    path: std::path::PathBuf,
    idle: std::sync::Mutex<Vec<rusqlite::Connection>>,
    cache: Option<RowCache>,
}

impl InlineReader {
    fn new(path: std::path::PathBuf, cache: Option<RowCache>) -> Self {
        Self {
            path,
            idle: std::sync::Mutex::new(Vec::new()),
            cache,
        }
    }

    /// One connection row, read now.
    fn connection(
        &self,
        read: ConnectionRead,
        env_id: i64,
        pck: &str,
        connection_id: &str,
    ) -> sqlx::Result<Option<ConnectionRow>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(read.sql())?;
            let mut rows = statement.query(rusqlite::params![env_id, pck, connection_id])?;
            rows.next()?.map(connection_row).transpose()
        })
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> sqlx::Result<T> {
        let pooled = self.idle.lock().expect("reader pool lock").pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => self.open().map_err(inline_error)?,
        };
        let result = f(&conn).map_err(inline_error);
        let mut idle = self.idle.lock().expect("reader pool lock");
        if idle.len() < READERS as usize {
            idle.push(conn);
        }
        result
    }
}

fn inline_error(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(e))
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

/// The file a `sqlite://` database URL names (its query left out).
pub fn sqlite_file(database_url: &str) -> Option<&std::path::Path> {
    database_url
        .strip_prefix("sqlite://")
        .map(|p| std::path::Path::new(p.split('?').next().unwrap_or(p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    /// The inline reader takes a connection row's fields by position: both statements must name
    /// the columns in [`ConnectionRow`]'s field order, against the migrated schema.
    #[tokio::test]
    async fn connection_reads_name_the_rows_fields_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("columns.db");
        let _store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        let fields = [
            "id",
            "environment_id",
            "provider_config_key",
            "connection_id",
            "provider",
            "credentials_enc",
            "key_id",
            "connection_config",
            "metadata",
            "tags",
            "end_user",
            "created_at",
            "updated_at",
            "refresh_failures",
            "last_refresh_failure_at",
            "refresh_failure_days",
        ];
        for sql in [
            super::super::sql::CONNECTION,
            super::super::sql::CONNECTION_WITH_INTEGRATION,
        ] {
            let statement = conn.prepare(sql).unwrap();
            assert_eq!(statement.column_names(), fields, "{sql}");
        }
    }

    /// The WAL header's checkpoint sequence number, which SQLite increments each time the WAL
    /// starts over (<https://www.sqlite.org/fileformat.html#wal_file_format>, bytes 12..16).
    fn wal_restarts(wal: &std::path::Path) -> u32 {
        let header = std::fs::read(wal).unwrap();
        u32::from_be_bytes(header[12..16].try_into().unwrap())
    }

    /// Under writes that never pause, a passive checkpoint alone never lets the WAL start over: the
    /// file grows by every frame ever written (1.3 GB in 12 s of the bench). With the restart, it
    /// starts over about once a second once past [`RESTART_AFTER_FRAMES`].
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sustained_writes_keep_the_wal_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let wal = dir.path().join("wal.db-wal");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let commits = Arc::new(AtomicU64::new(0));
        let writer = {
            let (pool, stop, commits) = (store.pool.clone(), stop.clone(), commits.clone());
            tokio::spawn(async move {
                let page = "x".repeat(3000);
                while !stop.load(Ordering::Relaxed) {
                    sqlx::query(
                        "INSERT INTO activity_steps (entry_id, at, level, message) VALUES ('e', 0, 'info', $1)",
                    )
                    .bind(&page)
                    .execute(&pool)
                    .await
                    .unwrap();
                    commits.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let before = wal_restarts(&wal);
        let started = tokio::time::Instant::now();
        // Until the writer has written a few thresholds' worth, at least 4 s (4 checkpoint ticks).
        while started.elapsed() < std::time::Duration::from_secs(60)
            && (commits.load(Ordering::Relaxed) < 3 * RESTART_AFTER_FRAMES as u64
                || started.elapsed() < std::time::Duration::from_secs(4))
        {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let after = wal_restarts(&wal);
        stop.store(true, Ordering::Relaxed);
        writer.await.unwrap();
        let commits = commits.load(Ordering::Relaxed);
        assert!(
            commits >= 3 * RESTART_AFTER_FRAMES as u64,
            "the test wrote enough to need restarts ({commits} commits)"
        );
        assert!(
            after >= before + 2,
            "the WAL started over while the writer never paused ({before} → {after}, {commits} commits)"
        );
    }
}
