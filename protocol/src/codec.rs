//! A serde-free codec for the messages the two wasm crates (the SDK and the Connect UI) read and
//! write: `postMessage` events, WebSocket frames, the REST error envelope and credential answers.
//!
//! Deserializing through serde in wasm costs ~30 KB gzip (a JSON lexer per type, float formatting in
//! error messages) or ~100 KB (serde-wasm-bindgen's content buffering for tagged enums): more than
//! either size budget allows. So both crates read and write message fields one by one through
//! [`ReadFields`] / [`WriteFields`], implemented over JS objects in each crate, and this module —
//! next to the serde types it mirrors — is the one place that knows each message's fields. The tests
//! below round-trip every message through `serde_json` and this codec (the traits are implemented for
//! `serde_json::Value`) and require identical results, so a field renamed in a serde type fails here.

use crate::events::{
    CallbackErrorPayload, CallbackMessage, ConnectPayload, ConnectUiEvent, ParentMessage,
};
use crate::ws::WsMessage;

/// Read access to one message object.
pub trait ReadFields: Sized {
    fn string(&self, name: &str) -> Option<String>;
    fn boolean(&self, name: &str) -> Option<bool>;
    fn object(&self, name: &str) -> Option<Self>;
}

/// Write access to a fresh message object.
pub trait WriteFields: Sized {
    fn empty() -> Self;
    fn set_string(&mut self, name: &str, value: &str);
    fn set_bool(&mut self, name: &str, value: bool);
    fn set_object(&mut self, name: &str, value: Self);
}

const TYPE: &str = "type";
const PROVIDER_CONFIG_KEY: &str = "providerConfigKey";
const CONNECTION_ID: &str = "connectionId";
const IS_PENDING: &str = "isPending";
const PAYLOAD: &str = "payload";

/// A WebSocket frame (`{"message_type": …}`); `None` for a frame we do not know.
pub fn read_ws_message(m: &impl ReadFields) -> Option<WsMessage> {
    let text = |name| m.string(name).unwrap_or_default();
    Some(match m.string("message_type")?.as_str() {
        "connection_ack" => WsMessage::ConnectionAck {
            ws_client_id: m.string("ws_client_id")?,
        },
        "success" => WsMessage::Success {
            provider_config_key: text("provider_config_key"),
            connection_id: text("connection_id"),
            is_pending: m.boolean("is_pending").unwrap_or_default(),
        },
        "error" => WsMessage::Error {
            provider_config_key: text("provider_config_key"),
            connection_id: text("connection_id"),
            error_type: m.string("error_type")?,
            error_desc: text("error_desc"),
        },
        _ => return None,
    })
}

/// A message from the OAuth callback page; `None` when it is not one.
pub fn read_callback_message(m: &impl ReadFields) -> Option<CallbackMessage> {
    Some(match m.string(TYPE)?.as_str() {
        "nango_oauth_callback_success" => CallbackMessage::Success {
            provider_config_key: m.string(PROVIDER_CONFIG_KEY)?,
            connection_id: m.string(CONNECTION_ID)?,
        },
        "nango_oauth_callback_error" => {
            let payload = m.object(PAYLOAD)?;
            CallbackMessage::Error {
                payload: CallbackErrorPayload {
                    message: payload.string("message").unwrap_or_default(),
                    error_type: payload.string("errorType")?,
                },
            }
        }
        "nango_oauth_callback_ack" => CallbackMessage::Ack,
        _ => return None,
    })
}

/// The Connect UI events the parent acts on (`ready`, `close`); `None` for every other event, which
/// the parent only forwards as it came (so it never needs decoding here).
pub fn read_connect_ui_signal(m: &impl ReadFields) -> Option<ConnectUiEvent> {
    match m.string(TYPE)?.as_str() {
        "ready" => Some(ConnectUiEvent::Ready),
        "close" => Some(ConnectUiEvent::Close),
        _ => None,
    }
}

/// `auth()`'s resolved value and the `connect` event's payload.
pub fn write_connect_payload<W: WriteFields>(p: &ConnectPayload) -> W {
    let mut w = W::empty();
    w.set_string(PROVIDER_CONFIG_KEY, &p.provider_config_key);
    w.set_string(CONNECTION_ID, &p.connection_id);
    if let Some(pending) = p.is_pending {
        w.set_bool(IS_PENDING, pending);
    }
    w
}

/// Parent page → Connect UI iframe.
pub fn write_parent_message<W: WriteFields>(m: &ParentMessage) -> W {
    let mut w = W::empty();
    match m {
        ParentMessage::SessionToken { session_token } => {
            w.set_string(TYPE, "session_token");
            w.set_string("sessionToken", session_token);
        }
    }
    w
}

