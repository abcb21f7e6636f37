//! The SDK's pure core: everything that decides *what* to do, with no browser in sight, so it is unit
//! tested natively (`cargo test -p latchkey-sdk`).
//!
//! - [`layout`]: where the OAuth popup opens and its `window.open` feature string;
//! - [`urls`]: host normalisation, WebSocket scheme, and the query pairs of every URL the SDK builds
//!   (the browser's `URL`/`URLSearchParams` do the parsing and encoding);
//! - [`messages`]: who may talk to us through `postMessage`, and what their messages mean;
//! - [`credentials`]: which endpoint `auth(key, {credentials})` goes to (popup or which `POST`);
//! - [`flow`]: the state machine of one OAuth attempt (which result wins, when to give up);
//! - [`wire`]: reading and writing the protocol's messages field by field (no serde at run time).
//!
//! Nothing here may touch the browser: the browser glue lives in `crate::oauth` and `crate::js`.

pub mod credentials;
pub mod flow;
pub mod layout;
pub mod messages;
pub mod urls;
pub mod wire;

/// Everything needed to run one OAuth popup flow (or, in the façade, one credential `POST`), with a
/// connect session token or (legacy) a public key.
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
    /// Legacy public-key authentication, instead of `connect_session_token`.
    pub public_key: String,
    /// Sent only with `public_key` (with a session token the server assigns the connection id).
    pub connection_id: String,
    /// Public-key mode: the backend-computed HMAC (reference §4.9).
    pub hmac: String,
    /// Slack user scopes, comma-separated.
    pub user_scope: String,
    /// OAuth client overrides as `credentials[k]` query pairs.
    pub credentials: Vec<(String, String)>,
    /// Popup size; 0 means the default (500×600).
    pub width: u32,
    pub height: u32,
    /// Reject with `window_closed` when the popup is closed before a result arrives.
    pub detect_closed_auth_window: bool,
    /// The exact origin of the page opening the popup, sent as `opener_origin` so the callback page
    /// can post its result there even when no `Referer` is sent; empty: the current page's origin.
    pub opener_origin: String,
    /// Redirect mode: the page the browser comes back to (no popup, no WebSocket).
    pub return_url: String,
}

impl OAuthRequest {
    /// The request's query ([`urls::AuthQuery`]), with the WebSocket client id for the popup.
    pub fn query<'a>(&'a self, ws_client_id: Option<&'a str>) -> urls::AuthQuery<'a> {
        urls::AuthQuery {
            connection_id: if self.public_key.is_empty() {
                ""
            } else {
                &self.connection_id
            },
            public_key: &self.public_key,
            connect_session_token: &self.connect_session_token,
            params: &self.params,
            hmac: &self.hmac,
            user_scope: &self.user_scope,
            credentials: &self.credentials,
            authorization_params: &self.authorization_params,
            // Only the popup and redirect mode run in another page, which must be told the origin;
            // the credential `POST`s answer in their response.
            opener_origin: if ws_client_id.is_some() || !self.return_url.is_empty() {
                &self.opener_origin
            } else {
                ""
            },
            return_url: &self.return_url,
            ws_client_id,
        }
    }
}
