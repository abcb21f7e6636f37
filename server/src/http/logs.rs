//! `GET /logs`, `GET /logs/{id}` and `GET /logs/stream`: the activity log of an environment, for its
//! administrator (secret key). Filters: `type`, `outcome`, `integration`, `connection_id`,
//! `end_user_id`, `from`/`to` (ISO-8601); pages newest first behind an opaque `cursor`. The stream is
//! Server-Sent Events: each new entry (and each later change of a pending one) as an `entry` event,
//! found by polling the table by its insertion sequence, so it sees what every replica writes.

use super::error::ApiError;
use super::extract::{Path, Query, SecretKeyAuth};
use crate::activity::ms_to_iso;
use crate::environment::Environment;
use crate::storage::activity::{ActivityFilter, ActivityRow};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use futures_util::stream::{self, Stream, StreamExt};
use latchkey_protocol::activity::{LogEntry, LogPage, LogStep, OPERATION_TYPES, OUTCOMES};
use latchkey_protocol::{DataEnvelope, ErrorCode};
use std::collections::BTreeMap;
use std::convert::Infallible;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/logs", get(list))
        .route("/logs/stream", get(tail))
        .route("/logs/{id}", get(show))
}

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;
/// Pending entries a stream keeps watching for their outcome.
const WATCHED: usize = 200;

/// The filters shared by the list, the stream and the CLI.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub outcome: Option<String>,
    pub integration: Option<String>,
    pub connection_id: Option<String>,
    pub end_user_id: Option<String>,
    /// ISO-8601: entries started at or after.
    pub from: Option<String>,
    /// ISO-8601: entries started before.
    pub to: Option<String>,
    /// `next_cursor` of the previous page (list), or where to resume (stream).
    pub cursor: Option<String>,
    /// 1–500, default 50 (list only).
    pub limit: Option<i64>,
}

impl LogQuery {
    /// Checks the values and turns them into a store filter (the cursor excluded).
    pub fn filter(&self) -> Result<ActivityFilter, ApiError> {
        let one_of = |name: &str, v: &Option<String>, allowed: &[&str]| match v {
            Some(v) if !allowed.contains(&v.as_str()) => Err(ApiError::invalid_query(
                vec![name.into()],
                format!("must be one of: {}", allowed.join(", ")),
            )),
            _ => Ok(v.clone()),
        };
        let time = |name: &str, v: &Option<String>| {
            v.as_deref()
                .map(|t| {
                    chrono::DateTime::parse_from_rfc3339(t)
                        .map(|t| t.timestamp_millis())
                        .map_err(|_| {
                            ApiError::invalid_query(
                                vec![name.into()],
                                "must be an ISO-8601 date-time (2026-01-31T12:00:00Z)",
                            )
                        })
                })
                .transpose()
        };
        Ok(ActivityFilter {
            op_type: one_of("type", &self.kind, &OPERATION_TYPES)?,
            outcome: one_of("outcome", &self.outcome, &OUTCOMES)?,
            integration: self.integration.clone(),
            connection_id: self.connection_id.clone(),
            end_user_id: self.end_user_id.clone(),
            from: time("from", &self.from)?,
            to: time("to", &self.to)?,
            before_seq: None,
            after_seq: None,
        })
    }
}

/// An opaque cursor: a position in the log's insertion order.
pub fn encode_cursor(seq: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("lk1:{seq}"))
}

pub fn decode_cursor(cursor: &str) -> Result<i64, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("lk1:")?.parse().ok())
        .ok_or_else(|| {
            ApiError::invalid_query(vec!["cursor".into()], "is not a cursor of this API")
        })
}

/// A stored entry as the API shows it.
pub fn wire(env_name: &str, row: &ActivityRow, steps: Option<Vec<LogStep>>) -> LogEntry {
    LogEntry {
        id: row.id.clone(),
        time: ms_to_iso(row.started_at),
        environment: env_name.to_string(),
        kind: row.op_type.clone(),
        integration: row.integration.clone(),
        connection_id: row.connection_id.clone(),
        end_user_id: row.end_user_id.clone(),
        outcome: row.outcome.clone(),
        ended_at: row.ended_at.map(ms_to_iso),
        duration_ms: row.duration_ms,
        steps,
    }
}

/// An entry's steps as the API shows them.
pub async fn steps(app: &AppState, entry_id: &str) -> Result<Vec<LogStep>, sqlx::Error> {
    Ok(app
        .store
        .activity_steps(entry_id)
        .await?
        .into_iter()
        .map(|s| LogStep {
            time: ms_to_iso(s.at),
            level: s.level,
            message: s.message,
            detail: s.detail.and_then(|d| serde_json::from_str(&d).ok()),
        })
        .collect())
}

