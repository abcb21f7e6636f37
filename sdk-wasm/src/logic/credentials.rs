//! Where `auth(key, {credentials})` goes (reference §1.3 "dispatch rule" and "credential → endpoint
//! mapping"): through the OAuth popup (no credentials, or only OAuth client overrides), or as a JSON
//! `POST` to one of the credential endpoints, with which body.
//!
//! The façade hands over the credentials object as its string-valued entries, in property order; this
//! module decides, so the rule is tested natively. TWO_STEP, JWT, SIGNATURE, BILL, TBA and AWS SigV4
//! credentials go to their `/auth/<mode>/` routes (issue 15).

use latchkey_protocol::{routes, AuthErrorType};

use crate::AuthError;

/// The OAuth client override keys, sent as `credentials[k]` query parameters of the popup URL.
const OAUTH_OVERRIDES: [&str; 3] = [
    "oauth_client_id_override",
    "oauth_client_secret_override",
    "oauth_refresh_token_override",
];

/// Fields of the client-credentials body, in Nango's order.
const CLIENT_CREDENTIALS_FIELDS: [&str; 4] = [
    "client_id",
    "client_secret",
    "client_certificate",
    "client_private_key",
];

/// What an `auth()` call with these credentials does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch {
    /// The OAuth popup, with these `credentials[k]` query pairs (OAuth client overrides; may be empty).
    Popup(Vec<(String, String)>),
    /// A JSON `POST` to `route` with these body fields.
    Post {
        route: &'static str,
        body: Vec<(String, String)>,
    },
}

