//! `auth_mode: AWS_SIGV4` (Nango's `aws-sigv4` provider): the end user gives the ARN of an IAM role
//! their AWS account lets the integration owner assume; the server gets temporary credentials for it
//! from STS and signs every proxied request with them (AWS Signature Version 4, by the `aws-sigv4`
//! crate), fetching new ones before they expire.
//!
//! The integration owner's settings are the integration's `integration_config`
//! ([`crate::integration_config`]), as in Nango: `service` (what requests are signed for),
//! `defaultRegion`, and how temporary credentials are issued — `stsMode: builtin` (AssumeRole at AWS
//! STS, signed with the owner's `awsAccessKeyId`/`awsSecretAccessKey`) or `custom` (a JSON POST of
//! `{role_arn, external_id, region, service}` to the owner's `stsEndpointUrl`, optionally with an API
//! key header or Basic auth). A new connection is checked with STS `GetCallerIdentity` (the assumed
//! role must be the one named). STS lives at `LATCHKEY_AWS_STS_URL` (`{region}` in it).

use crate::connections::ModeError;
use crate::outbound::Upstream;
use latchkey_protocol::connection::Credentials;
use latchkey_protocol::ErrorCode;
use std::collections::BTreeMap;
use std::time::SystemTime;

fn coded(code: ErrorCode, m: impl Into<String>) -> ModeError {
    ModeError::Coded(code, m.into())
}

/// How the Basic or API-key authentication of a custom STS endpoint is sent.
enum StsAuth {
    ApiKey { header: String, value: String },
    Basic { username: String, password: String },
}

enum Sts {
    Builtin {
        access_key_id: String,
        secret_access_key: String,
    },
    Custom {
        url: String,
        auth: Option<StsAuth>,
    },
}

/// The integration's AWS SigV4 settings (Nango's `getAwsSigV4Settings`).
pub struct Settings {
    pub service: String,
    pub default_region: Option<String>,
    sts: Sts,
}

/// Reads the settings from the integration's `integration_config` values.
pub fn settings(custom: &BTreeMap<String, String>) -> Result<Settings, ModeError> {
    let get = |k: &str| custom.get(k).filter(|v| !v.is_empty()).cloned();
    let service = get("service").ok_or_else(|| {
        coded(
            ErrorCode::MissingAwsSigv4Service,
            "AWS SigV4 integration is missing the target AWS service.",
        )
    })?;
    let sts = if custom.get("stsMode").map(String::as_str) == Some("builtin") {
        match (get("awsAccessKeyId"), get("awsSecretAccessKey")) {
            (Some(access_key_id), Some(secret_access_key)) => Sts::Builtin {
                access_key_id,
                secret_access_key,
            },
            _ => {
                return Err(coded(
                    ErrorCode::MissingAwsSigv4BuiltinCredentials,
                    "AWS SigV4 built-in mode requires AWS Access Key ID and Secret Access Key.",
                ))
            }
        }
    } else {
        let url = get("stsEndpointUrl").ok_or_else(|| {
            coded(
                ErrorCode::MissingAwsSigv4StsEndpoint,
                "AWS SigV4 integration is missing the STS endpoint configuration.",
            )
        })?;
        let invalid = |m: &str| coded(ErrorCode::InvalidAwsSigv4Config, m);
        let auth = match get("stsAuthType").as_deref() {
            Some("api_key") => Some(StsAuth::ApiKey {
                header: get("stsAuthHeader").unwrap_or_else(|| "x-api-key".into()),
                value: get("stsApiKey").ok_or_else(|| {
                    invalid("STS API key is required when STS auth type is api_key")
                })?,
            }),
            Some("basic") => Some(StsAuth::Basic {
                username: get("stsAuthUsername").unwrap_or_default(),
                password: get("stsAuthPassword").ok_or_else(|| {
                    invalid("STS password is required when STS auth type is basic")
                })?,
            }),
            _ => None,
        };
        Sts::Custom { url, auth }
    };
    Ok(Settings {
        service,
        default_region: get("defaultRegion"),
        sts,
    })
}

/// AWS region tokens (`us-east-1`, `us-gov-west-1`): the region goes into STS and proxy host names, so
/// anything else could re-point the host (an SSRF guard, as Nango's).
pub fn valid_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// External ids as STS accepts them: 2–1224 characters of `[a-zA-Z0-9+=,.@:/-]`.
pub fn valid_external_id(id: &str) -> bool {
    (2..=1224).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/-".contains(&b))
}

/// What the connection's credentials are fetched for.
pub struct Role<'a> {
    pub role_arn: &'a str,
    pub external_id: &'a str,
    pub region: &'a str,
}

