//! The REST paths the SDK, the Connect UI and the server share. A path that takes an integration key
//! ends with `/`: the caller appends the (URL-encoded) key, the server mounts `<path>{key}`.

use crate::integrations::AuthMode;

/// `GET /connect/session`: the Connect UI's session settings.
pub const CONNECT_SESSION: &str = "/connect/session";
/// `GET /integrations`: the integrations a session may connect.
pub const INTEGRATIONS: &str = "/integrations";
/// `GET /providers/:provider`.
pub const PROVIDERS: &str = "/providers/";
/// `GET /oauth/connect/:key`: the OAuth popup's target.
pub const OAUTH_CONNECT: &str = "/oauth/connect/";
/// `POST /oauth/result/:id`: redirect mode's result id, redeemed once (no body). The server mounts it
/// as `/oauth/result/{id}`, the name its OpenAPI document gives the parameter.
pub const REDIRECT_RESULT: &str = "/oauth/result/";
/// `POST /api-auth/api-key/:key`, body `{apiKey}`.
pub const API_KEY: &str = "/api-auth/api-key/";
/// `POST /api-auth/basic/:key`, body `{username, password}`.
pub const BASIC: &str = "/api-auth/basic/";
/// `POST /oauth2/auth/:key` (OAuth 2 client credentials), body `{client_id, client_secret?, …}`.
pub const CLIENT_CREDENTIALS: &str = "/oauth2/auth/";
/// `POST /auth/unauthenticated/:key` (`auth_mode: NONE`), no body.
pub const UNAUTHENTICATED: &str = "/auth/unauthenticated/";
/// `POST /auth/two-step/:key`, body: every credential entry (with `type`).
pub const TWO_STEP: &str = "/auth/two-step/";
/// `POST /auth/jwt/:key`, body: every credential entry.
pub const JWT: &str = "/auth/jwt/";
/// `POST /auth/signature/:key`, body `{type, username, password}`.
pub const SIGNATURE: &str = "/auth/signature/";
/// `POST /auth/bill/:key`, body `{username, password, organization_id, dev_key}`.
pub const BILL: &str = "/auth/bill/";
/// `POST /auth/tba/:key`, body `{token_id, token_secret, oauth_client_*_override?}`.
pub const TBA: &str = "/auth/tba/";
/// `POST /auth/aws-sigv4/:key`, body `{role_arn, region?}`.
pub const AWS_SIGV4: &str = "/auth/aws-sigv4/";

/// Where credentials of an auth mode are posted (no popup); `None` for the popup modes and for
/// `NONE`, which posts none ([`UNAUTHENTICATED`] is the SDK's `create()`).
pub fn credentials(mode: &AuthMode) -> Option<&'static str> {
    Some(match mode {
        AuthMode::ApiKey => API_KEY,
        AuthMode::Basic => BASIC,
        AuthMode::Oauth2Cc => CLIENT_CREDENTIALS,
        AuthMode::TwoStep => TWO_STEP,
        AuthMode::Jwt => JWT,
        AuthMode::Bill => BILL,
        AuthMode::Signature => SIGNATURE,
        AuthMode::Tba => TBA,
        AuthMode::AwsSigV4 => AWS_SIGV4,
        _ => return None,
    })
}

/// The server's mount point for a keyed path: `/auth/jwt/` → `/auth/jwt/{key}` (axum's syntax).
pub fn keyed(path: &str) -> String {
    format!("{path}{{key}}")
}
