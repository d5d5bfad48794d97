//! Two-factor authentication (docs/design.md §3 and §4.14, docs/security.md §3): a user's TOTP
//! authenticator and backup codes, the second step of a sign-in, and an org's requirement that its
//! members have 2FA, with the mails that announce it and remind of its deadline.
//!
//! - **Enroll, confirm.** Enrollment stores a fresh 160-bit seed, sealed with the master key (the
//!   user id as associated data), unconfirmed; 2FA is on only once a correct code confirms it,
//!   which also hands out the 10 backup codes, once.
//! - **A code works once.** The last accepted time step is stored per user and moved forward by a
//!   conditional `UPDATE`, so a replay, on this node or another, finds it spent. ±1 step of skew.
//! - **Sign-in.** A first factor (the password) for a user with 2FA opens a *pending* sign-in, never
//!   a session: a 256-bit token, stored hashed, good for 5 minutes and 5 codes, only for
//!   [`crate::sign_in::SignInStep::Totp`] and [`crate::sign_in::SignInStep::BackupCode`]. Each code
//!   counts, before it is checked, against the pending sign-in and against the account's own 2FA
//!   throttle and the address's sign-in throttle, shared by every node.
//! - **Disable, regenerate.** Both need the password in the same request (a password check within
//!   the last 10 minutes, as fresh as it gets), counted against the sign-in throttle. A password
//!   reset touches none of this: it neither disables nor bypasses 2FA.
//! - **Orgs.** An org requires 2FA from `mfa_required_at`, enforced from `mfa_grace_until` (or at
//!   once); then [`App::org_access`] refuses its members without 2FA (`403 mfa-required`) and their
//!   tokens mark the org `mfa_required` with no role or permissions. [`MfaNotifier`] mails members
//!   without 2FA when a requirement is set and a day before its deadline, on one node at a time.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tenantry_auth::totp::{self, TotpSecret};
use tenantry_auth::{constant_time_eq, hash_opaque_token, new_opaque_token};
use tenantry_core::events::{AuditAction, EventType};
use tenantry_core::org::{perm, require_permission};
use tenantry_core::throttle::{client_key, ThrottleRule};
use tenantry_core::{DomainError, ErrorKind, OrgId, UserId};
use tenantry_store::mfa::{self as store, BackupCodeRow, MfaNotice, PendingRow};
use tenantry_store::orgs::OrgRow;
use tenantry_store::sweep as lease_store;
use tenantry_store::{throttles, users, Ex, Tx};
use uuid::Uuid;

use crate::access::{Access, Lock};
use crate::record::{audit, emit, Audit, Event};
use crate::sessions::{bad_credentials, count_attempts};
use crate::sign_in::{AuthMethod, Proven};
use crate::{authz, App, AppError, AppResult, Ctx, SessionCtx};

/// How long a pending sign-in waits for its code.
pub const PENDING_TTL: Duration = Duration::minutes(5);
/// Codes a pending sign-in takes before it dies.
pub const PENDING_MAX_ATTEMPTS: i32 = 5;
/// How long before an org's deadline its members without 2FA are reminded.
pub const REMINDER_BEFORE: Duration = Duration::days(1);
/// The reminder job's lease in `job_leases`.
pub const NOTIFIER_LEASE: &str = "mfa_notifier";

/// The deployment's 2FA settings.
#[derive(Debug, Clone)]
pub struct MfaSettings {
    /// Whether an org (its Owner, or the backend) may require 2FA of its members.
    pub orgs_may_require: bool,
    /// Every user must have 2FA to act in any org: as if every org required it with no grace.
    pub require_for_everyone: bool,
    /// The issuer an authenticator app shows beside the account (the product's name).
    pub issuer: String,
}

impl Default for MfaSettings {
    fn default() -> Self {
        MfaSettings { orgs_may_require: true, require_for_everyone: false, issuer: "Tenantry".into() }
    }
}

/// What an authenticator app needs to add the account, shown while enrolling.
#[derive(Debug, Clone)]
pub struct Enrollment {
    pub provisioning: totp::Provisioning,
}

