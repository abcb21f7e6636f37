//! The state machine of one OAuth attempt in the popup (PROTOCOL.md §5, reference §1.4).
//!
//! Two channels may report the result (the WebSocket frame and the callback page's `postMessage`):
//! the first one settles the flow, anything after it is ignored. Beyond Nango, the flow also gives up
//! with a clear error instead of leaving a blank popup hanging: when the socket fails or closes before
//! a result, when the server never acknowledges the socket, and when the user closes the popup while it
//! is still blank (a blank popup cannot be severed by `Cross-Origin-Opener-Policy`, so `closed` is real).
//! Once the provider's page is loaded, `closed` may be a COOP artefact, so it only counts when the
//! integrator opted in with `detectClosedAuthWindow`.

use latchkey_protocol::events::ConnectPayload;

use crate::AuthError;

/// How long the server has to acknowledge the WebSocket before the flow gives up.
pub const ACK_TIMEOUT_MS: i32 = 15_000;
/// How often the popup's `closed` flag is polled (as Nango).
pub const POPUP_POLL_MS: i32 = 500;
/// Delay before the popup is closed at the end, so the callback page can post its message first.
pub const POPUP_CLOSE_DELAY_MS: i32 = 500;

/// Something that happened to the flow.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowEvent {
    /// The server acknowledged the WebSocket and named our client id.
    Ack { ws_client_id: String },
    /// A result, from either channel.
    Result(Result<ConnectPayload, AuthError>),
    /// The WebSocket failed or closed.
    SocketLost,
    /// No acknowledgement within [`ACK_TIMEOUT_MS`].
    AckTimedOut,
    /// The popup's `closed` flag reads `true`.
    PopupClosed,
    /// The caller cancelled the flow (or dropped it).
    Cancelled,
}

/// What the browser glue must do in response.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowAction {
    Nothing,
    /// Navigate the popup to `/oauth/connect/:key` with this `ws_client_id`.
    Navigate(String),
    /// The flow is over: clean up and hand this result to the waiter.
    Settle(Result<ConnectPayload, AuthError>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Popup blank, waiting for the WebSocket acknowledgement.
    Connecting,
    /// Popup sent to the server/provider, waiting for a result.
    Authorizing,
    Settled,
}

/// One OAuth attempt's state.
#[derive(Debug, Clone, Copy)]
pub struct FlowMachine {
    phase: Phase,
    detect_closed_auth_window: bool,
    /// The socket dropped while the popup was at the provider: the callback page's `postMessage` is
    /// now the only channel, so the flow waits for it until the popup closes.
    socket_lost: bool,
}

impl FlowMachine {
    pub fn new(detect_closed_auth_window: bool) -> Self {
        Self {
            phase: Phase::Connecting,
            detect_closed_auth_window,
            socket_lost: false,
        }
    }

    pub fn is_settled(&self) -> bool {
        self.phase == Phase::Settled
    }

