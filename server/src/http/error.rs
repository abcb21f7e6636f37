//! One error type for every route: renders `{"error": {"code", "message", "errors"?}}` with the status
//! Nango uses, logs the internal cause (never a secret) and shows the client a clean message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_protocol::{ApiError as WireError, ApiErrorBody, ErrorCode, ValidationIssue};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{code}: {message}")]
    Coded {
        status: StatusCode,
        code: ErrorCode,
        message: String,
    },
    #[error("{code}: invalid input")]
    Invalid {
        code: ErrorCode,
        issues: Vec<ValidationIssue>,
    },
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<crate::crypto::CryptoError> for ApiError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        Self::Internal(e.into())
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Coded {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn invalid_query(path: Vec<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            code: ErrorCode::InvalidQueryParams,
            issues: vec![ValidationIssue {
                code: "invalid".into(),
                message: message.into(),
                path,
            }],
        }
    }

    pub fn invalid_body(path: Vec<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            code: ErrorCode::InvalidBody,
            issues: vec![ValidationIssue {
                code: "invalid".into(),
                message: message.into(),
                path,
            }],
        }
    }

    /// Status, code and a one-line message, for pages that show the error instead of JSON.
    pub fn summary(&self) -> (StatusCode, ErrorCode, String) {
        match self {
            Self::Coded {
                status,
                code,
                message,
            } => (*status, *code, message.clone()),
            Self::Invalid { code, issues } => (
                StatusCode::BAD_REQUEST,
                *code,
                issues
                    .iter()
                    .map(|i| i.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::UnknownErr,
                "An internal error occurred.".into(),
            ),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Coded { status, .. } => *status,
            Self::Invalid { .. } => StatusCode::BAD_REQUEST,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let error = match self {
            Self::Coded { code, message, .. } => WireError {
                code: code.as_str().into(),
                message,
                errors: None,
            },
            Self::Invalid { code, issues } => {
                let message = issues
                    .iter()
                    .map(|i| format!("{}: {}", i.path.join("."), i.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                WireError {
                    code: code.as_str().into(),
                    message,
                    errors: Some(issues),
                }
            }
            Self::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                WireError {
                    code: ErrorCode::ServerError.as_str().into(),
                    message: "An internal error occurred.".into(),
                    errors: None,
                }
            }
        };
        (status, Json(ApiErrorBody { error })).into_response()
    }
}

/// Any unmatched route answers with the envelope too.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "Unknown route.")
}

/// The envelope for what no handler answered: the framework's own rejections (405, a 413 from the body
/// limit, an unknown file under `/connect/` or `/sdk/`) arrive as plain text or an empty body; they
/// leave as `{"error":{"code","message"}}` with the same status and headers (`Allow` included).
/// JSON and HTML answers (handlers, the OAuth pages) pass untouched.
pub async fn envelope(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let content_type = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return res;
    }
    let (parts, body) = res.into_parts();
    let said = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let (code, fallback) = match status {
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "Unknown route or file."),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "This route does not accept this method.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::PayloadTooLarge,
            "The request body is over the size limit.",
        ),
        StatusCode::TOO_MANY_REQUESTS => (ErrorCode::TooManyRequests, "Too many requests."),
        s if s.is_server_error() => (ErrorCode::ServerError, "An internal error occurred."),
        _ => (ErrorCode::InvalidRequest, "The request is not valid."),
    };
    let message = match (status.is_server_error(), said) {
        (false, Some(said)) => said,
        _ => fallback.to_string(),
    };
    let mut enveloped = ApiError::new(status, code, message).into_response();
    for (name, value) in parts.headers.iter() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            enveloped.headers_mut().append(name.clone(), value.clone());
        }
    }
    enveloped
}
