//! Runs `tests/node/nango-node.test.mjs` (node's built-in test runner, the real `@nangohq/node`
//! package from the workspace's npm install) against the real server on loopback.

use latchkey_server::{start, Config};
use std::path::Path;

#[tokio::test]
async fn official_nango_node_client_works_against_latchkey() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    assert!(
        root.join("node_modules/@nangohq/node").exists(),
        "run `npm ci` at the workspace root (cargo xtask setup does it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let webhook_port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut config = Config::for_tests(dir.path(), &base);
    config.webhook_url = Some(format!("http://127.0.0.1:{webhook_port}/hooks"));
    let server = start(config, listener).await.unwrap();

    let output = tokio::process::Command::new("node")
        .args(["--test", "--test-reporter=spec"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node/nango-node.test.mjs"))
        .env("LATCHKEY_HOST", &base)
        .env("LATCHKEY_SECRET_KEY", server.secret_key())
        .env("LATCHKEY_WEBHOOK_SIGNING_KEY", server.webhook_signing_key())
        .env("LATCHKEY_WEBHOOK_PORT", webhook_port.to_string())
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the @nangohq/node suite failed (see the report above)"
    );
}
