//! The delivery worker: fans committed outbox events out into messages, claims due messages under
//! a lease, signs and POSTs them, and records each attempt.
//!
//! Several workers (on several nodes) may run at once: fan-out takes each event once and the claim
//! leases messages, so a message is with one worker at a time. Delivery is at least once: a worker
//! that dies after sending but before recording lets the lease run out, and the message is sent
//! again with the same `webhook-id`, which receivers use to deduplicate.
//!
//! Only a 2xx answer is a success. Redirects are not followed (a 3xx is a failure), the answer is
//! read up to 1 KiB, and every attempt is bounded by the configured timeout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use tenantry_auth::Keyring;
use tenantry_core::Clock;
use tenantry_store::webhooks::{self as store, AttemptRow, EndpointRow, MessageRow, Outcome};
use tenantry_store::{Db, StoreError};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::schedule::next_attempt_at;
use crate::sign::{self, signature_header};
use crate::target::{is_forbidden, GuardedResolver};
use crate::{WebhookSecret, WebhookSettings};

/// How long a claim holds its messages; well over a batch's deliveries, which run side by side.
pub const LEASE: Duration = Duration::from_secs(120);
/// Messages per claim.
pub const CLAIM_BATCH: u32 = 10;
/// Events per fan-out transaction.
pub const FANOUT_BATCH: u32 = 200;
/// How often an idle worker looks for work without being woken (other nodes' events).
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How much of a response body is read and kept.
pub const MAX_RESPONSE_BYTES: usize = 1024;
/// Longest `error` kept per attempt.
const MAX_ERROR_CHARS: usize = 500;

/// Counters of this worker's attempts, for `/metrics`.
#[derive(Debug, Default)]
pub struct WebhookMetrics {
    pub delivered: AtomicU64,
    /// Failed attempts that will be retried.
    pub retried: AtomicU64,
    /// Failed last attempts: the message has failed.
    pub failed: AtomicU64,
}

/// What one [`WebhookWorker::run_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Batch {
    /// Messages created from outbox events.
    pub fanned_out: usize,
    pub claimed: usize,
    pub delivered: usize,
}

