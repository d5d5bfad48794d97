//! Housekeeping: removing rows nobody can use any more (expired sessions, refresh and email
//! tokens, idle throttle counters, delivered webhook messages past their retention) and retiring
//! the token hashes of long-expired invites, in small batches; and `job_leases`, which lets one
//! node at a time run such a job.
//!
//! Each batch is one statement, `… WHERE key IN (SELECT key … LIMIT n)`, so a large backlog never
//! holds a long lock; the caller runs each in its own short transaction and repeats while a batch
//! comes back full. The cut-off times come from the caller (the store decides nothing).

use chrono::{DateTime, Utc};

use crate::{Engine, Ex, Result};

/// What a sweep removes. [`SweepKind::as_str`] is the `kind` label of its metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SweepKind {
    /// Sessions past `expires_at` (their refresh tokens go with them).
    Sessions,
    /// Refresh tokens past `expires_at`.
    RefreshTokens,
    /// Email tokens (verification, reset, email change) past `expires_at`.
    EmailTokens,
    /// Throttle counters with no attempt since the cut-off and no block in force.
    Throttles,
    /// Invites past `expires_at` whose token hash is replaced (the row stays, for the roster and
    /// the audit trail).
    InviteTokens,
    /// Delivered webhook messages (and their attempts) delivered before the cut-off.
    WebhookMessages,
    /// Pending two-factor sign-ins (password done, code not given) past `expires_at`.
    MfaPending,
    /// SAML AuthnRequests past `expires_at`, answered or not.
    SsoRequests,
    /// Consumed SAML assertion ids whose assertion expired before the cut-off: a replay of it
    /// is refused by its own time window from then on.
    SsoAssertionIds,
}

impl SweepKind {
    pub const ALL: [SweepKind; 9] = [
        SweepKind::Sessions,
        SweepKind::RefreshTokens,
        SweepKind::EmailTokens,
        SweepKind::Throttles,
        SweepKind::InviteTokens,
        SweepKind::WebhookMessages,
        SweepKind::MfaPending,
        SweepKind::SsoRequests,
        SweepKind::SsoAssertionIds,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SweepKind::Sessions => "sessions",
            SweepKind::RefreshTokens => "refresh_tokens",
            SweepKind::EmailTokens => "email_tokens",
            SweepKind::Throttles => "throttles",
            SweepKind::InviteTokens => "invite_tokens",
            SweepKind::WebhookMessages => "webhook_messages",
            SweepKind::MfaPending => "mfa_pending",
            SweepKind::SsoRequests => "sso_requests",
            SweepKind::SsoAssertionIds => "sso_assertion_ids",
        }
    }
}

/// Removes (or for invites, retires) up to `limit` rows of `kind` that are stale before `cutoff`;
/// returns how many. `now` is used by the throttles, whose blocks must also have ended.
pub async fn sweep_batch(
    ex: Ex<'_>,
    kind: SweepKind,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<u64> {
    let limit = i64::from(limit);
    match kind {
        SweepKind::Sessions => sql_execute!(
            ex,
            "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < $1 LIMIT $2)",
            cutoff,
            limit,
        ),
        SweepKind::RefreshTokens => sql_execute!(
            ex,
            "DELETE FROM refresh_tokens WHERE id IN \
             (SELECT id FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)",
            cutoff,
            limit,
        ),
        SweepKind::EmailTokens => sql_execute!(
            ex,
            "DELETE FROM email_tokens WHERE id IN (SELECT id FROM email_tokens WHERE expires_at < $1 LIMIT $2)",
            cutoff,
            limit,
        ),
        SweepKind::Throttles => sql_execute!(
            ex,
            "DELETE FROM throttles WHERE key IN (SELECT key FROM throttles WHERE window_start < $1 \
             AND (blocked_until IS NULL OR blocked_until < $2) LIMIT $3)",
            cutoff,
            now,
            limit,
        ),
        SweepKind::InviteTokens => retire_invite_tokens(ex, cutoff, limit).await,
        SweepKind::WebhookMessages => sql_execute!(
            ex,
            "DELETE FROM webhook_messages WHERE id IN (SELECT id FROM webhook_messages \
             WHERE state = 'delivered' AND delivered_at < $1 LIMIT $2)",
            cutoff,
            limit,
        ),
        SweepKind::MfaPending => sql_execute!(
            ex,
            "DELETE FROM mfa_pending WHERE id IN (SELECT id FROM mfa_pending WHERE expires_at < $1 LIMIT $2)",
            cutoff,
            limit,
        ),
        SweepKind::SsoRequests => sql_execute!(
            ex,
            "DELETE FROM sso_requests WHERE id IN (SELECT id FROM sso_requests WHERE expires_at < $1 LIMIT $2)",
            cutoff,
            limit,
        ),
        SweepKind::SsoAssertionIds => sql_execute!(
            ex,
            "DELETE FROM sso_assertion_ids WHERE (connection_id, assertion_id) IN \
             (SELECT connection_id, assertion_id FROM sso_assertion_ids WHERE expires_at < $1 LIMIT $2)",
            cutoff,
            limit,
        ),
    }
}

/// Replaces the token hash (a 32-byte SHA-256) of invites that expired before `cutoff` with the
/// invite's own 16-byte id: unique like the hash, and never equal to the SHA-256 of any token, so
/// the link is dead for good while the row keeps its history. The one dialect difference is how a
/// `uuid` becomes bytes: SQLite stores ids as 16-byte blobs already; PostgreSQL has `uuid_send`.
async fn retire_invite_tokens(ex: Ex<'_>, cutoff: DateTime<Utc>, limit: i64) -> Result<u64> {
    let id_bytes = match ex.engine() {
        Engine::Postgres => "uuid_send(id)",
        Engine::Sqlite => "id",
    };
    let sql = format!(
        "UPDATE org_invites SET token_hash = {id_bytes} WHERE id IN (SELECT id FROM org_invites \
         WHERE expires_at < $1 AND length(token_hash) = 32 LIMIT $2)"
    );
    sql_execute!(ex, &sql, cutoff, limit)
}

/// A job's lease as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LeaseRow {
    pub name: String,
    pub holder: String,
    pub expires_at: DateTime<Utc>,
}

/// Takes (or renews) the lease on job `name` for `holder` until `until`, if it is free at `now`
/// (never taken, run out) or `holder` holds it already; returns whether `holder` now holds it. One
/// statement, so of several nodes racing for a free lease exactly one wins.
pub async fn take_lease(
    ex: Ex<'_>,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool> {
    let n = sql_execute!(
        ex,
        "INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE job_leases.expires_at < $4 OR job_leases.holder = excluded.holder",
        name,
        holder,
        until,
        now,
    )?;
    Ok(n == 1)
}

/// Gives the lease up at `now` if `holder` holds it (a node shutting down), so another node need
/// not wait for it to run out.
pub async fn release_lease(ex: Ex<'_>, name: &str, holder: &str, now: DateTime<Utc>) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE job_leases SET expires_at = $3 WHERE name = $1 AND holder = $2 AND expires_at > $3",
        name,
        holder,
        now,
    )
}

pub async fn get_lease(ex: Ex<'_>, name: &str) -> Result<Option<LeaseRow>> {
    sql_rows!(ex, fetch_optional, LeaseRow, "SELECT name, holder, expires_at FROM job_leases WHERE name = $1", name)
}
