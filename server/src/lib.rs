//! Latchkey server: a Nango-compatible REST API, OAuth2 flows and encrypted credential storage.
//!
//! Shape (STYLE.md): [`config`] → [`storage`] → domain ([`environment`], [`catalog`], [`oauth`]) →
//! [`http`] routes. [`start`] wires them and serves on a listener the caller bound, so tests run the
//! real server on `127.0.0.1:0`.

pub mod activity;
pub mod catalog;
pub mod config;
pub mod connections;
pub mod credential_modes;
pub mod credentials;
pub mod crypto;
pub mod dashboard;
pub mod doctor;
pub mod environment;
pub mod environment_cache;
pub mod http;
pub mod integration_config;
pub mod metrics;
pub mod oauth;
pub mod outbound;
pub mod proxy;
pub mod reseal;
pub mod secret;
pub mod sessions;
pub mod settings;
pub mod storage;
pub mod time;
pub mod verification;
pub mod webhooks;
pub mod ws;

pub use config::Config;

/// The memory allocator `latchkey` runs with, and the benches with it, so that they measure what
/// ships: mimalloc. With the system allocator, freeing on one tokio worker what another allocated
/// contends on glibc's arena locks (and musl's allocator, in the static build, is slower still):
/// mimalloc raised `GET /connection` from 35k to 50k req/s and `POST /connect/sessions` from 21k to
/// 32k on the bench machine. A binary opts in with
/// `#[global_allocator] static ALLOCATOR: latchkey_server::Allocator = latchkey_server::Allocator;`.
pub use mimalloc::MiMalloc as Allocator;

