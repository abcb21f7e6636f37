//! OAuth 1.0a (RFC 5849; auth mode `OAUTH1`: Trello, Twitter v1, Garmin, SmugMug), issue 15.
//!
//! The popup flow of [`super::flow`] with OAuth 1.0a's three legs:
//! 1. [`request_token`] (at the start): a signed request to the catalog's `request_url` with
//!    `oauth_callback` = our callback URL carrying the attempt's `state` (OAuth 1.0a returns no state
//!    of its own); the temporary credentials' secret is sealed with the attempt.
//! 2. The user authorizes at `authorization_url?oauth_token=…` (plus the catalog's parameters).
//! 3. [`access_token`] (at the callback): the temporary token must be the one we were given, then a
//!    signed request with `oauth_verifier` returns the token credentials, stored as Nango stores them
//!    (`{type: "OAUTH1", oauth_token, oauth_token_secret, raw}`; never refreshed).
//!
//! Requests through the proxy are signed by [`authorization`]. Signing (HMAC-SHA1 or PLAINTEXT, the
//! catalog's `signature_method`) is done by the `oauth1-request` crate; this module only gathers the
//! parameters: the query of the URL and, for `application/x-www-form-urlencoded` bodies, the body's
//! (RFC 5849 §3.4.1.3.1), decoded here and encoded again by the crate.

use super::flow::FlowFailure;
use crate::catalog::{interpolate_params, Provider};
use crate::oauth::flow::Flows;
use crate::outbound::{read_capped, OutboundClient, TOKEN_BODY_LIMIT};
use crate::secret::Secret;
use latchkey_protocol::ErrorCode;
use oauth1_request as oauth;
use std::collections::BTreeMap;

/// The consumer (the integration's client) and, once issued, the token.
pub struct Signer<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a Secret,
    pub token: Option<(&'a str, &'a str)>,
    pub callback: Option<&'a str>,
    pub verifier: Option<&'a str>,
    /// The catalog's `signature_method` (HMAC-SHA1 when absent).
    pub method: Option<&'a str>,
}

