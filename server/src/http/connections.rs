//! `GET /connection(s)/:id`, `GET /connection(s)` (with Nango's filters), `DELETE /connection(s)/:id`,
//! `POST /connections` (import) and the metadata writes (reference §3.10–3.14). Credentials are
//! opened only here, for a caller holding the secret key.

use super::error::ApiError;
use super::extract::{Path, Query};
use super::extract::{SecretKeyAuth, StrictJson};
use crate::connections::RefreshError;
use crate::storage::ConnectionRow;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_protocol::connection::{
    ConnectionList, ConnectionListItem, ConnectionResponse, Credentials, ImportConnectionRequest,
};
use latchkey_protocol::ErrorCode;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/connections/metadata",
            post(replace_metadata).patch(merge_metadata),
        )
        .route(
            "/connection/metadata",
            post(replace_metadata).patch(merge_metadata),
        )
        .route("/connection/{id}", get(get_one).delete(remove))
        .route("/connections/{id}", get(get_one).delete(remove))
        .route("/connection", get(list))
        .route("/connections", get(list).post(import))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectionQuery {
    pub(crate) provider_config_key: Option<String>,
    /// `true` refreshes the token even when it is not about to expire.
    #[serde(default)]
    pub(crate) force_refresh: Option<String>,
    /// `true` includes the refresh token in the answer (Nango strips it by default).
    #[serde(default)]
    pub(crate) refresh_token: Option<String>,
}

fn flag(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("true") | Some("1"))
}

fn required_key(q: &ConnectionQuery) -> Result<&str, ApiError> {
    q.provider_config_key
        .as_deref()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::Invalid {
            code: ErrorCode::InvalidQueryParams,
            issues: vec![latchkey_protocol::ValidationIssue {
                code: "invalid_type".into(),
                message: "Required".into(),
                path: vec!["provider_config_key".into()],
            }],
        })
}

fn json_map(text: &str) -> serde_json::Map<String, serde_json::Value> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Nango strips refresh tokens unless asked: any key whose letters spell "refreshtoken".
fn strip_refresh_tokens(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.retain(|k, _| {
                !k.chars()
                    .filter(|c| c.is_ascii_alphabetic())
                    .collect::<String>()
                    .eq_ignore_ascii_case("refreshtoken")
            });
            map.values_mut().for_each(strip_refresh_tokens);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_refresh_tokens),
        _ => {}
    }
}

/// Nango flags a connection whose last refresh failed (or whose refreshes are exhausted) with an
/// `auth` error, in the connection and in the list.
fn connection_errors(row: &ConnectionRow) -> Vec<serde_json::Value> {
    if row.refresh_failures > 0 {
        vec![serde_json::json!({"type": "auth", "log_id": null})]
    } else {
        Vec::new()
    }
}

fn view(
    row: &ConnectionRow,
    mut credentials: Credentials,
    include_refresh_token: bool,
) -> ConnectionResponse {
    if !include_refresh_token {
        if let Credentials::OAuth2 {
            refresh_token, raw, ..
        } = &mut credentials
        {
            *refresh_token = None;
            strip_refresh_tokens(raw);
        }
    }
    let mut connection_config = json_map(&row.connection_config);
    // A GitHub App connection with user authorization (`CUSTOM`): the user's credentials are sealed
    // with the installation token and shown where Nango keeps them.
    if let Credentials::App {
        user_credentials, ..
    } = &mut credentials
    {
        if let Some(mut user) = user_credentials.take() {
            if !include_refresh_token {
                strip_refresh_tokens(&mut user);
            }
            connection_config.insert("userCredentials".into(), user);
        }
    }
    ConnectionResponse {
        id: row.id,
        connection_id: row.connection_id.clone(),
        provider_config_key: row.provider_config_key.clone(),
        provider: row.provider.clone(),
        errors: connection_errors(row),
        end_user: row
            .end_user
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok()),
        tags: serde_json::from_str(&row.tags).unwrap_or_default(),
        metadata: json_map(&row.metadata),
        connection_config,
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
        credentials,
    }
}

