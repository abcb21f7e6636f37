//! `/dashboard/api/session`: who is signed in, signing in, and signing out (this browser, or every
//! session of the admin).

use crate::dashboard::auth::{self, Admin, AdminWrite, ClientIp};
use crate::http::error::ApiError;
use crate::http::extract::StrictJson;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_protocol::dashboard::{SessionInfo, SignIn};

fn info(admin: &Admin) -> SessionInfo {
    SessionInfo {
        email: admin.email.clone(),
        csrf_token: admin.csrf_token.clone(),
    }
}

pub(super) async fn session(admin: Admin) -> Json<SessionInfo> {
    Json(info(&admin))
}

pub(super) async fn sign_in(
    State(app): State<AppState>,
    axum::Extension(limits): axum::Extension<std::sync::Arc<auth::Limits>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    StrictJson(body): StrictJson<SignIn>,
) -> Result<Response, ApiError> {
    auth::same_origin(&app, &headers)?;
    let (token, row) = auth::sign_in(&app, &limits, &ip, &body.email, &body.password).await?;
    let body = SessionInfo {
        email: row.email,
        csrf_token: row.csrf_token,
    };
    Ok((
        [(header::SET_COOKIE, auth::cookie(Some(&token)))],
        Json(body),
    )
        .into_response())
}

pub(super) async fn sign_out(
    State(app): State<AppState>,
    AdminWrite(admin): AdminWrite,
) -> Result<Response, ApiError> {
    app.store
        .delete_dashboard_session(&admin.token_hash)
        .await?;
    Ok((
        [(header::SET_COOKIE, auth::cookie(None))],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

pub(super) async fn sign_out_everywhere(
    State(app): State<AppState>,
    AdminWrite(admin): AdminWrite,
) -> Result<Response, ApiError> {
    app.store.end_admin_sessions(admin.admin_id).await?;
    Ok((
        [(header::SET_COOKIE, auth::cookie(None))],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}
