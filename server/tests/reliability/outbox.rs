//! The webhook outbox under a failing receiver (issue 12; on PostgreSQL too when the suite runs with
//! `LATCHKEY_TEST_POSTGRES`): it honours `Retry-After`, keeps dead letters and re-sends them on
//! request.

use crate::common::reliability::with_receiver;
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_outbox_honours_retry_after_keeps_dead_letters_and_resends_them() {
    let (h, receiver) = with_receiver().await;
    // 429 with Retry-After: 1 → retried after about a second (not the schedule's 5 s).
    receiver.answer(429, Some(1));
    let created = h
        .backend(
            Method::POST,
            "/connections",
            Some(
                json!({"provider_config_key": "key-only", "connection_id": "c-429",
                        "credentials": {"type": "API_KEY", "apiKey": "k"}}),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    receiver.wait_for(1, Duration::from_secs(10)).await;
    receiver.answer(200, None);
    receiver.wait_for(2, Duration::from_secs(10)).await;
    {
        let seen = receiver.seen.lock().unwrap();
        let gap = seen[1].0 - seen[0].0;
        assert!(
            gap >= Duration::from_millis(900) && gap < Duration::from_secs(4),
            "Retry-After: 1 honoured: {gap:?}"
        );
        assert_eq!(seen[0].1, seen[1].1, "same webhook id");
    }

    // A 400 is the receiver's final answer: a dead letter after one attempt, listed as failed.
    receiver.answer(400, None);
    let r = h
        .backend(
            Method::POST,
            "/connections",
            Some(
                json!({"provider_config_key": "key-only", "connection_id": "c-400",
                        "credentials": {"type": "API_KEY", "apiKey": "k"}}),
            ),
        )
        .await;
    assert_eq!(r.status, 201);
    receiver.wait_for(3, Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let failed = loop {
        let r = h
            .backend(Method::GET, "/environment/webhooks?status=failed", None)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if let Some(w) = r.body["data"].as_array().and_then(|a| a.first()) {
            break w.clone();
        }
        assert!(Instant::now() < deadline, "no dead letter listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["attempts"], 1);
    assert_eq!(failed["last_error"], "HTTP 400");
    assert_eq!(failed["payload"]["connectionId"], "c-400");
    let id = failed["id"].as_str().unwrap().to_string();
    assert!(
        failed["next_attempt_at"].is_null(),
        "not scheduled: {failed}"
    );
    assert_eq!(
        h.settled_webhooks().await.len(),
        2,
        "c-429 delivered, c-400 given up"
    );
    assert_eq!(
        receiver.count(),
        3,
        "a dead letter is not retried by itself"
    );

    // Re-sent on request, it is delivered; re-sending what is not a dead letter is a 404.
    receiver.answer(200, None);
    let r = h
        .backend(
            Method::POST,
            &format!("/environment/webhooks/{id}/resend"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["status"], "pending");
    receiver.wait_for(4, Duration::from_secs(10)).await;
    assert_eq!(receiver.seen.lock().unwrap()[3].1, id);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = h
            .backend(Method::GET, "/environment/webhooks?status=delivered", None)
            .await;
        if r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["id"] == id.as_str())
        {
            break;
        }
        assert!(Instant::now() < deadline, "re-sent webhook not delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = h
        .backend(
            Method::POST,
            &format!("/environment/webhooks/{id}/resend"),
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "not_found");
}
