//! Housekeeping: the sweeper removes what nobody can use any more, so tables keep the size of the
//! live data. Expired sessions (with their refresh tokens) and refresh tokens go once expired;
//! email tokens and invite tokens a week after they expired, so a late click on an emailed link
//! still hears "expired" rather than "unknown" for that long (an invite keeps its row for the
//! roster and the audit trail: only its token hash is retired); throttle counters once idle for a
//! day with no block in force; delivered webhook messages, with their attempts, after the
//! configured retention (failed messages stay, for replay); pending two-factor sign-ins and SAML
//! AuthnRequests once expired; consumed SAML assertion ids ten minutes after their assertion
//! expired (longer than the ACS's clock skew, so a replay is refused by its time window then).
//!
//! Rows go in batches of `batch` per statement, each in its own short transaction, so a backlog
//! never holds the writer for long. One node at a time sweeps: it holds the `sweeper` lease in
//! `job_leases` for two intervals and renews it at each run, so the other nodes take over only
//! when the holder has stopped (README, "Housekeeping"). Time comes from the injected clock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as StdDuration;

use chrono::Duration;
use tenantry_store::sweep::{self as store, SweepKind};
use uuid::Uuid;

use crate::{App, AppResult};

/// The lease's name in `job_leases`.
pub const LEASE: &str = "sweeper";
/// How long email and invite tokens are kept after they expired.
pub const EXPIRED_LINK_GRACE: Duration = Duration::days(7);
/// How long a throttle counter stays after its last attempt (every rule starts over sooner).
pub const THROTTLE_IDLE: Duration = Duration::hours(24);
/// Most batches of one kind per run; the rest waits for the next run (and the lease is renewed).
pub const MAX_BATCHES: u32 = 100;
/// How long a consumed assertion id outlives its assertion's expiry in the replay cache.
pub const ASSERTION_ID_GRACE: Duration = Duration::minutes(10);

/// What the sweeper is told by the configuration.
#[derive(Debug, Clone)]
pub struct SweepSettings {
    /// Time between runs.
    pub interval: StdDuration,
    /// How long delivered webhook messages are kept.
    pub webhook_retention: Duration,
    /// Rows per statement.
    pub batch: u32,
}

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings { interval: StdDuration::from_secs(60), webhook_retention: Duration::days(7), batch: 1000 }
    }
}

/// What this node's sweeper did, for `/metrics`.
#[derive(Debug, Default)]
pub struct SweepMetrics {
    runs: AtomicU64,
    deleted: [AtomicU64; SweepKind::ALL.len()],
}

impl SweepMetrics {
    /// Runs that held the lease.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Rows removed (or retired, for invite tokens) per kind.
    pub fn deleted(&self) -> Vec<(&'static str, u64)> {
        SweepKind::ALL.iter().zip(&self.deleted).map(|(k, n)| (k.as_str(), n.load(Ordering::Relaxed))).collect()
    }
}

/// Runs the sweep on one node at a time.
pub struct Sweeper {
    app: App,
    settings: SweepSettings,
    holder: String,
}

impl Sweeper {
    /// A sweeper with its own lease holder name, fresh for each process.
    pub fn new(app: App, settings: SweepSettings) -> Sweeper {
        Sweeper { app, settings, holder: Uuid::now_v7().to_string() }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// How long a run holds the lease: two intervals and a margin, renewed at each run.
    fn lease_for(&self) -> Duration {
        Duration::from_std(self.settings.interval * 2).unwrap_or(Duration::days(1)) + Duration::seconds(10)
    }

    /// One run at the clock's time: takes or renews the lease, then sweeps each kind. `None` when
    /// another node holds the lease; otherwise the rows removed per kind.
    pub async fn sweep_once(&self) -> AppResult<Option<BTreeMap<&'static str, u64>>> {
        let now = self.app.clock().now();
        {
            let mut tx = self.app.db().begin().await?;
            let held = store::take_lease(tx.ex(), LEASE, &self.holder, now, now + self.lease_for()).await?;
            tx.commit().await?;
            if !held {
                return Ok(None);
            }
        }
        let metrics = self.app.sweep_metrics();
        let mut report = BTreeMap::new();
        for (i, kind) in SweepKind::ALL.into_iter().enumerate() {
            let cutoff = match kind {
                SweepKind::Sessions | SweepKind::RefreshTokens | SweepKind::MfaPending | SweepKind::SsoRequests => now,
                // Kept past the assertion's own expiry by more than the clock skew the ACS allows.
                SweepKind::SsoAssertionIds => now - ASSERTION_ID_GRACE,
                SweepKind::EmailTokens | SweepKind::InviteTokens => now - EXPIRED_LINK_GRACE,
                SweepKind::Throttles => now - THROTTLE_IDLE,
                SweepKind::WebhookMessages => now - self.settings.webhook_retention,
            };
            let mut total = 0;
            for _ in 0..MAX_BATCHES {
                let mut tx = self.app.db().begin().await?;
                let n = store::sweep_batch(tx.ex(), kind, cutoff, now, self.settings.batch).await?;
                tx.commit().await?;
                total += n;
                if n < u64::from(self.settings.batch) {
                    break;
                }
            }
            metrics.deleted[i].fetch_add(total, Ordering::Relaxed);
            if total > 0 {
                tracing::info!(kind = kind.as_str(), removed = total, "sweeper removed stale rows");
            }
            report.insert(kind.as_str(), total);
        }
        metrics.runs.fetch_add(1, Ordering::Relaxed);
        Ok(Some(report))
    }

    /// Runs every interval (the first one interval after start) until `shutdown` completes; then
    /// gives the lease up, so another node need not wait for it to run out.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let start = tokio::time::Instant::now() + self.settings.interval;
        let mut every = tokio::time::interval_at(start, self.settings.interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = every.tick() => {
                    if let Err(e) = self.sweep_once().await {
                        tracing::warn!(error = %e, "sweeper run failed; trying again at the next interval");
                    }
                }
            }
        }
        let now = self.app.clock().now();
        let released = async {
            let mut tx = self.app.db().begin().await?;
            store::release_lease(tx.ex(), LEASE, &self.holder, now).await?;
            tx.commit().await
        };
        if let Err(e) = released.await {
            tracing::warn!(error = %e, "could not release the sweeper lease; it runs out by itself");
        }
    }
}