/// Decides from the credentials' string entries (empty when there are none).
pub fn dispatch(credentials: &[(String, String)]) -> Result<Dispatch, AuthError> {
    let get = |name: &str| {
        credentials
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let has = |name: &str| get(name).is_some();

    // Nango's rule: both OAuth overrides (and nothing TBA-like) keep the popup; so do no credentials.
    let tba = has("token_id") && has("token_secret");
    let overrides_only = has(OAUTH_OVERRIDES[0]) && has(OAUTH_OVERRIDES[1]) && !tba;
    if credentials.is_empty() || overrides_only {
        let pairs = OAUTH_OVERRIDES
            .iter()
            .filter_map(|k| get(k).map(|v| (*k, v)))
            .map(|(k, v)| {
                let mut key = String::with_capacity(k.len() + 13);
                key.push_str("credentials[");
                key.push_str(k);
                key.push(']');
                (key, v.to_owned())
            })
            .collect();
        return Ok(Dispatch::Popup(pairs));
    }

    // The given fields among `names`, in that order (the server takes exactly these).
    let only = |names: &[&str]| -> Vec<(String, String)> {
        names
            .iter()
            .filter_map(|k| get(k).map(|v| ((*k).to_owned(), v.to_owned())))
            .collect()
    };
    let bill = has("organization_id") && has("dev_key");
    // `@nangohq/frontend`'s order of checks.
    match get("type").unwrap_or_default() {
        "TWO_STEP" => return Ok(post(routes::TWO_STEP, credentials.to_vec())),
        "SIGNATURE" if has("username") && has("password") => {
            return Ok(post(
                routes::SIGNATURE,
                only(&["type", "username", "password"]),
            ))
        }
        "AWS_SIGV4" if has("role_arn") => {
            return Ok(post(routes::AWS_SIGV4, only(&["role_arn", "region"])))
        }
        _ if bill => {
            let fields = ["username", "password", "organization_id", "dev_key"];
            return Ok(post(routes::BILL, only(&fields)));
        }
        _ if has("apiKey") => return Ok(post(routes::API_KEY, only(&["apiKey"]))),
        _ if has("username") || has("password") => {
            let field = |name: &str| (name.to_owned(), get(name).unwrap_or_default().to_owned());
            return Ok(post(
                routes::BASIC,
                vec![field("username"), field("password")],
            ));
        }
        kind if kind == "JWT" || has("privateKey") => {
            return Ok(post(routes::JWT, credentials.to_vec()))
        }
        _ if tba => {
            let mut names = vec!["token_id", "token_secret"];
            names.extend(&OAUTH_OVERRIDES[..2]);
            return Ok(post(routes::TBA, only(&names)));
        }
        _ if has("client_id") && (has("client_secret") || has("client_private_key")) => {
            return Ok(post(
                routes::CLIENT_CREDENTIALS,
                only(&CLIENT_CREDENTIALS_FIELDS),
            ));
        }
        _ => {}
    }
    Err(AuthError::of(
        AuthErrorType::MissingCredentials,
        "Unsupported credentials",
    ))
}

fn post(route: &'static str, body: Vec<(String, String)>) -> Dispatch {
    Dispatch::Post { route, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn posted(pairs: &[(&str, &str)]) -> (&'static str, Vec<(String, String)>) {
        match dispatch(&creds(pairs)).unwrap() {
            Dispatch::Post { route, body } => (route, body),
            other => panic!("expected a POST, got {other:?}"),
        }
    }

    #[test]
    fn no_credentials_open_the_popup_without_overrides() {
        assert_eq!(dispatch(&[]).unwrap(), Dispatch::Popup(vec![]));
    }

    #[test]
    fn api_key_is_posted_without_the_connect_ui_type_field() {
        let (route, body) = posted(&[("apiKey", "sk"), ("type", "API_KEY")]);
        assert_eq!(route, "/api-auth/api-key/");
        assert_eq!(body, creds(&[("apiKey", "sk")]));
    }

    #[test]
    fn basic_always_sends_both_fields() {
        let (route, body) = posted(&[("username", "u"), ("type", "BASIC")]);
        assert_eq!(route, "/api-auth/basic/");
        assert_eq!(body, creds(&[("username", "u"), ("password", "")]));
    }

    #[test]
    fn client_credentials_go_to_oauth2_auth_with_the_fields_given() {
        let (route, body) = posted(&[
            ("client_secret", "s"),
            ("client_id", "id"),
            ("type", "OAUTH2_CC"),
        ]);
        assert_eq!(route, "/oauth2/auth/");
        assert_eq!(body, creds(&[("client_id", "id"), ("client_secret", "s")]));
        // A private key instead of a secret is enough too.
        assert_eq!(
            posted(&[("client_id", "id"), ("client_private_key", "pk")]).0,
            "/oauth2/auth/"
        );
    }

    #[test]
    fn both_oauth_overrides_keep_the_popup_and_become_query_pairs() {
        let d = dispatch(&creds(&[
            ("oauth_client_id_override", "cid"),
            ("oauth_client_secret_override", "cs"),
            ("oauth_refresh_token_override", "rt"),
        ]))
        .unwrap();
        assert_eq!(
            d,
            Dispatch::Popup(creds(&[
                ("credentials[oauth_client_id_override]", "cid"),
                ("credentials[oauth_client_secret_override]", "cs"),
                ("credentials[oauth_refresh_token_override]", "rt"),
            ]))
        );
    }

    #[test]
    fn one_override_alone_is_not_a_popup_and_is_refused() {
        let e = dispatch(&creds(&[("oauth_client_id_override", "cid")])).unwrap_err();
        assert_eq!(e.kind, "missing_credentials");
    }

    #[test]
    fn credential_modes_go_to_their_routes_with_nangos_bodies() {
        let two_step = creds(&[("type", "TWO_STEP"), ("username", "u"), ("pin", "1")]);
        assert_eq!(
            posted(&[("type", "TWO_STEP"), ("username", "u"), ("pin", "1")]),
            ("/auth/two-step/", two_step)
        );
        assert_eq!(
            posted(&[("type", "JWT"), ("privateKey", "k")]).0,
            "/auth/jwt/"
        );
        assert_eq!(posted(&[("privateKey", "id:secret")]).0, "/auth/jwt/");
        assert_eq!(
            posted(&[
                ("type", "SIGNATURE"),
                ("username", "u"),
                ("password", "p"),
                ("x", "y")
            ]),
            (
                "/auth/signature/",
                creds(&[("type", "SIGNATURE"), ("username", "u"), ("password", "p")])
            )
        );
        assert_eq!(
            posted(&[
                ("token_secret", "b"),
                ("token_id", "a"),
                ("oauth_client_id_override", "c")
            ]),
            (
                "/auth/tba/",
                creds(&[
                    ("token_id", "a"),
                    ("token_secret", "b"),
                    ("oauth_client_id_override", "c")
                ])
            )
        );
        let bill = [
            ("username", "u"),
            ("password", "p"),
            ("organization_id", "o"),
            ("dev_key", "d"),
        ];
        assert_eq!(posted(&bill), ("/auth/bill/", creds(&bill)));
        assert_eq!(
            posted(&[
                ("region", "eu-west-1"),
                ("type", "AWS_SIGV4"),
                ("role_arn", "arn")
            ]),
            (
                "/auth/aws-sigv4/",
                creds(&[("role_arn", "arn"), ("region", "eu-west-1")])
            )
        );
    }

    #[test]
    fn kinds_without_a_latchkey_route_are_refused_with_a_type() {
        for c in [
            creds(&[("type", "AWS_SIGV4")]),
            creds(&[("client_id", "only")]),
        ] {
            assert_eq!(
                dispatch(&c).unwrap_err().kind,
                "missing_credentials",
                "{c:?}"
            );
        }
    }
}
