//! `tenantry`: the server binary and its operator commands.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tenantry_app::{Actor, Ctx};
use tenantry_core::SystemClock;
use tenantry_server::{Config, LogFormat};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Tenantry: self-hostable identity for B2B SaaS.
///
/// Users, organizations, roles and invitations behind a backend API and an end-user API, with
/// signed webhooks, on an SQLite file or PostgreSQL. Without a command, `tenantry` runs the server.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// A TOML configuration file (see tenantry.example.toml). `TENANTRY_*` variables override it.
    #[arg(long, env = "TENANTRY_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage backend API keys.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Manage token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Publish a new signing key. It signs after the publish delay; the current key retires then
    /// and stays published until its last token has expired. No downtime, no logouts.
    Rotate,
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key and print it once.
    Create {
        /// What the key is for.
        #[arg(long)]
        name: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        print!("{}", tenantry_api::openapi_json());
        return Ok(());
    }
    let config = Config::load(cli.config.as_deref())?;
    init_logs(&config);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            tenantry_server::open(&config, Arc::new(SystemClock)).await?;
            println!("Migrations applied to {}.", tenantry_store::redact_url(&config.database_url));
            Ok(())
        }
        Command::ApiKey { command: ApiKeyCommand::Create { name } } => {
            let app = tenantry_server::open(&config, Arc::new(SystemClock)).await?;
            let created =
                app.create_api_key(&Ctx::new(Actor::System), &name).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", created.secret.expose());
            eprintln!("API key \"{}\" created ({}). It is shown only this once.", created.key.name, created.key.id);
            Ok(())
        }
        Command::Keys { command: KeysCommand::Rotate } => {
            let app = tenantry_server::open(&config, Arc::new(SystemClock)).await?;
            let kid = app.rotate_signing_key().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{kid}");
            eprintln!(
                "New signing key {kid} is published now and signs from {} minutes on.",
                app.settings().auth.key_publish_delay.num_minutes()
            );
            Ok(())
        }
        Command::Openapi => Ok(()),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = tenantry_server::open(&config, Arc::new(SystemClock)).await?;
    let listeners = tenantry_server::Listeners::bind(&config).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(on_signal(shutdown.clone()));
    tracing::info!(
        listen = %config.listen,
        database = %tenantry_store::redact_url(&config.database_url),
        "Tenantry is listening on {} (API explorer: {}/docs)",
        config.public_base(),
        config.public_base(),
    );
    match listeners.management.as_ref().and_then(|l| l.local_addr().ok()) {
        Some(addr) => tracing::info!(management = %addr, "metrics are served at http://{addr}/metrics"),
        None => tracing::info!("the management listener is off (http.management_enabled = false): no /metrics"),
    }
    tracing::info!("Create a backend API key with: tenantry api-key create --name NAME");
    tenantry_server::serve(app, &config, listeners, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Cancels `shutdown` on SIGTERM or Ctrl-C.
async fn on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                let _ = ctrl_c.await;
                shutdown.cancel();
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing in-flight requests");
    shutdown.cancel();
}

fn init_logs(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}
