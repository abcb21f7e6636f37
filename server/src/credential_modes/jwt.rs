//! `auth_mode: JWT` (App Store Connect, Ghost Admin, Heymarket, Snowflake key-pair): the end user
//! hands over key material, the server signs a short-lived JWT from the provider's `token` block
//! (`header`, `payload`, `signing_key`, `expires_in_ms`) and `signature.protocol` (`HMAC`, `RSA`,
//! `EC`), and signs a new one before it expires. TWO_STEP providers with a `signature` block use the
//! same signer for the assertion they post to their token URL.
//!
//! Signing is `jsonwebtoken`'s; the Snowflake public-key fingerprint is computed by the `rsa` crate.

use super::template::{fill, is_unresolved, scalar, strip_credentials};
use crate::connections::ModeError;
use crate::crypto::normalize_pem;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use latchkey_protocol::connection::Credentials;
use latchkey_protocol::ErrorCode;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::str::FromStr;

/// A provider's `signature` and `token` blocks.
#[derive(Debug, Clone, Deserialize)]
pub struct JwtSpec {
    pub signature: SignatureSpec,
    pub token: TokenSpec,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SignatureSpec {
    pub protocol: String,
    /// `hex` (default) or `utf8`: how an HMAC signing key is read.
    #[serde(default)]
    pub hmac_secret_encoding: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenSpec {
    #[serde(default)]
    pub signing_key: String,
    pub expires_in_ms: i64,
    #[serde(default)]
    pub header: Map<String, Value>,
    #[serde(default)]
    pub payload: Map<String, Value>,
}

impl JwtSpec {
    /// The JWT blocks of a catalog entry (`None` when it has none).
    pub fn of(raw: &Value) -> Option<Self> {
        let signature = raw.get("signature")?;
        let token = raw.get("token")?;
        Some(Self {
            signature: serde_json::from_value(signature.clone()).ok()?,
            token: serde_json::from_value(token.clone()).ok()?,
        })
    }
}

/// A signed JWT and when it expires (unix seconds).
#[derive(Debug)]
pub struct Signed {
    pub token: String,
    pub expires_at: i64,
}

fn failed(message: impl Into<String>) -> ModeError {
    ModeError::Coded(ErrorCode::FailedToGenerate, message.into())
}

/// Signs the provider's JWT from the submitted fields (`dynamic`) and the connection config.
pub fn sign(
    spec: &JwtSpec,
    dynamic: &Map<String, Value>,
    connection_config: &BTreeMap<String, String>,
) -> Result<Signed, ModeError> {
    // Nango merges a `connectionConfig` object sent with the credentials under the stored config.
    let mut config: Map<String, Value> = dynamic
        .get("connectionConfig")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in connection_config {
        config.insert(k.clone(), Value::String(v.clone()));
    }
    let mut replacers = dynamic.clone();
    replacers.insert("connectionConfig".into(), Value::Object(config));
    let replacers = Value::Object(replacers);

    let now = crate::time::real_unix();
    let mut claims = Map::new();
    for (k, v) in &spec.token.payload {
        if let Some(v) = claim(v, &replacers) {
            claims.insert(k.clone(), v);
        }
    }
    let lifetime = spec.token.expires_in_ms / 1000;
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + lifetime).into());

    let alg_name = spec
        .token
        .header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| failed("the provider's JWT header names no algorithm"))?;
    let alg = Algorithm::from_str(alg_name)
        .map_err(|_| failed(format!("unsupported JWT algorithm {alg_name}")))?;
    let mut header = Header::new(alg);
    let text = |name: &str| {
        spec.token
            .header
            .get(name)
            .and_then(|v| claim(v, &replacers))
            .and_then(|v| scalar(&v))
    };
    header.kid = text("kid");
    if let Some(typ) = text("typ") {
        header.typ = Some(typ);
    }

    let signing_key = fill(&strip_credentials(&spec.token.signing_key), &replacers);
    if signing_key.is_empty() || is_unresolved(&signing_key) {
        return Err(failed("the key material to sign the JWT with is missing"));
    }
    let key = match spec.signature.protocol.as_str() {
        "HMAC" => {
            if spec.signature.hmac_secret_encoding.as_deref() == Some("utf8") {
                EncodingKey::from_secret(signing_key.as_bytes())
            } else {
                let bytes = hex::decode(signing_key.trim())
                    .map_err(|_| failed("the HMAC secret is not hexadecimal"))?;
                EncodingKey::from_secret(&bytes)
            }
        }
        "RSA" => EncodingKey::from_rsa_pem(normalize_pem(&signing_key).as_bytes())
            .map_err(|e| failed(format!("the RSA private key cannot be read: {e}")))?,
        "EC" => EncodingKey::from_ec_pem(normalize_pem(&signing_key).as_bytes())
            .map_err(|e| failed(format!("the EC private key cannot be read: {e}")))?,
        other => return Err(failed(format!("unsupported signature protocol {other}"))),
    };
    let token = jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| failed(format!("the JWT cannot be signed: {e}")))?;
    Ok(Signed {
        token,
        expires_at: now + lifetime,
    })
}

