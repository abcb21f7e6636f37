//! A Latchkey server's webhook outbox as an operator reads it (`GET /environment/webhooks`), for the
//! tests that show a webhook is sent once: they wait until nothing is pending instead of sleeping.
//! Shared by the server's integration tests and the end-to-end suite (replicas).

use serde_json::Value;
use std::time::Duration;

/// `GET /environment/webhooks?limit=1000` with the secret key: the outbox as an operator sees it.
pub async fn list(http: &reqwest::Client, base: &str, secret_key: &str) -> anyhow::Result<Value> {
    Ok(http
        .get(format!("{base}/environment/webhooks?limit=1000"))
        .bearer_auth(secret_key)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// The outbox's webhooks once none is pending: each delivered or given up, so nothing more will be
/// sent for what has happened so far (a webhook is queued in the transaction of the change it
/// reports). Fails after 60 s.
pub async fn settled(
    http: &reqwest::Client,
    base: &str,
    secret_key: &str,
) -> anyhow::Result<Vec<Value>> {
    crate::wait::until("no webhook pending", Duration::from_secs(60), || async {
        let all = list(http, base, secret_key).await?["data"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(all.iter().all(|w| w["status"] != "pending").then_some(all))
    })
    .await
}
