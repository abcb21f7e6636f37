//! What goes into every URL the SDK builds: paths, query pairs and the WebSocket scheme.
//!
//! Parsing and percent-encoding are the browser's job (`URL`, `URLSearchParams` in `crate::oauth` and
//! `crate::js`): this module only decides *which* pairs, in *which* order, so it can be tested
//! natively. It never concatenates a query string by hand.

use std::borrow::Cow;

use latchkey_protocol::params;

/// Default API host, as `@nangohq/frontend`.
pub const DEFAULT_HOST: &str = "https://api.nango.dev";
/// Default Connect UI location, as `@nangohq/frontend`.
pub const DEFAULT_CONNECT_UI_URL: &str = "https://connect.nango.dev";

/// The host the integrator configured, defaulted and without trailing slashes (as Nango).
pub fn normalize_host(host: &str) -> &str {
    if host.is_empty() {
        DEFAULT_HOST
    } else {
        trim_trailing_slashes(host)
    }
}

/// Byte-wise (no `char` machinery; `get` rather than indexing, so no panic path ships).
fn trim_trailing_slashes(s: &str) -> &str {
    let mut end = s.len();
    while end > 0 && s.as_bytes().get(end - 1) == Some(&b'/') {
        end -= 1;
    }
    s.get(..end).unwrap_or(s)
}

/// The WebSocket path, `/` when not configured.
pub fn websockets_path(path: &str) -> &str {
    if path.is_empty() {
        params::DEFAULT_WEBSOCKETS_PATH
    } else {
        path
    }
}

/// The WebSocket scheme for a URL's scheme (`URL.protocol`, with its colon): `http:` → `ws:`,
/// `https:` → `wss:` (a `websocketsPath` that is already a `ws:`/`wss:` URL keeps its scheme).
/// Anything else cannot reach the API.
pub fn ws_protocol(protocol: &str) -> Option<&'static str> {
    match protocol {
        "http:" | "ws:" => Some("ws:"),
        "https:" | "wss:" => Some("wss:"),
        _ => None,
    }
}

/// Whether a host URL's scheme (`URL.protocol`) can serve the API.
pub fn is_api_protocol(protocol: &str) -> bool {
    matches!(protocol, "http:" | "https:")
}

/// Path of an API route under the host's own path (a host with a prefix, e.g. behind a reverse
/// proxy, keeps it). `encoded_key` must already be a percent-encoded path segment.
pub fn route_path(host_path: &str, route: &str, encoded_key: &str) -> String {
    let base = trim_trailing_slashes(host_path);
    let mut path = String::with_capacity(base.len() + route.len() + encoded_key.len());
    path.push_str(base);
    path.push_str(route);
    path.push_str(encoded_key);
    path
}

/// The query of an auth-initiation request: `GET /oauth/connect/:key` (PROTOCOL.md §5 step 1, with
/// the `ws_client_id`) and the credential `POST`s (without). Empty values are left out.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthQuery<'a> {
    /// Sent only in public-key mode (with a session token the server assigns the id).
    pub connection_id: &'a str,
    /// Legacy public-key authentication.
    pub public_key: &'a str,
    pub connect_session_token: &'a str,
    /// Connection config, as `params[k]`.
    pub params: &'a [(String, String)],
    /// Legacy public-key mode: HMAC of the key (and connection id), computed by the backend.
    pub hmac: &'a str,
    /// Slack user scopes, comma-separated.
    pub user_scope: &'a str,
    /// OAuth client overrides, keys already as `credentials[k]`.
    pub credentials: &'a [(String, String)],
    /// Extra authorization URL params, as `authorization_params[k]`.
    pub authorization_params: &'a [(String, String)],
    /// Where the callback page may post the result (popup only; empty: not sent).
    pub opener_origin: &'a str,
    /// Redirect mode: where the browser comes back to (empty: not sent).
    pub return_url: &'a str,
    pub ws_client_id: Option<&'a str>,
}