    /// Feeds one event; `popup_closed` is the popup's `closed` flag at that moment.
    pub fn on(&mut self, event: FlowEvent, popup_closed: bool) -> FlowAction {
        let action = match (self.phase, event) {
            (Phase::Settled, _) => FlowAction::Nothing,
            (Phase::Connecting, FlowEvent::Ack { .. }) if popup_closed => {
                FlowAction::Settle(Err(AuthError::blocked_by_browser()))
            }
            (Phase::Connecting, FlowEvent::Ack { ws_client_id }) => {
                self.phase = Phase::Authorizing;
                return FlowAction::Navigate(ws_client_id);
            }
            (_, FlowEvent::Ack { .. }) => FlowAction::Nothing,
            (_, FlowEvent::Result(result)) => FlowAction::Settle(result),
            (Phase::Connecting, FlowEvent::SocketLost) => FlowAction::Settle(Err(
                AuthError::unknown("WebSocket to the server failed: check host and websocketsPath"),
            )),
            // A proxy may cut the socket while the user is at the provider: the callback page's
            // `postMessage` can still bring the result, so wait while the popup is open.
            (_, FlowEvent::SocketLost) if !popup_closed => {
                self.socket_lost = true;
                FlowAction::Nothing
            }
            (_, FlowEvent::SocketLost) => FlowAction::Settle(Err(AuthError::unknown(
                "WebSocket closed before the flow completed",
            ))),
            (Phase::Connecting, FlowEvent::AckTimedOut) => FlowAction::Settle(Err(
                AuthError::unknown("WebSocket not acknowledged in time"),
            )),
            (_, FlowEvent::AckTimedOut) => FlowAction::Nothing,
            (Phase::Connecting, FlowEvent::PopupClosed) => {
                FlowAction::Settle(Err(AuthError::window_closed()))
            }
            (_, FlowEvent::PopupClosed) if self.socket_lost => FlowAction::Settle(Err(
                AuthError::unknown("WebSocket closed before the flow completed"),
            )),
            (_, FlowEvent::PopupClosed) if self.detect_closed_auth_window => {
                FlowAction::Settle(Err(AuthError::window_closed()))
            }
            (_, FlowEvent::PopupClosed) => FlowAction::Nothing,
            (_, FlowEvent::Cancelled) => {
                FlowAction::Settle(Err(AuthError::unknown("Authorization cancelled")))
            }
        };
        if matches!(action, FlowAction::Settle(_)) {
            self.phase = Phase::Settled;
        }
        action
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Result<ConnectPayload, AuthError> {
        Ok(ConnectPayload {
            provider_config_key: "github".into(),
            connection_id: "c1".into(),
            is_pending: Some(false),
        })
    }

    fn kind(action: FlowAction) -> String {
        match action {
            FlowAction::Settle(Err(e)) => e.kind,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    fn authorizing(detect: bool) -> FlowMachine {
        let mut m = FlowMachine::new(detect);
        assert_eq!(
            m.on(
                FlowEvent::Ack {
                    ws_client_id: "w1".into()
                },
                false
            ),
            FlowAction::Navigate("w1".into())
        );
        m
    }

    #[test]
    fn ack_navigates_the_popup_once() {
        let mut m = authorizing(false);
        assert_eq!(
            m.on(
                FlowEvent::Ack {
                    ws_client_id: "w2".into()
                },
                false
            ),
            FlowAction::Nothing
        );
    }

    #[test]
    fn first_result_wins_and_the_duplicate_is_ignored() {
        let mut m = authorizing(false);
        assert_eq!(
            m.on(FlowEvent::Result(ok()), false),
            FlowAction::Settle(ok())
        );
        assert!(m.is_settled());
        assert_eq!(
            m.on(
                FlowEvent::Result(Err(AuthError::new("token_err", "x"))),
                false
            ),
            FlowAction::Nothing
        );
        assert_eq!(m.on(FlowEvent::SocketLost, true), FlowAction::Nothing);
        assert_eq!(m.on(FlowEvent::Cancelled, true), FlowAction::Nothing);
    }

    #[test]
    fn a_result_may_arrive_before_the_ack_through_the_callback_page() {
        let mut m = FlowMachine::new(false);
        assert_eq!(
            m.on(FlowEvent::Result(ok()), false),
            FlowAction::Settle(ok())
        );
    }

    #[test]
    fn socket_failure_before_a_result_rejects_with_unknown_error() {
        assert_eq!(
            kind(FlowMachine::new(false).on(FlowEvent::SocketLost, false)),
            "unknown_error"
        );
        assert_eq!(
            kind(authorizing(false).on(FlowEvent::SocketLost, true)),
            "unknown_error"
        );
    }

    #[test]
    fn after_the_socket_drops_the_callback_page_can_still_bring_the_result() {
        let mut m = authorizing(false);
        assert_eq!(m.on(FlowEvent::SocketLost, false), FlowAction::Nothing);
        assert_eq!(
            m.on(FlowEvent::Result(ok()), false),
            FlowAction::Settle(ok())
        );
        // …and without one, the popup closing ends the wait (even without detectClosedAuthWindow).
        let mut m = authorizing(false);
        assert_eq!(m.on(FlowEvent::SocketLost, false), FlowAction::Nothing);
        assert_eq!(kind(m.on(FlowEvent::PopupClosed, true)), "unknown_error");
    }

    #[test]
    fn missing_ack_times_out_but_a_late_timer_after_ack_does_nothing() {
        assert_eq!(
            kind(FlowMachine::new(false).on(FlowEvent::AckTimedOut, false)),
            "unknown_error"
        );
        assert_eq!(
            authorizing(false).on(FlowEvent::AckTimedOut, false),
            FlowAction::Nothing
        );
    }

    #[test]
    fn closing_the_blank_popup_rejects_even_without_detection() {
        assert_eq!(
            kind(FlowMachine::new(false).on(FlowEvent::PopupClosed, true)),
            "window_closed"
        );
    }

    #[test]
    fn closed_popup_at_ack_time_is_blocked_by_browser() {
        let mut m = FlowMachine::new(false);
        assert_eq!(
            kind(m.on(
                FlowEvent::Ack {
                    ws_client_id: "w".into()
                },
                true
            )),
            "blocked_by_browser"
        );
    }

    #[test]
    fn closing_the_provider_popup_rejects_only_when_detection_is_on() {
        // COOP may make `closed` read true while the window is open: ignored by default.
        assert_eq!(
            authorizing(false).on(FlowEvent::PopupClosed, true),
            FlowAction::Nothing
        );
        let mut m = authorizing(true);
        match m.on(FlowEvent::PopupClosed, true) {
            FlowAction::Settle(Err(e)) => {
                assert_eq!(e.kind, "window_closed");
                assert_eq!(e.message, "The authorization window was closed before the authorization flow was completed");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cancel_settles_a_running_flow() {
        assert_eq!(
            kind(authorizing(false).on(FlowEvent::Cancelled, false)),
            "unknown_error"
        );
    }
}
