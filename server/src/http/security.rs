//! Security headers as one middleware (kanidm's shape), decided by path:
//! - the Connect UI (`/connect/…`) must be framable by customer pages, so it gets `frame-ancestors *`
//!   (the iframe itself only talks to the exact parent origin) and a CSP allowing only its own scripts
//!   and wasm;
//! - everything else, including the OAuth pages, can never be framed (`frame-ancestors 'none'`) and
//!   is never cached or sent as a referrer.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub async fn headers(req: Request, next: Next) -> Response {
    let connect_ui = req.uri().path().starts_with("/connect/")
        && !req.uri().path().starts_with("/connect/session");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if connect_ui {
        h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' https: http: data:; connect-src * ws: wss:; frame-ancestors *; base-uri 'none'; form-action 'none'",
        ));
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
