//! `GET /integrations/:key`: the integration, with its app credentials ([`app_credentials`], which
//! the dashboard reads too) and its webhook URL when `include` asks for them.

use super::{provider_auth_mode, public_view};
use crate::http::error::ApiError;
use crate::http::extract::{Path, Query, SecretKeyAuth};
use crate::storage::IntegrationRow;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use latchkey_protocol::integrations::{
    ApiPublicIntegrationIncluded, AuthMode, IntegrationAppCredentials,
};
use latchkey_protocol::{DataEnvelope, ErrorCode};

/// The optional parts `GET /integrations/{key}` was asked for: `include=credentials&include=webhook`,
/// also accepted as `include[]=…` and as a comma-separated list (how query-string serializers write
/// arrays). Any other parameter is refused.
#[derive(Debug, Default, PartialEq)]
struct Include {
    credentials: bool,
    webhook: bool,
}

impl Include {
    fn parse(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let mut include = Self::default();
        for (key, value) in pairs {
            if key != "include" && key != "include[]" {
                return Err(ApiError::invalid_query(
                    vec![key.clone()],
                    "Unrecognized key",
                ));
            }
            for part in value.split(',').map(str::trim) {
                match part {
                    "credentials" => include.credentials = true,
                    "webhook" => include.webhook = true,
                    _ => {
                        return Err(ApiError::invalid_query(
                            vec!["include".into()],
                            "must be credentials or webhook",
                        ))
                    }
                }
            }
        }
        Ok(include)
    }
}

/// The app credentials an integration holds, `None` when it has none (Nango's `credentials`).
pub fn app_credentials(
    app: &AppState,
    row: &IntegrationRow,
) -> Result<Option<IntegrationAppCredentials>, ApiError> {
    let Some(client_id) = &row.client_id else {
        return Ok(None);
    };
    let kind = provider_auth_mode(app, &row.provider)
        .map_or("OAUTH2", AuthMode::as_str)
        .to_string();
    let secret = crate::integration_config::client_secret(&app.cipher, row)?;
    let app_link = crate::integration_config::open(&app.cipher, row)?.remove("app_link");
    // The secret GitHub signs a CUSTOM app's webhooks with (to set in the app's settings).
    let webhook_secret = match kind.as_str() {
        "CUSTOM" => Some(
            crate::oauth::github_app::webhook_secret(&app.cipher, row)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?
                .expose()
                .to_string(),
        ),
        _ => None,
    };
    Ok(Some(IntegrationAppCredentials {
        kind,
        client_id: Some(client_id.clone()),
        client_secret: Some(secret.expose().to_string()),
        scopes: row.scopes.clone(),
        webhook_secret,
        app_link,
    }))
}

pub(crate) async fn show(
    State(app): State<AppState>,
    SecretKeyAuth(env): SecretKeyAuth,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<DataEnvelope<ApiPublicIntegrationIncluded>>, ApiError> {
    let include = Include::parse(&pairs)?;
    let row = app.store.integration(env.id, &key).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "Integration does not exist",
        )
    })?;
    let credentials = match include.credentials {
        true => Some(app_credentials(&app, &row)?),
        false => None,
    };
    Ok(Json(DataEnvelope::new(ApiPublicIntegrationIncluded {
        integration: public_view(&app, &row),
        webhook_url: include
            .webhook
            .then(|| crate::http::provider_webhooks::url(&app, &env, &row)),
        credentials,
    })))
}

#[cfg(test)]
mod tests {
    use super::Include;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn include_reads_repeated_bracketed_and_comma_separated_forms() {
        let both = Include {
            credentials: true,
            webhook: true,
        };
        for form in [
            pairs(&[("include", "credentials"), ("include", "webhook")]),
            pairs(&[("include[]", "webhook"), ("include[]", "credentials")]),
            pairs(&[("include", "webhook,credentials")]),
        ] {
            assert_eq!(Include::parse(&form).unwrap(), both);
        }
        assert_eq!(Include::parse(&[]).unwrap(), Include::default());
        assert!(Include::parse(&pairs(&[("include", "secrets")])).is_err());
        assert!(Include::parse(&pairs(&[("expand", "credentials")])).is_err());
    }
}
