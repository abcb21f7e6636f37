//! Per-key rate limiting of the REST API (`LATCHKEY_RATE_LIMIT_PER_MINUTE`), with Nango's
//! `X-RateLimit-*` headers and a 429 `too_many_requests`, with a limit of 5 per minute.

mod common;

use reqwest::Method;
use serde_json::json;

fn five_per_minute(c: &mut latchkey_server::Config) {
    c.rate_limit_per_minute = std::num::NonZeroU32::new(5);
}

fn header(r: &common::Reply, name: &str) -> u64 {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("missing {name}"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn each_key_gets_its_own_budget_and_the_429_says_when_to_retry() {
    let h = common::harness_configured(None, five_per_minute).await;
    let session = h.session(json!({"end_user": {"id": "u"}})).await; // 1st call of the secret key
    let mut remaining = Vec::new();
    for _ in 0..4 {
        let r = h.backend(Method::GET, "/integrations", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(header(&r, "x-ratelimit-limit"), 5);
        assert!(header(&r, "x-ratelimit-reset") <= 60);
        remaining.push(header(&r, "x-ratelimit-remaining"));
    }
    assert_eq!(remaining, vec![3, 2, 1, 0]);
    let r = h.backend(Method::GET, "/integrations", None).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["error"]["code"], "too_many_requests");
    assert_eq!(header(&r, "x-ratelimit-remaining"), 0);
    let retry = header(&r, "retry-after");
    assert!(
        (1..=12).contains(&retry),
        "one of 5 cells per minute refills in 12 s: {retry}"
    );

    // The session token is another key, with its own budget.
    let r = h
        .call(
            Method::GET,
            "/integrations",
            Some(&format!("Bearer {session}")),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(header(&r, "x-ratelimit-remaining"), 4);
    // Pages outside the REST API (the API reference, assets) are not counted.
    let r = h.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get("x-ratelimit-limit").is_none());
}

/// Issue 11, finding 9: a bearer token that does not authenticate is counted against the caller's IP
/// address, so rotating junk tokens buys no fresh budget.
#[tokio::test]
async fn junk_bearer_tokens_share_one_budget_per_ip() {
    let h = common::harness_configured(None, five_per_minute).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let junk = format!("Bearer {}", uuid::Uuid::new_v4());
        statuses.push(
            h.call(Method::GET, "/integrations", Some(&junk), None)
                .await
                .status,
        );
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429]);
    // The real secret key has its own budget, untouched.
    let r = h.backend(Method::GET, "/integrations", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Issue 11, finding 4: the OAuth popup's start (which writes an attempt row) is limited per IP
/// address, with or without credentials.
#[tokio::test]
async fn oauth_connect_is_limited_per_ip() {
    let h = common::harness_configured(None, five_per_minute).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            h.call(Method::GET, "/oauth/connect/anything", None, None)
                .await
                .status,
        );
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429]);
}

/// Issue 11, finding 4: every WebSocket holds a task and a hub entry, so opening sockets is limited per
/// IP address like the popup; the refused handshake is a 429 the client can read.
#[tokio::test]
async fn websocket_upgrades_are_limited_per_ip() {
    let h = common::harness_configured(None, five_per_minute).await;
    let url = h.base.replace("http://", "ws://") + "/";
    let mut open = Vec::new();
    for _ in 0..5 {
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("within the budget the handshake succeeds");
        open.push(socket);
    }
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 429);
            assert!(res.headers().get("retry-after").is_some());
        }
        other => panic!("the 6th socket must be refused with 429, got {other:?}"),
    }
}

/// Issue 11, finding 3: a public key is public, so its budget is per public key *and* client IP: one
/// visitor exhausting it does not lock out another visitor of the same page.
#[tokio::test]
async fn a_public_key_has_a_budget_per_client_ip() {
    let h = common::harness_configured(None, |c| {
        five_per_minute(c);
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let visit = |client: &'static str| {
        let req = h
            .http
            .get(format!(
                "{}/integrations?public_key={}",
                h.base,
                common::PUBLIC_KEY
            ))
            .header("x-forwarded-for", client);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let mut first = Vec::new();
    for _ in 0..6 {
        first.push(visit("198.51.100.1").await);
    }
    assert_eq!(first.last(), Some(&429), "{first:?}");
    assert!(first[..5].iter().all(|s| *s != 429), "{first:?}");
    assert_ne!(
        visit("198.51.100.2").await,
        429,
        "another visitor of the same page has a budget of its own"
    );
}
