//! The WebSocket result channel (Nango protocol, reference §1.5): a browser connects, gets a
//! `connection_ack` with its `ws_client_id`, and later receives exactly one `success` or `error`
//! frame for the OAuth flow that carried that id. A ping every 20 s keeps proxies from cutting an
//! idle socket while the user is on the provider's login page.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use latchkey_protocol::ws::WsMessage;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const HEARTBEAT: Duration = Duration::from_secs(20);

/// Connected browsers of this process, by `ws_client_id`.
#[derive(Clone, Default)]
pub struct WsHub {
    clients: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<WsMessage>>>>,
}

impl WsHub {
    /// Sends a frame to a connected client; returns `false` when it is not connected here.
    pub fn notify(&self, ws_client_id: &str, frame: WsMessage) -> bool {
        let sender = self
            .clients
            .lock()
            .expect("ws hub lock")
            .remove(ws_client_id);
        sender.map(|s| s.send(frame).is_ok()).unwrap_or(false)
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
    ws.max_message_size(4096)
        .on_upgrade(move |socket| serve(hub, socket))
        .into_response()
}

async fn serve(hub: WsHub, mut socket: WebSocket) {
    let id = uuid::Uuid::new_v4().to_string();
    let mut rx = hub.register(id.clone());
    let ack = WsMessage::ConnectionAck {
        ws_client_id: id.clone(),
    };
    if send(&mut socket, &ack).await.is_err() {
        hub.unregister(&id);
        return;
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
