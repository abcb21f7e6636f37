//! The REST error envelope and the catalogue of error codes.
//!
//! Every REST error is `{"error": {"code", "message", "errors"?}}`. Codes are an enum on the producing
//! side so a typo cannot ship; consumers keep the raw string because servers may add codes.

use serde::{Deserialize, Serialize};

/// Error codes the server produces (Nango's names; see reference §3.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    MissingAuthHeader,
    MalformedAuthHeader,
    UnknownAccount,
    InvalidSecretKeyFormat,
    InvalidConnectSessionTokenFormat,
    UnknownConnectSessionToken,
    Forbidden,
    NotFound,
    UnknownConnection,
    UnknownProviderConfig,
    UnknownProviderTemplate,
    InvalidAuthMode,
    IntegrationNotAllowed,
    InvalidConnection,
    InvalidCredentials,
    InvalidBody,
    InvalidQueryParams,
    InvalidUriParams,
    InvalidJson,
    ServerError,
    // OAuth flow errors, reported on the WebSocket and to the SDK as `AuthError.type`.
    ProviderConfigErr,
    UnknownConfigKey,
    UrlParamErr,
    StateErr,
    StateCookieErr,
    CallbackErr,
    TokenErr,
    AuthModeErr,
    UnknownErr,
    // ---- added for issue 3 (REST completion) ----------------------------------------------------
    /// The provider's `proxy.verification` request refused the submitted API key / basic credentials.
    ConnectionTestFailed,
    /// The provider's token endpoint refused a client-credentials request.
    ClientCredentialsFetchError,
    MissingPublicKey,
    InvalidPublicKey,
    /// Per-key rate limit exceeded (429).
    TooManyRequests,
    // ---- added for issue 4 (HMAC public-key mode, 400 like Nango) ------------------------------
    MissingHmac,
    InvalidHmac,
    // ---- added for issue 10 (redirect mode) -----------------------------------------------------
    /// A redirect-mode `return_url` that is not an http(s) URL on one of the environment's allowed
    /// origins (or the environment lists none).
    InvalidReturnUrl,
    // ---- added for issue 16 (proxy: `/proxy/*`, Nango's codes where Nango has one) -------------
    /// A proxy control header (`Connection-Id`, `Retries`, …) is missing or malformed (400).
    InvalidHeaders,
    /// The provider has no `proxy.base_url` and the call gave no `Base-Url-Override` (400).
    UnsupportedProvider,
    /// The upstream URL cannot be built (a `${connectionConfig.x}` of the base URL has no value) (400).
    MissingApiUrl,
    /// The provider's proxy templates need an auth scheme Latchkey does not implement (400).
    UnsupportedAuth,
    /// `Base-Url-Override` names a host the outbound policy refuses (400).
    BaseUrlOverrideNotAllowed,
    /// The request body is larger than the proxy accepts (413).
    PayloadTooLarge,
    /// The upstream answer is larger than the proxy passes on (502).
    ResponseTooLarge,
    /// The upstream could not be reached (502).
    UpstreamUnreachable,
    /// The upstream did not answer in time (504).
    UpstreamTimeout,
    // ---- added for issue 12 (every rejection in the envelope) -----------------------------------
    /// A request the framework refused before any handler (Nango's generic validation code).
    InvalidRequest,
    /// 405: the route exists, not with this method.
    MethodNotAllowed,
    // ---- added for issue 15 (credential-based modes, helper `auth`; Nango's codes, 400) -----------
    /// The provider's TWO_STEP token request failed or could not be sent.
    TwoStepCredentialsFetchError,
    /// The provider's TWO_STEP token endpoint refused the credentials.
    InvalidTwoStepCredentials,
    /// The provider's token URL is missing or cannot be built from the connection config.
    MissingTokenUrl,
    /// Bill's login failed or could not be sent.
    BillTokensFetchError,
    /// Bill refused the login.
    InvalidBillCredentials,
    /// A JWT or signature could not be produced from the submitted key material.
    FailedToGenerate,
    // ---- added for issue 15 (AWS SigV4; Nango's codes) ----------------------------------------------
    /// The integration's AWS SigV4 settings are incomplete or inconsistent.
    InvalidAwsSigv4Config,
    /// The integration has no `service` setting.
    MissingAwsSigv4Service,
    /// `stsMode: custom` without `stsEndpointUrl`.
    MissingAwsSigv4StsEndpoint,
    /// `stsMode: builtin` without the integration's AWS access key.
    MissingAwsSigv4BuiltinCredentials,
    /// Neither the connection nor the integration names a region.
    MissingAwsSigv4Region,
    /// STS (AWS's or the integration's own endpoint) gave no temporary credentials (502).
    AwsSigv4StsRequestFailed,
    // ---- added for issue 15 (GitHub App; Nango's codes) ---------------------------------------------
    /// GitHub did not give an installation access token for the app's JWT.
    GithubAppTokenFetchError,
    /// A flow this auth mode does not have (a GitHub App install *request* awaiting an owner's
    /// approval: that is `github-app-oauth`'s flow).
    WrongAuthMode,
    /// A provider webhook without a valid signature (401).
    WebhookInvalidSignature,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingAuthHeader => "missing_auth_header",
            Self::MalformedAuthHeader => "malformed_auth_header",
            Self::UnknownAccount => "unknown_account",
            Self::InvalidSecretKeyFormat => "invalid_secret_key_format",
            Self::InvalidConnectSessionTokenFormat => "invalid_connect_session_token_format",
            Self::UnknownConnectSessionToken => "unknown_connect_session_token",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::UnknownConnection => "unknown_connection",
            Self::UnknownProviderConfig => "unknown_provider_config",
            Self::UnknownProviderTemplate => "unknown_provider_template",
            Self::InvalidAuthMode => "invalid_auth_mode",
            Self::IntegrationNotAllowed => "integration_not_allowed",
            Self::InvalidConnection => "invalid_connection",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidBody => "invalid_body",
            Self::InvalidQueryParams => "invalid_query_params",
            Self::InvalidUriParams => "invalid_uri_params",
            Self::InvalidJson => "invalid_json",
            Self::ServerError => "server_error",
            Self::ProviderConfigErr => "provider_config_err",
            Self::UnknownConfigKey => "unknown_config_key",
            Self::UrlParamErr => "url_param_err",
            Self::StateErr => "state_err",
            Self::StateCookieErr => "state_cookie_err",
            Self::CallbackErr => "callback_err",
            Self::TokenErr => "token_err",
            Self::AuthModeErr => "auth_mode_err",
            Self::UnknownErr => "unknown_err",
            Self::ConnectionTestFailed => "connection_test_failed",
            Self::ClientCredentialsFetchError => "client_credentials_fetch_error",
            Self::MissingPublicKey => "missing_public_key",
            Self::InvalidPublicKey => "invalid_public_key",
            Self::TooManyRequests => "too_many_requests",
            Self::MissingHmac => "missing_hmac",
            Self::InvalidHmac => "invalid_hmac",
            Self::InvalidReturnUrl => "invalid_return_url",
            Self::InvalidHeaders => "invalid_headers",
            Self::UnsupportedProvider => "unsupported_provider",
            Self::MissingApiUrl => "missing_api_url",
            Self::UnsupportedAuth => "unsupported_auth",
            Self::BaseUrlOverrideNotAllowed => "base_url_override_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::ResponseTooLarge => "response_too_large",
            Self::UpstreamUnreachable => "upstream_unreachable",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::InvalidRequest => "invalid_request",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::TwoStepCredentialsFetchError => "two_step_credentials_fetch_error",
            Self::InvalidTwoStepCredentials => "invalid_two_step_credentials",
            Self::MissingTokenUrl => "missing_token_url",
            Self::BillTokensFetchError => "bill_tokens_fetch_error",
            Self::InvalidBillCredentials => "invalid_bill_credentials",
            Self::FailedToGenerate => "failed_to_generate",
            Self::InvalidAwsSigv4Config => "invalid_aws_sigv4_config",
            Self::MissingAwsSigv4Service => "missing_aws_sigv4_service",
            Self::MissingAwsSigv4StsEndpoint => "missing_aws_sigv4_sts_endpoint",
            Self::MissingAwsSigv4BuiltinCredentials => "missing_aws_sigv4_builtin_credentials",
            Self::MissingAwsSigv4Region => "missing_aws_sigv4_region",
            Self::AwsSigv4StsRequestFailed => "aws_sigv4_sts_request_failed",
            Self::GithubAppTokenFetchError => "github_app_token_fetch_error",
            Self::WrongAuthMode => "wrong_auth_mode",
            Self::WebhookInvalidSignature => "webhook_invalid_signature",
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One validation problem, with the JSON path of the offending value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidationIssue {
    pub code: String,
    pub message: String,
    pub path: Vec<String>,
}

