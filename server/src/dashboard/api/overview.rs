//! `/dashboard/api/overview`: the dashboard's first page, totals and the daily counts of new
//! connections and failed attempts.

use super::dev;
use crate::dashboard::auth::Admin;
use crate::http::error::ApiError;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use latchkey_protocol::dashboard::{DayCount, Overview};

pub(super) async fn overview(
    State(app): State<AppState>,
    _admin: Admin,
) -> Result<Json<Overview>, ApiError> {
    let env = dev(&app).await?;
    let today = app.clock.now_unix_ms() / 86_400_000;
    let first = today - Overview::DAYS as i64 + 1;
    let counts = app.store.daily_activity(env.id, first * 86_400_000).await?;
    let days = (first..=today)
        .map(|day| {
            let sum = |outcome: &str| {
                counts
                    .iter()
                    .filter(|c| c.day == day && c.outcome == outcome)
                    .filter(|c| c.op_type == "oauth" || c.op_type == "credentials")
                    .map(|c| c.count as u64)
                    .sum()
            };
            let date = chrono::DateTime::from_timestamp(day * 86_400, 0).unwrap_or_default();
            DayCount {
                day: date.format("%Y-%m-%d").to_string(),
                connections_created: sum("success"),
                failed_attempts: sum("failure"),
            }
        })
        .collect();
    Ok(Json(Overview {
        integrations: app.store.list_integrations(env.id).await?.len() as u64,
        connections: app.store.list_connections(env.id).await?.len() as u64,
        days,
    }))
}
