//! The activity log (issue 17): every operation — connect session, OAuth attempt, credential
//! submission, refresh, client-credentials renewal, webhook delivery, proxy call, settings or key
//! change — recorded with a timeline of steps, so an operator can see which step of an attempt failed
//! and what the provider answered.
//!
//! Recording never slows or fails a flow: [`Recorder`] only appends to a bounded in-memory buffer; a
//! background writer takes the whole buffer once per [`BATCH_WINDOW`] and commits it in batches, one
//! transaction each. The writer is woken once per window (when the buffer stops being empty), not
//! once per write: waking it for each of a proxied call's writes cost about half of the latency the
//! proxy adds. When the buffer is full the write is dropped and counted
//! (`latchkey_activity_log_dropped` in `/metrics`). Entries are deleted after the retention period by
//! a background sweep ([`spawn_sweeper`]).
//!
//! Never a secret: steps carry fixed messages and small details chosen by [`hooks`] (status codes,
//! the provider's `error`/`error_description`, hosts and paths) — no tokens, keys, codes, verifiers,
//! passwords, and URLs only through [`safe_url`] (no credentials, query or fragment).

pub mod hooks;
mod settings;

pub use settings::Settings;

use crate::storage::activity::ActivityWrite;
use crate::storage::Store;
use crate::time::Clock;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, Notify};

/// How many writes may wait for the writer before new ones are dropped (a few MB).
const CAPACITY: usize = 32_768;
/// When this many writes wait, the writer commits without waiting for the window's end: under a
/// heavy load (the proxy at tens of thousands of calls per second) a window's worth would
/// otherwise come close to [`CAPACITY`].
const COMMIT_SOONER: usize = CAPACITY / 4;
/// The most writes committed in one transaction. Each transaction holds SQLite's one writer, which
/// connect-session inserts queue behind, so a batch may not be long; but each commit also rewrites
/// the last page of every table and index it touched into the WAL, so a batch may not be short
/// either. Measured in one `bench-server` run (servers side by side, alternating rounds, 32
/// connections creating sessions, each logged): 256 writes → 25.8k requests/s, p99 6.3 ms; 1024 →
/// 28.6k, 7.9 ms; 2048 → 29.0k, 8.2 ms; the activity log off: 35.3k.
const MAX_BATCH: usize = 1024;
/// How long the writer gathers writes before committing them together.
const BATCH_WINDOW: Duration = Duration::from_millis(250);
/// Longest step message kept (provider answers can be long).
const MAX_MESSAGE: usize = 500;

/// Step severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// What waits for the writer.
#[derive(Default)]
struct Pending {
    writes: Vec<ActivityWrite>,
    /// Answered once every write before them is committed (the CLI, before it exits).
    flushes: Vec<oneshot::Sender<()>>,
}

/// The buffer shared by the recorders and the writer.
#[derive(Default)]
struct Queue {
    pending: Mutex<Pending>,
    /// Something arrived in an empty buffer: a window starts.
    arrived: Notify,
    /// Commit now, without waiting for the window's end (a flush, or a full batch).
    now: Notify,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves the buffer consistent (pushes and takes only).
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What every clone of an enabled [`Recorder`] shares.
struct Shared {
    queue: Arc<Queue>,
    /// Dropped with the last recorder: the writer commits what is left and ends (closing its hold
    /// on the database, as the server's other tasks do when it shuts down).
    _alive: oneshot::Sender<()>,
}

/// The handle flows record through; cheap to clone. A disabled recorder records nothing.
#[derive(Clone)]
pub struct Recorder {
    shared: Option<Arc<Shared>>,
    /// Stamps every entry and step (the server's clock, so the retention sweep agrees with it).
    pub(crate) clock: Clock,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("enabled", &self.enabled())
            .finish()
    }
}

impl Recorder {
    /// Starts the background writer on `store` (nothing when `settings.enabled` is off).
    pub fn start(store: Store, settings: &Settings, clock: &Clock) -> Self {
        let clock = clock.clone();
        if !settings.enabled {
            return Self {
                shared: None,
                clock,
            };
        }
        let queue = Arc::new(Queue::default());
        let (alive, gone) = oneshot::channel();
        tokio::spawn(write_loop(store, queue.clone(), gone));
        Self {
            shared: Some(Arc::new(Shared {
                queue,
                _alive: alive,
            })),
            clock,
        }
    }

