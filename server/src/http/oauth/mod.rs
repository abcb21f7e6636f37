//! `GET /oauth/connect/:key` (popup target) and `GET /oauth/callback` (provider redirect target).
//!
//! The popup is authorized by a connect session token or, in Nango's legacy mode, by the
//! environment's public key (`public_key` + `connection_id`, and `hmac` when the environment enables
//! HMAC — reference §4.9; session-token calls are never HMAC-checked, as in Nango).
//!
//! Both answer in the popup, so failures are HTML pages a person can read, and are also reported on
//! the two result channels (WebSocket frame to `ws_client_id`; `postMessage` to the opener at the exact
//! origin recorded when the flow started — never `'*'`).

pub mod activity;

use super::extract::query_params;
use super::extract::{Path, Query};
use crate::oauth::flow::{self, CallbackQuery, FlowFailure, ReportTo, StartRequest};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use latchkey_protocol::events::{CallbackErrorPayload, CallbackMessage};
use latchkey_protocol::params::{OPENER_ORIGIN, RETURN_URL, WS_CLIENT_ID};
use latchkey_protocol::ws::WsMessage;
use latchkey_protocol::ErrorCode;

mod page;
mod redirect;

pub fn router(app: &AppState) -> Router<AppState> {
    // The WebSocket result channel lives at `/` (the root handler); a configured
    // `LATCHKEY_WEBSOCKETS_PATH` serves it there as well.
    let router = match app.config.websockets_path.as_str() {
        "/" => Router::new(),
        path => Router::new().route(path, get(websocket)),
    };
    let router = router
        .route("/", get(super::root))
        .route(
            &latchkey_protocol::routes::keyed(latchkey_protocol::routes::OAUTH_CONNECT),
            get(connect),
        )
        .route("/oauth/callback", get(callback))
        .route("/app-auth/connect", get(app_auth));
    // Per IP address, for anonymous callers: each start writes an attempt row and each socket holds a
    // task and a hub entry, so one client must not flood either.
    match super::rate_limit::Limiter::configured(app, super::rate_limit::KeyMode::Ip) {
        Some(limiter) => router.layer(axum::middleware::from_fn_with_state(
            limiter,
            super::rate_limit::limit,
        )),
        None => router,
    }
}

/// Redirect mode's `POST /oauth/result/:id`, called by the customer's page: an API route (CORS).
pub fn result_router() -> Router<AppState> {
    Router::new().route("/oauth/result/{id}", axum::routing::post(redirect::redeem))
}

async fn websocket(
    State(app): State<AppState>,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    crate::ws::upgrade(State(app.ws.clone()), upgrade).await
}

