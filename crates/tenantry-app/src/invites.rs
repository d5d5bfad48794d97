//! Invitations (docs/design.md §4.2–4.4) and domain auto-join (§4.12).
//!
//! An invite carries a single-use token (256 random bits, emailed, stored as its SHA-256) that
//! expires after the deployment's invite lifetime. Resending replaces token and expiry; revoking
//! works on pending invites only. The invitee accepts or declines signed in as the invited
//! address; the seat check is repeated at acceptance inside the org's lock, so racing accepts
//! cannot overfill `max_users`.

use chrono::{DateTime, Utc};
use serde_json::json;
use tenantry_auth::{hash_opaque_token, new_opaque_token};
use tenantry_core::events::{AuditAction, EventType};
use tenantry_core::org::{
    check_grant_additional_roles, check_invite, check_invite_role, check_invite_usable, is_auto_join_eligible, perm,
    require_permission, DomainPolicy, InviteState, InviteeState, NewInvite,
};
use tenantry_core::{DomainError, Email, ErrorKind, InviteId, MaxUsers, OrgId, RoleConfig, UserId};
use tenantry_store::invites::{self as store, InviteQuery, InviteRow};
use tenantry_store::members as member_store;
use tenantry_store::orgs::{self as org_store, OrgRow};
use tenantry_store::users::{self, UserRow};
use tenantry_store::{Ex, Json, Tx};
use uuid::Uuid;

use crate::access::{Access, Lock};
use crate::accounts::human;
use crate::join::JoinVia;
use crate::members::{max_users, resolve_additional, PendingInvite};
use crate::orgs::Org;
use crate::record::{audit, emit, Audit, Event};
use crate::{Actor, App, AppError, AppResult, Ctx, Page};

/// The roles an actor may hand out in an org: what an invite (or a role change) may give, and the
/// additional roles they may grant. Computed from the same rules that decide: the role pickers of
/// the hosted pages and of a SaaS frontend offer nothing the use case would refuse on rank.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GrantableRoles {
    /// Hierarchy roles, highest first ([`check_invite_role`]); empty without `org.members.invite`.
    pub roles: Vec<String>,
    /// Additional roles whose every permission the actor holds ([`check_grant_additional_roles`]);
    /// empty without `org.members.invite` or `org.members.change_role`.
    pub additional_roles: Vec<String>,
}

/// Input of [`App::create_invite`].
#[derive(Debug, Clone, Default)]
pub struct CreateInvite {
    pub email: String,
    /// The lowest role when absent.
    pub role: Option<String>,
    pub additional_roles: Vec<String>,
}

/// What anyone holding an invite link may learn about it: nothing more. The address is the one
/// the link was mailed to (so that signing in or up with it can be offered).
#[derive(Debug, Clone, PartialEq)]
pub struct InviteDetails {
    pub org_name: String,
    pub inviter: String,
    pub role: String,
    pub email: String,
    pub expires_at: DateTime<Utc>,
    /// Whether the signed-in user may answer it (the invited address, not an isolated org's
    /// account); `None` when nobody is signed in. Accepting checks again.
    pub for_viewer: Option<bool>,
}

/// An invitation waiting for the signed-in user's answer, as their own list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct MyInvite {
    pub invite_id: InviteId,
    pub org_id: OrgId,
    pub org_name: String,
    pub inviter: String,
    pub role: String,
    pub expires_at: DateTime<Utc>,
}

/// How an answer names its invite: by the emailed link's token, or by id from the invitee's own
/// list (on the strength of their verified address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InviteKey<'a> {
    Token(&'a str),
    Id(InviteId),
}

/// How many invitations [`App::my_invites`] lists at most.
pub const MY_INVITES_MAX: u32 = 100;

fn invite_invalid() -> AppError {
    DomainError::not_found("invite-invalid", "This invitation link is not valid.").into()
}

/// Why a token names no invite: a resend replaced it (410 `invite-replaced`), or it never
/// named one (404 `invite-invalid`).
async fn no_invite(ex: Ex<'_>, token_hash: &[u8]) -> AppError {
    match store::is_replaced_invite_token(ex, token_hash).await {
        Ok(true) => DomainError::new(
            ErrorKind::Gone,
            "invite-replaced",
            "This invitation link was replaced by a newer one. Use the link in the latest invitation email.",
        )
        .into(),
        Ok(false) => invite_invalid(),
        Err(e) => e.into(),
    }
}

