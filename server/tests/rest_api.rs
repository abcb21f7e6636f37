//! The REST API beyond the walking skeleton (issue 3), on the real server: `PATCH /integrations/:key`,
//! client credentials (`POST /oauth2/auth/:key`, with a loopback token endpoint that counts its
//! requests), unauthenticated connections (session token and public key), `POST /connections`
//! (import), `GET /connections` filters, and credential verification through `proxy.verification`.

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use common::{harness, serve, PUBLIC_KEY};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

/// A server with one GitHub integration `gh` holding an OAuth client.
async fn with_github_integration() -> common::Harness {
    let h = harness(None).await;
    h.create_integration(
        "gh",
        "github",
        Some(json!({"type": "OAUTH2", "client_id": "id", "client_secret": "s3cret", "scopes": "repo"})),
    )
    .await;
    h
}

async fn patch_integration(h: &common::Harness, key: &str, body: Value) -> common::Reply {
    h.backend(Method::PATCH, &format!("/integrations/{key}"), Some(body))
        .await
}

#[tokio::test]
async fn patch_integration_changes_its_display_name() {
    let h = with_github_integration().await;
    let r = patch_integration(&h, "gh", json!({"display_name": "Hub"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["display_name"], "Hub");
    assert_eq!(r.body["data"]["unique_key"], "gh");
}

#[tokio::test]
async fn patch_integration_refuses_unknown_fields_and_another_modes_credentials() {
    let h = with_github_integration().await;
    let r = patch_integration(&h, "gh", json!({"colour": "red"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_body");
    assert_eq!(r.body["error"]["errors"][0]["path"], json!(["colour"]));
    let api_key =
        json!({"credentials": {"type": "API_KEY", "client_id": "a", "client_secret": "b"}});
    let r = patch_integration(&h, "gh", api_key).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_body");
}

#[tokio::test]
async fn renaming_an_integration_moves_it_and_keeps_its_client_secret_readable() {
    let h = with_github_integration().await;
    patch_integration(&h, "gh", json!({"display_name": "Hub"})).await;
    // Renaming re-seals the client secret for the new key: a second rename must open it again.
    for (from, to) in [("gh", "gh2"), ("gh2", "gh3")] {
        let r = patch_integration(&h, from, json!({"unique_key": to})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["unique_key"], to);
        assert_eq!(r.body["data"]["display_name"], "Hub");
        let old = h
            .backend(Method::GET, &format!("/integrations/{from}"), None)
            .await;
        assert_eq!(old.status, 404);
    }
    let credentials =
        json!({"credentials": {"type": "OAUTH2", "client_id": "id2", "client_secret": "new"}});
    let r = patch_integration(&h, "gh3", credentials).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn patch_integration_refuses_a_taken_key_and_answers_404_for_a_missing_one() {
    let h = with_github_integration().await;
    h.create_integration("other", "github", None).await;
    let r = patch_integration(&h, "gh", json!({"unique_key": "other"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_body");
    let r = patch_integration(&h, "nope", json!({"display_name": "x"})).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["code"], "not_found");
}

#[tokio::test]
async fn an_integration_with_connections_keeps_its_key_but_the_rest_can_change() {
    let h = with_github_integration().await;
    let r = h
        .backend(
            Method::POST,
            "/connections",
            Some(json!({"provider_config_key": "gh", "connection_id": "c1",
                        "credentials": {"type": "OAUTH2", "access_token": "t"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Nango's rule: the key can no longer change, the rest still can.
    let r = patch_integration(&h, "gh", json!({"unique_key": "gh4"})).await;
    assert_eq!(r.status, 400);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("active connections"));
    let r = patch_integration(&h, "gh", json!({"display_name": "Still"})).await;
    assert_eq!(r.status, 200);
}

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
    h: common::Harness,
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

const NONE_CATALOG: &str = "local-none:\n  display_name: Public data\n  auth_mode: NONE\n";

/// A server with an integration `pub` of a provider that needs no credentials, and a session.
async fn unauthenticated_integration() -> (common::Harness, String) {
    let h = harness(Some(NONE_CATALOG)).await;
    h.create_integration("pub", "local-none", None).await;
    let session = h
        .session(json!({"end_user": {"id": "u7", "email": "u7@example.com"}}))
        .await;
    (h, session)
}

async fn unauthenticated_post(h: &common::Harness, query: &str) -> common::Reply {
    h.browser_post(&format!("/auth/unauthenticated/{query}"), json!({}))
        .await
}

#[tokio::test]
async fn a_session_creates_an_unauthenticated_connection_with_empty_credentials() {
    let (h, session) = unauthenticated_integration().await;
    let r = unauthenticated_post(&h, &format!("pub?connect_session_token={session}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["connectionId"].as_str().unwrap().to_string();
    let r = h.connection("pub", &id, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["credentials"], json!({}));
    assert_eq!(r.body["provider"], "local-none");
    assert_eq!(r.body["tags"]["end_user_email"], "u7@example.com");
    // The body must be empty.
    let r = h
        .browser_post(
            &format!("/auth/unauthenticated/pub?connect_session_token={session}"),
            json!({"apiKey": "x"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_body");
}

#[tokio::test]
async fn the_legacy_public_key_names_its_connection_and_is_checked() {
    let (h, _) = unauthenticated_integration().await;
    let r = unauthenticated_post(
        &h,
        &format!("pub?public_key={PUBLIC_KEY}&connection_id=my-conn"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["connectionId"], "my-conn");
    assert_eq!(h.connection("pub", "my-conn", "").await.status, 200);
    let r = unauthenticated_post(&h, "pub?public_key=0b5a3b9e-7c1d-4f2a-9e6b-3d2c1b0a9f8e").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"]["code"], "invalid_public_key");
    let r = unauthenticated_post(&h, "pub").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"]["code"], "missing_public_key");
    let r = unauthenticated_post(&h, &format!("nope?public_key={PUBLIC_KEY}")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["code"], "unknown_provider_config");
}

#[tokio::test]
async fn in_hmac_mode_the_public_key_needs_the_backends_digest_and_sessions_do_not() {
    let (h, session) = unauthenticated_integration().await;
    // The backend signs "<integration>:<connection>".
    let r = h
        .backend(
            Method::PATCH,
            "/environment/settings",
            Some(json!({"hmac_enabled": true, "hmac_key": "hmac-k"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let base = format!("pub?public_key={PUBLIC_KEY}&connection_id=signed");
    let r = unauthenticated_post(&h, &base).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "missing_hmac");
    let wrong = latchkey_server::oauth::hmac::digest("hmac-k", "pub", Some("other"));
    let r = unauthenticated_post(&h, &format!("{base}&hmac={wrong}")).await;
    assert_eq!(r.body["error"]["code"], "invalid_hmac");
    let right = latchkey_server::oauth::hmac::digest("hmac-k", "pub", Some("signed"));
    let r = unauthenticated_post(&h, &format!("{base}&hmac={right}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = unauthenticated_post(&h, &format!("pub?connect_session_token={session}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn a_provider_that_needs_credentials_is_not_unauthenticated() {
    let (h, session) = unauthenticated_integration().await;
    h.create_integration("gh", "github", None).await;
    let r = unauthenticated_post(&h, &format!("gh?connect_session_token={session}")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_auth_mode");
}

/// A server with an OAuth2 (`gh`), an API-key (`openai`) and an unauthenticated (`pub`) integration.
async fn importing() -> common::Harness {
    let h = harness(Some(NONE_CATALOG)).await;
    h.create_integration("gh", "github", None).await;
    h.create_integration("openai", "openai", None).await;
    h.create_integration("pub", "local-none", None).await;
    h
}

async fn import(h: &common::Harness, body: Value) -> common::Reply {
    h.backend(Method::POST, "/connections", Some(body)).await
}

/// Imports `gh`/`imported-1` with an OAuth2 access token and refresh token, metadata, config, an end
/// user and tags.
async fn import_oauth2(h: &common::Harness) -> common::Reply {
    import(
        h,
        json!({
            "provider_config_key": "gh",
            "connection_id": "imported-1",
            "metadata": {"plan": "pro"},
            "connection_config": {"org": "acme"},
            "credentials": {"type": "OAUTH2", "access_token": "gho_abc", "refresh_token": "ghr_def",
                            "expires_at": "2099-01-01T00:00:00Z"},
            "end_user": {"id": "eu-1", "email": "a@b.co", "organization": {"id": "org-1"}},
            "tags": {"Team": "blue"}
        }),
    )
    .await
}

#[tokio::test]
async fn an_import_answers_the_full_connection_and_reads_back_like_any_other() {
    let h = importing().await;
    let r = import_oauth2(&h).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["connection_id"], "imported-1");
    assert_eq!(r.body["credentials"]["access_token"], "gho_abc");
    assert_eq!(r.body["metadata"], json!({"plan": "pro"}));
    assert_eq!(r.body["end_user"]["id"], "eu-1");
    assert_eq!(r.body["tags"]["team"], "blue");
    assert_eq!(r.body["tags"]["organization_id"], "org-1");

    let r = h.connection("gh", "imported-1", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["credentials"]["access_token"], "gho_abc");
    assert_eq!(r.body["connection_config"]["org"], "acme");
    assert!(r.body["credentials"].get("refresh_token").is_none());
    let r = h
        .connection("gh", "imported-1", "&refresh_token=true")
        .await;
    assert_eq!(r.body["credentials"]["refresh_token"], "ghr_def");
}

#[tokio::test]
async fn api_key_and_unauthenticated_connections_can_be_imported() {
    let h = importing().await;
    let r = import(
        &h,
        json!({"provider_config_key": "openai", "credentials": {"type": "API_KEY", "apiKey": "sk-x"}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["credentials"]["apiKey"], "sk-x");
    assert!(!r.body["connection_id"].as_str().unwrap().is_empty());
    let r = import(
        &h,
        json!({"provider_config_key": "pub", "connection_id": "p", "credentials": {"type": "NONE"}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["credentials"], json!({}));
}

#[tokio::test]
async fn an_import_of_the_wrong_type_integration_or_fields_is_refused() {
    let h = importing().await;
    // Credentials of another mode than the provider's.
    let r = import(
        &h,
        json!({"provider_config_key": "gh", "credentials": {"type": "API_KEY", "apiKey": "k"}}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_body");
    // A type the protocol does not know.
    let r = import(
        &h,
        json!({"provider_config_key": "gh", "credentials": {"type": "SAML", "x": 1}}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_body");
    assert_eq!(r.body["error"]["errors"][0]["path"][0], "credentials");
    let r = import(
        &h,
        json!({"provider_config_key": "nope", "credentials": {"type": "NONE"}}),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = import(
        &h,
        json!({"provider_config_key": "gh", "credentials": {"type": "NONE"}, "extra": 1}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["errors"][0]["path"], json!(["extra"]));
}

#[tokio::test]
async fn importing_an_existing_connection_id_again_overrides_it() {
    let h = importing().await;
    assert_eq!(import_oauth2(&h).await.status, 201);
    let r = import(
        &h,
        json!({"provider_config_key": "gh", "connection_id": "imported-1",
                "credentials": {"type": "OAUTH2", "access_token": "gho_new"}}),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        h.connection("gh", "imported-1", "").await.body["credentials"]["access_token"],
        "gho_new"
    );
}

/// A server with three imported connections (two on `gh`, one on `slack`) of two end users in two
/// organizations, tagged by team.
async fn three_connections() -> common::Harness {
    let h = harness(None).await;
    h.create_integration("gh", "github", None).await;
    h.create_integration("slack", "slack", None).await;
    for (key, id, user, org, team) in [
        ("gh", "alpha", "u1", "o1", "red"),
        ("gh", "beta", "u2", "o1", "blue"),
        ("slack", "gamma", "u1", "o2", "red"),
    ] {
        let r = h
            .backend(
                Method::POST,
                "/connections",
                Some(json!({"provider_config_key": key, "connection_id": id,
                            "credentials": {"type": "OAUTH2", "access_token": "t"},
                            "end_user": {"id": user, "display_name": format!("User {user}"), "organization": {"id": org}},
                            "tags": {"team": team}})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    h
}

/// The sorted connection ids of a `GET /connections` answer.
fn ids(r: &common::Reply) -> Vec<String> {
    let mut v: Vec<String> = r.body["connections"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.body))
        .iter()
        .map(|c| c["connection_id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn list_connections_applies_nangos_filters() {
    let h = three_connections().await;
    for (query, expected) in [
        ("", vec!["alpha", "beta", "gamma"]),
        ("?connectionId=beta", vec!["beta"]),
        ("?search=AMM", vec!["gamma"]),
        ("?search=user%20u2", vec!["beta"]),
        ("?endUserId=u1", vec!["alpha", "gamma"]),
        ("?endUserOrganizationId=o1", vec!["alpha", "beta"]),
        ("?integrationId=slack", vec!["gamma"]),
        (
            "?integrationId=gh,slack&endUserId=u1",
            vec!["alpha", "gamma"],
        ),
        ("?tags[team]=red", vec!["alpha", "gamma"]),
        ("?tags[Team]=red&integrationId=gh", vec!["alpha"]),
    ] {
        let r = h
            .backend(Method::GET, &format!("/connections{query}"), None)
            .await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        assert_eq!(ids(&r), expected, "{query}");
    }
}

#[tokio::test]
async fn list_connections_pages_with_limit_and_page() {
    let h = three_connections().await;
    let r = h.backend(Method::GET, "/connections?limit=2", None).await;
    assert_eq!(r.body["connections"].as_array().unwrap().len(), 2);
    let r = h
        .backend(Method::GET, "/connections?limit=2&page=1", None)
        .await;
    assert_eq!(r.body["connections"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_deprecated_list_path_filters_too() {
    let h = three_connections().await;
    let r = h
        .backend(Method::GET, "/connection?endUserId=u2", None)
        .await;
    assert_eq!(ids(&r), vec!["beta"]);
}

#[tokio::test]
async fn list_connections_refuses_unknown_or_invalid_query_parameters() {
    let h = three_connections().await;
    for bad in ["?colour=red", "?limit=0", "?limit=abc"] {
        let r = h
            .backend(Method::GET, &format!("/connections{bad}"), None)
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.body["error"]["code"], "invalid_query_params", "{bad}");
    }
}

/// A provider API that accepts one API key (header `x-api-key: good-key`) and one basic pair
/// (`alice:right`), counting verification calls.
async fn verify_key(State(hits): State<Arc<AtomicUsize>>, headers: HeaderMap) -> StatusCode {
    hits.fetch_add(1, Ordering::SeqCst);
    match headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        Some("good-key") => StatusCode::OK,
        _ => StatusCode::UNAUTHORIZED,
    }
}

async fn verify_basic(State(hits): State<Arc<AtomicUsize>>, headers: HeaderMap) -> StatusCode {
    hits.fetch_add(1, Ordering::SeqCst);
    // base64("alice:right")
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some("Basic YWxpY2U6cmlnaHQ=") => StatusCode::OK,
        _ => StatusCode::UNAUTHORIZED,
    }
}

/// A server whose API-key (`key`), basic (`basic`) and down (`down`) integrations declare a
/// `proxy.verification` against a loopback API that counts its hits; a session for them.
struct Verifying {
    h: common::Harness,
    hits: Arc<AtomicUsize>,
    session: String,
}

async fn verifying() -> Verifying {
    let hits = Arc::new(AtomicUsize::new(0));
    let api = serve(
        Router::new()
            .route("/v1/verify", get(verify_key))
            .route("/me", get(verify_basic))
            .route("/down", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
            .with_state(hits.clone()),
    )
    .await;
    let h = harness(Some(&format!(
        "local-key:\n  display_name: Local Key\n  auth_mode: API_KEY\n  proxy:\n    base_url: {api}\n    \
         headers:\n      x-api-key: ${{apiKey}}\n    verification:\n      method: GET\n      endpoints:\n        - /v1/verify\n\
         local-basic:\n  display_name: Local Basic\n  auth_mode: BASIC\n  proxy:\n    base_url: https://unused.example\n    \
         verification:\n      endpoints: [/me]\n      base_url_override: {api}\n\
         local-down:\n  display_name: Local Down\n  auth_mode: API_KEY\n  proxy:\n    base_url: {api}\n    \
         verification:\n      endpoints: [/down]\n"
    )))
    .await;
    h.create_integration("key", "local-key", None).await;
    h.create_integration("basic", "local-basic", None).await;
    let session = h.session(json!({"end_user": {"id": "u"}})).await;

    h.create_integration("down", "local-down", None).await;
    Verifying { h, hits, session }
}

impl Verifying {
    async fn submit(&self, route: &str, key: &str, body: Value) -> common::Reply {
        let path = format!("{route}{key}?connect_session_token={}", self.session);
        self.h.browser_post(&path, body).await
    }
}

#[tokio::test]
async fn a_refused_api_key_is_not_saved_and_an_accepted_one_is() {
    let v = verifying().await;
    let r = v
        .submit("/api-auth/api-key/", "key", json!({"apiKey": "bad-key"}))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "connection_test_failed");
    assert!(!r.body.to_string().contains("bad-key"), "{}", r.body);
    assert_eq!(v.hits.load(Ordering::SeqCst), 1);
    let list = v.h.backend(Method::GET, "/connections", None).await;
    assert_eq!(list.body["connections"], json!([]), "nothing saved");
    let r = v
        .submit("/api-auth/api-key/", "key", json!({"apiKey": "good-key"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(v.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn basic_credentials_are_verified_at_the_providers_verification_url() {
    let v = verifying().await;
    let wrong = json!({"username": "alice", "password": "wrong"});
    let r = v.submit("/api-auth/basic/", "basic", wrong).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "connection_test_failed");
    let right = json!({"username": "alice", "password": "right"});
    let r = v.submit("/api-auth/basic/", "basic", right).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(v.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_provider_that_is_down_does_not_block_the_end_user() {
    let v = verifying().await;
    // A 5xx from the verification endpoint: saved unverified.
    let r = v
        .submit("/api-auth/api-key/", "down", json!({"apiKey": "any"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
