//! Issue 15: the official `@nangohq/frontend` (`credential-modes-frontend.test.mjs`) submits every
//! credential kind to our routes, against the local provider (`common::credential_modes`).

use crate::common::credential_modes::setup;
use reqwest::Method;
use serde_json::json;
use std::path::Path;

/// The official `@nangohq/frontend` (`nango.auth(key, {credentials})`) against our routes.
#[tokio::test]
async fn official_frontend_submits_every_credential_kind() {
    let (p, h) = setup().await;
    let two_step = h.session(json!({"end_user": {"id": "u1"}})).await;
    let jwt = h.session(json!({"end_user": {"id": "u2"}})).await;
    let abm = h.session(json!({"end_user": {"id": "u3"}})).await;
    h.create_integration(
        "netsuite",
        "netsuite-local",
        Some(json!({"type": "TBA", "client_id": "ck-1", "client_secret": "cs-1"})),
    )
    .await;
    let mut sessions = Vec::new();
    for (i, name) in ["BILL_SESSION", "SIGNATURE_SESSION", "TBA_SESSION"]
        .iter()
        .enumerate()
    {
        let token = h
            .session(json!({"end_user": {"id": format!("v{i}")}}))
            .await;
        sessions.push((*name, token));
    }
    let output = tokio::process::Command::new("node")
        .args(["--test", "--test-reporter=spec"])
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/node/credential-modes-frontend.test.mjs"),
        )
        .env("LATCHKEY_HOST", &h.base)
        .env("TWO_STEP_SESSION", two_step)
        .env("JWT_SESSION", jwt)
        .env("ABM_SESSION", abm)
        .envs(sessions)
        .env("ABM_KEY", &p.apple_key)
        .env(
            "GHOST_KEY",
            format!("0123456789abcdef01234567:{}", "ab".repeat(32)),
        )
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs");
    println!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the @nangohq/frontend suite failed"
    );
    let list = h.backend(Method::GET, "/connections", None).await;
    let keys: Vec<&str> = list.body["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["provider_config_key"].as_str())
        .collect();
    assert!(
        ["drupal", "ghost", "abm", "bill", "emarsys", "netsuite"]
            .iter()
            .all(|k| keys.contains(k)),
        "{keys:?}"
    );
    drop(p);
}
