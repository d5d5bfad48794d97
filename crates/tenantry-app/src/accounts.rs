//! Self-service account flows for end users: signup, email verification, password reset, password
//! change and email change. Each emailed link is a single-use token stored hashed, expiring, and
//! voided by a newer request of the same kind.
//!
//! Enumeration safety: signup, resend and forgot-password answer the same whether or not the
//! email has an account; only the mail that goes out differs.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};
use tenantry_auth::{hash_opaque_token, new_opaque_token, PasswordVerdict};
use tenantry_core::events::{AuditAction, EventType};
use tenantry_core::throttle::{client_key, ThrottleRule};
use tenantry_core::{DomainError, Email, EmailTokenId, ErrorKind, PersonName, SessionId, UserId};
use tenantry_store::email_tokens::{self as tokens, EmailTokenRow};
use tenantry_store::mail_queue::{enqueue_mail, MailRow};
use tenantry_store::sessions as session_store;
use tenantry_store::throttles;
use tenantry_store::users::{self, UserRow};
use tenantry_store::{Json, Tx};
use uuid::Uuid;

use crate::record::{audit, emit, Audit};
use crate::sessions::{account_key, throttle};
use crate::users::User;
use crate::{authz, Actor, App, AppError, AppResult, Ctx};

/// The kinds of emailed single-use link: what the token is for, which mail carries it, and where
/// it points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkKind {
    VerifyEmail,
    ResetPassword,
    ChangeEmail,
}

impl LinkKind {
    /// The token's purpose, as stored.
    const fn purpose(self) -> &'static str {
        match self {
            LinkKind::VerifyEmail => "verify_email",
            LinkKind::ResetPassword => "reset_password",
            LinkKind::ChangeEmail => "change_email",
        }
    }

    const fn template(self) -> &'static str {
        match self {
            LinkKind::VerifyEmail => "verify_email",
            LinkKind::ResetPassword => "reset_password",
            LinkKind::ChangeEmail => "email_change_verify",
        }
    }

    /// The hosted page the link opens.
    const fn path(self) -> &'static str {
        match self {
            LinkKind::VerifyEmail => "/verify-email",
            LinkKind::ResetPassword => "/reset-password",
            LinkKind::ChangeEmail => "/confirm-email-change",
        }
    }
}

