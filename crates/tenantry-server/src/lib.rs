//! The `tenantry` server: configuration, wiring and lifecycle. The binary (`main.rs`) is a thin
//! CLI over this library, and the test kit starts servers through [`start`] on a free port.
//!
//! **Invariant:** this is the only crate that reads configuration, installs the log subscriber
//! and owns sockets. Workers (webhook delivery, mail) will join [`serve`] behind config flags.

pub mod config;
mod edge;
mod http;
mod metrics;
mod proxy;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tenantry_app::claims::TokenOrgs;
use tenantry_app::orgs::OrgSettings;
use tenantry_app::{App, AppSettings, AuthSettings};
use tenantry_auth::{Keyring, MasterKey, PasswordParams};
use tenantry_core::{Clock, PasswordPolicy, RoleConfig};
use tenantry_mail::{MailConfig, MailWorker, Mailer};
use tenantry_store::{Db, DbOptions, Engine};
use tenantry_webhooks::WebhookSettings;
use tokio_util::sync::CancellationToken;

pub use config::HousekeepingConfig;
pub use config::{
    Config, HttpConfig, LogFormat, MailSettings, OrgsConfig, PasswordConfig, TokenOrgsMode, WebhooksConfig,
};
pub use http::REQUEST_ID;

/// Opens the database (creating a SQLite file and its folder if missing), applies migrations, and
/// builds the use cases.
pub async fn open(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
    if Engine::of_url(&config.database_url) == Some(Engine::Sqlite) {
        create_sqlite_folder(&config.database_url)?;
    }
    let options = DbOptions { max_connections: config.database_max_connections, ..DbOptions::default() };
    let db = Db::connect(&config.database_url, &options)
        .await
        .with_context(|| format!("cannot open database {}", tenantry_store::redact_url(&config.database_url)))?;
    db.migrate().await.context("cannot apply migrations")?;
    let keyring = Keyring::new(master_key(config)?);
    let settings = AppSettings {
        password_params: PasswordParams {
            memory_kib: config.password.memory_kib,
            iterations: config.password.iterations,
            parallelism: config.password.parallelism,
        },
        password_policy: PasswordPolicy {
            min_chars: config.password.min_length,
            ..PasswordPolicy::for_product(&config.mail.product_name)
        },
        auth: AuthSettings {
            issuer: config.public_base().to_owned(),
            signup_enabled: config.signup_enabled,
            signup_limit_per_ip: config.signup_limit_per_ip,
            access_ttl: chrono::Duration::seconds(config.access_token_ttl_secs),
            session_ttl: chrono::Duration::seconds(config.session_lifetime_secs),
            session_idle_ttl: chrono::Duration::seconds(config.session_idle_timeout_secs),
            ..AuthSettings::default()
        },
        orgs: org_settings(config)?,
        mfa: tenantry_app::mfa::MfaSettings {
            orgs_may_require: config.mfa.orgs_may_require,
            require_for_everyone: config.mfa.require_for_everyone,
            issuer: config.mail.product_name.clone(),
        },
        webhooks: WebhookSettings {
            allow_private_targets: config.webhooks.allow_private_targets,
            timeout: Duration::from_millis(config.webhooks.timeout_ms),
            secret_overlap: chrono::Duration::seconds(config.webhooks.secret_overlap_secs),
            disable_after_failing: chrono::Duration::seconds(config.webhooks.disable_after_failing_secs),
        },
    };
    let app = App::new(db, settings, clock, keyring)?;
    app.ensure_signing_key().await.context("cannot prepare token signing keys")?;
    Ok(app)
}

/// The organization settings of the configuration (validated already).
fn org_settings(config: &Config) -> anyhow::Result<OrgSettings> {
    let o = &config.orgs;
    let roles = match &o.roles {
        Some(spec) => spec.build().map_err(|e| anyhow::anyhow!("orgs.roles: {}", e.detail))?,
        None => RoleConfig::default(),
    };
    Ok(OrgSettings {
        org_word: config.mail.org_word.clone(),
        users_can_create: o.users_can_create,
        require_membership: o.require_membership,
        personal_org_at_signup: o.personal_org_at_signup,
        max_orgs_per_user: o.max_orgs_per_user,
        invite_ttl: chrono::Duration::hours(o.invite_ttl_hours),
        transfer_ttl: chrono::Duration::hours(o.transfer_ttl_hours),
        token_orgs: match o.token_orgs {
            TokenOrgsMode::All => TokenOrgs::All,
            TokenOrgsMode::Active => TokenOrgs::ActiveOnly,
        },
        token_max_orgs: o.token_max_orgs,
        roles,
    })
}