impl<'a> AuthQuery<'a> {
    /// The pairs, in `@nangohq/frontend`'s order (`ws_client_id` last, as it sets it after the rest).
    /// To be appended with `URLSearchParams.append`, which encodes them: a bracketed key goes out as
    /// `params%5Bk%5D`, which any form-urlencoded parser decodes back to `params[k]`.
    pub fn pairs(&self) -> Vec<(Cow<'a, str>, &'a str)> {
        let mut pairs: Vec<(Cow<'a, str>, &'a str)> = Vec::new();
        for (name, value) in [
            ("connection_id", self.connection_id),
            ("public_key", self.public_key),
            (params::CONNECT_SESSION_TOKEN, self.connect_session_token),
        ] {
            push_set(&mut pairs, name, value);
        }
        push_bracketed(&mut pairs, "params[", self.params);
        push_set(&mut pairs, "hmac", self.hmac);
        push_set(&mut pairs, "user_scope", self.user_scope);
        for (k, v) in self.credentials {
            pairs.push((Cow::Borrowed(k.as_str()), v.as_str()));
        }
        push_bracketed(
            &mut pairs,
            "authorization_params[",
            self.authorization_params,
        );
        push_set(&mut pairs, params::OPENER_ORIGIN, self.opener_origin);
        push_set(&mut pairs, params::RETURN_URL, self.return_url);
        if let Some(id) = self.ws_client_id {
            pairs.push((Cow::Borrowed(params::WS_CLIENT_ID), id));
        }
        pairs
    }
}

fn push_set<'a>(pairs: &mut Vec<(Cow<'a, str>, &'a str)>, name: &'static str, value: &'a str) {
    if !value.is_empty() {
        pairs.push((Cow::Borrowed(name), value));
    }
}

fn push_bracketed<'a>(
    pairs: &mut Vec<(Cow<'a, str>, &'a str)>,
    prefix: &str,
    list: &'a [(String, String)],
) {
    for (k, v) in list {
        let mut key = String::with_capacity(prefix.len() + k.len() + 1);
        key.push_str(prefix);
        key.push_str(k);
        key.push(']');
        pairs.push((Cow::Owned(key), v.as_str()));
    }
}

/// The Connect UI iframe's options (reference §1.8, plus our `parentOrigin`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectUiQuery<'a> {
    pub api_url: &'a str,
    pub parent_origin: &'a str,
    pub detect_closed_auth_window: bool,
    pub lang: Option<&'a str>,
    pub theme: Option<&'a str>,
    /// Redirect mode's page to come back to (`openConnectUI({redirect: {returnUrl}})`).
    pub return_url: Option<&'a str>,
}

impl<'a> ConnectUiQuery<'a> {
    /// Query pairs of the iframe URL. The session token is never among them (PROTOCOL.md §7).
    pub fn pairs(&self) -> Vec<(&'static str, &'a str)> {
        let mut pairs = vec![
            (params::API_URL, self.api_url),
            (params::PARENT_ORIGIN, self.parent_origin),
        ];
        if self.detect_closed_auth_window {
            pairs.push((params::DETECT_CLOSED_AUTH_WINDOW, "true"));
        }
        if let Some(lang) = self.lang.filter(|l| !l.is_empty()) {
            pairs.push((params::LANG, lang));
        }
        if let Some(theme) = self.theme.filter(|t| !t.is_empty()) {
            pairs.push((params::THEME, theme));
        }
        if let Some(url) = self.return_url.filter(|u| !u.is_empty()) {
            pairs.push((params::CONNECT_UI_RETURN_URL, url));
        }
        pairs
    }
}

