//! `/dashboard/api/logs`: the REST API's activity log routes (the list, one operation, the live tail).

use super::dev;
use crate::dashboard::auth::Admin;
use crate::http::error::ApiError;
use crate::http::extract::{Path, Query, SecretKeyAuth};
use crate::http::logs;
use crate::http::logs::LogQuery;
use crate::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

pub(super) async fn list_logs(
    State(app): State<AppState>,
    _admin: Admin,
    q: Query<LogQuery>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    logs::list(State(app), SecretKeyAuth(env), q)
        .await
        .map(IntoResponse::into_response)
}

pub(super) async fn show_log(
    State(app): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    logs::show(State(app), SecretKeyAuth(env), Path(id))
        .await
        .map(IntoResponse::into_response)
}

pub(super) async fn stream_logs(
    State(app): State<AppState>,
    _admin: Admin,
    q: Query<LogQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let env = dev(&app).await?;
    logs::tail(State(app), SecretKeyAuth(env), q, headers)
        .await
        .map(IntoResponse::into_response)
}
