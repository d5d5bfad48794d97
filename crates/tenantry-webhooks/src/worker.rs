//! The delivery worker: fans committed outbox events out into messages, claims due messages under
//! a lease, signs and POSTs them, and records each attempt.
//!
//! Several workers (on several nodes) may run at once: fan-out takes each event once and the claim
//! leases messages, so a message is with one worker at a time. Delivery is at least once: a worker
//! that dies after sending but before recording lets the lease run out, and the message is sent
//! again with the same `webhook-id`, which receivers use to deduplicate.
//!
//! Only a 2xx answer is a success. Redirects are not followed (a 3xx is a failure), the answer is
//! read up to 1 KiB, and every attempt is bounded by the configured timeout. A `410 Gone` disables
//! the endpoint at once (`disabled_reason` `gone`, with its `webhook_endpoint.disabled` event and
//! audit entry); its message waits, like every pending message of a disabled endpoint. A
//! `Retry-After` on `429` or `503` postpones the next attempt within the schedule's bounds (see
//! [`crate::schedule`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use tenantry_auth::Keyring;
use tenantry_core::events::{AuditAction, EventType};
use tenantry_core::ids::AuditId;
use tenantry_core::{Clock, EventId, WebhookEndpointId};
use tenantry_store::audit::{append_audit, AuditRow};
use tenantry_store::outbox::{append_event, EventRow};
use tenantry_store::webhooks::{self as store, AttemptRow, Claim, EndpointRow, MessageRow, Outcome};
use tenantry_store::{Db, Json, StoreError, Tx};
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::schedule::{next_attempt_honouring, parse_retry_after};
use crate::sign::{self, signature_header};
use crate::target::{is_forbidden, GuardedResolver};
use crate::{WebhookSecret, WebhookSettings};

/// How long a claim holds its messages beyond twice the attempt timeout (see [`lease`]).
pub const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// Most messages per claim.
pub const CLAIM_BATCH: u32 = 100;
/// Most attempts under way at once in one worker: a receiver that hangs holds one slot for the
/// timeout, not the whole worker.
pub const MAX_IN_FLIGHT: usize = 256;
/// Free slots a claim waits for when the worker is busy.
const MIN_CLAIM: usize = 32;
/// Most finished attempts recorded per transaction.
pub const RECORD_BATCH: usize = 256;
/// How long the recorder lets a batch of finished attempts grow. Without it, a busy worker records
/// every few deliveries in a transaction of their own (the batch is whatever finished while the
/// last one was written), and on SQLite those transactions were most of a delivery's cost
/// (BENCHMARKS.md, "Profiles"). Only the recording waits: attempts are sent as soon as claimed.
pub const RECORD_LINGER: Duration = Duration::from_millis(10);
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
    /// Endpoints disabled for failing continuously, or because they answered `410 Gone`.
    pub endpoints_disabled: AtomicU64,
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

