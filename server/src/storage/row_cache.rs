//! Connection rows kept in memory between writes, on SQLite. `GET /connection/:id` (and the proxy)
//! read the same rows again and again, and each read, though inline (`sqlite.rs`'s `InlineReader`),
//! begins and ends a WAL read transaction: two `fcntl` locks and a mutex shared by every connection
//! of the file. `perf` under `cargo xtask bench` put that read at a fifth of the request's CPU, half
//! of it in those locks (issue 14).
//!
//! A kept row is served only while it is current:
//! - no commit by this process's writer since it was read. SQLite's WAL hook counts commits
//!   ([`Commits::count`]); it runs once a commit is visible to readers and before the writing call
//!   returns, so whatever follows a write here (the response to a `DELETE`, a refresh's result) never
//!   sees the row from before it. A row is kept with the count taken *before* it was read, so a read
//!   that raced with a commit is never served after that commit.
//! - for at most [`TTL`]: a write by another process (the CLI on the same file) applies here within
//!   it, as it does for environments ([`crate::environment_cache`]).
//!
//! Rows stay sealed, as in the database. Nothing is kept on PostgreSQL (replicas), nor when the file
//! is not in WAL mode (there is no WAL hook then).

use super::rows::ConnectionRow;
use super::sql::ConnectionRead;
use rusqlite::ffi;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

pub use crate::environment_cache::TTL;

/// Most rows kept, and most bytes of their fields. Past either the cache starts over: a bound on
/// memory, not an eviction policy (the rows in use come back on their next read).
const MAX_ROWS: usize = 4096;
const MAX_BYTES: usize = 8 << 20;
/// A larger row (metadata can take 256 KiB, a token response 1 MiB) is read each time.
const MAX_ROW_BYTES: usize = 64 << 10;

/// SQLite's WAL hook: called after each commit, the write lock released. `context` is the store's
/// [`Commits`] counter.
unsafe extern "C" fn on_commit(
    context: *mut c_void,
    _db: *mut ffi::sqlite3,
    _schema: *const c_char,
    _frames: c_int,
) -> c_int {
    // SAFETY: [`Commits::count`] set `context` from a `&'static AtomicU64`.
    let commits = unsafe { &*(context as *const AtomicU64) };
    commits.fetch_add(1, Ordering::AcqRel);
    ffi::SQLITE_OK
}

