//! Security headers as one middleware (kanidm's shape), decided by path:
//! - the Connect UI (`/connect/…`) must be framable by customer pages, so it gets `frame-ancestors *`
//!   — or only the environment's allowed origins when it lists some — (the iframe itself only talks
//!   to the exact parent origin) and a CSP allowing only its own scripts and wasm;
//! - everything else, including the OAuth pages, can never be framed (`frame-ancestors 'none'`) and
//!   is never cached or sent as a referrer (the Connect UI sends only its origin: `strict-origin`).

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub async fn headers(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let connect_ui = req.uri().path().starts_with("/connect/")
        && !req.uri().path().starts_with("/connect/session");
    let ancestors = if connect_ui {
        Some(connect_ui_frame_ancestors(&app).await)
    } else {
        None
    };
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The Connect UI's OAuth popup may tell the server its opener by `Referer` (origin only: a
    // connect link's URL holds the session token); every other page sends no referrer at all.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(if connect_ui {
            "strict-origin"
        } else {
            "no-referrer"
        }),
    );
    if let Some(ancestors) = ancestors {
        let csp = format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' https: http: data:; connect-src * ws: wss:; frame-ancestors {ancestors}; base-uri 'none'; form-action 'none'"
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.entry(header::CONTENT_SECURITY_POLICY).or_insert(v);
        }
    } else {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(
                "default-src 'none'; frame-ancestors 'none'",
            ));
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    res
}

/// The `dev` environment's allowed origins as `frame-ancestors` sources (`*` when unreadable: the
/// Connect UI still talks only to its exact parent origin).
async fn connect_ui_frame_ancestors(app: &AppState) -> String {
    match app
        .store
        .environment_by_name(crate::environment::DEV_ENVIRONMENT)
        .await
    {
        Ok(Some(row)) => crate::settings::frame_ancestors(
            &crate::settings::from_stored_or_default(&row.settings, &app.cipher, &row.name),
        ),
        _ => "*".into(),
    }
}