/// The `Authorization` header of a request: `url` may carry a query; `form` is the body when it is
/// `application/x-www-form-urlencoded`.
pub fn authorization(
    signer: &Signer<'_>,
    http_method: &str,
    url: &url::Url,
    form: Option<&[u8]>,
) -> Result<String, String> {
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if let Some(body) = form {
        params.extend(
            url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    let list = oauth::ParameterList::new(params);
    let method = http_method.to_ascii_uppercase();
    match signer.method.unwrap_or("HMAC-SHA1") {
        "HMAC-SHA1" => Ok(sign(
            signer,
            oauth::HMAC_SHA1,
            &method,
            base.as_str(),
            &list,
        )),
        "PLAINTEXT" => Ok(encode_plaintext_signature(sign(
            signer,
            oauth::PLAINTEXT,
            &method,
            base.as_str(),
            &list,
        ))),
        other => Err(format!("unsupported OAuth 1.0a signature method {other}")),
    }
}

/// `oauth1-request` 0.6 writes a PLAINTEXT signature (`encode(consumer secret)&encode(token
/// secret)`) into the header without encoding it as a header parameter value (RFC 5849 §3.5.1; the
/// RFC's own example in §3.4.4 reads `oauth_signature="ja893SD9%26xyz4992k83j47x0b"`), so a provider
/// decoding the header sees a different key. The value is encoded here, with the RFC's unreserved set.
fn encode_plaintext_signature(header: String) -> String {
    const KEY: &str = "oauth_signature=\"";
    let Some(start) = header.find(KEY).map(|i| i + KEY.len()) else {
        return header;
    };
    let Some(len) = header[start..].find('"') else {
        return header;
    };
    let encoded = percent_encoding::utf8_percent_encode(&header[start..start + len], UNRESERVED);
    format!("{}{encoded}{}", &header[..start], &header[start + len..])
}

/// RFC 5849 §3.6: everything but ALPHA, DIGIT, `-`, `.`, `_` and `~` is encoded.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn sign<SM: oauth::signature_method::SignatureMethod + Clone>(
    signer: &Signer<'_>,
    sm: SM,
    method: &str,
    base: &str,
    list: &oauth::ParameterList<String, String>,
) -> String {
    let client = oauth::Credentials::new(signer.consumer_key, signer.consumer_secret.expose());
    let mut builder = oauth::Builder::<_, _, &str>::new(client, sm);
    if let Some((token, secret)) = signer.token {
        builder.token(oauth::Credentials::new(token, secret));
    }
    builder.callback(signer.callback);
    builder.verifier(signer.verifier);
    builder.authorize(method, base, list)
}

/// Temporary or token credentials as a provider answers them (form-encoded), with the whole answer.
pub struct Answer {
    pub token: String,
    pub secret: String,
    pub raw: serde_json::Value,
}

/// A signed `POST` (or the catalog's method) with `params` in the body (or the query for `GET`).
async fn signed_call(
    client: &OutboundClient,
    signer: &Signer<'_>,
    http_method: Option<&str>,
    url: &str,
    params: &BTreeMap<String, String>,
) -> Result<Answer, String> {
    let method = http_method.unwrap_or("POST").to_ascii_uppercase();
    let mut target = url::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
    let body = (method != "GET").then(|| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish()
    });
    if method == "GET" {
        target.query_pairs_mut().extend_pairs(params);
    }
    let auth = authorization(signer, &method, &target, body.as_deref().map(str::as_bytes))?;
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let mut req = client
        .request(method, target.as_str())
        .map_err(|e| e.to_string())?
        .header(reqwest::header::AUTHORIZATION, auth);
    if let Some(body) = body {
        req = req
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
    }
    let response = req
        .send()
        .await
        .map_err(|e| crate::outbound::OutboundError::from(e).to_string())?;
    let status = response.status();
    let bytes = read_capped(response, TOKEN_BODY_LIMIT)
        .await
        .map_err(|e| e.to_string())?;
    if !status.is_success() {
        // The provider's words are not shown (they may echo the request); the status is.
        return Err(format!("the provider answered {status}"));
    }
    let fields: BTreeMap<String, String> = url::form_urlencoded::parse(&bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let token = fields.get("oauth_token").cloned().unwrap_or_default();
    let secret = fields
        .get("oauth_token_secret")
        .cloned()
        .unwrap_or_default();
    if token.is_empty() || secret.is_empty() {
        return Err("the provider's answer has no oauth_token and oauth_token_secret".into());
    }
    Ok(Answer {
        token,
        secret,
        raw: serde_json::to_value(&fields).expect("map serializes"),
    })
}

/// Leg 1: temporary credentials, with `callback` (our callback URL with the attempt's `state`).
pub async fn request_token(
    client: &OutboundClient,
    provider: &Provider,
    connection_config: &BTreeMap<String, String>,
    consumer_key: &str,
    consumer_secret: &Secret,
    callback: &str,
) -> Result<Answer, FlowFailure> {
    let url = provider.request_url.as_deref().ok_or_else(|| {
        FlowFailure::new(
            ErrorCode::ProviderConfigErr,
            "The provider has no request token URL.",
        )
    })?;
    let params = interpolate_params(&provider.request_params, connection_config).map_err(|m| {
        FlowFailure::new(
            ErrorCode::UrlParamErr,
            format!("Missing Connection Config param(s): {}", m.0.join(", ")),
        )
    })?;
    let signer = Signer {
        consumer_key,
        consumer_secret,
        token: None,
        callback: Some(callback),
        verifier: None,
        method: provider.signature_method.as_deref(),
    };
    signed_call(
        client,
        &signer,
        provider.request_http_method.as_deref(),
        url,
        &params,
    )
    .await
    .map_err(|e| {
        FlowFailure::new(
            ErrorCode::TokenErr,
            format!("The provider did not issue a request token: {e}"),
        )
    })
}

/// Leg 3: token credentials for the authorized temporary token.
pub async fn access_token(
    client: &OutboundClient,
    provider: &Provider,
    token_url: &str,
    consumer_key: &str,
    consumer_secret: &Secret,
    temporary: (&str, &str),
    verifier: &str,
) -> Result<Answer, String> {
    let signer = Signer {
        consumer_key,
        consumer_secret,
        token: Some(temporary),
        callback: None,
        verifier: Some(verifier),
        method: provider.signature_method.as_deref(),
    };
    signed_call(
        client,
        &signer,
        provider.token_http_method.as_deref(),
        token_url,
        &BTreeMap::new(),
    )
    .await
}

/// The user's authorization URL: `authorization_url?oauth_token=…`, the scopes (`scope`) and the
/// catalog's and caller's authorization parameters.
pub fn authorize_url(
    authorization_url: &str,
    temporary_token: &str,
    scopes: &[String],
    separator: &str,
    params: &BTreeMap<String, String>,
) -> Result<String, FlowFailure> {
    let mut url = url::Url::parse(authorization_url).map_err(|e| {
        FlowFailure::new(
            ErrorCode::ProviderConfigErr,
            format!("The provider's authorization URL is invalid: {e}"),
        )
    })?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("oauth_token", temporary_token);
        if !scopes.is_empty() {
            q.append_pair("scope", &scopes.join(separator));
        }
        for (k, v) in params {
            if k != "oauth_token" {
                q.append_pair(k, v);
            }
        }
    }
    Ok(url.to_string())
}