/// One claim or header value: strings filled (dropped while unresolved), arrays of strings filled and
/// split on commas (dropped when empty), objects filled, other scalars as they are.
pub(super) fn claim(v: &Value, replacers: &Value) -> Option<Value> {
    match v {
        Value::String(s) => {
            let filled = fill(&strip_credentials(s), replacers);
            (!is_unresolved(&filled)).then_some(Value::String(filled))
        }
        Value::Array(items) => {
            let parts: Vec<Value> = items
                .iter()
                .filter_map(Value::as_str)
                .map(|s| fill(&strip_credentials(s), replacers))
                .filter(|s| !is_unresolved(s))
                .flat_map(|s| {
                    s.split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(|p| Value::String(p.to_string()))
                        .collect::<Vec<_>>()
                })
                .collect();
            (!parts.is_empty()).then_some(Value::Array(parts))
        }
        Value::Object(_) => Some(super::template::fill_value(v, replacers)),
        other => Some(other.clone()),
    }
}

/// Snowflake's public-key fingerprint of a PKCS#8 RSA private key: `SHA256:` and the base64 SHA-256
/// of the public key's DER (SubjectPublicKeyInfo).
pub fn public_key_fingerprint(private_pem: &str) -> anyhow::Result<String> {
    use base64::Engine as _;
    use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
    use sha2::Digest as _;
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&normalize_pem(private_pem))?;
    let der = key.to_public_key().to_public_key_der()?;
    Ok(format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(der.as_bytes()))
    ))
}

/// The fields stored beside the token: what was submitted, without the wire's own keys.
pub fn stored_fields(mut dynamic: Map<String, Value>) -> Map<String, Value> {
    for reserved in ["type", "token", "expires_at", "refresh_token", "raw"] {
        dynamic.remove(reserved);
    }
    dynamic
}

/// Ghost Admin's key is `id:secret`; its template reads `privateKey.id` and `privateKey.secret`.
pub fn split_id_secret_key(spec: &JwtSpec, dynamic: &mut Map<String, Value>) {
    let wants_parts = spec.token.signing_key.contains("privateKey.secret");
    if let (true, Some(Value::String(key))) = (wants_parts, dynamic.get("privateKey")) {
        if let Some((id, secret)) = key.split_once(':') {
            let parts = serde_json::json!({"id": id, "secret": secret});
            dynamic.insert("privateKey".into(), parts);
        }
    }
}

/// JWT credentials from the submitted fields: signed now, stored with the fields.
pub fn create(
    raw: &Value,
    mut dynamic: Map<String, Value>,
    connection_config: &BTreeMap<String, String>,
) -> Result<Credentials, ModeError> {
    let spec = JwtSpec::of(raw)
        .ok_or_else(|| failed("the provider's catalog entry has no JWT token/signature block"))?;
    split_id_secret_key(&spec, &mut dynamic);
    let dynamic = stored_fields(dynamic);
    let signed = sign(&spec, &dynamic, connection_config)?;
    Ok(Credentials::Jwt {
        token: signed.token,
        expires_at: Some(crate::time::unix_to_iso(signed.expires_at)),
        fields: dynamic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pem_on_one_line_is_rewrapped() {
        let pem = "-----BEGIN PRIVATE KEY----- AAAA BBBB -----END PRIVATE KEY-----";
        assert_eq!(
            normalize_pem(pem),
            "-----BEGIN PRIVATE KEY-----\nAAAABBBB\n-----END PRIVATE KEY-----\n"
        );
    }

    #[test]
    fn ghost_style_hmac_jwt_carries_kid_and_claims() {
        let raw = json!({
            "signature": {"protocol": "HMAC"},
            "token": {"signing_key": "${credentials.privateKey.secret}", "expires_in_ms": 300000,
                      "header": {"alg": "HS256", "kid": "${credentials.privateKey.id}"},
                      "payload": {"aud": "/admin/", "scope": ["${connectionConfig.scope}"]}}
        });
        let mut dynamic = Map::new();
        dynamic.insert("type".into(), json!("JWT"));
        dynamic.insert("privateKey".into(), json!("abc:00ff"));
        let c = create(&raw, dynamic, &BTreeMap::new()).unwrap();
        let Credentials::Jwt { token, fields, .. } = c else {
            panic!()
        };
        assert_eq!(fields["privateKey"]["id"], "abc");
        assert!(!fields.contains_key("type"));
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some("abc"));
    }
}
