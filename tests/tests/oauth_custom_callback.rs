//! Custom callback URL (reference §4.1 step 3, PROTOCOL.md §2): the environment's `callback_url` is a
//! customer endpoint that 308-redirects to Latchkey's `/oauth/callback` with the whole query. The
//! real oidc-provider only knows the customer URL as a redirect URI, so the flow completes only if
//! Latchkey sends that URL (authorization and token request alike) and the browser-binding cookie
//! still reaches Latchkey through the customer's redirect.

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use latchkey_protocol::connection::Credentials;
use latchkey_tests::headless::HeadlessUser;
use latchkey_tests::oidc::{OidcOptions, OidcProvider};
use latchkey_tests::server::{local_oidc_provider_yaml, ReservedServer};
use latchkey_tests::site::LoopbackServer;
use serde_json::{json, Value};

/// The customer's `/auth/callback`: a 308 to Latchkey's callback with the query unchanged.
async fn forward(State(ours): State<String>, RawQuery(query): RawQuery) -> impl IntoResponse {
    let location = match query {
        Some(q) => format!("{ours}?{q}"),
        None => ours,
    };
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, location)],
    )
}

#[tokio::test]
async fn a_flow_through_a_customer_callback_that_redirects_to_ours_completes() -> anyhow::Result<()>
{
    let reserved = ReservedServer::bind().await?;
    let customer = LoopbackServer::serve(
        axum::Router::new()
            .route("/auth/callback", get(forward))
            .with_state(reserved.callback_url()),
    )
    .await?;
    let custom_callback = format!("{}/auth/callback", customer.url());
    // The provider accepts only the customer's URL.
    let oidc = OidcProvider::start(OidcOptions::new(custom_callback.clone())).await?;
    let server = reserved
        .start(Some(&local_oidc_provider_yaml(oidc.issuer())))
        .await?;
    server
        .create_integration(&json!({
            "provider": "local-oidc",
            "unique_key": "local-oidc",
            "credentials": {
                "type": "OAUTH2",
                "client_id": oidc.client_id(),
                "client_secret": oidc.client_secret(),
                "scopes": "openid,offline_access",
            },
        }))
        .await?;

    let http = reqwest::Client::new();
    let res = http
        .patch(format!("{}/environment/settings", server.url()))
        .bearer_auth(server.secret_key())
        .json(&json!({"callback_url": custom_callback}))
        .send()
        .await?;
    anyhow::ensure!(res.status().is_success(), "{}", res.text().await?);
    let session: Value = http
        .post(format!("{}/connect/sessions", server.url()))
        .bearer_auth(server.secret_key())
        .json(&json!({"end_user": {"id": "carol"}}))
        .send()
        .await?
        .json()
        .await?;
    let token = session["data"]["token"].as_str().expect("session token");

    let mut start = server.endpoint(&["oauth", "connect", "local-oidc"])?;
    start
        .query_pairs_mut()
        .append_pair("connect_session_token", token);
    let user = HeadlessUser::new()?;
    let end = user.authorize(start.as_str(), "carol").await?;
    // The flow went through the customer's endpoint and ended on our callback page, with success
    // (a missing cookie would be `state_cookie_err`, a wrong redirect_uri the provider's error).
    assert_eq!(end.url.path(), "/oauth/callback", "{end:?}");
    assert!(
        end.url.as_str().starts_with(server.url()),
        "ended at {}",
        end.url
    );
    assert!(
        end.status.is_success(),
        "callback answered {}: {}",
        end.status,
        end.body
    );

    let connections = server.list_connections().await?;
    assert_eq!(connections.len(), 1, "{connections:?}");
    let id = connections[0]["connection_id"].as_str().expect("id");
    let connection = server.get_connection(id, "local-oidc").await?;
    let Credentials::OAuth2 { access_token, .. } = &connection.credentials else {
        panic!(
            "expected OAUTH2 credentials, got {:?}",
            connection.credentials
        );
    };
    assert_eq!(oidc.userinfo(access_token).await?["sub"], "carol");
    Ok(())
}
