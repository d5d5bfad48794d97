//! Signing in, as steps. A person takes one [`SignInStep`] at a time; each answers with where the
//! sign-in stands ([`SignInState`]). A step that proves a factor yields a [`Proven`] person, and
//! [`App::complete_sign_in`] opens the session once every required factor is proven, recording
//! how ([`AuthMethod`]) and at which MFA level.
//!
//! Today there is one step, the password, and it completes the sign-in. A second factor adds a
//! step (and a state that asks for it) and single sign-on adds another that ends in the same
//! [`App::complete_sign_in`]: neither copies the password step.

use serde_json::json;
use tenantry_auth::{new_opaque_token, PasswordVerdict};
use tenantry_core::events::AuditAction;
use tenantry_core::{DomainError, Email, UserId};
use tenantry_store::sign_in::{self as store, SignInWrite};
use tenantry_store::users::{self, UserRow};

use crate::claims::OrgClaims;
use crate::mfa::SecondFactor;
use crate::record::{audit_row, Audit};
use crate::sessions::{bad_credentials, count_attempts, login_keys, SignedIn, Tokens};
use crate::users::User;
use crate::{Actor, App, AppError, AppResult, Ctx};

/// One step a person takes to sign in.
#[derive(Debug, Clone, Copy)]
pub enum SignInStep<'a> {
    /// Email and password: the first factor.
    Password { email: &'a str, password: &'a str },
    /// A SAML response the ACS verified and resolved to a person ([`crate::sso`]).
    Saml { proof: &'a crate::sso::SamlProof },
    /// A code from the authenticator app, for the pending sign-in a first factor opened.
    Totp { pending: &'a str, code: &'a str },
    /// One of the user's single-use backup codes, for the pending sign-in a first factor opened.
    BackupCode { pending: &'a str, code: &'a str },
    /// The emailed verification link of a new account: following it proves the address, and the
    /// hosted page it opens signs the person in (ARCHITECTURE.md, `tenantry-pages`).
    VerificationLink { token: &'a str },
}

/// Where a sign-in stands after a step.
#[derive(Debug, Clone)]
pub enum SignInState {
    /// Every required factor is proven and the session is open.
    Complete(Box<SignedIn>),
    /// The first factor is proven and the user has 2FA: a code must follow, with this token, within
    /// `expires_in` seconds ([`SignInStep::Totp`] or [`SignInStep::BackupCode`]). Not a session.
    SecondFactor { pending_token: String, expires_in: i64 },
}

/// How a person proved who they are: the `amr` values of RFC 8176 that sessions and tokens
/// record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// A password (`pwd`).
    Password,
    /// Single sign-on through an org's SAML connection (`saml`).
    Saml { connection: tenantry_core::SsoConnectionId },
    /// The connection's IdP enforces MFA (`mfa`): with [`AuthMethod::Saml`], a second factor,
    /// for the connection's org.
    IdpMfa { org: tenantry_core::OrgId },
    /// A TOTP code from an authenticator app (`otp`).
    Otp,
    /// A single-use backup code (`otp` too: RFC 8176 has no value of its own for it).
    BackupCode,
    /// An emailed single-use link (`email`; RFC 8176 names no value for it).
    EmailLink,
}

impl AuthMethod {
    /// The `amr` value, and the `method` written to the audit trail.
    pub fn amr(self) -> &'static str {
        match self {
            AuthMethod::Password => "pwd",
            AuthMethod::Saml { .. } => "saml",
            AuthMethod::IdpMfa { .. } => "mfa",
            AuthMethod::Otp | AuthMethod::BackupCode => "otp",
            AuthMethod::EmailLink => "email",
        }
    }

    /// The audit trail's word for it.
    fn audit_name(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Saml { .. } => "saml",
            AuthMethod::IdpMfa { .. } => "idp-mfa",
            AuthMethod::Otp => "totp",
            AuthMethod::BackupCode => "backup-code",
            AuthMethod::EmailLink => "email-link",
        }
    }
}

