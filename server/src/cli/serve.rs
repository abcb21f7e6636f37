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
    tokio::select! {
        _ = server.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
