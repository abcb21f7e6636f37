//! The launch configuration read once from the page URL (names in `latchkey_protocol::params`), and
//! how the page is hosted: embedded in a customer's page or opened as a connect link.
//!
//! URL parsing goes through the browser's `URL` (never by hand). A `parentOrigin` that is not exactly
//! an origin is treated as absent, so we never post to something we did not validate.

use latchkey_protocol::params;
use web_sys::{Url, Window};

use crate::theme::ThemeChoice;

/// How the Connect UI is hosted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hosting {
    /// Inside an iframe. `parent_origin` is the validated `parentOrigin` parameter; without it we
    /// cannot talk to the parent safely and show the "opened directly" screen.
    Embedded { parent_origin: Option<String> },
    /// A top-level tab opened from a connect link; the session token comes from the URL.
    ConnectLink { session_token: Option<String> },
}

/// Everything the URL tells us at boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchConfig {
    /// API base without a trailing `/` (a path prefix is kept).
    pub api_url: String,
    pub hosting: Hosting,
    pub lang: Option<String>,
    pub theme: Option<ThemeChoice>,
    pub detect_closed_auth_window: bool,
}

impl LaunchConfig {
    /// Reads the current page's URL and frame position.
    pub fn from_window(window: &Window) -> Self {
        let href = window.location().href().unwrap_or_default();
        let origin = window.location().origin().unwrap_or_default();
        let embedded = window
            .parent()
            .ok()
            .flatten()
            .is_some_and(|parent| !js_sys::Object::is(&parent, window));
        Self::from_url(&href, &origin, embedded)
    }

    /// Pure part of [`Self::from_window`]: `href` of the page, its `origin`, whether it is framed.
    pub fn from_url(href: &str, page_origin: &str, embedded: bool) -> Self {
        let query = Url::new(href).ok().map(|url| url.search_params());
        let get = |name: &str| {
            query
                .as_ref()
                .and_then(|q| q.get(name))
                .filter(|v| !v.is_empty())
        };

        let api_url = get(params::API_URL)
            .and_then(|raw| normalize_api_url(&raw))
            .unwrap_or_else(|| page_origin.trim_end_matches('/').to_owned());
        let hosting = if embedded {
            Hosting::Embedded {
                parent_origin: get(params::PARENT_ORIGIN).filter(|o| is_exact_origin(o)),
            }
        } else {
            Hosting::ConnectLink {
                session_token: get(params::SESSION_TOKEN),
            }
        };
        Self {
            api_url,
            hosting,
            lang: get(params::LANG),
            theme: get(params::THEME).as_deref().and_then(ThemeChoice::parse),
            detect_closed_auth_window: get(params::DETECT_CLOSED_AUTH_WINDOW).as_deref()
                == Some("true"),
        }
    }

    pub fn is_embedded(&self) -> bool {
        matches!(self.hosting, Hosting::Embedded { .. })
    }
}

/// An `http(s)` URL without query, fragment or trailing `/`; `None` if it is not one.
fn normalize_api_url(raw: &str) -> Option<String> {
    let url = Url::new(raw).ok()?;
    if !matches!(url.protocol().as_str(), "http:" | "https:") {
        return None;
    }
    url.set_search("");
    url.set_hash("");
    Some(url.href().trim_end_matches('/').to_owned())
}

/// True when `value` is exactly the serialized origin of itself (`https://host[:port]`, no path).
fn is_exact_origin(value: &str) -> bool {
    Url::new(value).is_ok_and(|url| {
        matches!(url.protocol().as_str(), "http:" | "https:") && url.origin() == value
    })
}
