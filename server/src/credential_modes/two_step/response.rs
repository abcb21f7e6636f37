//! The token in the provider's last answer (Nango's `parseRawCredentials(…, 'TWO_STEP')`) and when it
//! expires: the answer's own expiry, the catalog's fixed lifetime, or the JWT's `exp`.

use super::{coded, Spec};
use crate::connections::ModeError;
use crate::credential_modes::template::{at_path, scalar};
use latchkey_protocol::connection::Credentials;
use latchkey_protocol::ErrorCode;
use serde_json::{Map, Value};

/// Nango's `parseRawCredentials(…, 'TWO_STEP')`; an unreadable answer is a fetch error, as there.
/// A relative expiry counts from `now` (the server's clock).
pub(super) fn parse(
    spec: &Spec,
    raw: Value,
    dynamic: Map<String, Value>,
    now: i64,
) -> Result<Credentials, ModeError> {
    let incomplete = || {
        coded(
            ErrorCode::TwoStepCredentialsFetchError,
            "the provider's answer has no token (incomplete_raw_credentials)",
        )
    };
    let token = match spec.token_response.token.as_deref() {
        Some(path) => at_path(&raw, path).and_then(scalar),
        None => scalar(&raw),
    }
    .filter(|t| !t.is_empty())
    .ok_or_else(incomplete)?;
    let refresh_token = spec
        .token_response
        .refresh_token
        .as_deref()
        .and_then(|p| at_path(&raw, p))
        .and_then(scalar);
    let expiration = spec
        .token_response
        .token_expiration
        .as_deref()
        .and_then(|p| at_path(&raw, p))
        .filter(|v| !v.is_null());
    let strategy = spec
        .token_response
        .token_expiration_strategy
        .as_deref()
        .unwrap_or("expireAt");
    let mut expires_at = match (expiration, strategy) {
        (Some(v), "expireIn") => Some(now + seconds(v)?),
        (Some(v), _) => Some(instant(v)?),
        (None, _) => match spec.token_expires_in_ms {
            Some(ms) if ms > 0 => Some(now + ms / 1000),
            _ => None,
        },
    };
    // A JWT token's own `exp` (minus Nango's margin) when the answer gave no expiry.
    if expiration.is_none() {
        for t in std::iter::once(&token).chain(refresh_token.as_ref()) {
            if let Some(exp) = jwt_exp(t) {
                let at = exp - REFRESH_MARGIN_SECS;
                expires_at = Some(expires_at.map_or(at, |e: i64| e.min(at)));
            }
        }
    }
    let mut fields = dynamic;
    fields.remove("token");
    fields.remove("refresh_token");
    Ok(Credentials::TwoStep {
        token,
        refresh_token,
        expires_at: expires_at.map(crate::time::unix_to_iso),
        raw,
        fields,
    })
}

/// Nango renews a token whose JWT `exp` is this close.
const REFRESH_MARGIN_SECS: i64 = 5 * 60;

/// `expires_in` as seconds: a number or a numeric string.
fn seconds(v: &Value) -> Result<i64, ModeError> {
    scalar(v)
        .and_then(|s| s.trim().parse::<f64>().ok())
        .map(|f| f as i64)
        .ok_or_else(|| {
            coded(
                ErrorCode::TwoStepCredentialsFetchError,
                "the provider's token lifetime is not a number of seconds",
            )
        })
}

/// An absolute expiry: unix seconds or milliseconds, or a date (RFC 3339 / RFC 2822).
fn instant(v: &Value) -> Result<i64, ModeError> {
    let bad = || {
        coded(
            ErrorCode::TwoStepCredentialsFetchError,
            "the provider's token expiry is not a date",
        )
    };
    let s = scalar(v).ok_or_else(bad)?;
    if let Ok(n) = s.trim().parse::<f64>() {
        let n = n as i64;
        return Ok(if n > 100_000_000_000 { n / 1000 } else { n });
    }
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .or_else(|_| chrono::DateTime::parse_from_rfc2822(s.trim()))
        .map(|t| t.timestamp())
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S%.f")
                .map(|t| t.and_utc().timestamp())
        })
        .map_err(|_| bad())
}

/// The `exp` claim of a JWT-shaped token, read without verifying (only to schedule the renewal).
pub(in crate::credential_modes) fn jwt_exp(token: &str) -> Option<i64> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value) -> Spec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn token_and_expiry_follow_the_token_response_block() {
        let s = spec(json!({"token_response": {"token": "data.access_token",
            "token_expiration": "expires_in", "token_expiration_strategy": "expireIn"}}));
        let raw = json!({"data": {"access_token": "T"}, "expires_in": "3600"});
        let mut fields = Map::new();
        fields.insert("clientId".into(), json!("c"));
        let c = parse(&s, raw, fields, crate::time::real_unix()).unwrap();
        let Credentials::TwoStep {
            token,
            expires_at,
            fields,
            ..
        } = c
        else {
            panic!()
        };
        assert_eq!(token, "T");
        assert_eq!(fields["clientId"], "c");
        let at = chrono::DateTime::parse_from_rfc3339(&expires_at.unwrap()).unwrap();
        assert!((at.timestamp() - crate::time::real_unix() - 3600).abs() < 5);
    }
}