/// Temporary credentials from STS.
struct Temporary {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expires_at: String,
}

fn sts_url(upstream: Upstream<'_>, region: &str) -> String {
    upstream.aws_sts_url.replace("{region}", region)
}

fn sts_failed(m: impl Into<String>) -> ModeError {
    coded(ErrorCode::AwsSigv4StsRequestFailed, m)
}

/// Temporary credentials for `role`, as stored (Nango's `AwsSigV4Credentials`).
pub async fn fetch(
    upstream: Upstream<'_>,
    settings: &Settings,
    role: Role<'_>,
) -> Result<Credentials, ModeError> {
    let temporary = match &settings.sts {
        Sts::Builtin {
            access_key_id,
            secret_access_key,
        } => assume_role(upstream, access_key_id, secret_access_key, &role).await?,
        Sts::Custom { url, auth } => {
            custom_sts(upstream, url, auth.as_ref(), settings, &role).await?
        }
    };
    let raw = serde_json::json!({
        "access_key_id": temporary.access_key_id,
        "secret_access_key": temporary.secret_access_key,
        "session_token": temporary.session_token,
        "expires_at": temporary.expires_at,
    });
    Ok(Credentials::AwsSigV4 {
        role_arn: role.role_arn.to_string(),
        region: role.region.to_string(),
        service: settings.service.clone(),
        access_key_id: temporary.access_key_id,
        secret_access_key: temporary.secret_access_key,
        session_token: temporary.session_token,
        expires_at: Some(temporary.expires_at),
        external_id: Some(role.external_id.to_string()),
        raw,
    })
}

/// An `Expiration` as ISO-8601 UTC: RFC 3339, or Unix seconds or milliseconds (custom endpoints
/// vary); an hour from now when missing, as Nango.
fn expiry(value: Option<&serde_json::Value>) -> String {
    let now = crate::time::real_unix();
    let secs = match value {
        Some(serde_json::Value::Number(n)) => {
            n.as_i64()
                .map(|n| if n < 1_000_000_000_000 { n } else { n / 1000 })
        }
        Some(serde_json::Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp()),
        _ => None,
    };
    crate::time::unix_to_iso(secs.unwrap_or(now + 3600))
}

/// The text of the first `<tag>` of an STS XML answer, wherever it is nested.
fn xml_tag(xml: &str, tag: &str) -> Option<String> {
    super::xml::find_text(&super::xml::from_xml(xml)?, tag)
}