/// One of a user's orgs that requires 2FA.
#[derive(Debug, Clone, PartialEq)]
pub struct RequiringOrg {
    pub org_id: OrgId,
    pub name: String,
    pub slug: String,
    /// When the requirement is enforced (the grace deadline, or when it was set).
    pub enforced_from: DateTime<Utc>,
}

/// A user's 2FA as they see it.
#[derive(Debug, Clone, PartialEq)]
pub struct MfaStatus {
    pub enabled: bool,
    /// An enrollment was started and not confirmed.
    pub enrollment_pending: bool,
    pub backup_codes_left: u32,
    /// Their orgs that require 2FA: what disabling it would cost them.
    pub orgs_requiring: Vec<RequiringOrg>,
}

/// An org's 2FA requirement, as set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaRequirement {
    /// No requirement.
    Off,
    /// Enforced at once.
    Now,
    /// Enforced from the deadline; members are warned meanwhile.
    By(DateTime<Utc>),
}

/// An org's requirement after a change.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgMfaRequirement {
    pub org_id: OrgId,
    pub required: bool,
    pub required_at: Option<DateTime<Utc>>,
    pub grace_until: Option<DateTime<Utc>>,
    pub version: i64,
}

/// Which second factor a sign-in's code step presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecondFactor {
    Totp,
    BackupCode,
}

fn invalid_code() -> AppError {
    DomainError::unauthenticated("invalid-code", "The code is wrong, expired or already used.").into()
}

fn malformed_code(field: &str, what: &str) -> AppError {
    DomainError::invalid_field("malformed-code", field, format!("This is not {what}.")).into()
}

fn pending_gone() -> AppError {
    DomainError::new(
        ErrorKind::Gone,
        "sign-in-expired",
        "This sign-in has expired, was completed, or took too many wrong codes. Sign in again.",
    )
    .into()
}

fn not_enabled() -> AppError {
    DomainError::conflict("mfa-not-enabled", "Two-factor authentication is not on for this account.").into()
}

/// The answer of an org operation to a member without 2FA once the org requires it.
pub(crate) fn mfa_required() -> AppError {
    DomainError::forbidden(
        "mfa-required",
        "This organization requires two-factor authentication. Set it up (POST /api/v1/me/mfa/enroll, or the \
         account page), then try again.",
    )
    .into()
}

/// The throttle key of a user's second-factor codes.
fn code_key(user_id: Uuid) -> String {
    format!("mfa:account:{user_id}")
}

fn code_keys(user_id: Uuid, ip: Option<std::net::IpAddr>) -> Vec<(String, ThrottleRule)> {
    let mut keys = vec![(code_key(user_id), ThrottleRule::LOGIN_ACCOUNT)];
    if let Some(ip) = ip {
        keys.push((format!("login:ip:{}", client_key(ip)), ThrottleRule::LOGIN_IP));
    }
    keys
}

/// Whether `org` enforces 2FA at `now`.
pub(crate) fn enforced(settings: &MfaSettings, org: &OrgRow, now: DateTime<Utc>) -> bool {
    settings.require_for_everyone || org.mfa_required_at.is_some_and(|at| now >= org.mfa_grace_until.unwrap_or(at))
}

impl App {
    fn open_secret(&self, user_id: Uuid, sealed: &[u8]) -> AppResult<TotpSecret> {
        let bytes = self
            .keyring
            .open(sealed, user_id.as_bytes())
            .map_err(|e| AppError::Internal(format!("a TOTP secret does not open: {e}")))?;
        TotpSecret::from_bytes(bytes).map_err(|e| AppError::Internal(e.to_string()))
    }

