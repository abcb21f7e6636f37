//! `auth_mode: INSTALL_PLUGIN` (Nango's `crisp-plugin-install`), issue 15. [`super::flow::start`]
//! sends the end user to the integration owner's plugin install page (`app_link?payload=<state>`);
//! the plugin sends them back to `/oauth/callback?state=<payload>&…`, where [`complete`] stores the
//! connection.

use super::flow::{store, Checked, Completed, FlowFailure};
use crate::oauth::flow::Flows;
use latchkey_protocol::ErrorCode;
use std::collections::BTreeMap;

/// INSTALL_PLUGIN's return from the plugin (Nango's `installPluginCallback`): the connection uses the
/// integration owner's plugin credentials (`auth_type: BASIC`: its identifier and key), with the
/// provider's `redirect_uri_metadata` (Crisp's `website_id`) from the callback in its config; checked
/// with the provider's `proxy.verification` first.
pub(super) async fn complete(
    flows: &Flows<'_>,
    mut checked: Checked,
    extra: &BTreeMap<String, String>,
) -> Result<Completed, FlowFailure> {
    let (integration, provider, report) =
        (&checked.integration, &checked.provider, &checked.report);
    let connection_config = &mut checked.connection_config;
    let password = crate::integration_config::client_secret(flows.cipher, integration)
        .map_err(|e| FlowFailure::new(ErrorCode::UnknownErr, e.to_string()).reported_to(report))?;
    let credentials = latchkey_protocol::connection::Credentials::Basic {
        username: integration.client_id.clone().unwrap_or_default(),
        password: password.expose().to_string(),
    };
    for key in &provider.redirect_uri_metadata {
        if let Some(v) = extra.get(key).filter(|v| !v.is_empty()) {
            connection_config.insert(key.clone(), v.clone());
        }
    }
    if let Some(entry) = flows.catalog.get(&integration.provider) {
        crate::verification::verify(
            flows.upstream.outbound,
            entry,
            &credentials,
            connection_config,
        )
        .await
        .map_err(|e| {
            FlowFailure::new(ErrorCode::ConnectionTestFailed, e.to_string()).reported_to(report)
        })?;
    }
    store(flows, checked, &credentials).await
}
