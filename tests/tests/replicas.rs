//! Two Latchkey servers sharing one PostgreSQL database (a throwaway Debian `postgresql` cluster) and
//! one encryption key, in front of the real `oidc-provider` — the multi-replica deployment. The two
//! servers run in this test process but share nothing except the database: each has its own pool,
//! WebSocket hub, refresh locks and webhook worker.
//!
//! - A flow started on replica A (whose WebSocket holds the browser) and completed on replica B
//!   reaches the browser through `LISTEN/NOTIFY`.
//! - 100 concurrent reads of an expiring token, half on each replica, cause exactly one refresh at
//!   the provider.
//! - A webhook is delivered once although both replicas' outbox workers poll the same table.

use futures_util::StreamExt;
use latchkey_protocol::connection::Credentials;
use latchkey_protocol::ws::WsMessage;
use latchkey_tests::headless::HeadlessUser;
use latchkey_tests::oidc::{OidcOptions, OidcProvider};
use latchkey_tests::postgres::Postgres;
use latchkey_tests::server::{local_oidc_provider_yaml, LatchkeyServer, ReservedServer};
use serde_json::{json, Value};
use std::time::Duration;

const KEY: &str = "local-oidc";
/// Both replicas must open each other's ciphertexts: one `LATCHKEY_ENCRYPTION_KEY` (32 bytes, base64).
const ENCRYPTION_KEY: &str = "bGF0Y2hrZXktcmVwbGljYS10ZXN0LWtleS0zMi1ieXQ=";

struct Replicas {
    a: LatchkeyServer,
    b: LatchkeyServer,
    oidc: OidcProvider,
    _pg: Postgres,
}

/// Replica A's callback URL is the one registered at the provider; B serves the same routes.
async fn replicas(access_token_ttl: u64) -> anyhow::Result<Replicas> {
    replicas_with(access_token_ttl, 0).await
}

/// [`replicas`] whose provider answers token requests `token_delay_ms` late.
async fn replicas_with(access_token_ttl: u64, token_delay_ms: u64) -> anyhow::Result<Replicas> {
    let pg = tokio::task::spawn_blocking(Postgres::start).await??;
    let db = pg.url("latchkey");
    let a = ReservedServer::bind().await?;
    let b = ReservedServer::bind().await?;
    let mut options = OidcOptions::new(a.callback_url());
    options.access_token_ttl = access_token_ttl;
    options.token_delay_ms = token_delay_ms;
    let oidc = OidcProvider::start(options).await?;
    // Plus an API-key provider without a verification endpoint (nothing leaves the machine).
    let yaml = format!(
        "{}key-only:\n    display_name: Key only\n    auth_mode: API_KEY\n",
        local_oidc_provider_yaml(oidc.issuer())
    );
    let shared = |c: &mut latchkey_server::Config| {
        c.database_url = db.clone();
        c.encryption_key = Some(ENCRYPTION_KEY.into());
    };
    let a = a.start_configured(Some(&yaml), shared).await?;
    let b = b.start_configured(Some(&yaml), shared).await?;
    assert_eq!(
        a.secret_key(),
        b.secret_key(),
        "one environment, two replicas"
    );
    a.create_oauth2_integration(
        KEY,
        KEY,
        oidc.client_id(),
        oidc.client_secret(),
        Some("openid,offline_access,email"),
    )
    .await?;
    Ok(Replicas {
        a,
        b,
        oidc,
        _pg: pg,
    })
}

