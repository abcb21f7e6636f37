//! A `201` is a promise: a connect session the server answered for survives the server process being
//! killed (`kill -9`, no shutdown code) the moment after. Concurrent clients create sessions against a
//! real `latchkey serve` process until it is killed mid-load; after a restart on the same data every
//! token answered with `201` still opens its session. On SQLite by default (the write path tuned for
//! throughput: one writer, WAL, `synchronous=NORMAL`), on PostgreSQL with `LATCHKEY_TEST_POSTGRES`.
//! And a clean stop (SIGTERM) loses nothing either, the activity log's queued entries included.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET_KEY: &str = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";
const ENCRYPTION_KEY: &str = "bGF0Y2hrZXktcmVwbGljYS10ZXN0LWtleS0zMi1ieXQ=";
const CLIENTS: usize = 16;

fn serve(port: u16, env: &[(&str, String)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("LATCHKEY_ADDR", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the latchkey binary starts")
}

async fn wait_up(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/ready")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_session_answered_201_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match std::env::var("LATCHKEY_TEST_POSTGRES") {
        Ok(server) if !server.is_empty() => format!(
            "{}/durability_{}",
            server.trim_end_matches('/'),
            uuid::Uuid::new_v4().simple()
        ),
        _ => format!("sqlite://{}", dir.path().join("latchkey.db").display()),
    };
    let port = latchkey_test_peers::free_port().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let env = [
        ("LATCHKEY_PUBLIC_URL", base.clone()),
        ("LATCHKEY_DATA_DIR", dir.path().display().to_string()),
        ("DATABASE_URL", database_url),
        ("LATCHKEY_SECRET_KEY", SECRET_KEY.into()),
        ("LATCHKEY_ENCRYPTION_KEY", ENCRYPTION_KEY.into()),
        ("LATCHKEY_RATE_LIMIT_PER_MINUTE", "0".into()),
        ("RUST_LOG", "error".into()),
    ];
    let http = reqwest::Client::new();
    let mut child = serve(port, &env);
    wait_up(&http, &base).await;

    // Clients create sessions until the process dies under them; each keeps what answered 201.
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (http, base, answered) = (http.clone(), base.clone(), answered.clone());
            tokio::spawn(async move {
                for n in 0..100_000 {
                    let sent = http
                        .post(format!("{base}/connect/sessions"))
                        .bearer_auth(SECRET_KEY)
                        .json(&serde_json::json!({"end_user": {"id": format!("u-{c}-{n}")}}))
                        .send()
                        .await;
                    let Ok(res) = sent else { return };
                    if res.status() != 201 {
                        return;
                    }
                    let Ok(body) = res.json::<serde_json::Value>().await else {
                        return;
                    };
                    let token = body["data"]["token"].as_str().unwrap().to_string();
                    answered.lock().unwrap().push(token);
                }
            })
        })
        .collect();
    // Kill mid-load, once a good number of sessions were answered.
    let deadline = Instant::now() + Duration::from_secs(20);
    while answered.lock().unwrap().len() < 300 {
        assert!(Instant::now() < deadline, "the sessions were not answered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let answered = std::mem::take(&mut *answered.lock().unwrap());

    let mut child = serve(port, &env);
    wait_up(&http, &base).await;
    let mut lost = 0;
    for token in &answered {
        let res = http
            .get(format!("{base}/connect/session"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if res.status() != 200 {
            lost += 1;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        lost,
        0,
        "{lost} of {} sessions answered 201 were lost",
        answered.len()
    );
}

/// SIGTERM (what `podman stop`, systemd and Kubernetes send) stops the server cleanly: it exits with
/// success once what the activity log had queued is written. Killed at once, it lost the last
/// entries (they are committed about four times a second).
#[cfg(unix)]
#[tokio::test]
async fn sigterm_writes_the_activity_log_before_exiting() {
    let dir = tempfile::tempdir().unwrap();
    let port = latchkey_test_peers::free_port().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let env = [
        ("LATCHKEY_PUBLIC_URL", base.clone()),
        ("LATCHKEY_DATA_DIR", dir.path().display().to_string()),
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("latchkey.db").display()),
        ),
        ("LATCHKEY_SECRET_KEY", SECRET_KEY.into()),
        ("LATCHKEY_ENCRYPTION_KEY", ENCRYPTION_KEY.into()),
        ("RUST_LOG", "error".into()),
    ];
    let http = reqwest::Client::new();
    let mut child = serve(port, &env);
    wait_up(&http, &base).await;
    let res = http
        .post(format!("{base}/connect/sessions"))
        .bearer_auth(SECRET_KEY)
        .json(&serde_json::json!({"end_user": {"id": "u-sigterm"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "after SIGTERM: {status}");

    let mut child = serve(port, &env);
    wait_up(&http, &base).await;
    let logs: serde_json::Value = http
        .get(format!(
            "{base}/logs?type=connect_session&end_user_id=u-sigterm"
        ))
        .bearer_auth(SECRET_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        logs["data"].as_array().map(Vec::len),
        Some(1),
        "the session's activity entry: {logs}"
    );
}