/// The start of an OAuth 1.0a flow: temporary credentials requested with our callback (carrying
/// `state`), and the URL the user authorizes them at. Returns that URL and the temporary credentials
/// (sealed with the attempt by the caller).
pub async fn start(
    flows: &Flows<'_>,
    provider: &Provider,
    connection_config: &BTreeMap<String, String>,
    (consumer_key, consumer_secret): (&str, &Secret),
    (callback_url, state): (&str, &str),
    (authorization_url, scopes, separator): (&str, &[String], &str),
    authorization_params: &BTreeMap<String, String>,
) -> Result<(String, (String, String)), FlowFailure> {
    let mut callback = url::Url::parse(callback_url).map_err(|e| {
        FlowFailure::new(
            ErrorCode::ProviderConfigErr,
            format!("The callback URL is invalid: {e}"),
        )
    })?;
    callback.query_pairs_mut().append_pair("state", state);
    let temporary = request_token(
        flows.upstream.outbound,
        provider,
        connection_config,
        consumer_key,
        consumer_secret,
        callback.as_str(),
    )
    .await?;
    let url = authorize_url(
        authorization_url,
        &temporary.token,
        scopes,
        separator,
        authorization_params,
    )?;
    Ok((url, (temporary.token, temporary.secret)))
}

/// The callback of an OAuth 1.0a flow: checks that the provider returned the temporary token we were
/// given, and exchanges it with the verifier for token credentials.
pub async fn complete(
    flows: &Flows<'_>,
    provider: &Provider,
    integration: &crate::storage::IntegrationRow,
    connection_config: &BTreeMap<String, String>,
    temporary: &Option<(String, String)>,
    callback: &BTreeMap<String, String>,
) -> Result<latchkey_protocol::connection::Credentials, FlowFailure> {
    let callback_err = |m: &str| FlowFailure::new(ErrorCode::CallbackErr, m);
    let (token, secret) = temporary
        .as_ref()
        .ok_or_else(|| callback_err("This authorization did not start as OAuth 1.0a."))?;
    let returned = callback.get("oauth_token").map(String::as_str);
    let verifier = callback
        .get("oauth_verifier")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            callback_err(
                "Did not get oauth_token and oauth_verifier in the callback (was access denied?).",
            )
        })?;
    if !returned.is_some_and(|r| crate::crypto::secrets_equal(r, token)) {
        return Err(callback_err(
            "The callback's oauth_token is not the one this authorization was given.",
        ));
    }
    let token_url = super::flow::token_url_template(provider).ok_or_else(|| {
        FlowFailure::new(
            ErrorCode::ProviderConfigErr,
            "The provider has no token URL.",
        )
    })?;
    let trusted = connection_config.keys().cloned().collect();
    let token_url =
        crate::catalog::interpolate_secret_url(token_url, connection_config, provider, &trusted)
            .map_err(|e| FlowFailure::new(ErrorCode::UrlParamErr, e.to_string()))?;
    let consumer_secret = crate::integration_config::client_secret(flows.cipher, integration)
        .map_err(|e| {
            tracing::error!(error = %e, "cannot open an integration secret");
            FlowFailure::new(
                ErrorCode::UnknownErr,
                "Unknown error during the OAuth flow. Please try again.",
            )
        })?;
    let consumer_key = integration.client_id.clone().unwrap_or_default();
    let answer = access_token(
        flows.upstream.outbound,
        provider,
        &token_url,
        &consumer_key,
        &consumer_secret,
        (token, secret),
        verifier,
    )
    .await
    .map_err(|e| {
        FlowFailure::new(
            ErrorCode::TokenErr,
            format!("The provider did not issue a token: {e}"),
        )
    })?;
    Ok(latchkey_protocol::connection::Credentials::OAuth1 {
        oauth_token: answer.token,
        oauth_token_secret: answer.secret,
        raw: answer.raw,
    })
}

