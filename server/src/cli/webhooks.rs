//! `latchkey webhooks`: the webhook outbox (deliveries, dead letters) and re-sending a failed one.

use clap::Subcommand;
use latchkey_server::{prepare, Config};

#[derive(Subcommand)]
pub enum WebhooksCommand {
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

pub async fn run(config: Config, command: WebhooksCommand) -> anyhow::Result<()> {
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
