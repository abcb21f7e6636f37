//! SAML 2.0 bearer assertions (RFC 7522) for TWO_STEP providers whose `assertion` block has
//! `type: saml` (SAP SuccessFactors): the server builds the assertion from the block (`issuer`,
//! `nameIdentifier`, `audiences`, `recipient`, `attributes`, `lifetimeInSeconds`, …, filled like
//! every template) and, when the block names a `key`, signs it with an enveloped XML signature:
//! RSA-SHA256 over the exclusive canonical form (`xml-exc-c14n#`) of the `SignedInfo`, whose
//! reference digests the exclusive canonical form of the assertion. The result is posted
//! base64-encoded as `${credentials.assertion}`.
//!
//! Canonicalization is `xml-sec`'s, the XML writer `quick-xml`'s, the hashes and RSA signatures
//! `sha2`'s and `rsa`'s; this module only lays the documented pieces out (the same elements and
//! algorithms as Nango's `xml-crypto` signer, so providers see the same assertion).

use base64::Engine as _;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use serde_json::{Map, Value};

const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// What the assertion says, from the filled catalog block.
#[derive(Debug, Default, Clone)]
pub struct SamlFields {
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub audiences: Vec<String>,
    pub recipient: Option<String>,
    pub in_response_to: Option<String>,
    pub session_index: Option<String>,
    pub authn_context: Option<String>,
    pub lifetime_secs: i64,
    /// Name → values, in catalog order.
    pub attributes: Vec<(String, Vec<String>)>,
}

impl SamlFields {
    /// The fields of a filled `assertion` block (strings already interpolated).
    pub fn from_block(block: &Map<String, Value>) -> Self {
        let text = |k: &str| {
            block
                .get(k)
                .and_then(super::template::scalar)
                .filter(|s| !s.is_empty() && !super::template::is_unresolved(s))
        };
        let attributes = block
            .get("attributes")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(name, v)| {
                        let values = match v {
                            Value::Array(items) => {
                                items.iter().filter_map(super::template::scalar).collect()
                            }
                            other => super::template::scalar(other).into_iter().collect(),
                        };
                        (name.clone(), values)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            issuer: text("issuer").unwrap_or_default(),
            name_id: text("nameIdentifier").unwrap_or_default(),
            name_id_format: text("nameIdentifierFormat"),
            audiences: text("audiences")
                .map(|a| a.split(',').map(|s| s.trim().to_owned()).collect())
                .unwrap_or_default(),
            recipient: text("recipient"),
            in_response_to: text("inResponseTo"),
            session_index: text("sessionIndex"),
            authn_context: text("authnContextClassRef"),
            lifetime_secs: text("lifetimeInSeconds")
                .and_then(|s| s.parse().ok())
                .unwrap_or(300),
            attributes,
        }
    }
}

/// The assertion, base64-encoded: signed with `key` (an RSA private key, PEM) when given.
pub fn assertion(fields: &SamlFields, key: Option<&str>) -> anyhow::Result<String> {
    let now = chrono::Utc::now();
    let id = format!("_{}", uuid::Uuid::new_v4().simple());
    let xml = match key {
        None => document(fields, &id, now, None)?,
        Some(pem) => {
            let key = rsa_key(pem)?;
            let unsigned = document(fields, &id, now, None)?;
            let digest = sha256_b64(&exclusive_c14n(&unsigned)?);
            let signed_info = signed_info(&id, &digest)?;
            let signature = sign(&key, &exclusive_c14n(&signed_info)?)?;
            document(fields, &id, now, Some((&signed_info, &signature)))?
        }
    };
    Ok(base64::engine::general_purpose::STANDARD.encode(xml))
}

/// When a stored assertion stops being valid (its `Conditions/@NotOnOrAfter`, unix seconds).
pub fn not_on_or_after(encoded: &str) -> Option<i64> {
    let xml = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let v = super::xml::from_xml(std::str::from_utf8(&xml).ok()?)?;
    let conditions = v.get("saml:Assertion")?.get("saml:Conditions")?;
    let at = conditions.get("@_NotOnOrAfter")?.as_str()?;
    chrono::DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.timestamp())
}

type Xml = Writer<Vec<u8>>;

fn start(w: &mut Xml, name: &str, attrs: &[(&str, &str)]) -> std::io::Result<()> {
    let mut e = BytesStart::new(name);
    for a in attrs {
        e.push_attribute(*a);
    }
    w.write_event(Event::Start(e))
}

fn end(w: &mut Xml, name: &str) -> std::io::Result<()> {
    w.write_event(Event::End(BytesEnd::new(name)))
}

