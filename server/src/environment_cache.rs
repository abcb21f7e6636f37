//! Opened environments kept in memory, so an authenticated call neither reads its environment row
//! nor opens it (two AES-GCM opens and a settings parse) every time: the hottest calls
//! (`GET /connection/:id`, `POST /connect/sessions`, `/proxy/*`) are authenticated by secret key.
//!
//! Lookups are by the SHA-256 digest of the secret key (what the database indexes too: the key itself
//! is never a map key) and by environment id (connect session tokens). An entry is forgotten:
//! - at once when this process writes an environment (keys, settings): [`crate::storage::Store`]'s
//!   writes clear the cache;
//! - at once in every replica sharing a PostgreSQL database, which hears of the write through
//!   `NOTIFY` (see [`crate::storage::Store::listen_environment_changes`]);
//! - after [`TTL`] at the latest, which bounds how long a change made by another process that cannot
//!   notify (the CLI on SQLite, or a missed notification) takes to apply.
//!
//! A load that raced with a write is not kept (a generation counter), so a write is never undone by
//! a slow reader putting the old row back.

use crate::environment::Environment;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The longest an environment change made elsewhere takes to apply here.
pub const TTL: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct EnvironmentCache {
    maps: RwLock<Maps>,
    /// Bumped by every [`Self::clear`]; a load started before a clear is not inserted.
    generation: AtomicU64,
}

#[derive(Default)]
struct Maps {
    by_secret_digest: HashMap<[u8; 32], Entry>,
    by_id: HashMap<i64, Entry>,
}

struct Entry {
    env: Arc<Environment>,
    at: Instant,
}

impl Entry {
    fn live(&self) -> Option<Arc<Environment>> {
        (self.at.elapsed() < TTL).then(|| self.env.clone())
    }
}

impl EnvironmentCache {
    /// Take before reading the row; hand to [`Self::insert`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn by_secret_digest(&self, digest: &[u8; 32]) -> Option<Arc<Environment>> {
        let maps = self.maps.read().expect("environment cache lock");
        maps.by_secret_digest.get(digest).and_then(Entry::live)
    }

    pub fn by_id(&self, id: i64) -> Option<Arc<Environment>> {
        let maps = self.maps.read().expect("environment cache lock");
        maps.by_id.get(&id).and_then(Entry::live)
    }

    /// Keeps `env` (read from the database after `generation` was taken) unless the environments
    /// changed since. `secret_digest` is the SHA-256 of its secret key, when the caller proved it.
    pub fn insert(&self, generation: u64, secret_digest: Option<[u8; 32]>, env: Arc<Environment>) {
        let mut maps = self.maps.write().expect("environment cache lock");
        // Checked under the lock `clear` takes too: no clear can slip between check and insert.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        let at = Instant::now();
        if let Some(digest) = secret_digest {
            // One entry per environment: expired ones (an old key, say) do not pile up.
            maps.by_secret_digest.retain(|_, e| e.env.id != env.id);
            maps.by_secret_digest.insert(
                digest,
                Entry {
                    env: env.clone(),
                    at,
                },
            );
        }
        maps.by_id.insert(env.id, Entry { env, at });
    }

    /// Forgets everything (an environment was written here or elsewhere).
    pub fn clear(&self) {
        let mut maps = self.maps.write().expect("environment cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        maps.by_secret_digest.clear();
        maps.by_id.clear();
    }
}
