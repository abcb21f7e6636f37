//! `auth_mode: BILL` (Bill.com, v3 API): the server logs in at the provider's `token_url` with the
//! end user's username, password, organization id and developer key, and keeps the session it opens
//! (`sessionId`, valid 35 minutes as Nango assumes), logging in again before it lapses.

use crate::connections::ModeError;
use latchkey_protocol::connection::Credentials;
use latchkey_protocol::ErrorCode;
use serde_json::{json, Value};

/// Bill sessions time out after 35 minutes of inactivity (Nango's `DEFAULT_EXPIRES_AT_MS`).
const SESSION_SECS: i64 = 35 * 60;

/// What the end user submits.
pub struct Login<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub organization_id: &'a str,
    pub dev_key: &'a str,
}

fn coded(code: ErrorCode, m: impl Into<String>) -> ModeError {
    ModeError::Coded(code, m.into())
}

/// Logs in and returns the credentials to store.
pub async fn login(
    upstream: crate::outbound::Upstream<'_>,
    raw: &Value,
    l: Login<'_>,
) -> Result<Credentials, ModeError> {
    let url = raw
        .get("token_url")
        .and_then(Value::as_str)
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| {
            coded(
                ErrorCode::MissingTokenUrl,
                "Token URL is missing or invalid.",
            )
        })?;
    let fetch_error = |m: String| coded(ErrorCode::BillTokensFetchError, m);
    let res = upstream
        .outbound
        .post(url)
        .map_err(|e| fetch_error(e.to_string()))?
        .json(&json!({
            "username": l.username,
            "password": l.password,
            "organizationId": l.organization_id,
            "devKey": l.dev_key,
        }))
        .send()
        .await
        .map_err(|e| fetch_error(format!("Bill cannot be reached: {}", e.without_url())))?;
    let status = res.status();
    let bytes = crate::outbound::read_capped(res, crate::outbound::TOKEN_BODY_LIMIT)
        .await
        .map_err(|e| fetch_error(e.to_string()))?;
    let text = String::from_utf8_lossy(&bytes);
    if status.is_client_error() || status.is_server_error() {
        return Err(fetch_error(format!(
            "Bill answered {}{}",
            status.as_u16(),
            super::provider_message(&text)
        )));
    }
    if status != reqwest::StatusCode::OK {
        return Err(coded(
            ErrorCode::InvalidBillCredentials,
            "Bill refused the login.",
        ));
    }
    let answer: Value =
        serde_json::from_str(&text).map_err(|_| fetch_error("Bill's answer is not JSON".into()))?;
    let text_of = |k: &str| {
        answer
            .get(k)
            .and_then(crate::credential_modes::template::scalar)
    };
    let session_id = text_of("sessionId").ok_or_else(|| {
        fetch_error("Bill's answer has no sessionId (incomplete_raw_credentials)".into())
    })?;
    Ok(Credentials::Bill {
        username: l.username.to_string(),
        password: l.password.to_string(),
        organization_id: text_of("organizationId").unwrap_or_else(|| l.organization_id.to_string()),
        dev_key: l.dev_key.to_string(),
        session_id: Some(session_id),
        user_id: text_of("userId"),
        expires_at: Some(crate::time::unix_to_iso(
            upstream.clock.now_unix() + SESSION_SECS,
        )),
        raw: answer,
    })
}

/// Logs in again with the stored credentials.
pub async fn renew(
    upstream: crate::outbound::Upstream<'_>,
    raw: &Value,
    current: &Credentials,
) -> Result<Credentials, ModeError> {
    let Credentials::Bill {
        username,
        password,
        organization_id,
        dev_key,
        ..
    } = current
    else {
        return Err(ModeError::Internal(anyhow::anyhow!("not BILL credentials")));
    };
    login(
        upstream,
        raw,
        Login {
            username,
            password,
            organization_id,
            dev_key,
        },
    )
    .await
}