    /// The 2FA gate of [`App::org_access`]: a member without 2FA of an org that enforces it is
    /// refused.
    pub(crate) async fn check_org_mfa(
        &self,
        ex: Ex<'_>,
        org: &OrgRow,
        user_id: UserId,
        session: Option<&SessionCtx>,
    ) -> AppResult<()> {
        // A sign-in through the org's own IdP, which enforces MFA, is two-factor for this org.
        if session.and_then(|s| s.mfa_org).is_some_and(|o| o.as_uuid() == org.id) {
            return Ok(());
        }
        if enforced(&self.settings().mfa, org, self.clock().now()) && !store::has_confirmed_mfa(ex, user_id).await? {
            return Err(mfa_required());
        }
        Ok(())
    }

    /// The orgs (as ids) whose claim a token for `user_id` must mark `mfa_required`.
    pub(crate) async fn orgs_blocked_by_mfa(&self, mut ex: Ex<'_>, user_id: UserId) -> AppResult<MfaBlocked> {
        if self.settings().mfa.require_for_everyone {
            return Ok(if store::has_confirmed_mfa(ex.reborrow(), user_id).await? {
                MfaBlocked::Some(Vec::new())
            } else {
                MfaBlocked::All
            });
        }
        Ok(MfaBlocked::Some(store::enforced_orgs_without_mfa(ex, user_id, self.clock().now()).await?))
    }

    /// The signed-in user's 2FA: whether it is on, backup codes left, and which of their orgs
    /// require it.
    pub async fn mfa_status(&self, ctx: &Ctx) -> AppResult<MfaStatus> {
        let (user_id, _) = authz::require_session(ctx, "Only a signed-in user has two-factor authentication.")?;
        self.mfa_status_of(user_id).await
    }

    async fn mfa_status_of(&self, user_id: UserId) -> AppResult<MfaStatus> {
        let mut c = self.db().acquire().await?;
        let row = store::get_mfa(c.ex(), user_id).await?;
        let enabled = row.as_ref().is_some_and(|r| r.confirmed_at.is_some());
        let left = if enabled { store::list_unused_backup_codes(c.ex(), user_id).await?.len() } else { 0 };
        let orgs = store::orgs_requiring_mfa_of_user(c.ex(), user_id).await?;
        Ok(MfaStatus {
            enabled,
            enrollment_pending: row.is_some() && !enabled,
            backup_codes_left: u32::try_from(left).unwrap_or(u32::MAX),
            orgs_requiring: orgs
                .into_iter()
                .map(|o| RequiringOrg {
                    org_id: OrgId::from_uuid(o.id),
                    name: o.name,
                    slug: o.slug,
                    enforced_from: o.mfa_grace_until.unwrap_or(o.mfa_required_at),
                })
                .collect(),
        })
    }

    /// Starts (or restarts) enrollment: a fresh seed, stored sealed and unconfirmed, and what an
    /// authenticator app needs. `409 mfa-already-enabled` when 2FA is on.
    pub async fn enroll_mfa(&self, ctx: &Ctx) -> AppResult<Enrollment> {
        let (user_id, _) = authz::require_session(ctx, "Only a signed-in user can set up two-factor authentication.")?;
        let secret = TotpSecret::generate();
        let sealed = self.keyring.seal(secret.expose(), user_id.as_uuid().as_bytes());
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let user = users::get_user(tx.ex(), user_id).await?.ok_or_else(bad_credentials)?;
        if store::upsert_unconfirmed_mfa(tx.ex(), user_id, &sealed, now).await? == 0 {
            return Err(DomainError::conflict(
                "mfa-already-enabled",
                "Two-factor authentication is already on. Disable it first to set up another authenticator.",
            )
            .into());
        }
        tx.commit().await?;
        Ok(Enrollment { provisioning: secret.provisioning(&self.settings().mfa.issuer, &user.email) })
    }

