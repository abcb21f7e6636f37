//! Who may talk to the SDK through `postMessage`, and what their messages mean.
//!
//! Every receiver first calls [`admit`]: the event's `origin` must be exactly the origin we expect
//! (the Connect UI's, or the API host's for the OAuth callback page) AND its `source` must be the very
//! window we opened (iframe or popup). Only then is the data decoded into a `latchkey_protocol` type
//! and mapped here to an action. This module never looks at anything else of an event.

use latchkey_protocol::events::{CallbackMessage, ConnectPayload, ConnectUiEvent};
use latchkey_protocol::ws::WsMessage;

use super::flow::FlowEvent;
use crate::AuthError;

/// Why a `message` event was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// `event.origin` is not the expected origin.
    ForeignOrigin,
    /// `event.source` is not the window we opened (another frame of the same origin, for instance).
    ForeignSource,
    /// The data is not an object with a `type`.
    NotAnEvent,
}

/// What the receiving side knows of one `message` event.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub origin: &'a str,
    /// `event.source === <the window we opened>`.
    pub from_our_window: bool,
    /// `event.data` is an object with a string `type`.
    pub has_type: bool,
}

/// Admits a `message` event sent by our own window from `expected_origin`, or says why not.
pub fn admit(incoming: Incoming<'_>, expected_origin: &str) -> Result<(), Dropped> {
    if incoming.origin != expected_origin {
        Err(Dropped::ForeignOrigin)
    } else if !incoming.from_our_window {
        Err(Dropped::ForeignSource)
    } else if !incoming.has_type {
        Err(Dropped::NotAnEvent)
    } else {
        Ok(())
    }
}

/// What the parent page does with an admitted Connect UI event (besides forwarding it to `onEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectUiAction {
    /// `ready`: the iframe listens now; send it the session token.
    SendSessionToken,
    /// `close`: remove the iframe.
    Close,
    /// Any other event (`connect`, `error`, or one we do not know): only forward it.
    ForwardOnly,
}

impl ConnectUiAction {
    /// `event` is `None` when the data had a `type` but is not one of our events' shapes.
    pub fn for_event(event: Option<&ConnectUiEvent>) -> Self {
        match event {
            Some(ConnectUiEvent::Ready) => Self::SendSessionToken,
            Some(ConnectUiEvent::Close) => Self::Close,
            _ => Self::ForwardOnly,
        }
    }
}

/// The result an admitted message from the OAuth callback page carries, if any (an `ack` carries none).
pub fn callback_result(message: CallbackMessage) -> Option<Result<ConnectPayload, AuthError>> {
    match message {
        CallbackMessage::Success {
            provider_config_key,
            connection_id,
        } => Some(Ok(ConnectPayload {
            provider_config_key,
            connection_id,
            is_pending: None,
        })),
        CallbackMessage::Error { payload } => {
            Some(Err(AuthError::new(payload.error_type, payload.message)))
        }
        CallbackMessage::Ack => None,
    }
}

