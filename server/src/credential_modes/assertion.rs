//! TWO_STEP providers that authenticate with a signed assertion (the catalog's `assertion` block):
//! before the token request the server signs a JWT (`type: jwt`: `header`, `payload`, `key`,
//! `lifetimeInSeconds`; Apple Business Manager, Epic, Microsoft with a certificate, NetSuite client
//! credentials, Workday Adaptive Planning) or a SAML 2.0 bearer assertion (`type: saml`, SAP
//! SuccessFactors, see [`super::saml`]) and posts it as `${credentials.assertion}`.
//!
//! As in Nango, the assertion is stored with the connection and reused while it is valid (Apple's
//! lives 180 days), and the key the end user hands over as `assertionOption` (`assertion_option` in
//! the catalog) is used once and never stored: such a connection renews its token with the stored
//! assertion until that expires. A provider marked `singleUse` (Epic: each assertion's `jti` may be
//! presented once) gets a new assertion for every token request. Signing is `jsonwebtoken`'s.

use super::jwt::claim;
use super::template::{fill, is_unresolved, strip_credentials, strip_value};
use crate::connections::ModeError;
use crate::crypto::normalize_pem;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use latchkey_protocol::ErrorCode;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A stored assertion this close to its `exp` is signed again (Nango's margin).
const MARGIN_SECS: i64 = 60;

/// The catalog's `assertion` block.
#[derive(Debug, Clone, Deserialize)]
pub struct AssertionSpec {
    /// `jwt` or `saml`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub header: Map<String, Value>,
    #[serde(default)]
    pub payload: Map<String, Value>,
    /// A number or a numeric string in the catalog; Nango's default is an hour.
    #[serde(default, rename = "lifetimeInSeconds")]
    pub lifetime: Option<Value>,
    #[serde(default, rename = "singleUse")]
    pub single_use: bool,
    /// The whole block (a SAML assertion's fields are read from it once filled).
    #[serde(skip)]
    pub block: Map<String, Value>,
}

impl AssertionSpec {
    pub fn of(raw: &Value) -> Option<Result<Self, ModeError>> {
        let block = raw.get("assertion")?.as_object()?;
        let spec = serde_json::from_value::<Self>(Value::Object(block.clone()))
            .map(|spec| Self {
                block: block.clone(),
                ..spec
            })
            .map_err(|e| {
                failed(format!(
                    "the provider's assertion block cannot be read: {e}"
                ))
            });
        Some(spec)
    }

    fn lifetime_secs(&self) -> i64 {
        self.lifetime
            .as_ref()
            .and_then(super::template::scalar)
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(3600)
    }
}

fn failed(message: impl Into<String>) -> ModeError {
    ModeError::Coded(ErrorCode::FailedToGenerate, message.into())
}

/// Puts a valid assertion into `dynamic["assertion"]`: the stored one while it has more than a
/// minute left (unless the provider wants a new one each time), else a newly signed one.
/// `option` holds the `assertionOption` values submitted with the credentials (never stored).
pub fn ensure(
    spec: &AssertionSpec,
    dynamic: &mut Map<String, Value>,
    option: &Map<String, Value>,
    connection_config: &BTreeMap<String, String>,
) -> Result<(), ModeError> {
    let now = crate::time::real_unix();
    let stored = dynamic.get("assertion").and_then(Value::as_str);
    let expires = match spec.kind.as_str() {
        "jwt" => stored.and_then(super::two_step::jwt_exp),
        "saml" => stored.and_then(super::saml::not_on_or_after),
        other => {
            return Err(failed(format!(
                "assertions of type {other} are not supported"
            )))
        }
    };
    let still_valid = expires.is_some_and(|exp| exp - MARGIN_SECS > now);
    if still_valid && !spec.single_use {
        return Ok(());
    }
    let replacers = replacers(dynamic, option, connection_config);
    let token = if spec.kind == "saml" {
        saml(spec, &replacers)?
    } else {
        sign(spec, &replacers, now)?
    };
    dynamic.insert("assertion".into(), Value::String(token));
    Ok(())
}

/// What the block's templates are filled from: the submitted fields, `connectionConfig` and
/// `assertionOption`.
fn replacers(
    dynamic: &Map<String, Value>,
    option: &Map<String, Value>,
    connection_config: &BTreeMap<String, String>,
) -> Value {
    let mut replacers = super::two_step::replacers(dynamic, connection_config, &[]);
    if let Value::Object(r) = &mut replacers {
        r.remove("assertion");
        r.insert("assertionOption".into(), Value::Object(option.clone()));
    }
    replacers
}

/// The key a template names, filled; an error when it names one that was not given.
fn key_material(template: &str, replacers: &Value) -> Result<String, ModeError> {
    let pem = fill(&strip_credentials(template), replacers);
    if pem.trim().is_empty() || is_unresolved(&pem) {
        return Err(failed(
            "the private key to sign the assertion with is missing (it is asked once, with the \
             credentials, and not stored: connect again to renew an expired assertion)",
        ));
    }
    Ok(pem)
}

/// A SAML bearer assertion from the filled block, signed when the block names a key.
fn saml(spec: &AssertionSpec, replacers: &Value) -> Result<String, ModeError> {
    let mut filled = Map::new();
    for (k, v) in &spec.block {
        let v = match v {
            Value::String(s) => Value::String(fill(&strip_credentials(s), replacers)),
            Value::Object(_) => super::template::fill_value(&strip_value(v), replacers),
            other => other.clone(),
        };
        filled.insert(k.clone(), v);
    }
    let key = match spec.block.get("key").and_then(Value::as_str) {
        Some(template) => Some(key_material(template, replacers)?),
        None => None,
    };
    let fields = super::saml::SamlFields::from_block(&filled);
    super::saml::assertion(&fields, key.as_deref())
        .map_err(|e| failed(format!("the SAML assertion cannot be signed: {e}")))
}

/// The signed JWT: `iat`/`exp` from now and the lifetime, the catalog's claims and header filled
/// from the submitted fields, the connection config and `assertionOption`.
fn sign(spec: &AssertionSpec, replacers: &Value, now: i64) -> Result<String, ModeError> {
    let mut header = Map::new();
    for (k, v) in &spec.header {
        if let Some(v) = claim(v, replacers) {
            header.insert(k.clone(), v);
        }
    }
    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| failed("the provider's assertion header names no algorithm"))?
        .to_owned();
    let alg = alg_name
        .parse::<Algorithm>()
        .map_err(|_| failed(format!("unsupported assertion algorithm {alg_name}")))?;
    let header: Header = serde_json::from_value(Value::Object(header))
        .map_err(|e| failed(format!("the provider's assertion header is invalid: {e}")))?;

    let mut claims = Map::new();
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + spec.lifetime_secs()).into());
    for (k, v) in &spec.payload {
        if let Some(v) = claim(v, replacers) {
            claims.insert(k.clone(), v);
        }
    }

    let pem = key_material(&spec.key, replacers)?;
    let pem = normalize_pem(&pem);
    let key = match alg {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem.as_bytes()),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            Ok(EncodingKey::from_secret(pem.as_bytes()))
        }
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
    }
    .map_err(|e| failed(format!("the private key cannot be read ({alg_name}): {e}")))?;
    jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| failed(format!("the assertion cannot be signed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A throwaway P-256 key pair (PKCS#8 PEM and the matching verifier), made for this test only.
    fn ec_key() -> (String, jsonwebtoken::DecodingKey) {
        use base64::Engine as _;
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING as P256};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&P256, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&P256, pkcs8.as_ref(), &rng).unwrap();
        let private = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));
        // The uncompressed point: 0x04, x, y.
        let point = pair.public_key().as_ref();
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let public =
            jsonwebtoken::DecodingKey::from_ec_components(&b64(&point[1..33]), &b64(&point[33..]))
                .unwrap();
        (private, public)
    }

    fn apple_like(single_use: bool) -> AssertionSpec {
        serde_json::from_value(json!({
            "type": "jwt", "key": "${assertionOption.privateKey}", "lifetimeInSeconds": "600",
            "singleUse": single_use,
            "header": {"alg": "ES256", "kid": "${credentials.keyId}"},
            "payload": {"iss": "${credentials.clientId}", "sub": "${credentials.clientId}",
                        "aud": "https://${connectionConfig.host}/token", "jti": "${random}",
                        "scope": "${credentials.missing}"}
        }))
        .unwrap()
    }

    #[test]
    fn signs_a_verifiable_assertion_and_reuses_it_while_valid() {
        let (private, public) = ec_key();
        let spec = apple_like(false);
        let mut dynamic = Map::new();
        dynamic.insert("clientId".into(), json!("BUSINESSAPI.1"));
        dynamic.insert("keyId".into(), json!("K1"));
        let option: Map<String, Value> = [("privateKey".to_string(), json!(private))]
            .into_iter()
            .collect();
        let config: BTreeMap<String, String> = [("host".into(), "p.example".into())].into();
        ensure(&spec, &mut dynamic, &option, &config).unwrap();
        let token = dynamic["assertion"].as_str().unwrap().to_string();

        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.set_audience(&["https://p.example/token"]);
        validation.set_issuer(&["BUSINESSAPI.1"]);
        let data = jsonwebtoken::decode::<Value>(&token, &public, &validation).unwrap();
        assert_eq!(data.header.kid.as_deref(), Some("K1"));
        let c = data.claims;
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
        assert_eq!(c["jti"].as_str().unwrap().len(), 36);
        assert!(c.get("scope").is_none(), "an unresolved claim is left out");

        // Valid: kept, even without the key (it is not stored).
        ensure(&spec, &mut dynamic, &Map::new(), &config).unwrap();
        assert_eq!(dynamic["assertion"], token.as_str());
        // Single use: a new one each time (here it needs the key again).
        let e = ensure(&apple_like(true), &mut dynamic, &Map::new(), &config).unwrap_err();
        assert!(e.to_string().contains("not stored"), "{e}");
        ensure(&apple_like(true), &mut dynamic, &option, &config).unwrap();
        assert_ne!(dynamic["assertion"], token.as_str());
    }

    #[test]
    fn a_saml_assertion_is_made_from_the_filled_block_and_reused_while_valid() {
        let raw = json!({"assertion": {"type": "saml", "issuer": "www.successfactors.com",
            "nameIdentifier": "${assertionOption.userName}", "lifetimeInSeconds": "600",
            "recipient": "https://${connectionConfig.apiServer}/oauth/token",
            "attributes": {"api_key": "${credentials.apiKey}"}}});
        let spec = AssertionSpec::of(&raw).unwrap().unwrap();
        let mut dynamic = Map::new();
        dynamic.insert("apiKey".into(), json!("K1"));
        let option: Map<String, Value> = [("userName".to_string(), json!("jdoe"))]
            .into_iter()
            .collect();
        let config: BTreeMap<String, String> =
            [("apiServer".into(), "api.sf.example".into())].into();
        ensure(&spec, &mut dynamic, &option, &config).unwrap();
        let made = dynamic["assertion"].as_str().unwrap().to_string();
        use base64::Engine as _;
        let xml = base64::engine::general_purpose::STANDARD
            .decode(&made)
            .unwrap();
        let xml = String::from_utf8(xml).unwrap();
        assert!(xml.contains(">jdoe</saml:NameID>"), "{xml}");
        assert!(
            xml.contains(r#"Recipient="https://api.sf.example/oauth/token""#),
            "{xml}"
        );
        assert!(xml.contains(">K1</saml:AttributeValue>"), "{xml}");
        ensure(&spec, &mut dynamic, &Map::new(), &config).unwrap();
        assert_eq!(dynamic["assertion"], made.as_str(), "kept while valid");
    }
}
