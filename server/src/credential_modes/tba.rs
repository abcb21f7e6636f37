//! `auth_mode: TBA` (NetSuite token-based authentication): every proxied request carries an OAuth 1.0a
//! `Authorization` header signed with HMAC-SHA256 from the integration's consumer key and secret (or
//! the connection's `config_override`) and the connection's token id and secret, with the account as
//! `realm` (`1234567-sb1` → `1234567_SB1`), as Nango sends it.
//!
//! The OAuth 1.0a protocol (parameters, nonce, timestamp, signature base string, header) is the
//! `oauth1-request` crate's; it ships HMAC-SHA1 only, so the HMAC-SHA256 method NetSuite requires is
//! plugged in through its `SignatureMethod` extension point with the `hmac` and `sha2` crates.

use base64::Engine as _;
use hmac::Mac as _;
use latchkey_protocol::connection::Credentials;
use oauth1_request as oauth;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt::{Display, Write as _};

/// RFC 5849 §3.6: everything but the unreserved characters is percent-encoded.
const RFC5849: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The `HMAC-SHA256` signature method.
#[derive(Clone, Copy, Debug)]
pub struct HmacSha256;

/// Collects the signature base string, then signs it.
pub struct HmacSha256Sign {
    key: String,
    base: String,
}

impl oauth::signature_method::SignatureMethod for HmacSha256 {
    type Sign = HmacSha256Sign;

    fn sign_with(self, client_secret: &str, token_secret: Option<&str>) -> HmacSha256Sign {
        let key = format!(
            "{}&{}",
            utf8_percent_encode(client_secret, RFC5849),
            utf8_percent_encode(token_secret.unwrap_or_default(), RFC5849)
        );
        HmacSha256Sign {
            key,
            base: String::new(),
        }
    }
}

impl oauth::signature_method::Sign for HmacSha256Sign {
    type Signature = String;

    fn get_signature_method_name(&self) -> &'static str {
        "HMAC-SHA256"
    }

    fn request_method(&mut self, method: &str) {
        self.base.push_str(method);
        self.base.push('&');
    }

    fn uri<T: Display>(&mut self, uri: T) {
        let _ = write!(self.base, "{uri}&");
    }

    fn parameter<V: Display>(&mut self, key: &str, value: V) {
        let _ = write!(self.base, "{key}%3D{value}");
    }

    fn delimiter(&mut self) {
        self.base.push_str("%26");
    }

    fn end(self) -> String {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(self.key.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(self.base.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        utf8_percent_encode(&b64, RFC5849).to_string()
    }
}

/// Signs proxied requests of one TBA connection.
pub struct Signer {
    consumer_key: String,
    consumer_secret: String,
    token_id: String,
    token_secret: String,
    realm: String,
}

impl Signer {
    /// From the connection's credentials, its `accountId`, and the integration's consumer key and
    /// secret (unless the connection overrides them).
    pub fn new(
        credentials: &Credentials,
        account_id: &str,
        integration_key: Option<String>,
        integration_secret: Option<String>,
    ) -> Option<Self> {
        let Credentials::Tba {
            token_id,
            token_secret,
            config_override,
        } = credentials
        else {
            return None;
        };
        let o = config_override.clone().unwrap_or_default();
        Some(Self {
            consumer_key: o.client_id.or(integration_key).unwrap_or_default(),
            consumer_secret: o.client_secret.or(integration_secret).unwrap_or_default(),
            token_id: token_id.clone(),
            token_secret: token_secret.clone(),
            realm: account_id.replacen('-', "_", 1).to_uppercase(),
        })
    }

    /// The `Authorization` header of a `method` request to `url` (its query is signed too).
    pub fn authorization(&self, method: &str, url: &url::Url) -> String {
        let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        pairs.sort();
        let mut bare = url.clone();
        bare.set_query(None);
        bare.set_fragment(None);
        let client =
            oauth::Credentials::new(self.consumer_key.as_str(), self.consumer_secret.as_str());
        let token = oauth::Credentials::new(self.token_id.as_str(), self.token_secret.as_str());
        let mut builder = oauth::Builder::new(client, HmacSha256);
        builder.token(token);
        let params = oauth::ParameterList::new(pairs);
        let header = builder.authorize(&method.to_ascii_uppercase(), bare.as_str(), &params);
        match header.strip_prefix("OAuth ") {
            Some(rest) => format!("OAuth realm=\"{}\",{rest}", self.realm),
            None => header,
        }
    }
}
