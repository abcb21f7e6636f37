//! The OAuth result relay across replicas: the browser's WebSocket lives on one replica, the
//! provider's callback may land on another. A result that finds no local socket is kept in
//! `oauth_results` and announced with `NOTIFY`; the replica holding the socket takes it. A socket that
//! reconnects with its old `ws_client_id` also takes it, so a dropped connection loses nothing. On
//! SQLite (one process) `NOTIFY` is a no-op and the table still serves reconnecting sockets.

use super::WsHub;
use crate::storage::Store;
use latchkey_protocol::ws::WsMessage;

/// How long an undelivered OAuth result is kept for a reconnecting socket.
const RESULT_TTL_SECS: i64 = 15 * 60;

/// Where relayed results are kept, and the clock their expiry is counted by.
#[derive(Clone)]
pub struct Relay {
    pub store: Store,
    pub clock: crate::time::Clock,
}

/// Keeps a result whose socket is not connected to this process and tells the other replicas.
pub async fn relay_result(relay: &Relay, ws_client_id: &str, frame: &WsMessage) {
    let text = serde_json::to_string(frame).expect("wire frames serialize");
    let now = relay.clock.now_unix();
    let store = &relay.store;
    let kept = store
        .save_oauth_result(ws_client_id, &text, now + RESULT_TTL_SECS, now)
        .await;
    let published = match kept {
        Ok(()) => store.publish_oauth_result(ws_client_id).await,
        Err(e) => Err(e),
    };
    if let Err(e) = published {
        tracing::error!(error = %e, "could not relay an OAuth result to other replicas");
    }
}

/// The result kept for `ws_client_id`, if any (taken: it is delivered once).
pub async fn take_result(relay: &Relay, ws_client_id: &str) -> Option<WsMessage> {
    match relay
        .store
        .take_oauth_result(ws_client_id, relay.clock.now_unix())
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
    relay: Relay,
    hub: WsHub,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(mut announced) = relay.store.listen_oauth_results().await? else {
        return Ok(None);
    };
    Ok(Some(tokio::spawn(async move {
        while let Some(ws_client_id) = announced.recv().await {
            if !hub.is_connected(&ws_client_id) {
                continue;
            }
            if let Some(frame) = take_result(&relay, &ws_client_id).await {
                hub.deliver_local(&ws_client_id, frame);
            }
        }
    })))
}
