//! `cargo xtask bench`'s Connect UI figures: cold loads of our Connect UI and of Nango's own
//! production build (`shared/reference/nango-connect-ui`, a benchmark peer only), alternating, in one
//! headless Chromium run.
//!
//! Both are opened the same way: a customer page on its own origin calls the official
//! `@nangohq/frontend`'s `openConnectUI()` (so the iframe, its URL and the `ready` handshake are
//! Nango's for both). Before each load the browser's HTTP cache is emptied; host names other than
//! loopback fail at once (Nango's page links Google Fonts). Nango's files are served gzip -9, as a CDN
//! would; ours by our server as it ships (brotli or gzip by `Accept-Encoding`).
//!
//! Per load, from the iframe's insertion: when the frame's document had arrived and when the frame
//! first requested a file (before any of the frame's code runs, mostly the browser's work: the floor
//! under every figure after it); the iframe's first paint and first contentful paint (the frame's
//! own Paint Timing entries), the `ready` message (both post it after their first render:
//! Nango from its home view's mount effect, ours once its first screen is in the DOM), and the bytes
//! on the wire of everything the frame loaded before `ready` (Resource Timing `transferSize`: headers
//! and compressed bodies). Prints one `connect-ui: ` line per figure: the medians, their ratio, and
//! the goal of issue 14.
//!
//! A third frame is loaded the same way in every round: the least a Connect UI can be (a document
//! with a spinner and a line of text, and one script of one line that posts `ready`). Its figures
//! are the floor this browser on this machine puts under any Connect UI, ours or Nango's.

use anyhow::Context as _;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use latchkey_tests::browser::Browser;
use latchkey_tests::connect_ui::UiStack;
use latchkey_tests::site::{CustomerSite, LoopbackServer};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Cold loads of each Connect UI.
const LOADS: usize = 15;

/// The customer page: `?ui=<Connect UI base URL>&api=<API base>&token=<session token>`.
const PAGE: &str = r#"<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Customer</title>
<main><h1>Customer</h1></main>
<script type="module">
import Nango from '/nango/index.js';
const q = new URLSearchParams(location.search);
const now = () => performance.timeOrigin + performance.now();
const nango = new Nango({ host: q.get('api'), connectSessionToken: q.get('token') });
window.benchOpenedAt = now();
nango.openConnectUI({ baseURL: q.get('ui'), apiURL: q.get('api'),
  onEvent: (e) => { if (e.type === 'ready' && !window.benchReadyAt) window.benchReadyAt = now(); } });
</script>
</html>"#;

