//! `GET /environment/webhooks` and `POST /environment/webhooks/{id}/resend`: the webhook outbox of an
//! environment, for its administrator (secret key). Dead letters (`status=failed`) are kept until an
//! operator re-sends them here or with `latchkey webhooks resend <id>`.

use super::error::ApiError;
use super::extract::{Query, SecretKeyAuth, StrictJson};
use crate::storage::{WebhookRow, WebhookStatus};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_protocol::webhooks::OutboxWebhook;
use latchkey_protocol::{DataEnvelope, ErrorCode};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/environment/webhooks", get(list))
        .route("/environment/webhooks/{id}/resend", post(resend))
}

/// The outbox row as the API shows it.
pub fn wire(row: &WebhookRow) -> OutboxWebhook {
    let status = row.status();
    OutboxWebhook {
        id: row.id.clone(),
        url: row.url.clone(),
        status: match status {
            WebhookStatus::Pending => "pending",
            WebhookStatus::Delivered => "delivered",
            WebhookStatus::Failed => "failed",
        }
        .into(),
        attempts: row.attempts,
        next_attempt_at: (status == WebhookStatus::Pending)
            .then(|| crate::time::unix_to_iso(row.next_attempt_at)),
        last_error: row.last_error.clone(),
        created_at: row.created_at.clone(),
        delivered_at: row.delivered_at.clone(),
        failed_at: row.failed_at.clone(),
        payload: serde_json::from_str(&row.body).unwrap_or(serde_json::Value::Null),
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    #[param(inline)]
    status: Option<WebhookStatus>,
    /// 1–1000, default 100.
    limit: Option<i64>,
    /// 0-based page of `limit` webhooks.
    page: Option<i64>,
}

async fn list(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Query(q): Query<ListQuery>,
) -> Result<Json<DataEnvelope<Vec<OutboxWebhook>>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid_query(
            vec!["limit".into()],
            "must be between 1 and 1000",
        ));
    }
    let page = q.page.unwrap_or(0);
    if page < 0 {
        return Err(ApiError::invalid_query(
            vec!["page".into()],
            "must be 0 or more",
        ));
    }
    let rows = app
        .store
        .list_webhooks(env.id, q.status, limit, page.saturating_mul(limit))
        .await?;
    Ok(Json(DataEnvelope::new(rows.iter().map(wire).collect())))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Empty {}

async fn resend(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Path(id): Path<String>,
    StrictJson(Empty {}): StrictJson<Empty>,
) -> Result<Json<DataEnvelope<OutboxWebhook>>, ApiError> {
    let row = app
        .store
        .resend_webhook(env.id, &id, app.clock.now_unix())
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                format!("No failed webhook '{id}' in this environment."),
            )
        })?;
    Ok(Json(DataEnvelope::new(wire(&row))))
}