/// Opener → OAuth callback page: only the acknowledgement is ever sent by the SDK.
pub fn write_callback_ack<W: WriteFields>() -> W {
    let mut w = W::empty();
    w.set_string(TYPE, "nango_oauth_callback_ack");
    w
}

/// `(code, message)` of the REST error envelope ([`crate::ApiErrorBody`]: `{"error": {"code", "message"}}`;
/// the issue list is not read: neither wasm crate shows it, and decoding it costs them bytes).
pub fn read_api_error(m: &impl ReadFields) -> Option<(String, String)> {
    let error = m.object("error")?;
    Some((
        error.string("code")?,
        error.string("message").unwrap_or_default(),
    ))
}

/// Parent → iframe; `None` for anything that is not a non-empty `session_token`.
pub fn read_parent_message(m: &impl ReadFields) -> Option<ParentMessage> {
    match m.string(TYPE)?.as_str() {
        "session_token" => {
            let session_token = m.string("sessionToken").filter(|t| !t.is_empty())?;
            Some(ParentMessage::SessionToken { session_token })
        }
        _ => None,
    }
}

/// Iframe → parent.
pub fn write_connect_ui_event<W: WriteFields>(event: &ConnectUiEvent) -> W {
    let mut w = W::empty();
    match event {
        ConnectUiEvent::Ready => w.set_string(TYPE, "ready"),
        ConnectUiEvent::Close => w.set_string(TYPE, "close"),
        ConnectUiEvent::Connect { payload } => {
            w.set_string(TYPE, "connect");
            w.set_object(PAYLOAD, write_connect_payload(payload));
        }
        ConnectUiEvent::Error { payload } => {
            w.set_string(TYPE, "error");
            let mut p = W::empty();
            p.set_string("errorType", &payload.error_type);
            p.set_string("errorMessage", &payload.error_message);
            w.set_object(PAYLOAD, p);
        }
    }
    w
}

/// The answer of a credential `POST` (`AuthResult`), as the `connect` event's payload.
pub fn read_connect_payload(m: &impl ReadFields) -> Option<ConnectPayload> {
    Some(ConnectPayload {
        provider_config_key: m.string(PROVIDER_CONFIG_KEY)?,
        connection_id: m.string(CONNECTION_ID)?,
        is_pending: m.boolean(IS_PENDING),
    })
}

impl ReadFields for serde_json::Value {
    fn string(&self, name: &str) -> Option<String> {
        self.get(name)?.as_str().map(str::to_owned)
    }
    fn boolean(&self, name: &str) -> Option<bool> {
        self.get(name)?.as_bool()
    }
    fn object(&self, name: &str) -> Option<Self> {
        self.get(name).filter(|v| v.is_object()).cloned()
    }
}