async fn read(res: reqwest::Response) -> Result<(reqwest::StatusCode, String), ModeError> {
    let status = res.status();
    let bytes = crate::outbound::read_capped(res, crate::outbound::TOKEN_BODY_LIMIT)
        .await
        .map_err(|e| sts_failed(format!("STS request failed: {e}")))?;
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// STS `AssumeRole`, signed with the integration owner's long-lived keys.
async fn assume_role(
    upstream: Upstream<'_>,
    access_key_id: &str,
    secret_access_key: &str,
    role: &Role<'_>,
) -> Result<Temporary, ModeError> {
    let url = format!("{}/", sts_url(upstream, role.region).trim_end_matches('/'));
    let session = format!("latchkey-{}", &crate::crypto::random_hex_256()[..16]);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "AssumeRole")
        .append_pair("RoleArn", role.role_arn)
        .append_pair("ExternalId", role.external_id)
        .append_pair("RoleSessionName", &session)
        .append_pair("DurationSeconds", "3600")
        .append_pair("Version", "2011-06-15")
        .finish();
    let key = Key {
        access_key_id,
        secret_access_key,
        session_token: None,
        region: role.region,
        service: "sts",
    };
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let signed = sign(&key, "POST", &url, &headers, Some(body.as_bytes()))
        .map_err(|e| sts_failed(format!("STS request failed: {e}")))?;
    let mut req = upstream
        .outbound
        .post(&url)
        .map_err(|e| sts_failed(format!("STS request failed: {e}")))?
        .body(body);
    for (name, value) in headers
        .iter()
        .copied()
        .chain(signed.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    {
        req = req.header(name, value);
    }
    let res = req
        .send()
        .await
        .map_err(|e| sts_failed(format!("STS cannot be reached: {}", e.without_url())))?;
    let (status, text) = read(res).await?;
    if !status.is_success() {
        let why = xml_tag(&text, "Message").unwrap_or_default();
        return Err(sts_failed(format!(
            "STS answered {}: {}",
            status.as_u16(),
            why.chars().take(200).collect::<String>()
        )));
    }
    // Read once; each field is looked up in the parsed answer.
    let answer = super::xml::from_xml(&text).unwrap_or_default();
    let field = |tag: &str| super::xml::find_text(&answer, tag);
    match (
        field("AccessKeyId"),
        field("SecretAccessKey"),
        field("SessionToken"),
    ) {
        (Some(a), Some(s), Some(t)) => Ok(Temporary {
            access_key_id: a,
            secret_access_key: s,
            session_token: t,
            expires_at: expiry(field("Expiration").map(serde_json::Value::String).as_ref()),
        }),
        _ => Err(sts_failed(
            "STS returned a response but credentials could not be parsed",
        )),
    }
}

/// The integration owner's own credential endpoint.
async fn custom_sts(
    upstream: Upstream<'_>,
    url: &str,
    auth: Option<&StsAuth>,
    settings: &Settings,
    role: &Role<'_>,
) -> Result<Temporary, ModeError> {
    let mut req = upstream
        .outbound
        .post(url)
        .map_err(|e| sts_failed(format!("Custom STS request failed: {e}")))?
        .json(&serde_json::json!({
            "role_arn": role.role_arn,
            "external_id": role.external_id,
            "region": role.region,
            "service": settings.service,
        }));
    req = match auth {
        Some(StsAuth::ApiKey { header, value }) => req.header(header.as_str(), value.as_str()),
        Some(StsAuth::Basic { username, password }) => req.basic_auth(username, Some(password)),
        None => req,
    };
    let res = req.send().await.map_err(|e| {
        sts_failed(format!(
            "Custom STS endpoint cannot be reached: {}",
            e.without_url()
        ))
    })?;
    let (status, text) = read(res).await?;
    if !status.is_success() {
        return Err(sts_failed(format!(
            "Custom STS endpoint answered {}{}",
            status.as_u16(),
            super::provider_message(&text)
        )));
    }
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let payload = answer.get("credentials").unwrap_or(&answer);
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| payload.get(*n).and_then(|v| v.as_str()))
            .filter(|v| !v.is_empty())
            .map(String::from)
    };
    match (
        field(&["accessKeyId", "access_key_id"]),
        field(&["secretAccessKey", "secret_access_key"]),
        field(&["sessionToken", "session_token"]),
    ) {
        (Some(a), Some(s), Some(t)) => Ok(Temporary {
            access_key_id: a,
            secret_access_key: s,
            session_token: t,
            expires_at: expiry(
                ["expiresAt", "expires_at", "expiration"]
                    .iter()
                    .find_map(|n| payload.get(*n)),
            ),
        }),
        _ => Err(sts_failed(
            "Custom STS endpoint returned a response but credentials could not be parsed",
        )),
    }
}

/// STS `GetCallerIdentity` with the new credentials: they work, and they are the named role's
/// (Nango's `verifyAwsCredentials`). A refusal is the message of `connection_test_failed`.
pub async fn verify(upstream: Upstream<'_>, credentials: &Credentials) -> Result<(), String> {
    let Credentials::AwsSigV4 {
        role_arn, region, ..
    } = credentials
    else {
        return Err("not AWS SigV4 credentials".into());
    };
    let url = format!(
        "{}/?Action=GetCallerIdentity&Version=2011-06-15",
        sts_url(upstream, region).trim_end_matches('/')
    );
    let key = Key::of(credentials, Some("sts")).ok_or("not AWS SigV4 credentials")?;
    let signed = sign(&key, "GET", &url, &[], Some(b"")).map_err(|e| e.to_string())?;
    let mut req = upstream
        .outbound
        .request(reqwest::Method::GET, &url)
        .map_err(|e| e.to_string())?;
    for (name, value) in &signed {
        req = req.header(name.as_str(), value.as_str());
    }
    let res = req
        .send()
        .await
        .map_err(|e| format!("STS cannot be reached: {}", e.without_url()))?;
    let (status, text) = read(res).await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!(
            "GetCallerIdentity answered {}: {}",
            status.as_u16(),
            xml_tag(&text, "Message").unwrap_or_default()
        ));
    }
    // arn:aws:sts::123:assumed-role/Role/session for arn:aws:iam::123:role/Role.
    let expected = role_arn.rsplit('/').next().unwrap_or_default();
    match xml_tag(&text, "Arn") {
        Some(arn) if !expected.is_empty() && !arn.contains(expected) => {
            Err("GetCallerIdentity ARN does not match expected role".into())
        }
        _ => Ok(()),
    }
}

