//! Headless Chromium over WebDriver: a `chromedriver` process group plus a fantoccini session.
//!
//! Chromium runs with the flags this machine needs (`--no-sandbox` as root, no background networking on
//! a closed network, …) and a fresh profile per browser, so tests share no cookies. Screenshots go to
//! `$LATCHKEY_TEST_SCREENSHOTS/<test>/NN-<step>.png` (default `<workspace>/tests/artifacts/`).
//! Dropping a [`Browser`] kills chromedriver and every Chromium process with it.

use crate::process::ProcessGroup;
use crate::wait;
use anyhow::Context as _;
use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, WindowHandle};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Chromium flags required on this machine kind (see shared/TOOLCHAIN.md).
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
];

/// Default time limit for finding an element.
pub const ELEMENT_WAIT: Duration = Duration::from_secs(15);

/// The longest chromedriver may spend on one page load or one script (its own defaults: 300 s, 30 s).
const COMMAND_LIMIT: Duration = Duration::from_secs(30);

fn chromedriver_path() -> PathBuf {
    std::env::var_os("LATCHKEY_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromedriver".into())
}

fn chromium_path() -> PathBuf {
    std::env::var_os("LATCHKEY_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into())
}

/// A running `chromedriver` in its own process group.
pub struct ChromeDriver {
    url: String,
    group: ProcessGroup,
}

impl ChromeDriver {
    /// Starts chromedriver on a free port and waits (≤ 15 s) until `/status` says it is ready.
    pub async fn start() -> anyhow::Result<Self> {
        let path = chromedriver_path();
        anyhow::ensure!(
            path.exists(),
            "{} not found (apt-get install chromium chromium-driver)",
            path.display()
        );
        let port = crate::free_port()?;
        let mut cmd = Command::new(&path);
        cmd.arg(format!("--port={port}"));
        // chromedriver's own log of every command and CDP message, to see what a stalled command
        // waits on: `LATCHKEY_CHROMEDRIVER_LOG=/tmp/cd.log`.
        if let Some(log) = std::env::var_os("LATCHKEY_CHROMEDRIVER_LOG") {
            cmd.arg("--verbose")
                .arg(format!("--log-path={}", PathBuf::from(log).display()));
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut group = ProcessGroup::spawn("chromedriver", cmd)?;
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let status_url = format!("{url}/status");
        wait::until("chromedriver /status", Duration::from_secs(15), || {
            let req = http.get(&status_url).timeout(Duration::from_secs(2)).send();
            let exited = group.try_exit_status();
            async move {
                if let Some(status) = exited {
                    anyhow::bail!("chromedriver exited early: {status}");
                }
                let body: serde_json::Value = match req.await {
                    Ok(res) => res.json().await?,
                    Err(_) => return Ok(None),
                };
                Ok(body["value"]["ready"]
                    .as_bool()
                    .unwrap_or(false)
                    .then_some(()))
            }
        })
        .await?;
        Ok(Self { url, group })
    }

    /// WebDriver endpoint, e.g. `http://127.0.0.1:9515`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// chromedriver's pid, which is also the process group Chromium runs in.
    pub fn pid(&self) -> u32 {
        self.group.pid()
    }
}

/// A headless Chromium session with its own profile; owns the chromedriver it runs under.
pub struct Browser {
    client: Client,
    screenshots: PathBuf,
    shot_counter: AtomicU32,
    started: Instant,
    // Field order is drop order: the session handle first, then chromedriver (killing Chromium), then
    // the profile directory.
    driver: ChromeDriver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a Chromium session. `test_name` names the screenshot folder.
    pub async fn start(test_name: &str) -> anyhow::Result<Self> {
        Self::start_with(test_name, false).await
    }

    /// Like [`Browser::start`]; with `block_popups`, Chromium keeps its popup blocker (chromedriver
    /// turns it off by default), to see what a user's browser does to a popup opened without a gesture.
    pub async fn start_with(test_name: &str, block_popups: bool) -> anyhow::Result<Self> {
        Self::start_with_flags(test_name, block_popups, &[]).await
    }

    /// A browser whose system colour scheme is dark (`prefers-color-scheme: dark` on every page).
    pub async fn start_dark(test_name: &str) -> anyhow::Result<Self> {
        Self::start_with_flags(
            test_name,
            false,
            &[
                "--force-dark-mode",
                "--blink-settings=preferredColorScheme=0",
            ],
        )
        .await
    }

    /// A browser on a closed network where that fails fast: every host name but `localhost` (and
    /// `127.0.0.1`) fails to resolve at once, instead of waiting for a DNS timeout (benchmarks load
    /// pages that link third-party fonts).
    pub async fn start_offline(test_name: &str) -> anyhow::Result<Self> {
        Self::start_with_flags(
            test_name,
            false,
            &["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"],
        )
        .await
    }

    async fn start_with_flags(
        test_name: &str,
        block_popups: bool,
        extra_flags: &[&str],
    ) -> anyhow::Result<Self> {
        let chromium = chromium_path();
        anyhow::ensure!(
            chromium.exists(),
            "{} not found (apt-get install chromium)",
            chromium.display()
        );
        // Two crypto backends are linked (see Cargo.toml); rustls needs to be told which one to use.
        // An `Err` only means a provider is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let driver = ChromeDriver::start().await?;
        let profile = tempfile::Builder::new()
            .prefix("latchkey-chromium-")
            .tempdir()?;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| (*s).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.extend(extra_flags.iter().map(|s| (*s).to_owned()));
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        // chromedriver's default page-load limit is 300 s: a command stuck behind a navigation that
        // never ends would hold every later command (and the failure screenshot) that long. Bound it.
        caps.insert(
            "timeouts".into(),
            json!({ "pageLoad": COMMAND_LIMIT.as_millis() as u64, "script": COMMAND_LIMIT.as_millis() as u64 }),
        );
        caps.insert(
            "goog:chromeOptions".into(),
            if block_popups {
                json!({ "binary": chromium, "args": args, "excludeSwitches": ["disable-popup-blocking"] })
            } else {
                json!({ "binary": chromium, "args": args })
            },
        );
        let client = tokio::time::timeout(
            Duration::from_secs(30),
            ClientBuilder::rustls()
                .context("WebDriver client")?
                .capabilities(caps)
                .connect(driver.url()),
        )
        .await
        .context("timed out starting a Chromium session")?
        .context("starting a Chromium session")?;
        let root = std::env::var_os("LATCHKEY_TEST_SCREENSHOTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::workspace_root().join("tests").join("artifacts"));
        let screenshots = root.join(test_name);
        // Start from an empty folder so files of an earlier run cannot be mistaken for this one's.
        let _ = std::fs::remove_dir_all(&screenshots);
        std::fs::create_dir_all(&screenshots)
            .with_context(|| format!("creating {}", screenshots.display()))?;
        Ok(Self {
            client,
            screenshots,
            shot_counter: AtomicU32::new(0),
            started: Instant::now(),
            driver,
            _profile: profile,
        })
    }

    /// chromedriver's pid (= the process group killed on drop).
    pub fn driver_pid(&self) -> u32 {
        self.driver.pid()
    }

    /// Empties Chromium's HTTP cache (DevTools' `Network.clearBrowserCache`, through chromedriver),
    /// so that the next page load is a cold one.
    pub async fn clear_cache(&self) -> anyhow::Result<()> {
        let session = self
            .client
            .session_id()
            .await?
            .context("no WebDriver session")?;
        let url = format!("{}/session/{session}/goog/cdp/execute", self.driver.url());
        let res = reqwest::Client::new()
            .post(url)
            .json(&json!({"cmd": "Network.clearBrowserCache", "params": {}}))
            .timeout(Duration::from_secs(10))
            .send()
            .await?;
        let status = res.status();
        anyhow::ensure!(
            status.is_success(),
            "clearing the cache: {status} {}",
            res.text().await.unwrap_or_default()
        );
        Ok(())
    }

    /// The fantoccini client, for anything the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The colour of the viewport's pixel at (`x`, `y`) CSS pixels, as Chromium paints it (with every
    /// frame composited): a WebDriver screenshot decoded by the browser's own PNG decoder (in the
    /// current frame's document, which must allow script).
    pub async fn pixel(&self, x: u32, y: u32) -> anyhow::Result<[u8; 3]> {
        let png = tokio::time::timeout(Duration::from_secs(10), self.client.screenshot())
            .await
            .context("timed out taking a screenshot")??;
        let rgb = self
            .client
            .execute_async(
                r#"const [bytes, x, y, done] = arguments;
createImageBitmap(new Blob([new Uint8Array(bytes)], { type: 'image/png' })).then((bitmap) => {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  done(Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3)));
}, (e) => done(String(e)));"#,
                vec![json!(png), json!(x), json!(y)],
            )
            .await
            .context("decoding the screenshot")?;
        let channels: Vec<u8> = serde_json::from_value(rgb.clone())
            .with_context(|| format!("decoding the screenshot: {rgb}"))?;
        channels
            .try_into()
            .map_err(|v| anyhow::anyhow!("not a pixel: {v:?}"))
    }

    /// Notes a step with the seconds since the browser started, on stderr: the test harness shows it
    /// only for a failing test, where it names the step that stalled.
    pub fn note(&self, step: &str) {
        eprintln!("[{:6.1} s] {step}", self.started.elapsed().as_secs_f64());
    }

    /// Saves a PNG of the current window as `NN-<step>.png`; failures are reported, not fatal.
    pub async fn screenshot(&self, step: &str) {
        let n = self.shot_counter.fetch_add(1, Ordering::Relaxed);
        let path = self.screenshots.join(format!("{n:02}-{step}.png"));
        match tokio::time::timeout(Duration::from_secs(10), self.client.screenshot()).await {
            Ok(Ok(png)) => {
                if let Err(e) = std::fs::write(&path, png) {
                    eprintln!("screenshot {}: {e}", path.display());
                }
            }
            Ok(Err(e)) => eprintln!("screenshot {step}: {e}"),
            Err(_) => eprintln!("screenshot {step}: timed out"),
        }
    }

    /// On failure: a screenshot plus the HTML of the current frame (`NN-<step>.html`) and of every
    /// window's top document, so a red test explains itself.
    pub async fn dump(&self, step: &str) {
        self.screenshot(step).await;
        let n = self.shot_counter.fetch_add(1, Ordering::Relaxed);
        let save = |suffix: String, html: String| {
            let path = self
                .screenshots
                .join(format!("{n:02}-{step}-{suffix}.html"));
            if let Err(e) = std::fs::write(&path, html) {
                eprintln!("dump {}: {e}", path.display());
            }
        };
        if let Ok(Ok(html)) =
            tokio::time::timeout(Duration::from_secs(5), self.client.source()).await
        {
            save("current-frame".into(), html);
        }
        let Ok(Ok(current)) =
            tokio::time::timeout(Duration::from_secs(5), self.client.window()).await
        else {
            return;
        };
        let windows = self.client.windows().await.unwrap_or_default();
        for (i, w) in windows.into_iter().enumerate() {
            if self.client.switch_to_window(w).await.is_ok() {
                if let Ok(Ok(html)) =
                    tokio::time::timeout(Duration::from_secs(5), self.client.source()).await
                {
                    save(format!("window{i}"), html);
                }
            }
        }
        let _ = self.client.switch_to_window(current).await;
    }

    /// Navigates to `url` (≤ 30 s).
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        tokio::time::timeout(Duration::from_secs(30), self.client.goto(url))
            .await
            .with_context(|| format!("timed out loading {url}"))?
            .with_context(|| format!("loading {url}"))
    }

    /// Waits (≤ `limit`) for an element matching the CSS selector in the current frame.
    pub async fn wait_for_within(&self, css: &str, limit: Duration) -> anyhow::Result<Element> {
        self.client
            .wait()
            .at_most(limit)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("waiting {limit:?} for `{css}`"))
    }

    /// Waits (≤ [`ELEMENT_WAIT`]) for an element matching the CSS selector in the current frame.
    pub async fn wait_for(&self, css: &str) -> anyhow::Result<Element> {
        self.wait_for_within(css, ELEMENT_WAIT).await
    }

    /// Waits for the element, then clicks it.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let el = self.wait_for(css).await?;
        el.click()
            .await
            .with_context(|| format!("clicking `{css}`"))
    }

    /// Clicks `css`, an element whose click removes the frame it is in (the Connect UI's Finish
    /// button). chromedriver answers such a click with "target frame detached" when the frame is gone
    /// before its answer, which means the click landed; any other error fails. What the click did is
    /// for the caller to check (the `close` event, the iframe gone).
    pub async fn click_closing_frame(&self, css: &str) -> anyhow::Result<()> {
        match self.click(css).await {
            Err(e)
                if e.chain()
                    .any(|c| c.to_string().contains("target frame detached")) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    /// Waits for the input, then types `text` into it.
    /// In the provider popup: signs in on oidc-provider's development login page (any password is
    /// accepted) and continues on its consent page, with a screenshot of each.
    pub async fn complete_local_provider_login(&self, login: &str) -> anyhow::Result<()> {
        self.type_into("input[name=\"login\"]", login).await?;
        self.type_into("input[name=\"password\"]", "correct horse battery staple")
            .await?;
        self.screenshot("provider-login").await;
        self.click("button[type=\"submit\"]").await?;
        self.wait_for("input[name=\"prompt\"][value=\"consent\"]")
            .await?;
        self.screenshot("provider-consent").await;
        self.click_and_leave("button[type=\"submit\"]").await
    }

    /// Clicks `css` from a script that runs after this command has returned, so WebDriver does not
    /// wait on the page the click leads to. For the click that ends a popup (the provider's last
    /// submit: the callback page then closes the window): a WebDriver click waits for the navigation
    /// it starts, and a command whose window goes away before it is answered can stall chromedriver
    /// (seen with a key press into a removed iframe, see [`Browser::press_key_leaving_frame`]).
    pub async fn click_and_leave(&self, css: &str) -> anyhow::Result<()> {
        self.wait_for(css).await?;
        self.client
            .execute(
                "const el = document.querySelector(arguments[0]); setTimeout(() => el.click(), 0);",
                vec![json!(css)],
            )
            .await
            .with_context(|| format!("clicking `{css}`"))?;
        Ok(())
    }

    pub async fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let el = self.wait_for(css).await?;
        el.send_keys(text)
            .await
            .with_context(|| format!("typing into `{css}`"))
    }

    /// Waits (≤ `limit`) until the text of the element matching `css` satisfies `accept`; returns it.
    /// On timeout the error carries the last text seen.
    pub async fn wait_for_text(
        &self,
        css: &str,
        limit: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let last = std::sync::Mutex::new(None::<String>);
        let (accept, last_ref) = (&accept, &last);
        let outcome = wait::until(&format!("the text of `{css}`"), limit, || async move {
            let el = match self.client.find(Locator::Css(css)).await {
                Ok(el) => el,
                Err(e) if e.is_no_such_element() => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let text = el.text().await?;
            let done = accept(&text);
            *last_ref.lock().unwrap_or_else(|p| p.into_inner()) = Some(text.clone());
            Ok(done.then_some(text))
        })
        .await;
        let last = last.into_inner().unwrap_or_else(|p| p.into_inner());
        outcome.with_context(|| match last {
            Some(text) => format!("last text of `{css}`: {text:?}"),
            None => format!("`{css}` never appeared"),
        })
    }

    /// Presses `key` in `el` (inside a frame) and releases it from the top-level document: for a key
    /// that removes the iframe it is pressed in (Escape in the Connect UI). A whole key press sent into
    /// the frame (`send_keys`) can leave chromedriver waiting forever for the answer to its key-up once
    /// the frame is gone (chromedriver's log: the `Input.dispatchKeyEvent` of the key-up is never
    /// answered). Leaves the current window's top-level document selected.
    pub async fn press_key_leaving_frame(&self, el: &Element, key: char) -> anyhow::Result<()> {
        el.click().await.context("focusing the element")?;
        self.client
            .perform_actions(
                KeyActions::new("keyboard".into()).then(KeyAction::Down { value: key }),
            )
            .await
            .context("pressing the key")?;
        self.leave_frames().await?;
        self.client
            .release_actions()
            .await
            .context("releasing the key")
    }

    /// Switches into the iframe matching `css` (waiting for it first).
    pub async fn enter_frame(&self, css: &str) -> anyhow::Result<()> {
        let frame = self.wait_for(css).await?;
        frame
            .enter_frame()
            .await
            .with_context(|| format!("entering frame `{css}`"))
    }

    /// Back to the top-level document of the current window.
    pub async fn leave_frames(&self) -> anyhow::Result<()> {
        // Switching to the current window resets the frame context to its top-level document.
        let handle = self.client.window().await?;
        self.client
            .switch_to_window(handle)
            .await
            .context("back to the top-level document")
    }

    /// The current window handle.
    pub async fn window(&self) -> anyhow::Result<WindowHandle> {
        Ok(self.client.window().await?)
    }

    /// Waits (≤ `limit`) for a window that is not in `known` to open, and switches to it.
    pub async fn switch_to_new_window(
        &self,
        known: &[WindowHandle],
        limit: Duration,
    ) -> anyhow::Result<WindowHandle> {
        let handle = wait::until("a new browser window (popup)", limit, || async {
            let windows = self.client.windows().await?;
            Ok(windows.into_iter().find(|w| !known.contains(w)))
        })
        .await?;
        self.client
            .switch_to_window(handle.clone())
            .await
            .context("switching to the popup")?;
        Ok(handle)
    }

    /// All open window handles.
    pub async fn windows(&self) -> anyhow::Result<Vec<WindowHandle>> {
        Ok(self.client.windows().await?)
    }

    /// Switches to `handle`.
    pub async fn switch_to(&self, handle: &WindowHandle) -> anyhow::Result<()> {
        self.client
            .switch_to_window(handle.clone())
            .await
            .context("switching window")
    }

    /// Ends the WebDriver session politely (≤ 10 s); dropping afterwards kills what is left.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.clone().close()).await;
    }
}
