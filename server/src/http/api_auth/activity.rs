//! What a credential submission (API key, basic, client credentials) records in the activity log (issue 17), beside the types it reads. Every message and
//! detail is chosen field by field — never a token, key, code, verifier, password, or a URL with its
//! query.

use super::Prepared;
use crate::activity::{self, Op, Outcome, Subject};
use crate::http::error::ApiError;
use crate::AppState;
use serde_json::json;

/// An API key or basic credential submission passed its checks; verification and saving follow.
pub fn credentials_submitted(app: &AppState, prepared: &Prepared<'_>) -> Op {
    let submitter = &prepared.submitter;
    let op = app.activity.begin(
        submitter.env.id,
        "credentials",
        Subject {
            integration: Some(prepared.integration.unique_key.clone()),
            connection_id: submitter.chosen_connection(),
            end_user_id: submitter
                .end_user()
                .as_deref()
                .and_then(activity::end_user_id),
        },
    );
    op.info(
        "Credentials submitted",
        Some(json!({ "auth_mode": prepared.provider.auth_mode.as_str() })),
    );
    op
}

/// The provider's verification request refused the submitted credentials (or could not be made).
pub fn verification_failed(op: &Op, e: &impl std::fmt::Display) {
    op.error(format!("Verification failed: {e}"), None);
    op.finish(Outcome::Failure);
}

/// The credentials were accepted (verified, when the provider declares a verification request) and
/// the connection was — or could not be — saved. Returns `saved`.
pub fn credentials_saved(
    op: &Op,
    saved: Result<axum::Json<latchkey_protocol::connection::AuthResult>, ApiError>,
) -> Result<axum::Json<latchkey_protocol::connection::AuthResult>, ApiError> {
    match &saved {
        Ok(done) => {
            op.info("Credentials accepted", None);
            op.info("Connection saved", None);
            op.finish_on(Outcome::Success, Some(done.connection_id.clone()));
        }
        Err(e) => {
            op.error(format!("Could not save the connection: {e}"), None);
            op.finish(Outcome::Failure);
        }
    }
    saved
}