    pub fn enabled(&self) -> bool {
        self.shared.is_some()
    }

    fn send(&self, w: ActivityWrite) {
        self.send_all([w])
    }

    /// Queues `writes` together (one lock), or drops and counts them all when the buffer is full.
    fn send_all<const N: usize>(&self, writes: [ActivityWrite; N]) {
        let Some(shared) = &self.shared else { return };
        let queue = &shared.queue;
        let mut pending = queue.lock();
        let n = pending.writes.len();
        if n + N > CAPACITY {
            drop(pending);
            crate::metrics::activity_dropped(N as u64);
            return;
        }
        pending.writes.extend(writes);
        drop(pending);
        if n == 0 {
            queue.arrived.notify_one();
        } else if n < COMMIT_SOONER && n + N >= COMMIT_SOONER {
            queue.now.notify_one();
        }
    }

    /// Records an operation that is already over, with its one step: for what happens often and
    /// is known only at its end (a proxied call), one queueing instead of a handle's three.
    pub fn completed(&self, done: Completed) {
        if !self.enabled() {
            return;
        }
        let id = new_id();
        let ended_at = self.clock.now_unix_ms();
        self.send_all([
            ActivityWrite::Begin {
                id: id.clone(),
                environment_id: done.env_id,
                op_type: done.op_type.into(),
                integration: done.subject.integration,
                connection_id: done.subject.connection_id,
                end_user_id: done.subject.end_user_id,
                outcome: Outcome::Pending.as_str().into(),
                started_at: ended_at - done.duration_ms as i64,
                fresh: true,
            },
            ActivityWrite::Step {
                entry_id: id.clone(),
                at: ended_at,
                level: done.level.as_str().into(),
                message: clip(done.message),
                detail: done.detail,
            },
            ActivityWrite::Finish {
                id,
                outcome: done.outcome.as_str().into(),
                ended_at,
                connection_id: None,
            },
        ]);
    }

    /// Opens a new operation (outcome pending) and returns its handle.
    pub fn begin(&self, env_id: i64, op_type: &'static str, subject: Subject) -> Op {
        self.begin_at(
            new_id(),
            env_id,
            op_type,
            subject,
            self.clock.now_unix_ms(),
            true,
        )
    }

    /// Opens (or, when it exists, continues) the operation `id`: the second half of an OAuth attempt,
    /// whose id both halves derive from its `state`.
    pub fn begin_with_id(
        &self,
        id: String,
        env_id: i64,
        op_type: &'static str,
        subject: Subject,
    ) -> Op {
        self.begin_at(
            id,
            env_id,
            op_type,
            subject,
            self.clock.now_unix_ms(),
            false,
        )
    }

    /// [`Self::begin_with_id`] for an operation that started at `started_at` (unix ms); `fresh` when
    /// `id` is new (not derived from something that may have an entry already).
    fn begin_at(
        &self,
        id: String,
        env_id: i64,
        op_type: &'static str,
        subject: Subject,
        started_at: i64,
        fresh: bool,
    ) -> Op {
        self.send(ActivityWrite::Begin {
            id: id.clone(),
            environment_id: env_id,
            op_type: op_type.into(),
            integration: subject.integration,
            connection_id: subject.connection_id,
            end_user_id: subject.end_user_id,
            outcome: Outcome::Pending.as_str().into(),
            started_at,
            fresh,
        });
        self.resume(id)
    }

    /// The handle of an operation begun earlier (perhaps by another replica): its steps and end are
    /// recorded only if it exists.
    pub fn resume(&self, id: String) -> Op {
        Op {
            recorder: self.clone(),
            id,
        }
    }

    /// Waits until everything recorded so far is written (the writer lives as long as a recorder).
    pub async fn flush(&self) {
        if let Some(shared) = &self.shared {
            let queue = &shared.queue;
            let (done, wait) = oneshot::channel();
            queue.lock().flushes.push(done);
            queue.arrived.notify_one();
            queue.now.notify_one();
            let _ = wait.await;
        }
    }
}

