//! `latchkey connection`: list, show (renewing first when due) or delete connections.

use clap::Subcommand;
use latchkey_server::{prepare, Config};

#[derive(Subcommand)]
pub enum ConnectionCommand {
    /// List connections (integration, connection id, provider, creation time).
    List {
        /// Only this integration's connections.
        #[arg(long)]
        integration: Option<String>,
    },
    /// Show one connection, refreshing its token first when it is about to expire.
    Get {
        /// The integration's key (`provider_config_key`).
        integration: String,
        /// The connection's id.
        connection_id: String,
        /// Also print the credentials (tokens, keys) as JSON.
        #[arg(long)]
        show_credentials: bool,
    },
    /// Delete one connection (its credentials are gone for good).
    Delete {
        /// The integration's key (`provider_config_key`).
        integration: String,
        /// The connection's id.
        connection_id: String,
    },
}

pub async fn run(config: Config, command: ConnectionCommand) -> anyhow::Result<()> {
    let (app, env, _) = prepare(config).await?;
    match command {
        ConnectionCommand::List { integration } => {
            println!(
                "{:<24} {:<40} {:<20} CREATED",
                "INTEGRATION", "CONNECTION ID", "PROVIDER"
            );
            for c in app.store.list_connections(env.id).await? {
                if integration
                    .as_ref()
                    .is_some_and(|i| *i != c.provider_config_key)
                {
                    continue;
                }
                println!(
                    "{:<24} {:<40} {:<20} {}",
                    c.provider_config_key, c.connection_id, c.provider, c.created_at
                );
            }
        }
        ConnectionCommand::Get {
            integration,
            connection_id,
            show_credentials,
        } => {
            let row = app
                .store
                .connection(env.id, &integration, &connection_id)
                .await?
                .ok_or_else(|| {
                    anyhow::anyhow!("no connection '{connection_id}' on '{integration}'")
                })?;
            let (row, credentials) =
                latchkey_server::credentials::fresh(&app.renewer(), row, false)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("integration:        {}", row.provider_config_key);
            println!("connection id:      {}", row.connection_id);
            println!("provider:           {}", row.provider);
            println!(
                "created / updated:  {} / {}",
                row.created_at, row.updated_at
            );
            println!("connection config:  {}", row.connection_config);
            println!("metadata:           {}", row.metadata);
            if show_credentials {
                println!(
                    "credentials:        {}",
                    serde_json::to_string_pretty(&credentials)?
                );
            }
        }
        ConnectionCommand::Delete {
            integration,
            connection_id,
        } => {
            anyhow::ensure!(
                app.store
                    .delete_connection(env.id, &integration, &connection_id)
                    .await?,
                "no connection '{connection_id}' on '{integration}'"
            );
            println!("connection '{connection_id}' deleted");
        }
    }
    Ok(())
}