/// The master key from `master_key`, else from `master_key_file`, created on first start.
fn master_key(config: &Config) -> anyhow::Result<MasterKey> {
    if let Some(encoded) = &config.master_key {
        return MasterKey::from_base64(encoded.trim()).map_err(|e| anyhow::anyhow!("master_key: {e}"));
    }
    let path = Path::new(&config.master_key_file);
    if path.exists() {
        let encoded = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        return MasterKey::from_base64(encoded.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let key = MasterKey::generate();
    write_private(path, key.to_base64().as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::warn!(file = %path.display(), "created a new master key; back it up: without it, sealed secrets are lost");
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

fn create_sqlite_folder(url: &str) -> anyhow::Result<()> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(())
}

/// The mailer for `config`: SMTP when `mail.smtp_url` is set, `.eml` files otherwise.
pub fn mailer(config: &Config) -> anyhow::Result<Mailer> {
    let m = &config.mail;
    let mail_config = MailConfig {
        smtp_url: m.smtp_url.clone(),
        from: m.from.clone(),
        outbox_dir: m.outbox_dir.clone().into(),
        product_name: m.product_name.clone(),
        org_word: m.org_word.clone(),
    };
    Mailer::new(mail_config).map_err(|e| anyhow::anyhow!("invalid mail settings: {e}"))
}

/// On PostgreSQL, listens for what other nodes commit: outbox events wake this node's webhook
/// worker at once rather than at its next poll, and a revoked API key leaves this node's key cache
/// within moments. Whenever the listening connection is lost, the key cache is reloaded once it
/// listens again (notifications sent meanwhile are lost; the worker's poll covers the events).
/// SQLite has one server process, which needs none of this.
async fn relay_notifications(app: App, shutdown: CancellationToken) {
    use tenantry_store::notify::{Listener, Notification};
    let pause = || async {
        tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = tokio::time::sleep(Duration::from_secs(1)) => true,
        }
    };
    let reload = |app: &App| {
        let app = app.clone();
        async move {
            if let Err(e) = app.reload_api_keys().await {
                tracing::warn!(error = %e, "could not reload the API key cache");
            }
        }
    };
    let wake = app.webhook_wake();
    let mut first = true;
    loop {
        let mut listener = match Listener::connect(app.db()).await {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for notifications; trying again");
                if pause().await {
                    continue;
                }
                return;
            }
        };
        if !first {
            reload(&app).await;
        }
        first = false;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                got = listener.recv() => match got {
                    Ok(Notification::Outbox) => wake.notify_one(),
                    Ok(Notification::ApiKeyRevoked(id)) => app.forget_api_key(id),
                    Ok(Notification::Reconnected) => reload(&app).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "notifications interrupted; listening again");
                        break;
                    }
                },
            }
        }
        // A database that is down is not retried in a tight loop.
        if !pause().await {
            return;
        }
    }
}

/// The sweeper's settings from the configuration (validated already).
fn sweep_settings(config: &Config) -> tenantry_app::housekeeping::SweepSettings {
    let h = &config.housekeeping;
    tenantry_app::housekeeping::SweepSettings {
        interval: Duration::from_secs(h.interval_secs),
        webhook_retention: chrono::Duration::seconds(h.webhook_retention_secs),
        batch: h.batch_size,
    }
}

/// The sockets a server listens on: the public API, and the management address (`/metrics`)
/// unless `http.management_enabled` is off.
pub struct Listeners {
    pub public: tokio::net::TcpListener,
    pub management: Option<tokio::net::TcpListener>,
}

impl Listeners {
    /// Binds `listen` and, when enabled, `http.management_listen` (port 0 picks a free port).
    pub async fn bind(config: &Config) -> anyhow::Result<Listeners> {
        let public = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        Listeners::with_public(config, public).await
    }

