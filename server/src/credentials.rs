//! Fresh credentials for a connection (`GET /connection/:id`, the proxy, `latchkey connection get`):
//! the renewal gate of [`crate::connections::renewal`] run with the strategies that ask providers for
//! new credentials. The strategies use the connections domain's helpers (its config reader, errors,
//! expiry rules), so the domain cannot name them; this module, above both, hands them over.

use crate::connections::{renewal, RefreshError, Renewer, Renewing, Strategies};
use crate::storage::ConnectionRow;
use futures_util::future::BoxFuture;
use latchkey_protocol::connection::Credentials;

const STRATEGIES: Strategies = Strategies { renewable, renew };

/// Returns the connection's credentials, renewed first when they expire soon (or when `force`).
pub async fn fresh(
    renewer: &Renewer<'_>,
    row: ConnectionRow,
    force: bool,
) -> Result<(ConnectionRow, Credentials), RefreshError> {
    renewal::fresh(renewer, &STRATEGIES, row, force).await
}

/// OAuth2 tokens are refreshed, client-credentials (OAUTH2_CC) tokens fetched again, and the
/// credential modes that expire renewed by their own rules.
fn renewable(c: &Credentials) -> bool {
    matches!(c, Credentials::OAuth2 { .. } | Credentials::OAuth2Cc { .. })
        || crate::credential_modes::renewable(c)
}

fn renew<'a>(r: &'a Renewing<'a>) -> BoxFuture<'a, Result<Credentials, RefreshError>> {
    Box::pin(async move {
        match r.current {
            Credentials::OAuth2Cc { .. } => crate::oauth::client_credentials::renewed(r).await,
            Credentials::App { .. } => crate::oauth::github_app::renew(r)
                .await
                .map_err(RefreshError::from),
            c if crate::credential_modes::renewable(c) => crate::credential_modes::renewed(r).await,
            _ => crate::oauth::refresh::refreshed(r).await,
        }
    })
}
