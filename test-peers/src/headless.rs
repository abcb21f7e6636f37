//! A browserless end user: follows an OAuth flow with plain HTTP (a cookie jar, redirects followed
//! one by one) and answers oidc-provider's development login and consent forms.
//!
//! It exercises the server ⇄ provider half of the flow (authorization request, PKCE, callback, token
//! exchange) without Chromium, so those tests are fast and do not depend on the Connect UI build.

use anyhow::Context as _;
use reqwest::{StatusCode, Url};
use std::sync::Arc;
use std::time::Duration;

/// Where a flow stopped: the first answer that was neither a redirect nor a provider form.
#[derive(Debug)]
pub struct FlowEnd {
    pub url: Url,
    pub status: StatusCode,
    pub body: String,
}

/// An HTTP user agent with its own cookie jar.
pub struct HeadlessUser {
    http: reqwest::Client,
}

const MAX_HOPS: usize = 25;

impl HeadlessUser {
    pub fn new() -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .cookie_provider(Arc::new(reqwest::cookie::Jar::default()))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()?;
        Ok(Self { http })
    }

    /// One GET with this user's cookies, redirects not followed (e.g. delivering a callback URL
    /// stopped by [`Self::authorize_until`] to another server).
    pub async fn get(&self, url: &str) -> anyhow::Result<FlowEnd> {
        let res = self.http.get(url).send().await?;
        Ok(FlowEnd {
            url: res.url().clone(),
            status: res.status(),
            body: res.text().await?,
        })
    }

    /// Opens `start_url` and follows redirects, signing in at the provider as `login` and consenting,
    /// until a final page (normally Latchkey's callback page).
    pub async fn authorize(&self, start_url: &str, login: &str) -> anyhow::Result<FlowEnd> {
        self.authorize_until(start_url, login, |_| false).await
    }

    /// Like [`Self::authorize`], but stops without requesting it at the first redirect target for
    /// which `stop` is true (e.g. the callback URL, so a test can tamper with it or deliver it from
    /// another user agent). The returned `FlowEnd` then has that URL, the redirect's status and no body.
    pub async fn authorize_until(
        &self,
        start_url: &str,
        login: &str,
        stop: impl Fn(&Url) -> bool,
    ) -> anyhow::Result<FlowEnd> {
        let mut url = Url::parse(start_url)?;
        let mut form: Option<Vec<(&str, &str)>> = None;
        for _ in 0..MAX_HOPS {
            let req = match form.take() {
                Some(fields) => self.http.post(url.clone()).form(&fields),
                None => self.http.get(url.clone()),
            };
            let res = req
                .send()
                .await
                .with_context(|| format!("requesting {url}"))?;
            let status = res.status();
            if status.is_redirection() {
                let location = res
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .with_context(|| format!("{status} without Location from {url}"))?;
                url = url.join(location)?;
                if stop(&url) {
                    return Ok(FlowEnd {
                        url,
                        status,
                        body: String::new(),
                    });
                }
                continue;
            }
            let body = res.text().await?;
            // oidc-provider's dev interaction pages post back to their own URL.
            if body.contains(r#"name="prompt" value="login""#) {
                form = Some(vec![
                    ("prompt", "login"),
                    ("login", login),
                    ("password", "any password"),
                ]);
                continue;
            }
            if body.contains(r#"name="prompt" value="consent""#) {
                form = Some(vec![("prompt", "consent")]);
                continue;
            }
            return Ok(FlowEnd { url, status, body });
        }
        anyhow::bail!("the flow did not settle within {MAX_HOPS} hops (last URL {url})")
    }
}
