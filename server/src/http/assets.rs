//! Static files: the Connect UI at `/connect/`, the SDK package at `/sdk/` (loadable cross-origin like
//! a CDN: `Access-Control-Allow-Origin: *`, `Cross-Origin-Resource-Policy: cross-origin`, and
//! `application/wasm` for the module), and generated provider logos.

use super::extract::Path;
use crate::AppState;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

pub fn logo_url(public_url: &str, provider: &str) -> String {
    format!("{public_url}/images/template-logos/{provider}.svg")
}

pub fn router(app: &AppState) -> Router<AppState> {
    let sdk = Router::new()
        .fallback_service(ServeDir::new(&app.config.sdk_dir))
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
    let connect = Router::new()
        .fallback_service(
            ServeDir::new(&app.config.connect_ui_dir).append_index_html_on_directories(true),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ));
    // `nest` does not match the bare `/connect/` (where the SDK points the iframe): serve its index
    // explicitly, with the same headers as the other Connect UI files.
    let index = Router::new()
        .route_service(
            "/connect/",
            ServeFile::new(app.config.connect_ui_dir.join("index.html")),
        )
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

/// A neutral monogram: logos of third parties are not ours to ship, and the Connect UI must render
/// offline.
async fn logo(Path(file): Path<String>) -> impl IntoResponse {
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
