//! Staying signed in: the throttles a sign-in counts against (per account and per address),
//! sessions, refresh-token rotation with reuse detection, access tokens, logout. The sign-in
//! itself, as steps, is [`crate::sign_in`].

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::json;
use tenantry_auth::tokens::AccessClaims;
use tenantry_auth::{hash_opaque_token, new_opaque_token};
use tenantry_core::events::AuditAction;
use tenantry_core::throttle::{client_key, decide, Counter, ThrottleRule, Verdict};
use tenantry_core::{DomainError, ErrorKind, SessionId, UserId};
use tenantry_store::refresh;
use tenantry_store::sessions::{self as store, RefreshTokenRow, SessionRow};
use tenantry_store::throttles::{self, ThrottleRow};
use tenantry_store::users::{self, UserRow};
use tenantry_store::Tx;
use uuid::Uuid;

use crate::claims::OrgClaims;
use crate::keys::invalid_token;
use crate::record::{audit, Audit};
use crate::users::User;
use crate::{authz, App, AppError, AppResult, Ctx, SessionCtx};

/// What a successful sign-in or refresh hands out.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    pub session_id: Uuid,
}

/// Whom an access token is about: its `sub`, `email` and `email_verified` claims.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub email_verified: bool,
}

impl<'a> From<&'a UserRow> for Subject<'a> {
    fn from(u: &'a UserRow) -> Self {
        Subject { id: u.id, email: &u.email, email_verified: u.email_verified }
    }
}

/// How often a session's `last_seen_at` moves: to the minute is enough for listings and the idle
/// limit, and spares a write on most requests.
const SEEN_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// An access token alone, for a session that already exists (see [`App::session_access_token`]).
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// A new sign-in: tokens, plus the secret for the hosted-pages session cookie.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub tokens: Tokens,
    pub cookie_secret: String,
    pub user: User,
    /// The deployment requires every user to belong to an org and this one belongs to none: the
    /// next step is to create or join one (docs/design.md §4.11).
    pub needs_org: bool,
}

/// A session as listed to its user or to the backend.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: Uuid,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub mfa_level: i32,
    /// The org the session acts in (the org switcher), if one is selected.
    pub active_org_id: Option<tenantry_core::OrgId>,
    /// How it was signed in: the RFC 8176 `amr` values its tokens carry.
    pub amr: Vec<String>,
    /// The org whose 2FA requirement the session meets through its IdP's MFA.
    pub mfa_org_id: Option<tenantry_core::OrgId>,
}

impl Session {
    /// The session as a request's context carries it.
    pub fn ctx(&self) -> SessionCtx {
        SessionCtx { id: SessionId::from_uuid(self.id), mfa_level: self.mfa_level, mfa_org: self.mfa_org_id }
    }
}

impl From<SessionRow> for Session {
    fn from(s: SessionRow) -> Session {
        Session {
            id: s.id,
            user_id: UserId::from_uuid(s.user_id),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            ip: s.ip,
            user_agent: s.user_agent,
            mfa_level: s.mfa_level,
            active_org_id: s.active_org_id.map(tenantry_core::OrgId::from_uuid),
            amr: s.amr.split_whitespace().map(str::to_owned).collect(),
            mfa_org_id: s.mfa_org_id.map(tenantry_core::OrgId::from_uuid),
        }
    }
}

/// The one answer to a failed sign-in, whether the email is unknown or the password wrong.
pub(crate) fn bad_credentials() -> AppError {
    DomainError::unauthenticated("invalid-credentials", "The email or password is incorrect.").into()
}

fn too_many(retry_after_secs: u64) -> AppError {
    let mut e = DomainError::new(
        ErrorKind::TooManyRequests,
        "too-many-attempts",
        "Too many attempts. Wait before trying again, or reset your password by email.",
    );
    e.retry_after_secs = Some(retry_after_secs);
    e.into()
}

/// Counts one attempt against each `(key, rule)` in one transaction; refuses if any is over its
/// limit. Counting comes first, so racing attempts on several nodes cannot pass the limit.
pub(crate) async fn throttle(app: &App, checks: &[(String, ThrottleRule)]) -> AppResult<()> {
    let mut tx = app.db().begin().await?;
    count_attempts(&mut tx, checks, app.clock().now()).await?;
    tx.commit().await?;
    Ok(())
}

