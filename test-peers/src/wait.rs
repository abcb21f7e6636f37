//! Bounded polling: every wait in the harness goes through [`until`], so nothing waits forever.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `probe` every 100 ms until it returns `Ok(Some(v))`, failing after `limit` with `what` and the
/// last probe error (if any) in the message.
pub async fn until<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let start = Instant::now();
    let mut last_error = None;
    loop {
        match tokio::time::timeout(
            limit
                .saturating_sub(start.elapsed())
                .max(Duration::from_millis(1)),
            probe(),
        )
        .await
        {
            Ok(Ok(Some(v))) => return Ok(v),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => last_error = Some(e),
            Err(_) => {}
        }
        if start.elapsed() >= limit {
            return Err(match last_error {
                Some(e) => anyhow::anyhow!(
                    "timed out after {limit:?} waiting for {what}; last error: {e:#}"
                ),
                None => anyhow::anyhow!("timed out after {limit:?} waiting for {what}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