fn leaf(w: &mut Xml, name: &str, attrs: &[(&str, &str)], text: &str) -> std::io::Result<()> {
    start(w, name, attrs)?;
    if !text.is_empty() {
        w.write_event(Event::Text(BytesText::new(text)))?;
    }
    end(w, name)
}

/// The assertion document; with `signature` (`SignedInfo` and its value), the `ds:Signature` goes
/// right after the `Issuer`, where the SAML schema wants it.
fn document(
    f: &SamlFields,
    id: &str,
    now: chrono::DateTime<chrono::Utc>,
    signature: Option<(&str, &str)>,
) -> anyhow::Result<String> {
    let instant =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let issued = instant(now);
    let until = instant(now + chrono::Duration::seconds(f.lifetime_secs));
    let mut w = Writer::new(Vec::new());
    start(
        &mut w,
        "saml:Assertion",
        &[
            ("xmlns:saml", SAML),
            ("ID", id),
            ("Version", "2.0"),
            ("IssueInstant", &issued),
        ],
    )?;
    leaf(&mut w, "saml:Issuer", &[], &f.issuer)?;
    if let Some((signed_info, value)) = signature {
        start(&mut w, "ds:Signature", &[("xmlns:ds", DSIG)])?;
        // The SignedInfo exactly as it was signed (its own namespace declaration included).
        w.get_mut().extend_from_slice(signed_info.as_bytes());
        leaf(&mut w, "ds:SignatureValue", &[], value)?;
        end(&mut w, "ds:Signature")?;
    }
    start(&mut w, "saml:Subject", &[])?;
    let format = f
        .name_id_format
        .as_deref()
        .unwrap_or("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified");
    leaf(&mut w, "saml:NameID", &[("Format", format)], &f.name_id)?;
    start(
        &mut w,
        "saml:SubjectConfirmation",
        &[("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")],
    )?;
    let mut data: Vec<(&str, &str)> = Vec::new();
    if let Some(r) = &f.recipient {
        data.push(("Recipient", r));
    }
    if let Some(r) = &f.in_response_to {
        data.push(("InResponseTo", r));
    }
    data.push(("NotOnOrAfter", &until));
    leaf(&mut w, "saml:SubjectConfirmationData", &data, "")?;
    end(&mut w, "saml:SubjectConfirmation")?;
    end(&mut w, "saml:Subject")?;

    start(
        &mut w,
        "saml:Conditions",
        &[("NotBefore", &issued), ("NotOnOrAfter", &until)],
    )?;
    if !f.audiences.is_empty() {
        start(&mut w, "saml:AudienceRestriction", &[])?;
        for a in &f.audiences {
            leaf(&mut w, "saml:Audience", &[], a)?;
        }
        end(&mut w, "saml:AudienceRestriction")?;
    }
    end(&mut w, "saml:Conditions")?;

    let mut statement = vec![("AuthnInstant", issued.as_str())];
    if let Some(s) = &f.session_index {
        statement.push(("SessionIndex", s));
    }
    start(&mut w, "saml:AuthnStatement", &statement)?;
    start(&mut w, "saml:AuthnContext", &[])?;
    let class = f
        .authn_context
        .as_deref()
        .unwrap_or("urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified");
    leaf(&mut w, "saml:AuthnContextClassRef", &[], class)?;
    end(&mut w, "saml:AuthnContext")?;
    end(&mut w, "saml:AuthnStatement")?;

    if !f.attributes.is_empty() {
        start(
            &mut w,
            "saml:AttributeStatement",
            &[
                ("xmlns:xs", "http://www.w3.org/2001/XMLSchema"),
                ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            ],
        )?;
        for (name, values) in &f.attributes {
            start(
                &mut w,
                "saml:Attribute",
                &[
                    ("Name", name),
                    (
                        "NameFormat",
                        "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
                    ),
                ],
            )?;
            for v in values {
                leaf(
                    &mut w,
                    "saml:AttributeValue",
                    &[("xsi:type", "xs:string")],
                    v,
                )?;
            }
            end(&mut w, "saml:Attribute")?;
        }
        end(&mut w, "saml:AttributeStatement")?;
    }
    end(&mut w, "saml:Assertion")?;
    Ok(String::from_utf8(w.into_inner())?)
}

