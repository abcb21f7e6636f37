//! Names of URL parameters and fixed strings that two parts must agree on.

/// Prefix of every connect session token (`nango_connect_session_` + 64 lowercase hex).
pub const SESSION_TOKEN_PREFIX: &str = "nango_connect_session_";
/// Query parameter carrying the session token on auth-initiation routes (`/oauth/connect/:key`, …).
pub const CONNECT_SESSION_TOKEN: &str = "connect_session_token";
/// Query parameter carrying the WebSocket client id the result must be pushed to.
pub const WS_CLIENT_ID: &str = "ws_client_id";
/// Query parameter our SDK and Connect UI add to `GET /oauth/connect/:key`: the exact origin of the
/// page that opened the popup, where the callback page posts its result (the official SDK sends
/// none; the server then falls back to the `Referer` origin).
pub const OPENER_ORIGIN: &str = "opener_origin";
/// Redirect mode (no popup): query parameter of `GET /oauth/connect/:key` naming the page the browser
/// returns to when the flow ends. Its origin must be one of the environment's allowed origins.
pub const RETURN_URL: &str = "return_url";
/// Redirect mode: query parameter added to the `return_url` on return, holding the single-use id
/// of the flow's outcome (redeemed once at `POST /oauth/result/:id`; no token or secret in the URL).
pub const REDIRECT_RESULT: &str = "latchkey_result";
/// Connect UI parameter added by our SDK's `openConnectUI({redirect: {returnUrl}})`: where the
/// top window comes back to when the user continues in this window (redirect mode).
pub const CONNECT_UI_RETURN_URL: &str = "returnUrl";
/// Connect UI parameter: base URL of the API (may include a path prefix).
pub const API_URL: &str = "apiURL";
/// Connect UI parameter added by our SDK: the exact origin of the embedding page. The iframe posts
/// only to this origin and accepts `session_token` only from it.
pub const PARENT_ORIGIN: &str = "parentOrigin";
/// Connect UI parameter for connect links opened as a top-level page.
pub const SESSION_TOKEN: &str = "session_token";
/// Connect UI parameter: UI language.
pub const LANG: &str = "lang";
/// Connect UI parameter: `light` | `dark` | `system`.
pub const THEME: &str = "theme";
/// Connect UI parameter: `true` to reject when the OAuth popup is closed early.
pub const DETECT_CLOSED_AUTH_WINDOW: &str = "detectClosedAuthWindow";
/// Default WebSocket path on the API port, as Nango.
pub const DEFAULT_WEBSOCKETS_PATH: &str = "/";