/// The Connect UI is a single-page app with relative assets: its path must end with `/`.
pub fn with_trailing_slash(path: &str) -> Cow<'_, str> {
    if path.ends_with('/') {
        Cow::Borrowed(path)
    } else {
        let mut p = String::with_capacity(path.len() + 1);
        p.push_str(path);
        p.push('/');
        Cow::Owned(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(pairs: Vec<(Cow<'_, str>, &str)>) -> Vec<(String, String)> {
        pairs
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn host_loses_trailing_slashes_and_defaults_to_nango_cloud() {
        assert_eq!(
            normalize_host("http://localhost:3003///"),
            "http://localhost:3003"
        );
        assert_eq!(
            normalize_host("https://x.test/prefix/"),
            "https://x.test/prefix"
        );
        assert_eq!(normalize_host(""), "https://api.nango.dev");
    }

    #[test]
    fn websocket_scheme_follows_the_api_scheme() {
        assert_eq!(ws_protocol("http:"), Some("ws:"));
        assert_eq!(ws_protocol("https:"), Some("wss:"));
        assert_eq!(ws_protocol("wss:"), Some("wss:"));
        assert_eq!(ws_protocol("ftp:"), None);
        assert_eq!(ws_protocol("javascript:"), None);
    }

    #[test]
    fn only_http_hosts_serve_the_api() {
        assert!(is_api_protocol("http:") && is_api_protocol("https:"));
        assert!(
            !is_api_protocol("ws:") && !is_api_protocol("file:") && !is_api_protocol("javascript:")
        );
    }

    #[test]
    fn websocket_path_defaults_to_root() {
        assert_eq!(websockets_path(""), "/");
        assert_eq!(websockets_path("/ws"), "/ws");
    }

    #[test]
    fn route_path_keeps_the_host_prefix() {
        assert_eq!(
            route_path("/", latchkey_protocol::routes::OAUTH_CONNECT, "github"),
            "/oauth/connect/github"
        );
        assert_eq!(
            route_path(
                "/api/",
                latchkey_protocol::routes::OAUTH_CONNECT,
                "git%2Fhub"
            ),
            "/api/oauth/connect/git%2Fhub"
        );
        assert_eq!(
            route_path("", latchkey_protocol::routes::API_KEY, "k"),
            "/api-auth/api-key/k"
        );
    }

    #[test]
    fn oauth_query_carries_token_params_and_client_id_in_nango_order() {
        let params = vec![("subdomain".to_owned(), "acme & co".to_owned())];
        let auth = vec![
            ("prompt".to_owned(), "consent".to_owned()),
            ("scope".to_owned(), "a b".to_owned()),
        ];
        let overrides = vec![(
            "credentials[oauth_client_id_override]".to_owned(),
            "cid".to_owned(),
        )];
        let q = owned(
            AuthQuery {
                connect_session_token: "tok",
                params: &params,
                user_scope: "chat:write,users:read",
                credentials: &overrides,
                authorization_params: &auth,
                opener_origin: "https://app.example.com",
                ws_client_id: Some("ws-1"),
                ..Default::default()
            }
            .pairs(),
        );
        let expected: Vec<(String, String)> = [
            ("connect_session_token", "tok"),
            ("params[subdomain]", "acme & co"),
            ("user_scope", "chat:write,users:read"),
            ("credentials[oauth_client_id_override]", "cid"),
            ("authorization_params[prompt]", "consent"),
            ("authorization_params[scope]", "a b"),
            ("opener_origin", "https://app.example.com"),
            ("ws_client_id", "ws-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(q, expected);
    }

    #[test]
    fn public_key_query_carries_connection_id_key_and_hmac() {
        let q = owned(
            AuthQuery {
                connection_id: "user-1",
                public_key: "pk",
                hmac: "abc",
                ..Default::default()
            }
            .pairs(),
        );
        assert_eq!(
            q,
            vec![
                ("connection_id".into(), "user-1".into()),
                ("public_key".into(), "pk".into()),
                ("hmac".into(), "abc".into())
            ]
        );
    }

    #[test]
    fn credential_post_query_has_no_client_id() {
        let params = vec![("region".to_owned(), "eu".to_owned())];
        let q = owned(
            AuthQuery {
                connect_session_token: "tok",
                params: &params,
                ..Default::default()
            }
            .pairs(),
        );
        assert_eq!(
            q,
            vec![
                ("connect_session_token".into(), "tok".into()),
                ("params[region]".into(), "eu".into())
            ]
        );
    }

    #[test]
    fn connect_ui_query_has_parent_origin_and_only_the_options_set() {
        let q = ConnectUiQuery {
            api_url: "http://localhost:3003",
            parent_origin: "http://127.0.0.1:3010",
            ..Default::default()
        };
        assert_eq!(
            q.pairs(),
            vec![
                ("apiURL", "http://localhost:3003"),
                ("parentOrigin", "http://127.0.0.1:3010")
            ]
        );

        let q = ConnectUiQuery {
            api_url: "a",
            parent_origin: "o",
            detect_closed_auth_window: true,
            lang: Some("fr"),
            theme: Some("dark"),
            return_url: Some("https://app.example.com/back"),
        };
        assert_eq!(
            q.pairs(),
            vec![
                ("apiURL", "a"),
                ("parentOrigin", "o"),
                ("detectClosedAuthWindow", "true"),
                ("lang", "fr"),
                ("theme", "dark"),
                ("returnUrl", "https://app.example.com/back")
            ]
        );
    }

    #[test]
    fn connect_ui_query_never_carries_a_session_token() {
        let q = ConnectUiQuery {
            api_url: "a",
            parent_origin: "o",
            lang: Some("en"),
            ..Default::default()
        };
        assert!(q
            .pairs()
            .iter()
            .all(|(k, _)| *k != "session_token" && *k != "sessionToken"));
    }

    #[test]
    fn connect_ui_path_gets_a_trailing_slash() {
        assert_eq!(with_trailing_slash("/connect"), "/connect/");
        assert_eq!(with_trailing_slash("/connect/"), "/connect/");
        assert_eq!(with_trailing_slash("/"), "/");
    }
}
