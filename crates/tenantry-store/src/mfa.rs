//! The two-factor tables of migration 0010: `user_mfa` (a user's sealed TOTP seed, whether it is
//! confirmed, the last accepted time step), `mfa_backup_codes`, `mfa_pending` (between a
//! sign-in's password and its code), and the marks on `orgs` of what the reminder job has mailed.
//!
//! Every "use once" here is a conditional write whose affected-row count is the answer, so two
//! nodes racing with the same code or pending token cannot both win.

use chrono::{DateTime, Utc};
use tenantry_core::{OrgId, UserId};
use uuid::Uuid;

use crate::{Ex, Result};

/// A user's authenticator.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserMfaRow {
    pub user_id: Uuid,
    pub secret_sealed: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub last_used_step: Option<i64>,
}

/// Writes a fresh unconfirmed authenticator for `user_id`, replacing an unconfirmed one. Answers 0
/// (and writes nothing) when the user's 2FA is already confirmed.
pub async fn upsert_unconfirmed_mfa(
    ex: Ex<'_>,
    user_id: UserId,
    secret_sealed: &[u8],
    now: DateTime<Utc>,
) -> Result<u64> {
    sql_execute!(
        ex,
        "INSERT INTO user_mfa (user_id, secret_sealed, created_at, confirmed_at, last_used_step) \
         VALUES ($1, $2, $3, NULL, NULL) \
         ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, \
         created_at = excluded.created_at, last_used_step = NULL WHERE user_mfa.confirmed_at IS NULL",
        user_id.as_uuid(),
        secret_sealed,
        now,
    )
}

pub async fn get_mfa(ex: Ex<'_>, user_id: UserId) -> Result<Option<UserMfaRow>> {
    sql_rows!(
        ex,
        fetch_optional,
        UserMfaRow,
        "SELECT user_id, secret_sealed, created_at, confirmed_at, last_used_step FROM user_mfa WHERE user_id = $1",
        user_id.as_uuid()
    )
}

/// Whether the user's 2FA is on (confirmed).
pub async fn has_confirmed_mfa(ex: Ex<'_>, user_id: UserId) -> Result<bool> {
    let n = sql_scalar!(ex, fetch_one, i64, &format!("SELECT COUNT(*) {}", confirmed_mfa_of("$1")), user_id.as_uuid())?;
    Ok(n > 0)
}

/// `FROM … WHERE …` of the confirmed 2FA of `user` (an SQL expression).
pub(crate) fn confirmed_mfa_of(user: &str) -> String {
    format!("FROM user_mfa WHERE user_id = {user} AND confirmed_at IS NOT NULL")
}

/// Confirms an unconfirmed authenticator with the step of the code that proved it. 1 when it did.
pub async fn confirm_mfa(ex: Ex<'_>, user_id: UserId, now: DateTime<Utc>, step: i64) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE user_mfa SET confirmed_at = $2, last_used_step = $3 \
         WHERE user_id = $1 AND confirmed_at IS NULL AND (last_used_step IS NULL OR last_used_step < $3)",
        user_id.as_uuid(),
        now,
        step,
    )
}

/// Spends time step `step` of a confirmed authenticator: 1 when no later or equal step was spent
/// before (on any node), 0 otherwise.
pub async fn use_mfa_step(ex: Ex<'_>, user_id: UserId, step: i64) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE user_mfa SET last_used_step = $2 \
         WHERE user_id = $1 AND confirmed_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < $2)",
        user_id.as_uuid(),
        step,
    )
}

/// Removes a user's authenticator, backup codes and pending sign-ins. Answers whether 2FA was on.
pub async fn delete_mfa(mut ex: Ex<'_>, user_id: UserId) -> Result<bool> {
    let id = user_id.as_uuid();
    let n = sql_execute!(ex.reborrow(), "DELETE FROM user_mfa WHERE user_id = $1 AND confirmed_at IS NOT NULL", id)?;
    sql_execute!(ex.reborrow(), "DELETE FROM user_mfa WHERE user_id = $1", id)?;
    sql_execute!(ex.reborrow(), "DELETE FROM mfa_backup_codes WHERE user_id = $1", id)?;
    sql_execute!(ex, "DELETE FROM mfa_pending WHERE user_id = $1", id)?;
    Ok(n > 0)
}

/// One backup code as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BackupCodeRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub code_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Replaces a user's backup codes with `rows` (the old set stops working).
pub async fn replace_backup_codes(mut ex: Ex<'_>, user_id: UserId, rows: &[BackupCodeRow]) -> Result<()> {
    sql_execute!(ex.reborrow(), "DELETE FROM mfa_backup_codes WHERE user_id = $1", user_id.as_uuid())?;
    for r in rows {
        sql_execute!(
            ex.reborrow(),
            "INSERT INTO mfa_backup_codes (id, user_id, code_hash, created_at, used_at) VALUES ($1, $2, $3, $4, $5)",
            r.id,
            r.user_id,
            &r.code_hash,
            r.created_at,
            r.used_at,
        )?;
    }
    Ok(())
}

