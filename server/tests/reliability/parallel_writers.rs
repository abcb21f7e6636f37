//! Parallel writers of connections (issue 12; on PostgreSQL too when the suite runs with
//! `LATCHKEY_TEST_POSTGRES`): backends importing the same connections and end users submitting API
//! keys at once never see a 5xx, and each connection is reported created once.

use crate::common::reliability::with_receiver;
use reqwest::Method;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test]
async fn parallel_writers_never_get_a_5xx_and_each_connection_is_created_once() {
    let (h, receiver) = with_receiver().await;
    let h = Arc::new(h);
    // 8 clients import the same 4 connections at once, 4 rounds each (Nango's POST /connections).
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for client in 0..8 {
        let (h, statuses) = (h.clone(), statuses.clone());
        tasks.push(tokio::spawn(async move {
            for round in 0..4 {
                for conn in 0..4 {
                    let r = h
                        .backend(
                            Method::POST,
                            "/connections",
                            Some(json!({
                                "provider_config_key": "key-only",
                                "connection_id": format!("shared-{conn}"),
                                "credentials": {"type": "API_KEY", "apiKey": format!("k-{client}-{round}")},
                            })),
                        )
                        .await;
                    statuses.lock().unwrap().push((r.status, r.body.to_string()));
                }
            }
        }));
    }
    // Meanwhile 8 end users submit API keys through their own connect sessions, 4 each.
    let mut sessions = Vec::new();
    for user in 0..8 {
        sessions.push(
            h.session(json!({"end_user": {"id": format!("user-{user}")}}))
                .await,
        );
    }
    for token in sessions {
        let (h, statuses) = (h.clone(), statuses.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..4 {
                let r = h
                    .browser_post(
                        &format!("/api-auth/api-key/key-only?connect_session_token={token}"),
                        json!({"apiKey": format!("sk-{n}")}),
                    )
                    .await;
                statuses
                    .lock()
                    .unwrap()
                    .push((r.status, r.body.to_string()));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let statuses = statuses.lock().unwrap().clone();
    let failed: Vec<_> = statuses.iter().filter(|(s, _)| *s >= 300).collect();
    assert!(
        failed.is_empty(),
        "{} of {} writes failed: {:?}",
        failed.len(),
        statuses.len(),
        &failed[..failed.len().min(3)]
    );
    assert_eq!(statuses.len(), 8 * 4 * 4 + 8 * 4);

    // One webhook per write (in the write's transaction); one `creation` per connection.
    let connections = 4 + 8 * 4;
    receiver
        .wait_for(statuses.len(), Duration::from_secs(30))
        .await;
    assert_eq!(h.settled_webhooks().await.len(), statuses.len());
    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), statuses.len(), "one webhook per write, no more");
    let mut creations = std::collections::BTreeMap::<String, usize>::new();
    for (_, _, body) in &seen {
        if body["operation"] == "creation" {
            *creations
                .entry(body["connectionId"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    assert_eq!(creations.len(), connections, "{creations:?}");
    assert!(creations.values().all(|n| *n == 1), "{creations:?}");
    // Every connection holds the key of one of its writers.
    let r = h.connection("key-only", "shared-0", "").await;
    assert_eq!(r.status, 200);
    assert!(r.body["credentials"]["apiKey"]
        .as_str()
        .unwrap()
        .starts_with("k-"));
}
