//! The `dev` environment and its keys: created on first start, overridable by environment variables,
//! stored sealed (secret key, webhook signing key) or hashed (secret key lookup).

use crate::crypto::{self, Cipher};
use crate::secret::Secret;
use crate::storage::{EnvironmentRow, NewEnvironment, SealedKeys, Store};
use latchkey_protocol::settings::EnvironmentSettings;

pub const DEV_ENVIRONMENT: &str = "dev";

/// An environment with its keys opened, as the server uses it.
#[derive(Debug, Clone)]
pub struct Environment {
    pub id: i64,
    pub name: String,
    pub secret_key: Secret,
    pub public_key: String,
    /// The public, opaque id provider webhook URLs name the environment by.
    pub uuid: Option<String>,
    pub webhook_signing_key: Secret,
    /// The custom callback URL of [`Self::settings`], kept as a field for the OAuth flow.
    pub callback_url: Option<String>,
    pub settings: Box<EnvironmentSettings>,
}

pub(crate) fn aad(name: &str, what: &str) -> String {
    format!("environment:{name}:{what}")
}

/// Environment `id`, opened: from the store's cache of opened environments when it is there (no
/// database read, no decryption), else read, opened and cached.
pub async fn opened_by_id(
    store: &Store,
    cipher: &Cipher,
    id: i64,
) -> anyhow::Result<Option<Environment>> {
    let cache = store.environments();
    if let Some(env) = cache.by_id(id) {
        return Ok(Some(Environment::clone(&env)));
    }
    let generation = cache.generation();
    let Some(row) = store.environment_by_id(id).await? else {
        return Ok(None);
    };
    let env = Environment::open(&row, cipher)?;
    cache.insert(generation, None, std::sync::Arc::new(env.clone()));
    Ok(Some(env))
}

impl Environment {
    /// Applies `patch` to the environment's settings, validates the result and stores it (the
    /// admin API's `PATCH /environment/settings` and the CLI's `settings set`).
    pub async fn update_settings(
        &self,
        store: &Store,
        cipher: &Cipher,
        patch: latchkey_protocol::settings::EnvironmentSettingsPatch,
    ) -> anyhow::Result<Result<EnvironmentSettings, crate::settings::InvalidSetting>> {
        let next = (*self.settings).clone().patched(patch);
        if let Err(e) = crate::settings::validate(&next) {
            return Ok(Err(e));
        }
        store
            .update_environment_settings(
                self.id,
                &crate::settings::to_stored(&next, cipher, &self.name),
            )
            .await?;
        Ok(Ok(next))
    }

    pub fn open(row: &EnvironmentRow, cipher: &Cipher) -> anyhow::Result<Self> {
        let settings = crate::settings::from_stored_or_default(&row.settings, cipher, &row.name);
        Ok(Self {
            id: row.id,
            name: row.name.clone(),
            secret_key: Secret::new(cipher.open_string(
                &row.key_id,
                &row.secret_key_enc,
                &aad(&row.name, "secret_key"),
            )?),
            public_key: row.public_key.clone(),
            uuid: row.uuid.clone(),
            webhook_signing_key: Secret::new(cipher.open_string(
                &row.key_id,
                &row.webhook_signing_key_enc,
                &aad(&row.name, "webhook_signing_key"),
            )?),
            callback_url: settings.callback_url.clone(),
            settings: Box::new(settings),
        })
    }
}

/// Whether a string is a UUID v4 (Nango's secret/public key format).
pub fn is_uuid_v4(s: &str) -> bool {
    uuid::Uuid::parse_str(s)
        .map(|u| u.get_version_num() == 4 && s.len() == 36)
        .unwrap_or(false)
}

/// Keys to set instead of the stored (or generated) ones: the `LATCHKEY_*_KEY` variables, or
/// `latchkey keys rotate`.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyOverrides<'a> {
    pub secret: Option<&'a str>,
    pub public: Option<&'a str>,
    pub webhook_signing: Option<&'a str>,
}

impl KeyOverrides<'_> {
    fn validate(&self) -> anyhow::Result<()> {
        for (name, key) in [
            ("LATCHKEY_SECRET_KEY", self.secret),
            ("LATCHKEY_PUBLIC_KEY", self.public),
        ] {
            if let Some(k) = key {
                anyhow::ensure!(is_uuid_v4(k), "{name} must be a UUID v4");
            }
        }
        if let Some(k) = self.webhook_signing {
            anyhow::ensure!(
                k.len() >= 16,
                "LATCHKEY_WEBHOOK_SIGNING_KEY must be at least 16 characters"
            );
        }
        Ok(())
    }
}

