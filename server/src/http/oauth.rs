//! `GET /oauth/connect/:key` (popup target) and `GET /oauth/callback` (provider redirect target).
//!
//! The popup is authorized by a connect session token or, in Nango's legacy mode, by the
//! environment's public key (`public_key` + `connection_id`, and `hmac` when the environment enables
//! HMAC — reference §4.9; session-token calls are never HMAC-checked, as in Nango).
//!
//! Both answer in the popup, so failures are HTML pages a person can read, and are also reported on
//! the two result channels (WebSocket frame to `ws_client_id`; `postMessage` to the opener at the exact
//! origin recorded when the flow started — never `'*'`).

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
use latchkey_protocol::params::WS_CLIENT_ID;
use latchkey_protocol::ws::WsMessage;
use latchkey_protocol::ErrorCode;

mod page;

pub fn router() -> Router<AppState> {
    let router = Router::new()
        .route("/oauth/connect/{key}", get(connect))
        .route("/oauth/callback", get(callback));
    // The WebSocket result channel lives at `/` (the root handler); a configured
    // `LATCHKEY_WEBSOCKETS_PATH` serves it there as well.
    match crate::ws::path_from_env() {
        path if path == "/" => router,
        path => router.route(&path, get(websocket)),
    }
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

/// The exact origin of the page that navigated the popup here, from the `Referer` header.
fn opener_origin(headers: &HeaderMap) -> Option<String> {
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
    let ws_client_id = single(&pairs, WS_CLIENT_ID).map(str::to_string);
    let report = ReportTo {
        provider_config_key: key.clone(),
        ws_client_id: ws_client_id.clone(),
        opener_origin: opener_origin(&headers),
        ..Default::default()
    };
    let fail = |status: StatusCode, code: ErrorCode, message: String| {
        report_failure(
            &app,
            status,
            FlowFailure {
                code,
                message,
                report: Some(Box::new(report.clone())),
            },
        )
    };
    // A connect session, or (legacy) the environment's public key with the caller's connection id.
    let submitter = match super::api_auth::submitter(&app, &pairs).await {
        Ok(found) => found,
        Err(e) => {
            let (status, code, message) = e.summary();
            return fail(status, code, message);
        }
    };
    if let Err(e) = super::api_auth::check_hmac(&submitter, &key, &pairs) {
        let (status, code, message) = e.summary();
        return fail(status, code, message);
    }
    // With allowed origins set, a page elsewhere may not run a flow (nor receive its result).
    if let Some(origin) = &report.opener_origin {
        if !crate::settings::origin_allowed(&submitter.env.settings, origin, &app.config.public_url)
        {
            let report = ReportTo {
                opener_origin: None,
                ..report.clone()
            };
            return report_failure(
                &app,
                StatusCode::FORBIDDEN,
                FlowFailure {
                    code: ErrorCode::Forbidden,
                    message: format!("{origin} is not an allowed origin of this environment."),
                    report: Some(Box::new(report)),
                },
            );
        }
    }
    if !submitter.allows(&key) {
        return fail(
            StatusCode::BAD_REQUEST,
            ErrorCode::IntegrationNotAllowed,
            format!("Integration '{key}' is not allowed by this session."),
        );
    }
    let started = flow::start(
        &app,
        StartRequest {
            env: &submitter.env,
            session: submitter.session.as_ref(),
            connection_id: submitter.connection_id(),
            provider_config_key: &key,
            ws_client_id,
            opener_origin: report.opener_origin.clone(),
            params: query_params(&pairs, "params"),
            authorization_params: query_params(&pairs, "authorization_params"),
            credentials: query_params(&pairs, "credentials"),
        },
    )
    .await;
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
            report_failure(
                &app,
                status,
                FlowFailure {
                    report: Some(Box::new(report.clone())),
                    ..f
                },
            )
        }
    }
}

fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::UnknownErr => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::UnknownProviderConfig => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    }
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
    match flow::complete(&app, query, binding).await {
        Ok(done) => {
            let r = &done.report;
            if let Some(id) = &r.ws_client_id {
                app.ws.notify(
                    id,
                    WsMessage::Success {
                        provider_config_key: r.provider_config_key.clone(),
                        connection_id: r.connection_id.clone(),
                        is_pending: false,
                    },
                );
            }
            let message = CallbackMessage::Success {
                provider_config_key: r.provider_config_key.clone(),
                connection_id: r.connection_id.clone(),
            };
            page::render(StatusCode::OK, r.opener_origin.as_deref(), &message, None)
        }
        Err(f) => {
            let status = status_for(f.code);
            report_failure(&app, status, f)
        }
    }
}

/// Reports a failure on the WebSocket (when the attempt is known) and renders the error page, which
/// posts it to the opener.
fn report_failure(app: &AppState, status: StatusCode, failure: FlowFailure) -> Response {
    let report = failure.report.clone().map(|r| *r).unwrap_or_default();
    if let Some(id) = &report.ws_client_id {
        app.ws.notify(
            id,
            WsMessage::Error {
                provider_config_key: report.provider_config_key.clone(),
                connection_id: report.connection_id.clone(),
                error_type: failure.code.as_str().into(),
                error_desc: failure.message.clone(),
            },
        );
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