    /// An already bound public listener, and the management one bound from `config`.
    pub async fn with_public(config: &Config, public: tokio::net::TcpListener) -> anyhow::Result<Listeners> {
        let management = if config.http.management_enabled {
            let addr = config.http.management_listen;
            Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on http.management_listen {addr}"))?,
            )
        } else {
            None
        };
        Ok(Listeners { public, management })
    }
}

/// Serves the API on `listeners.public` (and `/metrics` on `listeners.management`) until
/// `shutdown` is cancelled, then drains in-flight requests. The mail and webhook workers run
/// beside the server when `workers_enabled` is set.
pub async fn serve(app: App, config: &Config, listeners: Listeners, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut workers = Vec::new();
    let mut webhook_metrics = None;
    if config.workers_enabled {
        let mail = MailWorker::new(app.db().clone(), Arc::new(mailer(config)?), app.clock_handle());
        workers.push(tokio::spawn(mail.run(shutdown.clone(), app.mail_wake())));
        let webhooks = app.webhook_worker().map_err(|e| anyhow::anyhow!("{e}"))?;
        webhook_metrics = Some(webhooks.metrics());
        workers.push(tokio::spawn(webhooks.run(shutdown.clone(), app.webhook_wake())));
    }
    if config.workers_enabled {
        let sweeper = tenantry_app::housekeeping::Sweeper::new(app.clone(), sweep_settings(config));
        workers.push(tokio::spawn(sweeper.run(shutdown.clone().cancelled_owned())));
        let every = Duration::from_secs(config.mfa.notifier_interval_secs.max(1));
        let notifier = tenantry_app::mfa::MfaNotifier::new(app.clone(), every);
        workers.push(tokio::spawn(notifier.run(shutdown.clone().cancelled_owned())));
    }
    // Every node, workers or not, keeps its API-key cache fresh and hears other nodes' revocations.
    workers.push(tokio::spawn(relay_notifications(app.clone(), shutdown.clone())));
    let reload = Duration::from_secs(config.housekeeping.api_key_reload_secs);
    workers.push(tokio::spawn(app.clone().maintain_api_key_cache(shutdown.clone().cancelled_owned(), reload)));
    let metrics = Arc::new(metrics::HttpMetrics::default());
    let shell = http::Shell::new(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let limits = edge::Limits::of(config);
    if let Some(management) = listeners.management {
        let endpoint = http::management_routes(app.clone(), metrics.clone(), webhook_metrics.clone());
        // A handful of scrapers: a small cap of its own, so the public listener cannot starve it.
        let limits = edge::Limits { max_connections: 16, ..limits };
        let s = shutdown.clone();
        workers.push(tokio::spawn(async move { edge::serve_http(management, endpoint, limits, s).await }));
    }
    let endpoint = http::routes(app.clone(), metrics, shell);
    edge::serve_http(listeners.public, endpoint, limits, shutdown.clone()).await;
    shutdown.cancel();
    for worker in workers {
        let _ = worker.await;
    }
    app.db().close().await;
    Ok(())
}

/// A server running in the background (for tests and benchmarks).
pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` is served, unless `http.management_enabled` is off.
    pub management_addr: Option<SocketAddr>,
    pub app: App,
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Opens the database and starts serving on `listen` and `http.management_listen` (port 0 picks
/// a free port; [`Running`] says which).
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    start_on(config, listener, clock).await
}

/// Opens the database and starts serving on an already bound `listener` (and on
/// `http.management_listen`, bound here).
pub async fn start_on(
    config: Config,
    listener: tokio::net::TcpListener,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Running> {
    let app = open(&config, clock).await?;
    let listeners = Listeners::with_public(&config, listener).await?;
    let addr = listeners.public.local_addr()?;
    let management_addr = listeners.management.as_ref().map(|l| l.local_addr()).transpose()?;
    let shutdown = CancellationToken::new();
    let (a, s) = (app.clone(), shutdown.clone());
    let task = tokio::spawn(async move { serve(a, &config, listeners, s).await });
    Ok(Running { addr, management_addr, app, shutdown, task })
}
