//! The authorization-code exchange at a provider's token endpoint.
//!
//! A thin layer over the outbound `reqwest` client rather than `oauth2`'s typed exchange: real
//! providers break RFC 6749 parsing (string `expires_in`, missing `token_type`, JSON bodies, extra
//! fields we must keep as `raw`), and Nango stores the whole response. Form and JSON encoding and
//! HTTP Basic are done by `reqwest`/`serde`.

use crate::outbound::{OutboundClient, OutboundError, TokenError};
use crate::secret::Secret;
use std::collections::BTreeMap;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the body (Nango's default).
    Body,
    /// HTTP Basic (`authorization_method: header` or `token_request_auth_method: basic`).
    Basic,
    /// A public client (RFC 6749 §2.1; MCP clients registered with `token_endpoint_auth_method:
    /// none`): `client_id` in the body, no secret.
    None,
}

impl ClientAuth {
    /// The provider's choice: HTTP Basic for `authorization_method: header` or
    /// `token_request_auth_method: basic`, the request body otherwise.
    pub fn for_provider(provider: &crate::catalog::Provider) -> Self {
        if provider.authorization_method.as_deref() == Some("header")
            || provider.token_request_auth_method.as_deref() == Some("basic")
        {
            Self::Basic
        } else {
            Self::Body
        }
    }
}

/// How the token request body is encoded (`body_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/x-www-form-urlencoded` (RFC 6749, Nango's default).
    Form,
    /// A JSON object of strings.
    Json,
}

impl BodyFormat {
    pub fn for_provider(provider: &crate::catalog::Provider) -> Self {
        if provider.body_format.as_deref() == Some("json") {
            Self::Json
        } else {
            Self::Form
        }
    }
}

#[derive(Debug)]
pub struct TokenRequest<'a> {
    pub token_url: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a Secret,
    pub auth: ClientAuth,
    pub format: BodyFormat,
    pub params: BTreeMap<String, String>,
}

/// A parsed token response.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    /// The whole response, as the provider sent it.
    pub raw: serde_json::Value,
}

impl TokenSet {
    /// The stored form. A provider that does not rotate refresh tokens answers a refresh without one:
    /// `previous_refresh_token` stays valid then.
    /// `config_override` is the OAuth client the connection was authorized with, when not the
    /// integration's; it is kept with the tokens (sealed) so refreshes use the same client.
    pub fn into_credentials(
        self,
        previous_refresh_token: Option<String>,
        config_override: Option<latchkey_protocol::connection::ConfigOverride>,
    ) -> latchkey_protocol::connection::Credentials {
        latchkey_protocol::connection::Credentials::OAuth2 {
            access_token: self.access_token.expose().to_string(),
            refresh_token: self
                .refresh_token
                .map(|t| t.expose().to_string())
                .or(previous_refresh_token),
            expires_at: self.expires_at.map(crate::time::unix_to_iso),
            raw: self.raw,
            config_override,
        }
    }
}

/// Sends `req`; the answer's `expires_in` is counted from `clock`'s now.
pub async fn request_token(
    client: &OutboundClient,
    clock: &crate::time::Clock,
    req: TokenRequest<'_>,
) -> Result<TokenSet, TokenError> {
    let mut form = req.params.clone();
    let mut builder = client
        .post(req.token_url)?
        .header(reqwest::header::ACCEPT, "application/json");
    match req.auth {
        ClientAuth::Body => {
            form.insert("client_id".into(), req.client_id.into());
            form.insert("client_secret".into(), req.client_secret.expose().into());
        }
        ClientAuth::Basic => {
            builder = builder.basic_auth(req.client_id, Some(req.client_secret.expose()));
        }
        ClientAuth::None => {
            form.insert("client_id".into(), req.client_id.into());
        }
    }
    builder = match req.format {
        BodyFormat::Form => builder.form(&form),
        BodyFormat::Json => builder.json(&form),
    };
    let response = builder.send().await.map_err(OutboundError::from)?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = crate::outbound::read_capped(response, crate::outbound::TOKEN_BODY_LIMIT).await?;
    let body = String::from_utf8_lossy(&body);
    if !status.is_success() {
        return Err(TokenError::Rejected {
            status: status.as_u16(),
            detail: error_detail(&body),
        });
    }
    parse_token_response(&body, &content_type, clock.now_unix())
}

/// What to show of a provider's error body: its OAuth `error`/`error_description`, never the raw body
/// (an HTML error page or an echo of our request would be noise, and could carry secrets).
fn error_detail(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => {
            let err = v
                .get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("unknown_error");
            match v.get("error_description").and_then(|d| d.as_str()) {
                Some(d) => format!("{err}: {d}"),
                None => err.to_string(),
            }
        }
        Err(_) => "non-JSON error response".to_string(),
    }
}

