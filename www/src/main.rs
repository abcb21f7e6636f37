//! `latchkey-demo`: serves the demo customer app configured from the environment
//! (`LATCHKEY_HOST`, `LATCHKEY_SECRET_KEY`, `LATCHKEY_CONNECT_UI_URL`, `DEMO_ADDR`).

use latchkey_demo::{router, DemoConfig, DEFAULT_ADDR};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cfg = match DemoConfig::from_env() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("latchkey-demo: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = std::env::var("DEMO_ADDR")
        .ok()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| DEFAULT_ADDR.to_owned());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("latchkey-demo: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
    println!(
        "Latchkey demo on http://{local}  (API {}, Connect UI {})",
        cfg.host, cfg.connect_ui_url
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(e) = axum::serve(listener, router(cfg))
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("latchkey-demo: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