/// A new operation id: a UUIDv7, time-ordered, so that a batch's inserts into the id indexes
/// (`activity_log.id`, `activity_steps.entry_id`) land on the B-trees' last pages instead of one
/// random page each — with random ids every logged operation cost SQLite's single writer a few page
/// writes to the WAL, about half of a `POST /connect/sessions`'s time. Not a secret: reading the log
/// needs the environment's secret key, and the time it carries is the entry's `started_at`.
fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// An operation recorded at its end ([`Recorder::completed`]).
pub struct Completed {
    pub env_id: i64,
    pub op_type: &'static str,
    pub subject: Subject,
    /// How long it took; it started that long before it is recorded.
    pub duration_ms: u64,
    pub outcome: Outcome,
    /// Its one step.
    pub level: Level,
    pub message: String,
    /// A small JSON object of facts that are not secrets, serialized.
    pub detail: Option<String>,
}

/// Who an operation concerns (every field optional: a settings change has no connection).
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub integration: Option<String>,
    pub connection_id: Option<String>,
    pub end_user_id: Option<String>,
}

impl Subject {
    pub fn connection(integration: &str, connection_id: &str, end_user_json: Option<&str>) -> Self {
        Self {
            integration: Some(integration.to_string()),
            connection_id: Some(connection_id.to_string()),
            end_user_id: end_user_json.and_then(end_user_id),
        }
    }
}

/// The `id` of a stored end user (`{"id": …, "email": …}` of the connect session).
pub fn end_user_id(json: &str) -> Option<String> {
    serde_json::from_str::<Value>(json)
        .ok()?
        .get("id")?
        .as_str()
        .map(str::to_string)
}

/// One operation being recorded.
#[derive(Clone)]
pub struct Op {
    recorder: Recorder,
    id: String,
}

impl Op {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Adds a step; `detail` is a small JSON object of facts that are not secrets.
    pub fn step(&self, level: Level, message: impl Into<String>, detail: Option<Value>) {
        if !self.recorder.enabled() {
            return;
        }
        self.recorder.send(ActivityWrite::Step {
            entry_id: self.id.clone(),
            at: self.recorder.clock.now_unix_ms(),
            level: level.as_str().into(),
            message: clip(message.into()),
            detail: detail.map(|d| d.to_string()),
        });
    }

    pub fn info(&self, message: impl Into<String>, detail: Option<Value>) {
        self.step(Level::Info, message, detail)
    }

    pub fn error(&self, message: impl Into<String>, detail: Option<Value>) {
        self.step(Level::Error, message, detail)
    }

    /// Ends the operation with `outcome`.
    pub fn finish(&self, outcome: Outcome) {
        self.finish_on(outcome, None)
    }

    /// Ends the operation with `outcome`, naming the connection it wrote when that is known only now.
    pub fn finish_on(&self, outcome: Outcome, connection_id: Option<String>) {
        self.recorder.send(ActivityWrite::Finish {
            id: self.id.clone(),
            outcome: outcome.as_str().into(),
            ended_at: self.recorder.clock.now_unix_ms(),
            connection_id: connection_id.filter(|c| !c.is_empty()),
        });
    }

    /// Ends with success, or with failure after an error step saying why.
    pub fn finish_with<T, E: std::fmt::Display>(&self, result: &Result<T, E>, failed: &str) {
        match result {
            Ok(_) => self.finish(Outcome::Success),
            Err(e) => {
                self.error(format!("{failed}: {e}"), None);
                self.finish(Outcome::Failure);
            }
        }
    }
}

