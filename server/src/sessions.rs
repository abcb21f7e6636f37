//! The rules a connect session imposes on every authorization it allows, whether by OAuth popup or by
//! credentials posted from the browser (Nango's rules, reference §4.1 step 7 and §3.8):
//! - only its `allowed_integrations` (all, when it names none);
//! - its `integrations_config_defaults` win over what the browser sent;
//! - a reconnect session pins the connection id; otherwise a new one is generated.

use crate::catalog::param_string;
use crate::storage::ConnectSessionRow;
use latchkey_protocol::connect::IntegrationConfigDefaults;
use std::collections::BTreeMap;

/// A new connect session token: `nango_connect_session_` and 64 lowercase hex digits (Nango's
/// shape), of which the first 12 are the creation time (unix milliseconds) and the other 52 are
/// random (208 bits).
///
/// Why the time: sessions are stored under [`storage_key`], which starts with it, so that a batch of
/// new sessions lands on the last page of the `token_hash` index instead of one random page each.
/// With purely random keys every `POST /connect/sessions` dirtied an index page of its own: two WAL
/// frames (8 KiB) per session, 150 MB/s of WAL at full speed on SQLite.
pub fn new_token() -> String {
    let millis = (crate::time::real_unix_ms() as u64) & 0xffff_ffff_ffff;
    format!(
        "{}{millis:012x}{}",
        latchkey_protocol::params::SESSION_TOKEN_PREFIX,
        &crate::crypto::random_hex_256()[..52]
    )
}

/// The `token_hash` column a session is stored and found under: the token's 12 time digits, then the
/// SHA-256 of the whole token (the database never holds the token itself). Also the associated data
/// that binds the session's sealed defaults to it.
pub fn storage_key(token: &str) -> String {
    key_with_hash(token, &crate::crypto::sha256_hex(token))
}

/// [`storage_key`] from the token and its SHA-256 (hex), when the caller has the hash already.
fn key_with_hash(token: &str, hash: &str) -> String {
    let digits = token
        .strip_prefix(latchkey_protocol::params::SESSION_TOKEN_PREFIX)
        .unwrap_or(token);
    format!("{}{hash}", digits.get(..12).unwrap_or_default())
}

/// The live session of `token` and the key it is stored under. Sessions issued before tokens
/// carried their time were stored under the bare hash; they are looked up that way when the key
/// finds nothing (the fallback can go once no such session can be alive, 30 minutes after an
/// upgrade from a server that issued them).
pub async fn find(
    store: &crate::storage::Store,
    token: &str,
    now: i64,
) -> sqlx::Result<Option<(String, ConnectSessionRow)>> {
    let hash = crate::crypto::sha256_hex(token);
    for key in [key_with_hash(token, &hash), hash] {
        if let Some(row) = store.connect_session(&key, now).await? {
            return Ok(Some((key, row)));
        }
    }
    Ok(None)
}

/// Prefix of a sealed `integrations_config_defaults` column value.
const SEALED_PREFIX: &str = "sealed:";

fn defaults_aad(token_hash: &str) -> String {
    format!("connect_session:{token_hash}:integrations_config_defaults")
}

/// Seals a session's `integrations_config_defaults` JSON before it is stored: it may hold an OAuth
/// client secret override (`oauth_client_secret_override`) and hosts the backend pinned.
/// Stored as `sealed:<key id>:<base64 of nonce‖ciphertext>`, bound to the session's token hash.
pub fn seal_defaults(cipher: &crate::crypto::Cipher, token_hash: &str, json: &str) -> String {
    use base64::Engine;
    let sealed = cipher.seal(json.as_bytes(), &defaults_aad(token_hash));
    format!(
        "{SEALED_PREFIX}{}:{}",
        cipher.key_id(),
        base64::engine::general_purpose::STANDARD.encode(sealed)
    )
}

/// Opens what [`seal_defaults`] stored (a value stored in clear by an older server is returned as is).
pub fn open_defaults(
    cipher: &crate::crypto::Cipher,
    token_hash: &str,
    stored: &str,
) -> anyhow::Result<String> {
    use base64::Engine;
    let Some(rest) = stored.strip_prefix(SEALED_PREFIX) else {
        return Ok(stored.to_string());
    };
    let (key_id, b64) = rest
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("malformed sealed session defaults"))?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64)?;
    Ok(cipher.open_string(key_id, &bytes, &defaults_aad(token_hash))?)
}

