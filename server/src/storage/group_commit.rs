//! Group commit of connect-session inserts (`POST /connect/sessions`, the hottest write).
//!
//! One statement per request was one commit per request, and on SQLite one trip to the single writer
//! connection's thread each: at 32 concurrent callers the writer, not the handler, set the pace. Here
//! callers hand their row to one task, which takes everything that is waiting (at most
//! [`MAX_BATCH`]) and writes it with one multi-row `INSERT` — one statement, one commit. Nothing waits
//! on purpose: a batch is whatever queued while the previous one was being written, so a lone caller
//! pays no extra latency.
//!
//! Durability is unchanged: a caller is answered only after the commit that holds its row returned
//! (a `201` still means the session survives `kill -9`; server/tests/durability.rs). A batch that
//! fails (a constraint, a lost connection) is retried row by row, so each caller gets its own row's
//! result and one bad row cannot fail the others.

use super::NewConnectSession;
use std::future::Future;
use tokio::sync::{mpsc, oneshot};

/// Rows per statement: 10 bind parameters each, far below SQLite's 32,766 and PostgreSQL's 65,535.
pub const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<sqlx::Result<()>>;

/// A handle on the writer task; cheap to clone. The task ends when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct SessionWriter {
    tx: mpsc::UnboundedSender<(NewConnectSession, Reply)>,
}

impl SessionWriter {
    /// Starts the writer task; `insert` writes a batch of rows in one statement.
    pub fn spawn<F, Fut>(insert: F) -> Self
    where
        F: Fn(Vec<NewConnectSession>) -> Fut + Send + 'static,
        Fut: Future<Output = (Vec<NewConnectSession>, sqlx::Result<()>)> + Send,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<(NewConnectSession, Reply)>();
        tokio::spawn(async move {
            let mut rows = Vec::with_capacity(MAX_BATCH);
            let mut replies = Vec::with_capacity(MAX_BATCH);
            while let Some((row, reply)) = rx.recv().await {
                rows.push(row);
                replies.push(reply);
                while rows.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok((row, reply)) => {
                            rows.push(row);
                            replies.push(reply);
                        }
                        Err(_) => break,
                    }
                }
                let (back, result) = insert(std::mem::take(&mut rows)).await;
                match result {
                    Ok(()) => {
                        for reply in replies.drain(..) {
                            let _ = reply.send(Ok(()));
                        }
                    }
                    Err(e) if back.len() == 1 => {
                        if let Some(reply) = replies.pop() {
                            let _ = reply.send(Err(e));
                        }
                    }
                    // One row at a time: each caller gets its own row's result.
                    Err(_) => {
                        for (row, reply) in back.into_iter().zip(replies.drain(..)) {
                            let (_, result) = insert(vec![row]).await;
                            let _ = reply.send(result);
                        }
                    }
                }
                rows = Vec::with_capacity(MAX_BATCH);
            }
        });
        Self { tx }
    }

    /// Inserts `row`; returns once the commit that holds it has returned.
    pub async fn insert(&self, row: NewConnectSession) -> sqlx::Result<()> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send((row, reply))
            .map_err(|_| sqlx::Error::PoolClosed)?;
        done.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}

#[cfg(test)]
mod tests {
    use crate::storage::test_support::{dev_store, session};

    /// Many callers at once (so they share batches), one of them with a token that is taken: only
    /// that caller fails, and every row answered `Ok` is stored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_inserts_commit_and_a_bad_row_fails_alone() {
        let (_dir, store, env) = dev_store().await;
        store
            .insert_connect_session(&session(env.id, "taken".into()))
            .await
            .unwrap();
        let calls: Vec<_> = (0..200)
            .map(|i| {
                let store = store.clone();
                let hash = if i == 77 {
                    "taken".into()
                } else {
                    format!("h{i}")
                };
                tokio::spawn(
                    async move { store.insert_connect_session(&session(env.id, hash)).await },
                )
            })
            .collect();
        let mut failed = Vec::new();
        for (i, call) in calls.into_iter().enumerate() {
            if call.await.unwrap().is_err() {
                failed.push(i);
            }
        }
        assert_eq!(failed, [77]);
        for i in (0..200).filter(|i| *i != 77) {
            let row = store.connect_session(&format!("h{i}"), 0).await.unwrap();
            assert!(row.is_some(), "session {i} was answered Ok and is stored");
        }
    }
}
