//! Environment settings: what an administrator configures per environment (Latchkey's admin API
//! `GET|PATCH /environment/settings` and the CLI's `latchkey settings`). Nango keeps these in its
//! dashboard; we expose them so a self-hosted deployment can be configured without one.

use crate::connect::ConnectUiSettings;
use serde::{Deserialize, Deserializer, Serialize};

/// The settings of one environment, as stored and as `GET /environment/settings` returns them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct EnvironmentSettings {
    /// Custom callback URL given to providers (a customer endpoint that 308-redirects to
    /// `<public url>/oauth/callback`); `None` = ours.
    pub callback_url: Option<String>,
    /// Primary and secondary webhook URLs (`LATCHKEY_WEBHOOK_URL`, when set, overrides the primary).
    pub webhook_url: Option<String>,
    pub webhook_url_secondary: Option<String>,
    /// Send auth webhooks for new and overridden connections.
    pub webhook_on_auth_creation: bool,
    /// Send auth webhooks when a refresh fails.
    pub webhook_on_auth_refresh_error: bool,
    /// Legacy public-key mode: require `hmac = HMAC-SHA256(hmac_key, "<integration>:<connection>")`.
    pub hmac_enabled: bool,
    pub hmac_key: Option<String>,
    /// Exact origins (`https://app.example.com`) allowed to embed the Connect UI and receive OAuth
    /// results; empty = any origin.
    pub allowed_origins: Vec<String>,
    /// Bind an OAuth `state` to the browser that started the flow with a cookie (on by default).
    pub browser_cookie_check: bool,
    /// Connect UI branding.
    pub connect_ui: ConnectUiSettings,
}

impl Default for EnvironmentSettings {
    fn default() -> Self {
        Self {
            callback_url: None,
            webhook_url: None,
            webhook_url_secondary: None,
            webhook_on_auth_creation: true,
            webhook_on_auth_refresh_error: true,
            hmac_enabled: false,
            hmac_key: None,
            allowed_origins: Vec::new(),
            browser_cookie_check: true,
            connect_ui: ConnectUiSettings::default(),
        }
    }
}

/// Body of `PATCH /environment/settings`: only the fields present change; `null` clears an optional
/// one. Unknown fields are rejected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct EnvironmentSettingsPatch {
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<Option<String>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<Option<String>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub webhook_url_secondary: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_on_auth_creation: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_on_auth_refresh_error: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hmac_enabled: Option<bool>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub hmac_key: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_cookie_check: Option<bool>,
    /// Merged into the current value: `{"defaultTheme": "dark"}` changes the default theme only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ui: Option<ConnectUiSettingsPatch>,
}

/// A partial [`ConnectUiSettings`]: only the fields present change. Keys are Nango's
/// (`connectUISettings`: `defaultTheme`, `showWatermark`); the snake_case spelling the other settings
/// use (`default_theme`, `show_watermark`) is accepted too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ConnectUiSettingsPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theme: Option<ConnectUiThemePatch>,
    /// `light` | `dark` | `system`.
    #[serde(alias = "default_theme", skip_serializing_if = "Option::is_none")]
    pub default_theme: Option<String>,
    #[serde(alias = "show_watermark", skip_serializing_if = "Option::is_none")]
    pub show_watermark: Option<bool>,
}

/// A partial [`ConnectUiTheme`](crate::connect::ConnectUiTheme): `{"dark": {"primary": "#123456"}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ConnectUiThemePatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub light: Option<crate::connect::ThemeColors>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dark: Option<crate::connect::ThemeColors>,
}

impl From<ConnectUiSettings> for ConnectUiSettingsPatch {
    fn from(s: ConnectUiSettings) -> Self {
        Self {
            theme: Some(ConnectUiThemePatch {
                light: Some(s.theme.light),
                dark: Some(s.theme.dark),
            }),
            default_theme: Some(s.default_theme),
            show_watermark: Some(s.show_watermark),
        }
    }
}

/// A present field (even `null`) is `Some(..)`; an absent one stays `None` through `#[serde(default)]`.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl EnvironmentSettings {
    /// The settings with `patch` applied.
    pub fn patched(mut self, patch: EnvironmentSettingsPatch) -> Self {
        fn set<T>(field: &mut T, value: Option<T>) {
            if let Some(v) = value {
                *field = v;
            }
        }
        set(&mut self.callback_url, patch.callback_url);
        set(&mut self.webhook_url, patch.webhook_url);
        set(&mut self.webhook_url_secondary, patch.webhook_url_secondary);
        set(
            &mut self.webhook_on_auth_creation,
            patch.webhook_on_auth_creation,
        );
        set(
            &mut self.webhook_on_auth_refresh_error,
            patch.webhook_on_auth_refresh_error,
        );
        set(&mut self.hmac_enabled, patch.hmac_enabled);
        set(&mut self.hmac_key, patch.hmac_key);
        set(&mut self.allowed_origins, patch.allowed_origins);
        set(&mut self.browser_cookie_check, patch.browser_cookie_check);
        if let Some(ui) = patch.connect_ui {
            if let Some(theme) = ui.theme {
                set(&mut self.connect_ui.theme.light, theme.light);
                set(&mut self.connect_ui.theme.dark, theme.dark);
            }
            set(&mut self.connect_ui.default_theme, ui.default_theme);
            set(&mut self.connect_ui.show_watermark, ui.show_watermark);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_ui_patches_merge_and_accept_both_spellings() {
        let current = EnvironmentSettings::default();
        for body in [
            r#"{"connect_ui": {"defaultTheme": "dark"}}"#,
            r#"{"connect_ui": {"default_theme": "dark"}}"#,
        ] {
            let patch: EnvironmentSettingsPatch = serde_json::from_str(body).unwrap();
            let next = current.clone().patched(patch);
            assert_eq!(next.connect_ui.default_theme, "dark");
            assert_eq!(next.connect_ui.theme, current.connect_ui.theme);
        }
        let patch: EnvironmentSettingsPatch = serde_json::from_str(
            r##"{"connect_ui": {"theme": {"dark": {"primary": "#123456"}}}}"##,
        )
        .unwrap();
        let next = current.clone().patched(patch);
        assert_eq!(next.connect_ui.theme.dark.primary, "#123456");
        assert_eq!(next.connect_ui.theme.light, current.connect_ui.theme.light);
        assert_eq!(next.connect_ui.default_theme, "system");
        assert!(serde_json::from_str::<EnvironmentSettingsPatch>(
            r#"{"connect_ui": {"defaultTheme": "dark", "colour": 1}}"#
        )
        .is_err());
    }

    #[test]
    fn absent_fields_keep_their_value_and_null_clears() {
        let current = EnvironmentSettings {
            callback_url: Some("https://auth.example.com/cb".into()),
            webhook_url: Some("https://hooks.example.com".into()),
            ..Default::default()
        };
        let patch: EnvironmentSettingsPatch =
            serde_json::from_str(r#"{"callback_url": null, "hmac_enabled": true}"#).unwrap();
        let next = current.patched(patch);
        assert_eq!(next.callback_url, None);
        assert_eq!(
            next.webhook_url.as_deref(),
            Some("https://hooks.example.com")
        );
        assert!(next.hmac_enabled);
        assert!(next.browser_cookie_check, "defaults stay on");
    }

    #[test]
    fn unknown_patch_fields_are_rejected() {
        let err = serde_json::from_str::<EnvironmentSettingsPatch>(r#"{"callbak_url": "x"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("callbak_url"), "{err}");
    }

    #[test]
    fn stored_settings_from_an_older_version_get_defaults() {
        let s: EnvironmentSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, EnvironmentSettings::default());
    }
}