/// A user's unspent backup codes.
pub async fn list_unused_backup_codes(ex: Ex<'_>, user_id: UserId) -> Result<Vec<BackupCodeRow>> {
    sql_rows!(
        ex,
        fetch_all,
        BackupCodeRow,
        "SELECT id, user_id, code_hash, created_at, used_at FROM mfa_backup_codes \
         WHERE user_id = $1 AND used_at IS NULL ORDER BY id",
        user_id.as_uuid()
    )
}

/// Spends backup code `id`: 1 when it was unspent (on any node), 0 otherwise.
pub async fn use_backup_code(ex: Ex<'_>, user_id: UserId, id: Uuid, now: DateTime<Utc>) -> Result<u64> {
    sql_execute!(
        ex,
        "UPDATE mfa_backup_codes SET used_at = $3 WHERE id = $1 AND user_id = $2 AND used_at IS NULL",
        id,
        user_id.as_uuid(),
        now,
    )
}

/// A sign-in whose password is proven and whose code is pending.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PendingRow {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub user_id: Uuid,
    pub rehash: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const PENDING_COLUMNS: &str = "id, token_hash, user_id, rehash, attempts, created_at, expires_at";

pub async fn insert_pending(ex: Ex<'_>, p: &PendingRow) -> Result<()> {
    sql_execute!(
        ex,
        "INSERT INTO mfa_pending (id, token_hash, user_id, rehash, attempts, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        p.id,
        &p.token_hash,
        p.user_id,
        &p.rehash,
        p.attempts,
        p.created_at,
        p.expires_at,
    )?;
    Ok(())
}

/// Counts one attempt against the live pending sign-in with this token hash, before its code is
/// checked, and answers it; `None` when there is none, it expired, or it has used its
/// `max_attempts`. On PostgreSQL the row stays locked until the caller commits, so attempts on
/// one pending sign-in queue.
pub async fn count_pending_attempt(
    ex: Ex<'_>,
    token_hash: &[u8],
    now: DateTime<Utc>,
    max_attempts: i32,
) -> Result<Option<PendingRow>> {
    let sql = format!(
        "UPDATE mfa_pending SET attempts = attempts + 1 \
         WHERE token_hash = $1 AND expires_at > $2 AND attempts < $3 RETURNING {PENDING_COLUMNS}"
    );
    sql_rows!(ex, fetch_optional, PendingRow, &sql, token_hash, now, max_attempts)
}

/// Ends a pending sign-in: 1 when it was still there.
pub async fn delete_pending(ex: Ex<'_>, id: Uuid) -> Result<u64> {
    sql_execute!(ex, "DELETE FROM mfa_pending WHERE id = $1", id)
}

/// Deletes up to `limit` pending sign-ins that expired before `cutoff`.
pub async fn sweep_pending(ex: Ex<'_>, cutoff: DateTime<Utc>, limit: u32) -> Result<u64> {
    sql_execute!(
        ex,
        "DELETE FROM mfa_pending WHERE id IN (SELECT id FROM mfa_pending WHERE expires_at < $1 LIMIT $2)",
        cutoff,
        i64::from(limit),
    )
}

/// The orgs of `user_id` whose 2FA requirement is enforced at `now` (the grace has passed), when
/// the user has no confirmed 2FA; empty when they have it.
pub async fn enforced_orgs_without_mfa(ex: Ex<'_>, user_id: UserId, now: DateTime<Utc>) -> Result<Vec<Uuid>> {
    sql_scalar!(
        ex,
        fetch_all,
        Uuid,
        "SELECT o.id FROM org_members m JOIN orgs o ON o.id = m.org_id \
         WHERE m.user_id = $1 AND o.mfa_required_at IS NOT NULL \
         AND COALESCE(o.mfa_grace_until, o.mfa_required_at) <= $2 \
         AND NOT EXISTS (SELECT 1 FROM user_mfa f WHERE f.user_id = $1 AND f.confirmed_at IS NOT NULL)",
        user_id.as_uuid(),
        now,
    )
}

/// A user's orgs that require 2FA (enforced or in their grace period), with the deadline.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RequiringOrgRow {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub mfa_required_at: DateTime<Utc>,
    pub mfa_grace_until: Option<DateTime<Utc>>,
}

pub async fn orgs_requiring_mfa_of_user(ex: Ex<'_>, user_id: UserId) -> Result<Vec<RequiringOrgRow>> {
    sql_rows!(
        ex,
        fetch_all,
        RequiringOrgRow,
        "SELECT o.id, o.name, o.slug, o.mfa_required_at, o.mfa_grace_until FROM org_members m \
         JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 AND o.mfa_required_at IS NOT NULL ORDER BY o.id",
        user_id.as_uuid()
    )
}