/// The MFA level of a session proven by `methods`: the number of distinct factors, at least 1.
pub fn mfa_level(methods: &[AuthMethod]) -> i32 {
    let distinct = amr(methods).split_whitespace().count();
    i32::try_from(distinct).unwrap_or(i32::MAX).max(1)
}

/// The session's `amr`: each method's value once, in the order proven, space-separated.
pub fn amr(methods: &[AuthMethod]) -> String {
    let mut values: Vec<&str> = Vec::with_capacity(methods.len());
    for m in methods {
        if !values.contains(&m.amr()) {
            values.push(m.amr());
        }
    }
    values.join(" ")
}

/// A person whose factors are proven, before their session opens; what the last step read and
/// what the session write must settle.
pub(crate) struct Proven {
    pub(crate) user: UserRow,
    pub(crate) methods: Vec<AuthMethod>,
    /// A new hash of the password, when the stored one used older parameters.
    pub(crate) rehash: Option<String>,
    /// The throttle keys the proof counted against: the account's is cleared, the address's
    /// attempt forgiven.
    pub(crate) throttle_keys: Vec<String>,
    /// The token's `orgs` claim as the memberships stood before the proof.
    pub(crate) claims: OrgClaims,
    /// Whether domain auto-join might apply: then it runs once the session is open.
    pub(crate) may_auto_join: bool,
    /// Whether the user has 2FA, when the proof read it already.
    pub(crate) has_mfa: Option<bool>,
}

/// What the password step reads about a known, enabled user before the hash, with the attempt
/// counted: what the rest of the sign-in decides on, so that nothing after the hash reads again.
struct Known {
    claims: OrgClaims,
    may_auto_join: bool,
    must_use_sso: bool,
    has_mfa: bool,
}

impl App {
    /// Takes one step of a sign-in.
    pub async fn sign_in(&self, ctx: &Ctx, step: SignInStep<'_>, user_agent: Option<&str>) -> AppResult<SignInState> {
        let proven = match step {
            SignInStep::Password { email, password } => self.prove_password(ctx, email, password).await?,
            SignInStep::Saml { proof } => self.prove_saml(ctx, proof).await?,
            SignInStep::Totp { pending, code } => {
                self.prove_second_factor(ctx, pending, code, SecondFactor::Totp).await?
            }
            SignInStep::BackupCode { pending, code } => {
                self.prove_second_factor(ctx, pending, code, SecondFactor::BackupCode).await?
            }
            SignInStep::VerificationLink { token } => self.prove_verification_link(ctx, token).await?,
        };
        // A first factor alone, for a user with 2FA: a code must follow.
        if proven.methods.len() == 1 {
            if let Some((pending_token, expires_in)) = self.start_second_factor(&proven).await? {
                return Ok(SignInState::SecondFactor { pending_token, expires_in });
            }
        }
        let signed_in = self.complete_sign_in(ctx, proven, user_agent).await?;
        Ok(SignInState::Complete(Box::new(signed_in)))
    }