/// [`throttle`] inside the caller's transaction: the counts hold once it commits. Two
/// statements however many keys: read and lock every counter, then write them.
pub(crate) async fn count_attempts(
    tx: &mut Tx,
    checks: &[(String, ThrottleRule)],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let keys: Vec<&str> = checks.iter().map(|(key, _)| key.as_str()).collect();
    let current = throttles::lock_throttles(tx.ex(), &keys, now).await?;
    let mut updates = Vec::with_capacity(checks.len());
    for (key, rule) in checks {
        let counter = current.iter().find(|r| r.key == *key).map(|r| Counter {
            failures: u32::try_from(r.failures).unwrap_or(0),
            last_attempt_at: r.window_start,
            blocked_until: r.blocked_until,
        });
        match decide(rule, counter, now) {
            Verdict::Refuse { retry_after_secs } => return Err(too_many(retry_after_secs)),
            Verdict::Allow { counter } => updates.push(ThrottleRow {
                key: key.clone(),
                failures: i32::try_from(counter.failures).unwrap_or(i32::MAX),
                window_start: counter.last_attempt_at,
                blocked_until: counter.blocked_until,
            }),
        }
    }
    throttles::store_throttles(tx.ex(), &updates).await?;
    Ok(())
}

/// The throttle key of an account's password checks: sign-ins, and the current-password checks of
/// a signed-in user (so a stolen session cannot guess the password either).
pub(crate) fn account_key(email_normalized: &str) -> String {
    format!("login:account:{email_normalized}")
}

pub(crate) fn login_keys(email_normalized: &str, ip: Option<IpAddr>) -> Vec<(String, ThrottleRule)> {
    let mut keys = vec![(account_key(email_normalized), ThrottleRule::LOGIN_ACCOUNT)];
    if let Some(ip) = ip {
        keys.push((format!("login:ip:{}", client_key(ip)), ThrottleRule::LOGIN_IP));
    }
    keys
}

