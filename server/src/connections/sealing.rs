//! Connection credentials at rest: AES-GCM sealed, bound to the row's identity by their associated
//! data, so a sealed blob copied onto another connection does not open. Opening falls back to the
//! encoding used before issue 11 until the start-up migration has re-sealed every row
//! ([`crate::reseal`]); a row opened with a previous key or the old encoding is re-sealed in the
//! background.

use crate::crypto::{Cipher, CryptoError};
use crate::storage::{ConnectionRow, Store};
use latchkey_protocol::connection::Credentials;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

/// What sealing connection credentials needs of the server, and nothing more: the cipher, the store
/// (a row opened with a previous key or the old encoding is written back re-sealed), and whether the
/// pre-issue-11 associated data is still accepted.
#[derive(Clone)]
pub struct Vault {
    cipher: Cipher,
    store: Store,
    /// Until the start-up migration has re-sealed every row ([`crate::reseal::on_start`]).
    legacy_aad: Arc<AtomicBool>,
}

impl Vault {
    /// A vault that still accepts the old associated data (until [`Self::accept_legacy`] says not).
    pub fn new(cipher: Cipher, store: Store) -> Self {
        Self {
            cipher,
            store,
            legacy_aad: Arc::new(AtomicBool::new(true)),
        }
    }

    /// The cipher the vault seals with (re-sealing the other secrets at rest, [`crate::reseal`]).
    pub fn cipher(&self) -> &Cipher {
        &self.cipher
    }

    /// The store whose rows the vault opens.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether credentials sealed with the pre-issue-11 associated data still open.
    pub fn accept_legacy(&self, accept: bool) {
        self.legacy_aad.store(accept, Ordering::Relaxed);
    }

    /// Seals `credentials` for the connection `(env_id, pck, connection_id)` with the current key.
    pub fn seal(
        &self,
        (env_id, pck, connection_id): (i64, &str, &str),
        credentials: &Credentials,
    ) -> Vec<u8> {
        self.cipher.seal(
            &serde_json::to_vec(credentials).expect("credentials serialize"),
            &connection_aad(env_id, pck, connection_id),
        )
    }

    /// Opens a connection's credentials; a row sealed by a previous key or with the old associated
    /// data is re-sealed in the background.
    pub fn open(&self, row: &ConnectionRow) -> anyhow::Result<Credentials> {
        let (plain, stale) = self.open_bytes(row)?;
        let credentials = serde_json::from_slice(&plain)?;
        if stale {
            self.reseal_later(row, plain);
        }
        Ok(credentials)
    }

    /// Opens a connection's sealed bytes; the flag says the row should be re-sealed (sealed by a
    /// previous key, or with the old associated data).
    pub fn open_bytes(&self, row: &ConnectionRow) -> Result<(Vec<u8>, bool), CryptoError> {
        let aad = connection_aad(
            row.environment_id,
            &row.provider_config_key,
            &row.connection_id,
        );
        match self.cipher.open(&row.key_id, &row.credentials_enc, &aad) {
            Ok(plain) => Ok((plain, !self.cipher.is_current(&row.key_id))),
            Err(CryptoError::Tampered) if self.legacy_aad.load(Ordering::Relaxed) => {
                let legacy = legacy_connection_aad(
                    row.environment_id,
                    &row.provider_config_key,
                    &row.connection_id,
                );
                let plain = self
                    .cipher
                    .open(&row.key_id, &row.credentials_enc, &legacy)?;
                Ok((plain, true))
            }
            Err(e) => Err(e),
        }
    }

    /// Seals `plain` for `row` with the current key and encoding and stores it, unless the row
    /// changed meanwhile (a refresh stored newer credentials: those are already sealed anew).
    pub async fn reseal(&self, row: &ConnectionRow, plain: &[u8]) -> anyhow::Result<bool> {
        let sealed = self.cipher.seal(
            plain,
            &connection_aad(
                row.environment_id,
                &row.provider_config_key,
                &row.connection_id,
            ),
        );
        Ok(self
            .store
            .reseal_connection(row.id, &row.credentials_enc, &sealed, self.cipher.key_id())
            .await?)
    }

    /// [`Self::reseal`] in the background (a read must not wait for it).
    fn reseal_later(&self, row: &ConnectionRow, plain: Vec<u8>) {
        let vault = self.clone();
        let row = row.clone();
        tokio::spawn(async move {
            if let Err(e) = vault.reseal(&row, &plain).await {
                tracing::warn!(connection = row.id, error = %e, "could not re-seal a connection");
            }
        });
    }
}