use std::net::SocketAddr;
use std::sync::Arc;

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    pub config: Config,
    pub store: storage::Store,
    pub cipher: crypto::Cipher,
    pub catalog: catalog::Catalog,
    pub ws: ws::WsHub,
    /// Requests to providers (token, refresh, verification).
    pub outbound: outbound::OutboundClient,
    /// Auth webhooks: queued with connection writes, delivered by the outbox worker.
    pub webhooks: webhooks::Webhooks,
    pub refresh_locks: connections::RefreshLocks,
    /// Connection credentials at rest: sealing, opening, re-sealing ([`connections::sealing`]).
    pub vault: connections::sealing::Vault,
    /// The activity log's recorder (issue 17): flows record through it without waiting.
    pub activity: activity::Recorder,
    /// What every expiry decision reads ([`time::Clock`]; `config.clock`).
    pub clock: time::Clock,
    /// Becomes `true` when the server starts to shut down: responses that would stream forever (the
    /// activity log's live tail) end, so that a stop does not wait for them.
    pub stopping: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// The way out to providers ([`outbound::Upstream`]).
    pub fn upstream(&self) -> outbound::Upstream<'_> {
        outbound::Upstream {
            outbound: &self.outbound,
            clock: &self.clock,
            aws_sts_url: &self.config.aws_sts_url,
        }
    }

    /// What the OAuth flows use ([`oauth::flow::Flows`]).
    pub fn flows(&self) -> oauth::flow::Flows<'_> {
        oauth::flow::Flows {
            config: &self.config,
            store: &self.store,
            cipher: &self.cipher,
            catalog: &self.catalog,
            upstream: self.upstream(),
            vault: &self.vault,
            webhooks: &self.webhooks,
        }
    }

    /// What the renewal gate uses ([`connections::Renewer`]): fresh credentials for `GET
    /// /connection`, the proxy and the CLI.
    pub fn renewer(&self) -> connections::Renewer<'_> {
        connections::Renewer {
            store: &self.store,
            vault: &self.vault,
            webhooks: &self.webhooks,
            activity: &self.activity,
            locks: &self.refresh_locks,
            upstream: self.upstream(),
            catalog: &self.catalog,
            cipher: &self.cipher,
        }
    }

    /// What saving a connection uses ([`connections::save::save`]): the vault that seals it, the
    /// auth webhooks queued with it, the clock that dates it.
    pub(crate) fn savers(
        &self,
    ) -> (
        &connections::sealing::Vault,
        &webhooks::Webhooks,
        &time::Clock,
    ) {
        (&self.vault, &self.webhooks, &self.clock)
    }

    /// The OAuth result relay's view of this server: its store and clock.
    fn relay(&self) -> ws::relay::Relay {
        ws::relay::Relay {
            store: self.store.clone(),
            clock: self.clock.clone(),
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl axum::extract::FromRef<AppState> for ws::WsHub {
    fn from_ref(app: &AppState) -> ws::WsHub {
        app.ws.clone()
    }
}

/// Opens storage, the encryption key, the catalog and the `dev` environment.
pub async fn prepare(config: Config) -> anyhow::Result<(AppState, environment::Environment, bool)> {
    let (cipher, dev_key_file) =
        crypto::Cipher::load_or_create(config.encryption_key.as_deref(), &config.data_dir)?;
    let cipher = cipher
        .with_previous(&config.previous_encryption_keys)
        .map_err(|e| anyhow::anyhow!("LATCHKEY_PREVIOUS_ENCRYPTION_KEYS: {e}"))?;
    if dev_key_file {
        tracing::warn!(
            path = %config.data_dir.join("encryption.key").display(),
            "LATCHKEY_ENCRYPTION_KEY is not set: using a local key file. Fine for development, not for production."
        );
    }
    let store = storage::Store::connect(&config.database_url).await?;
    let catalog = catalog::Catalog::load(config.providers_file.as_deref())?;
    let overrides = environment::KeyOverrides {
        secret: config.secret_key.as_deref(),
        public: config.public_key.as_deref(),
        webhook_signing: config.webhook_signing_key.as_deref(),
    };
    let (env, created) = environment::ensure_dev(&store, &cipher, overrides).await?;
    let proxy = config.outbound_proxy.as_deref();
    let outbound = outbound::OutboundClient::new(config.allow_private_providers, proxy)?;
    let webhook_outbound = outbound::OutboundClient::new(config.allow_private_webhooks, proxy)?;
    let activity = activity::Recorder::start(store.clone(), &config.activity, &config.clock);
    let clock = config.clock.clone();
    let webhooks = webhooks::Webhooks::new(
        (store.clone(), cipher.clone(), clock.clone()),
        config.webhook_url.clone(),
        webhook_outbound,
        activity.clone(),
    );
    let vault = connections::sealing::Vault::new(cipher.clone(), store.clone());
    let state = AppState(Arc::new(AppInner {
        clock,
        config,
        store,
        cipher,
        catalog,
        ws: ws::WsHub::default(),
        outbound,
        webhooks,
        refresh_locks: Default::default(),
        vault,
        activity,
        stopping: tokio::sync::watch::Sender::new(false),
    }));
    state.ws.set_id_key(state.cipher.subkey("ws_client_id"));
    state.ws.relay_through(state.relay());
    reseal::on_start(&state.vault).await?;
    Ok((state, env, created))
}

/// A server running in this process; dropping it shuts it down.
pub struct RunningServer {
    addr: SocketAddr,
    secret_key: secret::Secret,
    webhook_signing_key: secret::Secret,
    dev_environment_created: bool,
    /// The server's [`AppInner::stopping`]: set, it starts the graceful shutdown.
    stopping: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// The `dev` environment's secret key (for test backends).
    pub fn secret_key(&self) -> &str {
        self.secret_key.expose()
    }

    /// Whether this start created the `dev` environment (its keys are new: tell the operator once).
    pub fn dev_environment_created(&self) -> bool {
        self.dev_environment_created
    }

    /// The key webhooks are signed with (what a receiving backend verifies).
    pub fn webhook_signing_key(&self) -> &str {
        self.webhook_signing_key.expose()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Resolves only if the server stops on its own (an error while serving): it runs until shut down.
    pub async fn stopped(&mut self) {
        let _ = (&mut self.task).await;
    }

    /// Shuts the server down and waits until it has stopped: open requests finished (live log tails
    /// end at once), its background tasks ended and what the activity log had queued written.
    /// Dropping a server only asks it to stop; `latchkey serve` awaits this on SIGTERM or Ctrl-C, and
    /// so does a test that reopens the database the server had open.
    pub async fn stop(mut self) {
        self.stopping.send_replace(true);
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stopping.send_replace(true);
    }
}

/// Starts serving on `listener`.
pub async fn start(
    config: Config,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<RunningServer> {
    let (state, env, created) = prepare(config).await?;
    let addr = listener.local_addr()?;
    let app = http::router(state.clone(), dashboard::router(&state));
    let purge = state.clone();
    let outbox = webhooks::spawn_worker(state.webhooks.clone());
    let activity_sweep = activity::spawn_sweeper(
        state.store.clone(),
        &state.config.activity,
        state.clock.clone(),
    );
    let relay = ws::relay::spawn_result_listener(state.relay(), state.ws.clone()).await?;
    let environments = state.store.follow_environment_changes().await?;
    let activity = state.activity.clone();
    let mut stop_requested = state.stopping.subscribe();
    let task = tokio::spawn(async move {
        // Expired OAuth attempts are useless and hold sealed verifiers: sweep them.
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                let _ = purge
                    .store
                    .purge_expired_oauth_attempts(purge.clock.now_unix())
                    .await;
            }
        });
        // TCP_NODELAY: a streamed answer (the proxy's) is written as headers, then body chunks; with
        // Nagle's algorithm on, a chunk waited for the client's delayed ACK of the headers.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop_requested.wait_for(|stopping| *stopping).await;
        })
        .await;
        let background = [
            Some(sweeper),
            Some(outbox),
            Some(activity_sweep),
            relay,
            environments,
        ];
        for task in background.into_iter().flatten() {
            task.abort();
            let _ = task.await;
        }
        activity.flush().await;
        if let Err(e) = served {
            tracing::error!(error = %e, "server stopped with an error");
        }
    });
    Ok(RunningServer {
        addr,
        secret_key: env.secret_key,
        webhook_signing_key: env.webhook_signing_key,
        dev_environment_created: created,
        stopping: state.stopping.clone(),
        task,
    })
}
