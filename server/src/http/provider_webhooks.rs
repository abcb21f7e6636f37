//! `POST /webhook/{environment}/{key}` (Nango's route): webhooks a provider sends about an
//! integration, at the URL `GET /integrations/{key}?include=webhook` names (`webhook_url`; the
//! environment is its public `uuid`, never its name or a key).
//!
//! Routed today: a GitHub App with user authorization (`CUSTOM`, `github-app-oauth`), whose
//! `installation` event finishes the connection left pending while an organization owner approved
//! the installation ([`crate::oauth::github_app::finish_pending`]). Every delivery must carry
//! GitHub's `x-hub-signature-256` over the exact body with the app's webhook secret (unlike Nango,
//! which checks it only when present): an unsigned event could otherwise point a user's connection
//! at someone else's installation. Other integrations' webhooks are acknowledged and dropped
//! (Nango forwards them to the customer; Latchkey does not yet).

use super::error::ApiError;
use super::extract::Path;
use super::Success;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::ErrorCode;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhook/{environment}/{key}", post(receive))
}

/// Where a provider sends the webhooks of `integration` (`None` for the providers whose webhooks
/// Latchkey does not route, and for an environment from before public ids).
pub fn url(
    app: &AppState,
    env: &crate::environment::Environment,
    integration: &crate::storage::IntegrationRow,
) -> Option<String> {
    let routed = super::integrations::provider_auth_mode(app, &integration.provider)
        .is_some_and(|m| *m == AuthMode::Custom);
    let uuid = env.uuid.as_deref()?;
    routed.then(|| {
        let mut url = url::Url::parse(&app.config.public_url).expect("public URL parses");
        url.path_segments_mut()
            .expect("an http(s) URL")
            .pop_if_empty()
            .extend(["webhook", uuid, &integration.unique_key]);
        url.to_string()
    })
}

fn unsigned() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::WebhookInvalidSignature,
        "The webhook's x-hub-signature-256 is missing or does not match the app's webhook secret.",
    )
}

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` with `secret` (compared in
/// constant time by `hmac`).
fn signed(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

async fn receive(
    State(app): State<AppState>,
    Path((environment, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Success>, ApiError> {
    let env = app
        .store
        .environment_by_uuid(&environment)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "No environment has this webhook URL.",
            )
        })?;
    let integration = app
        .store
        .integration(env.id, &key)
        .await?
        .ok_or_else(|| super::integrations::integration_not_found(&key))?;
    let provider = app
        .catalog
        .get(&integration.provider)
        .and_then(|e| e.provider.as_ref())
        .filter(|p| p.auth_mode == AuthMode::Custom);
    let Some(provider) = provider else {
        return Ok(Json(Success { success: true }));
    };
    let secret = crate::oauth::github_app::webhook_secret(&app.cipher, &integration)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !signed(secret.expose().as_bytes(), &body, signature) {
        tracing::warn!(integration = %key, "provider webhook refused: bad or missing signature");
        return Err(unsigned());
    }
    let event: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
        ApiError::invalid_body(Vec::new(), "The webhook body is not JSON.".to_string())
    })?;
    let kind = headers.get("x-github-event").and_then(|v| v.to_str().ok());
    if kind.is_none_or(|k| k == "installation") {
        crate::oauth::github_app::finish_pending(
            &app.flows(),
            &env,
            &integration,
            provider,
            &event,
        )
        .await
        .map_err(super::credential_auth::mode_error)?;
    }
    Ok(Json(Success { success: true }))
}

#[cfg(test)]
mod tests {
    use super::signed;

    #[test]
    fn signature_is_the_hmac_of_the_exact_body() {
        // GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(signed(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            Some(header)
        ));
        assert!(!signed(
            b"It's a Secret to Everybody",
            b"Hello, World?",
            Some(header)
        ));
        assert!(!signed(b"another secret", b"Hello, World!", Some(header)));
        assert!(!signed(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            None
        ));
        assert!(!signed(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            Some("sha1=00")
        ));
    }
}
