//! `latchkey logs [ID] [--follow] [filters]`: the activity log of the `dev` environment from the
//! database (like every admin command), so it works beside any number of replicas and without the
//! secret key. With an id, one entry and its steps; `--follow` keeps printing new entries.

use latchkey_protocol::activity::LogEntry;
use latchkey_server::http::logs::{steps, wire, LogQuery};
use latchkey_server::storage::activity::ActivityFilter;

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// Show this entry and its steps instead of a list.
    pub id: Option<String>,
    /// Keep printing new entries as they are recorded (Ctrl-C to stop).
    #[arg(long, short)]
    pub follow: bool,
    /// Only this operation type (oauth, credentials, refresh, client_credentials, webhook, proxy,
    /// connect_session, settings, keys).
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Only `pending`, `success` or `failure`.
    #[arg(long)]
    pub outcome: Option<String>,
    /// Only this integration (its unique key).
    #[arg(long)]
    pub integration: Option<String>,
    /// Only this connection id.
    #[arg(long)]
    pub connection: Option<String>,
    /// Only this end user id.
    #[arg(long)]
    pub end_user: Option<String>,
    /// Only entries started at or after this ISO-8601 time.
    #[arg(long)]
    pub from: Option<String>,
    /// Only entries started before this ISO-8601 time.
    #[arg(long)]
    pub to: Option<String>,
    /// How many entries to list (newest first, printed oldest first).
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(config: latchkey_server::Config, args: LogsArgs) -> anyhow::Result<()> {
    let every = config.activity.tail_every;
    let (app, env, _) = latchkey_server::prepare(config).await?;
    // A refused filter names its option (`--type: must be one of …`).
    let bad = |e: latchkey_server::http::error::ApiError| match e {
        latchkey_server::http::error::ApiError::Invalid { issues, .. } => anyhow::anyhow!(issues
            .iter()
            .map(|i| format!("--{}: {}", i.path.join(".").replace('_', "-"), i.message))
            .collect::<Vec<_>>()
            .join("; ")),
        other => anyhow::anyhow!(other.summary().2),
    };
    if let Some(id) = &args.id {
        let row = app
            .store
            .activity_entry(env.id, id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no log entry '{id}'"))?;
        let entry = wire(&env.name, &row, Some(steps(&app, &row.id).await?));
        if args.json {
            println!("{}", serde_json::to_string_pretty(&entry)?);
        } else {
            print_entry(&entry);
            for s in entry.steps.iter().flatten() {
                let detail = s.detail.as_ref().map(|d| d.to_string()).unwrap_or_default();
                println!("  {} {:<5} {} {}", s.time, s.level, s.message, detail);
            }
        }
        return Ok(());
    }
    let query = LogQuery {
        kind: args.kind.clone(),
        outcome: args.outcome.clone(),
        integration: args.integration.clone(),
        connection_id: args.connection.clone(),
        end_user_id: args.end_user.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        ..Default::default()
    };
    let filter = query.filter().map_err(bad)?;
    anyhow::ensure!(args.limit > 0, "--limit must be at least 1");
    let mut rows = app
        .store
        .list_activity(env.id, &filter, false, args.limit)
        .await?;
    rows.reverse();
    let mut after = rows.last().map_or(0, |r| r.seq);
    if rows.is_empty() && args.follow {
        // Start from now: the newest entry of the environment, matching or not.
        after = app
            .store
            .list_activity(env.id, &ActivityFilter::default(), false, 1)
            .await?
            .first()
            .map_or(0, |r| r.seq);
    }
    let show = |e: &LogEntry| {
        if args.json {
            println!("{}", serde_json::to_string(e).unwrap_or_default());
        } else {
            print_entry(e);
        }
    };
    for row in &rows {
        show(&wire(&env.name, row, None));
    }
    if !args.follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(every).await;
        let next = ActivityFilter {
            after_seq: Some(after),
            ..filter.clone()
        };
        for row in app.store.list_activity(env.id, &next, true, 500).await? {
            after = row.seq;
            show(&wire(&env.name, &row, None));
        }
    }
}

fn print_entry(e: &LogEntry) {
    let duration = e
        .duration_ms
        .map(|d| format!("{d}ms"))
        .unwrap_or_else(|| "-".into());
    println!(
        "{} {:<18} {:<8} {:<20} {:<24} {:>8}  {}",
        e.time,
        e.kind,
        e.outcome,
        e.integration.as_deref().unwrap_or("-"),
        e.connection_id.as_deref().unwrap_or("-"),
        duration,
        e.id
    );
}