fn invite_not_found() -> AppError {
    DomainError::not_found("invite-not-found", "This organization has no such invitation.").into()
}

/// An id from the invitee's list that names no invitation to them: the same answer whether it
/// names nothing or someone else's.
fn not_your_invite() -> AppError {
    DomainError::not_found("invite-not-found", "You have no such invitation.").into()
}

/// Why a stored invite can no longer be used, if it cannot.
fn unusable(invite: &InviteRow, now: DateTime<Utc>) -> Option<AppError> {
    check_invite_usable(invite.state, invite.expires_at, now).err().map(AppError::from)
}

fn invite_event(event_type: EventType, i: &InviteRow) -> Event {
    Event {
        event_type,
        object_id: i.id,
        object_version: i.version,
        org_id: Some(i.org_id),
        data: json!({
            "invite_id": i.id.to_string(),
            "org_id": i.org_id.to_string(),
            "email": i.email,
            "role": i.role,
            "additional_roles": i.additional_roles.0,
            "state": i.state.as_str(),
            "expires_at": i.expires_at,
            "accepted_by": i.answered_by.map(|u| u.to_string()),
            "version": i.version,
        }),
    }
}

/// How an invite answer holds the org's row: shared (a decline, which changes no membership, goes
/// on beside others) or exclusive (an accept: every membership change of the org waits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrgLock {
    Shared,
    Exclusive,
}

impl App {
    /// Invites an address into an org (docs/design.md §4.2) and emails the link.
    pub async fn create_invite(&self, ctx: &Ctx, org_id: OrgId, input: CreateInvite) -> AppResult<PendingInvite> {
        let roles = self.roles().await?;
        let email = Email::parse(&input.email)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_MEMBERS_INVITE)?;
        let role = match &input.role {
            Some(r) => roles.resolve(r)?,
            None => roles.lowest_role().clone(),
        };
        let additional = resolve_additional(&roles, &input.additional_roles)?;
        check_grant_additional_roles(&roles, access.org_actor(), &additional, &[])?;
        let normalized = email.normalized();
        let mut invitee = InviteeState::Newcomer;
        if let Some(user) = users::find_user_by_email(tx.ex(), None, &normalized).await? {
            if member_store::get_member(tx.ex(), OrgId::from_uuid(org.id), UserId::from_uuid(user.id)).await?.is_some()
            {
                invitee = InviteeState::ActiveMember;
            }
        }
        if invitee == InviteeState::Newcomer {
            if let Some(mut pending) =
                store::find_pending_invite(tx.ex(), OrgId::from_uuid(org.id), &normalized).await?
            {
                if pending.expires_at > now {
                    invitee = InviteeState::PendingInvite;
                } else {
                    // An expired invite frees the address (and its seat) for a new one.
                    pending.state = InviteState::Expired;
                    pending.version += 1;
                    pending.updated_at = now;
                    store::update_invite(tx.ex(), &pending).await?;
                }
            }
        }
        // Domains matter only under restriction, live invites only under a seat limit.
        let domains = if org.domain_restrict { self.org_domains(&mut tx, org.id).await? } else { Vec::new() };
        let live = if org.max_users.is_some() {
            store::count_live_invites(tx.ex(), OrgId::from_uuid(org.id), now).await?
        } else {
            0
        };
        check_invite(
            &roles,
            access.org_actor(),
            &NewInvite {
                email: &email,
                role: &role,
                invitee,
                domains: DomainPolicy { domains: &domains, restrict_members: org.domain_restrict },
                max_users: max_users(&org),
                members: u64::try_from(org.member_count).unwrap_or(0),
                pending_invites: u64::try_from(live).unwrap_or(0),
            },
        )?;
        let (token, token_hash) = new_opaque_token();
        let invite = InviteRow {
            id: Uuid::now_v7(),
            org_id: org.id,
            email: email.as_str().to_owned(),
            email_normalized: normalized,
            role: role.as_str().to_owned(),
            additional_roles: Json(additional.iter().map(|r| r.as_str().to_owned()).collect()),
            invited_by: access.user_id(),
            token_hash,
            state: InviteState::Pending,
            expires_at: now + self.settings().orgs.invite_ttl,
            answered_by: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        store::insert_invite(tx.ex(), &invite).await?;
        self.mail_invite(&mut tx, &org, &access, &invite, &token, now).await?;
        emit(&mut tx, now, invite_event(EventType::OrgInvitationCreated, &invite)).await?;
        audit(&mut tx, ctx, now, invite_audit(AuditAction::InvitationCreated, &invite)).await?;
        if org.max_users.is_some() {
            let org_view = Org::from_row(org, Vec::new());
            self.emit_seat_events(&mut tx, &org_view, live + 1, now, false).await?;
        }
        tx.commit().await?;
        self.wake_mailer();
        Ok(PendingInvite::from(&invite))
    }

