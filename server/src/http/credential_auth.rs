//! Nango's credential-submission routes of the credential-based modes (issue 15):
//! `POST /auth/two-step/:key`, `/auth/jwt/:key`, `/auth/bill/:key`, `/auth/signature/:key`,
//! `/auth/tba/:key` and `/auth/aws-sigv4/:key`, authenticated like `/api-auth/*` (connect session token, or the legacy public
//! key) and answered like them (`{connectionId, providerConfigKey}`); the checks, sealed upsert and
//! auth webhook are [`super::api_auth`]'s. What each mode does with the credentials is in
//! [`crate::credential_modes`].

use super::api_auth::{prepare, save_connection};
use super::error::ApiError;
use super::extract::StrictJson;
use super::extract::{Path, Query};
use crate::connections::ModeError;
use crate::credential_modes::{aws_sigv4, bill, jwt, signature, two_step};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use latchkey_protocol::connection::{AuthResult, Credentials};
use latchkey_protocol::integrations::AuthMode;
use latchkey_protocol::routes;
use latchkey_protocol::ErrorCode;
use serde::Deserialize;
use serde_json::{Map, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(&routes::keyed(routes::TWO_STEP), post(two_step_auth))
        .route(&routes::keyed(routes::JWT), post(jwt_auth))
        .route(&routes::keyed(routes::BILL), post(bill_auth))
        .route(&routes::keyed(routes::SIGNATURE), post(signature_auth))
        .route(&routes::keyed(routes::TBA), post(tba_auth))
        .route(&routes::keyed(routes::AWS_SIGV4), post(aws_sigv4_auth))
}

/// The longest value accepted in a submitted field (private keys are a few KiB).
const MAX_FIELD_LEN: usize = 16 * 1024;

/// A credential mode's failure as a REST error (also the provider webhooks').
pub(super) fn mode_error(e: ModeError) -> ApiError {
    match e {
        // STS did not give credentials: the upstream failed (Nango answers 502).
        ModeError::Coded(code @ ErrorCode::AwsSigv4StsRequestFailed, message) => {
            ApiError::new(StatusCode::BAD_GATEWAY, code, message)
        }
        ModeError::Coded(code, message) => ApiError::new(StatusCode::BAD_REQUEST, code, message),
        ModeError::Internal(e) => ApiError::Internal(e),
    }
}

/// A free-form body (TWO_STEP, JWT): field values are strings or objects of strings, within size.
fn check_loose(body: &Map<String, Value>) -> Result<(), ApiError> {
    let size = serde_json::to_string(body).map(|s| s.len()).unwrap_or(0);
    if size > 4 * MAX_FIELD_LEN {
        return Err(ApiError::invalid_body(
            vec![],
            "the credentials are too large",
        ));
    }
    Ok(())
}

fn check_len(fields: &[(&str, &str)]) -> Result<(), ApiError> {
    for (name, v) in fields {
        if v.is_empty() || v.len() > MAX_FIELD_LEN {
            return Err(ApiError::invalid_body(
                vec![(*name).into()],
                "must be a non-empty string of at most 16384 characters",
            ));
        }
    }
    Ok(())
}

/// The provider's `proxy.verification` request with the new credentials (JWT, SIGNATURE), as Nango's
/// `testConnectionCredentials`: a refusal is 400 `connection_test_failed`.
async fn verified(
    app: &AppState,
    entry: &crate::catalog::CatalogEntry,
    credentials: &Credentials,
    config: &std::collections::BTreeMap<String, String>,
) -> Result<(), ApiError> {
    crate::verification::verify(&app.outbound, entry, credentials, config)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::ConnectionTestFailed,
                e.to_string(),
            )
        })
}

async fn two_step_auth(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    StrictJson(body): StrictJson<Map<String, Value>>,
) -> Result<Json<AuthResult>, ApiError> {
    check_loose(&body)?;
    let prepared = prepare(&app, &key, &pairs, AuthMode::TwoStep).await?;
    let mut config = prepared.connection_config(&key, &pairs);
    let integration = crate::integration_config::open(&app.cipher, &prepared.integration)?;
    let fetched = two_step::fetch(
        app.upstream(),
        &prepared.entry.raw,
        body,
        &config,
        false,
        &integration,
    )
    .await
    .map_err(mode_error)?;
    config.extend(fetched.metadata);
    prepared.save(&app, &config, &fetched.credentials).await
}

async fn jwt_auth(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    StrictJson(body): StrictJson<Map<String, Value>>,
) -> Result<Json<AuthResult>, ApiError> {
    check_loose(&body)?;
    let prepared = prepare(&app, &key, &pairs, AuthMode::Jwt).await?;
    let config = prepared.connection_config(&key, &pairs);
    let credentials = jwt::create(&prepared.entry.raw, body, &config).map_err(mode_error)?;
    verified(&app, prepared.entry, &credentials, &config).await?;
    prepared.save(&app, &config, &credentials).await
}

/// Nango's BILL body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BillBody {
    username: String,
    password: String,
    organization_id: String,
    dev_key: String,
}

async fn bill_auth(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    StrictJson(body): StrictJson<BillBody>,
) -> Result<Json<AuthResult>, ApiError> {
    check_len(&[
        ("username", &body.username),
        ("password", &body.password),
        ("organization_id", &body.organization_id),
        ("dev_key", &body.dev_key),
    ])?;
    let prepared = prepare(&app, &key, &pairs, AuthMode::Bill).await?;
    let config = prepared.connection_config(&key, &pairs);
    let login = bill::Login {
        username: &body.username,
        password: &body.password,
        organization_id: &body.organization_id,
        dev_key: &body.dev_key,
    };
    let credentials = bill::login(app.upstream(), &prepared.entry.raw, login)
        .await
        .map_err(mode_error)?;
    prepared.save(&app, &config, &credentials).await
}

