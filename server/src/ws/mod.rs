//! The WebSocket result channel (Nango protocol, reference §1.5): a browser connects, gets a
//! `connection_ack` with its `ws_client_id`, and later receives exactly one `success` or `error`
//! frame for the OAuth flow that carried that id. A ping every 20 s keeps proxies from cutting an
//! idle socket while the user is on the provider's login page. Served at `/` and, when
//! `LATCHKEY_WEBSOCKETS_PATH` names another path (the SDK's `websocketsPath`), there too.
//!
//! A `ws_client_id` is `<uuid v4>.<MAC>`: the MAC (HMAC-SHA256 under a key derived from the
//! encryption key, so every replica agrees) proves the server issued it to a socket. A flow and a
//! resuming socket only use ids that verify ([`WsHub::is_issued`]); anything else is ignored, so no
//! result is stored or relayed for an id nobody holds.
//!
//! A result for a socket connected to another replica goes through [`relay`].

pub mod relay;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use latchkey_protocol::ws::WsMessage;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const HEARTBEAT: Duration = Duration::from_secs(20);

/// Environment variable naming the WebSocket path (Nango's `websocketsPath`; default `/`).
pub const PATH_VAR: &str = "LATCHKEY_WEBSOCKETS_PATH";

/// The path the result channel is served on, besides `/`: `LATCHKEY_WEBSOCKETS_PATH`'s value (`raw`)
/// with a leading `/` added when missing; `/` when unset.
pub fn path(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or_default().trim();
    if raw.is_empty() {
        "/".into()
    } else if raw.starts_with('/') {
        raw.to_string()
    } else {
        format!("/{raw}")
    }
}

/// Connected browsers of this process, by `ws_client_id`.
#[derive(Clone, Default)]
pub struct WsHub {
    clients: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<WsMessage>>>>,
    /// Where results for sockets connected elsewhere go ([`relay`]); set at start-up.
    relay: Arc<std::sync::OnceLock<relay::Relay>>,
    /// The key client ids are authenticated with; set at start-up (random if never set).
    id_key: Arc<std::sync::OnceLock<[u8; 32]>>,
}

impl WsHub {
    /// Sends the result frame to a client. When its socket is not connected to this process (it is
    /// on another replica, or dropped), the frame is relayed through the database instead.
    pub fn notify(&self, ws_client_id: &str, frame: WsMessage) {
        if self.deliver_local(ws_client_id, frame.clone()) {
            return;
        }
        if let Some(relay) = self.relay.get().cloned() {
            let id = ws_client_id.to_string();
            tokio::spawn(async move { relay::relay_result(&relay, &id, &frame).await });
        }
    }

    /// Sends a frame to a client connected to this process; `false` when it is not.
    pub fn deliver_local(&self, ws_client_id: &str, frame: WsMessage) -> bool {
        let sender = self
            .clients
            .lock()
            .expect("ws hub lock")
            .remove(ws_client_id);
        sender.map(|s| s.send(frame).is_ok()).unwrap_or(false)
    }

    pub fn is_connected(&self, ws_client_id: &str) -> bool {
        self.clients
            .lock()
            .expect("ws hub lock")
            .contains_key(ws_client_id)
    }

    /// Sets the key client ids are authenticated with (called once at start-up).
    pub fn set_id_key(&self, key: [u8; 32]) {
        let _ = self.id_key.set(key);
    }