/// Commits what the recorders buffered: once per window, or sooner when a batch is full or someone
/// waits on a flush. Ends, after committing what is left, when the last recorder is gone.
async fn write_loop(store: Store, queue: Arc<Queue>, mut gone: oneshot::Receiver<()>) {
    let mut open = true;
    while open {
        tokio::select! {
            _ = queue.arrived.notified() => {}
            _ = &mut gone => open = false,
        }
        if open {
            // One commit per window instead of one per operation keeps the database's write lock
            // (a single writer on SQLite) free for the flows themselves.
            tokio::select! {
                _ = tokio::time::sleep(BATCH_WINDOW) => {}
                _ = queue.now.notified() => {}
                _ = &mut gone => open = false,
            }
        }
        let Pending { writes, flushes } = std::mem::take(&mut *queue.lock());
        for batch in writes.chunks(MAX_BATCH) {
            if let Err(e) = store.write_activity(batch).await {
                tracing::warn!(error = %e, lost = batch.len(), "could not write the activity log");
                crate::metrics::activity_dropped(batch.len() as u64);
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Deletes what is older than the retention period now, then every `sweep_every`.
pub fn spawn_sweeper(
    store: Store,
    settings: &Settings,
    clock: Clock,
) -> tokio::task::JoinHandle<()> {
    let (retention, every) = (settings.retention, settings.sweep_every);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let cutoff = clock.now_unix_ms() - retention.as_millis() as i64;
            match store.purge_activity(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "activity log entries past retention deleted"),
                Err(e) => tracing::warn!(error = %e, "activity log retention sweep failed"),
            }
        }
    })
}

pub fn ms_to_iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A URL as the log may show it: scheme, host, port and path — no user name or password, no query
/// (codes, keys, tokens travel there), no fragment.
pub fn safe_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(p) => format!("{}://{host}:{p}{}", u.scheme(), u.path()),
                None => format!("{}://{host}{}", u.scheme(), u.path()),
            }
        }
        Err(_) => "<unparsable URL>".into(),
    }
}

fn clip(mut s: String) -> String {
    if s.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_urls_keep_no_credentials_query_or_fragment() {
        assert_eq!(
            safe_url("https://user:pw@hooks.example.com:8443/in/abc?token=s3cr3t#frag"),
            "https://hooks.example.com:8443/in/abc"
        );
        assert_eq!(safe_url("not a url"), "<unparsable URL>");
    }

    /// More writes than a window commits early, from several tasks at once: every operation is
    /// stored whole (entry, step, end) once `flush` answers, and nothing was dropped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_is_written_whole_before_flush_answers() {
        use crate::storage::activity::ActivityFilter;
        let (_dir, store, env) = crate::storage::test_support::dev_store().await;
        let recorder = Recorder::start(store.clone(), &Settings::default(), &Clock::system());
        // 4 tasks × 1000 operations × 3 writes: past COMMIT_SOONER, under CAPACITY.
        const TASKS: usize = 4;
        const EACH: usize = 1000;
        const { assert!(TASKS * EACH * 3 > COMMIT_SOONER && TASKS * EACH * 3 <= CAPACITY) };
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let recorder = recorder.clone();
                tokio::spawn(async move {
                    for i in 0..EACH {
                        recorder.completed(Completed {
                            env_id: env.id,
                            op_type: "proxy",
                            subject: Subject {
                                connection_id: Some(format!("c{t}-{i}")),
                                ..Default::default()
                            },
                            duration_ms: 3,
                            outcome: Outcome::Success,
                            level: Level::Info,
                            message: "GET /ping → 200".into(),
                            detail: Some(r#"{"status":200}"#.into()),
                        });
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        recorder.flush().await;
        let rows = store
            .list_activity(env.id, &ActivityFilter::default(), false, 10_000)
            .await
            .unwrap();
        assert_eq!(rows.len(), TASKS * EACH);
        assert!(rows
            .iter()
            .all(|r| r.outcome == "success" && r.duration_ms == Some(3)));
        let one = rows
            .iter()
            .find(|r| r.connection_id.as_deref() == Some("c3-999"));
        let steps = store
            .activity_steps(&one.expect("the last operation").id)
            .await
            .unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].message, "GET /ping → 200");
    }

    #[test]
    fn long_messages_are_clipped_on_a_char_boundary() {
        let s = clip("é".repeat(400));
        assert!(s.len() <= MAX_MESSAGE + '…'.len_utf8() && s.ends_with('…'));
    }
}
