//! Who is acting, from where, and small shapes shared by the use cases.

use std::net::IpAddr;

use tenantry_core::{ApiKeyId, OrgId, SessionId, UserId};

/// The principal behind a request, resolved by the adapter before any use case runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A backend API key: the SaaS developer's own backend.
    ApiKey(ApiKeyId),
    /// A signed-in end user.
    User(UserId),
    /// The operator at the command line (`tenantry api-key create`).
    System,
    /// Nobody signed in yet: signup, login, emailed links.
    Anonymous,
}

impl Actor {
    /// (kind, id) as written to the audit trail.
    pub fn audit_parts(&self) -> (&'static str, Option<String>) {
        match self {
            Actor::ApiKey(id) => ("api_key", Some(id.to_string())),
            Actor::User(id) => ("user", Some(id.to_string())),
            Actor::System => ("system", None),
            Actor::Anonymous => ("anonymous", None),
        }
    }
}

/// The session a signed-in user acts through, as the adapter's security scheme resolved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCtx {
    pub id: SessionId,
    /// How many distinct factors the sign-in proved: 1 for a password alone.
    pub mfa_level: i32,
    /// The org whose 2FA requirement the session meets through its IdP's MFA (an SSO sign-in
    /// through a connection that declares it).
    pub mfa_org: Option<OrgId>,
}

/// The acting context of one request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor: Actor,
    /// The session behind an [`Actor::User`] acting through the end-user API or the hosted
    /// pages; `None` for every other actor.
    pub session: Option<SessionCtx>,
    pub ip: Option<IpAddr>,
    pub request_id: Option<String>,
}

impl Ctx {
    pub fn new(actor: Actor) -> Ctx {
        Ctx { actor, session: None, ip: None, request_id: None }
    }

    /// A signed-in user acting through `session`.
    pub fn signed_in(user_id: UserId, session: SessionCtx) -> Ctx {
        Ctx { session: Some(session), ..Ctx::new(Actor::User(user_id)) }
    }
}

/// A page of a list, in id order; `next_cursor` is the last id when more may follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows: the extra row only says "there is more".
    pub(crate) fn from_overfetch(mut rows: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Page<T> {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(cursor_of) } else { None };
        Page { items: rows, next_cursor }
    }
}

/// A field of a partial update: absent (leave it), null (clear it), or a new value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}
