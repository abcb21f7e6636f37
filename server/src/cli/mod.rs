//! The `latchkey` command line: its clap definition ([`Cli`]) and [`run`], which hands each command
//! to its module here (the server, keys, integrations, connections, settings, webhooks, the activity
//! log, the health probe) or in the library (`doctor`, `dashboard::cli` for admins).

mod connection;
mod health;
mod integration;
mod keys;
mod logs;
mod serve;
mod settings;
mod webhooks;

use clap::{Parser, Subcommand};
use connection::ConnectionCommand;
use integration::IntegrationCommand;
use keys::KeysCommand;
use latchkey_server::Config;
use settings::SettingsCommand;
use webhooks::WebhooksCommand;

/// `0.1.0 (git 1a2b3c4d5e6f)`: the crate version and the commit it was built from (`build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("LATCHKEY_GIT_REV"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "latchkey",
    version = VERSION,
    about = "Self-hostable auth layer for product integrations (Nango-compatible)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (API, OAuth pages, WebSocket, Connect UI, SDK files).
    Serve,
    /// Show or rotate the `dev` environment's keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage integrations.
    Integration {
        #[command(subcommand)]
        command: IntegrationCommand,
    },
    /// Inspect and delete connections.
    Connection {
        #[command(subcommand)]
        command: ConnectionCommand,
    },
    /// Show or change the environment's settings (callback URL, webhooks, HMAC, origins, theme).
    Settings {
        #[command(subcommand)]
        command: SettingsCommand,
    },
    /// The provider catalog.
    Providers {
        #[command(subcommand)]
        command: ProvidersCommand,
    },
    /// Check the configuration, database, encryption key, public and callback URLs, and the embedded
    /// web assets; says what is wrong in plain words and exits non-zero on a problem.
    Doctor,
    /// Ask the running server whether it is alive (`GET /health` on LATCHKEY_ADDR); exit code 0 if so.
    /// For container health checks, where there is no shell or curl.
    Health {
        /// The server's base URL (default: from LATCHKEY_ADDR, e.g. http://127.0.0.1:3003).
        #[arg(long)]
        url: Option<String>,
    },
    /// Print a shell completion script: `latchkey completions bash > /etc/bash_completion.d/latchkey`.
    Completions { shell: clap_complete::Shell },
    /// The activity log: operations (OAuth attempts, refreshes, webhooks, proxy calls…) and their steps.
    Logs(logs::LogsArgs),
    /// Dashboard administrators (`/dashboard/`).
    Admin {
        #[command(subcommand)]
        command: latchkey_server::dashboard::cli::AdminCommand,
    },
    /// The webhook outbox: list deliveries and dead letters, re-send a failed one.
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
    },
}

#[derive(Subcommand)]
pub enum ProvidersCommand {
    /// List every provider with its auth mode.
    List,
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Commands that need no configuration.
    match cli.command {
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "latchkey", &mut std::io::stdout());
            return Ok(());
        }
        Command::Health { url } => return health::run(url).await,
        Command::Doctor => return latchkey_server::doctor::run().await,
        _ => {}
    }
    let config = Config::from_env()?;
    match cli.command {
        Command::Completions { .. } | Command::Health { .. } | Command::Doctor => unreachable!(),
        Command::Serve => serve::run(config).await,
        Command::Keys { command } => keys::run(config, command).await,
        Command::Integration { command } => integration::run(config, command).await,
        Command::Connection { command } => connection::run(config, command).await,
        Command::Settings { command } => settings::run(config, command).await,
        Command::Webhooks { command } => webhooks::run(config, command).await,
        Command::Logs(args) => logs::run(config, args).await,
        Command::Admin { command } => latchkey_server::dashboard::cli::run(config, command).await,
        Command::Providers {
            command: ProvidersCommand::List,
        } => {
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

/// The SQLite file, or just "PostgreSQL" (its URL may hold a password).
fn database_location(config: &Config) -> String {
    config.sqlite_path().map_or_else(
        || "PostgreSQL (DATABASE_URL)".to_owned(),
        |p| p.display().to_string(),
    )
}