    /// Confirms enrollment with a code from the authenticator: 2FA is on from now, and the backup
    /// codes are returned, the only time they are shown.
    pub async fn confirm_mfa(&self, ctx: &Ctx, code: &str) -> AppResult<Vec<String>> {
        let (user_id, _) = authz::require_session(ctx, "Only a signed-in user can set up two-factor authentication.")?;
        let code = code.trim();
        if code.len() != totp::DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed_code("code", "a 6-digit code"));
        }
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        count_attempts(&mut tx, &code_keys(user_id.as_uuid(), ctx.ip), now).await?;
        let row = store::get_mfa(tx.ex(), user_id).await?;
        let row = match row {
            Some(r) if r.confirmed_at.is_none() => r,
            Some(_) => {
                return Err(
                    DomainError::conflict("mfa-already-enabled", "Two-factor authentication is already on.").into()
                )
            }
            None => {
                return Err(DomainError::conflict(
                    "mfa-not-enrolled",
                    "Start with POST /api/v1/me/mfa/enroll, then confirm with a code.",
                )
                .into())
            }
        };
        let secret = self.open_secret(user_id.as_uuid(), &row.secret_sealed)?;
        let step = match secret.verify(code, now.timestamp()) {
            Some(step) if store::confirm_mfa(tx.ex(), user_id, now, step).await? == 1 => step,
            _ => {
                // The attempt stays counted.
                tx.commit().await?;
                return Err(DomainError::invalid_field("invalid-code", "code", "The code is wrong or expired.").into());
            }
        };
        let codes = self.store_new_backup_codes(&mut tx, user_id, now).await?;
        throttles::delete_throttle(tx.ex(), &code_key(user_id.as_uuid())).await?;
        let user = users::get_user(tx.ex(), user_id).await?.ok_or_else(bad_credentials)?;
        emit(&mut tx, now, mfa_event(EventType::UserMfaEnabled, &user, "totp")).await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit::user(AuditAction::MfaEnabled, user.id, json!({ "method": "totp", "step": step })),
        )
        .await?;
        self.queue_mail(&mut tx, &user.email, "mfa_changed", json!({ "change": "enabled" }), now).await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(codes)
    }

    async fn store_new_backup_codes(&self, tx: &mut Tx, user_id: UserId, now: DateTime<Utc>) -> AppResult<Vec<String>> {
        let codes = totp::new_backup_codes();
        let rows: Vec<BackupCodeRow> = codes
            .iter()
            .filter_map(|c| totp::normalize_backup_code(c))
            .map(|n| BackupCodeRow {
                id: Uuid::now_v7(),
                user_id: user_id.as_uuid(),
                code_hash: totp::hash_backup_code(user_id.as_uuid().as_bytes(), &n),
                created_at: now,
                used_at: None,
            })
            .collect();
        store::replace_backup_codes(tx.ex(), user_id, &rows).await?;
        Ok(codes)
    }

    /// Turns 2FA off; needs the password in the same request.
    pub async fn disable_mfa(&self, ctx: &Ctx, password: &str) -> AppResult<()> {
        let (user_id, _) =
            authz::require_session(ctx, "Only a signed-in user can turn off two-factor authentication.")?;
        let user = {
            let mut c = self.db().acquire().await?;
            users::get_user(c.ex(), user_id).await?.ok_or_else(bad_credentials)?
        };
        self.check_current_password(&user, password, "password").await?;
        self.remove_mfa(ctx, user_id, "user").await
    }

    /// Turns a user's 2FA off for them (support, a lost phone): backend only, audited, and the
    /// user is emailed.
    pub async fn reset_mfa(&self, ctx: &Ctx, user_id: UserId) -> AppResult<()> {
        authz::require_backend(&ctx.actor)?;
        self.remove_mfa(ctx, user_id, "reset").await
    }

    async fn remove_mfa(&self, ctx: &Ctx, user_id: UserId, reason: &str) -> AppResult<()> {
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let user = users::get_user(tx.ex(), user_id)
            .await?
            .ok_or_else(|| DomainError::not_found("user-not-found", "No user has this id."))?;
        if !store::delete_mfa(tx.ex(), user_id).await? {
            return Err(not_enabled());
        }
        emit(&mut tx, now, mfa_event(EventType::UserMfaDisabled, &user, reason)).await?;
        audit(&mut tx, ctx, now, Audit::user(AuditAction::MfaDisabled, user.id, json!({ "reason": reason }))).await?;
        let change = if reason == "reset" { "reset" } else { "disabled" };
        self.queue_mail(&mut tx, &user.email, "mfa_changed", json!({ "change": change }), now).await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(())
    }

    /// Replaces the backup codes (the old ones stop working); needs the password in the same
    /// request. Returns the new codes, shown this once.
    pub async fn regenerate_backup_codes(&self, ctx: &Ctx, password: &str) -> AppResult<Vec<String>> {
        let (user_id, _) = authz::require_session(ctx, "Only a signed-in user has backup codes.")?;
        let user = {
            let mut c = self.db().acquire().await?;
            users::get_user(c.ex(), user_id).await?.ok_or_else(bad_credentials)?
        };
        self.check_current_password(&user, password, "password").await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        if !store::has_confirmed_mfa(tx.ex(), user_id).await? {
            return Err(not_enabled());
        }
        let codes = self.store_new_backup_codes(&mut tx, user_id, now).await?;
        audit(&mut tx, ctx, now, Audit::user(AuditAction::MfaBackupCodesRegenerated, user.id, json!({}))).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// After a first factor: `None` when the user has no 2FA (the sign-in completes); otherwise
    /// the pending sign-in's token. The password was right, so the account's password throttle is
    /// cleared as a completed sign-in would.
    pub(crate) async fn start_second_factor(&self, proven: &Proven) -> AppResult<Option<(String, i64)>> {
        let user_id = UserId::from_uuid(proven.user.id);
        let now = self.clock().now();
        let has_mfa = match proven.has_mfa {
            Some(known) => known,
            None => {
                let mut c = self.db().acquire().await?;
                store::has_confirmed_mfa(c.ex(), user_id).await?
            }
        };
        if !has_mfa {
            return Ok(None);
        }
        let (token, hash) = new_opaque_token();
        let mut tx = self.db().begin().await?;
        store::insert_pending(
            tx.ex(),
            &PendingRow {
                id: Uuid::now_v7(),
                token_hash: hash,
                user_id: user_id.as_uuid(),
                rehash: proven.rehash.clone(),
                attempts: 0,
                created_at: now,
                expires_at: now + PENDING_TTL,
            },
        )
        .await?;
        if let Some(account) = proven.throttle_keys.first() {
            throttles::delete_throttle(tx.ex(), account).await?;
        }
        tx.commit().await?;
        Ok(Some((token, PENDING_TTL.num_seconds())))
    }

    /// The code step of a pending sign-in: a TOTP code or a backup code. Counts the attempt
    /// first; a right code is spent (its step, or the backup code) and ends the pending sign-in in
    /// the same transaction, so the same code or token presented again, here or on another node,
    /// is refused.
    pub(crate) async fn prove_second_factor(
        &self,
        ctx: &Ctx,
        pending: &str,
        code: &str,
        factor: SecondFactor,
    ) -> AppResult<Proven> {
        let normalized = match factor {
            SecondFactor::Totp => {
                let c = code.trim();
                if c.len() != totp::DIGITS || !c.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(malformed_code("code", "a 6-digit code"));
                }
                c.to_owned()
            }
            SecondFactor::BackupCode => totp::normalize_backup_code(code)
                .ok_or_else(|| malformed_code("code", "a backup code (16 letters and digits)"))?,
        };
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let Some(p) =
            store::count_pending_attempt(tx.ex(), &hash_opaque_token(pending), now, PENDING_MAX_ATTEMPTS).await?
        else {
            return Err(pending_gone());
        };
        let user_id = UserId::from_uuid(p.user_id);
        let keys = code_keys(p.user_id, ctx.ip);
        count_attempts(&mut tx, &keys, now).await?;
        let accepted = match factor {
            SecondFactor::Totp => match store::get_mfa(tx.ex(), user_id).await? {
                Some(row) if row.confirmed_at.is_some() => {
                    let secret = self.open_secret(p.user_id, &row.secret_sealed)?;
                    match secret.verify(&normalized, now.timestamp()) {
                        Some(step) => store::use_mfa_step(tx.ex(), user_id, step).await? == 1,
                        None => false,
                    }
                }
                _ => false,
            },
            SecondFactor::BackupCode => {
                let hash = totp::hash_backup_code(p.user_id.as_bytes(), &normalized);
                let unused = store::list_unused_backup_codes(tx.ex(), user_id).await?;
                let mut found = None;
                for row in &unused {
                    if constant_time_eq(&row.code_hash, &hash) {
                        found = Some(row.id);
                    }
                }
                match found {
                    Some(id) => store::use_backup_code(tx.ex(), user_id, id, now).await? == 1,
                    None => false,
                }
            }
        };
        if !accepted || store::delete_pending(tx.ex(), p.id).await? != 1 {
            if p.attempts >= PENDING_MAX_ATTEMPTS {
                store::delete_pending(tx.ex(), p.id).await?;
            }
            tx.commit().await?;
            let user = {
                let mut c = self.db().acquire().await?;
                users::get_user(c.ex(), user_id).await?
            };
            self.audit_second_factor_failure(ctx, user.as_ref().map(|u| u.id), factor).await?;
            return Err(invalid_code());
        }
        let user = users::get_user(tx.ex(), user_id).await?.filter(|u| !u.disabled).ok_or_else(bad_credentials)?;
        tx.commit().await?;
        let roles = self.roles().await?;
        let claims = {
            let mut c = self.db().acquire().await?;
            self.org_claims_in(c.ex(), &roles, user.id, None, None).await?
        };
        let method = match factor {
            SecondFactor::Totp => AuthMethod::Otp,
            SecondFactor::BackupCode => AuthMethod::BackupCode,
        };
        Ok(Proven {
            may_auto_join: user.email_verified,
            user,
            methods: vec![AuthMethod::Password, method],
            rehash: p.rehash,
            throttle_keys: keys.into_iter().map(|(k, _)| k).collect(),
            claims,
            has_mfa: Some(true),
        })
    }

    async fn audit_second_factor_failure(&self, ctx: &Ctx, user: Option<Uuid>, factor: SecondFactor) -> AppResult<()> {
        let now = self.clock().now();
        let method = match factor {
            SecondFactor::Totp => "totp",
            SecondFactor::BackupCode => "backup-code",
        };
        let mut tx = self.db().begin().await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit {
                action: AuditAction::LoginFailed,
                org_id: None,
                target_kind: "user",
                target_id: user.map(|u| u.to_string()),
                details: json!({ "method": method, "reason": "bad-code" }),
            },
        )
        .await?;
        tx.commit().await.map_err(AppError::from)
    }

    /// Sets an org's 2FA requirement: now, by a deadline, or off. Members with
    /// `org.require_2fa` (the Owner) or the backend; a member setting it must have 2FA first, so
    /// that they do not lock themselves out. The deployment decides whether orgs may.
    pub async fn set_org_mfa_requirement(
        &self,
        ctx: &Ctx,
        org_id: OrgId,
        requirement: MfaRequirement,
    ) -> AppResult<OrgMfaRequirement> {
        if requirement != MfaRequirement::Off && !self.settings().mfa.orgs_may_require {
            return Err(DomainError::forbidden(
                "mfa-requirement-disabled",
                "This deployment does not let organizations require two-factor authentication.",
            )
            .into());
        }
        let now = self.clock().now();
        if let MfaRequirement::By(deadline) = requirement {
            if deadline <= now || deadline > now + Duration::days(366) {
                return Err(DomainError::invalid_field(
                    "invalid-deadline",
                    "grace_until",
                    "The deadline must be in the future and within a year.",
                )
                .into());
            }
        }
        let roles = self.roles().await?;
        let mut tx = self.db().begin().await?;
        let (org, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_REQUIRE_2FA)?;
        if let Access::Member(view, _) = &access {
            if requirement != MfaRequirement::Off && !store::has_confirmed_mfa(tx.ex(), view.user_id).await? {
                return Err(DomainError::conflict(
                    "mfa-enroll-first",
                    "Set up two-factor authentication yourself before requiring it of the organization.",
                )
                .into());
            }
        }
        let (required_at, grace_until) = match requirement {
            MfaRequirement::Off => (None, None),
            MfaRequirement::Now => (Some(now), None),
            MfaRequirement::By(deadline) => (Some(now), Some(deadline)),
        };
        let version = store::set_org_mfa_requirement(tx.ex(), org_id, required_at, grace_until, now)
            .await?
            .ok_or_else(crate::access::org_not_found)?;
        let data = json!({
            "org_id": org.id,
            "version": version,
            "required": required_at.is_some(),
            "required_at": required_at,
            "grace_until": grace_until,
        });
        emit(
            &mut tx,
            now,
            Event {
                event_type: EventType::OrgMfaRequirementChanged,
                object_id: org.id,
                object_version: version,
                org_id: Some(org.id),
                data: data.clone(),
            },
        )
        .await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit {
                action: AuditAction::OrgMfaRequirementChanged,
                org_id: Some(org.id),
                target_kind: "org",
                target_id: Some(org.id.to_string()),
                details: data,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(OrgMfaRequirement { org_id, required: required_at.is_some(), required_at, grace_until, version })
    }

    /// Of these users, those with 2FA on (for the members list).
    pub async fn users_with_mfa(&self, user_ids: &[Uuid]) -> AppResult<Vec<Uuid>> {
        let mut c = self.db().acquire().await?;
        Ok(store::users_with_mfa(c.ex(), user_ids).await?)
    }
}