    /// The password step. Unknown emails and wrong passwords take the same time and get the same
    /// answer; so does a disabled account, whether its password was right or not.
    ///
    /// Before the hash, in one transaction, the attempt is counted (it must be, before the
    /// password is checked) and the user read, with what their token will say. A sign-in is the
    /// request users repeat most and the hash takes nearly all of its time, so the rest is kept
    /// to as few round trips as it can be.
    async fn prove_password(&self, ctx: &Ctx, email: &str, password: &str) -> AppResult<Proven> {
        let email = Email::parse(email).map_err(|_| bad_credentials())?;
        if password.chars().count() > self.settings().password_policy.max_chars {
            return Err(bad_credentials());
        }
        let keys = login_keys(&email.normalized(), ctx.ip);
        // Before any connection is held: reading the roles may need one of its own.
        let roles = self.roles().await?;
        let (user, known) = {
            let mut tx = self.db().begin().await?;
            count_attempts(&mut tx, &keys, self.clock().now()).await?;
            let found = users::find_user_for_sign_in(tx.ex(), &email.normalized(), &email.domain()).await?;
            let known = match &found {
                Some(f) if !f.user.disabled => Some(Known {
                    claims: self.org_claims_in(tx.ex(), &roles, f.user.id, None, None).await?,
                    may_auto_join: f.user.email_verified && f.domain_auto_join,
                    must_use_sso: f.must_use_sso,
                    has_mfa: f.has_mfa,
                }),
                _ => None,
            };
            tx.commit().await?;
            (found.map(|f| f.user), known)
        };
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let verdict =
            self.hasher.verify(password.to_owned(), stored).await.map_err(|e| AppError::Internal(e.to_string()))?;
        let (user, rehash) = match (user, verdict) {
            (Some(u), PasswordVerdict::Match) => (u, None),
            (Some(u), PasswordVerdict::MatchRehashed(h)) => (u, Some(h)),
            (user, _) => {
                self.audit_login_failure(ctx, user.as_ref(), "bad-credentials").await?;
                return Err(bad_credentials());
            }
        };
        // The answer must not confirm a guess, so a disabled account gets the wrong password's.
        let Some(known) = known.filter(|_| !user.disabled) else {
            self.audit_login_failure(ctx, Some(&user), "disabled").await?;
            return Err(bad_credentials());
        };
        // A member of an org that requires SSO (or an isolated one) signs in only through it;
        // said only to whoever knows the password.
        if known.must_use_sso {
            self.audit_login_failure(ctx, Some(&user), "sso-required").await?;
            return Err(
                DomainError::forbidden("sso-required", "Your organization signs you in through its SSO.").into()
            );
        }
        Ok(Proven {
            user,
            methods: vec![AuthMethod::Password],
            rehash,
            throttle_keys: keys.into_iter().map(|(key, _)| key).collect(),
            claims: known.claims,
            may_auto_join: known.may_auto_join,
            has_mfa: Some(known.has_mfa),
        })
    }

    /// The verification-link step: the link is spent (the address verified, with its event and
    /// audit entry, and domain auto-join) and proves the person. A disabled account gets the
    /// answer of a wrong password.
    async fn prove_verification_link(&self, ctx: &Ctx, token: &str) -> AppResult<Proven> {
        let verified = self.verify_email(ctx, token).await?;
        let roles = self.roles().await?;
        let mut c = self.db().acquire().await?;
        let user = users::get_user(c.ex(), verified.id).await?.ok_or_else(bad_credentials)?;
        if user.disabled {
            return Err(bad_credentials());
        }
        let claims = self.org_claims_in(c.ex(), &roles, user.id, None, None).await?;
        drop(c);
        Ok(Proven {
            throttle_keys: login_keys(&user.email, ctx.ip).into_iter().map(|(key, _)| key).collect(),
            user,
            methods: vec![AuthMethod::EmailLink],
            rehash: None,
            claims,
            may_auto_join: false,
            has_mfa: None,
        })
    }

