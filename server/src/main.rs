//! `latchkey`: the server binary and its admin CLI. Every command reads the same configuration
//! (environment variables, see `Config::from_env`) and the same database.

use clap::{Parser, Subcommand};
use latchkey_server::http::integrations::{
    new_integration, CreateIntegration, IntegrationCredentials,
};
use latchkey_server::{prepare, Config};

#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Self-hostable auth layer for product integrations (Nango-compatible)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (API, OAuth pages, WebSocket, Connect UI, SDK files).
    Serve,
    /// Show the `dev` environment's keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage integrations.
    Integration {
        #[command(subcommand)]
        command: IntegrationCommand,
    },
    /// List the provider catalog.
    Providers,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print the keys (`--secret` prints only the secret key, for scripts).
    Show {
        #[arg(long)]
        secret: bool,
    },
}

#[derive(Subcommand)]
enum IntegrationCommand {
    /// Create or replace an integration, like Nango's `config:create <key> <provider> <client-id> <client-secret> "<scopes>"`.
    Create {
        unique_key: String,
        provider: String,
        client_id: Option<String>,
        client_secret: Option<String>,
        /// Comma-separated scopes (the provider's defaults when omitted).
        scopes: Option<String>,
    },
    List,
    Delete {
        unique_key: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = Config::from_env()?;
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Keys {
            command: KeysCommand::Show { secret },
        } => {
            let (_, env, _) = prepare(config).await?;
            if secret {
                println!("{}", env.secret_key.expose());
            } else {
                println!("environment:          {}", env.name);
                println!("secret key:           {}", env.secret_key.expose());
                println!("public key:           {}", env.public_key);
                println!("webhook signing key:  {}", env.webhook_signing_key.expose());
            }
            Ok(())
        }
        Command::Integration { command } => integration(config, command).await,
        Command::Providers => {
            let catalog =
                latchkey_server::catalog::Catalog::load(config.providers_file.as_deref())?;
            for (name, entry) in catalog.iter() {
                let mode = entry
                    .raw
                    .get("auth_mode")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?");
                println!("{name:<32} {mode}");
            }
            eprintln!("{} providers", catalog.len());
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = std::env::var("LATCHKEY_ADDR").unwrap_or_else(|_| "127.0.0.1:3003".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let public_url = config.public_url.clone();
    let connect_ui = config.connect_ui_url();
    let server = latchkey_server::start(config, listener).await?;
    println!("Latchkey listening on http://{}", server.local_addr());
    println!("  API & OAuth callback: {public_url} ({public_url}/oauth/callback)");
    println!("  Connect UI:           {connect_ui}");
    println!("  SDK:                  {public_url}/sdk/index.js");
    if server.dev_environment_created() {
        println!(
            "  Created the dev environment. Secret key (keep it server-side): {}",
            server.secret_key()
        );
    } else {
        println!("  Secret key: run `latchkey keys show`");
    }
    tokio::select! {
        _ = server.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

async fn integration(config: Config, command: IntegrationCommand) -> anyhow::Result<()> {
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
                    client_id,
                    client_secret,
                    scopes,
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
                },
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            app.store.save_integration(&row, true).await?;
            println!("integration '{unique_key}' saved");
        }
        IntegrationCommand::List => {
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