/// An OAuth 1.0a integration's consumer, as the proxy signs with it: read once per proxied call, and
/// each attempt (a retry, a new URL) signed anew with [`Consumer::authorization`].
pub struct Consumer {
    key: String,
    secret: Secret,
    /// The catalog's `signature_method`.
    method: Option<String>,
}

impl Consumer {
    /// The consumer of `row`'s integration.
    pub async fn of(
        (store, catalog, cipher): (
            &crate::storage::Store,
            &crate::catalog::Catalog,
            &crate::crypto::Cipher,
        ),
        row: &crate::storage::ConnectionRow,
    ) -> Result<Self, String> {
        let integration = store
            .integration(row.environment_id, &row.provider_config_key)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the integration no longer exists")?;
        let secret = crate::integration_config::client_secret(cipher, &integration)
            .map_err(|e| e.to_string())?;
        let method = catalog
            .get(&integration.provider)
            .and_then(|e| e.provider.as_ref())
            .and_then(|p| p.signature_method.clone());
        Ok(Self {
            key: integration.client_id.unwrap_or_default(),
            secret,
            method,
        })
    }

    /// The `Authorization` header of a proxied request of an OAuth 1.0a connection, signed with
    /// this consumer and the connection's token credentials.
    pub fn authorization(
        &self,
        credentials: &latchkey_protocol::connection::Credentials,
        http_method: &str,
        url: &url::Url,
        form: Option<&[u8]>,
    ) -> Result<reqwest::header::HeaderValue, String> {
        let latchkey_protocol::connection::Credentials::OAuth1 {
            oauth_token,
            oauth_token_secret,
            ..
        } = credentials
        else {
            return Err("not an OAuth 1.0a connection".into());
        };
        let signer = Signer {
            consumer_key: &self.key,
            consumer_secret: &self.secret,
            token: Some((oauth_token, oauth_token_secret)),
            callback: None,
            verifier: None,
            method: self.method.as_deref(),
        };
        let header = authorization(&signer, http_method, url, form)?;
        reqwest::header::HeaderValue::from_str(&header).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5849 §3.4.1 example request (with its nonce and timestamp fixed by the crate's builder
    /// would be needed for an exact signature); here: the header names every protocol parameter and
    /// PLAINTEXT signs with `consumer_secret&token_secret`.
    #[test]
    fn plaintext_signature_is_the_encoded_secrets() {
        let secret = Secret::new("kd94hf93k423kf44");
        let signer = Signer {
            consumer_key: "dpf43f3p2l4k3l03",
            consumer_secret: &secret,
            token: Some(("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00")),
            callback: None,
            verifier: None,
            method: Some("PLAINTEXT"),
        };
        let url = url::Url::parse("https://photos.example.net/photos?file=vacation.jpg").unwrap();
        let header = authorization(&signer, "get", &url, None).unwrap();
        assert!(header.starts_with("OAuth "), "{header}");
        assert!(header.contains(r#"oauth_signature_method="PLAINTEXT""#));
        assert!(
            header.contains(r#"oauth_signature="kd94hf93k423kf44%26pfkkdhi9sl3r4s00""#),
            "{header}"
        );
        // Secrets with reserved characters: encoded once for the key, once more for the header.
        let odd = Secret::new("s3 &/=");
        let odd_header = authorization(
            &Signer {
                consumer_secret: &odd,
                token: None,
                ..signer
            },
            "POST",
            &url::Url::parse("https://a.example/b").unwrap(),
            None,
        )
        .unwrap();
        assert!(
            odd_header.contains(r#"oauth_signature="s3%2520%2526%252F%253D%26""#),
            "{odd_header}"
        );
        assert!(header.contains(r#"oauth_token="nnch734d00sl2jdk""#));
        let unknown = Signer {
            method: Some("RSA-SHA512"),
            ..signer
        };
        assert!(authorization(&unknown, "GET", &url, None).is_err());
    }
}
