//! Server configuration, 12-factor: every setting comes from an environment variable (PROTOCOL.md §2)
//! with a default that makes `latchkey serve` work on a laptop.

use std::path::{Path, PathBuf};

/// Everything the server needs to start. Built from the environment by [`Config::from_env`], or by
/// tests directly.
#[derive(Clone)]
pub struct Config {
    /// How browsers and providers reach us (callback URL, connect links, `/sdk/`). No trailing slash.
    pub public_url: String,
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
    /// Build output of the Connect UI, served at `/connect/`.
    pub connect_ui_dir: PathBuf,
    /// The npm package folder, served at `/sdk/`.
    pub sdk_dir: PathBuf,
    /// Let token requests reach loopback/private addresses (tests, the local demo provider).
    pub allow_private_network: bool,
    /// Primary webhook URL (auth webhooks).
    pub webhook_url: Option<String>,
    /// `/proxy/*` limits (`LATCHKEY_PROXY_*`).
    pub proxy: crate::proxy::Limits,
}

impl std::fmt::Debug for Config {
    // Hand-written so that key overrides can never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("public_url", &self.public_url)
            .field("database_url", &self.database_url)
            .field("data_dir", &self.data_dir)
            .field("providers_file", &self.providers_file)
            .field("connect_ui_url", &self.connect_ui_url)
            .field("allow_private_network", &self.allow_private_network)
            .finish_non_exhaustive()
    }
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
        let data_dir = PathBuf::from(var("LATCHKEY_DATA_DIR").unwrap_or_else(|| "./data".into()));
        Ok(Self {
            database_url: var("DATABASE_URL")
                .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("latchkey.db").display())),
            data_dir,
            secret_key: var("LATCHKEY_SECRET_KEY"),
            public_key: var("LATCHKEY_PUBLIC_KEY"),
            webhook_signing_key: var("LATCHKEY_WEBHOOK_SIGNING_KEY"),
            encryption_key: var("LATCHKEY_ENCRYPTION_KEY"),
            providers_file: var("LATCHKEY_PROVIDERS_FILE").map(PathBuf::from),
            connect_ui_url: var("LATCHKEY_CONNECT_UI_URL"),
            connect_ui_dir: PathBuf::from(
                var("LATCHKEY_CONNECT_UI_DIR").unwrap_or_else(|| "dist/connect-ui".into()),
            ),
            sdk_dir: PathBuf::from(var("LATCHKEY_SDK_DIR").unwrap_or_else(|| "pkg".into())),
            allow_private_network: var("LATCHKEY_ALLOW_PRIVATE_NETWORK")
                .map(|v| matches!(v.as_str(), "1" | "true" | "yes"))
                .unwrap_or(false),
            webhook_url: var("LATCHKEY_WEBHOOK_URL"),
            proxy: crate::proxy::Limits::from_env()?,
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
            connect_ui_dir: root.join("dist/connect-ui"),
            sdk_dir: root.join("pkg"),
            allow_private_network: true,
            webhook_url: None,
            proxy: Default::default(),
        }
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
