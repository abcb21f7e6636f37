//! Connections as `GET /connection(s)/:id` returns them (reference §3.10).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Stored credentials, tagged by `type` like Nango. `Debug` shows the type only: tokens, keys and
/// passwords never reach a log line through `{:?}`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type")]
pub enum Credentials {
    #[serde(rename = "OAUTH2")]
    OAuth2 {
        access_token: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refresh_token: Option<String>,
        /// ISO-8601 UTC.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<String>,
        #[serde(default)]
        raw: serde_json::Value,
        /// The OAuth client this connection was authorized with, when the frontend overrode the
        /// integration's (`credentials[oauth_client_id_override]`, …); refreshes use it too.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config_override: Option<ConfigOverride>,
    },
    #[serde(rename = "API_KEY")]
    ApiKey {
        #[serde(rename = "apiKey")]
        api_key: String,
    },
    #[serde(rename = "BASIC")]
    Basic { username: String, password: String },
    // ---- added for issue 3 (client credentials, unauthenticated) ----------------------------------
    /// OAuth2 client credentials: the server fetches `token` with the end user's client id and secret
    /// and fetches a new one before it expires (reference §3.10, `OAuth2ClientCredentials`).
    #[serde(rename = "OAUTH2_CC")]
    OAuth2Cc {
        token: String,
        /// ISO-8601 UTC.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<String>,
        client_id: String,
        client_secret: String,
        #[serde(default)]
        raw: serde_json::Value,
    },
    /// A connection to a provider that needs no credentials (`auth_mode: NONE`). Stored with its tag;
    /// `GET /connection(s)/:id` shows it as `{}` like Nango.
    #[serde(rename = "NONE")]
    Unauthenticated {},
    // ---- added for issue 15 (credential-based modes, helper `auth`) ------------------------------
    /// `TWO_STEP`: the user's credentials (kept, as Nango, beside the token: renewals post them again)
    /// and the token the provider's `token_url` returned (Nango's `TwoStepCredentials`).
    #[serde(rename = "TWO_STEP")]
    TwoStep {
        token: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refresh_token: Option<String>,
        /// ISO-8601 UTC.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<String>,
        #[serde(default)]
        raw: serde_json::Value,
        /// The submitted credential fields (`clientId`, `username`, …), flattened like Nango.
        #[serde(flatten)]
        fields: serde_json::Map<String, serde_json::Value>,
    },
    /// `JWT`: the submitted key material and the JWT the server signed from it (Nango's
    /// `JwtCredentials`); re-signed before it expires.
    #[serde(rename = "JWT")]
    Jwt {
        token: String,
        /// ISO-8601 UTC.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<String>,
        #[serde(flatten)]
        fields: serde_json::Map<String, serde_json::Value>,
    },
    /// `BILL`: Bill.com's login and the session it opened (Nango's `BillCredentials`).
    #[serde(rename = "BILL")]
    Bill {
        username: String,
        password: String,
        organization_id: String,
        dev_key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
        /// ISO-8601 UTC.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<String>,
        #[serde(default)]
        raw: serde_json::Value,
    },
    /// `SIGNATURE`: a WSSE `UsernameToken` computed from the username and password.
    #[serde(rename = "SIGNATURE")]
    Signature {
        username: String,
        password: String,
        token: String,
        /// ISO-8601 UTC.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<String>,
    },
    /// `TBA` (NetSuite token-based auth): the token id and secret; the consumer key and secret are the
    /// integration's unless overridden.
    #[serde(rename = "TBA")]
    Tba {
        token_id: String,
        token_secret: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config_override: Option<ConfigOverride>,
    },
    // ---- added for issue 15 (popup and redirect modes) ---------------------------------------------
    /// OAuth 1.0a token credentials (Nango's `OAuth1Credentials`); never refreshed.
    #[serde(rename = "OAUTH1")]
    OAuth1 {
        oauth_token: String,
        oauth_token_secret: String,
        #[serde(default)]
        raw: serde_json::Value,
    },
    /// `APP` (GitHub App): an installation access token the server gets with the app's own JWT
    /// (signed with the integration's private key) and gets again before it expires (Nango's
    /// `AppCredentials`).
    #[serde(rename = "APP")]
    App {
        access_token: String,
        /// ISO-8601 UTC.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<String>,
        #[serde(default)]
        raw: serde_json::Value,
        /// The app JWT the token was fetched with (valid ten minutes).
        #[serde(rename = "jwtToken", default, skip_serializing_if = "Option::is_none")]
        jwt_token: Option<String>,
        /// `CUSTOM` (`github-app-oauth`): the user's own OAuth2 credentials (`{"type": "OAUTH2", …}`),
        /// sealed with the installation token; `GET /connection` shows them as
        /// `connection_config.userCredentials`, where Nango keeps them.
        #[serde(
            rename = "userCredentials",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        user_credentials: Option<serde_json::Value>,
    },
    /// `AWS_SIGV4`: temporary credentials STS issued for the customer's IAM role (Nango's
    /// `AwsSigV4Credentials`); every proxied request is SigV4-signed with them, and they are fetched
    /// again before they expire.
    #[serde(rename = "AWS_SIGV4")]
    AwsSigV4 {
        role_arn: String,
        region: String,
        service: String,
        access_key_id: String,
        secret_access_key: String,
        session_token: String,
        /// ISO-8601 UTC.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external_id: Option<String>,
        #[serde(default)]
        raw: serde_json::Value,
    },
}