pub(crate) async fn list(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Query(q): Query<LogQuery>,
) -> Result<Json<LogPage>, ApiError> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_query(
            vec!["limit".into()],
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let mut filter = q.filter()?;
    filter.before_seq = q.cursor.as_deref().map(decode_cursor).transpose()?;
    // One more than asked: whether there is a next page.
    let mut rows = app
        .store
        .list_activity(env.id, &filter, false, limit + 1)
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|r| encode_cursor(r.seq)))
        .flatten();
    Ok(Json(LogPage {
        data: rows.iter().map(|r| wire(&env.name, r, None)).collect(),
        next_cursor,
    }))
}

pub(crate) async fn show(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Path(id): Path<String>,
) -> Result<Json<DataEnvelope<LogEntry>>, ApiError> {
    let row = app
        .store
        .activity_entry(env.id, &id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                format!("No log entry '{id}' in this environment."),
            )
        })?;
    let steps = steps(&app, &row.id).await?;
    Ok(Json(DataEnvelope::new(wire(&env.name, &row, Some(steps)))))
}

/// Where a stream is: the last sequence sent and the pending entries it watches (id → outcome).
struct Tail {
    app: AppState,
    env: std::sync::Arc<Environment>,
    filter: ActivityFilter,
    /// The `outcome` filter, applied to what is sent (entries are stored pending, then change).
    outcome: Option<String>,
    after: i64,
    pending: BTreeMap<String, String>,
    first: bool,
}

pub(crate) async fn tail(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Query(q): Query<LogQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut filter = q.filter()?;
    let outcome = filter.outcome.take();
    // A reconnecting EventSource resumes after the last event it saw; a new stream starts now.
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(q.cursor.clone());
    let after = match resume {
        Some(c) => decode_cursor(&c)?,
        None => app
            .store
            .list_activity(env.id, &ActivityFilter::default(), false, 1)
            .await?
            .first()
            .map_or(0, |r| r.seq),
    };
    // The tail ends when the server starts to stop, instead of holding the shutdown up.
    let mut stopping = app.stopping.subscribe();
    let state = Tail {
        app,
        env,
        filter,
        outcome,
        after,
        pending: BTreeMap::new(),
        first: true,
    };
    let events = stream::unfold(state, |mut t| async move {
        loop {
            if !std::mem::take(&mut t.first) {
                tokio::time::sleep(t.app.config.activity.tail_every).await;
            }
            let events = poll(&mut t).await;
            if !events.is_empty() {
                return Some((stream::iter(events), t));
            }
        }
    })
    .flatten()
    .take_until(async move {
        let _ = stopping.wait_for(|stopping| *stopping).await;
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// One look at the table: new entries, then pending ones whose outcome changed.
async fn poll(t: &mut Tail) -> Vec<Result<Event, Infallible>> {
    let mut out = Vec::new();
    let filter = ActivityFilter {
        after_seq: Some(t.after),
        ..t.filter.clone()
    };
    let rows = match t
        .app
        .store
        .list_activity(t.env.id, &filter, true, 100)
        .await
    {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "activity log stream could not read the log");
            return out;
        }
    };
    let mut changed: Vec<ActivityRow> = Vec::new();
    for (id, outcome) in t.pending.clone() {
        match t.app.store.activity_entry(t.env.id, &id).await {
            Ok(Some(row)) if row.outcome != outcome => {
                t.pending.remove(&id);
                changed.push(row);
            }
            Ok(None) => {
                t.pending.remove(&id);
            }
            _ => {}
        }
    }
    for row in rows.iter().chain(changed.iter()) {
        if row.outcome == "pending" && t.pending.len() < WATCHED {
            t.pending.insert(row.id.clone(), row.outcome.clone());
        }
        if t.outcome.as_ref().is_some_and(|o| *o != row.outcome) {
            continue;
        }
        let steps = steps(&t.app, &row.id).await.ok();
        let entry = wire(&t.env.name, row, steps);
        let data = serde_json::to_string(&entry).expect("entry serializes");
        out.push(Ok(Event::default()
            .event("entry")
            .id(encode_cursor(row.seq.max(t.after)))
            .data(data)));
    }
    if let Some(last) = rows.last() {
        t.after = last.seq;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_others() {
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
        assert!(decode_cursor("42").is_err());
        assert!(decode_cursor("bGsxOng").is_err());
    }
}
