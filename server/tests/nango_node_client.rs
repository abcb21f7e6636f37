//! Runs the suites under `tests/node/` (node's built-in test runner, the real `@nangohq/node` package
//! from the workspace's npm install) against the real server on loopback.

use latchkey_server::{start, Config};
use std::path::Path;

/// A free loopback port for a server the node suite starts itself (webhook receiver, upstream API).
fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// Starts a server (its config adjusted by `configure`, given the data directory), runs the node
/// suite `file` with the server's URL and keys plus `env`, and fails with the suite's report.
async fn run_node_suite(
    file: &str,
    configure: impl FnOnce(&mut Config, &Path),
    env: &[(&str, String)],
) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    assert!(
        root.join("node_modules/@nangohq/node").exists(),
        "run `npm ci` at the workspace root (cargo xtask setup does it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut config = Config::for_tests(dir.path(), &base);
    configure(&mut config, dir.path());
    let server = start(config, listener).await.unwrap();

    let output = tokio::process::Command::new("node")
        .args(["--test", "--test-reporter=spec"])
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/node")
                .join(file),
        )
        .env("LATCHKEY_HOST", &base)
        .env("LATCHKEY_SECRET_KEY", server.secret_key())
        .env("LATCHKEY_WEBHOOK_SIGNING_KEY", server.webhook_signing_key())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the @nangohq/node suite {file} failed (see the report above)"
    );
}

#[tokio::test]
async fn official_nango_node_client_works_against_latchkey() {
    let webhook_port = free_port();
    run_node_suite(
        "nango-node.test.mjs",
        |config, _| config.webhook_url = Some(format!("http://127.0.0.1:{webhook_port}/hooks")),
        &[("LATCHKEY_WEBHOOK_PORT", webhook_port.to_string())],
    )
    .await;
}

/// Providers whose `proxy` blocks point at the suite's local API server on `port`.
fn proxy_catalog(port: u16) -> String {
    format!(
        r#"proxy-oauth:
    display_name: Proxy test (OAuth2)
    auth_mode: OAUTH2
    authorization_url: http://127.0.0.1:{port}/authorize
    token_url: http://127.0.0.1:{port}/token
    proxy:
        base_url: http://127.0.0.1:{port}/api
proxy-header-key:
    display_name: Proxy test (API key in a header, tenant in the base URL)
    auth_mode: API_KEY
    proxy:
        base_url: http://127.0.0.1:{port}/tenants/${{connectionConfig.tenant}}
        headers:
            x-api-key: ${{apiKey}}
            x-api-version: '2024-01-01'
proxy-query-key:
    display_name: Proxy test (API key in the query)
    auth_mode: API_KEY
    proxy:
        base_url: http://127.0.0.1:{port}/api
        query:
            api_key: ${{apiKey}}
proxy-basic:
    display_name: Proxy test (Basic)
    auth_mode: BASIC
    proxy:
        base_url: http://127.0.0.1:{port}/api
proxy-no-base:
    display_name: Proxy test (no proxy block)
    auth_mode: API_KEY
"#
    )
}

#[tokio::test]
async fn official_nango_node_client_proxies_to_a_local_api() {
    let api_port = free_port();
    run_node_suite(
        "nango-proxy.test.mjs",
        |config, dir| {
            let path = dir.join("providers.proxy.yaml");
            std::fs::write(&path, proxy_catalog(api_port)).unwrap();
            config.providers_file = Some(path);
        },
        &[("LATCHKEY_API_PORT", api_port.to_string())],
    )
    .await;
}