/// The flow event a WebSocket frame stands for.
pub fn ws_event(frame: WsMessage) -> FlowEvent {
    match frame {
        WsMessage::ConnectionAck { ws_client_id } => FlowEvent::Ack { ws_client_id },
        WsMessage::Success {
            provider_config_key,
            connection_id,
            is_pending,
        } => FlowEvent::Result(Ok(ConnectPayload {
            provider_config_key,
            connection_id,
            is_pending: Some(is_pending),
        })),
        WsMessage::Error {
            error_type,
            error_desc,
            ..
        } => FlowEvent::Result(Err(AuthError::new(error_type, error_desc))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: &str = "http://localhost:3003";

    fn incoming(origin: &str, from_our_window: bool, has_type: bool) -> Incoming<'_> {
        Incoming {
            origin,
            from_our_window,
            has_type,
        }
    }

    #[test]
    fn message_from_our_window_at_the_expected_origin_is_admitted() {
        assert_eq!(admit(incoming(API, true, true), API), Ok(()));
    }

    #[test]
    fn message_from_a_foreign_origin_is_dropped_even_from_our_window() {
        assert_eq!(
            admit(incoming("https://evil.test", true, true), API),
            Err(Dropped::ForeignOrigin)
        );
        // Origins compare exactly: scheme, host and port.
        assert_eq!(
            admit(incoming("http://localhost:3004", true, true), API),
            Err(Dropped::ForeignOrigin)
        );
        assert_eq!(
            admit(incoming("https://localhost:3003", true, true), API),
            Err(Dropped::ForeignOrigin)
        );
        assert_eq!(
            admit(incoming("null", true, true), API),
            Err(Dropped::ForeignOrigin)
        );
    }

    #[test]
    fn message_from_another_window_of_the_right_origin_is_dropped() {
        assert_eq!(
            admit(incoming(API, false, true), API),
            Err(Dropped::ForeignSource)
        );
    }

    #[test]
    fn data_without_a_type_is_dropped() {
        assert_eq!(
            admit(incoming(API, true, false), API),
            Err(Dropped::NotAnEvent)
        );
    }

    #[test]
    fn ready_sends_the_token_close_closes_and_the_rest_is_only_forwarded() {
        assert_eq!(
            ConnectUiAction::for_event(Some(&ConnectUiEvent::Ready)),
            ConnectUiAction::SendSessionToken
        );
        assert_eq!(
            ConnectUiAction::for_event(Some(&ConnectUiEvent::Close)),
            ConnectUiAction::Close
        );
        let connect: ConnectUiEvent = serde_json::from_str(
            r#"{"type":"connect","payload":{"providerConfigKey":"github","connectionId":"c1"}}"#,
        )
        .unwrap();
        assert_eq!(
            ConnectUiAction::for_event(Some(&connect)),
            ConnectUiAction::ForwardOnly
        );
        assert_eq!(
            ConnectUiAction::for_event(None),
            ConnectUiAction::ForwardOnly
        );
    }

    #[test]
    fn callback_success_resolves_with_the_connection() {
        let m: CallbackMessage = serde_json::from_str(
            r#"{"type":"nango_oauth_callback_success","providerConfigKey":"github","connectionId":"c1"}"#,
        )
        .unwrap();
        assert_eq!(
            callback_result(m),
            Some(Ok(ConnectPayload {
                provider_config_key: "github".into(),
                connection_id: "c1".into(),
                is_pending: None
            }))
        );
    }

    #[test]
    fn callback_error_rejects_with_its_error_type() {
        let m: CallbackMessage = serde_json::from_str(
            r#"{"type":"nango_oauth_callback_error","payload":{"message":"denied","errorType":"callback_err"}}"#,
        )
        .unwrap();
        assert_eq!(
            callback_result(m),
            Some(Err(AuthError::new("callback_err", "denied")))
        );
        assert_eq!(callback_result(CallbackMessage::Ack), None);
    }

    #[test]
    fn ws_frames_map_to_flow_events() {
        let ack: WsMessage =
            serde_json::from_str(r#"{"message_type":"connection_ack","ws_client_id":"w1"}"#)
                .unwrap();
        assert_eq!(
            ws_event(ack),
            FlowEvent::Ack {
                ws_client_id: "w1".into()
            }
        );

        let ok: WsMessage = serde_json::from_str(
            r#"{"message_type":"success","provider_config_key":"github","connection_id":"c1","is_pending":false}"#,
        )
        .unwrap();
        assert_eq!(
            ws_event(ok),
            FlowEvent::Result(Ok(ConnectPayload {
                provider_config_key: "github".into(),
                connection_id: "c1".into(),
                is_pending: Some(false)
            }))
        );

        let err: WsMessage = serde_json::from_str(
            r#"{"message_type":"error","provider_config_key":"github","connection_id":"","error_type":"token_err","error_desc":"bad code"}"#,
        )
        .unwrap();
        assert_eq!(
            ws_event(err),
            FlowEvent::Result(Err(AuthError::new("token_err", "bad code")))
        );
    }
}
