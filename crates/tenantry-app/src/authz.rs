//! Authorization: every rule about who may do what lives here, and every adapter goes through it.

use tenantry_core::{DomainError, SessionId, UserId};

use crate::{Actor, Ctx};

/// Deployment-wide administration (users, API keys): the backend API and the operator only.
pub fn require_backend(actor: &Actor) -> Result<(), DomainError> {
    match actor {
        Actor::ApiKey(_) | Actor::System => Ok(()),
        Actor::User(_) => Err(DomainError::forbidden("backend-only", "This action needs a backend API key.")),
        Actor::Anonymous => Err(DomainError::unauthenticated("unauthenticated", "Sign in first.")),
    }
}

/// A user acting on their own account, or the backend acting on anyone's.
pub fn require_self_or_backend(actor: &Actor, user_id: tenantry_core::UserId) -> Result<(), DomainError> {
    match actor {
        Actor::ApiKey(_) | Actor::System => Ok(()),
        Actor::User(me) if *me == user_id => Ok(()),
        // Never confirm that another user exists.
        Actor::User(_) => Err(DomainError::not_found("user-not-found", "No user has this id.")),
        Actor::Anonymous => Err(DomainError::unauthenticated("unauthenticated", "Sign in first.")),
    }
}

/// Changing a user's profile ([`crate::App::update_user`]): the backend any field of anyone's; a
/// user only their own first and last name (their email changes through the emailed confirmation,
/// and the username and properties are the SaaS's to set).
pub fn require_user_update(actor: &Actor, user_id: UserId, names_only: bool) -> Result<(), DomainError> {
    match actor {
        Actor::User(me) if *me == user_id && !names_only => {
            Err(DomainError::forbidden("backend-only", "Only the first and last name can be changed here."))
        }
        _ => require_self_or_backend(actor, user_id),
    }
}

/// A signed-in user acting through a session (end-user API, hosted pages): who, and which
/// session. `detail` says what needs one.
pub fn require_session(ctx: &Ctx, detail: &'static str) -> Result<(UserId, SessionId), DomainError> {
    match (ctx.actor, ctx.session) {
        (Actor::User(user_id), Some(session)) => Ok((user_id, session.id)),
        (Actor::Anonymous, _) => Err(DomainError::unauthenticated("unauthenticated", "Sign in first.")),
        _ => Err(DomainError::forbidden("user-only", detail)),
    }
}

/// Acting in an org at all: anyone but an anonymous caller. Whether a user may act in a given org
/// is their stored membership's (`App::org_access`), and what they may do there is the org rules'
/// (`tenantry_core::org`).
pub fn require_org_actor(actor: &Actor) -> Result<(), DomainError> {
    match actor {
        Actor::Anonymous => Err(DomainError::unauthenticated("unauthenticated", "Sign in first.")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantry_core::{ApiKeyId, UserId};

    #[test]
    fn users_act_only_on_themselves() {
        let me = UserId::new();
        assert!(require_self_or_backend(&Actor::User(me), me).is_ok());
        assert_eq!(require_self_or_backend(&Actor::User(me), UserId::new()).unwrap_err().code, "user-not-found");
        assert!(require_self_or_backend(&Actor::ApiKey(ApiKeyId::new()), me).is_ok());
        assert!(require_self_or_backend(&Actor::Anonymous, me).is_err());
    }

    #[test]
    fn session_use_cases_need_a_signed_in_session() {
        let me = UserId::new();
        let session = crate::SessionCtx { id: SessionId::new(), mfa_level: 1, mfa_org: None };
        assert_eq!(require_session(&Ctx::signed_in(me, session), "x").unwrap(), (me, session.id));
        let no_session = Ctx::new(Actor::User(me));
        assert_eq!(require_session(&no_session, "x").unwrap_err().code, "user-only");
        assert_eq!(require_session(&Ctx::new(Actor::ApiKey(ApiKeyId::new())), "x").unwrap_err().code, "user-only");
        assert_eq!(require_session(&Ctx::new(Actor::Anonymous), "x").unwrap_err().code, "unauthenticated");
    }

    #[test]
    fn users_change_only_their_own_names() {
        let me = UserId::new();
        assert!(require_user_update(&Actor::User(me), me, true).is_ok());
        assert_eq!(require_user_update(&Actor::User(me), me, false).unwrap_err().code, "backend-only");
        assert_eq!(require_user_update(&Actor::User(me), UserId::new(), true).unwrap_err().code, "user-not-found");
        assert!(require_user_update(&Actor::ApiKey(ApiKeyId::new()), me, false).is_ok());
        assert_eq!(require_user_update(&Actor::Anonymous, me, true).unwrap_err().code, "unauthenticated");
    }

    #[test]
    fn only_backend_actors_administer() {
        assert!(require_backend(&Actor::ApiKey(ApiKeyId::new())).is_ok());
        assert!(require_backend(&Actor::System).is_ok());
        assert_eq!(require_backend(&Actor::User(UserId::new())).unwrap_err().code, "backend-only");
    }
}
