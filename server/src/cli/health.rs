//! `latchkey health`: the container health probe (no shell or curl there).

/// `latchkey health`: exit 0 when `GET /health` answers 200 within 5 seconds.
pub async fn run(url: Option<String>) -> anyhow::Result<()> {
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
