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
    /// Inside an iframe. `parent_origin` is the embedding page's exact origin: our SDK's
    /// `parentOrigin` parameter, else (the official `@nangohq/frontend` adds none) what the browser
    /// says — `location.ancestorOrigins[0]`, else `document.referrer`'s origin. Without one we cannot
    /// talk to the parent safely and show the "opened directly" screen. (Which origins may frame the
    /// Connect UI at all is the server's `frame-ancestors`, from the environment's allowed origins.)
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
    /// Redirect mode (`returnUrl`, from our SDK's `openConnectUI({redirect: {returnUrl}})`): where
    /// the top window comes back to when the user continues in this window after a blocked popup.
    /// The server checks it against the environment's allowed origins.
    pub return_url: Option<String>,
}

impl LaunchConfig {
    /// Reads the current page's URL, frame position and embedding page.
    pub fn from_window(window: &Window) -> Self {
        let location = window.location();
        let href = location.href().unwrap_or_default();
        let origin = location.origin().unwrap_or_default();
        let embedded = window
            .parent()
            .ok()
            .flatten()
            .is_some_and(|parent| !js_sys::Object::is(&parent, window));
        // `ancestorOrigins` is Chromium's and WebKit's (not Firefox's): read it without a binding.
        let ancestor = js_sys::Reflect::get(&location, &"ancestorOrigins".into())
            .ok()
            .filter(|list| list.is_object())
            .and_then(|list| js_sys::Reflect::get(&list, &0.into()).ok())
            .and_then(|first| first.as_string());
        let referrer = window.document().map(|d| d.referrer()).unwrap_or_default();
        Self::from_page(
            &href,
            &origin,
            embedded.then_some(Embedder {
                ancestor_origin: ancestor.as_deref(),
                referrer: &referrer,
            }),
        )
    }

    /// [`Self::from_page`] without what the browser says about the embedding page.
    pub fn from_url(href: &str, page_origin: &str, embedded: bool) -> Self {
        Self::from_page(href, page_origin, embedded.then_some(Embedder::default()))
    }

    /// Pure part of [`Self::from_window`]: `href` of the page, its `origin`, and what the browser says
    /// about the embedding page when framed.
    pub fn from_page(href: &str, page_origin: &str, embedder: Option<Embedder<'_>>) -> Self {
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
        let hosting = if let Some(embedder) = embedder {
            Hosting::Embedded {
                parent_origin: embedder.parent_origin(get(params::PARENT_ORIGIN)),
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
            return_url: get(params::CONNECT_UI_RETURN_URL).and_then(|raw| http_url(&raw)),
        }
    }

    pub fn is_embedded(&self) -> bool {
        matches!(self.hosting, Hosting::Embedded { .. })
    }
}

/// What the browser tells a framed page about the page embedding it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Embedder<'a> {
    /// `location.ancestorOrigins[0]` (Chromium, WebKit): the parent's origin, set by the browser.
    pub ancestor_origin: Option<&'a str>,
    /// `document.referrer`: the page that set the iframe's `src`, unless its referrer policy hides it.
    pub referrer: &'a str,
}

impl Embedder<'_> {
    /// The parent's exact origin: the `parentOrigin` parameter, else the browser's ancestor origin,
    /// else the referrer's origin. A `parentOrigin` that contradicts the browser's ancestor origin
    /// counts as no origin at all (the page lies about who it is).
    fn parent_origin(self, param: Option<String>) -> Option<String> {
        let param = param.filter(|o| is_exact_origin(o));
        let ancestor = self
            .ancestor_origin
            .filter(|o| is_exact_origin(o))
            .map(str::to_owned);
        match (param, ancestor) {
            (Some(param), Some(ancestor)) => (param == ancestor).then_some(param),
            (Some(origin), None) | (None, Some(origin)) => Some(origin),
            (None, None) => Url::new(self.referrer)
                .ok()
                .map(|url| url.origin())
                .filter(|o| is_exact_origin(o)),
        }
    }
}

/// An absolute `http(s)` URL as the browser serializes it; `None` if it is not one.
fn http_url(raw: &str) -> Option<String> {
    let url = Url::new(raw).ok()?;
    matches!(url.protocol().as_str(), "http:" | "https:").then(|| url.href())
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
