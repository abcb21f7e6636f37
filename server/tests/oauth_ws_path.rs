//! The WebSocket result channel on a configured path (`LATCHKEY_WEBSOCKETS_PATH`, the SDK's
//! `websocketsPath`): a client connecting there gets Nango's `connection_ack` with its `ws_client_id`,
//! and an OAuth failure for that id arrives as an `error` frame on the same socket.

use futures_util::StreamExt;
use latchkey_server::{start, Config};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

async fn next_json<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("socket open")
            .expect("frame");
        if let Message::Text(t) = frame {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

#[tokio::test]
async fn result_channel_is_served_on_the_configured_path() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://localhost:{port}");
    let mut config = Config::for_tests(dir.path(), &base);
    // As `LATCHKEY_WEBSOCKETS_PATH=nango-ws` gives it (the leading `/` added).
    config.websockets_path = latchkey_server::ws::path(Some("nango-ws"));
    let server = start(config, listener).await.unwrap();

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/nango-ws"))
        .await
        .expect("upgrade on the configured path");
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["message_type"], "connection_ack", "{ack}");
    let id = ack["ws_client_id"]
        .as_str()
        .expect("ws_client_id")
        .to_string();

    // A flow for that client fails (an authenticated session, an unknown integration): the error
    // reaches this socket.
    let session: Value = reqwest::Client::new()
        .post(format!("{base}/connect/sessions"))
        .bearer_auth(server.secret_key())
        .json(&serde_json::json!({"end_user": {"id": "u1"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["data"]["token"].as_str().unwrap();
    let res = reqwest::get(format!(
        "{base}/oauth/connect/nothing?connect_session_token={token}&ws_client_id={id}"
    ))
    .await
    .unwrap();
    assert!(res.status().is_client_error());
    let frame = next_json(&mut ws).await;
    assert_eq!(frame["message_type"], "error", "{frame}");
    assert_eq!(frame["provider_config_key"], "nothing");

    // Without the variable's path, other paths are not WebSockets.
    assert!(
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/elsewhere"))
            .await
            .is_err()
    );
}
