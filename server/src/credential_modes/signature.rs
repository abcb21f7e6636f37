//! `auth_mode: SIGNATURE` (Emarsys): a WS-Security `UsernameToken` computed from the username and
//! password — `PasswordDigest` = base64(hex(SHA-1(nonce + created + password))), as Emarsys and Nango
//! compute it — valid for the provider's `token.expires_in_ms`, computed again before it expires.

use crate::connections::ModeError;
use base64::Engine as _;
use latchkey_protocol::connection::Credentials;
use latchkey_protocol::ErrorCode;
use serde_json::Value;
use sha1::Digest as _;

/// Nango's default when the catalog gives no lifetime.
const DEFAULT_LIFETIME_MS: i64 = 5 * 60 * 1000;

/// The WSSE header value for `username`/`password`, created now.
pub fn wsse(username: &str, password: &str) -> String {
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let digest = hex::encode(sha1::Sha1::digest(format!("{nonce}{created}{password}")));
    let digest = base64::engine::general_purpose::STANDARD.encode(digest);
    format!(
        "UsernameToken Username=\"{username}\", PasswordDigest=\"{digest}\", Nonce=\"{nonce}\", Created=\"{created}\""
    )
}

/// SIGNATURE credentials for the provider of catalog entry `raw`, created at `now_unix` (the
/// server's clock: when the stored token is due for renewal).
pub fn create(
    raw: &Value,
    username: &str,
    password: &str,
    now_unix: i64,
) -> Result<Credentials, ModeError> {
    let protocol = raw
        .pointer("/signature/protocol")
        .and_then(Value::as_str)
        .unwrap_or("WSSE");
    if protocol != "WSSE" {
        return Err(ModeError::Coded(
            ErrorCode::FailedToGenerate,
            format!("unsupported signature protocol {protocol}"),
        ));
    }
    let lifetime_ms = raw
        .pointer("/token/expires_in_ms")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_LIFETIME_MS);
    Ok(Credentials::Signature {
        username: username.to_string(),
        password: password.to_string(),
        token: wsse(username, password),
        expires_at: Some(crate::time::unix_to_iso(now_unix + lifetime_ms / 1000)),
    })
}