/// One attempt, sent and waiting to be recorded.
#[derive(Debug)]
struct Finished {
    attempt: AttemptRow,
    outcome: Outcome,
    endpoint_id: WebhookEndpointId,
    /// The endpoint's `failing_since` when the message was claimed.
    failing_since: Option<DateTime<Utc>>,
}

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

    /// Runs until `shutdown`: fans out, claims what is due while fewer than [`MAX_IN_FLIGHT`]
    /// attempts are under way, and sends each claimed message in its own task; a recorder task
    /// writes finished attempts in batches. When nothing is due it waits for `wake` (notified after
    /// requests that may have committed events, and on PostgreSQL when any node commits events) or
    /// [`POLL_INTERVAL`]. On shutdown the attempts under way finish and are recorded.
    pub async fn run(self, shutdown: CancellationToken, wake: Arc<Notify>) {
        tracing::info!(allow_private_targets = self.settings.allow_private_targets, "webhook worker started");
        let (done_tx, done_rx) = mpsc::channel::<Finished>(MAX_IN_FLIGHT);
        let recorder = tokio::spawn(self.clone().record_until_closed(done_rx));
        let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        while !shutdown.is_cancelled() {
            let free = slots.available_permits();
            if free < MIN_CLAIM {
                // Wait for room for a worthwhile claim rather than claiming one message at a time.
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    permits = slots.acquire_many(MIN_CLAIM as u32) => drop(permits),
                }
                continue;
            }
            let limit = u32::try_from(free).unwrap_or(CLAIM_BATCH).min(CLAIM_BATCH);
            let now = self.clock.now();
            let claimed = match self.fan_out_all(now).await {
                Ok(_) => self.claim(now, limit).await,
                Err(e) => Err(e),
            };
            let full = match claimed {
                Ok(claim) => {
                    let full = claim.messages.len() == limit as usize;
                    for (msg, endpoint) in pair(claim) {
                        let Ok(permit) = slots.clone().try_acquire_owned() else { break };
                        let (worker, done) = (self.clone(), done_tx.clone());
                        tokio::spawn(async move {
                            let finished = worker.attempt(msg, endpoint, now).await;
                            // The recorder outlives every attempt; if it is gone the lease runs out
                            // and the message is sent again.
                            let _ = done.send(finished).await;
                            drop(permit);
                        });
                    }
                    full
                }
                Err(e) => {
                    tracing::warn!(error = %e, "webhook worker could not claim messages; trying again shortly");
                    false
                }
            };
            if full {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
        // Let the attempts under way finish (each is bounded by the timeout), then flush.
        let all = u32::try_from(MAX_IN_FLIGHT).unwrap_or(u32::MAX);
        drop(slots.acquire_many(all).await);
        drop(done_tx);
        let _ = recorder.await;
        tracing::info!("webhook worker stopped");
    }

    /// Fans out every pending event, then claims one batch of messages due at `now`, tries each
    /// and records the attempts. Tests call this with a manual clock's time instead of running
    /// the loop.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Batch, StoreError> {
        let mut batch = Batch { fanned_out: self.fan_out_all(now).await?, ..Batch::default() };
        let claim = self.claim(now, CLAIM_BATCH).await?;
        batch.claimed = claim.messages.len();
        let mut attempts = JoinSet::new();
        for (msg, endpoint) in pair(claim) {
            let worker = self.clone();
            attempts.spawn(async move { worker.attempt(msg, endpoint, now).await });
        }
        let mut finished = Vec::with_capacity(batch.claimed);
        while let Some(done) = attempts.join_next().await {
            match done {
                Ok(f) => finished.push(f),
                // The message keeps its lease and is retried when it runs out.
                Err(e) => tracing::warn!(error = %e, "webhook attempt task failed"),
            }
        }
        batch.delivered = finished.iter().filter(|f| f.outcome == Outcome::Delivered).count();
        self.record(&finished, now).await?;
        Ok(batch)
    }

    async fn claim(&self, now: DateTime<Utc>, limit: u32) -> Result<Claim, StoreError> {
        store::claim_due_messages(&self.db, now, lease(self.settings.timeout), limit).await
    }

    /// Fan-out transactions until no event is pending; returns the messages created.
    async fn fan_out_all(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut created = 0;
        loop {
            let (events, n) = self.fan_out(now).await?;
            created += n;
            if events < FANOUT_BATCH as usize {
                return Ok(created);
            }
        }
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
        // Written a statement's worth at a time (`insert_messages`), so a batch of events for
        // many endpoints never holds all its messages at once.
        let (mut messages, mut created) = (Vec::with_capacity(store::MESSAGES_PER_INSERT), 0);
        for event in &events {
            let targets: Vec<&EndpointRow> =
                endpoints.iter().filter(|e| e.created_at <= event.occurred_at && e.wants(&event.event_type)).collect();
            if !targets.is_empty() {
                let body = sign::body(&event.event_type, event.occurred_at, &event.data.0);
                messages.extend(targets.into_iter().map(|endpoint| {
                    MessageRow::pending(
                        EventId::from_uuid(event.id),
                        WebhookEndpointId::from_uuid(endpoint.id),
                        &event.event_type,
                        body.clone(),
                        event.occurred_at,
                        now,
                    )
                }));
            }
            if messages.len() >= store::MESSAGES_PER_INSERT {
                created += store::insert_messages(tx.ex(), &messages).await? as usize;
                messages.clear();
            }
        }
        created += store::insert_messages(tx.ex(), &messages).await? as usize;
        store::mark_events_fanned_out(tx.ex(), &events, now).await?;
        tx.commit().await?;
        Ok((events.len(), created))
    }

    /// Records finished attempts in transactions of up to [`RECORD_BATCH`], each gathered for
    /// at most [`RECORD_LINGER`] after its first attempt finished.
    async fn record_until_closed(self, mut done: mpsc::Receiver<Finished>) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while done.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            let until = tokio::time::Instant::now() + RECORD_LINGER;
            while batch.len() < RECORD_BATCH {
                let room = RECORD_BATCH - batch.len();
                let more = done.recv_many(&mut batch, room);
                // Closed (shutdown) or lingered long enough: record what there is.
                if !matches!(tokio::time::timeout_at(until, more).await, Ok(n) if n > 0) {
                    break;
                }
            }
            if let Err(e) = self.record(&batch, self.clock.now()).await {
                // The messages keep their leases and are sent again when those run out.
                tracing::warn!(error = %e, attempts = batch.len(), "webhook worker could not record attempts");
            }
            batch.clear();
        }
    }

    /// Writes the attempts and their messages' new states in one transaction, and keeps each
    /// endpoint's run of failures: a success ends it; an endpoint failing since longer than
    /// `disable_after_failing` is disabled, with a `webhook_endpoint.disabled` event.
    async fn record(&self, finished: &[Finished], now: DateTime<Utc>) -> Result<(), StoreError> {
        if finished.is_empty() {
            return Ok(());
        }
        let mut health: HashMap<WebhookEndpointId, Health> = HashMap::new();
        let mut disabled = 0;
        let mut tx = self.db.begin().await?;
        let batch: Vec<_> = finished.iter().map(|f| (&f.attempt, f.outcome)).collect();
        store::record_attempts(tx.ex(), &batch).await?;
        for f in finished {
            let a = &f.attempt;
            if a.status == Some(GONE) {
                // The receiver asked for no more: disabled now, not after days of failures.
                if let Some(row) = store::disable_gone_endpoint(tx.ex(), f.endpoint_id, now).await? {
                    record_disabled(&mut tx, &row, now, store::DISABLED_GONE).await?;
                    disabled += 1;
                }
            }
            let h = health.entry(f.endpoint_id).or_insert(Health {
                failing_since: f.failing_since,
                first_failure: None,
                succeeded: false,
            });
            if f.outcome == Outcome::Delivered {
                h.succeeded = true;
            } else {
                h.first_failure = Some(h.first_failure.map_or(a.attempted_at, |t| t.min(a.attempted_at)));
            }
        }
        let cutoff = now - self.settings.disable_after_failing;
        for (id, h) in health {
            match (h.succeeded, h.failing_since, h.first_failure) {
                (true, Some(_), _) => {
                    store::mark_endpoint_healthy(tx.ex(), id).await?;
                }
                (false, None, Some(first)) => {
                    store::mark_endpoint_failing(tx.ex(), id, first).await?;
                }
                (false, Some(since), _) if since <= cutoff => {
                    if let Some(row) = store::disable_failing_endpoint(tx.ex(), id, cutoff, now).await? {
                        record_disabled(&mut tx, &row, now, store::DISABLED_FAILING).await?;
                        disabled += 1;
                    }
                }
                _ => {}
            }
        }
        tx.commit().await?;
        self.metrics.endpoints_disabled.fetch_add(disabled, Ordering::Relaxed);
        Ok(())
    }

    /// Sends one claimed message to its endpoint (`None`: deleted meanwhile, so the message went
    /// with it and recording finds nothing to update).
    async fn attempt(&self, msg: MessageRow, endpoint: Option<EndpointRow>, now: DateTime<Utc>) -> Finished {
        let started = Instant::now();
        let (endpoint_id, failing_since) =
            endpoint.as_ref().map_or((msg.endpoint_id, None), |e| (e.id, e.failing_since));
        let result = match &endpoint {
            None => Err("the endpoint was deleted".to_owned()),
            Some(endpoint) => match self.secrets(endpoint, now) {
                Ok(secrets) => self.send(&endpoint.url, &msg, &secrets, now).await,
                Err(e) => Err(e),
            },
        };
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status, body, retry_after, error) = match result {
            Ok(answer) => (Some(i32::from(answer.status)), Some(answer.body), answer.retry_after, None),
            Err(e) => (None, None, None, Some(e.chars().take(MAX_ERROR_CHARS).collect::<String>())),
        };
        let success = status.is_some_and(|s| (200..300).contains(&s));
        // Retry-After counts only where it means "later": 429 Too Many Requests, 503 Unavailable.
        let wait = match status {
            Some(429 | 503) => retry_after.as_deref().and_then(|v| parse_retry_after(v, now)),
            _ => None,
        };
        let outcome = if success {
            Outcome::Delivered
        } else {
            next_attempt_honouring(msg.attempts, now, wait).map_or(Outcome::Failed, Outcome::RetryAt)
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
                message_id = %msg.id, endpoint_id = %endpoint_id, attempts = msg.attempts, retry_at = %at,
                error = %e, "webhook delivery failed; will retry"
            ),
            (Outcome::Failed, Some(e)) => tracing::warn!(
                message_id = %msg.id, endpoint_id = %endpoint_id, attempts = msg.attempts, error = %e,
                "webhook delivery failed; giving up"
            ),
            _ => {}
        }
        let attempt = AttemptRow {
            id: Uuid::now_v7(),
            message_id: msg.id,
            attempted_at: now,
            status,
            error,
            latency_ms,
            response_body: body,
        };
        Finished { attempt, outcome, endpoint_id: WebhookEndpointId::from_uuid(endpoint_id), failing_since }
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

    /// POSTs the message; the receiver's answer, or why no answer came.
    async fn send(
        &self,
        url: &str,
        msg: &MessageRow,
        secrets: &[WebhookSecret],
        now: DateTime<Utc>,
    ) -> Result<Answer, String> {
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
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(64).collect());
        let body = read_prefix(response).await;
        Ok(Answer { status, body, retry_after })
    }
}

