//! Environment settings through the admin API (`GET|PATCH /environment/settings`) and the CLI
//! (`latchkey settings`, `keys rotate`, `connection list|get|delete`), and their effect: Connect UI
//! branding in `GET /connect/session`, webhook destinations.

mod common;

use axum::routing::post;
use common::{harness, serve};
use reqwest::Method;
use serde_json::{json, Value};
use std::process::Command;
use std::sync::{Arc, Mutex};

#[tokio::test]
async fn admin_api_reads_validates_and_writes_settings() {
    let h = harness(None).await;

    let r = h
        .call(Method::GET, "/environment/settings", None, None)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = h.backend(Method::GET, "/environment/settings", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["browser_cookie_check"], true);
    assert_eq!(r.body["data"]["connect_ui"]["defaultTheme"], "system");

    // A path that is not an exact origin is refused with the field's path, and nothing changes.
    let r = h
        .backend(
            Method::PATCH,
            "/environment/settings",
            Some(json!({"allowed_origins": ["https://app.example.com", "https://evil.example.com/x"]})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "invalid_body");
    assert_eq!(
        r.body["error"]["errors"][0]["path"],
        json!(["allowed_origins", "1"])
    );
    let r = h
        .backend(
            Method::PATCH,
            "/environment/settings",
            Some(json!({"callbak_url": "x"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);

    let theme = json!({
        "theme": {"light": {"primary": "#112233"}, "dark": {"primary": "#ddeeff"}},
        "defaultTheme": "dark",
        "showWatermark": false
    });
    let r = h
        .backend(
            Method::PATCH,
            "/environment/settings",
            Some(json!({
                "callback_url": "https://auth.example.com/oauth/callback",
                "allowed_origins": ["https://app.example.com"],
                "hmac_enabled": true,
                "hmac_key": "hmac-secret-value",
                "connect_ui": theme,
            })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The HMAC key is write-only.
    assert!(
        !r.body.to_string().contains("hmac-secret-value"),
        "{}",
        r.body
    );
    let r = h.backend(Method::GET, "/environment/settings", None).await;
    assert_eq!(
        r.body["data"]["callback_url"],
        "https://auth.example.com/oauth/callback"
    );
    assert_eq!(r.body["data"]["hmac_enabled"], true);

    // The Connect UI gets the branding with its session.
    h.create_integration("github", "github", None).await;
    let token = h
        .session(json!({"end_user": {"id": "u1"}, "allowed_integrations": ["github"]}))
        .await;
    let r = h
        .call(
            Method::GET,
            "/connect/session",
            Some(&format!("Bearer {token}")),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["connectUISettings"], theme);

    // `null` clears an optional setting.
    let r = h
        .backend(
            Method::PATCH,
            "/environment/settings",
            Some(json!({"callback_url": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["callback_url"], Value::Null);
}

#[tokio::test]
async fn auth_webhooks_go_to_the_configured_urls_when_their_toggle_is_on() {
    let received: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let sink = |name: &'static str, received: Arc<Mutex<Vec<(String, Value)>>>| {
        post(move |axum::Json(body): axum::Json<Value>| {
            let received = received.clone();
            async move {
                received.lock().unwrap().push((name.to_string(), body));
                "ok"
            }
        })
    };
    let hooks = serve(
        axum::Router::new()
            .route("/primary", sink("primary", received.clone()))
            .route("/secondary", sink("secondary", received.clone())),
    )
    .await;
    // An API-key provider without a verification endpoint, so nothing leaves the machine.
    let h = harness(Some(
        "key-only:\n    display_name: Key only\n    auth_mode: API_KEY\n    proxy:\n        base_url: https://api.example.com\n",
    ))
    .await;
    let r = h
        .backend(
            Method::PATCH,
            "/environment/settings",
            Some(json!({
                "webhook_url": format!("{hooks}/primary"),
                "webhook_url_secondary": format!("{hooks}/secondary"),
            })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    h.create_integration("key-only", "key-only", None).await;
    let token = h.session(json!({"end_user": {"id": "u1"}})).await;
    let r = h
        .browser_post(
            &format!("/api-auth/api-key/key-only?connect_session_token={token}"),
            json!({"apiKey": "sk-test-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let got = received.lock().unwrap().clone();
        if got.len() >= 2 {
            let mut names: Vec<_> = got.iter().map(|(n, _)| n.clone()).collect();
            names.sort();
            assert_eq!(names, ["primary", "secondary"]);
            assert!(got
                .iter()
                .all(|(_, b)| b["operation"] == "creation" && b["success"] == true));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "webhooks not delivered: {got:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // With the creation toggle off, a new connection sends nothing more.
    let r = h
        .backend(
            Method::PATCH,
            "/environment/settings",
            Some(json!({"webhook_on_auth_creation": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = h.session(json!({"end_user": {"id": "u2"}})).await;
    let r = h
        .browser_post(
            &format!("/api-auth/api-key/key-only?connect_session_token={token}"),
            json!({"apiKey": "sk-test-2"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(h.settled_webhooks().await.len(), 2, "nothing queued");
    assert_eq!(received.lock().unwrap().len(), 2);
}

/// Runs `latchkey <args>` on the test's database; returns (success, stdout, stderr).
fn cli(db: &str, data_dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("LATCHKEY_DATA_DIR", data_dir)
        .env_remove("LATCHKEY_SECRET_KEY")
        .env_remove("LATCHKEY_PUBLIC_KEY")
        .env_remove("LATCHKEY_ENCRYPTION_KEY")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_manages_settings_keys_and_connections() {
    let dir = tempfile::tempdir().unwrap();
    let config = latchkey_server::Config::for_tests(dir.path(), "http://localhost:1");
    let db = config.database_url.as_str();
    let data = dir.path();

    let (ok, out, err) = cli(
        db,
        data,
        &[
            "settings",
            "set",
            "callback_url",
            "https://auth.example.com/cb",
        ],
    );
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["callback_url"], "https://auth.example.com/cb");
    let (ok, out, _) = cli(db, data, &["settings", "show"]);
    assert!(ok);
    assert!(out.contains("https://auth.example.com/cb"), "{out}");
    let (ok, _, err) = cli(
        db,
        data,
        &[
            "settings",
            "set",
            "allowed_origins",
            r#"["https://a.example.com/x"]"#,
        ],
    );
    assert!(!ok);
    assert!(err.contains("allowed_origins.0"), "{err}");
    let (ok, _, err) = cli(db, data, &["settings", "set", "no_such_setting", "1"]);
    assert!(!ok);
    assert!(err.contains("no_such_setting"), "{err}");

    let (_, before, _) = cli(db, data, &["keys", "show", "--secret"]);
    let (ok, _, err) = cli(db, data, &["keys", "rotate", "--secret"]);
    assert!(ok, "{err}");
    let (_, after, _) = cli(db, data, &["keys", "show", "--secret"]);
    assert_ne!(before.trim(), after.trim());
    assert_eq!(after.trim().len(), 36, "a UUID v4: {after}");

    let (_, before, _) = cli(db, data, &["keys", "show"]);
    let (ok, _, err) = cli(db, data, &["keys", "rotate", "--webhook-signing"]);
    assert!(ok, "{err}");
    let (_, rotated, _) = cli(db, data, &["keys", "show"]);
    let line = |text: &str, label: &str| {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_default()
            .to_string()
    };
    assert_ne!(
        line(&before, "webhook signing key"),
        line(&rotated, "webhook signing key")
    );
    assert_eq!(line(&before, "secret key"), line(&rotated, "secret key"));

    let (ok, out, _) = cli(db, data, &["connection", "list"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 1, "only the header: {out}");
    assert!(out.starts_with("INTEGRATION"), "{out}");
    let (ok, _, err) = cli(db, data, &["connection", "delete", "github", "nope"]);
    assert!(!ok);
    assert!(err.contains("no connection"), "{err}");
}

#[tokio::test]
async fn allowed_origins_limit_who_embeds_the_connect_ui_and_runs_flows() {
    let h = harness(None).await;
    h.create_integration(
        "github",
        "github",
        Some(json!({"type": "OAUTH2", "client_id": "cid", "client_secret": "csecret"})),
    )
    .await;
    let csp = |r: &reqwest::Response| {
        r.headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let connect_ui = format!("{}/connect/", h.base);
    let r = h.http.get(&connect_ui).send().await.unwrap();
    assert!(csp(&r).contains("frame-ancestors *"), "{}", csp(&r));

    let r = h
        .backend(
            Method::PATCH,
            "/environment/settings",
            Some(json!({"allowed_origins": ["https://app.example.com"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h.http.get(&connect_ui).send().await.unwrap();
    assert!(
        csp(&r).contains("frame-ancestors 'self' https://app.example.com;"),
        "{}",
        csp(&r)
    );

    // An OAuth flow opened from a page elsewhere is refused; from an allowed page it goes to the provider.
    let start = |referer: &'static str| {
        let h = &h;
        async move {
            let token = h.session(json!({"end_user": {"id": "u1"}})).await;
            h.http
                .get(format!(
                    "{}/oauth/connect/github?connect_session_token={token}",
                    h.base
                ))
                .header("referer", referer)
                .send()
                .await
                .unwrap()
        }
    };
    let refused = start("https://evil.example.com/page").await;
    assert_eq!(refused.status(), 403);
    let page = refused.text().await.unwrap();
    assert!(page.contains("not an allowed origin"), "{page}");
    assert!(
        !page.contains("\"https://evil.example.com\""),
        "no message posted there: {page}"
    );
    let allowed = start("https://app.example.com/settings").await;
    assert!(allowed.status().is_redirection(), "{}", allowed.status());
    let location = allowed.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("https://github.com/"), "{location}");

    // The origin our SDK sends wins over the Referer; a flow that names no origin at all is refused.
    let flow = |query: &'static str, referer: Option<&'static str>| {
        let h = &h;
        async move {
            let token = h.session(json!({"end_user": {"id": "u1"}})).await;
            let mut req = h.http.get(format!(
                "{}/oauth/connect/{query}&connect_session_token={token}",
                h.base
            ));
            if let Some(referer) = referer {
                req = req.header("referer", referer);
            }
            req.send().await.unwrap()
        }
    };
    let explicit = flow(
        "github?opener_origin=https%3A%2F%2Fapp.example.com",
        Some("https://evil.example.com/x"),
    )
    .await;
    assert!(explicit.status().is_redirection(), "{}", explicit.status());
    let anonymous = flow("github?ws_client_id=x", None).await;
    assert_eq!(anonymous.status(), 403);
    assert!(anonymous
        .text()
        .await
        .unwrap()
        .contains("did not say where it comes from"));

    // Redirect mode: only back to an allowed origin — a refused return URL is an error page, never a
    // redirect.
    let elsewhere = flow(
        "github?opener_origin=https%3A%2F%2Fapp.example.com&return_url=https%3A%2F%2Fevil.example.com%2F",
        None,
    )
    .await;
    assert_eq!(elsewhere.status(), 400);
    assert!(elsewhere.headers().get("location").is_none());
    assert!(elsewhere
        .text()
        .await
        .unwrap()
        .contains("invalid_return_url"));
    // Any outcome comes back to the page as a single-use id, even a failure (an unknown integration:
    // Nango's `provider_config_err`).
    let back = flow(
        "nope?opener_origin=https%3A%2F%2Fapp.example.com&return_url=https%3A%2F%2Fapp.example.com%2Fback%3Ftab%3D1",
        None,
    )
    .await;
    assert_eq!(back.status(), 303);
    let location = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(
        location.origin().ascii_serialization(),
        "https://app.example.com"
    );
    assert_eq!(location.path(), "/back");
    let query: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert_eq!(query[0], ("tab".to_string(), "1".to_string()));
    assert_eq!(query[1].0, "latchkey_result");
    assert_eq!(query.len(), 2, "nothing else in the URL: {location}");
    let redeem = |id: String| {
        let h = &h;
        async move {
            let r = h
                .http
                .post(format!("{}/oauth/result/{id}", h.base))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = redeem(query[1].1.clone()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "provider_config_err", "{body}");
    let (status, body) = redeem(query[1].1.clone()).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("not_found")),
        "replayed"
    );
    let (status, _) = redeem("0".repeat(64)).await;
    assert_eq!(status, 404, "made up");
    // Without allowed origins, redirect mode is refused altogether.
    let r = h
        .backend(
            Method::PATCH,
            "/environment/settings",
            Some(json!({"allowed_origins": []})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let open = flow("github?return_url=https%3A%2F%2Fapp.example.com%2F", None).await;
    assert_eq!(open.status(), 400);
    assert!(open.text().await.unwrap().contains("allowed origins"));
}

/// Runs `latchkey <args>` with only `HOME` (no database or data settings) from `cwd`.
fn cli_at_home(
    home: &std::path::Path,
    cwd: &std::path::Path,
    args: &[&str],
) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .env_remove("DATABASE_URL")
        .env_remove("LATCHKEY_DATA_DIR")
        .env_remove("LATCHKEY_SECRET_KEY")
        .env_remove("LATCHKEY_PUBLIC_KEY")
        .env_remove("LATCHKEY_ENCRYPTION_KEY")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_finds_one_database_from_any_directory_and_prints_only_what_scripts_read() {
    let home = tempfile::tempdir().unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ok, first, err) = cli_at_home(home.path(), a.path(), &["keys", "show", "--secret"]);
    assert!(ok, "{err}");
    // The key alone: no warning (not even the dev encryption key's), no colour codes.
    assert_eq!(err, "", "nothing on stderr");
    assert_eq!(first.lines().count(), 1, "{first:?}");
    assert_eq!(first.trim().len(), 36, "a UUID v4: {first}");
    let (ok, second, _) = cli_at_home(home.path(), b.path(), &["keys", "show", "--secret"]);
    assert!(ok);
    assert_eq!(first, second, "the same database from another directory");
    assert!(home
        .path()
        .join(".local/share/latchkey/latchkey.db")
        .is_file());
    assert!(!a.path().join("data").exists() && !b.path().join("data").exists());
    let (_, shown, _) = cli_at_home(home.path(), b.path(), &["keys", "show"]);
    assert!(
        shown.contains(&format!(
            "database:             {}",
            home.path()
                .join(".local/share/latchkey/latchkey.db")
                .display()
        )),
        "{shown}"
    );

    // A partial Connect UI setting merges into the current one, in either spelling.
    let (ok, out, err) = cli_at_home(
        home.path(),
        a.path(),
        &[
            "settings",
            "set",
            "connect_ui",
            r#"{"defaultTheme":"dark"}"#,
        ],
    );
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["connect_ui"]["defaultTheme"], "dark");
    assert_eq!(shown["connect_ui"]["theme"]["light"]["primary"], "#00B2E3");
    let (ok, out, err) = cli_at_home(
        home.path(),
        a.path(),
        &[
            "settings",
            "set",
            "connect_ui",
            r#"{"show_watermark":true}"#,
        ],
    );
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["connect_ui"]["defaultTheme"], "dark");
    assert_eq!(shown["connect_ui"]["showWatermark"], true);

    // Lists start with a header line.
    let (ok, out, err) = cli_at_home(
        home.path(),
        a.path(),
        &["integration", "create", "gh", "github", "cid", "csecret"],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "integration 'gh' saved");
    let (_, out, _) = cli_at_home(home.path(), a.path(), &["integration", "list"]);
    let lines: Vec<_> = out.lines().collect();
    assert!(
        lines[0].starts_with("KEY") && lines[0].ends_with("OAUTH CLIENT ID"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("gh") && lines[1].ends_with("cid"),
        "{out}"
    );
}

#[test]
fn cli_help_has_no_empty_lines_for_subcommands_or_arguments() {
    for args in [
        &["-h"][..],
        &["keys", "-h"],
        &["keys", "show", "-h"],
        &["keys", "rotate", "-h"],
        &["integration", "-h"],
        &["integration", "create", "-h"],
        &["integration", "delete", "-h"],
        &["connection", "-h"],
        &["connection", "get", "-h"],
        &["connection", "delete", "-h"],
        &["settings", "-h"],
        &["settings", "set", "-h"],
        &["providers", "-h"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(args)
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        for line in help.lines() {
            let item = line.trim_start();
            // In short help (`-h`) an entry is one line, "<name>  <help>": a name alone has no help.
            let is_entry = line.starts_with("  ") && !item.is_empty() && !line.starts_with("   ");
            if is_entry {
                assert!(
                    item.split_once("  ")
                        .is_some_and(|(_, h)| !h.trim().is_empty()),
                    "`latchkey {}`: no help for {item:?}\n{help}",
                    args.join(" ")
                );
            }
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["settings", "set", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains(r#"{"defaultTheme": "light"|"dark"|"system""#),
        "{help}"
    );
}
