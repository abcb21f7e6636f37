//! What unit tests of the storage layer and its callers share: a store on a fresh SQLite file with
//! its `dev` environment, and a connect session row.

use super::{NewConnectSession, Store};
use crate::environment::Environment;

/// A store on a new SQLite file (kept as long as the returned directory) and its `dev` environment.
pub async fn dev_store() -> (tempfile::TempDir, Store, Environment) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let cipher = crate::crypto::Cipher::from_key_bytes(&[1u8; 32]).unwrap();
    let (env, _) = crate::environment::ensure_dev(&store, &cipher, Default::default())
        .await
        .unwrap();
    (dir, store, env)
}

/// A session of `env` stored under `token_hash` that never expires.
pub fn session(env: i64, token_hash: String) -> NewConnectSession {
    NewConnectSession {
        environment_id: env,
        token_hash,
        end_user: None,
        organization: None,
        allowed_integrations: None,
        integrations_config_defaults: None,
        tags: None,
        reconnect_connection_id: None,
        expires_at: i64::MAX,
        created_at: "2026-01-01T00:00:00Z".into(),
    }
}