/// Creates the `dev` environment on first start and applies key overrides. Returns it opened and
/// whether it was just created (so the caller prints the keys once).
pub async fn ensure_dev(
    store: &Store,
    cipher: &Cipher,
    overrides: KeyOverrides<'_>,
) -> anyhow::Result<(Environment, bool)> {
    overrides.validate()?;
    let mut created = false;
    let row = match store.environment_by_name(DEV_ENVIRONMENT).await? {
        Some(row) => row,
        None => {
            let generated = || uuid::Uuid::new_v4().to_string();
            let secret = overrides
                .secret
                .map(str::to_string)
                .unwrap_or_else(generated);
            let public = overrides
                .public
                .map(str::to_string)
                .unwrap_or_else(generated);
            let signing = overrides
                .webhook_signing
                .map(str::to_string)
                .unwrap_or_else(generated);
            store
                .insert_environment(&NewEnvironment {
                    name: DEV_ENVIRONMENT.into(),
                    uuid: generated(),
                    secret_key_hash: crypto::sha256_hex(&secret),
                    secret_key_enc: cipher
                        .seal(secret.as_bytes(), &aad(DEV_ENVIRONMENT, "secret_key")),
                    public_key: public,
                    webhook_signing_key_enc: cipher.seal(
                        signing.as_bytes(),
                        &aad(DEV_ENVIRONMENT, "webhook_signing_key"),
                    ),
                    key_id: cipher.key_id().to_string(),
                    created_at: crate::time::real_iso(),
                })
                .await?;
            created = true;
            store
                .environment_by_name(DEV_ENVIRONMENT)
                .await?
                .expect("just inserted")
        }
    };
    let env = Environment::open(&row, cipher)?;
    let env = set_keys(store, cipher, env, overrides).await?;
    Ok((env, created))
}

/// Replaces the keys given in `keys` (env-var overrides at start-up, `latchkey keys rotate`); a value
/// equal to the current one is not rewritten. Returns the environment re-read.
pub async fn set_keys(
    store: &Store,
    cipher: &Cipher,
    env: Environment,
    keys: KeyOverrides<'_>,
) -> anyhow::Result<Environment> {
    keys.validate()?;
    let secret_changed = keys
        .secret
        .filter(|s| !crypto::secrets_equal(s, env.secret_key.expose()));
    let signing_changed = keys
        .webhook_signing
        .filter(|s| !crypto::secrets_equal(s, env.webhook_signing_key.expose()));
    let public_changed = keys.public.filter(|p| *p != env.public_key);
    if secret_changed.is_none() && signing_changed.is_none() && public_changed.is_none() {
        return Ok(env);
    }
    // The row has one key id for all its sealed fields: both sealed keys are written together, under
    // the current encryption key.
    let sealed = (secret_changed.is_some() || signing_changed.is_some()).then(|| {
        let secret = secret_changed.unwrap_or(env.secret_key.expose());
        let signing = signing_changed.unwrap_or(env.webhook_signing_key.expose());
        SealedKeys {
            secret_key_hash: crypto::sha256_hex(secret),
            secret_key_enc: cipher.seal(secret.as_bytes(), &aad(&env.name, "secret_key")),
            webhook_signing_key_enc: cipher
                .seal(signing.as_bytes(), &aad(&env.name, "webhook_signing_key")),
            key_id: cipher.key_id().to_string(),
        }
    });
    store
        .update_environment_keys(env.id, sealed.as_ref(), public_changed)
        .await?;
    let row = store.environment_by_id(env.id).await?.expect("exists");
    Environment::open(&row, cipher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dev_environment_is_created_once_and_overrides_apply() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        let cipher = Cipher::from_key_bytes(&[1u8; 32]).unwrap();
        let (a, created) = ensure_dev(&store, &cipher, KeyOverrides::default())
            .await
            .unwrap();
        assert!(created);
        assert!(is_uuid_v4(a.secret_key.expose()));
        let (b, created) = ensure_dev(&store, &cipher, KeyOverrides::default())
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(a.secret_key, b.secret_key);
        let wanted = uuid::Uuid::new_v4().to_string();
        let signing = "whsec-0123456789abcdef";
        let overrides = KeyOverrides {
            secret: Some(&wanted),
            webhook_signing: Some(signing),
            ..Default::default()
        };
        let (c, _) = ensure_dev(&store, &cipher, overrides).await.unwrap();
        assert_eq!(c.secret_key.expose(), wanted);
        assert_eq!(c.webhook_signing_key.expose(), signing);
        // A signing key alone changes too, and the secret key still opens.
        let overrides = KeyOverrides {
            webhook_signing: Some("whsec-fedcba9876543210"),
            ..Default::default()
        };
        let (d, _) = ensure_dev(&store, &cipher, overrides).await.unwrap();
        assert_eq!(d.webhook_signing_key.expose(), "whsec-fedcba9876543210");
        assert_eq!(d.secret_key.expose(), wanted);
        assert!(store
            .environment_by_secret_hash(&crypto::sha256_hex(&wanted))
            .await
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn malformed_secret_override_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        let cipher = Cipher::from_key_bytes(&[1u8; 32]).unwrap();
        let overrides = KeyOverrides {
            secret: Some("not-a-uuid"),
            ..Default::default()
        };
        assert!(ensure_dev(&store, &cipher, overrides).await.is_err());
    }
}
