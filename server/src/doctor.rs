//! `latchkey doctor`: checks what an operator gets wrong most (configuration, database, encryption key,
//! URLs, the embedded web assets, whether anyone can sign in to the dashboard) and says so in plain words. Every check runs, even after a failure,
//! so one run lists every problem; the exit code is non-zero when any check failed.
//!
//! It creates nothing: a SQLite file or key file that does not exist yet is reported (serve creates
//! them), not made. Connecting to an existing database applies pending migrations, as `serve` would.

use crate::config::Config;
use crate::crypto::Cipher;
use crate::storage::Store;

/// How a check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    /// Works, but not what production wants.
    Warn,
    /// The server will not work (or not for everyone).
    Fail,
}

/// What one check found, in a sentence.
#[derive(Debug)]
pub struct Finding {
    pub level: Level,
    pub what: &'static str,
    pub message: String,
}

fn finding(level: Level, what: &'static str, message: impl Into<String>) -> Finding {
    Finding {
        level,
        what,
        message: message.into(),
    }
}

/// Runs every check on the process environment, prints one line per finding and fails when any
/// check failed.
pub async fn run() -> anyhow::Result<()> {
    let findings = check_env().await;
    for f in &findings {
        let tag = match f.level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        println!("{tag}  {:<16} {}", f.what, f.message);
    }
    let failed = findings.iter().filter(|f| f.level == Level::Fail).count();
    anyhow::ensure!(failed == 0, "{failed} problem(s) found");
    println!("no problems found");
    Ok(())
}