/// `GET /connection/{id}` (and Nango's older `/connections/{id}`).
async fn get_one(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Path(id): Path<String>,
    Query(q): Query<ConnectionQuery>,
) -> Result<Response, ApiError> {
    Ok(wire(load(&app, &env, &id, &q).await?))
}

/// [`get_one`]'s answer as a JSON value (the dashboard masks it before showing it).
pub(crate) async fn show(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Path(id): Path<String>,
    Query(q): Query<ConnectionQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(wire_value(load(&app, &env, &id, &q).await?)))
}

/// The connection `GET /connection/:id` shows, its credentials fresh: one read when both the
/// integration and the connection exist; which one is missing is asked only then.
async fn load(
    app: &AppState,
    env: &crate::environment::Environment,
    id: &str,
    q: &ConnectionQuery,
) -> Result<ConnectionResponse, ApiError> {
    let key = required_key(q)?;
    let Some(row) = app
        .store
        .connection_with_integration(env.id, key, id)
        .await?
    else {
        if app.store.integration(env.id, key).await?.is_none() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownProviderConfig,
                format!("No integration named '{key}'."),
            ));
        }
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownConnection,
            "No connection matching the provided connection ID and integration.",
        ));
    };
    let (row, credentials) = crate::credentials::fresh(&app.renewer(), row, flag(&q.force_refresh))
        .await
        .map_err(|e| match e {
            RefreshError::Internal(e) => ApiError::Internal(e),
            other => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidCredentials,
                other.to_string(),
            ),
        })?;
    Ok(view(&row, credentials, flag(&q.refresh_token)))
}

/// The JSON of a connection as Nango shows it: an unauthenticated connection's credentials are `{}`.
/// Written straight to the body (`GET /connection/:id` is the hottest read; a `serde_json::Value`
/// in between cost a map per field), except for that one case.
fn wire(connection: ConnectionResponse) -> Response {
    if !matches!(connection.credentials, Credentials::Unauthenticated {}) {
        return Json(connection).into_response();
    }
    Json(wire_value(connection)).into_response()
}

/// [`wire`] as a JSON value.
fn wire_value(connection: ConnectionResponse) -> serde_json::Value {
    let none = matches!(connection.credentials, Credentials::Unauthenticated {});
    let mut v = serde_json::to_value(connection).expect("connection serializes");
    if none {
        v["credentials"] = serde_json::json!({});
    }
    v
}

/// `POST /connections`: imports a connection whose credentials exist already (migrating from another
/// system). Shapes as Nango: 201 with the connection; the credential type must be the provider's
/// auth mode; an existing connection of the same id is overwritten.
pub(crate) async fn import(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    StrictJson(body): StrictJson<ImportConnectionRequest>,
) -> Result<(StatusCode, Response), ApiError> {
    let key = body.provider_config_key.as_str();
    let integration = app.store.integration(env.id, key).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "Integration does not exist",
        )
    })?;
    let provider = app
        .catalog
        .get(&integration.provider)
        .and_then(|e| e.provider.as_ref())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "Provider does not exist",
            )
        })?;
    let kind = body.credentials.kind();
    if provider.auth_mode.as_str() != kind {
        return Err(ApiError::invalid_body(
            vec!["credentials".into(), "type".into()],
            format!(
                "Provider {} does not support {kind} auth",
                provider.auth_mode.as_str()
            ),
        ));
    }
    if let Some(id) = &body.connection_id {
        if id.is_empty() || id.len() > 255 {
            return Err(ApiError::invalid_body(
                vec!["connection_id".into()],
                "must be 1 to 255 characters",
            ));
        }
    }
    let connection_id = body
        .connection_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let end_user = body
        .end_user
        .as_ref()
        .map(|u| latchkey_protocol::connect::EndUser {
            id: u.id.clone(),
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            tags: u.tags.clone(),
        });
    // Tags as a connect session would set them: derived from the end user, overridden by explicit ones.
    let tags = crate::sessions::nango_tags(
        end_user.as_ref(),
        body.end_user.as_ref().and_then(|u| u.organization.as_ref()),
        body.tags.as_ref(),
    );
    let end_user = end_user.map(|u| serde_json::to_string(&u).expect("end user serializes"));
    let tags_text = serde_json::to_string(&tags).expect("tags serialize");
    let grant = crate::connections::save::Grant {
        environment_id: env.id,
        environment: &env.name,
        provider_config_key: key,
        connection_id: &connection_id,
        provider: &integration.provider,
        auth_mode: kind,
        connection_config: serde_json::Value::Object(
            body.connection_config.clone().unwrap_or_default(),
        )
        .to_string(),
        tags: Some(&tags_text),
        end_user,
    };
    crate::connections::save::save(app.savers(), grant, &body.credentials).await?;
    if let Some(metadata) = &body.metadata {
        app.store
            .set_connection_metadata(
                env.id,
                key,
                &connection_id,
                &serde_json::Value::Object(metadata.clone()).to_string(),
                &app.clock.now_iso(),
            )
            .await?;
    }
    let row = app
        .store
        .connection(env.id, key, &connection_id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("imported connection vanished")))?;
    Ok((
        StatusCode::CREATED,
        wire(view(&row, body.credentials, true)),
    ))
}