/// What `GET /connect/session` may show the browser of the defaults: without the OAuth client
/// overrides (a client secret must never reach a page).
pub fn public_defaults(
    mut all: BTreeMap<String, IntegrationConfigDefaults>,
) -> BTreeMap<String, IntegrationConfigDefaults> {
    for defaults in all.values_mut() {
        if let Some(config) = defaults.connection_config.as_mut() {
            for key in latchkey_protocol::connect::OVERRIDE_KEYS {
                config.remove(key);
            }
        }
    }
    all
}

/// Whether the session may use an integration.
pub fn allows(session: &ConnectSessionRow, key: &str) -> bool {
    match session
        .allowed_integrations
        .as_deref()
        .and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
    {
        Some(list) => list.iter().any(|k| k == key),
        None => true,
    }
}

/// The defaults the backend pinned for one integration.
pub fn defaults_for(session: &ConnectSessionRow, key: &str) -> Option<IntegrationConfigDefaults> {
    let all: BTreeMap<String, IntegrationConfigDefaults> =
        serde_json::from_str(session.integrations_config_defaults.as_deref()?).ok()?;
    all.get(key).cloned()
}

/// The connection config of a new authorization: what the browser sent (never a `webhook_url`),
/// overlaid by the session's pinned values.
pub fn connection_config(
    session: &ConnectSessionRow,
    key: &str,
    mut from_browser: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    from_browser.remove("webhook_url");
    if let Some(pinned) = defaults_for(session, key).and_then(|d| d.connection_config) {
        from_browser.extend(pinned.iter().map(|(k, v)| (k.clone(), param_string(v))));
    }
    from_browser
}

/// The connection an authorization writes to.
pub fn connection_id(session: &ConnectSessionRow) -> String {
    session
        .reconnect_connection_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Nango's tag rule for connect sessions and imported connections: tags derived from the end user
/// (`end_user_id`, `end_user_email`, `end_user_display_name`, the user's own tags) and organization
/// (`organization_id`, `organization_display_name`), then explicit tags, lower-cased keys, on top.
pub fn nango_tags(
    end_user: Option<&latchkey_protocol::connect::EndUser>,
    organization: Option<&latchkey_protocol::connect::Organization>,
    explicit: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    if let Some(u) = end_user {
        tags.insert("end_user_id".into(), u.id.clone());
        if let Some(e) = &u.email {
            tags.insert("end_user_email".into(), e.clone());
        }
        if let Some(d) = &u.display_name {
            tags.insert("end_user_display_name".into(), d.clone());
        }
        if let Some(t) = &u.tags {
            tags.extend(t.clone());
        }
    }
    if let Some(o) = organization {
        tags.insert("organization_id".into(), o.id.clone());
        if let Some(d) = &o.display_name {
            tags.insert("organization_display_name".into(), d.clone());
        }
    }
    if let Some(explicit) = explicit {
        tags.extend(explicit.iter().map(|(k, v)| (k.to_lowercase(), v.clone())));
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_nangos_shape_and_later_ones_sort_after() {
        let first = new_token();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_token();
        assert!(crate::http::extract::is_session_token(&first), "{first}");
        assert_ne!(first[..70], second[..70], "the random part differs");
        assert!(storage_key(&first) < storage_key(&second));
        assert!(
            storage_key(&first).ends_with(&crate::crypto::sha256_hex(&first)),
            "the key holds the token's hash, never the token"
        );
        assert!(!storage_key(&first).contains(&first[22 + 12..]));
    }

    /// A session stored by a server that issued random tokens (under the bare hash) is still found
    /// after an upgrade, with the key its sealed defaults are bound to.
    #[tokio::test]
    async fn sessions_stored_under_the_bare_hash_are_still_found() {
        let (_dir, store, env) = crate::storage::test_support::dev_store().await;
        let legacy = format!(
            "{}{}",
            latchkey_protocol::params::SESSION_TOKEN_PREFIX,
            crate::crypto::random_hex_256()
        );
        let current = new_token();
        for key in [crate::crypto::sha256_hex(&legacy), storage_key(&current)] {
            store
                .insert_connect_session(&crate::storage::test_support::session(env.id, key))
                .await
                .unwrap();
        }
        let now = crate::time::real_unix();
        let (key, _) = find(&store, &legacy, now).await.unwrap().unwrap();
        assert_eq!(key, crate::crypto::sha256_hex(&legacy));
        let (key, _) = find(&store, &current, now).await.unwrap().unwrap();
        assert_eq!(key, storage_key(&current));
        assert!(find(&store, &new_token(), now).await.unwrap().is_none());
    }
}
