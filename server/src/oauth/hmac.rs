//! HMAC public-key mode (reference §4.9): when an environment enables it, a frontend call authenticated
//! by the public key must carry `hmac = hex(HMAC-SHA256(hmac_key, "<integration>:<connection>"))` (over
//! the integration key alone when no connection id is involved), computed by the customer's backend.
//!
//! Unlike Nango (plain string equality) the digest is compared in constant time, through
//! `Mac::verify_slice`. The environment setting that supplies the key is wired by the caller: `None`
//! means HMAC mode is off.
//!
//! A digest may carry an expiry (`hmac_expires=<unix seconds>`, signed as
//! `"<integration>:<connection>:<expires>"`): a leaked page URL then stops working after a few
//! minutes. `LATCHKEY_PUBLIC_KEY_MODE=hmac` requires it ([`check_request`] with `require`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HmacError {
    #[error("Missing HMAC digest.")]
    Missing,
    #[error("Invalid HMAC digest.")]
    Invalid,
    #[error("The HMAC digest has expired or its expiry is too far ahead (at most one hour).")]
    Expired,
    #[error("This server requires an expiring HMAC digest (hmac_expires).")]
    MissingExpiry,
}

fn mac(key: &str, integration: &str, connection_id: Option<&str>) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(integration.as_bytes());
    if let Some(id) = connection_id {
        mac.update(b":");
        mac.update(id.as_bytes());
    }
    mac
}

/// The longest an expiring digest may be valid for.
pub const MAX_EXPIRY_SECS: i64 = 3600;

/// The digest with an expiry: over `"<integration>:<connection>:<expires>"` (the connection part
/// empty when there is none, so the encoding stays unambiguous: integration keys have no `:`).
pub fn digest_expiring(
    key: &str,
    integration: &str,
    connection_id: Option<&str>,
    expires: i64,
) -> String {
    let mut m = mac(key, integration, Some(connection_id.unwrap_or("")));
    m.update(format!(":{expires}").as_bytes());
    hex::encode(m.finalize().into_bytes())
}

fn check_expiring(
    key: &str,
    integration: &str,
    connection_id: Option<&str>,
    given: &str,
    expires: &str,
    now: i64,
) -> Result<(), HmacError> {
    let expires: i64 = expires.trim().parse().map_err(|_| HmacError::Invalid)?;
    if expires <= now || expires > now + MAX_EXPIRY_SECS {
        return Err(HmacError::Expired);
    }
    let bytes = hex::decode(given.trim()).map_err(|_| HmacError::Invalid)?;
    let mut m = mac(key, integration, Some(connection_id.unwrap_or("")));
    m.update(format!(":{expires}").as_bytes());
    m.verify_slice(&bytes).map_err(|_| HmacError::Invalid)
}

/// The digest a backend computes (hex, lowercase).
pub fn digest(key: &str, integration: &str, connection_id: Option<&str>) -> String {
    hex::encode(mac(key, integration, connection_id).finalize().into_bytes())
}

/// Checks `given` (hex) when `key` is set; with no key, HMAC mode is off and anything passes.
pub fn check(
    key: Option<&str>,
    integration: &str,
    connection_id: Option<&str>,
    given: Option<&str>,
) -> Result<(), HmacError> {
    let Some(key) = key else { return Ok(()) };
    let given = given.filter(|g| !g.is_empty()).ok_or(HmacError::Missing)?;
    let bytes = hex::decode(given.trim()).map_err(|_| HmacError::Invalid)?;
    mac(key, integration, connection_id)
        .verify_slice(&bytes)
        .map_err(|_| HmacError::Invalid)
}