/// Parses JSON or form-encoded token responses, leniently about types.
pub fn parse_token_response(
    body: &str,
    content_type: &str,
    now: i64,
) -> Result<TokenSet, TokenError> {
    let raw: serde_json::Value = if content_type.contains("application/x-www-form-urlencoded")
        || (!body.trim_start().starts_with('{') && body.contains('='))
    {
        let map: serde_json::Map<String, serde_json::Value> =
            url::form_urlencoded::parse(body.as_bytes())
                .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
                .collect();
        serde_json::Value::Object(map)
    } else {
        serde_json::from_str(body)
            .map_err(|_| TokenError::Unparseable("body is neither JSON nor a form".into()))?
    };
    // GitHub answers a refused code or refresh token with 200 and an OAuth `error`.
    if raw.get("access_token").is_none() && raw.get("error").is_some_and(|e| e.is_string()) {
        return Err(TokenError::Rejected {
            status: 200,
            detail: error_detail(body),
        });
    }
    let access_token = raw
        .get("access_token")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| TokenError::Unparseable("no access_token in the response".into()))?;
    let refresh_token = raw
        .get("refresh_token")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty());
    let expires_in = raw.get("expires_in").and_then(|v| match v {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(whole_seconds)),
        serde_json::Value::String(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .or_else(|| s.trim().parse::<f64>().ok().and_then(whole_seconds)),
        _ => None,
    });
    Ok(TokenSet {
        access_token: Secret::new(access_token),
        refresh_token: refresh_token.map(Secret::new),
        expires_at: expires_in.filter(|s| *s > 0).map(|s| expiry(now, s)),
        raw,
    })
}

/// The longest token lifetime believed (100 years, beyond Nango's 99-year default for tokens that do
/// not expire): a provider's `expires_in` is capped to it, so the expiry stays a real date.
pub const MAX_LIFETIME_SECS: i64 = 100 * 365 * 24 * 3600;

/// `now + expires_in`, with the provider's number capped (never an overflow, never a date past year
/// 9999 that the ISO form could not hold).
pub fn expiry(now: i64, expires_in: i64) -> i64 {
    now.saturating_add(expires_in.clamp(0, MAX_LIFETIME_SECS))
}

/// A fractional or huge float `expires_in` as whole seconds (`None` when not a finite number).
fn whole_seconds(f: f64) -> Option<i64> {
    // `as` saturates at the i64 bounds; NaN and infinities are refused first.
    f.is_finite().then(|| f.trunc() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_expires_in_and_missing_token_type_are_accepted() {
        let t = parse_token_response(
            r#"{"access_token":"a","expires_in":"3600"}"#,
            "application/json",
            1000,
        )
        .unwrap();
        assert_eq!(t.access_token.expose(), "a");
        assert_eq!(t.expires_at, Some(4600));
        assert!(t.refresh_token.is_none());
    }

    #[test]
    fn provider_supplied_lifetimes_never_overflow() {
        let now = 1_700_000_000;
        for expires_in in [
            format!("{}", i64::MAX),
            format!("\"{}\"", i64::MAX),
            "1e300".to_string(),
            "3600.9".to_string(),
        ] {
            let t = parse_token_response(
                &format!(r#"{{"access_token":"a","expires_in":{expires_in}}}"#),
                "application/json",
                now,
            )
            .unwrap();
            let at = t.expires_at.unwrap();
            assert!(
                at > now && at <= now + MAX_LIFETIME_SECS,
                "{expires_in} → {at}"
            );
            let iso = crate::time::unix_to_iso(at);
            assert!(!iso.starts_with("1970"), "{expires_in} → {iso}");
        }
        assert_eq!(expiry(i64::MAX - 1, i64::MAX), i64::MAX);
    }

    #[test]
    fn form_encoded_response_is_parsed() {
        let t = parse_token_response(
            "access_token=x&refresh_token=r&scope=repo",
            "application/x-www-form-urlencoded",
            0,
        )
        .unwrap();
        assert_eq!(t.access_token.expose(), "x");
        assert_eq!(t.refresh_token.unwrap().expose(), "r");
        assert_eq!(t.raw["scope"], "repo");
    }

    #[test]
    fn response_without_access_token_is_an_error() {
        assert!(parse_token_response(r#"{"error":"bad"}"#, "application/json", 0).is_err());
        assert!(parse_token_response("<html>oops</html>", "text/html", 0).is_err());
    }

    #[test]
    fn error_detail_never_echoes_html() {
        assert_eq!(
            error_detail("<html>secret</html>"),
            "non-JSON error response"
        );
        assert_eq!(
            error_detail(r#"{"error":"invalid_grant","error_description":"PKCE"}"#),
            "invalid_grant: PKCE"
        );
    }
}
