//! Secrets at rest and random tokens.
//!
//! - [`Cipher`]: AES-256-GCM (RustCrypto `aes-gcm`) with a random 96-bit nonce per message and the
//!   row's identity as associated data, so a ciphertext copied onto another row fails to decrypt.
//!   Each ciphertext is stored with the id of the key that sealed it. Key rotation: the cipher holds
//!   the current key and any previous ones (`LATCHKEY_PREVIOUS_ENCRYPTION_KEYS`); it seals with the
//!   current key and opens with whichever key a ciphertext names ([`Cipher::with_previous`]).
//! - Tokens: 256 random bits from the OS RNG; stored only as SHA-256 (a fast hash is right for a
//!   high-entropy token), compared in constant time.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;
use subtle::ConstantTimeEq;

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("ciphertext sealed with unknown key id {0}")]
    UnknownKey(String),
    #[error("ciphertext does not authenticate (wrong key, wrong row or tampered)")]
    Tampered,
    #[error("encryption key must be base64 of exactly 32 bytes")]
    BadKey,
}

/// Seals and opens secrets stored in the database.
#[derive(Clone)]
pub struct Cipher {
    key_id: String,
    aead: Aes256Gcm,
    /// Earlier keys, by id: they open what they sealed; nothing new is sealed with them.
    previous: std::sync::Arc<Vec<(String, Aes256Gcm)>>,
    /// Root of keys derived for other purposes ([`Cipher::subkey`]), never used to encrypt.
    derive_root: [u8; 32],
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Cipher {
    pub fn from_key_bytes(key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        // The key id is derived, so it cannot drift from the key it names.
        let key_id =
            hex::encode(&Sha256::digest([b"latchkey-key-id:".as_slice(), key].concat())[..8]);
        let aead = Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::BadKey)?;
        let derive_root = Sha256::digest([b"latchkey-subkeys:".as_slice(), key].concat()).into();
        Ok(Self {
            key_id,
            aead,
            previous: Default::default(),
            derive_root,
        })
    }

    pub fn from_base64(b64: &str) -> Result<Self, CryptoError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| CryptoError::BadKey)?;
        Self::from_key_bytes(&bytes)
    }

    /// Loads the key from `configured` (base64), else from `<data_dir>/encryption.key`, generating
    /// that file on first start. The file is for development only; the caller warns.
    pub fn load_or_create(
        configured: Option<&str>,
        data_dir: &Path,
    ) -> anyhow::Result<(Self, bool)> {
        if let Some(b64) = configured {
            return Ok((Self::from_base64(b64)?, false));
        }
        let path = data_dir.join("encryption.key");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            return Ok((Self::from_base64(&existing)?, true));
        }
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let b64 = base64::engine::general_purpose::STANDARD.encode(key);
        write_private_file(&path, &b64)?;
        Ok((Self::from_key_bytes(&key)?, true))
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The keyring: this (current) key plus earlier ones (base64), to open data they sealed until it
    /// is re-sealed with the current key (lazily, or by `latchkey keys reseal`).
    pub fn with_previous(mut self, previous: &[String]) -> Result<Self, CryptoError> {
        let mut ring = Vec::new();
        for b64 in previous {
            let old = Self::from_base64(b64)?;
            if old.key_id != self.key_id {
                ring.push((old.key_id, old.aead));
            }
        }
        self.previous = std::sync::Arc::new(ring);
        Ok(self)
    }

    /// Whether `key_id` is the current key (otherwise what it sealed should be re-sealed).
    pub fn is_current(&self, key_id: &str) -> bool {
        key_id == self.key_id
    }

    /// The ids of the previous keys in the ring.
    pub fn previous_key_ids(&self) -> Vec<String> {
        self.previous.iter().map(|(id, _)| id.clone()).collect()
    }

    /// A key for another purpose (`label`), derived from the encryption key with HMAC-SHA256: the same
    /// on every replica that shares the key, useless for opening sealed data.
    pub fn subkey(&self, label: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.derive_root)
            .expect("HMAC takes any key length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// `nonce || ciphertext+tag`, bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .aead
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, key_id: &str, sealed: &[u8], aad: &str) -> Result<Vec<u8>, CryptoError> {
        let aead = if key_id == self.key_id {
            &self.aead
        } else {
            self.previous
                .iter()
                .find(|(id, _)| id == key_id)
                .map(|(_, aead)| aead)
                .ok_or_else(|| CryptoError::UnknownKey(key_id.to_string()))?
        };
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Tampered);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        aead.decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| CryptoError::Tampered)
    }

    pub fn open_string(
        &self,
        key_id: &str,
        sealed: &[u8],
        aad: &str,
    ) -> Result<String, CryptoError> {
        String::from_utf8(self.open(key_id, sealed, aad)?).map_err(|_| CryptoError::Tampered)
    }
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, contents)?;
    Ok(())
}

