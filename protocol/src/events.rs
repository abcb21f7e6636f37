//! `postMessage` events between the embedding page, the Connect UI iframe and the OAuth callback popup
//! (reference §1.8; our exact-origin rules: PROTOCOL.md §5, §7).

use serde::{Deserialize, Serialize};

/// Payload of the `connect` event and the resolved value of `auth()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectPayload {
    pub provider_config_key: String,
    pub connection_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_pending: Option<bool>,
}

/// Payload of the `error` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorPayload {
    pub error_type: String,
    pub error_message: String,
}

/// Connect UI iframe → parent page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConnectUiEvent {
    Ready,
    Connect { payload: ConnectPayload },
    Error { payload: ErrorPayload },
    Close,
}

/// Parent page → Connect UI iframe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParentMessage {
    SessionToken {
        #[serde(rename = "sessionToken")]
        session_token: String,
    },
}

/// Error payload posted by the OAuth callback page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackErrorPayload {
    pub message: String,
    pub error_type: String,
}

/// OAuth callback popup ⇄ its opener. Unlike Nango, the success message carries the connection, so
/// the opener can resolve without the WebSocket (PROTOCOL.md §5 step 4b).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum CallbackMessage {
    #[serde(rename = "nango_oauth_callback_success", rename_all = "camelCase")]
    Success {
        provider_config_key: String,
        connection_id: String,
    },
    #[serde(rename = "nango_oauth_callback_error")]
    Error { payload: CallbackErrorPayload },
    /// Opener → popup: "received, you may close".
    #[serde(rename = "nango_oauth_callback_ack")]
    Ack,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_event_matches_nango_shape() {
        let e = ConnectUiEvent::Connect {
            payload: ConnectPayload {
                provider_config_key: "gh".into(),
                connection_id: "c1".into(),
                is_pending: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"connect","payload":{"providerConfigKey":"gh","connectionId":"c1"}}"#
        );
        assert_eq!(
            serde_json::to_string(&ConnectUiEvent::Ready).unwrap(),
            r#"{"type":"ready"}"#
        );
    }

    #[test]
    fn session_token_message_matches_nango_shape() {
        let m: ParentMessage =
            serde_json::from_str(r#"{"type":"session_token","sessionToken":"t"}"#).unwrap();
        assert_eq!(
            m,
            ParentMessage::SessionToken {
                session_token: "t".into()
            }
        );
    }

    #[test]
    fn callback_success_carries_connection() {
        let m = CallbackMessage::Success {
            provider_config_key: "p".into(),
            connection_id: "c".into(),
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"type":"nango_oauth_callback_success","providerConfigKey":"p","connectionId":"c"}"#
        );
    }
}