    /// Opens the session of a proven person: user, session, refresh token, audit entry and the
    /// settled throttles in one store call, then the tokens.
    pub(crate) async fn complete_sign_in(
        &self,
        ctx: &Ctx,
        proven: Proven,
        user_agent: Option<&str>,
    ) -> AppResult<SignedIn> {
        let Proven { user, methods, rehash, throttle_keys, claims, may_auto_join, .. } = proven;
        let now = self.clock().now();
        let (cookie_secret, cookie_hash) = new_opaque_token();
        let mut session = self.new_session(ctx, user.id, Some(cookie_hash), user_agent, now);
        session.mfa_level = mfa_level(&methods);
        session.sso_connection_id = methods.iter().find_map(|m| match m {
            AuthMethod::Saml { connection } => Some(connection.as_uuid()),
            _ => None,
        });
        session.mfa_org_id = methods.iter().find_map(|m| match m {
            AuthMethod::IdpMfa { org } => Some(org.as_uuid()),
            _ => None,
        });
        session.amr = amr(&methods);
        let (refresh_token, refresh_row) = self.new_refresh_token(session.id, now);
        let method = methods.iter().map(|m| m.audit_name()).collect::<Vec<_>>().join("+");
        let method = if method.is_empty() { "password".to_owned() } else { method };
        let audit_row = audit_row(
            &Ctx { actor: Actor::User(UserId::from_uuid(user.id)), ..ctx.clone() },
            now,
            Audit::user(
                AuditAction::UserLoggedIn,
                user.id,
                json!({ "method": method, "session_id": session.id.to_string() }),
            ),
        );
        let [account_key, ip_key @ ..] = throttle_keys.as_slice() else {
            return Err(AppError::Internal("a sign-in has no account throttle".into()));
        };
        let write = SignInWrite {
            user_id: user.id,
            at: now,
            rehash: rehash.as_deref(),
            clear_throttle: account_key,
            forgive_throttle: ip_key.first().map(String::as_str),
            session: &session,
            refresh_token: &refresh_row,
            audit: &audit_row,
        };
        // The user deleted while the proof was checked: as if it were unknown.
        let row = store::record_sign_in(self.db(), &write).await?.ok_or_else(bad_credentials)?;
        let user_id = UserId::from_uuid(row.id);
        // Sign-in is one of the moments a verified address joins its domain's org; the token
        // then lists the org it joined.
        let mut claims = claims;
        if may_auto_join && self.auto_join(ctx, user_id).await?.is_some() {
            claims = self.org_claims(row.id, None, session.mfa_org_id).await?;
        }
        let needs_org = self.settings().orgs.require_membership && {
            let mut c = self.db().acquire().await?;
            tenantry_store::orgs::count_orgs_of_user(c.ex(), UserId::from_uuid(row.id)).await? == 0
        };
        let access_token = self.sign_with_claims((&row).into(), &session, claims, now).await?;
        Ok(SignedIn {
            tokens: Tokens {
                access_token,
                expires_in: self.settings().auth.access_ttl.num_seconds(),
                refresh_token,
                session_id: session.id,
            },
            cookie_secret,
            user: User::from(row),
            needs_org,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mfa_level_counts_the_proven_factors() {
        assert_eq!(mfa_level(&[]), 1, "a session never has less than one");
        assert_eq!(mfa_level(&[AuthMethod::Password]), 1);
        assert_eq!(mfa_level(&[AuthMethod::Password, AuthMethod::Password]), 1, "one factor, proven twice");
        let connection = tenantry_core::SsoConnectionId::new();
        let org = tenantry_core::OrgId::new();
        assert_eq!(mfa_level(&[AuthMethod::Saml { connection }]), 1);
        assert_eq!(mfa_level(&[AuthMethod::Saml { connection }, AuthMethod::IdpMfa { org }]), 2);
    }

    #[test]
    fn amr_lists_each_method_once_in_the_order_proven() {
        let connection = tenantry_core::SsoConnectionId::new();
        let org = tenantry_core::OrgId::new();
        assert_eq!(amr(&[]), "", "a session the backend opened proved nothing");
        assert_eq!(amr(&[AuthMethod::Password]), "pwd");
        assert_eq!(amr(&[AuthMethod::Password, AuthMethod::Otp]), "pwd otp");
        assert_eq!(amr(&[AuthMethod::Password, AuthMethod::BackupCode]), "pwd otp");
        assert_eq!(amr(&[AuthMethod::EmailLink]), "email");
        assert_eq!(amr(&[AuthMethod::EmailLink, AuthMethod::Otp]), "email otp");
        assert_eq!(amr(&[AuthMethod::Saml { connection }, AuthMethod::IdpMfa { org }]), "saml mfa");
    }

    #[test]
    fn methods_have_their_rfc_8176_names() {
        assert_eq!(AuthMethod::Password.amr(), "pwd");
        assert_eq!(AuthMethod::Otp.amr(), "otp");
        assert_eq!(AuthMethod::BackupCode.amr(), "otp");
        assert_eq!(mfa_level(&[AuthMethod::Password, AuthMethod::Otp]), 2);
        assert_eq!(mfa_level(&[AuthMethod::Password, AuthMethod::BackupCode]), 2);
    }
}
