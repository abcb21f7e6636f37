//! Latchkey frontend SDK.
//!
//! Two faces over one core:
//! - the Rust API below ([`start_oauth`], [`OAuthFlow`], [`AuthError`]), used by the Connect UI;
//! - with the `js` feature, the wasm-bindgen façade exported to JavaScript as the `Nango` class.
//!
//! STUB: the public signatures in this file are the contract the Connect UI builds against; the SDK
//! owner implements them (and may add modules), but must keep these signatures.

pub use latchkey_protocol::events::ConnectPayload;

/// A typed SDK failure: `kind` is an `AuthErrorType` string (`blocked_by_browser`, `window_closed`, …)
/// or a server error code passed through verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    pub kind: String,
    pub message: String,
}

/// Everything needed to run one OAuth popup flow with a connect session token.
#[derive(Debug, Clone, Default)]
pub struct OAuthRequest {
    /// API base URL, e.g. `http://localhost:3003` (a path prefix is kept).
    pub host: String,
    /// WebSocket path on the API host, `/` by default.
    pub websockets_path: String,
    pub provider_config_key: String,
    pub connect_session_token: String,
    /// Connection config (`params[k]=v`).
    pub params: Vec<(String, String)>,
    /// Extra authorization URL params (`authorization_params[k]=v`).
    pub authorization_params: Vec<(String, String)>,
    /// Popup size; 0 means the default (500×600).
    pub width: u32,
    pub height: u32,
    /// Reject with `window_closed` when the popup is closed before a result arrives.
    pub detect_closed_auth_window: bool,
}

/// A running OAuth flow; dropping it (or [`OAuthFlow::cancel`]) closes the popup and the socket.
pub struct OAuthFlow {
    _private: (),
}

/// Opens the popup **synchronously** (call it directly inside the user's click handler, before any
/// `await`), then starts the flow. Fails with `blocked_by_browser` when the popup could not open.
pub fn start_oauth(req: OAuthRequest) -> Result<OAuthFlow, AuthError> {
    let _ = req;
    unimplemented!("stub")
}

impl OAuthFlow {
    /// Resolves with the connection once the server reports success (WebSocket frame or the callback
    /// page's `postMessage`, whichever comes first); rejects with a typed [`AuthError`] otherwise.
    pub async fn wait(self) -> Result<ConnectPayload, AuthError> {
        unimplemented!("stub")
    }

    /// Closes the popup and the socket; safe to call at any time.
    pub fn cancel(&self) {}
}