/// Which orgs of a user a token marks `mfa_required`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MfaBlocked {
    All,
    Some(Vec<Uuid>),
}

impl MfaBlocked {
    pub(crate) fn blocks(&self, org_id: &str) -> bool {
        match self {
            MfaBlocked::All => true,
            MfaBlocked::Some(ids) => ids.iter().any(|id| id.to_string() == org_id),
        }
    }
}

fn mfa_event(event_type: EventType, user: &users::UserRow, detail: &str) -> Event {
    let key = if event_type == EventType::UserMfaEnabled { "method" } else { "reason" };
    Event {
        event_type,
        object_id: user.id,
        object_version: user.version,
        org_id: None,
        data: json!({ "user_id": user.id, "version": user.version, key: detail }),
    }
}

/// The job that mails members without 2FA when their org's requirement is set, and a day before
/// its deadline, and removes expired pending sign-ins. One node at a time runs it (the `mfa_notifier` lease), and each mail is marked
/// on the org in the transaction that queues it, so a requirement is announced once.
pub struct MfaNotifier {
    app: App,
    holder: String,
    interval: std::time::Duration,
}

/// What one run of [`MfaNotifier`] queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoticeReport {
    /// Mails announcing a requirement.
    pub required: u64,
    /// Reminders a day before a deadline.
    pub reminders: u64,
}

