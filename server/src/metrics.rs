//! Prometheus metrics (text exposition format at `GET /metrics`), with `prometheus-client`.
//!
//! One registry per process: counters are bumped where things happen (the HTTP layer, the OAuth
//! callback, token refresh, the webhook worker, the rate limiter) through the small functions below;
//! gauges that describe the database (outbox depth, connections per integration) are read from it at
//! scrape time, so every replica reports the same shared values.
//!
//! | metric | labels |
//! |---|---|
//! | `latchkey_http_requests_total` | `method`, `route` (the route template, never the raw path), `status` |
//! | `latchkey_http_request_duration_seconds` (histogram) | `method`, `route` |
//! | `latchkey_oauth_attempts_total` | `outcome`: `success` or the error code of the callback |
//! | `latchkey_token_refreshes_total` | `outcome`: `success`, `failure` |
//! | `latchkey_webhook_deliveries_total` | `outcome`: `delivered`, `retry`, `failed` |
//! | `latchkey_webhook_outbox_depth` | — (webhooks waiting to be delivered) |
//! | `latchkey_rate_limit_rejections_total` | — |
//! | `latchkey_connections` | `integration` |

use crate::storage::Store;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Integration {
    integration: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily<RouteLabels>,
    oauth_attempts: Family<Outcome, Counter>,
    refreshes: Family<Outcome, Counter>,
    webhook_deliveries: Family<Outcome, Counter>,
    outbox_depth: Gauge,
    rate_limited: Counter,
    connections: Family<Integration, Gauge>,
    activity_dropped: Counter,
}

/// 5 ms to ~10 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("latchkey");
    let m = Metrics {
        requests: Family::default(),
        durations: Family::new_with_constructor(latency_histogram),
        oauth_attempts: Family::default(),
        refreshes: Family::default(),
        webhook_deliveries: Family::default(),
        outbox_depth: Gauge::default(),
        rate_limited: Counter::default(),
        connections: Family::default(),
        activity_dropped: Counter::default(),
        registry: Registry::default(),
    };
    registry.register(
        "http_requests",
        "HTTP requests by method, route template and status",
        m.requests.clone(),
    );
    registry.register(
        "http_request_duration_seconds",
        "Time to answer HTTP requests, by method and route template",
        m.durations.clone(),
    );
    registry.register(
        "oauth_attempts",
        "OAuth callbacks by outcome (success, or the error code)",
        m.oauth_attempts.clone(),
    );
    registry.register(
        "token_refreshes",
        "Access token refreshes and client-credentials renewals by outcome",
        m.refreshes.clone(),
    );
    registry.register(
        "webhook_deliveries",
        "Webhook delivery attempts by outcome (delivered, retry, failed)",
        m.webhook_deliveries.clone(),
    );
    registry.register(
        "webhook_outbox_depth",
        "Webhooks waiting in the outbox (not delivered, not given up)",
        m.outbox_depth.clone(),
    );
    registry.register(
        "rate_limit_rejections",
        "REST requests refused with 429 by the per-key rate limit",
        m.rate_limited.clone(),
    );
    registry.register(
        "connections",
        "Stored connections per integration",
        m.connections.clone(),
    );
    registry.register(
        "activity_log_dropped",
        "Activity log writes dropped (the writer's queue was full, or the database refused a batch)",
        m.activity_dropped.clone(),
    );
    Metrics { registry, ..m }
});

fn outcome(o: &str) -> Outcome {
    Outcome {
        outcome: o.to_string(),
    }
}

/// An OAuth callback finished: `success`, or the error code it failed with.
pub fn oauth_attempt(result: &str) {
    METRICS.oauth_attempts.get_or_create(&outcome(result)).inc();
}

/// A token refresh (or client-credentials renewal) succeeded or failed.
pub fn token_refresh(success: bool) {
    let o = if success { "success" } else { "failure" };
    METRICS.refreshes.get_or_create(&outcome(o)).inc();
}

/// A webhook delivery attempt ended: `delivered`, `retry` (will be tried again) or `failed` (given up).
pub fn webhook_delivery(result: &'static str) {
    METRICS
        .webhook_deliveries
        .get_or_create(&outcome(result))
        .inc();
}

/// Activity log writes were lost (queue full, or a failed batch): the log is best-effort by design.
pub fn activity_dropped(n: u64) {
    METRICS.activity_dropped.inc_by(n);
}

/// The rate limiter refused a request.
pub fn rate_limited() {
    METRICS.rate_limited.inc();
}

/// Middleware: counts every request and times it, labelled by the route template (`/connection/{id}`),
/// so that ids and tokens in paths never become labels.
pub async fn track(req: Request, next: Next) -> Response {
    let route = match req.extensions().get::<MatchedPath>() {
        Some(p) => p.as_str().to_string(),
        // Static files are answered by fallbacks (no template): one series per folder.
        None if req.uri().path().starts_with("/sdk/") => "/sdk/*".into(),
        None if req.uri().path().starts_with("/connect/") => "/connect/*".into(),
        None => "unmatched".into(),
    };
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    METRICS
        .durations
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    METRICS
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

/// The exposition text, with the database gauges read now.
pub async fn render(store: &Store) -> anyhow::Result<String> {
    let depth = store.webhook_outbox_depth().await?;
    let per_integration = store.connections_per_integration().await?;
    METRICS.outbox_depth.set(depth);
    // Cleared first so that a deleted integration's series disappears.
    METRICS.connections.clear();
    for (integration, count) in per_integration {
        METRICS
            .connections
            .get_or_create(&Integration { integration })
            .set(count);
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &METRICS.registry)?;
    Ok(text)
}