impl Credentials {
    /// The `type` tag: the catalog's name of the auth mode (`OAUTH2`, `API_KEY`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::OAuth2 { .. } => "OAUTH2",
            Self::ApiKey { .. } => "API_KEY",
            Self::App { .. } => "APP",
            Self::Basic { .. } => "BASIC",
            Self::OAuth2Cc { .. } => "OAUTH2_CC",
            Self::Unauthenticated {} => "NONE",
            Self::TwoStep { .. } => "TWO_STEP",
            Self::Jwt { .. } => "JWT",
            Self::Bill { .. } => "BILL",
            Self::Signature { .. } => "SIGNATURE",
            Self::Tba { .. } => "TBA",
            Self::OAuth1 { .. } => "OAUTH1",
            Self::AwsSigV4 { .. } => "AWS_SIGV4",
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("type", &self.kind())
            .finish_non_exhaustive()
    }
}

/// Nango's `credentials.config_override`: the client id and/or secret used instead of the integration's.
/// `Debug` hides the secret.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for ConfigOverride {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigOverride")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_never_prints_secrets() {
        let all = [
            Credentials::OAuth2 {
                access_token: "at-SECRET".into(),
                refresh_token: Some("rt-SECRET".into()),
                expires_at: None,
                raw: serde_json::json!({"access_token": "at-SECRET"}),
                config_override: Some(ConfigOverride {
                    client_id: Some("cid".into()),
                    client_secret: Some("cs-SECRET".into()),
                }),
            },
            Credentials::ApiKey {
                api_key: "k-SECRET".into(),
            },
            Credentials::Basic {
                username: "u".into(),
                password: "p-SECRET".into(),
            },
        ];
        for c in all {
            let shown = format!("{c:?}");
            assert!(!shown.contains("SECRET"), "{shown}");
        }
        let o = ConfigOverride {
            client_id: None,
            client_secret: Some("cs-SECRET".into()),
        };
        assert!(!format!("{o:?}").contains("SECRET"));
    }
}

/// Body of `GET /connection(s)/:id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionResponse {
    pub id: i64,
    pub connection_id: String,
    pub provider_config_key: String,
    pub provider: String,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
    pub end_user: Option<serde_json::Value>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub connection_config: serde_json::Map<String, serde_json::Value>,
    pub created_at: String,
    pub updated_at: String,
    /// `{}` for a connection without credentials (auth mode NONE), as Nango shows it.
    #[cfg_attr(feature = "openapi", schema(schema_with = wire_credentials))]
    pub credentials: Credentials,
}

/// The schema of [`ConnectionResponse::credentials`]: a [`Credentials`] (the document registers it
/// under that name) or `{}`.
#[cfg(feature = "openapi")]
fn wire_credentials() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(utoipa::openapi::Ref::from_schema_name("Credentials"))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .max_properties(Some(0)),
        )
        .into()
}

/// Body of `GET /connection(s)` (Nango's list: no credentials).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionList {
    pub connections: Vec<ConnectionListItem>,
}

/// One connection of [`ConnectionList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionListItem {
    pub id: i64,
    pub connection_id: String,
    pub provider_config_key: String,
    pub provider: String,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
    pub end_user: Option<serde_json::Value>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// ISO-8601 UTC (Nango names it `created` here, `created_at` elsewhere).
    pub created: String,
}

/// Answer of the credential-submission endpoints (`POST /api-auth/*`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuthResult {
    pub provider_config_key: String,
    pub connection_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_pending: Option<bool>,
}

// ---- added for issue 3 (import) ---------------------------------------------------------------

/// The end user of an imported connection (Nango's `EndUserInput`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EndUserInput {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<crate::connect::Organization>,
}

/// Body of `POST /connections`: a connection whose credentials already exist elsewhere (reference
/// §3.13). Answered 201 with the connection as `GET /connections/:id` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ImportConnectionRequest {
    /// Generated (UUID) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    pub provider_config_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_config: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url_override: Option<String>,
    pub credentials: Credentials,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user: Option<EndUserInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth2_credentials_carry_the_nango_type_tag() {
        let c = Credentials::OAuth2 {
            access_token: "a".into(),
            refresh_token: None,
            expires_at: None,
            raw: serde_json::json!({}),
            config_override: None,
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["type"], "OAUTH2");
        assert_eq!(v["access_token"], "a");
    }

    #[test]
    fn two_step_and_jwt_fields_are_flattened_beside_the_token() {
        let v = serde_json::json!({"type": "TWO_STEP", "token": "t", "raw": {"a": 1},
            "expires_at": "2026-01-01T00:00:00Z", "clientId": "c", "clientSecret": "s"});
        let c: Credentials = serde_json::from_value(v.clone()).unwrap();
        let Credentials::TwoStep { fields, token, .. } = &c else {
            panic!("{c:?}")
        };
        assert_eq!(
            (token.as_str(), &fields["clientId"]),
            ("t", &serde_json::json!("c"))
        );
        assert!(!fields.contains_key("type") && !fields.contains_key("raw"));
        assert_eq!(serde_json::to_value(&c).unwrap(), v);
        let jwt = serde_json::json!({"type": "JWT", "token": "j", "privateKey": {"id": "i", "secret": "s"}});
        let c: Credentials = serde_json::from_value(jwt.clone()).unwrap();
        assert_eq!(serde_json::to_value(&c).unwrap(), jwt);
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn api_key_credentials_use_camel_case_key() {
        let c: Credentials = serde_json::from_str(r#"{"type":"API_KEY","apiKey":"k"}"#).unwrap();
        assert_eq!(
            c,
            Credentials::ApiKey {
                api_key: "k".into()
            }
        );
    }
}
