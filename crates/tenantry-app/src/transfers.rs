//! Ownership transfer (docs/design.md §4.8): an Owner names an active member; the transfer stays pending
//! until that Owner confirms from an emailed link (signed in as themselves); then the target
//! becomes Owner and the initiator the role below. One pending transfer per org; it can be
//! cancelled, and it expires.

use chrono::{DateTime, Utc};
use serde_json::json;
use tenantry_auth::{hash_opaque_token, new_opaque_token};
use tenantry_core::events::{AuditAction, EventType};
use tenantry_core::org::{
    check_transfer_confirmable, check_transfer_ownership, perm, require_permission, TransferState,
};
use tenantry_core::{DomainError, OrgId, TransferId, UserId};
use tenantry_store::invites::{self as store, TransferRow};
use tenantry_store::members::{self as member_store, MemberRow};
use tenantry_store::orgs as org_store;
use tenantry_store::{users, Tx};
use uuid::Uuid;

use crate::access::{member_view, org_not_found, Access, Lock};
use crate::accounts::human;
use crate::orgs::Org;
use crate::record::{audit, emit, Audit, Event};
use crate::{Actor, App, AppError, AppResult, Ctx};

/// A pending (or finished) ownership transfer.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub transfer_id: Uuid,
    pub org_id: OrgId,
    pub from_user_id: UserId,
    pub to_user_id: UserId,
    pub state: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<&TransferRow> for Transfer {
    fn from(t: &TransferRow) -> Transfer {
        Transfer {
            transfer_id: t.id,
            org_id: OrgId::from_uuid(t.org_id),
            from_user_id: UserId::from_uuid(t.from_user_id),
            to_user_id: UserId::from_uuid(t.to_user_id),
            state: t.state.as_str().to_owned(),
            expires_at: t.expires_at,
            created_at: t.created_at,
        }
    }
}

/// What the emailed confirmation link shows its owner before they confirm: the org, the member
/// who becomes owner, and the role the owner keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferDetails {
    pub org_id: OrgId,
    pub org_name: String,
    /// The new owner's name (or email when they have none) and email.
    pub to_name: String,
    pub to_email: String,
    /// The role the new owner gets.
    pub to_role: String,
    /// The role the confirming owner has afterwards.
    pub from_role: String,
    pub expires_at: DateTime<Utc>,
}

fn transfer_invalid() -> AppError {
    DomainError::not_found("transfer-invalid", "This confirmation link is not valid.").into()
}

fn membership_changed(m: &MemberRow, previous: &str) -> Event {
    Event {
        event_type: EventType::UserRoleChangedWithinOrg,
        object_id: m.id,
        object_version: m.version,
        org_id: Some(m.org_id),
        data: json!({
            "membership_id": m.id.to_string(),
            "org_id": m.org_id.to_string(),
            "user_id": m.user_id.to_string(),
            "role": m.role,
            "previous_role": previous,
            "additional_roles": m.additional_roles.0,
            "version": m.version,
        }),
    }
}