/// Why the worker could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the webhook HTTP client: {0}")]
pub struct ClientError(#[from] reqwest::Error);

/// Delivers webhooks. Cheap to clone.
#[derive(Clone)]
pub struct WebhookWorker {
    db: Db,
    clock: Arc<dyn Clock>,
    keyring: Arc<Keyring>,
    settings: WebhookSettings,
    client: reqwest::Client,
    metrics: Arc<WebhookMetrics>,
}

impl WebhookWorker {
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        keyring: Arc<Keyring>,
        settings: WebhookSettings,
    ) -> Result<WebhookWorker, ClientError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A proxy from the environment would connect on our behalf, past the address check.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { allow_private: settings.allow_private_targets }))
            .user_agent(concat!("Tenantry-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(WebhookWorker { db, clock, keyring, settings, client, metrics: Arc::default() })
    }

    pub fn metrics(&self) -> Arc<WebhookMetrics> {
        self.metrics.clone()
    }

    /// Runs until `shutdown`: fans out and delivers what is due, then waits for `wake` (notified
    /// after requests that may have committed events) or [`POLL_INTERVAL`]. A batch under way is
    /// finished before stopping.
    pub async fn run(self, shutdown: CancellationToken, wake: Arc<Notify>) {
        tracing::info!(allow_private_targets = self.settings.allow_private_targets, "webhook worker started");
        while !shutdown.is_cancelled() {
            let more = match self.run_once(self.clock.now()).await {
                Ok(batch) => batch.claimed == CLAIM_BATCH as usize,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook worker could not claim messages; trying again shortly");
                    false
                }
            };
            if more {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
        tracing::info!("webhook worker stopped");
    }

    /// Fans out every pending event, then claims one batch of messages due at `now` and tries
    /// each. Tests call this with a manual clock's time instead of running the loop.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Batch, StoreError> {
        let mut batch = Batch::default();
        loop {
            let (events, created) = self.fan_out(now).await?;
            batch.fanned_out += created;
            if events < FANOUT_BATCH as usize {
                break;
            }
        }
        let lease = TimeDelta::from_std(LEASE).unwrap_or(TimeDelta::MAX);
        let rows = store::claim_due_messages(&self.db, now, lease, CLAIM_BATCH).await?;
        batch.claimed = rows.len();
        let mut attempts = JoinSet::new();
        for row in rows {
            let worker = self.clone();
            attempts.spawn(async move { worker.attempt(row, now).await });
        }
        while let Some(done) = attempts.join_next().await {
            match done {
                Ok(Ok(Outcome::Delivered)) => batch.delivered += 1,
                Ok(Ok(_)) => {}
                // The message keeps its lease and is retried when it runs out.
                Ok(Err(e)) => tracing::warn!(error = %e, "webhook worker could not record an attempt"),
                Err(e) => tracing::warn!(error = %e, "webhook attempt task failed"),
            }
        }
        Ok(batch)
    }

    /// One fan-out transaction: up to [`FANOUT_BATCH`] events become messages for every enabled
    /// endpoint that wants them and existed when they happened. Returns (events taken, messages
    /// created).
    async fn fan_out(&self, now: DateTime<Utc>) -> Result<(usize, usize), StoreError> {
        let mut tx = self.db.begin().await?;
        let events = store::lock_pending_events(tx.ex(), FANOUT_BATCH).await?;
        if events.is_empty() {
            return Ok((0, 0));
        }
        let endpoints = store::list_enabled_endpoints(tx.ex()).await?;
        let mut created = 0;
        for event in &events {
            let targets: Vec<&EndpointRow> =
                endpoints.iter().filter(|e| e.created_at <= event.occurred_at && e.wants(&event.event_type)).collect();
            if !targets.is_empty() {
                let body = sign::body(&event.event_type, event.occurred_at, &event.data.0);
                for endpoint in targets {
                    let m = MessageRow::pending(
                        event.id,
                        endpoint.id,
                        &event.event_type,
                        body.clone(),
                        event.occurred_at,
                        now,
                    );
                    if store::insert_message(tx.ex(), &m).await? {
                        created += 1;
                    }
                }
            }
            store::mark_event_fanned_out(tx.ex(), event.id, now).await?;
        }
        tx.commit().await?;
        Ok((events.len(), created))
    }

    /// Sends one claimed message and records the attempt.
    async fn attempt(&self, msg: MessageRow, now: DateTime<Utc>) -> Result<Outcome, StoreError> {
        let endpoint = {
            let mut c = self.db.acquire().await?;
            store::get_endpoint(c.ex(), msg.endpoint_id).await?
        };
        // Deleted meanwhile: its messages went with it.
        let Some(endpoint) = endpoint else { return Ok(Outcome::Failed) };
        let started = Instant::now();
        let result = match self.secrets(&endpoint, now) {
            Ok(secrets) => self.send(&endpoint.url, &msg, &secrets, now).await,
            Err(e) => Err(e),
        };
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status, body, error) = match result {
            Ok((status, body)) => (Some(i32::from(status)), Some(body), None),
            Err(e) => (None, None, Some(e.chars().take(MAX_ERROR_CHARS).collect::<String>())),
        };
        let success = status.is_some_and(|s| (200..300).contains(&s));
        let outcome = if success {
            Outcome::Delivered
        } else {
            next_attempt_at(msg.attempts, now).map_or(Outcome::Failed, Outcome::RetryAt)
        };
        let error = error.or_else(|| status.filter(|_| !success).map(|s| format!("the receiver answered {s}")));
        let counter = match outcome {
            Outcome::Delivered => &self.metrics.delivered,
            Outcome::RetryAt(_) => &self.metrics.retried,
            Outcome::Failed => &self.metrics.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        match (&outcome, &error) {
            (Outcome::RetryAt(at), Some(e)) => tracing::info!(
                message_id = %msg.id, endpoint_id = %endpoint.id, attempts = msg.attempts, retry_at = %at,
                error = %e, "webhook delivery failed; will retry"
            ),
            (Outcome::Failed, Some(e)) => tracing::warn!(
                message_id = %msg.id, endpoint_id = %endpoint.id, attempts = msg.attempts, error = %e,
                "webhook delivery failed; giving up"
            ),
            _ => {}
        }
        let row = AttemptRow {
            id: Uuid::now_v7(),
            message_id: msg.id,
            attempted_at: now,
            status,
            error: error.clone(),
            latency_ms,
            response_body: body,
        };
        let mut tx = self.db.begin().await?;
        store::insert_attempt(tx.ex(), &row).await?;
        store::finish_attempt(tx.ex(), msg.id, outcome, status, error.as_deref(), now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// The secrets that sign at `now`: the current one, and the one before a rotation while its
    /// overlap lasts.
    fn secrets(&self, endpoint: &EndpointRow, now: DateTime<Utc>) -> Result<Vec<WebhookSecret>, String> {
        let open = |sealed: &[u8]| {
            self.keyring
                .open(sealed, endpoint.id.as_bytes())
                .ok()
                .and_then(WebhookSecret::from_key)
                .ok_or_else(|| "the endpoint's secret does not unseal with the master key".to_owned())
        };
        let mut secrets = vec![open(&endpoint.secret_sealed)?];
        if let (Some(previous), Some(until)) = (&endpoint.previous_secret_sealed, endpoint.previous_expires_at) {
            if until > now {
                secrets.push(open(previous)?);
            }
        }
        Ok(secrets)
    }

    /// POSTs the message; the status and the first [`MAX_RESPONSE_BYTES`] of the answer, or why
    /// no answer came.
    async fn send(
        &self,
        url: &str,
        msg: &MessageRow,
        secrets: &[WebhookSecret],
        now: DateTime<Utc>,
    ) -> Result<(u16, String), String> {
        let url = reqwest::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
        // Names are checked by the resolver as they are connected; literal addresses skip it.
        if !self.settings.allow_private_targets {
            let literal = match url.host() {
                Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
                _ => None,
            };
            if literal.is_some_and(is_forbidden) {
                return Err("the target address is not allowed for webhooks".into());
            }
        }
        let id = msg.event_id.to_string();
        let timestamp = now.timestamp();
        let signature = signature_header(secrets, &id, timestamp, msg.payload.as_bytes());
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(sign::WEBHOOK_ID, &id)
            .header(sign::WEBHOOK_TIMESTAMP, timestamp.to_string())
            .header(sign::WEBHOOK_SIGNATURE, signature)
            .body(msg.payload.clone())
            .send()
            .await
            .map_err(describe)?;
        let status = response.status().as_u16();
        let body = read_prefix(response).await;
        Ok((status, body))
    }
}

/// Up to [`MAX_RESPONSE_BYTES`] of the body, as lossy UTF-8; a body cut off or failing midway keeps
/// what arrived.
async fn read_prefix(mut response: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while buf.len() < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            _ => break,
        }
    }
    buf.truncate(MAX_RESPONSE_BYTES);
    String::from_utf8_lossy(&buf).into_owned()
}

/// A request error with its causes, which say what actually failed (refused, reset, resolver).
fn describe(e: reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = what.to_owned();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
