//! What the OAuth flow records in the activity log (issue 17), beside the types it reads. Every message and
//! detail is chosen field by field — never a token, key, code, verifier, password, or a URL with its
//! query.

use crate::activity::{self, safe_url, Op, Outcome, Subject};
use crate::http::api_auth::Submitter;
use crate::oauth::flow::{CallbackQuery, Completed, FlowFailure, Started};
use crate::AppState;
use latchkey_protocol::ErrorCode;
use serde_json::json;

/// The log id of the OAuth attempt of `state`: both halves of the flow (start, callback) derive it,
/// without the state itself being recoverable from it.
fn oauth_id(state: &str) -> String {
    format!(
        "oa_{}",
        &crate::crypto::sha256_hex(&format!("activity:{state}"))[..32]
    )
}

/// `GET /oauth/connect/{key}` ran [`crate::oauth::flow::start`]: the attempt is pending while the
/// user is at the provider, or failed before leaving.
pub fn oauth_started(
    app: &AppState,
    submitter: &Submitter,
    key: &str,
    started: &Result<Started, FlowFailure>,
) {
    let subject = Subject {
        integration: Some(key.to_string()),
        connection_id: submitter.chosen_connection(),
        end_user_id: submitter
            .end_user()
            .as_deref()
            .and_then(activity::end_user_id),
    };
    let state = started.as_ref().ok().and_then(|s| {
        url::Url::parse(&s.authorize_url)
            .ok()?
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
    });
    let op = match &state {
        Some(state) => {
            app.activity
                .begin_with_id(oauth_id(state), submitter.env.id, "oauth", subject)
        }
        None => app.activity.begin(submitter.env.id, "oauth", subject),
    };
    op.info("OAuth flow started", Some(json!({ "integration": key })));
    match started {
        Ok(s) => op.info(
            "Redirecting the user to the provider's authorization page",
            Some(json!({ "authorization_url": safe_url(&s.authorize_url) })),
        ),
        Err(f) => {
            op.error(
                format!("The flow could not start: {}", f.message),
                Some(json!({ "code": f.code.as_str() })),
            );
            op.finish(Outcome::Failure);
        }
    }
}

/// `GET /oauth/callback` arrived: records what the provider sent (never the code or the state) and
/// returns the attempt's handle, when the query names one.
pub fn oauth_callback(app: &AppState, query: &CallbackQuery) -> Option<Op> {
    let state = query.state.as_deref().filter(|s| !s.is_empty())?;
    let op = app.activity.resume(oauth_id(state));
    op.info(
        "Callback received from the provider",
        Some(json!({
            "has_code": query.code.as_deref().is_some_and(|c| !c.is_empty()),
            "error": query.error,
        })),
    );
    if let Some(error) = &query.error {
        op.error(
            format!(
                "The provider refused the authorization: {error}{}",
                query
                    .error_description
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
            Some(json!({ "error": error, "error_description": query.error_description })),
        );
    }
    Some(op)
}

/// The callback's result: the token exchange and the saved connection, or the failing step.
pub fn oauth_completed(op: Option<Op>, result: &Result<Completed, FlowFailure>) {
    let Some(op) = op else { return };
    match result {
        Ok(done) => {
            op.info("Token exchange succeeded", None);
            op.info(
                if done.created {
                    "Connection created"
                } else {
                    "Connection updated"
                },
                Some(json!({ "connection_id": done.report.connection_id })),
            );
            op.finish_on(Outcome::Success, Some(done.report.connection_id.clone()));
        }
        Err(f) => {
            // The provider's refusal is already a step of its own (with its error text).
            if f.code != ErrorCode::CallbackErr || !f.message.starts_with("The provider refused") {
                let what = match f.code {
                    ErrorCode::TokenErr => "Token exchange failed",
                    _ => "The callback was refused",
                };
                op.error(
                    format!("{what}: {}", f.message),
                    Some(json!({ "code": f.code.as_str() })),
                );
            }
            let connection = f.report.as_ref().map(|r| r.connection_id.clone());
            op.finish_on(Outcome::Failure, connection);
        }
    }
}
