//! Redirect mode: an OAuth flow without a popup, for mobile webviews and popup-hostile browsers.
//!
//! The customer's page navigates the top window to `GET /oauth/connect/:key?…&return_url=<page>`; at
//! the end of the flow the server sends the browser back to `<page>?latchkey_result=<id>`, and the
//! page redeems the id once at `POST /oauth/result/:id` for the outcome (`{providerConfigKey,
//! connectionId}` or a typed error). The URL carries no token, credential or connection id: only a
//! random 256-bit id, stored as its SHA-256, that expires after ten minutes and works once (the
//! same atomic take as results kept for WebSockets, so it holds across replicas).
//!
//! Rule for `return_url` (the safe choice): its origin must be one of the environment's
//! `allowed_origins`. An environment that lists none refuses redirect mode altogether, since
//! otherwise any page holding a session token could send users (and their outcome ids) anywhere.

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_protocol::events::ConnectPayload;
use latchkey_protocol::params::REDIRECT_RESULT;
use latchkey_protocol::settings::EnvironmentSettings;
use latchkey_protocol::ws::WsMessage;
use latchkey_protocol::{ApiError, ApiErrorBody, ErrorCode};

/// How long an outcome waits for its page to redeem it.
const RESULT_TTL_SECS: i64 = 600;
/// Longest `return_url` accepted (it is stored sealed with the attempt).
const MAX_RETURN_URL: usize = 2048;

/// `raw` as a return URL this environment accepts, or why not (a sentence for the user).
pub fn check_return_url(settings: &EnvironmentSettings, raw: &str) -> Result<String, String> {
    if settings.allowed_origins.is_empty() {
        return Err(
            "Redirect mode needs the environment's allowed origins to be set \
                    (`allowed_origins`): the return URL must be on one of them."
                .into(),
        );
    }
    let url = url::Url::parse(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && raw.len() <= MAX_RETURN_URL)
        .ok_or_else(|| "The return URL is not an absolute http(s) URL.".to_string())?;
    let origin = url.origin().ascii_serialization();
    if !settings.allowed_origins.contains(&origin) {
        return Err(format!(
            "{origin} is not an allowed origin of this environment."
        ));
    }
    Ok(url.to_string())
}

/// Keeps `frame` (the flow's outcome) under a new single-use id and sends the browser back to
/// `return_url` with that id.
pub async fn hand_back(app: &AppState, return_url: &str, frame: &WsMessage) -> Response {
    let id = crate::crypto::random_hex_256();
    let text = serde_json::to_string(frame).expect("wire frames serialize");
    let kept = app
        .store
        .save_oauth_result(
            &storage_key(&id),
            &text,
            app.clock.now_unix() + RESULT_TTL_SECS,
            app.clock.now_unix(),
        )
        .await;
    let Ok(mut url) = url::Url::parse(return_url) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Err(e) = kept {
        tracing::error!(error = %e, "could not keep a redirect-mode result");
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "The connection's outcome could not be saved; please try again.",
        )
            .into_response();
    }
    url.query_pairs_mut().append_pair(REDIRECT_RESULT, &id);
    (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response()
}

/// `POST /oauth/result/:id`: the outcome, once. 200 `{providerConfigKey, connectionId, isPending}`;
/// 400 `{"error":{"code": <the flow's error type>, "message"}}`; 404 `not_found` for an id that is
/// unknown, already redeemed or expired.
pub async fn redeem(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    let well_formed = id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let frame = if well_formed {
        app.store
            .take_oauth_result(&storage_key(&id), app.clock.now_unix())
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "could not read a redirect-mode result");
                None
            })
    } else {
        None
    };
    match frame.and_then(|f| serde_json::from_str::<WsMessage>(&f).ok()) {
        Some(WsMessage::Success {
            provider_config_key,
            connection_id,
            is_pending,
        }) => Json(ConnectPayload {
            provider_config_key,
            connection_id,
            is_pending: Some(is_pending),
        })
        .into_response(),
        Some(WsMessage::Error {
            error_type,
            error_desc,
            ..
        }) => error(StatusCode::BAD_REQUEST, error_type, error_desc),
        _ => error(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound.as_str().into(),
            "This result id is unknown, was already used or has expired.".into(),
        ),
    }
}

fn error(status: StatusCode, code: String, message: String) -> Response {
    let body = ApiErrorBody {
        error: ApiError {
            code,
            message,
            errors: None,
        },
    };
    (status, Json(body)).into_response()
}

/// Where an outcome is kept: beside the WebSocket results, under the id's hash (a leaked database
/// row cannot be redeemed).
fn storage_key(id: &str) -> String {
    format!("redirect:{}", crate::crypto::sha256_hex(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_url_must_be_on_an_allowed_origin() {
        let open = EnvironmentSettings::default();
        assert!(check_return_url(&open, "https://app.example.com/back").is_err());
        let set = EnvironmentSettings {
            allowed_origins: vec!["https://app.example.com".into()],
            ..Default::default()
        };
        assert_eq!(
            check_return_url(&set, "https://app.example.com/back?tab=1").as_deref(),
            Ok("https://app.example.com/back?tab=1")
        );
        for bad in [
            "https://evil.example.com/back",
            "https://app.example.com.evil.example/back",
            "http://app.example.com/back",
            "javascript:alert(1)",
            "/back",
        ] {
            assert!(check_return_url(&set, bad).is_err(), "{bad}");
        }
    }
}