fn single<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The exact origin of the page that opened the popup: the `opener_origin` our SDK and Connect UI
/// send, else (the official `@nangohq/frontend` sends nothing) the `Referer` header's origin. A value
/// that is not exactly an origin counts as absent: with neither, the callback page posts nothing and
/// only the WebSocket reports the result.
fn opener_origin(pairs: &[(String, String)], headers: &HeaderMap) -> Option<String> {
    if let Some(explicit) = single(pairs, OPENER_ORIGIN) {
        return crate::settings::is_exact_origin(explicit).then(|| explicit.to_owned());
    }
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let origin = url::Url::parse(referer).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

async fn connect(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    // Only an id this server issued to a socket; and it is reported to only once the caller has
    // authenticated (below), so an anonymous request cannot store or relay a result for it.
    let ws_client_id = single(&pairs, WS_CLIENT_ID)
        .filter(|id| app.ws.is_issued(id))
        .map(str::to_string);
    let mut report = ReportTo {
        provider_config_key: key.clone(),
        opener_origin: opener_origin(&pairs, &headers),
        ..Default::default()
    };
    // A connect session, or (legacy) the environment's public key with the caller's connection id.
    let submitter = match super::api_auth::submitter(&app, &pairs).await {
        Ok(found) => found,
        Err(e) => {
            let (status, code, message) = e.summary();
            return report_failure(&app, status, failure(code, message, &report)).await;
        }
    };
    if let Err(e) = super::api_auth::check_hmac(&app, &submitter, &key, &pairs) {
        let (status, code, message) = e.summary();
        return report_failure(&app, status, failure(code, message, &report)).await;
    }
    report.ws_client_id = ws_client_id.clone();
    let settings = &submitter.env.settings;
    // Redirect mode: the page to return to must be on an allowed origin (never an open redirect:
    // a refused one gets the error page, not a redirect).
    if let Some(raw) = single(&pairs, RETURN_URL) {
        match redirect::check_return_url(settings, raw) {
            Ok(url) => report.return_url = Some(url),
            Err(message) => {
                let f = failure(ErrorCode::InvalidReturnUrl, message, &report);
                return report_failure(&app, StatusCode::BAD_REQUEST, f).await;
            }
        }
    }
    // With allowed origins set, a flow must say where it comes from, and come from one of them:
    // otherwise a page elsewhere could run it (and receive its result).
    let refused_origin = match &report.opener_origin {
        Some(origin) => !crate::settings::origin_allowed(settings, origin, &app.config.public_url),
        None => !settings.allowed_origins.is_empty(),
    };
    if refused_origin {
        let message = match &report.opener_origin {
            Some(origin) => format!("{origin} is not an allowed origin of this environment."),
            None => "This environment only accepts flows from its allowed origins, and this one \
                     did not say where it comes from (no opener origin, no Referer)."
                .to_owned(),
        };
        let report = ReportTo {
            opener_origin: None,
            ..report.clone()
        };
        let f = failure(ErrorCode::Forbidden, message, &report);
        return report_failure(&app, StatusCode::FORBIDDEN, f).await;
    }
    let started = flow::start(
        &app.flows(),
        StartRequest {
            env: &submitter.env,
            session: submitter.session.as_ref(),
            connection_id: submitter.connection_id(),
            provider_config_key: &key,
            allowed: submitter.allows(&key),
            ws_client_id,
            opener_origin: report.opener_origin.clone(),
            return_url: report.return_url.clone(),
            params: query_params(&pairs, "params"),
            authorization_params: query_params(&pairs, "authorization_params"),
            credentials: query_params(&pairs, "credentials"),
        },
    )
    .await;
    activity::oauth_started(&app, &submitter, &key, &started);
    match started {
        Ok(s) => {
            let secure = app.config.public_url.starts_with("https://");
            let cookie = cookie::Cookie::build(s.binding_cookie)
                .http_only(true)
                .secure(secure)
                .same_site(cookie::SameSite::Lax)
                .path("/")
                .max_age(cookie::time::Duration::seconds(flow::ATTEMPT_TTL_SECS))
                .build();
            let mut res =
                (StatusCode::FOUND, [(header::LOCATION, s.authorize_url)]).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Err(f) => {
            let status = status_for(f.code);
            let f = FlowFailure {
                report: Some(Box::new(report.clone())),
                ..f
            };
            report_failure(&app, status, f).await
        }
    }
}

fn failure(code: ErrorCode, message: String, report: &ReportTo) -> FlowFailure {
    FlowFailure {
        code,
        message,
        report: Some(Box::new(report.clone())),
    }
}

fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::UnknownErr => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::UnknownProviderConfig => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// `GET /app-auth/connect`, a GitHub App's setup URL (Nango's route): GitHub's return from the
/// install page finishes the flow as the callback does. An installation approved outside a flow (an
/// organization owner's approval, a repository added later) carries no `state`: the user is sent back
/// to GitHub, as Nango does.
async fn app_auth(
    State(app): State<AppState>,
    Query(query): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    let stateless = query.state.as_deref().unwrap_or_default().is_empty();
    let action = query.extra.get("setup_action").map(String::as_str);
    if stateless && matches!(action, Some("install" | "update")) {
        return axum::response::Redirect::to("https://github.com").into_response();
    }
    callback(State(app), Query(query), headers).await
}

async fn callback(
    State(app): State<AppState>,
    Query(query): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    let cookies: Vec<cookie::Cookie<'static>> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| {
            cookie::Cookie::split_parse(v.to_string())
                .filter_map(Result::ok)
                .collect::<Vec<_>>()
        })
        .collect();
    let binding = |name: &str| {
        cookies
            .iter()
            .find(|c| c.name() == name)
            .map(|c| c.value().to_string())
    };
    let logged = activity::oauth_callback(&app, &query);
    let result = flow::complete(&app.flows(), query, binding).await;
    activity::oauth_completed(logged, &result);
    crate::metrics::oauth_attempt(match &result {
        Ok(_) => "success",
        Err(f) => f.code.as_str(),
    });
    match result {
        Ok(done) => {
            let r = &done.report;
            let frame = WsMessage::Success {
                provider_config_key: r.provider_config_key.clone(),
                connection_id: r.connection_id.clone(),
                is_pending: done.pending,
            };
            if let Some(id) = &r.ws_client_id {
                app.ws.notify(id, frame.clone());
            }
            if let Some(url) = &r.return_url {
                return redirect::hand_back(&app, url, &frame).await;
            }
            let message = CallbackMessage::Success {
                provider_config_key: r.provider_config_key.clone(),
                connection_id: r.connection_id.clone(),
            };
            page::render(StatusCode::OK, r.opener_origin.as_deref(), &message, None)
        }
        Err(f) => {
            let status = status_for(f.code);
            // What and why, for the operator; the query (code, state) is never logged.
            let report = f.report.as_deref();
            tracing::warn!(
                code = f.code.as_str(),
                integration = report.map_or("", |r| r.provider_config_key.as_str()),
                connection = report.map_or("", |r| r.connection_id.as_str()),
                status = status.as_u16(),
                "OAuth callback refused: {}",
                f.message
            );
            report_failure(&app, status, f).await
        }
    }
}

/// Reports a failure on the WebSocket (when the attempt is known), then either sends a
/// redirect-mode browser back to its page with the outcome's id, or renders the error page, which
/// posts it to the opener.
async fn report_failure(app: &AppState, status: StatusCode, failure: FlowFailure) -> Response {
    let report = failure.report.clone().map(|r| *r).unwrap_or_default();
    let frame = WsMessage::Error {
        provider_config_key: report.provider_config_key.clone(),
        connection_id: report.connection_id.clone(),
        error_type: failure.code.as_str().into(),
        error_desc: failure.message.clone(),
    };
    if let Some(id) = &report.ws_client_id {
        app.ws.notify(id, frame.clone());
    }
    if let Some(url) = &report.return_url {
        return redirect::hand_back(app, url, &frame).await;
    }
    let message = CallbackMessage::Error {
        payload: CallbackErrorPayload {
            message: failure.message.clone(),
            error_type: failure.code.as_str().into(),
        },
    };
    page::render(
        status,
        report.opener_origin.as_deref(),
        &message,
        Some(&failure),
    )
}