/// The floor frame's document: what every Connect UI shows first (a spinner and a word), no code but
/// [`FLOOR_SCRIPT`].
const FLOOR_PAGE: &str = r#"<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Connect</title>
<style>body { margin: 0; font: 14px system-ui, sans-serif; } .boot { position: fixed; inset: 0; display: flex;
align-items: center; justify-content: center; gap: 8px; } .spinner { width: 32px; height: 32px; border: 3px solid #ccc;
border-top-color: #00b2e3; border-radius: 50%; }</style>
<script type="module" src="./ready.js"></script>
<div class="boot"><div class="spinner"></div><p>Loading</p></div>
</html>"#;

/// The floor frame's one file: `ready` as both Connect UIs post it, at once.
const FLOOR_SCRIPT: &str = "parent.postMessage({ type: 'ready' }, '*');\n";

/// Run inside the Connect UI's frame once it is `ready` (`arguments[0]`: the ready time, epoch ms):
/// its time origin, paint entries and the bytes it loaded before `ready`.
const IN_FRAME: &str = r#"const readyAt = arguments[0] - performance.timeOrigin;
const paint = (name) => { const e = performance.getEntriesByName(name)[0]; return e ? e.startTime : null; };
const nav = performance.getEntriesByType('navigation')[0];
const loaded = performance.getEntriesByType('resource').filter((r) => r.startTime <= readyAt);
return { origin: performance.timeOrigin, fp: paint('first-paint'), fcp: paint('first-contentful-paint'),
  html: nav.responseEnd, request: loaded.length ? Math.min(...loaded.map((r) => r.startTime)) : null,
  bytes: nav.transferSize + loaded.reduce((n, r) => n + r.transferSize, 0),
  cached: loaded.filter((r) => r.transferSize === 0 && r.encodedBodySize > 0).map((r) => r.name),
  files: 1 + loaded.length };"#;

#[derive(Default)]
struct Samples {
    /// The frame's document received, and its first request for a file: before any of the frame's
    /// code runs, mostly the browser's work (a renderer process for the cross-site frame).
    html: Vec<f64>,
    first_request: Vec<f64>,
    first_paint: Vec<f64>,
    contentful_paint: Vec<f64>,
    ready: Vec<f64>,
    bytes: Vec<f64>,
    files: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    latchkey_tests::require_web_build()?;
    let nango_dist = nango_dist()?;
    let stack = UiStack::start().await?;
    let token = stack.session(serde_json::json!({})).await?;
    let nango_ui = serve_gzipped(&nango_dist).await?;
    let floor_dir = tempfile::tempdir()?;
    std::fs::write(floor_dir.path().join("index.html"), FLOOR_PAGE)?;
    std::fs::write(floor_dir.path().join("ready.js"), FLOOR_SCRIPT)?;
    let floor_ui = serve_gzipped(floor_dir.path()).await?;
    let page = customer_page()?;
    let site = CustomerSite::serve_dir(page.path().to_owned()).await?;
    let browser = Browser::start_offline("bench/connect-ui").await?;

    let ours_url = format!("{}/connect/", stack.server.url());
    // On `localhost` like our server: every frame is cross-site to the page (its own process).
    let nango_url = format!("{}/", nango_ui.url().replace("127.0.0.1", "localhost"));
    let floor_url = format!("{}/", floor_ui.url().replace("127.0.0.1", "localhost"));
    let mut ours = Samples::default();
    let mut nango = Samples::default();
    let mut floor = Samples::default();
    let outcome = async {
        for round in 0..LOADS {
            // Rotate who goes first, so that none always follows another's load.
            let mut order: [(&str, &mut Samples); 3] = [
                (&ours_url, &mut ours),
                (&nango_url, &mut nango),
                (&floor_url, &mut floor),
            ];
            order.rotate_left(round % 3);
            for (ui, samples) in order {
                cold_load(&browser, &site, ui, stack.server.url(), &token, samples)
                    .await
                    .with_context(|| format!("loading {ui}"))?;
            }
        }
        anyhow::Ok(())
    }
    .await;
    if outcome.is_err() {
        browser.dump("failure").await;
    }
    browser.close().await;
    outcome?;
    nango_ui.stop().await;
    floor_ui.stop().await;

    println!(
        "connect-ui: {LOADS} cold loads each of ours, Nango's and the floor frame below, rotating which goes first, one headless Chromium; all opened by @nangohq/frontend's openConnectUI(); external hosts fail fast"
    );
    println!(
        "connect-ui: times from the iframe's insertion; `ready` is posted after the first render by both (Nango: home view mount effect; Latchkey: first screen in the DOM)"
    );
    println!(
        "connect-ui: the first two rows come before any of the frame's code runs (a process for the cross-site frame, its document, its first request for a file): the floor under the rest"
    );
    println!("connect-ui: | figure (median) | Latchkey | Nango | ratio | goal |");
    let row = |what: &str, ours: &[f64], nango: &[f64], unit: &str, goal: &str| {
        let (a, b) = (median(ours), median(nango));
        let fmt = |v: f64| {
            if unit == "KB" {
                format!("{:.1} KB", v / 1024.0)
            } else {
                format!("{v:.0} ms")
            }
        };
        println!(
            "connect-ui: | {what} | {} | {} | {:.2} | {goal} |",
            fmt(a),
            fmt(b),
            a / b
        );
    };
    row("document received", &ours.html, &nango.html, "ms", "—");
    row(
        "first file requested",
        &ours.first_request,
        &nango.first_request,
        "ms",
        "—",
    );
    row(
        "first paint",
        &ours.first_paint,
        &nango.first_paint,
        "ms",
        "≤ 0.40",
    );
    row(
        "first contentful paint",
        &ours.contentful_paint,
        &nango.contentful_paint,
        "ms",
        "≤ 0.40",
    );
    row("ready", &ours.ready, &nango.ready, "ms", "≤ 0.40");
    row(
        &format!(
            "bytes on the wire before ready ({} vs {} files)",
            ours.files, nango.files
        ),
        &ours.bytes,
        &nango.bytes,
        "KB",
        "≤ 70 KB, ≤ 0.42",
    );
    let (fp, ready) = (median(&floor.first_paint), median(&floor.ready));
    println!(
        "connect-ui: the floor (a frame with a spinner, a word and one 1-line script posting `ready`, loaded the same way): first paint {fp:.0} ms = {:.2} × Nango's, ready {ready:.0} ms = {:.2} × Nango's",
        fp / median(&nango.first_paint),
        ready / median(&nango.ready),
    );
    Ok(())
}

/// One cold load of the Connect UI at `ui` from the customer page; appends its figures.
async fn cold_load(
    browser: &Browser,
    site: &CustomerSite,
    ui: &str,
    api: &str,
    token: &str,
    samples: &mut Samples,
) -> anyhow::Result<()> {
    browser.clear_cache().await?;
    let mut url = reqwest::Url::parse(site.url())?;
    url.query_pairs_mut()
        .append_pair("ui", ui)
        .append_pair("api", api)
        .append_pair("token", token);
    browser.goto(url.as_str()).await?;
    let client = browser.client();
    let (opened, ready) = latchkey_tests::wait::until(
        "the ready event",
        Duration::from_secs(15),
        || async {
            let v = client
                .execute(
                    "return window.benchReadyAt ? [window.benchOpenedAt, window.benchReadyAt] : null;",
                    vec![],
                )
                .await?;
            Ok(v.as_array().and_then(|a| Some((a[0].as_f64()?, a[1].as_f64()?))))
        },
    )
    .await?;
    browser.enter_frame("#connect-ui").await?;
    // Paint entries are queued after the frame is presented: wait for them (they may follow `ready`).
    let frame: Value = latchkey_tests::wait::until(
        "the frame's paint timing",
        Duration::from_secs(10),
        || async {
            let v = client
                .execute(IN_FRAME, vec![serde_json::json!(ready)])
                .await?;
            Ok((!v["fcp"].is_null() && !v["fp"].is_null()).then_some(v))
        },
    )
    .await?;
    browser.leave_frames().await?;
    let cached = frame["cached"].as_array().map_or(0, Vec::len);
    anyhow::ensure!(cached == 0, "a load was not cold: {}", frame["cached"]);
    let origin = frame["origin"].as_f64().context("timeOrigin")?;
    let since_open = |key: &str| frame[key].as_f64().map(|t| origin + t - opened);
    samples.html.push(since_open("html").context("document")?);
    samples
        .first_request
        .push(since_open("request").context("no file loaded before ready")?);
    samples
        .first_paint
        .push(since_open("fp").context("first paint")?);
    samples
        .contentful_paint
        .push(since_open("fcp").context("first contentful paint")?);
    samples.ready.push(ready - opened);
    samples
        .bytes
        .push(frame["bytes"].as_f64().context("transfer size")?);
    samples.files = frame["files"].as_u64().unwrap_or(0) as usize;
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Nango's build: `LATCHKEY_NANGO_CONNECT_UI`, else `shared/reference/nango-connect-ui/dist` beside
/// the workspace (or beside its parent, for a git worktree one level down).
fn nango_dist() -> anyhow::Result<PathBuf> {
    let root = latchkey_tests::workspace_root();
    let candidates: Vec<PathBuf> = match std::env::var_os("LATCHKEY_NANGO_CONNECT_UI") {
        Some(dir) => vec![dir.into()],
        None => ["..", "../.."]
            .iter()
            .map(|up| root.join(up).join("shared/reference/nango-connect-ui/dist"))
            .collect(),
    };
    candidates
        .into_iter()
        .find(|d| d.join("index.html").is_file())
        .context("Nango's Connect UI build not found: set LATCHKEY_NANGO_CONNECT_UI to its dist/")
}

/// The customer page and the official SDK's `dist/` under `/nango/`, in a temporary folder.
fn customer_page() -> anyhow::Result<tempfile::TempDir> {
    let sdk = latchkey_tests::workspace_root().join("node_modules/@nangohq/frontend/dist");
    anyhow::ensure!(
        sdk.is_dir(),
        "{} is missing: npm ci (package.json pins @nangohq/frontend)",
        sdk.display()
    );
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("index.html"), PAGE)?;
    std::fs::create_dir(dir.path().join("nango"))?;
    for entry in std::fs::read_dir(&sdk)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "js") {
            std::fs::copy(
                &path,
                dir.path().join("nango").join(path.file_name().unwrap()),
            )?;
        }
    }
    Ok(dir)
}