/// How long a claim holds its messages: an attempt starts as soon as it is claimed and takes at
/// most `timeout`, so twice that and a margin covers it and its recording. A worker that dies
/// holding messages delays them by this much; then another worker sends them again.
pub fn lease(timeout: Duration) -> TimeDelta {
    TimeDelta::from_std(timeout * 2 + LEASE_MARGIN).unwrap_or(TimeDelta::MAX)
}

/// The status that disables an endpoint at once.
const GONE: i32 = 410;

/// What a receiver answered.
struct Answer {
    status: u16,
    /// The first [`MAX_RESPONSE_BYTES`] of the body.
    body: String,
    /// The `Retry-After` header, if any (at most 64 characters).
    retry_after: Option<String>,
}

/// An endpoint's attempts within one recorded batch.
struct Health {
    failing_since: Option<DateTime<Utc>>,
    first_failure: Option<DateTime<Utc>>,
    succeeded: bool,
}

/// Each claimed message with its endpoint.
fn pair(claim: Claim) -> impl Iterator<Item = (MessageRow, Option<EndpointRow>)> {
    let endpoints: HashMap<Uuid, EndpointRow> = claim.endpoints.into_iter().map(|e| (e.id, e)).collect();
    claim.messages.into_iter().map(move |m| {
        let endpoint = endpoints.get(&m.endpoint_id).cloned();
        (m, endpoint)
    })
}