/// The commits of one store's writer connections. It lives as long as the process: a connection
/// the pool closes late must still find it; one counter per store opened.
#[derive(Debug, Clone, Copy)]
pub struct Commits(&'static AtomicU64);

impl Commits {
    pub fn new() -> Self {
        Self(Box::leak(Box::new(AtomicU64::new(0))))
    }

    /// The count now: take it before reading a row, hand it to [`RowCache::keep`].
    pub fn now(self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Counts the commits of `conn`, a writer connection (run from the pool's `after_connect`, so
    /// that a connection the pool opens again counts too). The hook replaces SQLite's automatic
    /// checkpoints, which the store turns off anyway and runs itself: its `wal_autocheckpoint=0`
    /// pragma runs as the connection opens, before this (setting it later would drop the hook).
    pub async fn count(self, conn: &mut sqlx::SqliteConnection) -> sqlx::Result<()> {
        let mut handle = conn.lock_handle().await?;
        let db = handle.as_raw_handle().as_ptr();
        let context = self.0 as *const AtomicU64 as *mut c_void;
        // SAFETY: `db` is an open connection, and locked: its worker thread runs nothing on it while
        // the hook is set. `context` points to a counter that is never freed.
        unsafe {
            ffi::sqlite3_wal_hook(db, Some(on_commit), context);
        }
        Ok(())
    }
}

/// (statement, environment, integration key, connection id).
pub type Key = (ConnectionRead, i64, String, String);

#[derive(Debug)]
pub struct RowCache {
    commits: Commits,
    rows: RwLock<Rows>,
}

#[derive(Debug, Default)]
struct Rows {
    map: HashMap<Key, Kept>,
    /// [`size`] of the rows in `map`.
    bytes: usize,
}

#[derive(Debug)]
struct Kept {
    row: Arc<ConnectionRow>,
    /// The store's commit count before the row was read.
    commits: u64,
    at: Instant,
}

impl RowCache {
    /// Rows kept while `commits` (the store's writer's) does not move.
    pub fn new(commits: Commits) -> Self {
        Self {
            commits,
            rows: RwLock::default(),
        }
    }

    /// The commit count: take it before reading a row, hand it to [`Self::keep`].
    pub fn commits(&self) -> u64 {
        self.commits.now()
    }

    /// The row under `key` if it is still current.
    pub fn get(&self, key: &Key) -> Option<ConnectionRow> {
        let commits = self.commits();
        let kept = {
            let rows = self.rows.read().expect("row cache lock");
            rows.map
                .get(key)
                .filter(|kept| kept.commits == commits && kept.at.elapsed() < TTL)
                .map(|kept| kept.row.clone())
        };
        kept.map(Arc::unwrap_or_clone)
    }

    /// Keeps `row`, read after [`Self::commits`] returned `commits`, unless a commit came since.
    pub fn keep(&self, key: Key, commits: u64, row: &ConnectionRow) {
        if self.commits() != commits {
            return;
        }
        let bytes = size(row);
        if bytes > MAX_ROW_BYTES {
            return;
        }
        let mut rows = self.rows.write().expect("row cache lock");
        if rows.map.len() >= MAX_ROWS || rows.bytes + bytes > MAX_BYTES {
            *rows = Rows::default();
        }
        let kept = Kept {
            row: Arc::new(row.clone()),
            commits,
            at: Instant::now(),
        };
        if let Some(old) = rows.map.insert(key, kept) {
            rows.bytes -= size(&old.row);
        }
        rows.bytes += bytes;
    }
}

/// The bytes a kept row holds, about: its fields' text and ciphertext, and its key's copy of the
/// integration key and connection id.
fn size(row: &ConnectionRow) -> usize {
    2 * (row.provider_config_key.len() + row.connection_id.len())
        + row.provider.len()
        + row.credentials_enc.len()
        + row.key_id.len()
        + row.connection_config.len()
        + row.metadata.len()
        + row.tags.len()
        + row.end_user.as_ref().map_or(0, String::len)
        + row.created_at.len()
        + row.updated_at.len()
        + row.last_refresh_failure_at.as_ref().map_or(0, String::len)
        + std::mem::size_of::<Kept>()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::dev_store;
    use super::super::{NewConnection, NewIntegration, Store};
    use super::{ConnectionRead, TTL};

    async fn integration(store: &Store, env: i64, key: &str) {
        let integration = NewIntegration {
            environment_id: env,
            unique_key: key.into(),
            provider: "bench-key".into(),
            display_name: None,
            client_id: None,
            client_secret_enc: None,
            key_id: None,
            scopes: None,
            custom_enc: None,
            custom_key_id: None,
            now: "2026-01-01T00:00:00Z".into(),
        };
        assert!(store.save_integration(&integration, false).await.unwrap());
    }

    async fn connect(store: &Store, env: i64, key: &str, id: &str, sealed: &[u8]) {
        let connection = NewConnection {
            environment_id: env,
            provider_config_key: key.into(),
            connection_id: id.into(),
            provider: "bench-key".into(),
            credentials_enc: sealed.to_vec(),
            key_id: "k".into(),
            connection_config: "{}".into(),
            tags: "{}".into(),
            end_user: None,
            now: "2026-01-01T00:00:00Z".into(),
        };
        store
            .upsert_connection(&connection, &[], &[])
            .await
            .unwrap();
    }

    async fn metadata(store: &Store, env: i64, read: ConnectionRead) -> Option<String> {
        let row = match read {
            ConnectionRead::Connection => store.connection(env, "int", "c1").await,
            ConnectionRead::WithIntegration => {
                store.connection_with_integration(env, "int", "c1").await
            }
        };
        row.unwrap().map(|row| row.metadata)
    }

    /// Every write of this process shows in the very next read, whichever statement read the row
    /// before: a kept row never outlives a commit.
    #[tokio::test]
    async fn a_write_here_shows_in_the_next_read() {
        let (_dir, store, env) = dev_store().await;
        integration(&store, env.id, "int").await;
        connect(&store, env.id, "int", "c1", b"sealed-1").await;
        for read in [ConnectionRead::Connection, ConnectionRead::WithIntegration] {
            // Read twice: the second may come from memory.
            metadata(&store, env.id, read).await;
            assert_eq!(metadata(&store, env.id, read).await.as_deref(), Some("{}"));
        }

        let now = "2026-01-02T00:00:00Z";
        for (n, read) in [ConnectionRead::Connection, ConnectionRead::WithIntegration]
            .into_iter()
            .enumerate()
        {
            let md = format!("{{\"n\":{n}}}");
            assert!(store
                .set_connection_metadata(env.id, "int", "c1", &md, now)
                .await
                .unwrap());
            assert_eq!(metadata(&store, env.id, read).await, Some(md));
        }

        connect(&store, env.id, "int", "c1", b"sealed-2").await;
        let row = store
            .connection(env.id, "int", "c1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.credentials_enc, b"sealed-2");

        // The connection read with its integration is gone with the integration.
        assert!(store.delete_integration(env.id, "int").await.unwrap());
        assert_eq!(
            metadata(&store, env.id, ConnectionRead::WithIntegration).await,
            None
        );

        integration(&store, env.id, "int").await;
        connect(&store, env.id, "int", "c1", b"sealed-3").await;
        metadata(&store, env.id, ConnectionRead::Connection).await;
        assert!(store.delete_connection(env.id, "int", "c1").await.unwrap());
        assert_eq!(
            metadata(&store, env.id, ConnectionRead::Connection).await,
            None
        );
    }

    /// A write by another process (the CLI on the same file) has no WAL hook here: it shows once the
    /// kept row is [`TTL`] old, not before. (That it does not show at once is what proves the row
    /// came from memory.)
    #[tokio::test]
    async fn another_process_write_shows_within_the_ttl() {
        let (dir, store, env) = dev_store().await;
        integration(&store, env.id, "int").await;
        connect(&store, env.id, "int", "c1", b"sealed-1").await;
        let read = ConnectionRead::WithIntegration;
        assert_eq!(metadata(&store, env.id, read).await.as_deref(), Some("{}"));

        let other = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
        other
            .execute("UPDATE connections SET metadata = '{\"by\":\"cli\"}'", [])
            .unwrap();
        assert_eq!(
            metadata(&store, env.id, read).await.as_deref(),
            Some("{}"),
            "kept"
        );
        tokio::time::sleep(TTL).await;
        assert_eq!(
            metadata(&store, env.id, read).await.as_deref(),
            Some("{\"by\":\"cli\"}")
        );
    }

    /// A row over [`super::MAX_ROW_BYTES`] (large metadata) is not kept: read each time.
    #[tokio::test]
    async fn a_large_row_is_read_each_time() {
        let (dir, store, env) = dev_store().await;
        integration(&store, env.id, "int").await;
        connect(&store, env.id, "int", "c1", b"sealed-1").await;
        let large = format!("{{\"notes\":\"{}\"}}", "x".repeat(super::MAX_ROW_BYTES));
        let now = "2026-01-02T00:00:00Z";
        assert!(store
            .set_connection_metadata(env.id, "int", "c1", &large, now)
            .await
            .unwrap());
        let read = ConnectionRead::Connection;
        assert_eq!(metadata(&store, env.id, read).await, Some(large));

        let other = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
        other
            .execute("UPDATE connections SET metadata = '{}'", [])
            .unwrap();
        assert_eq!(metadata(&store, env.id, read).await.as_deref(), Some("{}"));
    }
}
