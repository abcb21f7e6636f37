//! `latchkey`: the server binary and its admin CLI. Every command reads the same configuration
//! (environment variables, see `Config::from_env`) and the same database.

use clap::{Parser, Subcommand};
use latchkey_server::http::integrations::{
    new_integration, CreateIntegration, IntegrationCredentials,
};
use latchkey_server::{prepare, Config};

#[global_allocator]
static ALLOCATOR: latchkey_server::Allocator = latchkey_server::Allocator;

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
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    Logs(latchkey_server::activity::cli::LogsArgs),
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
enum WebhooksCommand {
    /// List webhooks, newest first (id, status, attempts, URL, last error).
    List {
        /// Only `pending`, `delivered` or `failed` (the dead letters).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Queue a failed (dead-lettered) webhook again, with a fresh retry schedule.
    Resend { id: String },
}

#[derive(Subcommand)]
enum ProvidersCommand {
    /// List every provider with its auth mode.
    List,
}

#[derive(Subcommand)]
enum ConnectionCommand {
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

#[derive(Subcommand)]
enum SettingsCommand {
    /// Print the settings as JSON (the HMAC key is masked).
    Show,
    /// Set one setting (the value is read as JSON when it parses as JSON, else as a string).
    ///
    /// Settings: callback_url, webhook_url, webhook_url_secondary (URLs or null),
    /// webhook_on_auth_creation, webhook_on_auth_refresh_error, hmac_enabled, browser_cookie_check
    /// (true/false), hmac_key (string or null), allowed_origins (JSON list of exact origins),
    /// connect_ui (merged into the current value; keys as Nango's connectUISettings, snake_case
    /// accepted too): {"defaultTheme": "light"|"dark"|"system", "showWatermark": bool,
    /// "theme": {"light": {"primary": "#rrggbb"}, "dark": {"primary": "#rrggbb"}}}.
    ///
    /// Examples: `settings set callback_url https://auth.example.com/callback`,
    /// `settings set allowed_origins '["https://app.example.com"]'`, `settings set hmac_key null`,
    /// `settings set connect_ui '{"defaultTheme":"dark"}'`.
    #[command(verbatim_doc_comment)]
    Set {
        /// The setting's name, e.g. `connect_ui`.
        name: String,
        /// JSON, or a plain string.
        value: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print the keys (`--secret` prints only the secret key, for scripts).
    Show {
        /// Print only the secret key, nothing else (for `$(latchkey keys show --secret)`).
        #[arg(long)]
        secret: bool,
    },
    /// Replace the secret, public and/or webhook signing key with new random ones. Backends, pages
    /// and webhook receivers using an old key stop working at once.
    Rotate {
        /// A new secret key (for backends).
        #[arg(long)]
        secret: bool,
        /// A new public key (legacy frontend auth).
        #[arg(long)]
        public: bool,
        /// A new webhook signing key.
        #[arg(long)]
        webhook_signing: bool,
    },
    /// Re-seal every secret at rest with the current `LATCHKEY_ENCRYPTION_KEY` (after a rotation;
    /// the old key must be in `LATCHKEY_PREVIOUS_ENCRYPTION_KEYS`), printing progress. When it reports
    /// nothing failed, the previous key can be removed.
    Reseal,
}

#[derive(Subcommand)]
enum IntegrationCommand {
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let cli = Cli::parse();
    // The server logs what it does; an admin command only what went wrong (its output is often read
    // by a script). `RUST_LOG` overrides both. Colours only on a terminal.
    let default_filter = match cli.command {
        Command::Serve => "info,sqlx=warn,tower_http=info",
        _ => "error",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| default_filter.into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `LATCHKEY_LOG_FORMAT=json`: one JSON object per line, for log collectors.
    match std::env::var("LATCHKEY_LOG_FORMAT").as_deref() {
        Ok("json") => logs.json().init(),
        Ok("text") | Ok("") | Err(_) => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        Ok(other) => {
            logs.with_ansi(std::io::stderr().is_terminal()).init();
            tracing::warn!(
                "LATCHKEY_LOG_FORMAT={other} is unknown (json or text): logging as text"
            );
        }
    }
    // Commands that need no configuration.
    match cli.command {
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "latchkey", &mut std::io::stdout());
            return Ok(());
        }
        Command::Health { url } => return health(url).await,
        Command::Doctor => return latchkey_server::doctor::run().await,
        _ => {}
    }
    let config = Config::from_env()?;
    match cli.command {
        Command::Completions { .. } | Command::Health { .. } | Command::Doctor => unreachable!(),
        Command::Serve => serve(config).await,
        Command::Keys { command } => keys(config, command).await,
        Command::Integration { command } => integration(config, command).await,
        Command::Connection { command } => connection(config, command).await,
        Command::Settings { command } => settings(config, command).await,
        Command::Webhooks { command } => webhooks(config, command).await,
        Command::Logs(args) => latchkey_server::activity::cli::run(config, args).await,
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

/// `latchkey health`: exit 0 when `GET /health` answers 200 within 5 seconds.
async fn health(url: Option<String>) -> anyhow::Result<()> {
    let base = url.unwrap_or_else(|| {
        let addr = latchkey_server::config::listen_addr_from_env();
        // A wildcard listen address is reached on loopback.
        let addr = addr
            .replace("0.0.0.0", "127.0.0.1")
            .replace("[::]", "[::1]");
        format!("http://{addr}")
    });
    let url = format!("{}/health", base.trim_end_matches('/'));
    let res = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?
        .get(&url)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{url} did not answer: {e}"))?;
    anyhow::ensure!(res.status().is_success(), "{url} answered {}", res.status());
    println!("ok");
    Ok(())
}

async fn keys(config: Config, command: KeysCommand) -> anyhow::Result<()> {
    let env_overrides = [
        ("LATCHKEY_SECRET_KEY", config.secret_key.is_some()),
        ("LATCHKEY_PUBLIC_KEY", config.public_key.is_some()),
        (
            "LATCHKEY_WEBHOOK_SIGNING_KEY",
            config.webhook_signing_key.is_some(),
        ),
    ];
    let database = database_location(&config);
    let (app, env, _) = prepare(config).await?;
    match command {
        KeysCommand::Show { secret: true } => println!("{}", env.secret_key.expose()),
        KeysCommand::Show { secret: false } => {
            print_keys(&env);
            println!("database:             {database}");
        }
        KeysCommand::Reseal => {
            use std::io::Write;
            let mut progress = |table: &str, done: usize, total: usize| {
                eprint!("\r{table}: {done}/{total}   ");
                if done == total {
                    eprintln!();
                }
                let _ = std::io::stderr().flush();
            };
            let done = latchkey_server::reseal::reseal_all(
                &app,
                latchkey_server::reseal::Scope::All,
                &mut progress,
            )
            .await?;
            println!(
                "re-sealed: {} environment(s), {} integration(s), {} connection(s); {} could not be opened",
                done.environments, done.integrations, done.connections, done.failed
            );
            anyhow::ensure!(
                done.failed == 0,
                "some secrets are sealed by a key that is not in the keyring"
            );
        }
        KeysCommand::Rotate {
            secret,
            public,
            webhook_signing,
        } => {
            anyhow::ensure!(
                secret || public || webhook_signing,
                "say which key: --secret, --public and/or --webhook-signing"
            );
            for (var, set) in env_overrides {
                if set {
                    eprintln!(
                        "warning: {var} is set and will replace the rotated key at the next start"
                    );
                }
            }
            let new_secret = secret.then(|| uuid::Uuid::new_v4().to_string());
            let new_public = public.then(|| uuid::Uuid::new_v4().to_string());
            let new_signing = webhook_signing.then(|| uuid::Uuid::new_v4().to_string());
            let keys = latchkey_server::environment::KeyOverrides {
                secret: new_secret.as_deref(),
                public: new_public.as_deref(),
                webhook_signing: new_signing.as_deref(),
            };
            let env =
                latchkey_server::environment::set_keys(&app.store, &app.cipher, env, keys).await?;
            latchkey_server::activity::hooks::keys_rotated(
                &app,
                env.id,
                secret,
                public,
                webhook_signing,
            );
            app.activity.flush().await;
            print_keys(&env);
        }
    }
    Ok(())
}

/// The SQLite file, or just "PostgreSQL" (its URL may hold a password).
fn database_location(config: &Config) -> String {
    config.sqlite_path().map_or_else(
        || "PostgreSQL (DATABASE_URL)".to_owned(),
        |p| p.display().to_string(),
    )
}

fn print_keys(env: &latchkey_server::environment::Environment) {
    println!("environment:          {}", env.name);
    println!("secret key:           {}", env.secret_key.expose());
    println!("public key:           {}", env.public_key);
    println!("webhook signing key:  {}", env.webhook_signing_key.expose());
}

async fn connection(config: Config, command: ConnectionCommand) -> anyhow::Result<()> {
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
            let (row, credentials) = latchkey_server::connections::fresh(&app, row, false)
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

async fn webhooks(config: Config, command: WebhooksCommand) -> anyhow::Result<()> {
    use latchkey_server::storage::WebhookStatus;
    let (app, env, _) = prepare(config).await?;
    match command {
        WebhooksCommand::List { status, limit } => {
            let status: Option<WebhookStatus> = status
                .map(|s| serde_json::from_value(serde_json::Value::String(s)))
                .transpose()
                .map_err(|_| anyhow::anyhow!("--status is pending, delivered or failed"))?;
            for row in app.store.list_webhooks(env.id, status, limit, 0).await? {
                let w = latchkey_server::http::outbox::wire(&row);
                println!(
                    "{:<36} {:<9} {:>2} {:<40} {}",
                    w.id,
                    w.status,
                    w.attempts,
                    w.url,
                    w.last_error.unwrap_or_default()
                );
            }
        }
        WebhooksCommand::Resend { id } => {
            app.store
                .resend_webhook(env.id, &id, latchkey_server::time::real_unix())
                .await?
                .ok_or_else(|| anyhow::anyhow!("no failed webhook '{id}'"))?;
            println!("webhook '{id}' queued again (a running server sends it within a second)");
        }
    }
    Ok(())
}

async fn settings(config: Config, command: SettingsCommand) -> anyhow::Result<()> {
    use latchkey_protocol::settings::EnvironmentSettingsPatch;
    use latchkey_server::settings;
    let (app, env, _) = prepare(config).await?;
    let shown = match command {
        SettingsCommand::Show => (*env.settings).clone(),
        SettingsCommand::Set { name, value } => {
            let fields = [name.clone()];
            let value = serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value));
            // Through the same patch type and validation as `PATCH /environment/settings`.
            let patch: EnvironmentSettingsPatch =
                serde_json::from_value(serde_json::json!({ name: value }))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            let updated = settings::update(&app.store, &app.cipher, &env, patch).await?;
            latchkey_server::activity::hooks::settings_changed(&app, env.id, &fields, &updated);
            app.activity.flush().await;
            updated.map_err(|e| anyhow::anyhow!("{e}"))?
        }
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&settings::redacted(&shown))?
    );
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen_addr).await?;
    let public_url = config.public_url.clone();
    let connect_ui = config.connect_ui_url();
    let database = database_location(&config);
    let generated_key = config.secret_key.is_none();
    let server = latchkey_server::start(config, listener).await?;
    println!("Latchkey listening on http://{}", server.local_addr());
    println!("  API & OAuth callback: {public_url} ({public_url}/oauth/callback)");
    println!("  Connect UI:           {connect_ui}");
    println!("  SDK:                  {public_url}/sdk/index.js");
    println!("  Database:             {database}");
    if server.dev_environment_created() && generated_key {
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