    async fn mail_invite(
        &self,
        tx: &mut Tx,
        org: &OrgRow,
        access: &Access,
        invite: &InviteRow,
        token: &str,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let inviter = match access.user_id() {
            Some(id) => match users::get_user(tx.ex(), UserId::from_uuid(id)).await? {
                Some(u) => display_name(&u),
                None => org.name.clone(),
            },
            None => format!("The {} team", org.name),
        };
        let vars = json!({
            "link": self.link("/invites/accept", token),
            "expires_in": human(self.settings().orgs.invite_ttl),
            "email": invite.email,
            "org_name": org.name,
            "inviter": inviter,
            "role": invite.role,
        });
        self.queue_mail(tx, &invite.email, "org_invite", vars, now).await
    }

    /// Refuses an actor who could not have sent this invite: inviting needs the permission, and
    /// an invite's role must not be above the actor's (owner invites only from owners).
    fn check_may_handle(roles: &RoleConfig, access: &Access, invite: &InviteRow) -> AppResult<()> {
        let role = roles.resolve(&invite.role)?;
        let email = Email::parse(&invite.email)?;
        check_invite(
            roles,
            access.org_actor(),
            &NewInvite {
                email: &email,
                role: &role,
                invitee: InviteeState::Newcomer,
                domains: DomainPolicy { domains: &[], restrict_members: false },
                max_users: MaxUsers::UNLIMITED,
                members: 0,
                pending_invites: 0,
            },
        )?;
        Ok(())
    }

