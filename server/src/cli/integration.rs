//! `latchkey integration`: create (with the same checks and sealing as `POST /integrations`), list
//! or delete integrations.

use clap::Subcommand;
use latchkey_server::http::integrations::{
    new_integration, CreateIntegration, IntegrationCredentials,
};
use latchkey_server::{prepare, Config};

#[derive(Subcommand)]
pub enum IntegrationCommand {
    /// Create or replace an integration, like Nango's `config:create <key> <provider> <client-id> <client-secret> "<scopes>"`.
    Create {
        /// The integration's key (`provider_config_key`), e.g. `github`.
        unique_key: String,
        /// The provider's name in the catalog (`latchkey providers list`).
        provider: String,
        /// The OAuth app's client id (OAuth providers).
        client_id: Option<String>,
        /// The OAuth app's client secret.
        client_secret: Option<String>,
        /// Comma-separated scopes (the provider's defaults when omitted).
        scopes: Option<String>,
    },
    /// List integrations (key, provider, OAuth client id).
    List,
    /// Delete an integration.
    Delete {
        /// The integration's key.
        unique_key: String,
    },
}

pub async fn run(config: Config, command: IntegrationCommand) -> anyhow::Result<()> {
    let (app, env, _) = prepare(config).await?;
    match command {
        IntegrationCommand::Create {
            unique_key,
            provider,
            client_id,
            client_secret,
            scopes,
        } => {
            let credentials = match (client_id, client_secret) {
                (Some(client_id), Some(client_secret)) => Some(IntegrationCredentials {
                    kind: "OAUTH2".into(),
                    client_id: Some(client_id),
                    client_secret: Some(client_secret),
                    scopes,
                    app_link: None,
                    app_id: None,
                    private_key: None,
                }),
                (None, None) => None,
                _ => anyhow::bail!("give both a client id and a client secret, or neither"),
            };
            let row = new_integration(
                &app,
                env.id,
                CreateIntegration {
                    provider,
                    unique_key: unique_key.clone(),
                    display_name: None,
                    forward_webhooks: None,
                    credentials,
                    integration_config: None,
                },
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            app.store.save_integration(&row, true).await?;
            println!("integration '{unique_key}' saved");
        }
        IntegrationCommand::List => {
            println!("{:<24} {:<24} OAUTH CLIENT ID", "KEY", "PROVIDER");
            for i in app.store.list_integrations(env.id).await? {
                println!(
                    "{:<24} {:<24} {}",
                    i.unique_key,
                    i.provider,
                    i.client_id.unwrap_or_default()
                );
            }
        }
        IntegrationCommand::Delete { unique_key } => {
            anyhow::ensure!(
                app.store.delete_integration(env.id, &unique_key).await?,
                "no integration '{unique_key}'"
            );
            println!("integration '{unique_key}' deleted");
        }
    }
    Ok(())
}
