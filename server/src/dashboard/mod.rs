//! The dashboard (issue 17): a Leptos app (the `dashboard/` crate, built into `dist/dashboard/`)
//! served at `/dashboard/`, and its private cookie API at `/dashboard/api/…` ([`api`], signed in
//! through [`auth`]). Kept out of `http/`: the cookie API is not part of the public REST API nor of
//! its OpenAPI document, and nothing but the dashboard's own page may call it.
//!
//! The app's files come from the binary ([`crate::http::embedded`]) unless `LATCHKEY_DASHBOARD_DIR`
//! names a folder, exactly as the Connect UI's do. Its pages get a CSP of their own: scripts and
//! wasm from here only, requests to here only, and frames of the Connect UI (the theme preview).

pub mod api;
pub mod auth;
pub mod cli;

use crate::http::assets::{self, Source};
use crate::http::embedded::Bundle;
use crate::AppState;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::routing::get;
use axum::Router;

pub fn router(app: &AppState) -> Router<AppState> {
    let source = assets::source(
        app.config.dashboard_dir.as_deref(),
        Bundle::dashboard(),
        "dist/dashboard",
        "LATCHKEY_DASHBOARD_DIR",
        "dashboard",
    );
    let index = match &source {
        Source::Disk(dir) => Router::new().route_service(
            "/dashboard/",
            tower_http::services::ServeFile::new(dir.join("index.html"))
                .precompressed_br()
                .precompressed_gzip(),
        ),
        Source::Embedded(bundle) => {
            let bundle = *bundle;
            Router::new().route(
                "/dashboard/",
                get(move |headers: HeaderMap| async move { bundle.serve("", &headers).await }),
            )
        }
        Source::Missing => Router::new(),
    };
    let csp = csp(&app.config.connect_ui_url());
    let pages = index
        .nest("/dashboard", assets::files(&source, true))
        .layer(assets::vary_accept_encoding())
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let csp = csp.clone();
                async move {
                    let mut res = next.run(req).await;
                    let h = res.headers_mut();
                    h.insert(header::CONTENT_SECURITY_POLICY, csp);
                    // Revalidated on every load (the file names carry no hash).
                    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                    res
                }
            },
        ));
    Router::new().merge(api::router()).merge(pages).route(
        "/dashboard",
        get(|| async { axum::response::Redirect::permanent("/dashboard/") }),
    )
}

/// The dashboard pages' policy; the Connect UI's origin may be framed (the theme preview).
fn csp(connect_ui_url: &str) -> HeaderValue {
    let connect = url::Url::parse(connect_ui_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let value = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; frame-src 'self' {connect}; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'none'"
    );
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("default-src 'self'"))
}
