//! `/dashboard/api/preview-session`: a connect session for the Connect UI's theme preview.

use super::dev;
use crate::dashboard::auth::AdminWrite;
use crate::http::connect_sessions;
use crate::http::error::ApiError;
use crate::http::extract::{SecretKeyAuth, StrictJson};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use latchkey_protocol::connect::{CreateConnectSessionRequest, EndUser};
use latchkey_protocol::dashboard::PreviewSession;
use latchkey_protocol::DataEnvelope;

/// A connect session for the Connect UI preview (end user `dashboard-preview`); it expires like
/// any other.
pub(super) async fn preview_session(
    State(app): State<AppState>,
    _admin: AdminWrite,
) -> Result<Json<PreviewSession>, ApiError> {
    let env = dev(&app).await?;
    let request = CreateConnectSessionRequest {
        end_user: Some(EndUser {
            id: "dashboard-preview".into(),
            email: None,
            display_name: Some("Dashboard preview".into()),
            tags: None,
        }),
        ..Default::default()
    };
    let (_, Json(DataEnvelope { data })) =
        connect_sessions::create_session(State(app), SecretKeyAuth(env), StrictJson(request))
            .await?;
    Ok(Json(PreviewSession { token: data.token }))
}
