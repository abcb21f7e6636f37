//! One structured record per proxied call, for the operator's logs today and the activity log later:
//! a `tracing` event with target [`TARGET`] and fixed field names (a subscriber or layer can select
//! the target and read the fields without parsing text).
//!
//! Recorded: method, integration, connection id, endpoint **path** (never the query string, which
//! may carry keys), upstream status (0 when there was none), the proxy's error code when it refused
//! or failed, duration (until the body was passed on), retries, whether the token was refreshed
//! after a 401, and bytes returned. Never headers or bodies: they carry credentials and personal data.
//!
//! The event is emitted when the record is dropped — after the response body has been streamed (or
//! the caller went away), so the duration and byte count are the whole call's.

use crate::activity::{Completed, Level, Outcome, Recorder, Subject};
use axum::http::Method;
use serde::Serialize;
use std::time::Instant;

/// The `tracing` target of proxy records.
pub const TARGET: &str = "latchkey::proxy";

#[derive(Debug)]
pub struct CallRecord {
    pub method: Method,
    pub integration: String,
    pub connection_id: String,
    pub endpoint: String,
    pub status: u16,
    /// The proxy's own error code when it answered instead of the provider.
    pub error: Option<&'static str>,
    pub retries: u32,
    pub refreshed: bool,
    pub response_bytes: u64,
    /// The response stream failed part-way (too large, provider broke off, caller left).
    pub aborted: bool,
    /// Where the activity log entry goes (written when the record is dropped).
    pub activity: Option<ProxySink>,
    started: Instant,
}

impl CallRecord {
    pub fn start(method: Method, endpoint: &str) -> Self {
        Self {
            method,
            integration: String::new(),
            connection_id: String::new(),
            endpoint: endpoint.to_string(),
            status: 0,
            error: None,
            retries: 0,
            refreshed: false,
            response_bytes: 0,
            aborted: false,
            activity: None,
            started: Instant::now(),
        }
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        let duration_ms = self.started.elapsed().as_millis() as u64;
        tracing::info!(
            target: TARGET,
            method = %self.method,
            integration = %self.integration,
            connection_id = %self.connection_id,
            endpoint = %self.endpoint,
            status = self.status,
            error = self.error.unwrap_or(""),
            duration_ms,
            retries = self.retries,
            refreshed = self.refreshed,
            response_bytes = self.response_bytes,
            aborted = self.aborted,
            "proxy call"
        );
        if let Some(sink) = self.activity.take() {
            sink.record(self, duration_ms);
        }
    }
}

/// What the proxy's call record needs to write its entry when it is dropped.
#[derive(Clone, Debug)]
pub struct ProxySink {
    recorder: crate::activity::Recorder,
    env_id: i64,
}

pub fn proxy_sink(log: &Recorder, env_id: i64) -> Option<ProxySink> {
    log.enabled().then(|| ProxySink {
        recorder: log.clone(),
        env_id,
    })
}

/// The entry's detail: the record's facts, serialized straight from here (one per proxied call,
/// so no intermediate JSON tree).
#[derive(Serialize)]
struct Detail<'a> {
    method: &'a str,
    endpoint: &'a str,
    status: u16,
    error: Option<&'static str>,
    retries: u32,
    refreshed: bool,
    response_bytes: u64,
    aborted: bool,
    duration_ms: u64,
}

impl ProxySink {
    /// One finished proxy call (path only: the query may carry keys). Takes the record's names:
    /// it is being dropped.
    pub fn record(self, r: &mut CallRecord, duration_ms: u64) {
        let ok = r.error.is_none() && !r.aborted && (200..400).contains(&r.status);
        let detail = serde_json::to_string(&Detail {
            method: r.method.as_str(),
            endpoint: &r.endpoint,
            status: r.status,
            error: r.error,
            retries: r.retries,
            refreshed: r.refreshed,
            response_bytes: r.response_bytes,
            aborted: r.aborted,
            duration_ms,
        })
        .ok();
        let message = match r.error {
            Some(code) => format!("{} {} failed: {code}", r.method, r.endpoint),
            None => format!("{} {} → {}", r.method, r.endpoint, r.status),
        };
        let name = |s: &mut String| Some(std::mem::take(s)).filter(|s| !s.is_empty());
        self.recorder.completed(Completed {
            env_id: self.env_id,
            op_type: "proxy",
            subject: Subject {
                integration: name(&mut r.integration),
                connection_id: name(&mut r.connection_id),
                end_user_id: None,
            },
            duration_ms,
            outcome: if ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            level: if ok { Level::Info } else { Level::Error },
            message,
            detail,
        });
    }
}
