//! The mail worker: claims due rows from the queue, sends them, records the outcome.
//!
//! Several workers (on several nodes) may run at once: the claim leases rows, so each mail is
//! handed to one worker at a time. Delivery is at least once: a worker that dies after sending but
//! before recording lets the lease run out, and the mail is sent again.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tenantry_core::{Clock, MailId};
use tenantry_store::mail_queue::{self, MailRow};
use tenantry_store::{Db, StoreError};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{MailError, Mailer};

/// How long a claim holds its rows. A batch's sends run side by side, each bounded by
/// [`SEND_TIMEOUT`], so a live worker finishes well inside its lease.
pub const LEASE: Duration = Duration::from_secs(60);
/// The most one send (connect, TLS, SMTP exchange) may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Rows per claim.
pub const CLAIM_BATCH: u32 = 10;
/// How often an idle worker looks for due mail without being woken.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

// A live worker finishes its batch (sends run side by side) well inside its lease.
const _: () = assert!(SEND_TIMEOUT.as_secs() * 3 / 2 < LEASE.as_secs());

/// Longest `last_error` kept; SMTP servers can answer at length.
const MAX_ERROR_CHARS: usize = 1000;

/// The wait after a failed attempt, given the attempts made so far (this one included); `None`
/// after the last: 10 s, 1 min, 5 min, 30 min, 2 h, then the mail is failed for good.
pub fn retry_delay(attempts: i32) -> Option<TimeDelta> {
    match attempts {
        ..=1 => Some(TimeDelta::seconds(10)),
        2 => Some(TimeDelta::minutes(1)),
        3 => Some(TimeDelta::minutes(5)),
        4 => Some(TimeDelta::minutes(30)),
        5 => Some(TimeDelta::hours(2)),
        _ => None,
    }
}

/// Sends queued mail. Cheap to clone.
#[derive(Clone)]
pub struct MailWorker {
    db: Db,
    mailer: Arc<Mailer>,
    clock: Arc<dyn Clock>,
}

impl MailWorker {
    pub fn new(db: Db, mailer: Arc<Mailer>, clock: Arc<dyn Clock>) -> MailWorker {
        MailWorker { db, mailer, clock }
    }

    /// Runs until `shutdown`: sends due mail, then waits for `wake` (use cases notify it after
    /// committing a mail) or [`POLL_INTERVAL`]. A batch under way is finished before stopping.
    pub async fn run(self, shutdown: CancellationToken, wake: Arc<Notify>) {
        tracing::info!(smtp = self.mailer.uses_smtp(), "mail worker started");
        while !shutdown.is_cancelled() {
            let full_batch = match self.run_batch(self.clock.now()).await {
                Ok(batch) => batch.claimed == CLAIM_BATCH as usize,
                Err(e) => {
                    tracing::warn!(error = %e, "mail worker could not claim mail; trying again shortly");
                    false
                }
            };
            if full_batch {
                // More may be due right now.
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
        tracing::info!("mail worker stopped");
    }

    /// Claims one batch of mail due at `now` and tries each; returns how many were sent. Tests call
    /// this with a manual clock's time instead of running the loop.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self.run_batch(now).await?.sent)
    }

    async fn run_batch(&self, now: DateTime<Utc>) -> Result<Batch, StoreError> {
        let lease = TimeDelta::from_std(LEASE).unwrap_or(TimeDelta::MAX);
        let rows = mail_queue::claim_due_mail(&self.db, now, lease, CLAIM_BATCH).await?;
        let mut batch = Batch { claimed: rows.len(), sent: 0 };
        let mut attempts = JoinSet::new();
        for row in rows {
            attempts.spawn(attempt(self.db.clone(), self.mailer.clone(), row, now));
        }
        while let Some(done) = attempts.join_next().await {
            match done {
                Ok(Ok(true)) => batch.sent += 1,
                Ok(Ok(false)) => {}
                // The row keeps its lease and is retried when it runs out.
                Ok(Err(e)) => tracing::warn!(error = %e, "mail worker could not record an attempt"),
                Err(e) => tracing::warn!(error = %e, "mail attempt task failed"),
            }
        }
        Ok(batch)
    }
}

struct Batch {
    claimed: usize,
    sent: usize,
}

/// Sends one claimed row and records the outcome; `Ok(true)` when sent.
async fn attempt(db: Db, mailer: Arc<Mailer>, row: MailRow, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let result = mailer.deliver(&row).await;
    let mut conn = db.acquire().await?;
    match result {
        Ok(_) => {
            mail_queue::mark_mail_sent(conn.ex(), MailId::from_uuid(row.id), now).await?;
            Ok(true)
        }
        Err(e) => {
            let retry_at = retry_at(&e, row.attempts, now);
            let error: String = e.to_string().chars().take(MAX_ERROR_CHARS).collect();
            // The log names the recipient's domain only (see `Mailer::deliver`).
            let to_domain = crate::mailer::recipient_domain(&row.to_address);
            match retry_at {
                Some(at) => tracing::warn!(
                    mail_id = %row.id, to_domain, template = %row.template, attempts = row.attempts,
                    retry_at = %at, error = %error, "mail delivery failed; will retry"
                ),
                None => tracing::error!(
                    mail_id = %row.id, to_domain, template = %row.template, attempts = row.attempts,
                    error = %error, "mail delivery failed; giving up"
                ),
            }
            mail_queue::mark_mail_failed(conn.ex(), MailId::from_uuid(row.id), &error, retry_at).await?;
            Ok(false)
        }
    }
}

/// When to try again after `error`, or `None` to give up.
fn retry_at(error: &MailError, attempts: i32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !error.is_transient() {
        return None;
    }
    retry_delay(attempts).map(|delay| now + delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_backs_off_then_gives_up() {
        let delays: Vec<Option<i64>> = (1..=6).map(|n| retry_delay(n).map(|d| d.num_seconds())).collect();
        assert_eq!(delays, vec![Some(10), Some(60), Some(300), Some(1800), Some(7200), None]);
    }

    #[test]
    fn permanent_errors_are_not_retried() {
        let now = Utc::now();
        assert_eq!(retry_at(&MailError::UnknownTemplate("x".into()), 1, now), None);
        assert_eq!(retry_at(&MailError::Timeout(SEND_TIMEOUT), 1, now), Some(now + TimeDelta::seconds(10)));
        assert_eq!(retry_at(&MailError::Timeout(SEND_TIMEOUT), 6, now), None);
    }
}
