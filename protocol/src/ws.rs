//! Frames of the WebSocket result channel (reference §1.5). The server speaks, the browser listens.

use serde::{Deserialize, Serialize};

/// A frame on the result WebSocket, tagged by `message_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "message_type", rename_all = "snake_case")]
pub enum WsMessage {
    /// Sent as soon as the socket opens; the id is then passed to `/oauth/connect` as `ws_client_id`.
    ConnectionAck { ws_client_id: String },
    Success {
        provider_config_key: String,
        connection_id: String,
        #[serde(default)]
        is_pending: bool,
    },
    Error {
        provider_config_key: String,
        connection_id: String,
        error_type: String,
        error_desc: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_frame_matches_nango() {
        let s = serde_json::to_string(&WsMessage::ConnectionAck {
            ws_client_id: "x".into(),
        })
        .unwrap();
        assert_eq!(s, r#"{"message_type":"connection_ack","ws_client_id":"x"}"#);
    }

    #[test]
    fn error_frame_round_trips() {
        let f = WsMessage::Error {
            provider_config_key: "p".into(),
            connection_id: "c".into(),
            error_type: "state_err".into(),
            error_desc: "bad".into(),
        };
        let back: WsMessage = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
    }
}
