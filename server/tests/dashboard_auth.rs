//! The dashboard's cookie API (issue 17) over the real server: the session cookie's attributes, a
//! wrong password refused, the lockout after repeated failures, CSRF refusals (another origin, a
//! missing token), a test webhook, sign-out everywhere, and a credential reveal that is recorded in the activity log
//! without the revealed secret.

mod common;

use common::{harness, Harness};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";

/// A browser-like client of the dashboard: it keeps the session cookie and the CSRF token, and says
/// `Origin`/`Sec-Fetch-Site` as a same-origin page would.
struct Browser<'a> {
    h: &'a Harness,
    cookie: Option<String>,
    csrf: Option<String>,
}

struct Answer {
    status: u16,
    set_cookie: Option<String>,
    body: Value,
}

impl<'a> Browser<'a> {
    fn new(h: &'a Harness) -> Self {
        Self {
            h,
            cookie: None,
            csrf: None,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        origin: &str,
        csrf: bool,
    ) -> Answer {
        let mut req = self
            .h
            .http
            .request(method.clone(), format!("{}{path}", self.h.base))
            .header("origin", origin)
            .header(
                "sec-fetch-site",
                if origin == self.h.base {
                    "same-origin"
                } else {
                    "cross-site"
                },
            );
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let (true, Some(t)) = (csrf, &self.csrf) {
            req = req.header("x-latchkey-csrf", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let set_cookie = res
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_string());
        let body = res.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            set_cookie,
            body,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.send(method, path, body, &self.h.base.clone(), true)
            .await
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        let a = self
            .call(
                Method::POST,
                "/dashboard/api/session",
                Some(json!({"email": email, "password": password})),
            )
            .await;
        if a.status == 200 {
            let c = a.set_cookie.clone().expect("a session cookie");
            self.cookie = Some(c.split(';').next().unwrap().to_string());
            self.csrf = Some(a.body["csrf_token"].as_str().unwrap().to_string());
        }
        a
    }
}

async fn admin(h: &Harness, email: &str) {
    latchkey_server::dashboard::cli::create(&h.database_url, email, PASSWORD)
        .await
        .unwrap();
}

#[tokio::test]
async fn sign_in_sets_a_strict_cookie_and_refuses_wrong_passwords_then_locks() {
    let h = harness(None).await;
    admin(&h, "ops@example.com").await;
    let mut b = Browser::new(&h);

    let a = b.call(Method::GET, "/dashboard/api/overview", None).await;
    assert_eq!(a.status, 401, "{}", a.body);

    let a = b.sign_in("ops@example.com", "not the password").await;
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(a.body["error"]["message"], "Wrong email or password.");
    assert!(a.set_cookie.is_none());

    let a = b.sign_in("OPS@example.com", PASSWORD).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let cookie = a.set_cookie.unwrap();
    for attribute in [
        "latchkey_dashboard=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/dashboard",
    ] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    let a = b.call(Method::GET, "/dashboard/api/overview", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["days"].as_array().unwrap().len(), 14);

    // Five wrong passwords in a row lock the account, even against the right one.
    let mut other = Browser::new(&h);
    let mut last = None;
    for _ in 0..5 {
        last = Some(other.sign_in("ops@example.com", "guess").await);
    }
    let last = last.unwrap();
    assert_eq!(last.status, 429, "{}", last.body);
    assert!(
        last.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("locked"),
        "{}",
        last.body
    );
    let a = other.sign_in("ops@example.com", PASSWORD).await;
    assert_eq!(a.status, 429, "{}", a.body);
    assert!(a.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("latchkey admin create"));
    // Resetting the password lifts the lock.
    admin(&h, "ops@example.com").await;
    assert_eq!(other.sign_in("ops@example.com", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn writes_need_the_same_origin_and_the_csrf_token_and_sign_out_everywhere_ends_sessions() {
    let h = harness(None).await;
    admin(&h, "ops@example.com").await;
    let mut one = Browser::new(&h);
    let mut two = Browser::new(&h);
    assert_eq!(one.sign_in("ops@example.com", PASSWORD).await.status, 200);
    assert_eq!(two.sign_in("ops@example.com", PASSWORD).await.status, 200);

    let patch = json!({"connect_ui": {"defaultTheme": "dark"}});
    // From another origin, even with the cookie and the token: refused.
    let a = one
        .send(
            Method::PATCH,
            "/dashboard/api/environment/settings",
            Some(patch.clone()),
            "https://evil.example",
            true,
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    // Same origin without the token: refused.
    let a = one
        .send(
            Method::PATCH,
            "/dashboard/api/environment/settings",
            Some(patch.clone()),
            &h.base,
            false,
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    // A sign-in from another origin (login CSRF): refused.
    let a = Browser::new(&h)
        .send(
            Method::POST,
            "/dashboard/api/session",
            Some(json!({"email": "ops@example.com", "password": PASSWORD})),
            "https://evil.example",
            false,
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    // Nothing changed; the real page's write goes through.
    let r = h.backend(Method::GET, "/environment/settings", None).await;
    assert_eq!(r.body["data"]["connect_ui"]["defaultTheme"], "system");
    let a = one
        .call(
            Method::PATCH,
            "/dashboard/api/environment/settings",
            Some(patch),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["data"]["connect_ui"]["defaultTheme"], "dark");

    // A test webhook: refused without a destination, queued in the outbox with one.
    let a = one
        .call(
            Method::POST,
            "/dashboard/api/environment/test-webhook",
            None,
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    let a = one
        .call(
            Method::PATCH,
            "/dashboard/api/environment/settings",
            Some(json!({"webhook_url": "https://hooks.example.com/latchkey"})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = one
        .call(
            Method::POST,
            "/dashboard/api/environment/test-webhook",
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["queued"], 1);
    let queued = h
        .sql_i64("SELECT COUNT(*) FROM webhook_outbox WHERE body LIKE '%test-webhook%'")
        .await;
    assert_eq!(queued, 1);

    let a = one
        .call(Method::POST, "/dashboard/api/session/everywhere", None)
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
    for b in [&one, &two] {
        let a = b.call(Method::GET, "/dashboard/api/session", None).await;
        assert_eq!(a.status, 401, "{}", a.body);
    }
}

#[tokio::test]
async fn a_reveal_is_logged_without_the_secret_and_shown_masked_otherwise() {
    let h = harness(None).await;
    admin(&h, "ops@example.com").await;
    h.create_integration("gh", "github", None).await;
    let secret = "gho_dashboard_reveal_secret_123";
    let r = h
        .backend(
            Method::POST,
            "/connections",
            Some(json!({
                "provider_config_key": "gh",
                "connection_id": "c-1",
                "credentials": {"type": "OAUTH2", "access_token": secret, "expires_at": "2099-01-01T00:00:00Z"}
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut b = Browser::new(&h);
    assert_eq!(b.sign_in("ops@example.com", PASSWORD).await.status, 200);

    let a = b
        .call(Method::GET, "/dashboard/api/connections/gh/c-1", None)
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(!a.body.to_string().contains(secret), "{}", a.body);
    assert_eq!(a.body["credentials"]["type"], "OAUTH2");

    let a = b
        .call(
            Method::POST,
            "/dashboard/api/connections/gh/c-1/reveal",
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["access_token"], secret);

    // The reveal is in the log (who and which connection), never the value.
    let start = Instant::now();
    let entry = loop {
        let a = b
            .call(Method::GET, "/dashboard/api/logs?connection_id=c-1", None)
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        if let Some(e) = a.body["data"].as_array().and_then(|d| d.first()).cloned() {
            break e;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no log entry");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let id = entry["id"].as_str().unwrap();
    let a = b
        .call(Method::GET, &format!("/dashboard/api/logs/{id}"), None)
        .await;
    let text = a.body.to_string();
    assert!(
        text.contains("Credentials revealed in the dashboard"),
        "{text}"
    );
    assert!(text.contains("ops@example.com"), "{text}");
    assert!(!text.contains(secret), "{text}");
    let leaked = h
        .sql_i64(&format!(
            "SELECT COUNT(*) FROM activity_steps WHERE message LIKE '%{secret}%' OR detail LIKE '%{secret}%'"
        ))
        .await;
    assert_eq!(leaked, 0);
}

/// A provider with its own `integration_config` settings, one of them secret.
const CONFIGURED: &str = r#"
configured-oauth:
    display_name: Configured OAuth
    auth_mode: OAUTH2
    authorization_url: https://auth.example.com/authorize
    token_url: https://auth.example.com/token
    integration_config:
        tenant: {type: string, title: Tenant, order: 1}
        region: {type: string, title: Region, enum: [eu, us], default_value: eu, optional: true}
        signingSecret: {type: string, title: Signing secret, secret: true, optional: true}
"#;

#[tokio::test]
async fn the_edit_form_never_sees_secrets_and_keeps_the_saved_ones() {
    let h = harness(Some(CONFIGURED)).await;
    admin(&h, "ops@example.com").await;
    let mut b = Browser::new(&h);
    assert_eq!(b.sign_in("ops@example.com", PASSWORD).await.status, 200);

    // The catalog tells the form what to ask: the app's credentials and the provider's settings.
    let found = b
        .call(Method::GET, "/dashboard/api/catalog?q=configured", None)
        .await;
    let entry = &found.body[0];
    assert_eq!(entry["app_credentials"], true);
    let names: Vec<&str> = entry["integration_config"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tenant", "region", "signingSecret"]);
    assert_eq!(entry["integration_config"][2]["secret"], true);

    let created = b
        .call(
            Method::POST,
            "/dashboard/api/integrations",
            Some(json!({"provider": "configured-oauth", "unique_key": "cfg",
                "credentials": {"type": "OAUTH2", "client_id": "id-1", "client_secret": "app-secret-1", "scopes": "read"},
                "integration_config": {"tenant": "acme", "signingSecret": "signing-secret-1"}})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);

    const DETAIL: &str = "/dashboard/api/integrations/cfg";
    let d = b.call(Method::GET, DETAIL, None).await.body;
    assert_eq!(d["auth_mode"], "OAUTH2");
    assert_eq!(d["client_id"], "id-1");
    assert_eq!(d["client_secret_set"], true);
    assert_eq!(d["scopes"], "read");
    assert_eq!(
        d["config_values"],
        json!({"tenant": "acme", "region": "eu"})
    );
    assert_eq!(d["config_secrets_set"], json!(["signingSecret"]));
    let text = d.to_string();
    assert!(!text.contains("app-secret-1") && !text.contains("signing-secret-1"));

    // New scopes and one changed setting; the secret and the other settings are kept.
    let patched = b
        .call(
            Method::PATCH,
            "/dashboard/api/integrations/cfg",
            Some(json!({"client_id": "id-1", "scopes": "read,write",
                "integration_config": {"tenant": "globex"}})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let d = b.call(Method::GET, DETAIL, None).await.body;
    assert_eq!(d["scopes"], "read,write");
    assert_eq!(
        d["config_values"],
        json!({"tenant": "globex", "region": "eu"})
    );
    assert_eq!(d["config_secrets_set"], json!(["signingSecret"]));
    let rest = h
        .backend(
            Method::GET,
            "/integrations/cfg?include=credentials&include=webhook",
            None,
        )
        .await;
    let creds = &rest.body["data"]["credentials"];
    assert_eq!(creds["client_secret"], "app-secret-1");
    assert_eq!(creds["scopes"], "read,write");
    assert_eq!(rest.body["data"]["webhook_url"], Value::Null);

    // A value the schema refuses is the REST API's error, shown as it is.
    let refused = b
        .call(
            Method::PATCH,
            "/dashboard/api/integrations/cfg",
            Some(json!({"integration_config": {"region": "mars"}})),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Region"));
}
