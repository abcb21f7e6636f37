//! The refresh lease: a token refresh happens once for any number of concurrent callers, in any
//! number of server processes sharing one database. Inside a process a mutex per connection queues
//! them ([`super::RefreshLocks`]); across processes the caller that wins a lease row update refreshes,
//! the others poll the row until the new token appears (or the lease lapses, after a crash). On
//! SQLite (one process) the same code runs and the lease is always won at once.

use crate::storage::{ConnectionRow, Store};
use std::time::Duration;

/// How long a refresh lease lasts: longer than the outbound client's timeout, so a live holder never
/// loses it; short enough that a crashed holder blocks others only briefly.
const LEASE_SECS: i64 = 45;
/// How often a waiting replica re-reads the connection.
const POLL: Duration = Duration::from_millis(100);

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
    clock: &crate::time::Clock,
    row: &ConnectionRow,
    refreshed: impl Fn(&ConnectionRow) -> bool,
) -> anyhow::Result<LeaseOutcome> {
    let holder = uuid::Uuid::new_v4().to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(LEASE_SECS as u64 + 15);
    loop {
        let now = clock.now_unix();
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