/// Serves the files under `dir` from memory, gzip -9 when the request accepts it.
async fn serve_gzipped(dir: &Path) -> anyhow::Result<LoopbackServer> {
    let mut files = HashMap::new();
    collect(dir, dir, &mut files)?;
    let files = Arc::new(files);
    let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let files = files.clone();
        async move { respond(&files, uri.path(), &headers) }
    });
    LoopbackServer::serve(app).await
}

type Files = HashMap<String, (Vec<u8>, Vec<u8>)>;

fn collect(base: &Path, dir: &Path, files: &mut Files) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(base, &path, files)?;
            continue;
        }
        let body = std::fs::read(&path)?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&body)?;
        let rel = path
            .strip_prefix(base)?
            .to_string_lossy()
            .replace('\\', "/");
        files.insert(format!("/{rel}"), (body, gz.finish()?));
    }
    Ok(())
}

fn respond(files: &Files, path: &str, headers: &HeaderMap) -> Response {
    let path = if path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    let Some((body, gz)) = files.get(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let content_type = match path.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("css") => "text/css",
        _ => "application/octet-stream",
    };
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    if gzip {
        (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CONTENT_ENCODING, "gzip"),
                (header::VARY, "accept-encoding"),
            ],
            gz.clone(),
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body.clone()).into_response()
    }
}