impl MfaNotifier {
    pub fn new(app: App, interval: std::time::Duration) -> MfaNotifier {
        MfaNotifier { app, holder: Uuid::now_v7().to_string(), interval }
    }

    /// One run at the clock's time; `None` when another node holds the lease.
    pub async fn run_once(&self) -> AppResult<Option<NoticeReport>> {
        let app = &self.app;
        let now = app.clock().now();
        let lease = Duration::from_std(self.interval * 2).unwrap_or(Duration::hours(1)) + Duration::seconds(10);
        {
            let mut tx = app.db().begin().await?;
            let held = lease_store::take_lease(tx.ex(), NOTIFIER_LEASE, &self.holder, now, now + lease).await?;
            tx.commit().await?;
            if !held {
                return Ok(None);
            }
        }
        // Pending sign-ins nobody finished: gone once expired (they refuse every code by then).
        for _ in 0..100 {
            let mut tx = app.db().begin().await?;
            let n = store::sweep_pending(tx.ex(), now, 1000).await?;
            tx.commit().await?;
            if n < 1000 {
                break;
            }
        }
        let mut report = NoticeReport::default();
        let to_notify = {
            let mut c = app.db().acquire().await?;
            store::orgs_to_notify(c.ex(), 100).await?
        };
        for org in to_notify {
            report.required += self.mail_org(&org, MfaNotice::Required, now).await?;
        }
        let to_remind = {
            let mut c = app.db().acquire().await?;
            store::orgs_to_remind(c.ex(), now, now + REMINDER_BEFORE, 100).await?
        };
        for org in to_remind {
            report.reminders += self.mail_org(&org, MfaNotice::Reminder, now).await?;
        }
        if report.required + report.reminders > 0 {
            app.wake_mailer();
        }
        Ok(Some(report))
    }

