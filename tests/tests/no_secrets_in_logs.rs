//! Every log line the server writes during a full OAuth flow, a forced refresh, a proxied call and
//! an API-key connection is captured (at `debug`, for every crate, HTTP client and server included) and searched
//! for each secret that crossed it: provider tokens, the client secret, the API key, the secret key,
//! the connect session token. The activity log (`GET /logs`, `GET /logs/{id}`) is searched too.

use latchkey_protocol::connection::Credentials;
use latchkey_tests::headless::HeadlessUser;
use latchkey_tests::stack::{Stack, LOCAL_OIDC};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A log sink shared with the global subscriber of this test binary.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_token_or_secret_reaches_a_log_line() -> anyhow::Result<()> {
    let logs = Captured::default();
    let sink = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .init();

    let stack = Stack::start().await?;
    let http = reqwest::Client::new();
    let session_token = stack.demo_session_token().await?;
    let start = stack.oauth_start_url(&session_token)?;
    let end = HeadlessUser::new()?
        .authorize(start.as_str(), "carol")
        .await?;
    assert!(
        end.status.is_success(),
        "callback answered {}: {}",
        end.status,
        end.body
    );
    let connections = stack.server.list_connections().await?;
    let id = connections[0]["connection_id"]
        .as_str()
        .expect("connection_id")
        .to_string();
    let first = stack
        .server
        .get_connection_with(&id, LOCAL_OIDC, &[("refresh_token", "true")])
        .await?;
    let second = stack
        .server
        .get_connection_with(
            &id,
            LOCAL_OIDC,
            &[("force_refresh", "true"), ("refresh_token", "true")],
        )
        .await?;

    // A proxied call (issue 16): the refreshed token goes upstream in a header, and the query string
    // (which may carry keys) must not reach the record either.
    let query_secret = "q-secret-do-not-log-5d1e8b";
    let res = http
        .get(format!(
            "{}/proxy/me?api_token={query_secret}",
            stack.server.url()
        ))
        .bearer_auth(stack.server.secret_key())
        .header("connection-id", &id)
        .header("provider-config-key", LOCAL_OIDC)
        .send()
        .await?;
    assert!(res.status().is_success(), "{}", res.text().await?);
    res.bytes().await?;

    stack
        .server
        .create_integration(&json!({"provider": "openai", "unique_key": "openai"}))
        .await?;
    let api_key = "sk-live-do-not-log-me-7f3a9c";
    let res = http
        .post(format!(
            "{}/api-auth/api-key/openai?connect_session_token={session_token}",
            stack.server.url()
        ))
        .json(&json!({ "apiKey": api_key }))
        .send()
        .await?;
    assert!(res.status().is_success(), "{}", res.text().await?);

    // A callback with a state nobody issued is refused, and the log says so (without its code).
    let forged_code = "forged-code-do-not-log-5d1e";
    let mut forged = stack.server.endpoint(&["oauth", "callback"])?;
    forged
        .query_pairs_mut()
        .append_pair("state", "state-nobody-issued-0123456789")
        .append_pair("code", forged_code);
    let res = http.get(forged).send().await?;
    assert!(res.status().is_client_error(), "{}", res.status());

    let mut secrets = vec![
        ("forged callback code", forged_code.to_string()),
        ("connect session token", session_token.clone()),
        ("secret key", stack.server.secret_key().to_string()),
        ("client secret", stack.oidc.client_secret().to_string()),
        ("API key", api_key.to_string()),
        ("proxied query value", query_secret.to_string()),
    ];
    for (label, c) in [
        ("first", &first.credentials),
        ("refreshed", &second.credentials),
    ] {
        let Credentials::OAuth2 {
            access_token,
            refresh_token,
            ..
        } = c
        else {
            panic!("expected OAUTH2")
        };
        secrets.push((
            if label == "first" {
                "access token"
            } else {
                "refreshed access token"
            },
            access_token.clone(),
        ));
        let refresh = refresh_token.clone().expect("refresh token issued");
        secrets.push((
            if label == "first" {
                "refresh token"
            } else {
                "rotated refresh token"
            },
            refresh,
        ));
    }
    // The activity log (issue 17), through its API: every entry of the flows above and each one's
    // steps — the whole of the log's table as an operator reads it.
    let activity = activity_log_text(&http, &stack).await?;
    drop(stack);
    for kind in ["\"oauth\"", "\"refresh\"", "\"proxy\"", "\"credentials\""] {
        assert!(
            activity.contains(kind),
            "the activity log has a {kind} entry:\n{activity}"
        );
    }
    for (label, secret) in &secrets {
        assert!(
            !activity.contains(secret.as_str()),
            "the {label} appears in the activity log"
        );
    }

    let text = String::from_utf8(logs.0.lock().unwrap().clone())?;
    assert!(
        text.contains("connection authorized"),
        "the capture saw the flow:\n{text}"
    );
    assert!(
        text.contains("token refreshed"),
        "the capture saw the refresh"
    );
    assert!(
        text.lines().any(|l| l.contains("connection saved")
            && l.contains("integration=openai")
            && l.contains("auth_mode=\"API_KEY\"")),
        "the API-key connection is logged:\n{text}"
    );
    assert!(
        text.contains("OAuth callback refused"),
        "the refused callback is logged:\n{text}"
    );
    assert!(
        text.contains("proxy call") && text.contains("endpoint=/me "),
        "the capture saw the proxy's record"
    );
    for (label, secret) in &secrets {
        assert!(secret.len() >= 16, "{label} is too short to search for");
        assert!(
            !text.contains(secret.as_str()),
            "the {label} appears in the logs"
        );
    }
    Ok(())
}

/// Every activity log entry with its steps, as JSON text, once the last operation (the API-key
/// submission) is recorded (entries are written in the background).
async fn activity_log_text(
    http: &reqwest::Client,
    stack: &latchkey_tests::stack::Stack,
) -> anyhow::Result<String> {
    let get = |path: String| async move {
        http.get(format!("{}{path}", stack.server.url()))
            .bearer_auth(stack.server.secret_key())
            .send()
            .await?
            .error_for_status()?
            .json::<Value>()
            .await
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let page = loop {
        let page = get("/logs?limit=500".into()).await?;
        let done = page["data"].as_array().is_some_and(|d| {
            d.iter()
                .any(|e| e["type"] == "credentials" && e["outcome"] == "success")
        });
        if done {
            break page;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the API-key submission never reached the activity log: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let mut text = page.to_string();
    for entry in page["data"].as_array().into_iter().flatten() {
        let id = entry["id"].as_str().unwrap_or_default();
        text.push_str(&get(format!("/logs/{id}")).await?.to_string());
    }
    Ok(text)
}
