//! Tenantry's email: templates, transport and the queue worker.
//!
//! Use cases never send mail themselves. Inside their transaction they call [`enqueue`], which
//! writes a row to the `mail_queue` table; after the commit they poke the worker
//! (`wake.notify_one()`). The [`MailWorker`] claims due rows, renders them with the [`Mailer`]
//! (templates under `hosted-pages/emails/`) and sends them over SMTP, or, when no SMTP server is
//! configured, writes `.eml` files to the outbox folder and logs the link so development needs no
//! mail server. Failed sends are retried on a schedule ([`retry_delay`]) and then given up on.
//!
//! **Invariant:** lettre is used in this crate only; SMTP credentials and links never reach a log
//! line except the link in outbox (development) mode.

mod config;
mod mailer;
mod templates;
mod worker;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tenantry_core::Email;
use tenantry_store::mail_queue::{self, MailRow};
use tenantry_store::{Ex, StoreError};
use uuid::Uuid;

pub use config::MailConfig;
pub use mailer::{Delivery, Mailer};
pub use templates::MailTemplate;
pub use worker::{retry_delay, MailWorker, CLAIM_BATCH, LEASE, POLL_INTERVAL, SEND_TIMEOUT};

/// A mail that cannot be rendered or sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid mail configuration: {0}")]
    Config(String),
    #[error("unknown mail template {0:?}")]
    UnknownTemplate(String),
    #[error("template {template} needs the variable {var:?}")]
    MissingVar { template: &'static str, var: &'static str },
    #[error("invalid recipient address: {0}")]
    Recipient(String),
    #[error("rendering failed: {0}")]
    Render(#[from] minijinja::Error),
    #[error("building the message failed: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("writing to the outbox: {0}")]
    Outbox(String),
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MailError {
    /// Whether trying again can help. A mail that cannot be rendered never will be; a server that
    /// did not answer or refused may accept later.
    pub fn is_transient(&self) -> bool {
        matches!(self, MailError::Smtp(_) | MailError::Outbox(_) | MailError::Timeout(_) | MailError::Store(_))
    }
}

/// Queues `template` for `to`, in the caller's transaction. Checks that the template's required
/// variables are present, so a mistake shows in the use case rather than in the worker's log.
pub async fn enqueue(
    ex: Ex<'_>,
    to: &Email,
    template: MailTemplate,
    vars: Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Uuid, MailError> {
    template.check_vars(&vars)?;
    let row = MailRow::pending(to.as_str(), template.name(), vars, now);
    mail_queue::enqueue_mail(ex, &row).await?;
    Ok(row.id)
}