impl App {
    /// An Owner asks to hand ownership to `target`; a confirmation link goes to the Owner.
    pub async fn request_ownership_transfer(&self, ctx: &Ctx, org_id: OrgId, target: UserId) -> AppResult<Transfer> {
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        let Access::Member(me, my_row) = access else {
            return Err(DomainError::forbidden(
                "user-only",
                "An ownership transfer is confirmed by the owner from an emailed link; the backend changes roles instead.",
            )
            .into());
        };
        require_permission(&roles, tenantry_core::org::OrgActor::Member(&me), perm::ORG_TRANSFER_OWNERSHIP)?;
        let target_row =
            member_store::get_member(tx.ex(), OrgId::from_uuid(org.id), target).await?.ok_or_else(|| {
                DomainError::conflict("transfer-target-ineligible", "That user is not a member of this organization.")
            })?;
        let new_roles = check_transfer_ownership(&roles, &me, &member_view(&target_row)?)?;
        if let Some(pending) = store::find_pending_transfer(tx.ex(), OrgId::from_uuid(org.id)).await? {
            if pending.expires_at > now {
                return Err(DomainError::conflict(
                    "transfer-pending",
                    "An ownership transfer is already waiting for confirmation; cancel it first.",
                )
                .into());
            }
            store::finish_transfer(
                tx.ex(),
                OrgId::from_uuid(org.id),
                TransferId::from_uuid(pending.id),
                TransferState::Expired,
                now,
            )
            .await?;
        }
        let (token, token_hash) = new_opaque_token();
        let row = TransferRow {
            id: Uuid::now_v7(),
            org_id: org.id,
            from_user_id: my_row.user_id,
            to_user_id: target_row.user_id,
            token_hash,
            state: TransferState::Pending,
            expires_at: now + self.settings().orgs.transfer_ttl,
            created_at: now,
            updated_at: now,
        };
        store::insert_transfer(tx.ex(), &row).await?;
        let me_user = users::get_user(tx.ex(), UserId::from_uuid(my_row.user_id)).await?.ok_or_else(org_not_found)?;
        let target_user =
            users::get_user(tx.ex(), UserId::from_uuid(target_row.user_id)).await?.ok_or_else(org_not_found)?;
        let vars = json!({
            "link": self.link("/ownership-transfer/confirm", &token),
            "expires_in": human(self.settings().orgs.transfer_ttl),
            "org_name": org.name,
            "target": target_user.email,
            "new_role": new_roles.initiator.as_str(),
        });
        self.queue_mail(&mut tx, &me_user.email, "ownership_transfer", vars, now).await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit::member(
                AuditAction::OwnershipTransferRequested,
                org.id,
                target_row.user_id,
                json!({ "transfer_id": row.id.to_string() }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(Transfer::from(&row))
    }

    /// What confirming the transfer a link names would do, for the owner who started it, with
    /// the refusal confirming would meet now (expired, cancelled, used, a member gone). Reads
    /// only: [`App::confirm_ownership_transfer`] checks everything again.
    pub async fn transfer_details(&self, ctx: &Ctx, token: &str) -> AppResult<TransferDetails> {
        let Actor::User(me) = ctx.actor else {
            return Err(DomainError::unauthenticated("unauthenticated", "Sign in to confirm the transfer.").into());
        };
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut c = self.db().acquire().await?;
        let t = store::find_transfer_by_token(c.ex(), &hash_opaque_token(token)).await?.ok_or_else(transfer_invalid)?;
        if t.from_user_id != me.as_uuid() {
            return Err(transfer_invalid());
        }
        check_transfer_confirmable(t.state, t.expires_at, now)?;
        let org = org_store::get_org(c.ex(), OrgId::from_uuid(t.org_id)).await?.ok_or_else(transfer_invalid)?;
        let gone = |detail: &'static str| DomainError::conflict("transfer-target-ineligible", detail);
        let from = member_store::get_member(c.ex(), OrgId::from_uuid(t.org_id), UserId::from_uuid(t.from_user_id))
            .await?
            .ok_or_else(|| gone("You are no longer a member of this organization."))?;
        let to = member_store::get_member(c.ex(), OrgId::from_uuid(t.org_id), UserId::from_uuid(t.to_user_id))
            .await?
            .ok_or_else(|| gone("That member has left the organization."))?;
        let new_roles = check_transfer_ownership(&roles, &member_view(&from)?, &member_view(&to)?)?;
        let to_user = users::get_user(c.ex(), UserId::from_uuid(t.to_user_id)).await?.ok_or_else(transfer_invalid)?;
        let to_name = match (&to_user.first_name, &to_user.last_name) {
            (Some(f), Some(l)) => format!("{f} {l}"),
            (Some(f), None) => f.clone(),
            _ => to_user.email.clone(),
        };
        Ok(TransferDetails {
            org_id: OrgId::from_uuid(org.id),
            org_name: org.name,
            to_name,
            to_email: to_user.email,
            to_role: new_roles.target.as_str().to_owned(),
            from_role: new_roles.initiator.as_str().to_owned(),
            expires_at: t.expires_at,
        })
    }

    /// The initiating Owner confirms from the emailed link: roles swap, as checked again now.
    pub async fn confirm_ownership_transfer(&self, ctx: &Ctx, token: &str) -> AppResult<Transfer> {
        let Actor::User(me) = ctx.actor else {
            return Err(DomainError::unauthenticated("unauthenticated", "Sign in to confirm the transfer.").into());
        };
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let found =
            store::find_transfer_by_token(tx.ex(), &hash_opaque_token(token)).await?.ok_or_else(transfer_invalid)?;
        if found.from_user_id != me.as_uuid() {
            return Err(transfer_invalid());
        }
        let mut org =
            org_store::lock_org(tx.ex(), OrgId::from_uuid(found.org_id)).await?.ok_or_else(transfer_invalid)?;
        let transfer = store::find_transfer_by_token(tx.ex(), &found.token_hash).await?.ok_or_else(transfer_invalid)?;
        self.check_usable(&mut tx, &transfer, now).await?;
        let mut from =
            member_store::get_member(tx.ex(), OrgId::from_uuid(org.id), UserId::from_uuid(transfer.from_user_id))
                .await?
                .ok_or_else(|| {
                    DomainError::conflict(
                        "transfer-target-ineligible",
                        "You are no longer a member of this organization.",
                    )
                })?;
        let mut to =
            member_store::get_member(tx.ex(), OrgId::from_uuid(org.id), UserId::from_uuid(transfer.to_user_id))
                .await?
                .ok_or_else(|| {
                    DomainError::conflict("transfer-target-ineligible", "That member has left the organization.")
                })?;
        let new_roles = check_transfer_ownership(&roles, &member_view(&from)?, &member_view(&to)?)?;
        let (from_before, to_before) = (from.role.clone(), to.role.clone());
        to.role = new_roles.target.as_str().to_owned();
        from.role = new_roles.initiator.as_str().to_owned();
        for m in [&mut to, &mut from] {
            m.version += 1;
            m.updated_at = now;
            member_store::update_member(tx.ex(), m).await?;
        }
        if store::finish_transfer(
            tx.ex(),
            OrgId::from_uuid(org.id),
            TransferId::from_uuid(transfer.id),
            TransferState::Confirmed,
            now,
        )
        .await?
            == 0
        {
            return Err(transfer_invalid());
        }
        org.version += 1;
        org.updated_at = now;
        org_store::update_org(tx.ex(), &org).await?;
        let domains = org_store::list_org_domains(tx.ex(), OrgId::from_uuid(org.id)).await?;
        let org = Org::from_row(org, domains);
        let mut event = org.event(EventType::OrgOwnershipTransferred);
        event.data["from_user_id"] = json!(transfer.from_user_id.to_string());
        event.data["to_user_id"] = json!(transfer.to_user_id.to_string());
        emit(&mut tx, now, event).await?;
        emit(&mut tx, now, membership_changed(&to, &to_before)).await?;
        emit(&mut tx, now, membership_changed(&from, &from_before)).await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit::member(
                AuditAction::OwnershipTransferred,
                org.id.as_uuid(),
                transfer.to_user_id,
                json!({ "transfer_id": transfer.id.to_string(), "from_user_id": transfer.from_user_id.to_string() }),
            ),
        )
        .await?;
        tx.commit().await?;
        let mut done = Transfer::from(&transfer);
        done.state = TransferState::Confirmed.as_str().to_owned();
        Ok(done)
    }

    /// Refuses a transfer that can no longer be confirmed; a pending one refused has expired, and is
    /// marked so.
    async fn check_usable(&self, tx: &mut Tx, t: &TransferRow, now: DateTime<Utc>) -> AppResult<()> {
        let Err(refused) = check_transfer_confirmable(t.state, t.expires_at, now) else {
            return Ok(());
        };
        if t.state == TransferState::Pending {
            store::finish_transfer(
                tx.ex(),
                OrgId::from_uuid(t.org_id),
                TransferId::from_uuid(t.id),
                TransferState::Expired,
                now,
            )
            .await?;
        }
        Err(refused.into())
    }

    /// Cancels the org's pending transfer: any Owner (`org.transfer_ownership`) or the backend.
    pub async fn cancel_ownership_transfer(&self, ctx: &Ctx, org_id: OrgId) -> AppResult<()> {
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_TRANSFER_OWNERSHIP)?;
        let pending = store::find_pending_transfer(tx.ex(), OrgId::from_uuid(org.id)).await?.ok_or_else(|| {
            DomainError::not_found("transfer-not-found", "No ownership transfer is waiting for confirmation.")
        })?;
        store::finish_transfer(
            tx.ex(),
            OrgId::from_uuid(org.id),
            TransferId::from_uuid(pending.id),
            TransferState::Cancelled,
            now,
        )
        .await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit::member(
                AuditAction::OwnershipTransferCancelled,
                org.id,
                pending.to_user_id,
                json!({ "transfer_id": pending.id.to_string() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
