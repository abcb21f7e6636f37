//! Client credentials on the real server (issue 3): `POST /oauth2/auth/:key` against a loopback
//! token endpoint that counts its requests; a refused fetch, a missing token param, the token's
//! metadata and tags, forced and single-flight renewals, another mode's integration.

use crate::common::{harness, serve};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Form, Json, Router};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

/// A client-credentials token endpoint: accepts client `cid` with secret `right`, answers tokens
/// `cc-<n>` valid for `ttl` seconds, and counts every request.
#[derive(Clone)]
struct TokenEndpoint {
    hits: Arc<AtomicUsize>,
    ttl: Arc<AtomicI64>,
}

async fn token(
    State(t): State<TokenEndpoint>,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let n = t.hits.fetch_add(1, Ordering::SeqCst) + 1;
    // Slow enough that concurrent readers really overlap.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let ok = form.get("grant_type").map(String::as_str) == Some("client_credentials")
        && form.get("client_id").map(String::as_str) == Some("cid")
        && form.get("client_secret").map(String::as_str) == Some("right")
        && form.get("audience").map(String::as_str) == Some("https://api.test");
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        );
    }
    (
        StatusCode::OK,
        Json(
            json!({"access_token": format!("cc-{n}"), "token_type": "Bearer",
                    "expires_in": t.ttl.load(Ordering::SeqCst), "instance": "eu-1"}),
        ),
    )
}

fn cc_token(body: &Value) -> String {
    assert_eq!(body["credentials"]["type"], "OAUTH2_CC", "{body}");
    body["credentials"]["token"].as_str().unwrap().to_string()
}

/// A server with a client-credentials integration `cc` on a loopback token endpoint, a session for
/// it, and the `POST /oauth2/auth/cc` path with the `audience` its token params need.
struct ClientCredentials {
    h: crate::common::Harness,
    endpoint: TokenEndpoint,
    session: String,
    path: String,
}

async fn client_credentials() -> ClientCredentials {
    let endpoint = TokenEndpoint {
        hits: Arc::default(),
        ttl: Arc::new(AtomicI64::new(3600)),
    };
    let provider = serve(
        Router::new()
            .route("/token", post(token))
            .with_state(endpoint.clone()),
    )
    .await;
    let h = harness(Some(&format!(
        "local-cc:\n  display_name: Local CC\n  auth_mode: OAUTH2_CC\n  token_url: {provider}/token\n  \
         token_params:\n    grant_type: client_credentials\n    audience: ${{connectionConfig.audience}}\n  \
         token_response_metadata:\n    - instance\n"
    )))
    .await;
    h.create_integration("cc", "local-cc", None).await;
    let session = h
        .session(json!({"end_user": {"id": "u1"}, "allowed_integrations": ["cc"]}))
        .await;
    let path = format!(
        "/oauth2/auth/cc?connect_session_token={session}&params[audience]=https://api.test"
    );
    ClientCredentials {
        h,
        endpoint,
        session,
        path,
    }
}

impl ClientCredentials {
    fn hits(&self) -> usize {
        self.endpoint.hits.load(Ordering::SeqCst)
    }

    /// Connects with the right secret; the connection id.
    async fn connect(&self) -> String {
        let r = self
            .h
            .browser_post(
                &self.path,
                json!({"client_id": "cid", "client_secret": "right"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["providerConfigKey"], "cc");
        r.body["connectionId"].as_str().unwrap().to_string()
    }
}

#[tokio::test]
async fn a_refused_client_credentials_fetch_never_becomes_a_connection() {
    let cc = client_credentials().await;
    let r =
        cc.h.browser_post(
            &cc.path,
            json!({"client_id": "cid", "client_secret": "wrong"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "client_credentials_fetch_error");
    let list = cc.h.backend(Method::GET, "/connections", None).await;
    assert_eq!(list.body["connections"], json!([]));
}

#[tokio::test]
async fn a_client_credentials_fetch_missing_a_token_param_is_refused_before_any_request() {
    let cc = client_credentials().await;
    let r =
        cc.h.browser_post(
            &format!("/oauth2/auth/cc?connect_session_token={}", cc.session),
            json!({"client_id": "cid", "client_secret": "right"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(cc.hits(), 0);
}

#[tokio::test]
async fn a_client_credentials_connection_keeps_its_token_metadata_and_tags_and_reuses_a_fresh_token(
) {
    let cc = client_credentials().await;
    let id = cc.connect().await;
    let hits = cc.hits();
    let r = cc.h.connection("cc", &id, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["credentials"]["client_id"], "cid");
    assert_eq!(r.body["connection_config"]["instance"], "eu-1");
    assert_eq!(r.body["connection_config"]["audience"], "https://api.test");
    assert_eq!(r.body["tags"]["end_user_id"], "u1");
    assert_eq!(cc.hits(), hits, "a fresh token is not fetched again");
}

#[tokio::test]
async fn a_forced_read_fetches_a_new_client_credentials_token() {
    let cc = client_credentials().await;
    let id = cc.connect().await;
    let first = cc_token(&cc.h.connection("cc", &id, "").await.body);
    let hits = cc.hits();
    let forced = cc_token(&cc.h.connection("cc", &id, "&force_refresh=true").await.body);
    assert_ne!(forced, first);
    assert_eq!(cc.hits(), hits + 1);
}

#[tokio::test]
async fn an_expiring_client_credentials_token_is_fetched_once_for_concurrent_readers() {
    let cc = client_credentials().await;
    let id = cc.connect().await;
    // A token that expires within 15 minutes is replaced on the next read, without force.
    cc.endpoint.ttl.store(60, Ordering::SeqCst);
    let short = cc_token(&cc.h.connection("cc", &id, "&force_refresh=true").await.body);
    cc.endpoint.ttl.store(3600, Ordering::SeqCst);
    let before = cc.hits();
    // Ten concurrent readers of the expiring token: exactly one request upstream.
    let reads = (0..10).map(|_| cc.h.connection("cc", &id, ""));
    let tokens: Vec<String> = futures_join_all(reads)
        .await
        .iter()
        .map(|r| cc_token(&r.body))
        .collect();
    assert_eq!(cc.hits(), before + 1);
    assert!(
        tokens.iter().all(|t| *t == tokens[0] && *t != short),
        "{tokens:?}"
    );
}

#[tokio::test]
async fn client_credentials_are_refused_for_an_integration_of_another_mode() {
    let cc = client_credentials().await;
    cc.h.create_integration("gh", "github", None).await;
    let session = cc.h.session(json!({"end_user": {"id": "u"}})).await;
    let r =
        cc.h.browser_post(
            &format!("/oauth2/auth/gh?connect_session_token={session}"),
            json!({"client_id": "cid", "client_secret": "right"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_auth_mode");
}

/// `join_all` without another dependency: spawn-free, polls the futures together.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}