/// The inner object of the error envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ValidationIssue>>,
}

/// `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiErrorBody {
    pub error: ApiError,
}

/// The error types the frontend SDK rejects with (`AuthError.type`). Server codes and WebSocket
/// `error_type`s are passed through verbatim in addition to these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthErrorType {
    MissingAuthToken,
    BlockedByBrowser,
    InvalidHostUrl,
    MissingCredentials,
    WindowClosed,
    ConnectionTestFailed,
    MissingConnectSessionToken,
    ConnectionValidationFailed,
    UnknownError,
}

impl AuthErrorType {
    /// Every type, in declaration order (`pkg/index.d.ts` lists the same; a test compares them).
    pub const ALL: [Self; 9] = [
        Self::MissingAuthToken,
        Self::BlockedByBrowser,
        Self::InvalidHostUrl,
        Self::MissingCredentials,
        Self::WindowClosed,
        Self::ConnectionTestFailed,
        Self::MissingConnectSessionToken,
        Self::ConnectionValidationFailed,
        Self::UnknownError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingAuthToken => "missing_auth_token",
            Self::BlockedByBrowser => "blocked_by_browser",
            Self::InvalidHostUrl => "invalid_host_url",
            Self::MissingCredentials => "missing_credentials",
            Self::WindowClosed => "window_closed",
            Self::ConnectionTestFailed => "connection_test_failed",
            Self::MissingConnectSessionToken => "missing_connect_session_token",
            Self::ConnectionValidationFailed => "connection_validation_failed",
            Self::UnknownError => "unknown_error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_serializes_as_its_string() {
        for code in [
            ErrorCode::InvalidBody,
            ErrorCode::UnknownConnectSessionToken,
            ErrorCode::StateCookieErr,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn auth_error_type_serializes_as_its_string() {
        let json = serde_json::to_string(&AuthErrorType::BlockedByBrowser).unwrap();
        assert_eq!(json, "\"blocked_by_browser\"");
    }

    #[test]
    fn error_envelope_omits_absent_issue_list() {
        let body = ApiErrorBody {
            error: ApiError {
                code: "not_found".into(),
                message: "nope".into(),
                errors: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":{"code":"not_found","message":"nope"}}"#
        );
    }
}