/// Reads the configuration from the environment variables, then [`check`]s it.
pub async fn check_env() -> Vec<Finding> {
    let mut findings = Vec::new();
    let addr = crate::config::listen_addr_from_env();
    findings.push(match addr.parse::<std::net::SocketAddr>() {
        Ok(a) if a.ip().is_loopback() => finding(
            Level::Warn,
            "listen address",
            format!("{a} is reachable from this machine only; set LATCHKEY_ADDR=0.0.0.0:3003 in a container or behind a proxy elsewhere"),
        ),
        Ok(a) => finding(Level::Ok, "listen address", a.to_string()),
        Err(_) => finding(
            Level::Fail,
            "listen address",
            format!("LATCHKEY_ADDR={addr} is not an address and port like 0.0.0.0:3003"),
        ),
    });
    match Config::from_env() {
        Ok(config) => findings.extend(check(&config).await),
        Err(e) => findings.push(finding(
            Level::Fail,
            "configuration",
            format!("cannot read the configuration: {e}"),
        )),
    }
    findings
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A URL browsers and providers must reach: parses, and is https unless it is this machine.
fn check_url(what: &'static str, variable: &str, value: &str) -> Finding {
    match url::Url::parse(value) {
        Err(e) => finding(Level::Fail, what, format!("{variable}: {value} is not a URL ({e})")),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => finding(
            Level::Fail,
            what,
            format!("{value} must be an http(s) URL"),
        ),
        Ok(u) if u.scheme() == "http" && !is_loopback_host(&u) => finding(
            Level::Warn,
            what,
            format!("{value} is plain http on another machine: providers refuse http redirect URIs and browsers would send tokens in clear; use https"),
        ),
        Ok(u) if is_loopback_host(&u) => finding(
            Level::Warn,
            what,
            format!("{value} is only reachable from this machine; set {variable} to the address browsers and providers use"),
        ),
        Ok(_) => finding(Level::Ok, what, value.to_string()),
    }
}

/// Every check of one configuration.
pub async fn check(config: &Config) -> Vec<Finding> {
    let mut findings = vec![
        check_url("public URL", "LATCHKEY_PUBLIC_URL", &config.public_url),
        check_url(
            "callback URL",
            "LATCHKEY_PUBLIC_URL",
            &config.callback_url(),
        ),
    ];

    // The encryption key, without creating the dev key file.
    let key_file = config.data_dir.join("encryption.key");
    let cipher = match &config.encryption_key {
        Some(key) => match Cipher::from_base64(key) {
            Ok(c) => {
                findings.push(finding(
                    Level::Ok,
                    "encryption key",
                    "LATCHKEY_ENCRYPTION_KEY is a valid 256-bit key",
                ));
                Some(c)
            }
            Err(_) => {
                findings.push(finding(Level::Fail, "encryption key", "LATCHKEY_ENCRYPTION_KEY is not the base64 of 32 bytes (make one with `openssl rand -base64 32`)"));
                None
            }
        },
        None => match std::fs::read_to_string(&key_file) {
            Ok(text) => match Cipher::from_base64(&text) {
                Ok(c) => {
                    findings.push(finding(Level::Warn, "encryption key", format!("LATCHKEY_ENCRYPTION_KEY is not set: using the dev key file {}. Set the variable in production (and keep a copy: without it the credentials cannot be read)", key_file.display())));
                    Some(c)
                }
                Err(_) => {
                    findings.push(finding(
                        Level::Fail,
                        "encryption key",
                        format!("{} is not a valid key file", key_file.display()),
                    ));
                    None
                }
            },
            Err(_) => {
                findings.push(finding(Level::Warn, "encryption key", format!("LATCHKEY_ENCRYPTION_KEY is not set: the first start will create the dev key file {}. Set the variable in production", key_file.display())));
                None
            }
        },
    };

    // The database: reachable, and (when there is a cipher) the keys sealed in it open.
    let sqlite_missing = config
        .database_url
        .strip_prefix("sqlite://")
        .map(|p| p.split('?').next().unwrap_or(p))
        .filter(|p| !std::path::Path::new(p).exists());
    if let Some(path) = sqlite_missing {
        findings.push(finding(
            Level::Ok,
            "database",
            format!("SQLite file {path} does not exist yet: the first start creates it"),
        ));
    } else {
        let shown = redact_password(&config.database_url);
        match Store::connect(&config.database_url).await {
            Err(e) => findings.push(finding(
                Level::Fail,
                "database",
                format!("cannot open {shown}: {e:#}"),
            )),
            Ok(store) => {
                findings.push(finding(
                    Level::Ok,
                    "database",
                    format!("{} answers ({shown})", store.backend()),
                ));
                findings.push(check_environment(&store, cipher.as_ref()).await);
                findings.push(check_admins(&store).await);
            }
        }
    }

    // The web assets.
    for (what, dir, embedded) in [
        (
            "Connect UI",
            &config.connect_ui_dir,
            crate::http::embedded::Bundle::connect_ui().is_some(),
        ),
        (
            "SDK",
            &config.sdk_dir,
            crate::http::embedded::Bundle::sdk().is_some(),
        ),
        (
            "dashboard app",
            &config.dashboard_dir,
            crate::http::embedded::Bundle::dashboard().is_some(),
        ),
    ] {
        findings.push(match dir {
            Some(dir) if dir.is_dir() => finding(Level::Ok, what, format!("served from {}", dir.display())),
            Some(dir) => finding(Level::Fail, what, format!("{} is not a folder", dir.display())),
            None if embedded => finding(Level::Ok, what, "embedded in this binary"),
            None => finding(Level::Fail, what, "not embedded in this binary (built before `cargo xtask build` made the web parts) and no folder is set"),
        });
    }
    findings
}

async fn check_environment(store: &Store, cipher: Option<&Cipher>) -> Finding {
    let row = match store
        .environment_by_name(crate::environment::DEV_ENVIRONMENT)
        .await
    {
        Err(e) => return finding(Level::Fail, "environment", format!("cannot read it: {e}")),
        Ok(None) => {
            return finding(
                Level::Ok,
                "environment",
                "not created yet: the first start creates it and prints its secret key",
            )
        }
        Ok(Some(row)) => row,
    };
    let Some(cipher) = cipher else {
        return finding(
            Level::Warn,
            "environment",
            "exists; its keys were not checked (no usable encryption key)",
        );
    };
    match crate::environment::Environment::open(&row, cipher) {
        Ok(_) => finding(Level::Ok, "environment", "its keys open with this encryption key"),
        Err(_) => finding(Level::Fail, "environment", "its keys do not open with this encryption key: LATCHKEY_ENCRYPTION_KEY is not the key this database was written with"),
    }
}

/// Whether anyone can sign in to the dashboard.
async fn check_admins(store: &Store) -> Finding {
    match store.admin_count().await {
        Ok(0) => finding(
            Level::Warn,
            "dashboard",
            "no administrator yet: create one with `latchkey admin create <email>`",
        ),
        Ok(n) => finding(
            Level::Ok,
            "dashboard",
            format!("{n} administrator(s) can sign in at /dashboard/"),
        ),
        Err(e) => finding(
            Level::Fail,
            "dashboard",
            format!("cannot read the administrators: {e}"),
        ),
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_password(database_url: &str) -> String {
    match url::Url::parse(database_url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => database_url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_judged_for_production() {
        assert_eq!(
            check_url("x", "V", "https://auth.example.com").level,
            Level::Ok
        );
        assert_eq!(
            check_url("x", "V", "http://auth.example.com").level,
            Level::Warn
        );
        assert_eq!(
            check_url("x", "V", "http://localhost:3003").level,
            Level::Warn
        );
        assert_eq!(
            check_url("x", "V", "ftp://auth.example.com").level,
            Level::Fail
        );
        assert_eq!(check_url("x", "V", "not a url").level, Level::Fail);
    }

    #[test]
    fn database_passwords_are_not_printed() {
        assert_eq!(
            redact_password("postgres://lk:hunter2@db:5432/latchkey"),
            "postgres://lk:***@db:5432/latchkey"
        );
        assert_eq!(
            redact_password("sqlite://./data/latchkey.db"),
            "sqlite://./data/latchkey.db"
        );
    }
}