impl App {
    pub(crate) async fn audit_login_failure(&self, ctx: &Ctx, user: Option<&UserRow>, reason: &str) -> AppResult<()> {
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit {
                action: AuditAction::LoginFailed,
                org_id: None,
                target_kind: "user",
                target_id: user.map(|u| u.id.to_string()),
                details: json!({ "method": "password", "reason": reason }),
            },
        )
        .await?;
        tx.commit().await.map_err(AppError::from)
    }

    /// Opens a session (one sign-in) for `user_id`; `cookie_hash` when it backs a browser cookie.
    async fn open_session(
        &self,
        tx: &mut Tx,
        ctx: &Ctx,
        user_id: Uuid,
        cookie_hash: Option<Vec<u8>>,
        user_agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<SessionRow> {
        let session = self.new_session(ctx, user_id, cookie_hash, user_agent, now);
        store::insert_session(tx.ex(), &session).await?;
        Ok(session)
    }

    /// The row of a session opened now, not yet stored.
    pub(crate) fn new_session(
        &self,
        ctx: &Ctx,
        user_id: Uuid,
        cookie_hash: Option<Vec<u8>>,
        user_agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> SessionRow {
        SessionRow {
            id: Uuid::now_v7(),
            user_id,
            cookie_hash,
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.settings().auth.session_ttl,
            revoked_at: None,
            revoked_reason: None,
            ip: ctx.ip.map(|ip| ip.to_string()),
            user_agent: user_agent.map(|ua| ua.chars().take(256).collect()),
            mfa_level: 1,
            sso_connection_id: None,
            active_org_id: None,
            // Nothing proven: a session the backend opens for a user. A sign-in sets its own.
            amr: String::new(),
            mfa_org_id: None,
        }
    }

    async fn issue_refresh_token(&self, tx: &mut Tx, session_id: Uuid, now: DateTime<Utc>) -> AppResult<String> {
        let (token, row) = self.new_refresh_token(session_id, now);
        store::insert_refresh_token(tx.ex(), &row).await?;
        Ok(token)
    }

    /// A new refresh token for `session_id` and its row (holding only the token's hash), not yet
    /// stored.
    pub(crate) fn new_refresh_token(&self, session_id: Uuid, now: DateTime<Utc>) -> (String, RefreshTokenRow) {
        let (token, hash) = new_opaque_token();
        let row = RefreshTokenRow {
            id: Uuid::now_v7(),
            session_id,
            token_hash: hash,
            created_at: now,
            expires_at: now + self.settings().auth.refresh_ttl,
            used_at: None,
        };
        (token, row)
    }

    /// Signs an access token for `user` in `session` (the session's `active_org`, or another the
    /// caller selects); its `orgs` claim is read now, so it follows every membership change at
    /// the next refresh.
    pub(crate) async fn sign_access_token(
        &self,
        user: &UserRow,
        session: &SessionRow,
        active_org: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> AppResult<String> {
        let orgs = self.org_claims(user.id, active_org, session.mfa_org_id).await?;
        self.sign_with_claims(user.into(), session, orgs, now).await
    }

    /// Signs an access token whose `orgs` claim the caller has read. Its `amr` says how the
    /// session was signed in (`pwd`, `pwd otp`, `saml mfa`, …), as the session stores it.
    pub(crate) async fn sign_with_claims(
        &self,
        user: Subject<'_>,
        session: &SessionRow,
        orgs: OrgClaims,
        now: DateTime<Utc>,
    ) -> AppResult<String> {
        let session_id = session.id;
        let amr = session.amr.split_whitespace().map(str::to_owned).collect();
        let claims = AccessClaims {
            iss: self.settings().auth.issuer.clone(),
            sub: user.id.to_string(),
            aud: None,
            iat: now.timestamp(),
            nbf: None,
            exp: (now + self.settings().auth.access_ttl).timestamp(),
            jti: Uuid::now_v7().to_string(),
            sid: session_id.to_string(),
            email: user.email.to_owned(),
            email_verified: user.email_verified,
            orgs: orgs.orgs,
            active_org_id: orgs.active_org_id,
            orgs_truncated: orgs.truncated,
            amr,
        };
        let signer = self.signer(now).await?;
        Ok(signer.sign_access(&claims))
    }

    /// Exchanges a refresh token for new tokens. The presented token is spent; presenting a spent
    /// token again is treated as theft and ends the whole session (the token family).
    ///
    /// A live token is exchanged in one write ([`refresh::exchange_refresh_token`]), then the
    /// `orgs` claim is read (on PostgreSQL on the same connection): three round trips on
    /// PostgreSQL where a transaction of separate statements took ten (BENCHMARKS.md,
    /// "Profiles"). Only a refused token takes the slower path that works out why.
    pub async fn refresh(&self, ctx: &Ctx, refresh_token: &str) -> AppResult<Tokens> {
        let presented = hash_opaque_token(refresh_token);
        let now = self.clock().now();
        let (refresh_token, successor_hash) = new_opaque_token();
        let exchange = refresh::Exchange {
            token_hash: &presented,
            at: now,
            idle_cutoff: self.idle_cutoff(now),
            touch_before: now - SEEN_RESOLUTION,
            new_token_id: Uuid::now_v7(),
            new_token_hash: &successor_hash,
            new_token_expires_at: now + self.settings().auth.refresh_ttl,
        };
        // Read before the write: refreshing the cache may need a connection of its own.
        let roles = self.roles().await?;
        let mut write = self.db().one_write().await?;
        let Some(exchanged) = refresh::exchange_refresh_token(write.ex(), &exchange).await? else {
            drop(write);
            return Err(self.refused_refresh(ctx, &presented, now).await?);
        };
        let session = exchanged.session;
        let mut read = write.finish_for_reads(self.db()).await?;
        let orgs =
            self.org_claims_in(read.ex(), &roles, session.user_id, session.active_org_id, session.mfa_org_id).await?;
        drop(read);
        let subject = Subject {
            id: session.user_id,
            email: &exchanged.user_email,
            email_verified: exchanged.user_email_verified,
        };
        let access_token = self.sign_with_claims(subject, &session, orgs, now).await?;
        Ok(Tokens {
            access_token,
            expires_in: self.settings().auth.access_ttl.num_seconds(),
            refresh_token,
            session_id: session.id,
        })
    }

    /// Why a refresh token was refused, as the error to answer with. A token already spent ends
    /// its session, if still live, with an audit entry: someone holds a copy.
    async fn refused_refresh(&self, ctx: &Ctx, presented: &[u8], now: DateTime<Utc>) -> AppResult<AppError> {
        let invalid =
            DomainError::unauthenticated("invalid-refresh-token", "The refresh token is invalid, expired or revoked.");
        let mut tx = self.db().begin().await?;
        let Some(found) = store::lock_refresh_token_with_session(tx.ex(), presented).await? else {
            return Ok(invalid.into());
        };
        let session = found.session;
        if found.token_used_at.is_some() && session.revoked_at.is_none() {
            store::revoke_session(
                tx.ex(),
                UserId::from_uuid(session.user_id),
                SessionId::from_uuid(session.id),
                now,
                "refresh-token-reuse",
            )
            .await?;
            audit(
                &mut tx,
                ctx,
                now,
                Audit::user(
                    AuditAction::SessionRevoked,
                    session.user_id,
                    json!({ "session_id": session.id.to_string(), "reason": "refresh-token-reuse" }),
                ),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(invalid.into())
    }

    /// Selects the org the signed-in session acts in (the org switcher), or clears it, and hands
    /// out fresh tokens that say so. The user must be a member of the org.
    pub async fn set_active_org(&self, ctx: &Ctx, org_id: Option<tenantry_core::OrgId>) -> AppResult<Tokens> {
        let (user_id, session_id) = authz::require_session(ctx, "Only a signed-in user has an active organization.")?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let session = store::get_live_session(tx.ex(), session_id, now, self.idle_cutoff(now)).await?;
        let session = match session {
            Some(s) if s.user_id == user_id.as_uuid() => s,
            _ => return Err(invalid_token("session-ended")),
        };
        if let Some(org) = org_id {
            tenantry_store::members::get_member(tx.ex(), org, user_id)
                .await?
                .ok_or_else(crate::access::org_not_found)?;
        }
        store::set_active_org(tx.ex(), SessionId::from_uuid(session.id), org_id).await?;
        let user = users::get_user(tx.ex(), UserId::from_uuid(session.user_id))
            .await?
            .ok_or_else(|| invalid_token("session-ended"))?;
        let refresh_token = self.issue_refresh_token(&mut tx, session.id, now).await?;
        tx.commit().await?;
        let access_token = self.sign_access_token(&user, &session, org_id.map(|o| o.as_uuid()), now).await?;
        Ok(Tokens {
            access_token,
            expires_in: self.settings().auth.access_ttl.num_seconds(),
            refresh_token,
            session_id: session.id,
        })
    }

    /// An access token for the session the request is signed in with (the hosted pages' cookie),
    /// in the org it acts in: what a single-page app on an allowed origin asks for
    /// (`POST /api/v1/session/token`). No new session and no refresh token: the cookie is the
    /// session, and a token for it ends with it.
    pub async fn session_access_token(&self, ctx: &Ctx) -> AppResult<AccessToken> {
        let (user_id, session_id) = authz::require_session(ctx, "Only a signed-in session has an access token.")?;
        let ended = || -> AppError {
            DomainError::unauthenticated("session-ended", "The session has ended. Sign in again.").into()
        };
        let now = self.clock().now();
        let mut c = self.db().acquire().await?;
        let session = match store::get_live_session(c.ex(), session_id, now, self.idle_cutoff(now)).await? {
            Some(s) if s.user_id == user_id.as_uuid() => s,
            _ => return Err(ended()),
        };
        let user = users::get_user(c.ex(), user_id).await?.ok_or_else(ended)?;
        if user.disabled {
            return Err(ended());
        }
        drop(c);
        let access_token = self.sign_access_token(&user, &session, session.active_org_id, now).await?;
        Ok(AccessToken { access_token, expires_in: self.settings().auth.access_ttl.num_seconds() })
    }

    /// Sessions last seen at or before this moment have been idle too long.
    fn idle_cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.settings().auth.session_idle_ttl
    }

    /// Records that a live session was used: to the minute, which is enough for listings and
    /// the idle limit and spares a write on most requests.
    async fn seen(&self, ex: tenantry_store::Ex<'_>, session: &SessionRow, now: DateTime<Utc>) -> AppResult<()> {
        if now - session.last_seen_at >= SEEN_RESOLUTION {
            store::touch_session(ex, SessionId::from_uuid(session.id), now).await?;
        }
        Ok(())
    }

    /// The live session behind a hosted-pages cookie: not revoked, expired or idle too long, and
    /// its user not disabled.
    pub async fn session_by_cookie(&self, cookie_secret: &str) -> AppResult<Option<Session>> {
        let now = self.clock().now();
        let mut c = self.db().acquire().await?;
        let found =
            store::find_session_by_cookie(c.ex(), &hash_opaque_token(cookie_secret), now, self.idle_cutoff(now))
                .await?;
        if let Some(s) = &found {
            self.seen(c.ex(), s, now).await?;
        }
        Ok(found.map(Session::from))
    }

    /// Resolves an end-user access token to the context its user acts in, checking the session
    /// is live (so logout and revocation take effect before the token expires).
    pub async fn authenticate_access_token(&self, token: &str) -> AppResult<Ctx> {
        let (session, _) = self.access_token_session(token).await?;
        Ok(Ctx::signed_in(session.user_id, session.ctx()))
    }

    /// Validates an access token for a backend: signature, type, issuer, expiry, and that its
    /// session is still live (logout and revocation count before the token expires).
    pub async fn validate_access_token_live(&self, token: &str) -> AppResult<AccessClaims> {
        let (_, claims) = self.access_token_session(token).await?;
        Ok(claims)
    }

    async fn access_token_session(&self, token: &str) -> AppResult<(Session, AccessClaims)> {
        let claims = self.validate_access_token(token).await?;
        let (user_id, session_id) = match (claims.sub.parse::<Uuid>(), claims.sid.parse::<Uuid>()) {
            (Ok(u), Ok(s)) => (u, s),
            _ => return Err(invalid_token("token-malformed")),
        };
        let now = self.clock().now();
        let mut c = self.db().acquire().await?;
        match store::get_live_session(c.ex(), SessionId::from_uuid(session_id), now, self.idle_cutoff(now)).await? {
            Some(s) if s.user_id == user_id => {
                self.seen(c.ex(), &s, now).await?;
                Ok((Session::from(s), claims))
            }
            _ => Err(invalid_token("session-ended")),
        }
    }

    /// Verifies an access token's signature, type, issuer and expiry against the published keys.
    pub async fn validate_access_token(&self, token: &str) -> AppResult<AccessClaims> {
        let verifier = self.verifier().await?;
        let now = self.clock().now().timestamp();
        verifier.verify(token, now, &self.settings().auth.issuer).map_err(|e| invalid_token(e.code()))
    }

    /// Ends the session the acting user signed in with (logout), or all of theirs.
    pub async fn logout(&self, ctx: &Ctx, everywhere: bool) -> AppResult<()> {
        let (user_id, session_id) = authz::require_session(ctx, "Only a signed-in user can log out.")?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let n = if everywhere {
            store::revoke_user_sessions(tx.ex(), user_id, None, now, "logout-all").await?
        } else {
            store::revoke_session(tx.ex(), user_id, session_id, now, "logout").await?
        };
        audit(
            &mut tx,
            ctx,
            now,
            Audit::user(AuditAction::UserLoggedOut, user_id, json!({ "sessions_ended": n, "everywhere": everywhere })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user's live sessions: their own (end-user API) or anyone's (backend).
    pub async fn list_sessions(&self, ctx: &Ctx, user_id: UserId) -> AppResult<Vec<Session>> {
        authz::require_self_or_backend(&ctx.actor, user_id)?;
        let now = self.clock().now();
        let mut c = self.db().acquire().await?;
        let live = store::list_live_sessions(c.ex(), user_id, now, self.idle_cutoff(now)).await?;
        Ok(live.into_iter().map(Session::from).collect())
    }

    /// Ends one session (`Some`) or every session (`None`) of a user.
    pub async fn revoke_sessions(&self, ctx: &Ctx, user_id: UserId, session_id: Option<Uuid>) -> AppResult<u64> {
        authz::require_self_or_backend(&ctx.actor, user_id)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let n = match session_id {
            Some(id) => {
                let n = store::revoke_session(tx.ex(), user_id, SessionId::from_uuid(id), now, "revoked").await?;
                if n == 0 {
                    return Err(DomainError::not_found("session-not-found", "No live session has this id.").into());
                }
                n
            }
            None => store::revoke_user_sessions(tx.ex(), user_id, None, now, "revoked").await?,
        };
        audit(&mut tx, ctx, now, Audit::user(AuditAction::SessionRevoked, user_id, json!({ "sessions_ended": n })))
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Issues an access token for a user without a password (support tooling, tests): backend only.
    /// It belongs to a fresh session, so it can be revoked like any other.
    pub async fn create_access_token(&self, ctx: &Ctx, user_id: UserId) -> AppResult<Tokens> {
        authz::require_backend(&ctx.actor)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let user = users::get_user(tx.ex(), user_id)
            .await?
            .ok_or_else(|| DomainError::not_found("user-not-found", "No user has this id."))?;
        if user.disabled {
            return Err(DomainError::conflict("user-disabled", "This account is disabled.").into());
        }
        let session = self.open_session(&mut tx, ctx, user.id, None, None, now).await?;
        let session_id = session.id;
        let refresh_token = self.issue_refresh_token(&mut tx, session_id, now).await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit::user(AuditAction::AccessTokenCreated, user.id, json!({ "session_id": session_id.to_string() })),
        )
        .await?;
        tx.commit().await?;
        let access_token = self.sign_access_token(&user, &session, None, now).await?;
        Ok(Tokens {
            access_token,
            expires_in: self.settings().auth.access_ttl.num_seconds(),
            refresh_token,
            session_id,
        })
    }
}
