//! Server configuration, 12-factor: every setting comes from an environment variable (PROTOCOL.md §2)
//! with a default that makes `latchkey serve` work on a laptop.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

/// Everything the server needs to start. Built from the environment by [`Config::from_env`], or by
/// tests directly.
#[derive(Clone)]
pub struct Config {
    /// How browsers and providers reach us (callback URL, connect links, `/sdk/`). No trailing slash.
    pub public_url: String,
    /// `LATCHKEY_ADDR`: the address and port `latchkey serve` listens on (default [`DEFAULT_ADDR`]).
    pub listen_addr: String,
    /// `LATCHKEY_RATE_LIMIT_PER_MINUTE`: requests per minute per key (REST API) and per IP address
    /// (OAuth popup, WebSocket); `None` when set to `0` (no limit). See [`crate::http::rate_limit`].
    pub rate_limit_per_minute: Option<NonZeroU32>,
    /// `LATCHKEY_WEBSOCKETS_PATH`: where the WebSocket result channel is served besides `/` (Nango's
    /// `websocketsPath`), with its leading `/`.
    pub websockets_path: String,
    /// `sqlite://…` (default) — PostgreSQL arrives with the storage trait.
    pub database_url: String,
    /// Where the dev encryption key file lives.
    pub data_dir: PathBuf,
    /// Overrides of the `dev` environment's keys.
    pub secret_key: Option<String>,
    pub public_key: Option<String>,
    /// `LATCHKEY_WEBHOOK_SIGNING_KEY`: the key auth webhooks are signed with.
    pub webhook_signing_key: Option<String>,
    /// base64 of 32 bytes; without it a dev key file is generated under `data_dir` (with a warning).
    pub encryption_key: Option<String>,
    /// Extra provider catalog (Nango `providers.yaml` schema) merged over the shipped one.
    pub providers_file: Option<PathBuf>,
    /// Where the Connect UI is served; defaults to `<public_url>/connect/`.
    pub connect_ui_url: Option<String>,
    /// A folder served at `/connect/` instead of the Connect UI embedded in the binary (development).
    /// `LATCHKEY_DASHBOARD_DIR`: serve the dashboard from this folder instead of the copy in the binary.
    pub dashboard_dir: Option<PathBuf>,
    pub connect_ui_dir: Option<PathBuf>,
    /// A folder served at `/sdk/` instead of the SDK package embedded in the binary (development).
    pub sdk_dir: Option<PathBuf>,
    /// Let requests to providers (token, refresh, verification: hosts a connection config may
    /// influence) reach loopback/private addresses (tests, the local demo provider).
    /// `LATCHKEY_ALLOW_PRIVATE_PROVIDERS`, else `LATCHKEY_ALLOW_PRIVATE_NETWORK`.
    pub allow_private_providers: bool,
    /// Let webhook deliveries reach loopback/private addresses (a receiver on the same network).
    /// `LATCHKEY_ALLOW_PRIVATE_WEBHOOKS`, else `LATCHKEY_ALLOW_PRIVATE_NETWORK`.
    pub allow_private_webhooks: bool,
    /// `LATCHKEY_OUTBOUND_PROXY`: the egress proxy for provider and webhook requests. Without it,
    /// `HTTP(S)_PROXY` from the environment are ignored (a proxy would bypass the address checks).
    pub outbound_proxy: Option<String>,
    /// `LATCHKEY_PUBLIC_KEY_MODE`: Nango's legacy public-key authentication of the frontend.
    pub public_key_mode: PublicKeyMode,
    /// `LATCHKEY_TRUSTED_PROXIES`: addresses of reverse proxies whose `X-Forwarded-For` is believed
    /// (for per-IP rate limits). Empty: the peer address is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `LATCHKEY_PREVIOUS_ENCRYPTION_KEYS`: earlier encryption keys (comma-separated base64), still
    /// accepted to open what they sealed; everything is re-sealed with the current key.
    pub previous_encryption_keys: Vec<String>,
    /// Primary webhook URL (auth webhooks).
    pub webhook_url: Option<String>,
    /// `LATCHKEY_METRICS_TOKEN`: when set, `GET /metrics` requires it as a bearer token.
    pub metrics_token: Option<crate::secret::Secret>,
    /// The clock every expiry decision reads ([`crate::time`]): the system clock, except in tests
    /// that move time forward.
    pub clock: crate::time::Clock,
    /// `/proxy/*` limits (`LATCHKEY_PROXY_*`).
    pub proxy: crate::proxy::Limits,
    /// The activity log (`LATCHKEY_ACTIVITY_LOG`, `LATCHKEY_LOG_RETENTION_DAYS`).
    pub activity: crate::activity::Settings,
    /// `LATCHKEY_AWS_STS_URL`: AWS STS of a region, `{region}` standing for it (default
    /// `https://sts.{region}.amazonaws.com`): AWS SigV4's built-in AssumeRole and the
    /// GetCallerIdentity check of new connections. Other partitions (China, an STS VPC endpoint) or
    /// a local STS in tests.
    pub aws_sts_url: String,
}

