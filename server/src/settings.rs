//! Environment settings: validation and updates, shared by the admin API (`PATCH
//! /environment/settings`) and the CLI (`latchkey settings set`), so both accept exactly the same
//! values. The shapes are [`latchkey_protocol::settings`].

use latchkey_protocol::settings::EnvironmentSettings;
use latchkey_protocol::webhooks::AuthWebhook;

/// A setting that cannot be accepted: which field (as a JSON path) and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.join("."))]
pub struct InvalidSetting {
    pub path: Vec<String>,
    pub message: String,
}

fn invalid(path: &[&str], message: impl Into<String>) -> InvalidSetting {
    InvalidSetting {
        path: path.iter().map(|p| p.to_string()).collect(),
        message: message.into(),
    }
}

/// An absolute `http(s)` URL with a host.
fn check_url(value: &Option<String>, field: &str) -> Result<(), InvalidSetting> {
    if let Some(v) = value {
        let ok = url::Url::parse(v)
            .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .unwrap_or(false);
        if !ok {
            return Err(invalid(&[field], "must be an absolute http(s) URL"));
        }
    }
    Ok(())
}

/// An exact origin: scheme, host and optional port, nothing else (what `MessageEvent.origin` holds).
pub fn is_exact_origin(s: &str) -> bool {
    url::Url::parse(s)
        .map(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && u.origin().ascii_serialization() == s
        })
        .unwrap_or(false)
}

fn is_hex_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// Checks every field of a complete settings document.
pub fn validate(s: &EnvironmentSettings) -> Result<(), InvalidSetting> {
    check_url(&s.callback_url, "callback_url")?;
    check_url(&s.webhook_url, "webhook_url")?;
    check_url(&s.webhook_url_secondary, "webhook_url_secondary")?;
    if s.hmac_enabled && s.hmac_key.as_deref().is_none_or(str::is_empty) {
        return Err(invalid(
            &["hmac_key"],
            "is required when hmac_enabled is true",
        ));
    }
    for (i, origin) in s.allowed_origins.iter().enumerate() {
        if !is_exact_origin(origin) {
            return Err(InvalidSetting {
                path: vec!["allowed_origins".into(), i.to_string()],
                message: format!(
                    "'{origin}' is not an exact origin such as https://app.example.com"
                ),
            });
        }
    }
    let theme = &s.connect_ui.theme;
    for (mode, colours) in [("light", &theme.light), ("dark", &theme.dark)] {
        if !is_hex_colour(&colours.primary) {
            return Err(invalid(
                &["connect_ui", "theme", mode, "primary"],
                "must be a #rrggbb colour",
            ));
        }
    }
    if !matches!(
        s.connect_ui.default_theme.as_str(),
        "light" | "dark" | "system"
    ) {
        return Err(invalid(
            &["connect_ui", "defaultTheme"],
            "must be light, dark or system",
        ));
    }
    Ok(())
}

/// Where the sealed HMAC key sits in the stored settings document.
const SEALED_HMAC_KEY: &str = "hmac_key_sealed";

fn hmac_key_aad(env_name: &str) -> String {
    format!("environment:{env_name}:hmac_key")
}

/// The settings document as stored: the HMAC key sealed (`{"key_id", "sealed"}`, AES-256-GCM bound to
/// the environment), never in clear.
pub fn to_stored(
    settings: &EnvironmentSettings,
    cipher: &crate::crypto::Cipher,
    env_name: &str,
) -> String {
    use base64::Engine;
    let mut doc = serde_json::to_value(settings).expect("settings serialize");
    if let Some(key) = settings.hmac_key.as_deref() {
        let sealed = cipher.seal(key.as_bytes(), &hmac_key_aad(env_name));
        doc["hmac_key"] = serde_json::Value::Null;
        doc[SEALED_HMAC_KEY] = serde_json::json!({
            "key_id": cipher.key_id(),
            "sealed": base64::engine::general_purpose::STANDARD.encode(sealed),
        });
    }
    doc.to_string()
}