/// Input of [`App::signup`].
#[derive(Debug, Clone, Default)]
pub struct Signup {
    pub email: String,
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

fn link_expired() -> AppError {
    DomainError::new(ErrorKind::Gone, "link-expired", "This link has expired. Ask for a new one.").into()
}

fn link_used() -> AppError {
    DomainError::new(ErrorKind::Gone, "link-used", "This link was already used or replaced by a newer one.").into()
}

fn link_invalid() -> AppError {
    DomainError::not_found("link-invalid", "This link is not valid.").into()
}

pub(crate) fn human(d: Duration) -> String {
    if d.num_hours() >= 1 {
        format!("{} hours", d.num_hours())
    } else {
        format!("{} minutes", d.num_minutes())
    }
}

impl App {
    pub(crate) fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.settings().auth.issuer)
    }

    /// Queues a templated email inside `tx`; the mail worker sends it after the commit.
    pub(crate) async fn queue_mail(
        &self,
        tx: &mut Tx,
        to: &str,
        template: &str,
        vars: Value,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let vars: Map<String, Value> = match vars {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        enqueue_mail(tx.ex(), &MailRow::pending(to, template, vars, now)).await?;
        Ok(())
    }

    /// Issues a single-use link of `kind` for `user_id`, voiding older unused ones of the same
    /// kind, and queues the mail that carries it to `to`.
    async fn mail_link(
        &self,
        tx: &mut Tx,
        kind: LinkKind,
        user_id: Uuid,
        to: &str,
        new_email: Option<String>,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let ttl = match kind {
            LinkKind::ResetPassword => self.settings().auth.reset_ttl,
            LinkKind::VerifyEmail | LinkKind::ChangeEmail => self.settings().auth.verify_email_ttl,
        };
        tokens::void_email_tokens(tx.ex(), UserId::from_uuid(user_id), kind.purpose(), now).await?;
        let (token, hash) = new_opaque_token();
        tokens::insert_email_token(
            tx.ex(),
            &EmailTokenRow {
                id: Uuid::now_v7(),
                user_id,
                purpose: kind.purpose().to_owned(),
                token_hash: hash,
                new_email,
                created_at: now,
                expires_at: now + ttl,
                used_at: None,
            },
        )
        .await?;
        let vars = json!({ "link": self.link(kind.path(), &token), "email": to, "expires_in": human(ttl) });
        self.queue_mail(tx, to, kind.template(), vars, now).await
    }

    /// An emailed token of `kind` that can still be spent, or why it cannot. Spends nothing.
    async fn usable_email_token(
        &self,
        ex: tenantry_store::Ex<'_>,
        kind: LinkKind,
        token: &str,
        now: DateTime<Utc>,
    ) -> AppResult<EmailTokenRow> {
        let hash = hash_opaque_token(token);
        let row = tokens::find_email_token(ex, kind.purpose(), &hash).await?.ok_or_else(link_invalid)?;
        if row.used_at.is_some() {
            return Err(link_used());
        }
        if row.expires_at <= now {
            return Err(link_expired());
        }
        Ok(row)
    }

    /// Spends an emailed token of `kind`, or says why it cannot be spent.
    async fn spend_email_token(
        &self,
        tx: &mut Tx,
        kind: LinkKind,
        token: &str,
        now: DateTime<Utc>,
    ) -> AppResult<EmailTokenRow> {
        let row = self.usable_email_token(tx.ex(), kind, token, now).await?;
        if tokens::use_email_token(tx.ex(), EmailTokenId::from_uuid(row.id), now).await? == 0 {
            return Err(link_used());
        }
        Ok(row)
    }

    /// Self-service signup. Answers the same for a taken email (nothing is created then), and
    /// sends a verification link to a new account.
    pub async fn signup(&self, ctx: &Ctx, input: Signup) -> AppResult<()> {
        if !self.settings().auth.signup_enabled {
            return Err(DomainError::forbidden("signup-disabled", "Signup is turned off for this deployment.").into());
        }
        let email = Email::parse(&input.email)?;
        let words = [input.first_name.as_deref().unwrap_or(""), input.last_name.as_deref().unwrap_or("")];
        let password = self.settings().password_policy.check(&input.password, &[&input.email, words[0], words[1]])?;
        let first_name = input.first_name.as_deref().map(|n| PersonName::parse(n, "first_name")).transpose()?.flatten();
        let last_name = input.last_name.as_deref().map(|n| PersonName::parse(n, "last_name")).transpose()?.flatten();
        if let Some(ip) = ctx.ip {
            let rule =
                ThrottleRule { free_attempts: self.settings().auth.signup_limit_per_ip, ..ThrottleRule::SIGNUP_IP };
            throttle(self, &[(format!("signup:ip:{}", client_key(ip)), rule)]).await?;
        }
        // Hash in every case, so a taken email costs the same time.
        let hash =
            self.hasher.hash(password.expose().to_owned()).await.map_err(|e| AppError::Internal(e.to_string()))?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        if users::find_user_by_email(tx.ex(), None, &email.normalized()).await?.is_some() {
            return Ok(());
        }
        let row = UserRow {
            id: UserId::new().as_uuid(),
            pool_id: None,
            email: email.as_str().to_owned(),
            email_normalized: email.normalized(),
            email_verified: false,
            password_hash: Some(hash),
            first_name: first_name.map(|n| n.as_str().to_owned()),
            last_name: last_name.map(|n| n.as_str().to_owned()),
            username: None,
            username_normalized: None,
            properties: Json(Map::new()),
            disabled: false,
            version: 1,
            created_at: now,
            updated_at: now,
            last_login_at: None,
        };
        match users::insert_user(tx.ex(), &row).await {
            Ok(()) => {}
            // A concurrent signup took the address: same answer as any taken email.
            Err(e) if e.is_unique_on("email_normalized") => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        self.mail_link(&mut tx, LinkKind::VerifyEmail, row.id, &row.email, None, now).await?;
        let user = User::from(row);
        emit(&mut tx, now, user.event(EventType::UserCreated)).await?;
        let actor_ctx = Ctx { actor: Actor::User(user.id), ..ctx.clone() };
        audit(
            &mut tx,
            &actor_ctx,
            now,
            Audit::user(AuditAction::UserSignedUp, user.id, json!({ "email": user.email })),
        )
        .await?;
        tx.commit().await?;
        self.wake_mailer();
        if self.settings().orgs.personal_org_at_signup {
            self.create_personal_org(&actor_ctx, &user).await?;
        }
        Ok(())
    }

    /// Sends a fresh verification link if the email belongs to an unverified account. Same answer
    /// either way; throttled per address.
    pub async fn resend_verification(&self, _ctx: &Ctx, email: &str) -> AppResult<()> {
        let email = Email::parse(email)?;
        throttle(self, &[(format!("mail:verify:{}", email.normalized()), ThrottleRule::EMAIL)]).await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let Some(user) = users::find_user_by_email(tx.ex(), None, &email.normalized()).await? else { return Ok(()) };
        if user.email_verified || user.disabled {
            return Ok(());
        }
        self.mail_link(&mut tx, LinkKind::VerifyEmail, user.id, &user.email, None, now).await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(())
    }

    /// Follows a verification link: the email becomes verified.
    pub async fn verify_email(&self, ctx: &Ctx, token: &str) -> AppResult<User> {
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let t = self.spend_email_token(&mut tx, LinkKind::VerifyEmail, token, now).await?;
        let mut row = users::lock_user(tx.ex(), UserId::from_uuid(t.user_id)).await?.ok_or_else(link_invalid)?;
        if !row.email_verified {
            row.email_verified = true;
            row.version += 1;
            row.updated_at = now;
            users::update_user(tx.ex(), &row).await?;
            let user = User::from(row.clone());
            emit(&mut tx, now, user.event(EventType::UserUpdated)).await?;
            audit(
                &mut tx,
                &Ctx { actor: Actor::User(user.id), ..ctx.clone() },
                now,
                Audit::user(AuditAction::EmailVerified, user.id, json!({})),
            )
            .await?;
        }
        tx.commit().await?;
        // A newly verified address joins its domain's org, if one auto-joins it (docs/design.md §4.12).
        self.auto_join(ctx, UserId::from_uuid(row.id)).await?;
        Ok(User::from(row))
    }

    /// Sends a reset link if the email has an account. Same answer either way; throttled per
    /// address (a throttled user can still reset, just not flood a mailbox).
    pub async fn forgot_password(&self, ctx: &Ctx, email: &str) -> AppResult<()> {
        let email = Email::parse(email)?;
        throttle(self, &[(format!("mail:reset:{}", email.normalized()), ThrottleRule::EMAIL)]).await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let Some(user) = users::find_user_by_email(tx.ex(), None, &email.normalized()).await? else { return Ok(()) };
        if user.disabled {
            return Ok(());
        }
        self.mail_link(&mut tx, LinkKind::ResetPassword, user.id, &user.email, None, now).await?;
        audit(&mut tx, ctx, now, Audit::user(AuditAction::PasswordResetRequested, user.id, json!({}))).await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(())
    }

    /// Follows a reset link: sets the new password and ends every session of the user.
    ///
    /// The link is checked before the new password is hashed, so requests with made-up tokens
    /// cost no hash; they are throttled per source address besides. A reset proves the mailbox,
    /// so it also ends any sign-in delay on the account: an attacker cannot keep its owner
    /// locked out by guessing.
    pub async fn reset_password(&self, ctx: &Ctx, token: &str, new_password: &str) -> AppResult<()> {
        if let Some(ip) = ctx.ip {
            throttle(self, &[(format!("reset:ip:{}", client_key(ip)), ThrottleRule::LINK_IP)]).await?;
        }
        let user = {
            let mut c = self.db().acquire().await?;
            let t = self.usable_email_token(c.ex(), LinkKind::ResetPassword, token, self.clock().now()).await?;
            users::get_user(c.ex(), UserId::from_uuid(t.user_id)).await?.ok_or_else(link_invalid)?
        };
        let password = self.settings().password_policy.check(new_password, &crate::users::password_context(&user))?;
        let hash =
            self.hasher.hash(password.expose().to_owned()).await.map_err(|e| AppError::Internal(e.to_string()))?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let t = self.spend_email_token(&mut tx, LinkKind::ResetPassword, token, now).await?;
        let row = users::lock_user(tx.ex(), UserId::from_uuid(t.user_id)).await?.ok_or_else(link_invalid)?;
        throttles::delete_throttle(tx.ex(), &account_key(&row.email_normalized)).await?;
        // Following the emailed link also proves the address.
        self.store_new_password(&mut tx, ctx, row, hash, true, None, now).await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(())
    }

    /// Changes the signed-in user's password; needs the current one. Other sessions end.
    pub async fn change_password(&self, ctx: &Ctx, current: &str, new_password: &str) -> AppResult<()> {
        let (user_id, session_id) = authz::require_session(ctx, "Only a signed-in user can change their password.")?;
        let user = {
            let mut c = self.db().acquire().await?;
            users::get_user(c.ex(), user_id).await?.ok_or_else(link_invalid)?
        };
        let password = self.settings().password_policy.check(new_password, &crate::users::password_context(&user))?;
        self.check_current_password(&user, current, "current_password").await?;
        let hash =
            self.hasher.hash(password.expose().to_owned()).await.map_err(|e| AppError::Internal(e.to_string()))?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let row = users::lock_user(tx.ex(), user_id).await?.ok_or_else(link_invalid)?;
        self.store_new_password(&mut tx, ctx, row, hash, false, Some(session_id), now).await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(())
    }

    /// Checks a signed-in user's password before a sensitive change. Each check counts against
    /// the account's sign-in throttle, like a sign-in, so whoever holds a stolen session cannot
    /// guess the password through it; a right password clears the count, as a sign-in does.
    pub(crate) async fn check_current_password(&self, user: &UserRow, password: &str, field: &str) -> AppResult<()> {
        let key = account_key(&user.email_normalized);
        throttle(self, &[(key.clone(), ThrottleRule::LOGIN_ACCOUNT)]).await?;
        let verdict = self
            .hasher
            .verify(password.to_owned(), user.password_hash.clone())
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        if verdict == PasswordVerdict::Mismatch {
            return Err(DomainError::invalid_field("wrong-password", field, "The password is incorrect.").into());
        }
        let mut c = self.db().acquire().await?;
        throttles::delete_throttle(c.ex(), &key).await?;
        Ok(())
    }

    /// Writes a new password hash, voids reset links, ends sessions (except `keep`), and notifies.
    #[allow(clippy::too_many_arguments)]
    async fn store_new_password(
        &self,
        tx: &mut Tx,
        ctx: &Ctx,
        mut row: UserRow,
        hash: String,
        verifies_email: bool,
        keep: Option<SessionId>,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        row.password_hash = Some(hash);
        if verifies_email {
            row.email_verified = true;
        }
        row.version += 1;
        row.updated_at = now;
        users::update_user(tx.ex(), &row).await?;
        tokens::void_email_tokens(tx.ex(), UserId::from_uuid(row.id), LinkKind::ResetPassword.purpose(), now).await?;
        let ended =
            session_store::revoke_user_sessions(tx.ex(), UserId::from_uuid(row.id), keep, now, "password-changed")
                .await?;
        self.queue_mail(tx, &row.email, "password_changed", json!({ "email": row.email }), now).await?;
        audit(tx, ctx, now, Audit::user(AuditAction::PasswordChanged, row.id, json!({ "sessions_ended": ended }))).await
    }

    /// Starts an email change for the signed-in user: the new address gets a confirmation link;
    /// nothing changes until it is followed. Needs the current password.
    pub async fn request_email_change(&self, ctx: &Ctx, new_email: &str, password: &str) -> AppResult<()> {
        let Actor::User(user_id) = ctx.actor else {
            return Err(DomainError::forbidden("user-only", "Only a signed-in user can change their email.").into());
        };
        let new_email = Email::parse(new_email)?;
        let current = {
            let mut c = self.db().acquire().await?;
            users::get_user(c.ex(), user_id).await?.ok_or_else(link_invalid)?
        };
        self.check_current_password(&current, password, "password").await?;
        throttle(self, &[(format!("mail:change:{}", user_id), ThrottleRule::EMAIL)]).await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let to = new_email.as_str();
        self.mail_link(&mut tx, LinkKind::ChangeEmail, user_id.as_uuid(), to, Some(to.to_owned()), now).await?;
        audit(&mut tx, ctx, now, Audit::user(AuditAction::EmailChangeRequested, user_id, json!({}))).await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(())
    }

    /// Follows an email-change link: the new address takes effect, verified; the old address is told.
    pub async fn confirm_email_change(&self, ctx: &Ctx, token: &str) -> AppResult<User> {
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let t = self.spend_email_token(&mut tx, LinkKind::ChangeEmail, token, now).await?;
        let new_email = Email::parse(t.new_email.as_deref().unwrap_or_default())?;
        let mut row = users::lock_user(tx.ex(), UserId::from_uuid(t.user_id)).await?.ok_or_else(link_invalid)?;
        let old_email = row.email.clone();
        row.email = new_email.as_str().to_owned();
        row.email_normalized = new_email.normalized();
        row.email_verified = true;
        row.version += 1;
        row.updated_at = now;
        users::update_user(tx.ex(), &row).await.map_err(|e| {
            if e.is_unique_on("email_normalized") {
                DomainError::conflict("email-taken", "Another account uses this email now.").into()
            } else {
                AppError::from(e)
            }
        })?;
        let user = User::from(row);
        emit(&mut tx, now, user.event(EventType::UserUpdated)).await?;
        self.queue_mail(&mut tx, &old_email, "email_changed_notice", json!({ "email": user.email }), now).await?;
        audit(
            &mut tx,
            &Ctx { actor: Actor::User(user.id), ..ctx.clone() },
            now,
            Audit::user(AuditAction::EmailChanged, user.id, json!({})),
        )
        .await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(user)
    }

    /// The signed-in user.
    pub async fn me(&self, ctx: &Ctx) -> AppResult<User> {
        let Actor::User(user_id) = ctx.actor else {
            return Err(DomainError::forbidden("user-only", "This needs a signed-in user.").into());
        };
        let mut c = self.db().acquire().await?;
        users::get_user(c.ex(), user_id)
            .await?
            .map(User::from)
            .ok_or_else(|| DomainError::unauthenticated("session-ended", "Sign in again.").into())
    }
}