/// Nango's `GET /connections` query (strict: any other parameter is `invalid_query_params`).
#[derive(Debug, Default)]
struct ListFilter {
    connection_id: Option<String>,
    search: Option<String>,
    end_user_id: Option<String>,
    end_user_organization_id: Option<String>,
    integration_ids: Option<Vec<String>>,
    tags: Vec<(String, String)>,
    limit: usize,
    page: usize,
}

fn bad_query(path: &str, message: &str) -> ApiError {
    ApiError::Invalid {
        code: ErrorCode::InvalidQueryParams,
        issues: vec![latchkey_protocol::ValidationIssue {
            code: "invalid".into(),
            message: message.into(),
            path: vec![path.into()],
        }],
    }
}

impl ListFilter {
    fn parse(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let mut f = ListFilter {
            limit: 10_000,
            ..Default::default()
        };
        for (k, v) in pairs {
            match k.as_str() {
                "connectionId" => f.connection_id = Some(v.clone()),
                "search" => f.search = Some(v.to_lowercase()),
                "endUserId" => f.end_user_id = Some(v.clone()),
                "endUserOrganizationId" => f.end_user_organization_id = Some(v.clone()),
                "integrationId" => {
                    f.integration_ids = Some(
                        v.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(String::from)
                            .collect(),
                    )
                }
                "limit" => {
                    f.limit = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=2000).contains(n))
                        .ok_or_else(|| bad_query("limit", "must be an integer from 1 to 2000"))?
                }
                "page" => {
                    f.page = v
                        .parse()
                        .map_err(|_| bad_query("page", "must be a non-negative integer"))?
                }
                other => match other
                    .strip_prefix("tags[")
                    .and_then(|t| t.strip_suffix(']'))
                {
                    Some(tag) => f.tags.push((tag.to_lowercase(), v.clone())),
                    None => return Err(bad_query(other, "Unrecognized key")),
                },
            }
        }
        Ok(f)
    }

    fn matches(&self, row: &ConnectionRow) -> bool {
        let tags: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&row.tags).unwrap_or_default();
        let end_user: Option<serde_json::Value> = row
            .end_user
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok());
        let end_user_field = |name: &str| {
            end_user
                .as_ref()
                .and_then(|u| u.get(name))
                .and_then(|v| v.as_str())
                .map(String::from)
        };
        let end_user_id = end_user_field("id").or_else(|| tags.get("end_user_id").cloned());
        if self
            .connection_id
            .as_ref()
            .is_some_and(|id| *id != row.connection_id)
        {
            return false;
        }
        if let Some(ids) = &self.integration_ids {
            if !ids.contains(&row.provider_config_key) {
                return false;
            }
        }
        if let Some(want) = &self.end_user_id {
            if end_user_id.as_ref() != Some(want) {
                return false;
            }
        }
        if let Some(want) = &self.end_user_organization_id {
            if tags.get("organization_id") != Some(want) {
                return false;
            }
        }
        if !self
            .tags
            .iter()
            .all(|(k, v)| tags.get(k).is_some_and(|t| t == v))
        {
            return false;
        }
        if let Some(needle) = &self.search {
            let haystacks = [
                Some(row.connection_id.clone()),
                end_user_id,
                end_user_field("email"),
                end_user_field("display_name"),
            ];
            if !haystacks
                .iter()
                .flatten()
                .any(|h| h.to_lowercase().contains(needle.as_str()))
            {
                return false;
            }
        }
        true
    }
}