/// Nango's SIGNATURE body (`type` is the frontend's `SIGNATURE` tag).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignatureBody {
    username: String,
    password: String,
    #[serde(rename = "type")]
    _kind: String,
}

async fn signature_auth(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    StrictJson(body): StrictJson<SignatureBody>,
) -> Result<Json<AuthResult>, ApiError> {
    check_len(&[("username", &body.username), ("password", &body.password)])?;
    let prepared = prepare(&app, &key, &pairs, AuthMode::Signature).await?;
    let config = prepared.connection_config(&key, &pairs);
    let credentials = signature::create(
        &prepared.entry.raw,
        &body.username,
        &body.password,
        app.clock.now_unix(),
    )
    .map_err(mode_error)?;
    verified(&app, prepared.entry, &credentials, &config).await?;
    prepared.save(&app, &config, &credentials).await
}

/// Nango's TBA body: the token id and secret, optionally the consumer key and secret that override
/// the integration's.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TbaBody {
    token_id: String,
    token_secret: String,
    #[serde(default)]
    oauth_client_id_override: Option<String>,
    #[serde(default)]
    oauth_client_secret_override: Option<String>,
}

async fn tba_auth(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    StrictJson(body): StrictJson<TbaBody>,
) -> Result<Json<AuthResult>, ApiError> {
    check_len(&[
        ("token_id", &body.token_id),
        ("token_secret", &body.token_secret),
    ])?;
    let prepared = prepare(&app, &key, &pairs, AuthMode::Tba).await?;
    let config = prepared.connection_config(&key, &pairs);
    let overridden =
        body.oauth_client_id_override.is_some() || body.oauth_client_secret_override.is_some();
    let credentials = Credentials::Tba {
        token_id: body.token_id,
        token_secret: body.token_secret,
        config_override: overridden.then_some(latchkey_protocol::connection::ConfigOverride {
            client_id: body.oauth_client_id_override,
            client_secret: body.oauth_client_secret_override,
        }),
    };
    prepared.save(&app, &config, &credentials).await
}

/// Nango's AWS_SIGV4 body: the IAM role to assume and, optionally, its region.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AwsSigV4Body {
    role_arn: String,
    #[serde(default)]
    region: Option<String>,
}

/// Nango's `postPublicAwsSigV4Authorization`: STS credentials for the role, checked with
/// `GetCallerIdentity`, stored with `role_arn`, `region`, `service` and `external_id` in the
/// connection config. A reconnect keeps the stored region and external id (the customer's IAM trust
/// policy names that external id).
async fn aws_sigv4_auth(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    StrictJson(body): StrictJson<AwsSigV4Body>,
) -> Result<Json<AuthResult>, ApiError> {
    check_len(&[("role_arn", &body.role_arn)])?;
    let bad_region = || {
        ApiError::invalid_body(
            vec!["region".into()],
            "AWS region must contain only lowercase letters, digits, and hyphens",
        )
    };
    if body
        .region
        .as_deref()
        .is_some_and(|r| !aws_sigv4::valid_region(r))
    {
        return Err(bad_region());
    }
    let prepared = prepare(&app, &key, &pairs, AuthMode::AwsSigV4).await?;
    let mut config = prepared.connection_config(&key, &pairs);
    let connection_id = prepared.submitter.connection_id();
    let stored = app
        .store
        .connection(prepared.submitter.env.id, &key, &connection_id)
        .await?
        .map(|row| crate::connections::config(&row))
        .unwrap_or_default();
    let custom = crate::integration_config::open(&app.cipher, &prepared.integration)?;
    let settings = aws_sigv4::settings(&custom).map_err(mode_error)?;
    let region = [
        stored.get("region"),
        body.region.as_ref(),
        config.get("region"),
        settings.default_region.as_ref(),
    ]
    .into_iter()
    .flatten()
    .find(|r| !r.is_empty())
    .cloned()
    .ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::MissingAwsSigv4Region,
            "AWS SigV4 requests require a region.",
        )
    })?;
    if !aws_sigv4::valid_region(&region) {
        return Err(bad_region());
    }
    // The external id the role's trust policy names: kept, else a UUID the frontend pre-seeded
    // (shown to the customer before they created the role), else a new one.
    let external_id = stored
        .get("external_id")
        .cloned()
        .or_else(|| {
            config
                .get("external_id")
                .map(|v| v.trim().to_string())
                .filter(|v| uuid::Uuid::parse_str(v).is_ok())
        })
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if !aws_sigv4::valid_external_id(&external_id) {
        return Err(ApiError::invalid_body(
            vec!["external_id".into()],
            "External ID must be 2-1224 characters, alphanumeric or +=,.@:/-",
        ));
    }
    let role = aws_sigv4::Role {
        role_arn: &body.role_arn,
        external_id: &external_id,
        region: &region,
    };
    let credentials = aws_sigv4::fetch(app.upstream(), &settings, role)
        .await
        .map_err(mode_error)?;
    aws_sigv4::verify(app.upstream(), &credentials)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::ConnectionTestFailed, e))?;
    config.insert("external_id".into(), external_id);
    config.insert("role_arn".into(), body.role_arn);
    config.insert("region".into(), region);
    config.insert("service".into(), settings.service);
    save_connection(&app, &prepared, connection_id, &config, &credentials).await
}