/// Reads a stored settings document, opening a sealed HMAC key (a clear one, stored before keys were
/// sealed, is still read; the next update seals it).
pub fn from_stored(
    stored: &str,
    cipher: &crate::crypto::Cipher,
    env_name: &str,
) -> anyhow::Result<EnvironmentSettings> {
    use base64::Engine;
    let doc: serde_json::Value = serde_json::from_str(stored)?;
    let mut settings: EnvironmentSettings = serde_json::from_value(doc.clone())?;
    if let Some(sealed) = doc.get(SEALED_HMAC_KEY) {
        let key_id = sealed["key_id"].as_str().unwrap_or_default();
        let opened = base64::engine::general_purpose::STANDARD
            .decode(sealed["sealed"].as_str().unwrap_or_default())
            .map_err(|e| anyhow::anyhow!("{e}"))
            .and_then(|bytes| Ok(cipher.open_string(key_id, &bytes, &hmac_key_aad(env_name))?));
        // Unopenable: no key, so HMAC mode (if on) lets nothing through rather than everything.
        settings.hmac_key = opened
            .map_err(|e| tracing::error!(environment = %env_name, error = %e, "cannot open the sealed HMAC key"))
            .ok();
    }
    Ok(settings)
}

/// [`from_stored`], or the defaults when the document is unreadable: unknown or malformed settings
/// must not lock an operator out, so they fall back loudly (an error in the log) — the one fallback
/// of every reader of stored settings.
pub fn from_stored_or_default(
    stored: &str,
    cipher: &crate::crypto::Cipher,
    env_name: &str,
) -> EnvironmentSettings {
    from_stored(stored, cipher, env_name).unwrap_or_else(|e| {
        tracing::error!(environment = %env_name, error = %e, "stored environment settings are unreadable; using defaults");
        EnvironmentSettings::default()
    })
}

/// Where an auth webhook goes: the primary URL (`LATCHKEY_WEBHOOK_URL` wins over the setting) and the
/// secondary one, when the toggle for this kind of event is on. Refresh failures have their own toggle;
/// every other auth event (creation, override, failed authorization) follows `webhook_on_auth_creation`.
pub fn webhook_destinations(
    primary_override: Option<&str>,
    s: &EnvironmentSettings,
    event: &AuthWebhook,
) -> Vec<String> {
    let enabled = if event.operation == "refresh" && !event.success {
        s.webhook_on_auth_refresh_error
    } else {
        s.webhook_on_auth_creation
    };
    if !enabled {
        return Vec::new();
    }
    let primary = primary_override
        .map(str::to_string)
        .or(s.webhook_url.clone());
    primary
        .into_iter()
        .chain(s.webhook_url_secondary.clone())
        .collect()
}

/// Whether a page at `origin` may embed the Connect UI and receive OAuth results: any origin when the
/// environment lists none, else the listed ones and the server's own (the Connect UI's popups).
pub fn origin_allowed(s: &EnvironmentSettings, origin: &str, public_url: &str) -> bool {
    s.allowed_origins.is_empty()
        || s.allowed_origins.iter().any(|o| o == origin)
        || url::Url::parse(public_url).is_ok_and(|u| u.origin().ascii_serialization() == origin)
}

