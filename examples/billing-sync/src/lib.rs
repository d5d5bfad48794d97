//! billing-sync: an example of a SaaS backend's billing service on Tenantry.
//!
//! - `POST /webhooks/tenantry` receives Tenantry's signed webhooks, verified with
//!   [`tenantry_sdk::verify_webhook`] on the raw body before anything parses it. `org.created`
//!   opens a customer record, `org.updated` refreshes it, `org.deleted` marks it deleted; other
//!   event types are answered 204 and ignored. Deliveries are deduplicated by `webhook-id`, and
//!   out-of-order ones are discarded by the org's `version` ([`customers`]).
//! - `POST /billing/plan` stands in for the billing provider's own webhook: a plan change sets the
//!   org's seat limit (`max_users`) in Tenantry through the backend API ([`plan`], [`tenantry`]).
//! - `GET /customers` and `GET /customers/{org_id}` show the records.
//!
//! The library holds everything; `main.rs` only parses the configuration and binds the port, so
//! tests start the service in-process with [`serve`] on a listener of their own.

pub mod customers;
pub mod plan;
pub mod problem;
mod routes;
pub mod tenantry;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use poem::listener::TcpAcceptor;
use tenantry_sdk::{verify_webhook, WebhookError, WebhookHeaders};

pub use customers::Customers;
pub use routes::routes;
pub use tenantry::Tenantry;

/// Everything billing-sync reads at start-up, from flags or `BILLING_SYNC_*` variables.
///
/// The variables do not start with `TENANTRY_`: the Tenantry server reads every `TENANTRY_*`
/// variable as its own configuration and refuses unknown ones, and both often run in one shell.
#[derive(Clone, clap::Parser)]
#[command(name = "billing-sync", version, about = "Keeps billing customers in step with Tenantry organizations.")]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "BILLING_SYNC_LISTEN", default_value = "127.0.0.1:4000")]
    pub listen: SocketAddr,
    /// Tenantry's base URL, as in its `public_url`.
    #[arg(long, env = "BILLING_SYNC_TENANTRY_URL", default_value = "http://127.0.0.1:8080")]
    pub tenantry_url: String,
    /// A Tenantry backend API key (`tnt_…`). Prefer the variable: flags show in `ps`.
    #[arg(long, env = "BILLING_SYNC_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// The signing secret of this receiver's Tenantry webhook endpoint (`whsec_…`).
    #[arg(long, env = "BILLING_SYNC_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: String,
    /// The folder of `customers.json` (created if missing).
    #[arg(long, env = "BILLING_SYNC_DATA_DIR", default_value = "data/billing-sync")]
    pub data_dir: PathBuf,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("tenantry_url", &self.tenantry_url)
            .field("api_key", &"<redacted>")
            .field("webhook_secret", &"<redacted>")
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

/// The running service's state, shared by the handlers.
#[derive(Debug)]
pub struct BillingSync {
    webhook_secret: String,
    pub tenantry: Tenantry,
    pub customers: Customers,
}

impl BillingSync {
    /// Checks `config` and opens the customer records.
    pub async fn open(config: &Config) -> anyhow::Result<BillingSync> {
        if !(config.tenantry_url.starts_with("http://") || config.tenantry_url.starts_with("https://")) {
            bail!("the Tenantry URL must start with http:// or https://");
        }
        if config.api_key.trim().is_empty() {
            bail!("the Tenantry API key is empty");
        }
        // Catch a mistyped secret now rather than on the first delivery. With a timestamp that is
        // always in range, the SDK can only refuse the secret or the (empty) signature.
        let probe = WebhookHeaders { id: "probe", timestamp: "0", signature: "" };
        if verify_webhook(&config.webhook_secret, &probe, b"", 0) == Err(WebhookError::InvalidSecret) {
            bail!("the webhook secret is not whsec_ followed by base64 (copy it from the endpoint's creation)");
        }
        let tenantry =
            Tenantry::new(&config.tenantry_url, config.api_key.clone()).context("cannot build the HTTP client")?;
        let customers = Customers::open(&config.data_dir).await?;
        Ok(BillingSync { webhook_secret: config.webhook_secret.clone(), tenantry, customers })
    }
}

/// Serves billing-sync on `listener` until `shutdown` completes, then lets in-flight requests
/// finish (at most 10 s).
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let state = Arc::new(BillingSync::open(&config).await?);
    let addr = listener.local_addr().context("the listener has no address")?;
    tracing::info!(
        %addr,
        tenantry = %config.tenantry_url,
        data = %state.customers.path().display(),
        "billing-sync is listening; webhook URL: http://{addr}/webhooks/tenantry"
    );
    let acceptor = TcpAcceptor::from_tokio(listener).context("cannot use the listener")?;
    poem::Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(routes(state), shutdown, Some(Duration::from_secs(10)))
        .await
        .context("the server failed")
}
