//! `cargo xtask serve`: the whole product on one laptop, offline.
//!
//! 1. the local OAuth provider (npm `oidc-provider`) on 127.0.0.1:3020 with a client registered for
//!    our callback (a fresh client secret per run);
//! 2. the `local-oidc` integration saved through the server's CLI (idempotent);
//! 3. the server on http://localhost:3003 (SQLite in the default data directory,
//!    `~/.local/share/latchkey`, which the `latchkey` CLI finds from any directory);
//! 4. the demo app on http://127.0.0.1:3010, given the dev secret key;
//! 5. a demo dashboard administrator (`admin@example.com`, a new password printed each run).
//!
//! Ports are checked before anything is built; the banner is printed once the server and the demo
//! answer. Ctrl-C stops everything.

use crate::util::{self, output, step};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const PROVIDER_PORT: u16 = 3020;
const SERVER_ADDR: &str = "127.0.0.1:3003";
const DEMO_ADDR: &str = "127.0.0.1:3010";
const CLIENT_ID: &str = "latchkey-demo";

/// The demo dashboard administrator `serve` creates (a new password each run, printed).
const DEMO_ADMIN: &str = "admin@example.com";

/// The server's and the demo's listen addresses (`LATCHKEY_ADDR`, `DEMO_ADDR`, as they read them).
fn listen_addrs() -> (String, String) {
    (
        std::env::var("LATCHKEY_ADDR").unwrap_or_else(|_| SERVER_ADDR.into()),
        std::env::var("DEMO_ADDR").unwrap_or_else(|_| DEMO_ADDR.into()),
    )
}

/// Fails at once, before any build, when a port `serve` needs is taken (most often by another
/// `cargo xtask serve`), instead of building and then failing without a reason.
pub fn check_ports() -> anyhow::Result<()> {
    let (server, demo) = listen_addrs();
    let provider = format!("127.0.0.1:{PROVIDER_PORT}");
    for (what, addr) in [
        ("the server", server.as_str()),
        ("the demo app", demo.as_str()),
        ("the local OAuth provider", provider.as_str()),
    ] {
        if let Err(e) = std::net::TcpListener::bind(addr) {
            anyhow::bail!(
                "{addr} ({what}) is not available: {e}. Is another `cargo xtask serve` running? \
                 Stop it (Ctrl-C) or free the port."
            );
        }
    }
    Ok(())
}

struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn run() -> anyhow::Result<()> {
    let root = util::root();
    let bin = util::target_dir().join("release");
    let latchkey = bin.join("latchkey");
    let public_url =
        std::env::var("LATCHKEY_PUBLIC_URL").unwrap_or_else(|_| "http://localhost:3003".into());
    let mut children = Children(Vec::new());

    step("starting the local OAuth provider (oidc-provider)");
    let client_secret = random_secret()?;
    let mut provider = Command::new("node")
        .arg(root.join("tests/oidc/provider.mjs"))
        .args([
            "--port",
            &PROVIDER_PORT.to_string(),
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            &client_secret,
        ])
        .args(["--redirect-uri", &format!("{public_url}/oauth/callback")])
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = provider.stdout.take().expect("piped");
    children.0.push(provider);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    anyhow::ensure!(
        line.starts_with("READY "),
        "the local OAuth provider did not start (its error is above): {}",
        if line.is_empty() {
            "it exited"
        } else {
            line.trim()
        }
    );

    step("saving the local-oidc integration");
    let server_env = |c: &mut Command| {
        c.current_dir(&root)
            .env("LATCHKEY_PUBLIC_URL", &public_url)
            .env("LATCHKEY_ALLOW_PRIVATE_NETWORK", "true");
    };
    let mut create = Command::new(&latchkey);
    server_env(&mut create);
    util::run(create.args([
        "integration",
        "create",
        "local-oidc",
        "local-oidc",
        CLIENT_ID,
        &client_secret,
    ]))?;
    let mut keys = Command::new(&latchkey);
    server_env(&mut keys);
    let secret_key = output(keys.args(["keys", "show", "--secret"]))
        .ok_or_else(|| anyhow::anyhow!("could not read the dev secret key"))?;
    // A demo dashboard administrator with a fresh password each run (development only: `latchkey
    // admin create` resets the password of an existing account).
    step("creating the demo dashboard administrator");
    let admin_password = random_secret()?;
    let mut admin = Command::new(&latchkey);
    server_env(&mut admin);
    util::run(
        admin
            .args(["admin", "create", DEMO_ADMIN])
            .env("LATCHKEY_ADMIN_PASSWORD", &admin_password),
    )?;

    step("starting the server");
    let mut serve = Command::new(&latchkey);
    server_env(&mut serve);
    children.0.push(serve.arg("serve").spawn()?);

    step("starting the demo app");
    children.0.push(
        Command::new(bin.join("latchkey-demo"))
            .current_dir(&root)
            .env("LATCHKEY_HOST", &public_url)
            .env("LATCHKEY_SECRET_KEY", &secret_key)
            .spawn()?,
    );
    let (server_addr, demo_addr) = listen_addrs();
    wait_until_listening(&[&server_addr, &demo_addr], &mut children)?;
    println!("\nLatchkey is running:");
    println!("  demo app       http://127.0.0.1:3010   <- open this, click \"Connect an account\"");
    println!("  server / API   {public_url}   (secret key: {secret_key})");
    println!(
        "  dashboard      {public_url}/dashboard/   (sign in as {DEMO_ADMIN}, password {admin_password})"
    );
    println!("  API reference  {public_url}/openapi.json");
    println!("  SDK            {public_url}/sdk/index.js");
    println!(
        "  local provider http://127.0.0.1:{PROVIDER_PORT}/.well-known/openid-configuration   (sign in with any login and password)"
    );
    println!(
        "  CLI            {}   (or `cargo install --path server`)",
        latchkey.display()
    );
    println!("The Connect UI ({public_url}/connect/) opens from the demo app, over its page.");
    println!("Press Ctrl-C to stop.");
    loop {
        for c in &mut children.0 {
            if let Some(status) = c.try_wait()? {
                anyhow::bail!("a process exited ({status}); stopping");
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// Waits (≤ 15 s) until something accepts connections on each address, so the banner is printed
/// when the links in it work; fails if a child exits meanwhile.
fn wait_until_listening(addrs: &[&str], children: &mut Children) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    for addr in addrs {
        while std::net::TcpStream::connect(addr).is_err() {
            for c in &mut children.0 {
                if let Some(status) = c.try_wait()? {
                    anyhow::bail!("a process exited ({status}) before {addr} answered");
                }
            }
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "nothing answers on {addr} after 15 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    Ok(())
}

/// A fresh client secret for the local provider's demo client, from the OS RNG.
fn random_secret() -> anyhow::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