/// Fetches new temporary credentials for a stored connection (its integration's settings, its
/// role, external id and region).
pub async fn renew(r: &crate::connections::Renewing<'_>) -> Result<Credentials, ModeError> {
    let Credentials::AwsSigV4 {
        role_arn,
        region,
        external_id,
        ..
    } = r.current
    else {
        return Err(ModeError::Internal(anyhow::anyhow!(
            "not AWS SigV4 credentials"
        )));
    };
    let integration = r
        .integration
        .as_ref()
        .ok_or_else(|| ModeError::Internal(anyhow::anyhow!("integration missing")))?;
    let custom = crate::integration_config::open(r.cipher, integration)
        .map_err(|e| ModeError::Internal(e.into()))?;
    let settings = settings(&custom)?;
    let config = crate::connections::config(r.row);
    let external_id = config
        .get("external_id")
        .or(external_id.as_ref())
        .cloned()
        .unwrap_or_default();
    fetch(
        r.upstream,
        &settings,
        Role {
            role_arn,
            external_id: &external_id,
            region,
        },
    )
    .await
}

/// The key material of one signature.
pub struct Key<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: Option<&'a str>,
    region: &'a str,
    service: &'a str,
}

impl<'a> Key<'a> {
    /// The connection's key, for its service unless `service` says otherwise.
    pub fn of(c: &'a Credentials, service: Option<&'a str>) -> Option<Self> {
        match c {
            Credentials::AwsSigV4 {
                access_key_id,
                secret_access_key,
                session_token,
                region,
                service: own,
                ..
            } => Some(Self {
                access_key_id,
                secret_access_key,
                session_token: Some(session_token)
                    .filter(|t| !t.is_empty())
                    .map(|t| t.as_str()),
                region,
                service: service.unwrap_or(own),
            }),
            _ => None,
        }
    }
}

/// The headers that sign a request (`authorization`, `x-amz-date`, `x-amz-content-sha256`,
/// `x-amz-security-token`), over `headers` (all of them are signed) and the body (`None`: a streamed
/// body, sent as `UNSIGNED-PAYLOAD`). S3 takes the path as given; other services a normalized,
/// doubly-encoded one — the crate's settings per service, as AWS's SDKs.
pub fn sign(
    key: &Key<'_>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Vec<(String, String)>, String> {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode,
    };
    let identity = aws_credential_types::Credentials::new(
        key.access_key_id,
        key.secret_access_key,
        key.session_token.map(String::from),
        None,
        "latchkey",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    if key.service == "s3" {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(key.region)
        .name(key.service)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let body = match body {
        Some(b) => SignableBody::Bytes(b),
        None => SignableBody::UnsignedPayload,
    };
    let request = SignableRequest::new(method, url, headers.iter().copied(), body)
        .map_err(|e| e.to_string())?;
    let (instructions, _) = aws_sigv4::http_request::sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn settings_need_what_the_sts_mode_needs() {
        let err = |m: &BTreeMap<String, String>| match settings(m) {
            Err(ModeError::Coded(code, _)) => code,
            _ => panic!("accepted"),
        };
        assert_eq!(err(&map(&[])), ErrorCode::MissingAwsSigv4Service);
        assert_eq!(
            err(&map(&[("service", "s3"), ("stsMode", "builtin")])),
            ErrorCode::MissingAwsSigv4BuiltinCredentials
        );
        assert_eq!(
            err(&map(&[("service", "s3"), ("stsMode", "custom")])),
            ErrorCode::MissingAwsSigv4StsEndpoint
        );
        assert_eq!(
            err(&map(&[
                ("service", "s3"),
                ("stsEndpointUrl", "https://sts.example.com"),
                ("stsAuthType", "api_key")
            ])),
            ErrorCode::InvalidAwsSigv4Config
        );
        assert!(valid_region("us-gov-west-1"));
        assert!(!valid_region("169.254.169.254#"));
        assert!(!valid_external_id("a"));
        assert!(valid_external_id("3f1c2e8a-0b1d-4c55-9d3e-1f2a3b4c5d6e"));
    }

    #[test]
    fn expiry_reads_seconds_millis_and_rfc3339() {
        let e = |v: serde_json::Value| expiry(Some(&v));
        assert_eq!(
            e(serde_json::json!(1_900_000_000)),
            crate::time::unix_to_iso(1_900_000_000)
        );
        assert_eq!(
            e(serde_json::json!(1_900_000_000_000i64)),
            crate::time::unix_to_iso(1_900_000_000)
        );
        assert_eq!(
            e(serde_json::json!("2030-03-17T08:00:00Z")),
            crate::time::unix_to_iso(1_899_964_800)
        );
        assert_eq!(
            xml_tag("<a><Arn> x </Arn></a>", "Arn").as_deref(),
            Some("x")
        );
    }
}