/// The `SignedInfo` over the assertion `id` whose canonical form digests to `digest`.
fn signed_info(id: &str, digest: &str) -> anyhow::Result<String> {
    let mut w = Writer::new(Vec::new());
    let uri = format!("#{id}");
    start(&mut w, "ds:SignedInfo", &[("xmlns:ds", DSIG)])?;
    leaf(
        &mut w,
        "ds:CanonicalizationMethod",
        &[("Algorithm", EXC_C14N)],
        "",
    )?;
    leaf(
        &mut w,
        "ds:SignatureMethod",
        &[("Algorithm", RSA_SHA256)],
        "",
    )?;
    start(&mut w, "ds:Reference", &[("URI", &uri)])?;
    start(&mut w, "ds:Transforms", &[])?;
    leaf(&mut w, "ds:Transform", &[("Algorithm", ENVELOPED)], "")?;
    leaf(&mut w, "ds:Transform", &[("Algorithm", EXC_C14N)], "")?;
    end(&mut w, "ds:Transforms")?;
    leaf(&mut w, "ds:DigestMethod", &[("Algorithm", SHA256)], "")?;
    leaf(&mut w, "ds:DigestValue", &[], digest)?;
    end(&mut w, "ds:Reference")?;
    end(&mut w, "ds:SignedInfo")?;
    Ok(String::from_utf8(w.into_inner())?)
}

fn exclusive_c14n(xml: &str) -> anyhow::Result<Vec<u8>> {
    use xml_sec::c14n::{canonicalize_xml, C14nAlgorithm, C14nMode};
    canonicalize_xml(
        xml.as_bytes(),
        &C14nAlgorithm::new(C14nMode::Exclusive1_0, false),
    )
    .map_err(|e| anyhow::anyhow!("canonicalization failed: {e}"))
}

fn sha256_b64(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}

/// RSASSA-PKCS1-v1_5 with SHA-256, base64.
fn sign(key: &rsa::RsaPrivateKey, bytes: &[u8]) -> anyhow::Result<String> {
    use rsa::signature::{SignatureEncoding as _, Signer as _};
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
    let signature = signer.try_sign(bytes)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()))
}

/// An RSA private key from PEM (PKCS#8 or PKCS#1, pasted on one line or not). SAP SuccessFactors
/// hands out its key base64-encoded once more (the PEM body decodes to text starting `MII`): that
/// extra layer is taken off, as Nango does.
fn rsa_key(pem: &str) -> anyhow::Result<rsa::RsaPrivateKey> {
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body: String = pem
        .replace("\\n", "\n")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.split_whitespace())
        .collect();
    let mut der = b64
        .decode(&body)
        .map_err(|_| anyhow::anyhow!("the private key is not PEM"))?;
    if der.starts_with(b"MII") {
        let inner: String = String::from_utf8_lossy(&der)
            .split("###")
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        der = b64.decode(inner)?;
    }
    rsa::RsaPrivateKey::from_pkcs8_der(&der)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_der(&der))
        .map_err(|_| anyhow::anyhow!("the private key is not an RSA key (PKCS#8 or PKCS#1)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> SamlFields {
        SamlFields {
            issuer: "www.successfactors.com".into(),
            name_id: "jdoe".into(),
            audiences: vec!["www.successfactors.com".into()],
            recipient: Some("https://api.example/oauth/token".into()),
            session_index: Some("s-1".into()),
            lifetime_secs: 600,
            attributes: vec![("api_key".into(), vec!["K<&>".into()])],
            ..SamlFields::default()
        }
    }

    #[test]
    fn an_unsigned_assertion_says_what_the_block_says_and_when_it_ends() {
        let encoded = assertion(&fields(), None).unwrap();
        let xml = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(&encoded)
                .unwrap(),
        )
        .unwrap();
        let v = super::super::xml::from_xml(&xml).unwrap();
        let a = &v["saml:Assertion"];
        assert_eq!(a["saml:Issuer"], "www.successfactors.com");
        let name_id = &a["saml:Subject"]["saml:NameID"];
        assert_eq!(name_id["#text"], "jdoe");
        let value = &a["saml:AttributeStatement"]["saml:Attribute"]["saml:AttributeValue"];
        assert_eq!(value["#text"], "K<&>");
        assert_eq!(
            a["saml:Subject"]["saml:SubjectConfirmation"]["saml:SubjectConfirmationData"]
                ["@_Recipient"],
            "https://api.example/oauth/token"
        );
        let ends = not_on_or_after(&encoded).unwrap();
        assert!((ends - chrono::Utc::now().timestamp() - 600).abs() < 5);
        assert!(!xml.contains("ds:Signature"));
    }

    #[test]
    fn a_key_that_is_not_rsa_is_refused() {
        assert!(assertion(
            &fields(),
            Some("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
        )
        .is_err());
    }
}
