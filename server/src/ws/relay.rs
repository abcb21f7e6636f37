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