/// Of the users `user_ids`, those whose 2FA is on.
pub async fn users_with_mfa(ex: Ex<'_>, user_ids: &[Uuid]) -> Result<Vec<Uuid>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<String> = (1..=user_ids.len()).map(|i| format!("${i}")).collect();
    let sql =
        format!("SELECT user_id FROM user_mfa WHERE confirmed_at IS NOT NULL AND user_id IN ({})", params.join(", "));
    per_engine!(ex, |c| user_ids
        .iter()
        .fold(sqlx::query_scalar::<_, Uuid>(&sql), |q, id| q.bind(*id))
        .fetch_all(&mut *c)
        .await)
}

/// An org whose members the reminder job mails.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MfaNoticeOrgRow {
    pub id: Uuid,
    pub name: String,
    pub mfa_required_at: DateTime<Utc>,
    pub mfa_grace_until: Option<DateTime<Utc>>,
}

/// Orgs whose current requirement has not been announced to their members yet.
pub async fn orgs_to_notify(ex: Ex<'_>, limit: u32) -> Result<Vec<MfaNoticeOrgRow>> {
    sql_rows!(
        ex,
        fetch_all,
        MfaNoticeOrgRow,
        "SELECT id, name, mfa_required_at, mfa_grace_until FROM orgs WHERE mfa_required_at IS NOT NULL \
         AND (mfa_notified_at IS NULL OR mfa_notified_at < mfa_required_at) ORDER BY id LIMIT $1",
        i64::from(limit)
    )
}

/// Orgs whose grace ends after `now` and no later than `horizon`, not yet reminded of it.
pub async fn orgs_to_remind(
    ex: Ex<'_>,
    now: DateTime<Utc>,
    horizon: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<MfaNoticeOrgRow>> {
    sql_rows!(
        ex,
        fetch_all,
        MfaNoticeOrgRow,
        "SELECT id, name, mfa_required_at, mfa_grace_until FROM orgs WHERE mfa_required_at IS NOT NULL \
         AND mfa_grace_until > $1 AND mfa_grace_until <= $2 \
         AND (mfa_reminded_at IS NULL OR mfa_reminded_at < mfa_required_at) ORDER BY id LIMIT $3",
        now,
        horizon,
        i64::from(limit)
    )
}

/// Which mail of the reminder job an org's mark records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaNotice {
    /// The requirement was set.
    Required,
    /// A day before the deadline.
    Reminder,
}

/// Marks `notice` sent for the requirement set at `required_at`: 1 unless the requirement changed
/// meanwhile (or another run marked it first), and then the caller's mails must not go.
pub async fn mark_mfa_notice(
    ex: Ex<'_>,
    org_id: OrgId,
    notice: MfaNotice,
    required_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let column = match notice {
        MfaNotice::Required => "mfa_notified_at",
        MfaNotice::Reminder => "mfa_reminded_at",
    };
    let sql = format!(
        "UPDATE orgs SET {column} = $3 WHERE id = $1 AND mfa_required_at = $2 \
         AND ({column} IS NULL OR {column} < mfa_required_at)"
    );
    sql_execute!(ex, &sql, org_id.as_uuid(), required_at, now)
}

/// A member who has not set up 2FA, to be mailed.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MemberWithoutMfaRow {
    pub user_id: Uuid,
    pub email: String,
}

/// The enabled members of `org_id` without confirmed 2FA.
pub async fn members_without_mfa(ex: Ex<'_>, org_id: OrgId) -> Result<Vec<MemberWithoutMfaRow>> {
    sql_rows!(
        ex,
        fetch_all,
        MemberWithoutMfaRow,
        "SELECT u.id AS user_id, u.email FROM org_members m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND NOT u.disabled \
         AND NOT EXISTS (SELECT 1 FROM user_mfa f WHERE f.user_id = m.user_id AND f.confirmed_at IS NOT NULL) \
         ORDER BY m.id",
        org_id.as_uuid()
    )
}

/// Sets or clears an org's requirement (`required_at` None clears both columns) and bumps its
/// version; answers the new version, or `None` when the org does not exist.
pub async fn set_org_mfa_requirement(
    ex: Ex<'_>,
    org_id: OrgId,
    required_at: Option<DateTime<Utc>>,
    grace_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    sql_scalar!(
        ex,
        fetch_optional,
        i64,
        "UPDATE orgs SET mfa_required_at = $2, mfa_grace_until = $3, version = version + 1, updated_at = $4 \
         WHERE id = $1 RETURNING version",
        org_id.as_uuid(),
        required_at,
        grace_until,
        now,
    )
}