async fn session_token(server: &LatchkeyServer) -> anyhow::Result<String> {
    let body: Value = reqwest::Client::new()
        .post(format!("{}/connect/sessions", server.url()))
        .bearer_auth(server.secret_key())
        .json(&json!({"end_user": {"id": "user-1"}}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(body["data"]["token"].as_str().expect("token").to_string())
}

/// Signs in at the provider from replica A's `/oauth/connect`, and delivers the provider's redirect
/// to replica B's callback instead. Returns the callback page's status.
async fn flow_a_to_b(r: &Replicas, ws_client_id: Option<&str>) -> anyhow::Result<u16> {
    let mut start = r.a.endpoint(&["oauth", "connect", KEY])?;
    start
        .query_pairs_mut()
        .append_pair("connect_session_token", &session_token(&r.a).await?);
    if let Some(id) = ws_client_id {
        start.query_pairs_mut().append_pair("ws_client_id", id);
    }
    let user = HeadlessUser::new()?;
    let end = user
        .authorize_until(start.as_str(), "bob", |u| u.path() == "/oauth/callback")
        .await?;
    let mut callback = end.url.clone();
    let b = r.b.local_addr();
    callback.set_port(Some(b.port())).expect("http URL");
    let page = user.get(callback.as_str()).await?;
    Ok(page.status.as_u16())
}

#[tokio::test]
async fn a_flow_started_on_one_replica_reaches_the_browser_when_completed_on_the_other(
) -> anyhow::Result<()> {
    let r = replicas(3600).await?;
    // The browser's result socket is on replica A.
    let ws_url = format!("ws://localhost:{}/", r.a.local_addr().port());
    let (mut socket, _) = tokio_tungstenite::connect_async(&ws_url).await?;
    let ack = next_frame(&mut socket).await?;
    let WsMessage::ConnectionAck { ws_client_id } = ack else {
        panic!("expected connection_ack, got {ack:?}");
    };

    let status = flow_a_to_b(&r, Some(&ws_client_id)).await?;
    assert_eq!(status, 200, "replica B's callback page");

    let frame = tokio::time::timeout(Duration::from_secs(10), next_frame(&mut socket))
        .await
        .map_err(|_| anyhow::anyhow!("no result on replica A's socket"))??;
    let WsMessage::Success {
        provider_config_key,
        connection_id,
        ..
    } = frame
    else {
        panic!("expected success, got {frame:?}");
    };
    assert_eq!(provider_config_key, KEY);
    // The connection is there for both replicas.
    let on_a = r.a.get_connection(&connection_id, KEY).await?;
    let on_b = r.b.get_connection(&connection_id, KEY).await?;
    assert_eq!(on_a.connection_id, on_b.connection_id);
    Ok(())
}

#[tokio::test]
async fn a_result_that_arrived_while_the_socket_was_away_is_delivered_when_it_comes_back(
) -> anyhow::Result<()> {
    let r = replicas(3600).await?;
    let ws_url = format!("ws://localhost:{}/", r.a.local_addr().port());
    let (mut socket, _) = tokio_tungstenite::connect_async(&ws_url).await?;
    let WsMessage::ConnectionAck { ws_client_id } = next_frame(&mut socket).await? else {
        panic!("expected connection_ack");
    };
    socket.close(None).await?;
    drop(socket);

    assert_eq!(flow_a_to_b(&r, Some(&ws_client_id)).await?, 200);

    // Reconnect (to replica B this time) with the old id: same id acknowledged, result delivered.
    let resume = format!(
        "ws://localhost:{}/?ws_client_id={ws_client_id}",
        r.b.local_addr().port()
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(&resume).await?;
    let WsMessage::ConnectionAck {
        ws_client_id: again,
    } = next_frame(&mut socket).await?
    else {
        panic!("expected connection_ack");
    };
    assert_eq!(again, ws_client_id);
    let frame = tokio::time::timeout(Duration::from_secs(10), next_frame(&mut socket))
        .await
        .map_err(|_| anyhow::anyhow!("the kept result was not delivered"))??;
    assert!(matches!(frame, WsMessage::Success { .. }), "{frame:?}");
    Ok(())
}

#[tokio::test]
async fn concurrent_reads_on_two_replicas_refresh_an_expiring_token_once() -> anyhow::Result<()> {
    // Tokens live 10 minutes: inside the 15-minute refresh window, so every read wants a refresh.
    // The provider answers 1 s late, so all 100 reads surely overlap the one refresh (a read that
    // arrived after it completed would see a new 10-minute token and rightly refresh it again).
    let r = replicas_with(600, 1000).await?;
    assert_eq!(flow_a_to_b(&r, None).await?, 200);
    let connection_id = r.a.list_connections().await?[0]["connection_id"]
        .as_str()
        .expect("connection_id")
        .to_string();
    let before = r.oidc.token_stats().await?.requests("refresh_token");
    assert_eq!(before, 0);

    let reads = (0..100).map(|i| {
        let server = if i % 2 == 0 { &r.a } else { &r.b };
        let id = connection_id.clone();
        async move { server.get_connection(&id, KEY).await }
    });
    let results = futures_util::future::join_all(reads).await;
    let mut tokens = std::collections::BTreeSet::new();
    for result in results {
        let connection = result?;
        let Credentials::OAuth2 { access_token, .. } = connection.credentials else {
            panic!("expected OAUTH2 credentials");
        };
        tokens.insert(access_token);
    }
    let refreshes = r.oidc.token_stats().await?.requests("refresh_token");
    println!("upstream refreshes for 100 concurrent reads on 2 replicas: {refreshes}");
    assert_eq!(refreshes, 1, "exactly one refresh at the provider");
    assert_eq!(tokens.len(), 1, "every caller got the refreshed token");
    assert_eq!(
        r.oidc.userinfo(tokens.iter().next().unwrap()).await?["sub"],
        "bob",
        "the provider accepts the refreshed token"
    );
    Ok(())
}

#[tokio::test]
async fn a_webhook_is_delivered_once_when_two_replicas_run() -> anyhow::Result<()> {
    let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = received.clone();
    let receiver = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { "ok" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hooks = format!("http://127.0.0.1:{}/hooks", listener.local_addr()?.port());
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let r = replicas(3600).await?;
    let http = reqwest::Client::new();
    http.patch(format!("{}/environment/settings", r.a.url()))
        .bearer_auth(r.a.secret_key())
        .json(&json!({"webhook_url": hooks}))
        .send()
        .await?
        .error_for_status()?;
    r.a.create_integration(&json!({"provider": "key-only", "unique_key": "key-only"}))
        .await?;
    // Ten connections, each made on one replica or the other: ten webhooks, each sent once.
    for i in 0..10 {
        let server = if i % 2 == 0 { &r.a } else { &r.b };
        let token = session_token(server).await?;
        http.post(format!(
            "{}/api-auth/api-key/key-only?connect_session_token={token}",
            server.url()
        ))
        .json(&json!({"apiKey": format!("sk-{i}")}))
        .send()
        .await?
        .error_for_status()?;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while received.load(std::sync::atomic::Ordering::SeqCst) < 10 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "webhooks not delivered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Once none is pending (each row delivered, on one replica or the other), nothing more will be
    // sent: and nothing was sent twice.
    let settled = latchkey_test_peers::outbox::settled(&http, r.a.url(), r.a.secret_key()).await?;
    assert_eq!(settled.len(), 10, "{settled:?}");
    assert!(
        settled.iter().all(|w| w["status"] == "delivered"),
        "{settled:?}"
    );
    assert_eq!(received.load(std::sync::atomic::Ordering::SeqCst), 10);
    Ok(())
}

async fn next_frame<S>(socket: &mut S) -> anyhow::Result<WsMessage>
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    loop {
        match socket.next().await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => {
                return Ok(serde_json::from_str(&text)?)
            }
            Some(Ok(_)) => continue, // pings
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("socket closed"),
        }
    }
}