impl WriteFields for serde_json::Value {
    fn empty() -> Self {
        serde_json::Value::Object(serde_json::Map::new())
    }
    fn set_string(&mut self, name: &str, value: &str) {
        self[name] = serde_json::Value::from(value);
    }
    fn set_bool(&mut self, name: &str, value: bool) {
        self[name] = serde_json::Value::from(value);
    }
    fn set_object(&mut self, name: &str, value: Self) {
        self[name] = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::AuthResult;
    use crate::events::ErrorPayload;
    use crate::{ApiError, ApiErrorBody};
    use serde_json::{json, Value};

    /// Every Connect UI event, with and without the optional fields.
    fn events() -> Vec<ConnectUiEvent> {
        vec![
            ConnectUiEvent::Ready,
            ConnectUiEvent::Close,
            ConnectUiEvent::Connect {
                payload: payload(Some(true)),
            },
            ConnectUiEvent::Connect {
                payload: payload(None),
            },
            ConnectUiEvent::Error {
                payload: ErrorPayload {
                    error_type: "window_closed".into(),
                    error_message: "closed".into(),
                },
            },
        ]
    }

    fn payload(pending: Option<bool>) -> ConnectPayload {
        ConnectPayload {
            provider_config_key: "github".into(),
            connection_id: "c1".into(),
            is_pending: pending,
        }
    }

    #[test]
    fn ws_frames_read_exactly_what_the_protocol_writes() {
        let frames = [
            WsMessage::ConnectionAck {
                ws_client_id: "w1".into(),
            },
            WsMessage::Success {
                provider_config_key: "github".into(),
                connection_id: "c1".into(),
                is_pending: true,
            },
            WsMessage::Error {
                provider_config_key: "github".into(),
                connection_id: "c1".into(),
                error_type: "token_err".into(),
                error_desc: "bad code".into(),
            },
        ];
        for frame in frames {
            assert_eq!(
                read_ws_message(&serde_json::to_value(&frame).unwrap()),
                Some(frame)
            );
        }
        assert_eq!(read_ws_message(&json!({"message_type": "ping"})), None);
        assert_eq!(read_ws_message(&json!({"type": "success"})), None);
    }

    #[test]
    fn callback_messages_read_exactly_what_the_protocol_writes() {
        let messages = [
            CallbackMessage::Success {
                provider_config_key: "github".into(),
                connection_id: "c1".into(),
            },
            CallbackMessage::Error {
                payload: CallbackErrorPayload {
                    message: "denied".into(),
                    error_type: "callback_err".into(),
                },
            },
            CallbackMessage::Ack,
        ];
        for m in messages {
            assert_eq!(
                read_callback_message(&serde_json::to_value(&m).unwrap()),
                Some(m)
            );
        }
        // Nango's own callback page posts a success without the connection: not enough to resolve.
        assert_eq!(
            read_callback_message(&json!({"type": "nango_oauth_callback_success"})),
            None
        );
    }

    #[test]
    fn connect_ui_signals_read_exactly_what_the_protocol_writes() {
        for e in events() {
            let signal = matches!(e, ConnectUiEvent::Ready | ConnectUiEvent::Close);
            assert_eq!(
                read_connect_ui_signal(&serde_json::to_value(&e).unwrap()),
                signal.then_some(e)
            );
        }
        assert_eq!(
            read_connect_ui_signal(&json!({"type": "settings_changed"})),
            None
        );
    }

    #[test]
    fn written_messages_equal_the_protocol_serialization() {
        for p in [payload(None), payload(Some(false))] {
            assert_eq!(
                write_connect_payload::<Value>(&p),
                serde_json::to_value(&p).unwrap()
            );
        }
        let token = ParentMessage::SessionToken {
            session_token: "nango_connect_session_x".into(),
        };
        assert_eq!(
            write_parent_message::<Value>(&token),
            serde_json::to_value(&token).unwrap()
        );
        assert_eq!(
            write_callback_ack::<Value>(),
            serde_json::to_value(CallbackMessage::Ack).unwrap()
        );
    }

    #[test]
    fn api_error_body_reads_what_the_server_writes() {
        let body = ApiErrorBody {
            error: ApiError {
                code: "invalid_body".into(),
                message: "apiKey is required".into(),
                errors: Some(vec![crate::ValidationIssue {
                    code: "invalid".into(),
                    message: "required".into(),
                    path: vec!["apiKey".into()],
                }]),
            },
        };
        assert_eq!(
            read_api_error(&serde_json::to_value(&body).unwrap()),
            Some(("invalid_body".into(), "apiKey is required".into()))
        );
        assert_eq!(read_api_error(&json!({"message": "no envelope"})), None);
    }

    #[test]
    fn connect_ui_events_are_written_as_the_protocol_serializes_them() {
        for event in events() {
            assert_eq!(
                write_connect_ui_event::<Value>(&event),
                serde_json::to_value(&event).unwrap()
            );
        }
    }

    #[test]
    fn parent_messages_are_read_as_the_protocol_serializes_them() {
        let token = ParentMessage::SessionToken {
            session_token: "nango_connect_session_x".into(),
        };
        assert_eq!(
            read_parent_message(&serde_json::to_value(&token).unwrap()),
            Some(token)
        );
        assert_eq!(
            read_parent_message(&json!({"type": "session_token", "sessionToken": ""})),
            None
        );
        assert_eq!(
            read_parent_message(&json!({"type": "settings_changed", "payload": {}})),
            None
        );
        assert_eq!(read_parent_message(&json!({"sessionToken": "x"})), None);
    }

    #[test]
    fn credential_answers_are_read_as_the_server_writes_them() {
        for pending in [None, Some(true)] {
            let result = AuthResult {
                provider_config_key: "openai".into(),
                connection_id: "c1".into(),
                is_pending: pending,
            };
            let read = read_connect_payload(&serde_json::to_value(&result).unwrap()).unwrap();
            assert_eq!(read.provider_config_key, "openai");
            assert_eq!(read.connection_id, "c1");
            assert_eq!(read.is_pending, pending);
        }
        assert_eq!(read_connect_payload(&json!({"connectionId": "c1"})), None);
    }
}
