//! `/proxy/*` for every method (Nango's proxy): the route and its authentication. The work is in
//! [`crate::proxy`]; this module only maps its refusals to the error envelope.

use super::error::ApiError;
use super::extract::SecretKeyAuth;
use crate::proxy::ProxyError;
use crate::AppState;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::any;
use axum::Router;

/// Nested at `/proxy` (so the handler sees the endpoint as its path). No body size limit here: the
/// proxy streams bodies and applies its own (`LATCHKEY_PROXY_MAX_REQUEST_BYTES`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", any(forward))
        .route("/{*endpoint}", any(forward))
}

async fn forward(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    req: Request,
) -> Result<Response, ApiError> {
    crate::proxy::forward(&app.renewer(), &app.config.proxy, env.id, req)
        .await
        .map_err(ApiError::from)
}

impl From<ProxyError> for ApiError {
    fn from(e: ProxyError) -> Self {
        let (status, code) = e.status_and_code();
        match e {
            ProxyError::InvalidHeaders(issues) => ApiError::Invalid { code, issues },
            ProxyError::Internal(cause) => ApiError::Internal(cause),
            ProxyError::Credentials(crate::connections::RefreshError::Internal(cause)) => {
                ApiError::Internal(cause)
            }
            other => ApiError::new(status, code, other.to_string()),
        }
    }
}