    /// Sends a pending invite again with a new token and expiry; the old link dies (docs/design.md §4.4).
    pub async fn resend_invite(&self, ctx: &Ctx, org_id: OrgId, invite_id: Uuid) -> AppResult<PendingInvite> {
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_MEMBERS_INVITE)?;
        let mut invite = store::get_invite(tx.ex(), OrgId::from_uuid(org.id), InviteId::from_uuid(invite_id))
            .await?
            .ok_or_else(invite_not_found)?;
        if invite.state != InviteState::Pending {
            return Err(DomainError::conflict("invite-not-pending", "Only a pending invitation can be resent.").into());
        }
        Self::check_may_handle(&roles, &access, &invite)?;
        if invite.expires_at <= now {
            // It held no seat while expired; taking one again needs a free seat.
            let live = store::count_live_invites(tx.ex(), OrgId::from_uuid(org.id), now).await?;
            tenantry_core::org::check_seat_available(
                max_users(&org),
                u64::try_from(org.member_count).unwrap_or(0),
                u64::try_from(live).unwrap_or(0),
            )?;
        }
        let (token, token_hash) = new_opaque_token();
        store::insert_replaced_invite_token(tx.ex(), &invite.token_hash, InviteId::from_uuid(invite.id), now).await?;
        invite.token_hash = token_hash;
        invite.expires_at = now + self.settings().orgs.invite_ttl;
        invite.version += 1;
        invite.updated_at = now;
        store::update_invite(tx.ex(), &invite).await?;
        self.mail_invite(&mut tx, &org, &access, &invite, &token, now).await?;
        audit(&mut tx, ctx, now, invite_audit(AuditAction::InvitationResent, &invite)).await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(PendingInvite::from(&invite))
    }

    /// Revokes a pending invite (docs/design.md §4.4); an answered one cannot be revoked.
    pub async fn revoke_invite(&self, ctx: &Ctx, org_id: OrgId, invite_id: Uuid) -> AppResult<()> {
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_MEMBERS_INVITE)?;
        let mut invite = store::get_invite(tx.ex(), OrgId::from_uuid(org.id), InviteId::from_uuid(invite_id))
            .await?
            .ok_or_else(invite_not_found)?;
        if invite.state != InviteState::Pending {
            return Err(DomainError::conflict(
                "invite-not-pending",
                format!("This invitation is {} and can no longer be revoked.", invite.state),
            )
            .into());
        }
        Self::check_may_handle(&roles, &access, &invite)?;
        invite.state = InviteState::Revoked;
        invite.version += 1;
        invite.updated_at = now;
        store::update_invite(tx.ex(), &invite).await?;
        emit(&mut tx, now, invite_event(EventType::OrgInvitationRevoked, &invite)).await?;
        audit(&mut tx, ctx, now, invite_audit(AuditAction::InvitationRevoked, &invite)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One invite of an org, in any state (any member may see it, and the backend).
    pub async fn get_invite(&self, ctx: &Ctx, org_id: OrgId, invite_id: Uuid) -> AppResult<PendingInvite> {
        let roles = self.roles().await?;
        let mut c = self.db().acquire().await?;
        let (org, access) = self.org_access(c.ex(), ctx, org_id, Lock::None).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_VIEW)?;
        let row = store::get_invite(c.ex(), OrgId::from_uuid(org.id), InviteId::from_uuid(invite_id))
            .await?
            .ok_or_else(invite_not_found)?;
        Ok(PendingInvite::from(&row))
    }

    /// The roles the actor may grant in `org_id` (any member may ask, and the backend).
    pub async fn grantable_roles(&self, ctx: &Ctx, org_id: OrgId) -> AppResult<GrantableRoles> {
        let roles = self.roles().await?;
        let mut c = self.db().acquire().await?;
        let (_, access) = self.org_access(c.ex(), ctx, org_id, Lock::None).await?;
        let actor = access.org_actor();
        require_permission(&roles, actor, perm::ORG_VIEW)?;
        let hierarchy =
            roles.hierarchy().filter(|r| check_invite_role(&roles, actor, r).is_ok()).map(|r| r.as_str().to_owned());
        // Additional roles are granted by inviting or by changing a member's roles.
        let grants = [perm::ORG_MEMBERS_INVITE, perm::ORG_MEMBERS_CHANGE_ROLE]
            .iter()
            .any(|p| require_permission(&roles, actor, p).is_ok());
        let additional = roles
            .additional_roles()
            .filter(|_| grants)
            .filter(|r| check_grant_additional_roles(&roles, actor, std::slice::from_ref(*r), &[]).is_ok())
            .map(|r| r.as_str().to_owned());
        Ok(GrantableRoles { roles: hierarchy.collect(), additional_roles: additional.collect() })
    }

    /// An org's invites in id order, pending ones only unless `all_states`: any member may see them.
    pub async fn list_invites(
        &self,
        ctx: &Ctx,
        org_id: OrgId,
        all_states: bool,
        cursor: Option<Uuid>,
        limit: u32,
    ) -> AppResult<Page<PendingInvite>> {
        let roles = self.roles().await?;
        let limit = crate::paging::org_limit(limit);
        let now = self.clock().now();
        let mut c = self.db().acquire().await?;
        let (org, access) = self.org_access(c.ex(), ctx, org_id, Lock::None).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_VIEW)?;
        let rows = store::list_invites(
            c.ex(),
            OrgId::from_uuid(org.id),
            &InviteQuery {
                live_at: (!all_states).then_some(now),
                after: cursor,
                limit: limit + 1,
                ..InviteQuery::default()
            },
        )
        .await?;
        let items = rows.iter().map(PendingInvite::from).collect();
        Ok(Page::from_overfetch(items, limit, |i: &PendingInvite| i.invite_id.to_string()))
    }

    /// What an invite link shows before signing in: org name, inviter, role, address, expiry.
    pub async fn invite_details(&self, token: &str) -> AppResult<InviteDetails> {
        self.invite_details_as(&Ctx::new(Actor::Anonymous), token).await
    }

    /// [`App::invite_details`], saying too whether the signed-in user of `ctx` is the one who
    /// may answer it (the hosted page offers accepting, or switching accounts).
    pub async fn invite_details_as(&self, ctx: &Ctx, token: &str) -> AppResult<InviteDetails> {
        let now = self.clock().now();
        let mut c = self.db().acquire().await?;
        let token_hash = hash_opaque_token(token);
        let Some(invite) = store::find_invite_by_token(c.ex(), &token_hash).await? else {
            return Err(no_invite(c.ex(), &token_hash).await);
        };
        if let Some(e) = unusable(&invite, now) {
            return Err(e);
        }
        let org = org_store::get_org(c.ex(), OrgId::from_uuid(invite.org_id)).await?.ok_or_else(invite_invalid)?;
        let inviter = match invite.invited_by {
            Some(id) => users::get_user(c.ex(), UserId::from_uuid(id))
                .await?
                .map_or_else(|| org.name.clone(), |u| display_name(&u)),
            None => format!("The {} team", org.name),
        };
        let for_viewer = match ctx.actor {
            Actor::User(id) => Some(
                users::get_user(c.ex(), id)
                    .await?
                    .is_some_and(|u| u.pool_id.is_none() && u.email_normalized == invite.email_normalized),
            ),
            _ => None,
        };
        Ok(InviteDetails {
            org_name: org.name,
            inviter,
            role: invite.role,
            email: invite.email,
            expires_at: invite.expires_at,
            for_viewer,
        })
    }

    /// The signed-in user accepts an invite sent to their address (docs/design.md §4.3).
    ///
    /// The accept holds the org's row exclusively, as every membership change does. Sharing it
    /// (`FOR KEY SHARE`) and then bumping `member_count` would upgrade the lock, and on PostgreSQL
    /// an upgrade deadlocks with any transaction already waiting to lock the org for update (an
    /// invite, a rename): the waiter holds the row's place in the queue that the upgrade needs.
    pub async fn accept_invite(&self, ctx: &Ctx, token: &str) -> AppResult<crate::members::Member> {
        self.accept(ctx, InviteKey::Token(token)).await
    }

    /// The signed-in user accepts an invite from their own list ([`App::my_invites`]): the
    /// accept of [`App::accept_invite`], the invite named by id instead of the emailed token, for
    /// a user whose verified address it was sent to.
    pub async fn accept_my_invite(&self, ctx: &Ctx, invite_id: InviteId) -> AppResult<crate::members::Member> {
        self.accept(ctx, InviteKey::Id(invite_id)).await
    }

    async fn accept(&self, ctx: &Ctx, key: InviteKey<'_>) -> AppResult<crate::members::Member> {
        let (mut tx, org, mut invite, user, now) = self.answerable_invite(ctx, key, OrgLock::Exclusive).await?;
        let member = self.join_org(&mut tx, ctx, &org, &user, JoinVia::Invite(&mut invite), now).await?;
        tx.commit().await?;
        let roles = self.roles().await?;
        Ok(crate::members::Member::new(&roles, &member, user.email, user.first_name, user.last_name))
    }

    /// Marks an invite accepted by `user_id`, with its event and audit entry: the part of
    /// [`JoinVia::Invite`] that is the invite's own, written by [`App::join_org`] between the
    /// membership and the count.
    pub(crate) async fn mark_invite_accepted(
        &self,
        tx: &mut Tx,
        ctx: &Ctx,
        invite: &mut InviteRow,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        invite.state = InviteState::Accepted;
        invite.answered_by = Some(user_id);
        invite.version += 1;
        invite.updated_at = now;
        if store::update_invite(tx.ex(), invite).await? == 0 {
            return Err(invite_invalid());
        }
        emit(tx, now, invite_event(EventType::OrgInvitationAccepted, invite)).await?;
        audit(tx, ctx, now, invite_audit(AuditAction::InvitationAccepted, invite)).await
    }

    /// The signed-in user declines an invite sent to their address.
    pub async fn decline_invite(&self, ctx: &Ctx, token: &str) -> AppResult<()> {
        self.decline(ctx, InviteKey::Token(token)).await
    }

    /// The signed-in user declines an invite from their own list (see [`App::accept_my_invite`]).
    pub async fn decline_my_invite(&self, ctx: &Ctx, invite_id: InviteId) -> AppResult<()> {
        self.decline(ctx, InviteKey::Id(invite_id)).await
    }

    async fn decline(&self, ctx: &Ctx, key: InviteKey<'_>) -> AppResult<()> {
        let (mut tx, _, mut invite, user, now) = self.answerable_invite(ctx, key, OrgLock::Shared).await?;
        invite.state = InviteState::Declined;
        invite.answered_by = Some(user.id);
        invite.version += 1;
        invite.updated_at = now;
        store::update_invite(tx.ex(), &invite).await?;
        audit(&mut tx, ctx, now, invite_audit(AuditAction::InvitationDeclined, &invite)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Opens the transaction of an answer: the invite's org and the invite by token or id (both
    /// locked, in that order), still pending and unexpired, and the signed-in user, who must be the
    /// invited address. By id (no emailed token proves the mailbox), that address must be
    /// verified, and an invite to anyone else is "not found", whatever its state.
    ///
    /// The org is locked before the invite, in the order every other invite change takes (create,
    /// resend and revoke lock the org, then write the invite): locking the invite first would let
    /// an accept and a revoke of the same invite deadlock on PostgreSQL.
    async fn answerable_invite(
        &self,
        ctx: &Ctx,
        key: InviteKey<'_>,
        lock: OrgLock,
    ) -> AppResult<(Tx, OrgRow, InviteRow, tenantry_store::users::UserRow, DateTime<Utc>)> {
        let user_id = match ctx.actor {
            Actor::User(id) => id,
            Actor::Anonymous => {
                return Err(DomainError::unauthenticated(
                    "unauthenticated",
                    "Sign in (or sign up) with the invited address to answer the invitation.",
                )
                .into())
            }
            _ => {
                return Err(
                    DomainError::forbidden("user-only", "Only the invited user can answer an invitation.").into()
                )
            }
        };
        let now = self.clock().now();
        let token_hash = match key {
            InviteKey::Token(token) => hash_opaque_token(token),
            InviteKey::Id(_) => Vec::new(),
        };
        let mut tx = self.db().begin().await?;
        let found = match key {
            InviteKey::Token(_) => match store::find_invite_by_token(tx.ex(), &token_hash).await? {
                Some(found) => found,
                None => return Err(no_invite(tx.ex(), &token_hash).await),
            },
            InviteKey::Id(id) => store::find_invite_by_id(tx.ex(), id).await?.ok_or_else(not_your_invite)?,
        };
        let org = match lock {
            OrgLock::Shared => org_store::share_org(tx.ex(), OrgId::from_uuid(found.org_id)).await?,
            OrgLock::Exclusive => org_store::lock_org(tx.ex(), OrgId::from_uuid(found.org_id)).await?,
        }
        .ok_or_else(invite_invalid)?;
        let invite = match key {
            // A resend that committed while this waited for the org's lock replaced the token.
            InviteKey::Token(_) => match store::lock_invite_by_token(tx.ex(), &token_hash).await? {
                Some(invite) => invite,
                None => return Err(no_invite(tx.ex(), &token_hash).await),
            },
            InviteKey::Id(id) => {
                store::lock_invite(tx.ex(), OrgId::from_uuid(org.id), id).await?.ok_or_else(not_your_invite)?
            }
        };
        let user = users::get_user(tx.ex(), user_id).await?.ok_or_else(invite_invalid)?;
        if let InviteKey::Id(_) = key {
            if user.pool_id.is_some() || user.email_normalized != invite.email_normalized {
                return Err(not_your_invite());
            }
            if !user.email_verified {
                return Err(DomainError::forbidden(
                    "email-not-verified",
                    "Confirm your email address before answering an invitation without its emailed link.",
                )
                .into());
            }
        }
        if let Some(e) = unusable(&invite, now) {
            return Err(e);
        }
        if user.pool_id.is_some() || user.email_normalized != invite.email_normalized {
            return Err(DomainError::forbidden(
                "invite-wrong-account",
                "This invitation was sent to another address. Sign in with the invited address to answer it.",
            )
            .into());
        }
        Ok((tx, org, invite, user, now))
    }

    /// The pending, unexpired invitations addressed to the signed-in user's verified email, across
    /// orgs, oldest first (at most [`MY_INVITES_MAX`]). An unverified address, or an account of an
    /// isolated org's pool, has none: such a user answers only with the emailed link.
    pub async fn my_invites(&self, ctx: &Ctx) -> AppResult<Vec<MyInvite>> {
        let Actor::User(user_id) = ctx.actor else {
            return Err(DomainError::forbidden("user-only", "Only a signed-in user has invitations.").into());
        };
        let now = self.clock().now();
        let mut c = self.db().acquire().await?;
        let user = users::get_user(c.ex(), user_id)
            .await?
            .ok_or_else(|| AppError::from(DomainError::unauthenticated("session-ended", "Sign in again.")))?;
        if !user.email_verified || user.pool_id.is_some() {
            return Ok(Vec::new());
        }
        let rows = store::list_live_invites_to(c.ex(), &user.email_normalized, now, MY_INVITES_MAX).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let inviter = match (r.invited_by, r.inviter_first_name, r.inviter_last_name, r.inviter_email) {
                    (Some(_), Some(f), Some(l), _) => format!("{f} {l}"),
                    (Some(_), Some(f), None, _) => f,
                    (Some(_), None, _, Some(email)) => email,
                    _ => format!("The {} team", r.org_name),
                };
                MyInvite {
                    invite_id: InviteId::from_uuid(r.id),
                    org_id: OrgId::from_uuid(r.org_id),
                    org_name: r.org_name,
                    inviter,
                    role: r.role,
                    expires_at: r.expires_at,
                }
            })
            .collect())
    }

    /// Domain auto-join (docs/design.md §4.12): a user with a verified email at an org's auto-join domain
    /// joins it at the lowest role ([`JoinVia::DomainAutoJoin`]), if a seat is free and the user
    /// may join; otherwise nothing happens. Called on signup, email verification and sign-in.
    pub(crate) async fn auto_join(&self, ctx: &Ctx, user_id: UserId) -> AppResult<Option<OrgId>> {
        // Nearly every sign-in has nothing to join: find that out with reads, before taking the
        // writer lock (SQLite) or opening a transaction.
        {
            let mut c = self.db().acquire().await?;
            let Some(user) = users::get_user(c.ex(), user_id).await? else {
                return Ok(None);
            };
            if !may_auto_join(c.ex(), &user).await? {
                return Ok(None);
            }
        }
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let Some(user) = users::get_user(tx.ex(), user_id).await? else {
            return Ok(None);
        };
        let Ok(email) = Email::parse(&user.email) else {
            return Ok(None);
        };
        let Some(candidate) = org_store::find_auto_join_org(tx.ex(), &email.domain()).await? else {
            return Ok(None);
        };
        let Some(org) = org_store::lock_org(tx.ex(), OrgId::from_uuid(candidate.id)).await? else {
            return Ok(None);
        };
        let domains = self.org_domains(&mut tx, org.id).await?;
        if !org.domain_auto_join || !is_auto_join_eligible(&email, user.email_verified, &domains) {
            return Ok(None);
        }
        // Already a member, isolated, disabled, restricted out, at the org limit, or no free
        // seat: a refusal is no error here, the user simply does not join.
        let via = JoinVia::DomainAutoJoin { role: roles.lowest_role().clone() };
        match self.join_org(&mut tx, ctx, &org, &user, via, now).await {
            Ok(_) => {}
            Err(AppError::Domain(_)) => return Ok(None),
            Err(e) => return Err(e),
        }
        tx.commit().await?;
        Ok(Some(OrgId::from_uuid(org.id)))
    }
}

fn display_name(u: &tenantry_store::users::UserRow) -> String {
    match (&u.first_name, &u.last_name) {
        (Some(f), Some(l)) => format!("{f} {l}"),
        (Some(f), None) => f.clone(),
        _ => u.email.clone(),
    }
}

fn invite_audit(action: AuditAction, i: &InviteRow) -> Audit {
    Audit {
        action,
        org_id: Some(i.org_id),
        target_kind: "invite",
        target_id: Some(i.id.to_string()),
        details: json!({ "email": i.email, "role": i.role }),
    }
}

/// Whether an org might take `user` in by domain auto-join: a read, so that the sign-ins with
/// nothing to join (nearly all) need no write transaction for it. [`App::auto_join`] decides.
async fn may_auto_join(ex: Ex<'_>, user: &UserRow) -> AppResult<bool> {
    let Ok(email) = Email::parse(&user.email) else {
        return Ok(false);
    };
    Ok(user.email_verified && org_store::find_auto_join_org(ex, &email.domain()).await?.is_some())
}
