//! Static files: the Connect UI at `/connect/`, the SDK package at `/sdk/` (loadable cross-origin like
//! a CDN: `Access-Control-Allow-Origin: *`, `Cross-Origin-Resource-Policy: cross-origin`, and
//! `application/wasm` for the module), and generated provider logos.
//!
//! The files come from the binary itself ([`super::embedded`]) unless `LATCHKEY_CONNECT_UI_DIR` /
//! `LATCHKEY_SDK_DIR` name a folder (development: serve a fresh build without rebuilding the server).
//! Either way a request gets the brotli or gzip copy made at build time when its `Accept-Encoding`
//! allows (`Vary: Accept-Encoding`).
//!
//! Caching: the Connect UI's `assets/` hold content-hashed names (`cargo xtask build`), so browsers
//! keep them a year without asking (`immutable`); everything else (`index.html`, which names them,
//! the translations, and the whole SDK, whose `/sdk/index.js` is a stable public URL) is `no-cache`:
//! revalidated on each use through its `ETag` (embedded) or `Last-Modified` (disk).

use super::embedded::Bundle;
use super::extract::Path as UrlPath;
use crate::AppState;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::path::{Path, PathBuf};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

pub fn logo_url(public_url: &str, provider: &str) -> String {
    format!("{public_url}/images/template-logos/{provider}.svg")
}

pub fn router(app: &AppState) -> Router<AppState> {
    let sdk_source = source(
        app.config.sdk_dir.as_deref(),
        Bundle::sdk(),
        "pkg",
        "LATCHKEY_SDK_DIR",
        "SDK",
    );
    let connect_source = source(
        app.config.connect_ui_dir.as_deref(),
        Bundle::connect_ui(),
        "dist/connect-ui",
        "LATCHKEY_CONNECT_UI_DIR",
        "Connect UI",
    );
    let sdk = files(&sdk_source, false)
        .layer(SetResponseHeaderLayer::overriding(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ));
    let connect =
        files(&connect_source, true).layer(axum::middleware::from_fn(connect_cache_policy));
    // `nest` does not match the bare `/connect/` (where the SDK points the iframe): serve its index
    // explicitly, with the same headers as the other Connect UI files.
    let index = match connect_source {
        Source::Disk(dir) => Router::new()
            .route_service(
                "/connect/",
                ServeFile::new(dir.join("index.html"))
                    .precompressed_br()
                    .precompressed_gzip(),
            )
            .layer(vary_accept_encoding()),
        Source::Embedded(bundle) => Router::new().route(
            "/connect/",
            get(move |headers: HeaderMap| async move { bundle.serve("", &headers).await }),
        ),
        Source::Missing => Router::new(),
    }
    .layer(SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    ));
    Router::new()
        .merge(index)
        .nest("/sdk", sdk)
        .nest("/connect", connect)
        .route(
            "/connect",
            get(|| async { axum::response::Redirect::permanent("/connect/") }),
        )
        .route("/images/template-logos/{file}", get(logo))
}

/// The files of one source, for nesting under its prefix.
pub(crate) fn files(source: &Source, index_on_directories: bool) -> Router<AppState> {
    match source {
        Source::Disk(dir) => Router::new()
            .fallback_service(
                ServeDir::new(dir)
                    .append_index_html_on_directories(index_on_directories)
                    .precompressed_br()
                    .precompressed_gzip(),
            )
            .layer(vary_accept_encoding()),
        Source::Embedded(bundle) => {
            let bundle = *bundle;
            Router::new().fallback(
                move |method: Method, uri: Uri, headers: HeaderMap| async move {
                    if method != Method::GET && method != Method::HEAD {
                        return StatusCode::METHOD_NOT_ALLOWED.into_response();
                    }
                    bundle.serve(uri.path(), &headers).await
                },
            )
        }
        Source::Missing => Router::new().fallback(super::error::not_found),
    }
}

/// Folder of the Connect UI's content-hashed files (see `xtask/src/publish.rs`).
const HASHED_ASSETS: &str = "/assets/";

/// `Cache-Control` of the Connect UI: a year and `immutable` for a hashed asset that was found,
/// `no-cache` (revalidate) for the rest, 404s included (a name may exist after the next deploy).
async fn connect_cache_policy(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let hashed = request.uri().path().starts_with(HASHED_ASSETS);
    let mut response = next.run(request).await;
    let policy = if hashed && response.status().is_success() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    response
}

/// ServeDir picks a precompressed copy by `Accept-Encoding` but does not say so to caches.
pub(crate) fn vary_accept_encoding() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        header::VARY,
        HeaderValue::from_static("accept-encoding"),
    )
}

/// Where a set of static files comes from.
pub(crate) enum Source {
    /// A folder (the `LATCHKEY_*_DIR` override, or the workspace's build output in a checkout).
    Disk(PathBuf),
    /// Compiled into the binary.
    Embedded(Bundle),
    /// Neither: the routes answer 404 (said once at start).
    Missing,
}

/// The override folder if set, else the embedded copy, else `dev_default` when it exists (a debug
/// binary built before the web parts, run from the workspace).
pub(crate) fn source(
    dir: Option<&Path>,
    embedded: Option<Bundle>,
    dev_default: &str,
    variable: &str,
    what: &str,
) -> Source {
    if let Some(dir) = dir {
        if !dir.is_dir() {
            tracing::warn!(dir = %dir.display(), "{variable} is not a folder: the {what} will answer 404");
        }
        return Source::Disk(dir.to_path_buf());
    }
    if let Some(bundle) = embedded {
        return Source::Embedded(bundle);
    }
    if Path::new(dev_default).is_dir() {
        tracing::info!("no {what} embedded in this binary: serving ./{dev_default}");
        return Source::Disk(dev_default.into());
    }
    tracing::warn!(
        "this binary was built without the {what} (run `cargo xtask build`) and {variable} is not set: its routes will answer 404"
    );
    Source::Missing
}

/// A neutral monogram: logos of third parties are not ours to ship, and the Connect UI must render
/// offline.
async fn logo(UrlPath(file): UrlPath<String>) -> impl IntoResponse {
    let name = file.strip_suffix(".svg").unwrap_or(&file);
    let letter = name
        .chars()
        .find(|c| c.is_ascii_alphanumeric())
        .unwrap_or('?')
        .to_ascii_uppercase();
    let hue = name
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
        % 360;
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="hsl({hue},55%,38%)"/><text x="32" y="42" font-family="system-ui,sans-serif" font-size="30" font-weight="600" text-anchor="middle" fill="#fff">{letter}</text></svg>"##
    );
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        svg,
    )
}