/// 32 random bytes, lowercase hex (64 chars).
pub fn random_hex_256() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// 32 random bytes, base64url without padding (43 chars): OAuth `state`.
pub fn random_urlsafe_256() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// SHA-256, lowercase hex: how tokens and states are stored and looked up.
pub fn sha256_hex(input: &str) -> String {
    hex::encode(Sha256::digest(input.as_bytes()))
}

/// SHA-256 of a string, as bytes.
pub fn sha256(input: &str) -> [u8; 32] {
    Sha256::digest(input.as_bytes()).into()
}

/// Constant-time string equality for secrets.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A PEM pasted without its line breaks (one line, or `\n` typed as text) made readable again: the
/// base64 body re-wrapped at 64 columns between its header and footer (Nango's `formatPem`).
pub fn normalize_pem(pem: &str) -> String {
    let pem = pem.replace("\\n", "\n");
    let pem = pem.trim();
    let Some(begin_end) = pem
        .find("-----BEGIN ")
        .and_then(|b| pem[b + 11..].find("-----").map(|e| (b, b + 11 + e + 5)))
    else {
        return pem.to_string();
    };
    let header = &pem[begin_end.0..begin_end.1];
    let Some(footer_at) = pem.find("-----END ") else {
        return pem.to_string();
    };
    let footer = &pem[footer_at..];
    let body: String = pem[begin_end.1..footer_at]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut out = String::with_capacity(pem.len() + 8);
    out.push_str(header);
    out.push('\n');
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(footer.trim());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> Cipher {
        Cipher::from_key_bytes(&[7u8; 32]).unwrap()
    }

    #[test]
    fn sealed_secret_opens_with_same_row_identity() {
        let c = cipher();
        let sealed = c.seal(b"token", "connection:1:github:abc");
        assert_eq!(
            c.open(c.key_id(), &sealed, "connection:1:github:abc")
                .unwrap(),
            b"token"
        );
    }

    #[test]
    fn ciphertext_copied_to_another_row_fails() {
        let c = cipher();
        let sealed = c.seal(b"token", "connection:1:github:abc");
        assert!(matches!(
            c.open(c.key_id(), &sealed, "connection:1:github:evil"),
            Err(CryptoError::Tampered)
        ));
    }

    #[test]
    fn unknown_key_id_is_reported() {
        let c = cipher();
        let sealed = c.seal(b"x", "a");
        assert!(matches!(
            c.open("deadbeef", &sealed, "a"),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_keyring_opens_what_previous_keys_sealed_and_seals_with_the_current_one() {
        use base64::Engine;
        let b64 = |k: [u8; 32]| base64::engine::general_purpose::STANDARD.encode(k);
        let old = Cipher::from_key_bytes(&[1u8; 32]).unwrap();
        let sealed = old.seal(b"s", "a");
        let new = Cipher::from_key_bytes(&[2u8; 32]).unwrap();
        assert!(matches!(
            new.open(old.key_id(), &sealed, "a"),
            Err(CryptoError::UnknownKey(_))
        ));
        let ring = new.with_previous(&[b64([1u8; 32])]).unwrap();
        assert_eq!(ring.open(old.key_id(), &sealed, "a").unwrap(), b"s");
        assert!(!ring.is_current(old.key_id()));
        let resealed = ring.seal(b"s", "a");
        let alone = Cipher::from_key_bytes(&[2u8; 32]).unwrap();
        assert_eq!(alone.open(alone.key_id(), &resealed, "a").unwrap(), b"s");
        assert!(ring.with_previous(&["not base64!".into()]).is_err());
    }

    #[test]
    fn short_key_is_rejected() {
        assert!(Cipher::from_base64("AAAA").is_err());
    }

    #[test]
    fn dev_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (a, generated) = Cipher::load_or_create(None, dir.path()).unwrap();
        assert!(generated);
        let (b, _) = Cipher::load_or_create(None, dir.path()).unwrap();
        assert_eq!(a.key_id(), b.key_id());
        let sealed = a.seal(b"s", "x");
        assert_eq!(b.open(a.key_id(), &sealed, "x").unwrap(), b"s");
    }

    #[test]
    fn tokens_have_256_bits() {
        assert_eq!(random_hex_256().len(), 64);
        assert_eq!(random_urlsafe_256().len(), 43);
        assert_ne!(random_hex_256(), random_hex_256());
    }
}