/// Where `latchkey serve` listens unless `LATCHKEY_ADDR` says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3003";

/// `LATCHKEY_ADDR`, or [`DEFAULT_ADDR`]: read by [`Config::from_env`], and on its own by the commands
/// that only need to find the server (`latchkey health`, the doctor's first check), which must work
/// even when the rest of the configuration does not parse.
pub fn listen_addr_from_env() -> String {
    var("LATCHKEY_ADDR").unwrap_or_else(|| DEFAULT_ADDR.into())
}

/// AWS STS of a region (`LATCHKEY_AWS_STS_URL`'s default).
pub const AWS_STS_URL: &str = "https://sts.{region}.amazonaws.com";

/// Whether a frontend may authenticate with the environment's public key instead of a connect
/// session (Nango's legacy mode). Off by default: anyone who reads the public key from a page could
/// otherwise write any end user's connection by naming its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublicKeyMode {
    /// Refused (`401 public_key_mode_disabled`-style `invalid_public_key`): connect sessions only.
    #[default]
    Off,
    /// Accepted only with a valid, unexpired HMAC digest from the customer's backend.
    Hmac,
    /// Accepted as Nango does, HMAC only when the environment enables it: local development only.
    Insecure,
}

impl PublicKeyMode {
    fn parse(v: &str) -> anyhow::Result<Self> {
        match v.trim().to_ascii_lowercase().as_str() {
            "off" | "false" | "0" | "no" => Ok(Self::Off),
            "hmac" => Ok(Self::Hmac),
            "insecure" => Ok(Self::Insecure),
            other => anyhow::bail!(
                "LATCHKEY_PUBLIC_KEY_MODE must be off, hmac or insecure (got {other:?})"
            ),
        }
    }
}

/// `scheme://user:****@host/db`: a database URL without its password.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparsable URL>".into(),
    }
}

impl std::fmt::Debug for Config {
    // Hand-written so that key overrides and the database password can never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("public_url", &self.public_url)
            .field("listen_addr", &self.listen_addr)
            .field("database_url", &redact_url(&self.database_url))
            .field("data_dir", &self.data_dir)
            .field("providers_file", &self.providers_file)
            .field("connect_ui_url", &self.connect_ui_url)
            .field("allow_private_providers", &self.allow_private_providers)
            .field("allow_private_webhooks", &self.allow_private_webhooks)
            .field(
                "outbound_proxy",
                &self.outbound_proxy.as_deref().map(redact_url),
            )
            .field("public_key_mode", &self.public_key_mode)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("activity", &self.activity)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .field("websockets_path", &self.websockets_path)
            .finish_non_exhaustive()
    }
}

fn is_true(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
}

