//! Issue 15, APP and CUSTOM (GitHub Apps) through the popup, against the local GitHub
//! (`common::credential_modes`): installation tokens fetched with the app's JWT; with user
//! authorization, the user's token too, and an owner's approval finished by GitHub's signed
//! `installation` webhook.

use crate::common::credential_modes::{come_back, install, proxy, setup, start_popup};
use reqwest::Method;
use serde_json::{json, Value};

/// A GitHub App install for `end_user`, GitHub coming back to the setup URL with `back` (the
/// installation id and setup action) and the state.
async fn install_github_app(
    h: &crate::common::Harness,
    end_user: &str,
    back: &str,
) -> (url::Url, String) {
    install(h, "gh-app", end_user, "state", |state| {
        format!("/app-auth/connect?{back}&state={state}")
    })
    .await
}

/// Issue 15, APP (GitHub App): the owner's app (id, public link, private key) on the integration;
/// the end user installs it; GitHub's return to the setup URL stores an installation token fetched
/// with the app's JWT (which the local GitHub verifies); the proxy uses it; renewals fetch a new one.
#[tokio::test]
async fn github_app_installs_and_fetches_installation_tokens_with_the_apps_jwt() {
    use base64::Engine as _;
    let (p, h) = setup().await;
    let link = "https://github.com/apps/latchkey-test";
    let create = |private_key: String| {
        h.backend(
            Method::POST,
            "/integrations",
            Some(
                json!({"provider": "github-app-local", "unique_key": "gh-app",
                "credentials": {"type": "APP", "app_id": "123456", "app_link": link,
                                "private_key": private_key}}),
            ),
        )
    };
    let r = create("not a key".into()).await;
    assert_eq!(r.body["error"]["code"], "invalid_body", "{}", r.body);
    // The PEM base64-encoded, as Nango's dashboard sends it.
    let r = create(base64::engine::general_purpose::STANDARD.encode(&p.github_app_key)).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let (location, page) =
        install_github_app(&h, "u1", "installation_id=4242&setup_action=install").await;
    assert_eq!(
        location.as_str().split('?').next().unwrap(),
        format!("{link}/installations/new")
    );
    assert!(page.contains("nango_oauth_callback_success"), "{page}");
    let list = h.backend(Method::GET, "/connections", None).await;
    let id = list.body["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["provider_config_key"] == "gh-app")
        .and_then(|c| c["connection_id"].as_str())
        .unwrap()
        .to_string();
    let c = h.connection("gh-app", &id, "").await;
    let creds = &c.body["credentials"];
    assert_eq!(creds["type"], "APP", "{}", c.body);
    let first = creds["access_token"].as_str().unwrap().to_string();
    assert!(first.starts_with("ghs_"), "{creds}");
    assert_eq!(creds["raw"]["repository_selection"], "all");
    assert!(creds["jwtToken"].as_str().unwrap().split('.').count() == 3);
    let expires =
        chrono::DateTime::parse_from_rfc3339(creds["expires_at"].as_str().unwrap()).unwrap();
    assert!((expires.timestamp() - chrono::Utc::now().timestamp() - 3600).abs() < 60);
    assert_eq!(c.body["connection_config"]["installation_id"], "4242");
    assert_eq!(c.body["connection_config"]["app_id"], "123456");
    let res = proxy(&h, "gh-app", &id, "/installation/repositories")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // A renewal: a new installation token, fetched with a new app JWT.
    let c = h.connection("gh-app", &id, "&force_refresh=true").await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_ne!(c.body["credentials"]["access_token"], first.as_str());
    let stats: Value = p.get("/github/stats").await;
    assert_eq!(stats["tokenRequests"], 2, "{stats}");

    // An installation GitHub does not know, and an install request awaiting an owner's approval,
    // are reported on the result page; nothing is stored.
    let (_, page) = install_github_app(&h, "u2", "installation_id=999&setup_action=install").await;
    assert!(page.contains("github_app_token_fetch_error"), "{page}");
    let (_, page) = install_github_app(&h, "u3", "setup_action=request").await;
    assert!(page.contains("wrong_auth_mode"), "{page}");
    let count = h.backend(Method::GET, "/connections", None).await.body["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["provider_config_key"] == "gh-app")
        .count();
    assert_eq!(count, 1);
    // An installation approved outside a flow (no state): back to GitHub.
    let res = h
        .http
        .get(format!(
            "{}/app-auth/connect?installation_id=4242&setup_action=install",
            h.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "https://github.com");
}

/// Issue 15, CUSTOM (`github-app-oauth`): a GitHub App that requests the user's authorization during
/// installation. The integration holds the app's OAuth client and the app; GitHub's return carries a
/// code (exchanged for the user's token) and the installation id (an installation token fetched with
/// the app's JWT). The connection holds both: the installation token as `APP` credentials, the
/// user's in `connection_config.userCredentials` (refresh token shown only when asked), the login as
/// `handle`; renewals renew both (the user token here lives ten minutes, inside the refresh window,
/// so every read renews).
/// An installation an organization owner must approve comes back without an id: pending, the user's
/// token only, until GitHub's signed `installation` webhook finishes it.
#[tokio::test]
async fn github_app_with_user_authorization_keeps_the_installation_and_the_user_token() {
    let (p, h) = setup().await;
    h.http
        .post(format!("http://127.0.0.1:{}/__setup", p.port))
        .json(&json!({"server": h.base}))
        .send()
        .await
        .unwrap();
    let create = |key: &str, link: &str, app_id: Option<&str>| {
        let mut credentials = json!({"type": "CUSTOM", "client_id": "Iv1.latchkeytest",
            "client_secret": "gh-oauth-secret", "private_key": p.github_app_key,
            "app_link": format!("http://127.0.0.1:{}/github/apps/{link}", p.port)});
        if let Some(id) = app_id {
            credentials["app_id"] = id.into();
        }
        h.backend(
            Method::POST,
            "/integrations",
            Some(
                json!({"provider": "github-app-oauth-local", "unique_key": key,
                        "credentials": credentials}),
            ),
        )
    };
    let r = create("gh-oauth", "latchkey-oauth", None).await;
    assert_eq!(r.body["error"]["code"], "invalid_body", "{}", r.body);
    for (key, link) in [
        ("gh-oauth", "latchkey-oauth"),
        ("gh-oauth-approval", "latchkey-oauth-approval"),
    ] {
        let r = create(key, link, Some("123456")).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // The app's key stays on the server.
    let r = h
        .backend(
            Method::GET,
            "/integrations/gh-oauth?include=credentials",
            None,
        )
        .await;
    assert!(!r.body.to_string().contains("PRIVATE KEY"), "{}", r.body);

    let id = authorize_on_github(&h, "gh-oauth", "u1").await;
    let c = h.connection("gh-oauth", &id, "").await;
    let (creds, config) = (&c.body["credentials"], &c.body["connection_config"]);
    assert_eq!(creds["type"], "APP", "{}", c.body);
    assert!(creds["access_token"].as_str().unwrap().starts_with("ghs_"));
    assert!(creds.get("userCredentials").is_none(), "{creds}");
    assert_eq!(config["installation_id"], "4242");
    assert_eq!(config["app_id"], "123456");
    assert_eq!(config["handle"], "octo-user");
    assert_eq!(config["userCredentials"]["type"], "OAUTH2", "{config}");
    let user_token = config["userCredentials"]["access_token"].as_str().unwrap();
    assert!(user_token.starts_with("ghu_"), "{config}");
    assert!(config["userCredentials"].get("refresh_token").is_none());
    let c = h.connection("gh-oauth", &id, "&refresh_token=true").await;
    let first_app = c.body["credentials"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let user = &c.body["connection_config"]["userCredentials"];
    assert!(user["refresh_token"].as_str().unwrap().starts_with("ghr_"));
    let stats: Value = p.get("/github/user-stats").await;
    assert_eq!(stats["authorization_code"], 1, "{stats}");
    // The user token lives ten minutes, inside the 15-minute refresh window: each read so far
    // renewed it (with a new installation token), as Nango does for tokens that short.
    assert_eq!(stats["refresh_token"], 2, "{stats}");
    assert_ne!(user["access_token"], user_token);
    let res = proxy(&h, "gh-oauth", &id, "/installation/repositories")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the proxy sends the installation token");
    let c = h.connection("gh-oauth", &id, "&force_refresh=true").await;
    assert_ne!(c.body["credentials"]["access_token"], first_app.as_str());

    // Awaiting an organization owner's approval: pending, with the user's token.
    let id = authorize_on_github(&h, "gh-oauth-approval", "u2").await;
    let c = h.connection("gh-oauth-approval", &id, "").await;
    assert_eq!(c.body["credentials"]["type"], "OAUTH2", "{}", c.body);
    assert_eq!(c.body["connection_config"]["pending"], "true");
    assert_eq!(c.body["connection_config"]["handle"], "octo-user");
    assert!(c.body["connection_config"].get("installation_id").is_none());

    // Approved: GitHub's `installation` webhook, signed with the app's webhook secret, at the
    // integration's webhook URL, finishes the pending connection. Unsigned or missigned, it is
    // refused and changes nothing.
    let i = h
        .backend(
            Method::GET,
            "/integrations/gh-oauth-approval?include=webhook,credentials",
            None,
        )
        .await;
    let url = i.body["data"]["webhook_url"].as_str().unwrap().to_string();
    assert!(url.contains("/webhook/"), "{}", i.body);
    let secret = i.body["data"]["credentials"]["webhook_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let event = json!({"action": "created", "installation": {"id": 4242, "app_id": 123456},
                       "requester": {"login": "octo-user"}, "sender": {"login": "org-owner"}})
    .to_string();
    let sign = |key: &str| {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(event.as_bytes());
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    let deliver = |signature: Option<String>| {
        let mut req = h
            .http
            .post(&url)
            .header("x-github-event", "installation")
            .header("content-type", "application/json")
            .body(event.clone());
        if let Some(s) = signature {
            req = req.header("x-hub-signature-256", s);
        }
        req.send()
    };
    for signature in [None, Some(sign("not the app's secret"))] {
        let res = deliver(signature).await.unwrap();
        assert_eq!(res.status(), 401);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "webhook_invalid_signature", "{body}");
    }
    let c = h.connection("gh-oauth-approval", &id, "").await;
    assert_eq!(c.body["credentials"]["type"], "OAUTH2", "still pending");
    let res = deliver(Some(sign(&secret))).await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let c = h.connection("gh-oauth-approval", &id, "").await;
    let config = &c.body["connection_config"];
    assert_eq!(c.body["credentials"]["type"], "APP", "{}", c.body);
    assert_eq!(config["installation_id"], "4242", "{config}");
    assert!(config.get("pending").is_none(), "{config}");
    assert_eq!(config["userCredentials"]["type"], "OAUTH2", "{config}");
}

/// A GitHub App install with user authorization, as a browser runs it: our popup start, GitHub's
/// install page (the local one signs the user in and installs at once), its return to the callback
/// with the binding cookie; the new connection's id.
async fn authorize_on_github(h: &crate::common::Harness, key: &str, end_user: &str) -> String {
    let (install, cookie) = start_popup(h, key, end_user).await;
    assert!(install.path().ends_with("/installations/new"), "{install}");
    let res = h.http.get(install).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let back = res.headers()["location"].to_str().unwrap().to_string();
    let page = come_back(h, &back, &cookie).await;
    assert!(page.contains("nango_oauth_callback_success"), "{page}");
    let list = h.backend(Method::GET, "/connections", None).await;
    list.body["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["provider_config_key"] == key && c["end_user"]["id"] == end_user)
        .and_then(|c| c["connection_id"].as_str())
        .expect("the new connection")
        .to_string()
}
