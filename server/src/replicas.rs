//! What makes several server processes sharing one PostgreSQL database behave like one:
//!
//! - **Refresh lease.** A token refresh happens once for any number of concurrent callers. Inside a
//!   process a mutex per connection queues them ([`crate::oauth::refresh::RefreshLocks`]); across
//!   processes the caller that wins a lease row update refreshes, the others poll the row until the
//!   new token appears (or the lease lapses, after a crash).
//! - **OAuth result relay.** The browser's WebSocket lives on one replica, the provider's callback
//!   may land on another. A result that finds no local socket is kept in `oauth_results` and
//!   announced with `NOTIFY`; the replica holding the socket takes it. A socket that reconnects with
//!   its old `ws_client_id` also takes it, so a dropped connection loses nothing.
//!
//! On SQLite (one process) the same code runs; `NOTIFY` is a no-op and the table still serves
//! reconnecting sockets.

use crate::storage::{ConnectionRow, Store};
use crate::ws::WsHub;
use latchkey_protocol::ws::WsMessage;
use std::time::Duration;

/// How long a refresh lease lasts: longer than the outbound client's timeout, so a live holder never
/// loses it; short enough that a crashed holder blocks others only briefly.
const LEASE_SECS: i64 = 45;
/// How often a waiting replica re-reads the connection.
const POLL: Duration = Duration::from_millis(100);
/// How long an undelivered OAuth result is kept for a reconnecting socket.
const RESULT_TTL_SECS: i64 = 15 * 60;

/// A held refresh lease; give it back with [`RefreshLease::release`] (if the holder dies, it lapses).
pub struct RefreshLease {
    store: Store,
    connection_row_id: i64,
    holder: String,
}

impl RefreshLease {
    pub async fn release(self) {
        if let Err(e) = self
            .store
            .release_refresh(self.connection_row_id, &self.holder)
            .await
        {
            tracing::warn!(error = %e, "could not release a refresh lease; it will lapse");
        }
    }
}

/// Outcome of waiting for the right to refresh.
pub enum LeaseOutcome {
    /// This caller refreshes, then releases the lease.
    Held(RefreshLease),
    /// Another caller (here or in another replica) refreshed meanwhile: the row as it is now.
    RefreshedElsewhere(Box<ConnectionRow>),
}

/// Waits until this caller holds the connection's refresh lease, or until `refreshed(row)` says the
/// row re-read from the database already carries a new token.
pub async fn lease_refresh(
    store: &Store,
    row: &ConnectionRow,
    refreshed: impl Fn(&ConnectionRow) -> bool,
) -> anyhow::Result<LeaseOutcome> {
    let holder = uuid::Uuid::new_v4().to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(LEASE_SECS as u64 + 15);
    loop {
        let now = crate::time::now_unix();
        let won = store
            .try_lease_refresh(row.id, &holder, now, now + LEASE_SECS)
            .await?;
        let lease = won.then(|| RefreshLease {
            store: store.clone(),
            connection_row_id: row.id,
            holder: holder.clone(),
        });
        if lease.is_none() {
            tokio::time::sleep(POLL).await;
        }
        // Re-read in both cases: a holder that finished just before we won the lease has stored a
        // new token (and used up the refresh token we hold, if the provider rotates them).
        let current = store
            .connection(
                row.environment_id,
                &row.provider_config_key,
                &row.connection_id,
            )
            .await?
            .ok_or_else(|| anyhow::anyhow!("connection deleted during refresh"))?;
        if refreshed(&current) {
            if let Some(lease) = lease {
                lease.release().await;
            }
            return Ok(LeaseOutcome::RefreshedElsewhere(Box::new(current)));
        }
        if let Some(lease) = lease {
            return Ok(LeaseOutcome::Held(lease));
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for another replica's token refresh"
        );
    }
}

/// Keeps a result whose socket is not connected to this process and tells the other replicas.
pub async fn relay_result(store: &Store, ws_client_id: &str, frame: &WsMessage) {
    let text = serde_json::to_string(frame).expect("wire frames serialize");
    let expires = crate::time::now_unix() + RESULT_TTL_SECS;
    let kept = store.save_oauth_result(ws_client_id, &text, expires).await;
    let published = match kept {
        Ok(()) => store.publish_oauth_result(ws_client_id).await,
        Err(e) => Err(e),
    };
    if let Err(e) = published {
        tracing::error!(error = %e, "could not relay an OAuth result to other replicas");
    }
}

/// The result kept for `ws_client_id`, if any (taken: it is delivered once).
pub async fn take_result(store: &Store, ws_client_id: &str) -> Option<WsMessage> {
    match store
        .take_oauth_result(ws_client_id, crate::time::now_unix())
        .await
    {
        Ok(frame) => frame.and_then(|f| serde_json::from_str(&f).ok()),
        Err(e) => {
            tracing::error!(error = %e, "could not read kept OAuth results");
            None
        }
    }
}

/// Delivers results announced by other replicas to the sockets connected here (PostgreSQL only).
pub async fn spawn_result_listener(
    store: Store,
    hub: WsHub,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(mut announced) = store.listen_oauth_results().await? else {
        return Ok(None);
    };
    Ok(Some(tokio::spawn(async move {
        while let Some(ws_client_id) = announced.recv().await {
            if !hub.is_connected(&ws_client_id) {
                continue;
            }
            if let Some(frame) = take_result(&store, &ws_client_id).await {
                hub.deliver_local(&ws_client_id, frame);
            }
        }
    })))
}