/// The `webhook_endpoint.disabled` event and its audit entry, in the disabling transaction;
/// `reason` is the endpoint's new `disabled_reason`.
async fn record_disabled(tx: &mut Tx, row: &EndpointRow, now: DateTime<Utc>, reason: &str) -> Result<(), StoreError> {
    match reason {
        store::DISABLED_GONE => {
            tracing::warn!(endpoint_id = %row.id, "webhook endpoint disabled: its receiver answered 410 Gone")
        }
        _ => tracing::warn!(
            endpoint_id = %row.id, failing_since = ?row.failing_since,
            "webhook endpoint disabled: it failed continuously"
        ),
    }
    let mut data = json!({
        "endpoint_id": row.id.to_string(),
        "version": row.version,
        "url": row.url,
        "reason": reason,
    });
    if let Some(since) = row.failing_since {
        data["failing_since"] = json!(since);
    }
    let event = EventRow {
        id: EventId::new().as_uuid(),
        event_type: EventType::WebhookEndpointDisabled.as_str().to_owned(),
        object_id: row.id,
        object_version: row.version,
        org_id: None,
        data: Json(data.clone()),
        occurred_at: now,
    };
    append_event(tx.ex(), &event).await?;
    let audit = AuditRow {
        id: AuditId::new().as_uuid(),
        occurred_at: now,
        org_id: None,
        actor_kind: "system".to_owned(),
        actor_id: None,
        action: AuditAction::WebhookEndpointDisabled.as_str().to_owned(),
        target_kind: "webhook_endpoint".to_owned(),
        target_id: Some(row.id.to_string()),
        ip: None,
        request_id: None,
        details: Json(json!({ "reason": reason, "failing_since": row.failing_since })),
    };
    append_audit(tx.ex(), &audit).await
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