/// `(providers, webhooks)`: `LATCHKEY_ALLOW_PRIVATE_PROVIDERS` and `LATCHKEY_ALLOW_PRIVATE_WEBHOOKS`,
/// each defaulting to the older single switch `LATCHKEY_ALLOW_PRIVATE_NETWORK` (which meant both).
fn private_network_flags(lookup: impl Fn(&str) -> Option<String>) -> (bool, bool) {
    let both = lookup("LATCHKEY_ALLOW_PRIVATE_NETWORK").is_some_and(|v| is_true(&v));
    let one = |name: &str| lookup(name).map(|v| is_true(&v)).unwrap_or(both);
    (
        one("LATCHKEY_ALLOW_PRIVATE_PROVIDERS"),
        one("LATCHKEY_ALLOW_PRIVATE_WEBHOOKS"),
    )
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Reads `LATCHKEY_*` and `DATABASE_URL`.
    pub fn from_env() -> anyhow::Result<Self> {
        let public_url =
            var("LATCHKEY_PUBLIC_URL").unwrap_or_else(|| "http://localhost:3003".into());
        let public_url = public_url.trim_end_matches('/').to_string();
        url::Url::parse(&public_url)
            .map_err(|e| anyhow::anyhow!("LATCHKEY_PUBLIC_URL is not a URL: {e}"))?;
        let data_dir = data_dir(var("LATCHKEY_DATA_DIR"), var("XDG_DATA_HOME"), var("HOME"))?;
        let (allow_private_providers, allow_private_webhooks) = private_network_flags(var);
        let trusted_proxies = var("LATCHKEY_TRUSTED_PROXIES")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.parse().map_err(|e| {
                            anyhow::anyhow!(
                                "LATCHKEY_TRUSTED_PROXIES: {s:?} is not an IP address: {e}"
                            )
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(Self {
            database_url: sqlite_url_absolute(var("DATABASE_URL"))?
                .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("latchkey.db").display())),
            data_dir,
            secret_key: var("LATCHKEY_SECRET_KEY"),
            public_key: var("LATCHKEY_PUBLIC_KEY"),
            webhook_signing_key: var("LATCHKEY_WEBHOOK_SIGNING_KEY"),
            encryption_key: var("LATCHKEY_ENCRYPTION_KEY"),
            providers_file: var("LATCHKEY_PROVIDERS_FILE").map(PathBuf::from),
            connect_ui_url: var("LATCHKEY_CONNECT_UI_URL"),
            connect_ui_dir: var("LATCHKEY_CONNECT_UI_DIR").map(PathBuf::from),
            dashboard_dir: var("LATCHKEY_DASHBOARD_DIR").map(PathBuf::from),
            sdk_dir: var("LATCHKEY_SDK_DIR").map(PathBuf::from),
            allow_private_providers,
            allow_private_webhooks,
            outbound_proxy: var("LATCHKEY_OUTBOUND_PROXY"),
            public_key_mode: var("LATCHKEY_PUBLIC_KEY_MODE")
                .map(|v| PublicKeyMode::parse(&v))
                .transpose()?
                .unwrap_or_default(),
            trusted_proxies,
            previous_encryption_keys: var("LATCHKEY_PREVIOUS_ENCRYPTION_KEYS")
                .map(|v| {
                    v.split(',')
                        .map(|k| k.trim().to_string())
                        .filter(|k| !k.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            webhook_url: var("LATCHKEY_WEBHOOK_URL"),
            metrics_token: var("LATCHKEY_METRICS_TOKEN").map(crate::secret::Secret::new),
            clock: crate::time::Clock::system(),
            proxy: crate::proxy::Limits::from_env(var)?,
            activity: crate::activity::Settings::from_env(var)?,
            aws_sts_url: var("LATCHKEY_AWS_STS_URL").unwrap_or_else(|| AWS_STS_URL.into()),
            listen_addr: listen_addr_from_env(),
            rate_limit_per_minute: rate_limit_per_minute(var(RATE_LIMIT_VAR).as_deref()),
            websockets_path: crate::ws::path(var(crate::ws::PATH_VAR).as_deref()),
            public_url,
        })
    }

    /// A configuration for tests: loopback token endpoints allowed, the build outputs of this workspace
    /// (`dist/connect-ui`, `pkg`), and a fresh database: a SQLite file in `data_dir`, or, when
    /// `LATCHKEY_TEST_POSTGRES` names a PostgreSQL server (`cargo xtask test` sets it for the second run
    /// of the server suite), a new database on it.
    pub fn for_tests(data_dir: &Path, public_url: &str) -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let database_url = match std::env::var("LATCHKEY_TEST_POSTGRES") {
            Ok(server) if !server.is_empty() => format!(
                "{}/test_{}",
                server.trim_end_matches('/'),
                uuid::Uuid::new_v4().simple()
            ),
            _ => format!("sqlite://{}", data_dir.join("latchkey.db").display()),
        };
        Self {
            public_url: public_url.trim_end_matches('/').to_string(),
            database_url,
            data_dir: data_dir.to_path_buf(),
            secret_key: None,
            public_key: None,
            webhook_signing_key: None,
            encryption_key: None,
            providers_file: None,
            connect_ui_url: None,
            connect_ui_dir: Some(root.join("dist/connect-ui")),
            dashboard_dir: Some(root.join("dist/dashboard")),
            sdk_dir: Some(root.join("pkg")),
            allow_private_providers: true,
            allow_private_webhooks: true,
            outbound_proxy: None,
            public_key_mode: PublicKeyMode::Off,
            trusted_proxies: Vec::new(),
            previous_encryption_keys: Vec::new(),
            webhook_url: None,
            metrics_token: None,
            clock: crate::time::Clock::system(),
            proxy: Default::default(),
            activity: Default::default(),
            aws_sts_url: AWS_STS_URL.into(),
            listen_addr: "127.0.0.1:0".into(),
            rate_limit_per_minute: rate_limit_per_minute(None),
            websockets_path: "/".into(),
        }
    }

    /// The SQLite file this configuration uses, if it uses SQLite.
    pub fn sqlite_path(&self) -> Option<&Path> {
        crate::storage::sqlite_file(&self.database_url)
    }

    /// `<public url>/oauth/callback`: what providers redirect to.
    pub fn callback_url(&self) -> String {
        format!("{}/oauth/callback", self.public_url)
    }

    /// Where the Connect UI lives, with a trailing slash (its assets are relative).
    pub fn connect_ui_url(&self) -> String {
        let url = self
            .connect_ui_url
            .clone()
            .unwrap_or_else(|| format!("{}/connect/", self.public_url));
        if url.ends_with('/') {
            url
        } else {
            format!("{url}/")
        }
    }
}

/// Where the SQLite database and the dev encryption key live: `LATCHKEY_DATA_DIR`, else
/// `$XDG_DATA_HOME/latchkey`, else `$HOME/.local/share/latchkey`; always absolute (a relative
/// `LATCHKEY_DATA_DIR` is resolved once, from the working directory). The server and every CLI command
/// therefore open the same database wherever they run, instead of a new `./data` per directory (with
/// its own secret key, which the server would then reject).
fn data_dir(
    configured: Option<String>,
    xdg_data_home: Option<String>,
    home: Option<String>,
) -> anyhow::Result<PathBuf> {
    let dir = match (configured, xdg_data_home, home) {
        (Some(dir), _, _) => PathBuf::from(dir),
        (None, Some(xdg), _) if Path::new(&xdg).is_absolute() => Path::new(&xdg).join("latchkey"),
        (None, _, Some(home)) => Path::new(&home).join(".local/share/latchkey"),
        (None, _, None) => anyhow::bail!(
            "set LATCHKEY_DATA_DIR (where the database and the dev encryption key live): HOME is not set"
        ),
    };
    Ok(std::path::absolute(&dir)?)
}

/// `DATABASE_URL` with a relative SQLite path made absolute from the working directory, so that what
/// the server logs and what a CLI command reports name one file.
fn sqlite_url_absolute(url: Option<String>) -> anyhow::Result<Option<String>> {
    let Some(url) = url else { return Ok(None) };
    match url.strip_prefix("sqlite://") {
        Some(rest) if !rest.starts_with('/') && !rest.starts_with(':') => {
            let (path, query) = rest
                .split_once('?')
                .map_or((rest, None), |(p, q)| (p, Some(q)));
            let path = std::path::absolute(path)?;
            Ok(Some(match query {
                Some(q) => format!("sqlite://{}?{q}", path.display()),
                None => format!("sqlite://{}", path.display()),
            }))
        }
        _ => Ok(Some(url)),
    }
}

/// Nango's `DEFAULT_RATE_LIMIT_PER_MIN`.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 200;

/// The environment variable that sets the REST API's rate limit.
pub const RATE_LIMIT_VAR: &str = "LATCHKEY_RATE_LIMIT_PER_MINUTE";

/// `LATCHKEY_RATE_LIMIT_PER_MINUTE`'s value (`raw`), or the default when unset; `None` when set to
/// `0` (no limit). An unparsable value falls back to the default with a warning rather than running
/// unlimited by accident.
pub fn rate_limit_per_minute(raw: Option<&str>) -> Option<NonZeroU32> {
    match raw {
        Some(v) if !v.trim().is_empty() => match v.trim().parse::<u32>() {
            Ok(n) => NonZeroU32::new(n),
            Err(_) => {
                tracing::warn!(
                    "{RATE_LIMIT_VAR} is not a number; using the default of {DEFAULT_RATE_LIMIT_PER_MINUTE}/min"
                );
                NonZeroU32::new(DEFAULT_RATE_LIMIT_PER_MINUTE)
            }
        },
        _ => NonZeroU32::new(DEFAULT_RATE_LIMIT_PER_MINUTE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_limit_is_read_with_a_safe_default() {
        assert_eq!(
            rate_limit_per_minute(None).map(NonZeroU32::get),
            Some(DEFAULT_RATE_LIMIT_PER_MINUTE)
        );
        assert_eq!(
            rate_limit_per_minute(Some(" 5 ")).map(NonZeroU32::get),
            Some(5)
        );
        assert_eq!(
            rate_limit_per_minute(Some("0")),
            None,
            "0 turns limiting off"
        );
        assert_eq!(
            rate_limit_per_minute(Some("lots")).map(NonZeroU32::get),
            Some(DEFAULT_RATE_LIMIT_PER_MINUTE),
            "a typo does not run unlimited"
        );
    }

    #[test]
    fn the_data_dir_is_absolute_and_per_user_by_default() {
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            data_dir(None, None, s("/home/ada")).unwrap(),
            Path::new("/home/ada/.local/share/latchkey")
        );
        assert_eq!(
            data_dir(None, s("/xdg"), s("/home/ada")).unwrap(),
            Path::new("/xdg/latchkey")
        );
        assert_eq!(
            data_dir(s("/srv/lk"), None, None).unwrap(),
            Path::new("/srv/lk")
        );
        let relative = data_dir(s("data"), None, None).unwrap();
        assert!(
            relative.is_absolute() && relative.ends_with("data"),
            "{relative:?}"
        );
        assert!(data_dir(None, None, None).is_err());
    }

    #[test]
    fn relative_sqlite_urls_become_absolute() {
        let url = sqlite_url_absolute(Some("sqlite://./x/lk.db?mode=rwc".into()))
            .unwrap()
            .unwrap();
        assert!(
            url.starts_with("sqlite:///") && url.ends_with("x/lk.db?mode=rwc"),
            "{url}"
        );
        for kept in ["sqlite:///abs/lk.db", "sqlite::memory:", "postgres://h/db"] {
            assert_eq!(
                sqlite_url_absolute(Some(kept.into())).unwrap().as_deref(),
                Some(kept)
            );
        }
    }

    #[test]
    fn the_old_private_network_switch_sets_both_and_the_new_ones_split_it() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(private_network_flags(env(&[])), (false, false));
        assert_eq!(
            private_network_flags(env(&[("LATCHKEY_ALLOW_PRIVATE_NETWORK", "true")])),
            (true, true)
        );
        assert_eq!(
            private_network_flags(env(&[("LATCHKEY_ALLOW_PRIVATE_WEBHOOKS", "1")])),
            (false, true)
        );
        assert_eq!(
            private_network_flags(env(&[
                ("LATCHKEY_ALLOW_PRIVATE_NETWORK", "1"),
                ("LATCHKEY_ALLOW_PRIVATE_PROVIDERS", "false")
            ])),
            (false, true)
        );
    }

    #[test]
    fn debug_never_shows_the_database_password() {
        let mut c = Config::for_tests(Path::new("/tmp"), "http://localhost:1");
        c.database_url = "postgres://latchkey:hunter2-db-pass@db.internal:5432/latchkey".into();
        c.secret_key = Some("secret-key-override".into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2-db-pass"), "{shown}");
        assert!(!shown.contains("secret-key-override"), "{shown}");
        assert!(shown.contains("db.internal"), "{shown}");
    }
}