/// The CSP `frame-ancestors` sources for the Connect UI: `*` when no origins are listed.
pub fn frame_ancestors(s: &EnvironmentSettings) -> String {
    if s.allowed_origins.is_empty() {
        "*".into()
    } else {
        std::iter::once("'self'")
            .chain(s.allowed_origins.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What the admin API and the CLI show: everything but the HMAC key, which is write-only.
pub fn redacted(s: &EnvironmentSettings) -> EnvironmentSettings {
    EnvironmentSettings {
        hmac_key: s.hmac_key.as_ref().map(|_| "********".into()),
        ..s.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_origins_only() {
        assert!(is_exact_origin("https://app.example.com"));
        assert!(is_exact_origin("http://127.0.0.1:3010"));
        assert!(!is_exact_origin("https://app.example.com/"));
        assert!(!is_exact_origin("https://app.example.com/path"));
        assert!(!is_exact_origin("*"));
        assert!(!is_exact_origin("app.example.com"));
    }

    #[test]
    fn allowed_origins_gate_embedding_and_results() {
        let open = EnvironmentSettings::default();
        assert!(origin_allowed(
            &open,
            "https://anyone.example",
            "http://localhost:3003"
        ));
        assert_eq!(frame_ancestors(&open), "*");
        let closed = EnvironmentSettings {
            allowed_origins: vec!["https://app.example.com".into()],
            ..Default::default()
        };
        assert!(origin_allowed(
            &closed,
            "https://app.example.com",
            "http://localhost:3003"
        ));
        assert!(origin_allowed(
            &closed,
            "http://localhost:3003",
            "http://localhost:3003"
        ));
        assert!(!origin_allowed(
            &closed,
            "https://evil.example.com",
            "http://localhost:3003"
        ));
        assert_eq!(frame_ancestors(&closed), "'self' https://app.example.com");
    }

    #[test]
    fn hmac_needs_a_key_and_colours_must_be_hex() {
        let mut s = EnvironmentSettings {
            hmac_enabled: true,
            ..Default::default()
        };
        assert_eq!(validate(&s).unwrap_err().path, ["hmac_key"]);
        s.hmac_key = Some("k".into());
        assert!(validate(&s).is_ok());
        s.connect_ui.theme.dark.primary = "blue".into();
        assert_eq!(
            validate(&s).unwrap_err().path,
            ["connect_ui", "theme", "dark", "primary"]
        );
    }

    fn event(operation: crate::webhooks::AuthOperation, success: bool) -> AuthWebhook {
        let failure = (!success).then_some(crate::webhooks::AuthFailure::Refresh(
            "the provider refused the refresh",
        ));
        crate::webhooks::AuthSubject {
            environment: "dev",
            provider_config_key: "github",
            connection_id: "c1",
            provider: "github",
            auth_mode: "OAUTH2",
            tags: None,
        }
        .event(operation, failure)
    }

    #[test]
    fn webhook_destinations_follow_urls_and_toggles() {
        let mut s = EnvironmentSettings {
            webhook_url: Some("https://a.example.com/hook".into()),
            webhook_url_secondary: Some("https://b.example.com/hook".into()),
            ..Default::default()
        };
        assert_eq!(
            webhook_destinations(
                None,
                &s,
                &event(crate::webhooks::AuthOperation::Creation, true)
            )
            .len(),
            2
        );
        assert_eq!(
            webhook_destinations(
                Some("https://env.example.com"),
                &s,
                &event(crate::webhooks::AuthOperation::Creation, true)
            )[0],
            "https://env.example.com"
        );
        s.webhook_on_auth_refresh_error = false;
        assert!(webhook_destinations(
            None,
            &s,
            &event(crate::webhooks::AuthOperation::Refresh, false)
        )
        .is_empty());
        assert_eq!(
            webhook_destinations(
                None,
                &s,
                &event(crate::webhooks::AuthOperation::Override, true)
            )
            .len(),
            2
        );
        s.webhook_on_auth_creation = false;
        assert!(webhook_destinations(
            None,
            &s,
            &event(crate::webhooks::AuthOperation::Creation, true)
        )
        .is_empty());
    }

    #[test]
    fn redaction_hides_the_hmac_key_only() {
        let s = EnvironmentSettings {
            hmac_key: Some("top-secret".into()),
            callback_url: Some("https://a.example.com/cb".into()),
            ..Default::default()
        };
        let r = redacted(&s);
        assert_ne!(r.hmac_key.as_deref(), Some("top-secret"));
        assert_eq!(r.callback_url, s.callback_url);
    }
}