    fn id_mac(&self, uuid: &str) -> String {
        use hmac::{Hmac, Mac};
        let key = self.id_key.get_or_init(|| {
            let mut k = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut k);
            k
        });
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
        mac.update(uuid.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// A new client id: a random UUID with its MAC.
    fn issue(&self) -> String {
        let uuid = uuid::Uuid::new_v4().to_string();
        let mac = self.id_mac(&uuid);
        format!("{uuid}.{mac}")
    }

    /// Whether `id` is a client id this server (or a replica sharing its key) issued.
    pub fn is_issued(&self, id: &str) -> bool {
        let Some((uuid, mac)) = id.split_once('.') else {
            return false;
        };
        uuid::Uuid::parse_str(uuid).is_ok_and(|u| u.get_version_num() == 4)
            && crate::crypto::secrets_equal(mac, &self.id_mac(uuid))
    }

    /// Lets results for sockets on other replicas travel through `store` (called once at start-up).
    pub fn relay_through(&self, relay: relay::Relay) {
        let _ = self.relay.set(relay);
    }

    fn register(&self, id: String) -> mpsc::UnboundedReceiver<WsMessage> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.clients.lock().expect("ws hub lock").insert(id, tx);
        rx
    }

    fn unregister(&self, id: &str) {
        self.clients.lock().expect("ws hub lock").remove(id);
    }
}

pub async fn upgrade(State(hub): State<WsHub>, ws: WebSocketUpgrade) -> Response {
    upgrade_resuming(hub, ws, None).await
}

/// Like [`upgrade`]; `resume` is a `ws_client_id` this browser was given before its socket dropped
/// (`?ws_client_id=` on the WebSocket URL): it gets the same id back, and a result that arrived
/// meanwhile is delivered at once. The id must be one this server issued ([`WsHub::is_issued`]).
pub async fn upgrade_resuming(
    hub: WsHub,
    ws: WebSocketUpgrade,
    resume: Option<String>,
) -> Response {
    let resume = resume.filter(|id| hub.is_issued(id) && !hub.is_connected(id));
    ws.max_message_size(4096)
        .on_upgrade(move |socket| serve(hub, socket, resume))
        .into_response()
}

async fn serve(hub: WsHub, mut socket: WebSocket, resume: Option<String>) {
    let id = resume.unwrap_or_else(|| hub.issue());
    let mut rx = hub.register(id.clone());
    let ack = WsMessage::ConnectionAck {
        ws_client_id: id.clone(),
    };
    if send(&mut socket, &ack).await.is_err() {
        hub.unregister(&id);
        return;
    }
    // A result kept while this client had no socket here (another replica, or a dropped socket).
    if let Some(relay) = hub.relay.get() {
        if let Some(frame) = relay::take_result(relay, &id).await {
            hub.deliver_local(&id, frame);
        }
    }
    let mut ticker = tokio::time::interval(HEARTBEAT);
    ticker.tick().await;
    loop {
        tokio::select! {
            frame = rx.recv() => {
                if let Some(frame) = frame {
                    let _ = send(&mut socket, &frame).await;
                }
                // One result per client: the hub dropped our sender when it delivered.
                break;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {} // clients never speak; pongs and stray frames are ignored
            },
            _ = ticker.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    hub.unregister(&id);
    let _ = socket.send(Message::Close(None)).await;
}

async fn send(socket: &mut WebSocket, frame: &WsMessage) -> Result<(), axum::Error> {
    let text = serde_json::to_string(frame).expect("wire frames serialize");
    socket.send(Message::Text(text.into())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_websocket_path_gets_its_leading_slash() {
        assert_eq!(path(None), "/");
        assert_eq!(path(Some("  ")), "/");
        assert_eq!(path(Some("nango-ws")), "/nango-ws");
        assert_eq!(path(Some("/ws")), "/ws");
    }

    #[test]
    fn only_issued_ids_verify() {
        let hub = WsHub::default();
        hub.set_id_key([3; 32]);
        let id = hub.issue();
        assert!(hub.is_issued(&id));
        let (uuid, _) = id.split_once('.').unwrap();
        assert!(!hub.is_issued(uuid), "a bare UUID");
        assert!(!hub.is_issued(&format!("{uuid}.{}", "0".repeat(32))));
        assert!(!hub.is_issued("abc"));
        let other = WsHub::default();
        other.set_id_key([4; 32]);
        assert!(!other.is_issued(&id), "another key");
    }
}