    async fn mail_org(&self, org: &store::MfaNoticeOrgRow, notice: MfaNotice, now: DateTime<Utc>) -> AppResult<u64> {
        let app = &self.app;
        let org_id = OrgId::from_uuid(org.id);
        let mut tx = app.db().begin().await?;
        if store::mark_mfa_notice(tx.ex(), org_id, notice, org.mfa_required_at, now).await? != 1 {
            return Ok(0);
        }
        let members = store::members_without_mfa(tx.ex(), org_id).await?;
        let template = match notice {
            MfaNotice::Required => "mfa_required",
            MfaNotice::Reminder => "mfa_reminder",
        };
        let deadline = org.mfa_grace_until.unwrap_or(org.mfa_required_at);
        let link = format!("{}/account/mfa", app.settings().auth.issuer);
        for m in &members {
            let vars = json!({
                "org_name": org.name,
                "deadline": deadline.format("%Y-%m-%d %H:%M UTC").to_string(),
                "now": org.mfa_grace_until.is_none(),
                "link": link,
            });
            app.queue_mail(&mut tx, &m.email, template, vars, now).await?;
        }
        tx.commit().await?;
        Ok(members.len() as u64)
    }

    /// Runs every interval until `shutdown` completes.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut every = tokio::time::interval(self.interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = every.tick() => {
                    if let Err(e) = self.run_once().await {
                        tracing::warn!(error = %e, "2FA notifier run failed; trying again at the next interval");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(required_at: Option<DateTime<Utc>>, grace: Option<DateTime<Utc>>) -> OrgRow {
        OrgRow {
            id: Uuid::now_v7(),
            name: "Acme".into(),
            name_normalized: "acme".into(),
            slug: "acme".into(),
            metadata: tenantry_store::Json(serde_json::Map::new()),
            max_users: None,
            member_count: 1,
            domain_auto_join: false,
            domain_restrict: false,
            isolated: false,
            mfa_required_at: required_at,
            mfa_grace_until: grace,
            created_by: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn a_requirement_is_enforced_from_its_deadline() {
        let s = MfaSettings::default();
        let now = Utc::now();
        assert!(!enforced(&s, &org(None, None), now), "no requirement");
        assert!(enforced(&s, &org(Some(now), None), now), "required now");
        let deadline = now + Duration::days(3);
        assert!(!enforced(&s, &org(Some(now), Some(deadline)), now), "in the grace period");
        assert!(!enforced(&s, &org(Some(now), Some(deadline)), deadline - Duration::seconds(1)));
        assert!(enforced(&s, &org(Some(now), Some(deadline)), deadline), "from the deadline on");
        let everyone = MfaSettings { require_for_everyone: true, ..MfaSettings::default() };
        assert!(enforced(&everyone, &org(None, None), now), "the deployment requires it everywhere");
    }

    #[test]
    fn blocked_orgs_are_matched_by_id() {
        let id = Uuid::now_v7();
        assert!(MfaBlocked::All.blocks("anything"));
        assert!(MfaBlocked::Some(vec![id]).blocks(&id.to_string()));
        assert!(!MfaBlocked::Some(vec![]).blocks(&id.to_string()));
    }
}