/// The check for one frontend request in public-key mode, from the environment's settings: nothing to
/// check when HMAC mode is off (unless `require` — `LATCHKEY_PUBLIC_KEY_MODE=hmac` — says it is
/// always on); when it is on without a usable key, nothing passes (never "anything goes"). With
/// `require`, the digest must also carry an expiry. Session-token requests must not be passed here:
/// Nango does not check them.
pub fn check_request(
    settings: &latchkey_protocol::settings::EnvironmentSettings,
    integration: &str,
    connection_id: Option<&str>,
    given: Option<&str>,
    expires: Option<&str>,
    require: bool,
    now_unix: i64,
) -> Result<(), HmacError> {
    if !settings.hmac_enabled && !require {
        return Ok(());
    }
    let given = given.filter(|g| !g.is_empty());
    let expires = expires.filter(|e| !e.is_empty());
    let Some(key) = settings.hmac_key.as_deref().filter(|k| !k.is_empty()) else {
        return Err(if given.is_none() {
            HmacError::Missing
        } else {
            HmacError::Invalid
        });
    };
    let given = given.ok_or(HmacError::Missing)?;
    match expires {
        Some(expires) => check_expiring(key, integration, connection_id, given, expires, now_unix),
        None if require => Err(HmacError::MissingExpiry),
        None => check(Some(key), integration, connection_id, Some(given)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_an_independent_computation() {
        // printf 'github:user-1' | openssl dgst -sha256 -hmac hmac-key
        assert_eq!(
            digest("hmac-key", "github", Some("user-1")),
            "6362756c0aa050d609e5c97fca91efe027c754580e459fba110ed13a86f9ab08"
        );
        // printf 'github' | openssl dgst -sha256 -hmac hmac-key
        assert_eq!(
            digest("hmac-key", "github", None),
            "b5f07c0f10d8251bed88a446b69f0e8fb4d5a03f56d8c4001e8ab59ad59e0a9c"
        );
    }

    #[test]
    fn an_expiring_digest_is_refused_after_its_expiry_or_when_too_long() {
        let now = 1_700_000_000;
        let good = digest_expiring("k", "github", Some("u1"), now + 300);
        let exp = (now + 300).to_string();
        assert_eq!(
            check_expiring("k", "github", Some("u1"), &good, &exp, now),
            Ok(())
        );
        assert_eq!(
            check_expiring("k", "github", Some("u1"), &good, &exp, now + 301),
            Err(HmacError::Expired)
        );
        let other = (now + 301).to_string();
        assert_eq!(
            check_expiring("k", "github", Some("u1"), &good, &other, now),
            Err(HmacError::Invalid),
            "the expiry is signed"
        );
        let far = digest_expiring("k", "github", Some("u1"), now + 7200);
        assert_eq!(
            check_expiring(
                "k",
                "github",
                Some("u1"),
                &far,
                &(now + 7200).to_string(),
                now
            ),
            Err(HmacError::Expired)
        );
    }

    #[test]
    fn check_accepts_the_right_digest_only() {
        let key = Some("hmac-key");
        let good = digest("hmac-key", "github", Some("user-1"));
        assert_eq!(check(key, "github", Some("user-1"), Some(&good)), Ok(()));
        assert_eq!(
            check(key, "github", Some("user-1"), Some(&good.to_uppercase())),
            Ok(())
        );
        assert_eq!(
            check(key, "github", Some("user-2"), Some(&good)),
            Err(HmacError::Invalid)
        );
        assert_eq!(
            check(key, "gitlab", Some("user-1"), Some(&good)),
            Err(HmacError::Invalid)
        );
        assert_eq!(
            check(key, "github", Some("user-1"), Some("zz")),
            Err(HmacError::Invalid)
        );
        assert_eq!(
            check(key, "github", Some("user-1"), Some(&good[..62])),
            Err(HmacError::Invalid)
        );
        assert_eq!(
            check(key, "github", Some("user-1"), None),
            Err(HmacError::Missing)
        );
        assert_eq!(
            check(key, "github", Some("user-1"), Some("")),
            Err(HmacError::Missing)
        );
        assert_eq!(
            check(None, "github", Some("user-1"), None),
            Ok(()),
            "HMAC mode off"
        );
    }
}
