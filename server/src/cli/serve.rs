//! `latchkey serve`: the server, with where to find it printed at start.

use super::database_location;
use latchkey_server::Config;

pub async fn run(config: Config) -> anyhow::Result<()> {
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
    let mut server = server;
    tokio::select! {
        _ = server.stopped() => return Ok(()),
        _ = shutdown_requested() => {}
    }
    println!(
        "Stopping: open requests finish and the activity log is written (at most {} s; Ctrl-C again to quit now)",
        SHUTDOWN_GRACE.as_secs()
    );
    tokio::select! {
        stopped = tokio::time::timeout(SHUTDOWN_GRACE, server.stop()) => {
            if stopped.is_err() {
                eprintln!("Stopped with requests still open after {} s", SHUTDOWN_GRACE.as_secs());
            }
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

/// How long a shutdown waits for open requests (a proxied download, a live log stream) to end.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Ctrl-C, or SIGTERM (what `podman stop`, systemd and Kubernetes send) where there are signals.
async fn shutdown_requested() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
}
