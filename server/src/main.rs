//! `latchkey`: the server binary and its admin CLI. Every command reads the same configuration
//! (environment variables, see `Config::from_env`) and the same database.
//!
//! The commands are in [`cli`]; here: the allocator, the logs, then the command.

mod cli;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: latchkey_server::Allocator = latchkey_server::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let cli = cli::Cli::parse();
    // The server logs what it does; an admin command only what went wrong (its output is often read
    // by a script). `RUST_LOG` overrides both. Colours only on a terminal.
    let default_filter = match cli.command {
        cli::Command::Serve => "info,sqlx=warn,tower_http=info",
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
    cli::run(cli).await
}
