//! Connection credentials at rest: AES-GCM sealed, bound to the row's identity by their associated
//! data, so a sealed blob copied onto another connection does not open. Opening falls back to the
//! encoding used before issue 11 until the start-up migration has re-sealed every row
//! ([`crate::reseal`]); a row opened with a previous key or the old encoding is re-sealed in the
//! background.

use crate::crypto::CryptoError;
use crate::storage::ConnectionRow;
use crate::AppState;
use latchkey_protocol::connection::Credentials;
use std::sync::atomic::Ordering;

/// Associated data of a connection's credentials: the row's identity, JSON-encoded so that two
/// different identities never share it (keys and connection ids may contain `:`).
pub fn connection_aad(env_id: i64, pck: &str, connection_id: &str) -> String {
    format!(
        "connection:v2:{}",
        serde_json::json!([env_id, pck, connection_id])
    )
}

/// The encoding used before issue 11 (ambiguous when a key contains `:`): read only, until the
/// start-up migration has re-sealed every row ([`crate::reseal`]).
pub fn legacy_connection_aad(env_id: i64, pck: &str, connection_id: &str) -> String {
    format!("connection:{env_id}:{pck}:{connection_id}")
}

/// Seals `credentials` for the connection `(env_id, pck, connection_id)` with the current key.
pub(crate) fn seal(
    app: &AppState,
    (env_id, pck, connection_id): (i64, &str, &str),
    credentials: &Credentials,
) -> Vec<u8> {
    app.cipher.seal(
        &serde_json::to_vec(credentials).expect("credentials serialize"),
        &connection_aad(env_id, pck, connection_id),
    )
}

/// Opens a connection's credentials; a row sealed by a previous key or with the old associated
/// data is re-sealed in the background.
pub(crate) fn open(app: &AppState, row: &ConnectionRow) -> anyhow::Result<Credentials> {
    let (plain, stale) = open_bytes(app, row)?;
    let credentials = serde_json::from_slice(&plain)?;
    if stale {
        reseal_later(app, row, plain);
    }
    Ok(credentials)
}

/// Opens a connection's sealed bytes; the flag says the row should be re-sealed (sealed by a
/// previous key, or with the old associated data).
pub(crate) fn open_bytes(
    app: &AppState,
    row: &ConnectionRow,
) -> Result<(Vec<u8>, bool), CryptoError> {
    let aad = connection_aad(
        row.environment_id,
        &row.provider_config_key,
        &row.connection_id,
    );
    match app.cipher.open(&row.key_id, &row.credentials_enc, &aad) {
        Ok(plain) => Ok((plain, !app.cipher.is_current(&row.key_id))),
        Err(CryptoError::Tampered) if app.legacy_connection_aad.load(Ordering::Relaxed) => {
            let legacy = legacy_connection_aad(
                row.environment_id,
                &row.provider_config_key,
                &row.connection_id,
            );
            let plain = app
                .cipher
                .open(&row.key_id, &row.credentials_enc, &legacy)?;
            Ok((plain, true))
        }
        Err(e) => Err(e),
    }
}

/// Seals `plain` for `row` with the current key and encoding and stores it, unless the row changed
/// meanwhile (a refresh stored newer credentials: those are already sealed anew).
pub(crate) async fn reseal(
    app: &AppState,
    row: &ConnectionRow,
    plain: &[u8],
) -> anyhow::Result<bool> {
    let sealed = app.cipher.seal(
        plain,
        &connection_aad(
            row.environment_id,
            &row.provider_config_key,
            &row.connection_id,
        ),
    );
    Ok(app
        .store
        .reseal_connection(row.id, &row.credentials_enc, &sealed, app.cipher.key_id())
        .await?)
}

/// [`reseal`] in the background (a read must not wait for it).
fn reseal_later(app: &AppState, row: &ConnectionRow, plain: Vec<u8>) {
    let app = app.clone();
    let row = row.clone();
    tokio::spawn(async move {
        if let Err(e) = reseal(&app, &row, &plain).await {
            tracing::warn!(connection = row.id, error = %e, "could not re-seal a connection");
        }
    });
}