pub(crate) async fn list(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<ConnectionList>, ApiError> {
    let filter = ListFilter::parse(&pairs)?;
    // Filtering in Rust over the environment's connections: fine at this scale; a SQL filter is the
    // next step when environments hold many thousands.
    let rows = app.store.list_connections(env.id).await?;
    let connections = rows
        .iter()
        .filter(|r| filter.matches(r))
        .skip(filter.page.saturating_mul(filter.limit))
        .take(filter.limit)
        .map(|r| ConnectionListItem {
            id: r.id,
            connection_id: r.connection_id.clone(),
            provider_config_key: r.provider_config_key.clone(),
            provider: r.provider.clone(),
            errors: connection_errors(r),
            end_user: r
                .end_user
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok()),
            tags: serde_json::from_str(&r.tags).unwrap_or_default(),
            metadata: json_map(&r.metadata),
            created: r.created_at.clone(),
        })
        .collect();
    Ok(Json(ConnectionList { connections }))
}

pub(crate) async fn remove(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Path(id): Path<String>,
    Query(q): Query<ConnectionQuery>,
) -> Result<Json<super::Success>, ApiError> {
    let key = required_key(&q)?;
    if !app.store.delete_connection(env.id, key, &id).await? {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnknownConnection,
            "No connection matching the provided connection ID and integration.",
        ));
    }
    Ok(Json(super::Success { success: true }))
}

/// One id or several (metadata writes may target many connections at once, all or nothing).
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Body of the metadata writes, echoed back on success as Nango does.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataBody {
    pub(crate) connection_id: OneOrMany,
    pub(crate) provider_config_key: String,
    pub(crate) metadata: serde_json::Map<String, serde_json::Value>,
}

/// `POST /connections/metadata`: replaces the metadata; 201 echoing the body.
pub(crate) async fn replace_metadata(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    StrictJson(body): StrictJson<MetadataBody>,
) -> Result<(StatusCode, Json<MetadataBody>), ApiError> {
    write_metadata(&app, env.id, body, false)
        .await
        .map(|v| (StatusCode::CREATED, Json(v)))
}

/// `PATCH /connections/metadata`: shallow-merges into the metadata; 200 echoing the body.
pub(crate) async fn merge_metadata(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    StrictJson(body): StrictJson<MetadataBody>,
) -> Result<Json<MetadataBody>, ApiError> {
    write_metadata(&app, env.id, body, true).await.map(Json)
}

pub(crate) async fn write_metadata(
    app: &AppState,
    env_id: i64,
    body: MetadataBody,
    merge: bool,
) -> Result<MetadataBody, ApiError> {
    let ids = match &body.connection_id {
        OneOrMany::One(id) => std::slice::from_ref(id),
        OneOrMany::Many(ids) => ids.as_slice(),
    };
    // All or nothing: check every connection first.
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let row = app
            .store
            .connection(env_id, &body.provider_config_key, id)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    ErrorCode::UnknownConnection,
                    format!("Connection '{id}' does not exist. No actions were taken."),
                )
            })?;
        rows.push(row);
    }
    let now = app.clock.now_iso();
    for row in rows {
        let mut metadata = if merge {
            json_map(&row.metadata)
        } else {
            Default::default()
        };
        metadata.extend(body.metadata.clone());
        let text = serde_json::Value::Object(metadata).to_string();
        app.store
            .set_connection_metadata(
                env_id,
                &row.provider_config_key,
                &row.connection_id,
                &text,
                &now,
            )
            .await?;
    }
    Ok(body)
}
