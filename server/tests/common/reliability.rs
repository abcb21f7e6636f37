//! The shared rig of the `reliability/` suites (reliability under concurrency, bad input and
//! faults, issue 12): a webhook receiver whose answer a test switches, and a server with an API-key
//! integration that sends its webhooks there.

use crate::common::{harness_configured, serve, Harness};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An API-key provider without a verification endpoint (nothing leaves the machine).
const KEY_ONLY: &str = "key-only:\n    display_name: Key only\n    auth_mode: API_KEY\n";

/// What a webhook receiver answers, switchable during a test.
#[derive(Clone)]
pub struct Receiver {
    /// (arrival, webhook-id, body) of every request.
    pub seen: Arc<Mutex<Vec<(Instant, String, Value)>>>,
    /// Status to answer (and `Retry-After` seconds for it).
    answer: Arc<Mutex<(u16, Option<u64>)>>,
}

impl Receiver {
    pub async fn start() -> (String, Self) {
        let r = Receiver {
            seen: Default::default(),
            answer: Arc::new(Mutex::new((200, None))),
        };
        let state = r.clone();
        let url = serve(axum::Router::new().route(
            "/hooks",
            post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    let id = headers["webhook-id"].to_str().unwrap().to_string();
                    let body: Value = serde_json::from_str(&body).unwrap();
                    state.seen.lock().unwrap().push((Instant::now(), id, body));
                    let (status, retry_after) = *state.answer.lock().unwrap();
                    let mut res = StatusCode::from_u16(status).unwrap().into_response();
                    if let Some(secs) = retry_after {
                        res.headers_mut()
                            .insert("retry-after", secs.to_string().parse().unwrap());
                    }
                    res
                }
            }),
        ))
        .await;
        (format!("{url}/hooks"), r)
    }

    pub fn answer(&self, status: u16, retry_after: Option<u64>) {
        *self.answer.lock().unwrap() = (status, retry_after);
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub async fn wait_for(&self, count: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.count() < count {
            assert!(
                Instant::now() < deadline,
                "{} of {count} webhook requests within {limit:?}",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub async fn with_receiver() -> (Harness, Receiver) {
    let (url, receiver) = Receiver::start().await;
    let h = harness_configured(Some(KEY_ONLY), |c| c.webhook_url = Some(url)).await;
    h.create_integration("key-only", "key-only", None).await;
    (h, receiver)
}
