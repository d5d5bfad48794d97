//! Organizations (docs/design.md §4): the org model and its use cases: create, read, query, update,
//! metadata, domains, delete, and the audit trail.
//!
//! Every use case resolves the actor against the org *as stored now* ([`App::org_access`] in
//! `access.rs`): a demoted admin's next call is refused even while their access token still lists
//! the old role. What tokens say about a user's orgs is `claims.rs`. Members (`members.rs`),
//! invitations (`invites.rs`) and ownership transfers (`transfers.rs`) build on the helpers here.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use tenantry_core::events::{AuditAction, EventType};
use tenantry_core::org::{
    check_delete_org, check_domain_claim, check_metadata_size, perm, require_permission, DomainClaimant, MemberStatus,
    MemberView,
};
use tenantry_core::{Domain, DomainError, Email, MaxUsers, OrgId, OrgName, RoleConfig, Slug, UserId};
use tenantry_store::audit::{list_audit_for_org, AuditRow};
use tenantry_store::orgs::{self as store, OrgQuery, OrgRow};
use tenantry_store::{users, Json, StoreError, Tx};
use uuid::Uuid;

use crate::access::{org_not_found, Access, Lock};
use crate::claims::TokenOrgs;
use crate::join::JoinVia;
use crate::record::{audit, emit, Audit, Event};
use crate::users::has_nul;
use crate::{authz, paging, Actor, App, AppError, AppResult, Ctx, Page, Patch};

/// How many slugs derived from a name are tried before giving up (`acme`, `acme-2`, …).
const SLUG_ATTEMPTS: u32 = 20;

/// An org as the use cases show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub slug: String,
    pub metadata: Map<String, Value>,
    pub max_users: Option<u32>,
    pub member_count: u32,
    pub domains: Vec<String>,
    pub domain_auto_join: bool,
    pub domain_restrict: bool,
    pub isolated: bool,
    /// Since when the org requires 2FA of its members, if it does (docs/design.md §4.14).
    pub mfa_required_at: Option<DateTime<Utc>>,
    /// Until when members without 2FA may still act (the grace period), if there is one.
    pub mfa_grace_until: Option<DateTime<Utc>>,
    pub created_by: Option<UserId>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Org {
    pub(crate) fn from_row(r: OrgRow, domains: Vec<String>) -> Org {
        Org {
            id: OrgId::from_uuid(r.id),
            name: r.name,
            slug: r.slug,
            metadata: r.metadata.0,
            max_users: r.max_users.and_then(|n| u32::try_from(n).ok()),
            member_count: u32::try_from(r.member_count).unwrap_or(0),
            domains,
            domain_auto_join: r.domain_auto_join,
            domain_restrict: r.domain_restrict,
            isolated: r.isolated,
            mfa_required_at: r.mfa_required_at,
            mfa_grace_until: r.mfa_grace_until,
            created_by: r.created_by.map(UserId::from_uuid),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }

    /// The `data` of org webhook events.
    fn event_data(&self) -> Value {
        json!({
            "org_id": self.id.to_string(),
            "version": self.version,
            "name": self.name,
            "slug": self.slug,
            "max_users": self.max_users,
            "member_count": self.member_count,
            "metadata": self.metadata,
            "domains": self.domains,
            "domain_auto_join": self.domain_auto_join,
            "domain_restrict": self.domain_restrict,
        })
    }

    pub(crate) fn event(&self, event_type: EventType) -> Event {
        Event {
            event_type,
            object_id: self.id.as_uuid(),
            object_version: self.version,
            org_id: Some(self.id.as_uuid()),
            data: self.event_data(),
        }
    }
}

/// Names the rule behind a unique violation on `orgs` or `org_domains`.
fn unique_violation(e: StoreError) -> AppError {
    if e.is_unique_on("slug") {
        DomainError::conflict("slug-taken", "Another organization already has this slug.").into()
    } else if e.is_unique_on("domain") {
        DomainError::conflict("domain-taken", "Another organization already holds this domain.").into()
    } else {
        e.into()
    }
}

/// Checks metadata: a JSON object (the type says so) within the size bound, with no NUL.
fn check_metadata(m: &Map<String, Value>) -> Result<(), DomainError> {
    check_metadata_size(serde_json::to_vec(m).map(|v| v.len()).unwrap_or(usize::MAX))?;
    if m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)) {
        return Err(DomainError::invalid_field(
            "invalid-metadata",
            "metadata",
            "Metadata cannot contain the NUL character (\\u0000).",
        ));
    }
    Ok(())
}

/// RFC 7396 JSON merge patch: `null` removes a key, objects merge recursively, anything else
/// replaces.
pub fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(inner) => {
                let slot = target.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(existing) = slot {
                    merge_patch(existing, inner);
                }
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

/// Input of [`App::create_org`].
#[derive(Debug, Clone, Default)]
pub struct CreateOrg {
    pub name: String,
    /// Generated from the name when absent.
    pub slug: Option<String>,
    /// Backend only: the user who becomes the Owner. Without one, the org starts with no members.
    /// A user creating an org becomes its Owner themselves.
    pub owner: Option<UserId>,
    /// Backend only.
    pub max_users: Option<i64>,
    /// Backend only.
    pub metadata: Option<Map<String, Value>>,
    /// The backend may set any domain; a user only their own verified email's.
    pub domains: Vec<String>,
    pub domain_auto_join: bool,
    pub domain_restrict: bool,
    /// Backend only: an isolated org (docs/design.md §4.15), which starts with no members; its
    /// users are made in its own pool by its SSO.
    pub isolated: bool,
}

/// Input of [`App::update_org`]; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct UpdateOrg {
    pub name: Option<String>,
    pub slug: Option<String>,
    /// Backend only. `Null` is unlimited.
    pub max_users: Patch<i64>,
    /// Backend only: replaces the whole object.
    pub metadata: Option<Map<String, Value>>,
    pub domain_auto_join: Option<bool>,
    pub domain_restrict: Option<bool>,
}

/// Filters of [`App::query_orgs`].
#[derive(Debug, Clone, Default)]
pub struct OrgFilter {
    pub name_prefix: Option<String>,
    pub domain: Option<String>,
    pub cursor: Option<Uuid>,
    pub limit: u32,
}

/// An entry of an org's audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub details: Value,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> AuditEntry {
        AuditEntry {
            id: r.id,
            occurred_at: r.occurred_at,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            action: r.action,
            target_kind: r.target_kind,
            target_id: r.target_id,
            ip: r.ip,
            request_id: r.request_id,
            details: r.details.0,
        }
    }
}

impl App {
    /// Creates an org. A user who creates one becomes its Owner (and must be allowed to create
    /// orgs, and be under the per-user org limit); the backend may name an Owner or none.
    pub async fn create_org(&self, ctx: &Ctx, input: CreateOrg) -> AppResult<Org> {
        self.create_org_via(ctx, input, Via::Request).await
    }

    /// The personal org of a new account (docs/design.md §4.11, when the deployment asks for one): named
    /// after the user, with them as its Owner, whether or not users may create orgs themselves.
    pub(crate) async fn create_personal_org(&self, ctx: &Ctx, user: &crate::users::User) -> AppResult<Org> {
        let who = user.first_name.clone().unwrap_or_else(|| user.email.split('@').next().unwrap_or("My").to_owned());
        let mut name: String =
            format!("{who}'s {}", self.settings().orgs.org_word).chars().take(OrgName::MAX_CHARS).collect();
        if OrgName::parse(&name).is_err() {
            name = format!("Personal {}", self.settings().orgs.org_word);
        }
        let input = CreateOrg { name, ..CreateOrg::default() };
        self.create_org_via(&Ctx { actor: Actor::User(user.id), ..ctx.clone() }, input, Via::Signup).await
    }

    async fn create_org_via(&self, ctx: &Ctx, input: CreateOrg, via: Via) -> AppResult<Org> {
        let creator = match ctx.actor {
            Actor::User(id) => {
                if via == Via::Request && !self.settings().orgs.users_can_create {
                    return Err(DomainError::forbidden(
                        "org-creation-disabled",
                        format!("Creating an {} is turned off for this deployment.", self.org_word_lower()),
                    )
                    .into());
                }
                if input.owner.is_some() || input.max_users.is_some() || input.metadata.is_some() || input.isolated {
                    return Err(DomainError::forbidden(
                        "backend-only",
                        "Only the backend API sets an owner, max_users, metadata or isolation when creating an \
                         organization.",
                    )
                    .into());
                }
                Some(id)
            }
            Actor::ApiKey(_) | Actor::System => None,
            Actor::Anonymous => return Err(DomainError::unauthenticated("unauthenticated", "Sign in first.").into()),
        };
        let name = OrgName::parse(&input.name)?;
        let slug = input.slug.as_deref().map(Slug::parse).transpose()?;
        let max_users = MaxUsers::parse(input.max_users)?;
        let metadata = input.metadata.unwrap_or_default();
        check_metadata(&metadata)?;
        let domains = input.domains.iter().map(|d| Domain::parse(d)).collect::<Result<Vec<_>, _>>()?;
        if input.isolated && input.owner.is_some() {
            return Err(DomainError::invalid_field(
                "isolated-owner",
                "owner_user_id",
                "An isolated organization's members are its own accounts, made by its SSO: create it without \
                 an owner.",
            )
            .into());
        }
        let roles = self.roles().await?;
        let owner = creator.or(input.owner);
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let owner_row = match owner {
            Some(id) => Some(users::get_user(tx.ex(), id).await?.ok_or_else(|| {
                AppError::from(DomainError::invalid_field("user-not-found", "owner_user_id", "No user has this id."))
            })?),
            None => None,
        };
        let owner_via = || JoinVia::Created { role: roles.owner_role().clone(), is_creator: creator.is_some() };
        if let Some(u) = &owner_row {
            // The owner's gate, before the org exists: a refused owner is refused first.
            self.check_join(&mut tx, None, u, &owner_via(), now).await?;
        }
        if let (Some(creator), Some(u)) = (creator, &owner_row) {
            let view = MemberView {
                user_id: creator,
                role: roles.owner_role().clone(),
                additional_roles: Vec::new(),
                status: MemberStatus::Active,
                is_creator: true,
            };
            let email = Email::parse(&u.email)?;
            for d in &domains {
                check_domain_claim(
                    &roles,
                    DomainClaimant::User { member: &view, email: &email, email_verified: u.email_verified },
                    d,
                )?;
            }
        }
        let slug = match slug {
            Some(s) => s,
            None => self.free_slug(&mut tx, &Slug::from_name(&name)).await?,
        };
        let id = OrgId::new().as_uuid();
        let row = OrgRow {
            id,
            name: name.as_str().to_owned(),
            name_normalized: name.as_str().to_lowercase(),
            slug: slug.as_str().to_owned(),
            metadata: Json(metadata),
            max_users: max_users.limit().map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            member_count: i32::from(owner_row.is_some()),
            domain_auto_join: input.domain_auto_join,
            domain_restrict: input.domain_restrict,
            isolated: input.isolated,
            mfa_required_at: None,
            mfa_grace_until: None,
            created_by: creator.map(|c| c.as_uuid()),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        store::insert_org(tx.ex(), &row).await.map_err(unique_violation)?;
        for d in &domains {
            store::insert_org_domain(tx.ex(), OrgId::from_uuid(id), d.as_str(), now).await.map_err(unique_violation)?;
        }
        let org = Org::from_row(row.clone(), domains.iter().map(|d| d.as_str().to_owned()).collect());
        emit(&mut tx, now, org.event(EventType::OrgCreated)).await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit::org(AuditAction::OrgCreated, &org, json!({ "name": org.name, "slug": org.slug })),
        )
        .await?;
        if let Some(u) = owner_row {
            self.join_org(&mut tx, ctx, &row, &u, owner_via(), now).await?;
        }
        tx.commit().await?;
        Ok(org)
    }

    /// The first free slug among `base`, `base-2`, `base-3`, …
    async fn free_slug(&self, tx: &mut Tx, base: &Slug) -> AppResult<Slug> {
        for n in 1..=SLUG_ATTEMPTS {
            let candidate = if n == 1 { base.clone() } else { base.with_suffix(n) };
            if !store::slug_taken(tx.ex(), candidate.as_str()).await? {
                return Ok(candidate);
            }
        }
        Err(DomainError::conflict("slug-taken", "Every slug made from this name is taken; choose a slug.").into())
    }

    pub(crate) fn org_word_lower(&self) -> String {
        self.settings().orgs.org_word.to_lowercase()
    }

    /// An org by id: members see it, the backend sees any.
    pub async fn get_org(&self, ctx: &Ctx, org_id: OrgId) -> AppResult<Org> {
        // The roles first: reloading them takes a pooled connection of its own, and holding one
        // while waiting for another can starve the pool under load.
        let roles = self.roles().await?;
        let mut c = self.db().acquire().await?;
        let (row, access) = self.org_access(c.ex(), ctx, org_id, Lock::None).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_VIEW)?;
        let domains = store::list_org_domains(c.ex(), OrgId::from_uuid(row.id)).await?;
        Ok(Org::from_row(row, domains))
    }

    /// An org by slug, with the same visibility as [`App::get_org`].
    pub async fn get_org_by_slug(&self, ctx: &Ctx, slug: &str) -> AppResult<Org> {
        let id = {
            let mut c = self.db().acquire().await?;
            store::find_org_by_slug(c.ex(), slug.trim()).await?.ok_or_else(org_not_found)?.id
        };
        self.get_org(ctx, OrgId::from_uuid(id)).await
    }

    /// Orgs by name prefix or domain, in creation order: backend only.
    pub async fn query_orgs(&self, ctx: &Ctx, filter: OrgFilter) -> AppResult<Page<Org>> {
        authz::require_backend(&ctx.actor)?;
        let domain = filter.domain.as_deref().map(Domain::parse).transpose()?;
        let limit = paging::org_limit(filter.limit);
        let mut c = self.db().acquire().await?;
        let rows = store::list_orgs(
            c.ex(),
            &OrgQuery {
                name_prefix: filter.name_prefix.map(|p| p.trim().to_lowercase()).filter(|p| !p.is_empty()),
                domain: domain.map(|d| d.as_str().to_owned()),
                after: filter.cursor,
                limit: limit + 1,
            },
        )
        .await?;
        let mut orgs = Vec::with_capacity(rows.len());
        for row in rows {
            let domains = store::list_org_domains(c.ex(), OrgId::from_uuid(row.id)).await?;
            orgs.push(Org::from_row(row, domains));
        }
        Ok(Page::from_overfetch(orgs, limit, |o| o.id.to_string()))
    }

    /// Updates name, slug and domain settings (members with `org.update`, or the backend), and
    /// `max_users` and metadata (backend only). Lowering `max_users` evicts nobody.
    pub async fn update_org(&self, ctx: &Ctx, org_id: OrgId, input: UpdateOrg) -> AppResult<Org> {
        self.update_org_with(ctx, org_id, input, None).await
    }

    /// [`App::update_org`], merging `merge` into the metadata as stored under the org's lock when
    /// given, so that concurrent merges never lose one another's keys.
    async fn update_org_with(
        &self,
        ctx: &Ctx,
        org_id: OrgId,
        mut input: UpdateOrg,
        merge: Option<Map<String, Value>>,
    ) -> AppResult<Org> {
        let backend_only = !matches!(input.max_users, Patch::Absent) || input.metadata.is_some() || merge.is_some();
        let name = input.name.as_deref().map(OrgName::parse).transpose()?;
        let slug = input.slug.as_deref().map(Slug::parse).transpose()?;
        let max_users = match &input.max_users {
            Patch::Absent => None,
            Patch::Null => Some(MaxUsers::UNLIMITED),
            Patch::Value(n) => Some(MaxUsers::parse(Some(*n))?),
        };
        if let Some(m) = &input.metadata {
            check_metadata(m)?;
        }
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (mut row, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_UPDATE)?;
        if backend_only && !matches!(access, Access::Backend) {
            return Err(
                DomainError::forbidden("backend-only", "Only the backend API changes max_users and metadata.").into()
            );
        }
        if let Some(patch) = &merge {
            let mut merged = row.metadata.0.clone();
            merge_patch(&mut merged, patch);
            check_metadata(&merged)?;
            input.metadata = Some(merged);
        }
        let before = row.clone();
        if let Some(n) = name {
            row.name_normalized = n.as_str().to_lowercase();
            row.name = n.as_str().to_owned();
        }
        if let Some(s) = slug {
            row.slug = s.as_str().to_owned();
        }
        if let Some(m) = max_users {
            row.max_users = m.limit().map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        }
        if let Some(m) = input.metadata {
            row.metadata = Json(m);
        }
        if let Some(b) = input.domain_auto_join {
            row.domain_auto_join = b;
        }
        if let Some(b) = input.domain_restrict {
            row.domain_restrict = b;
        }
        let domains = store::list_org_domains(tx.ex(), OrgId::from_uuid(row.id)).await?;
        if row == before {
            return Ok(Org::from_row(row, domains));
        }
        row.version += 1;
        row.updated_at = now;
        store::update_org(tx.ex(), &row).await.map_err(unique_violation)?;
        let org = Org::from_row(row, domains);
        let changed = changed_fields(&before, &org);
        emit(&mut tx, now, org.event(EventType::OrgUpdated)).await?;
        audit(&mut tx, ctx, now, Audit::org(AuditAction::OrgUpdated, &org, json!({ "changed": changed }))).await?;
        tx.commit().await?;
        Ok(org)
    }

    /// Merges `patch` into the org's metadata (RFC 7396): backend only.
    pub async fn merge_org_metadata(&self, ctx: &Ctx, org_id: OrgId, patch: Map<String, Value>) -> AppResult<Org> {
        authz::require_backend(&ctx.actor)?;
        // The patch itself is bounded like the metadata it merges into.
        check_metadata(&patch)?;
        self.update_org_with(ctx, org_id, UpdateOrg::default(), Some(patch)).await
    }

    /// Adds a domain. The backend may add any; a member with `org.update` only their own verified
    /// email's, never a public mail provider's. A domain belongs to one org at most.
    pub async fn add_org_domain(&self, ctx: &Ctx, org_id: OrgId, domain: &str) -> AppResult<Org> {
        let domain = Domain::parse(domain)?;
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (mut row, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        match &access {
            Access::Backend => {}
            Access::Member(view, member) => {
                let user =
                    users::get_user(tx.ex(), UserId::from_uuid(member.user_id)).await?.ok_or_else(org_not_found)?;
                let email = Email::parse(&user.email)?;
                check_domain_claim(
                    &roles,
                    DomainClaimant::User { member: view, email: &email, email_verified: user.email_verified },
                    &domain,
                )?;
            }
        }
        let held = store::list_org_domains(tx.ex(), OrgId::from_uuid(row.id)).await?;
        if held.iter().any(|d| d == domain.as_str()) {
            return Ok(Org::from_row(row, held));
        }
        store::insert_org_domain(tx.ex(), OrgId::from_uuid(row.id), domain.as_str(), now)
            .await
            .map_err(unique_violation)?;
        row.version += 1;
        row.updated_at = now;
        store::update_org(tx.ex(), &row).await?;
        let org = Org::from_row(row, store::list_org_domains(tx.ex(), org_id).await?);
        emit(&mut tx, now, org.event(EventType::OrgUpdated)).await?;
        audit(&mut tx, ctx, now, Audit::org(AuditAction::OrgDomainAdded, &org, json!({ "domain": domain.as_str() })))
            .await?;
        tx.commit().await?;
        Ok(org)
    }

    /// Removes a domain (members with `org.update`, or the backend).
    pub async fn remove_org_domain(&self, ctx: &Ctx, org_id: OrgId, domain: &str) -> AppResult<Org> {
        let domain = Domain::parse(domain)?;
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (mut row, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_UPDATE)?;
        if store::delete_org_domain(tx.ex(), OrgId::from_uuid(row.id), domain.as_str()).await? == 0 {
            return Err(
                DomainError::not_found("domain-not-found", "This organization does not hold this domain.").into()
            );
        }
        row.version += 1;
        row.updated_at = now;
        store::update_org(tx.ex(), &row).await?;
        let org = Org::from_row(row, store::list_org_domains(tx.ex(), org_id).await?);
        emit(&mut tx, now, org.event(EventType::OrgUpdated)).await?;
        audit(&mut tx, ctx, now, Audit::org(AuditAction::OrgDomainRemoved, &org, json!({ "domain": domain.as_str() })))
            .await?;
        tx.commit().await?;
        Ok(org)
    }

    /// Deletes an org for good: Owners (`org.delete`) or the backend. Members, invites and
    /// domains go with it (and their sessions scoped to it end); the audit trail stays.
    pub async fn delete_org(&self, ctx: &Ctx, org_id: OrgId) -> AppResult<()> {
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (row, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        check_delete_org(&roles, access.org_actor())?;
        let mut org = Org::from_row(row, store::list_org_domains(tx.ex(), org_id).await?);
        tenantry_store::sessions::revoke_sessions_in_org(tx.ex(), org.id, now, "org-deleted").await?;
        store::delete_org(tx.ex(), org.id).await?;
        org.version += 1;
        emit(&mut tx, now, org.event(EventType::OrgDeleted)).await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit::org(AuditAction::OrgDeleted, &org, json!({ "name": org.name, "slug": org.slug })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The org's audit trail, newest first: Owners and Admins (`org.audit.read`) and the backend.
    /// It outlives the org, so the backend may read a deleted org's trail.
    pub async fn org_audit_log(
        &self,
        ctx: &Ctx,
        org_id: OrgId,
        cursor: Option<Uuid>,
        limit: u32,
    ) -> AppResult<Page<AuditEntry>> {
        let roles = self.roles().await?;
        let limit = paging::org_limit(limit);
        let mut c = self.db().acquire().await?;
        match ctx.actor {
            Actor::ApiKey(_) | Actor::System => {}
            _ => {
                let (_, access) = self.org_access(c.ex(), ctx, org_id, Lock::None).await?;
                require_permission(&roles, access.org_actor(), perm::ORG_AUDIT_READ)?;
            }
        }
        let rows = list_audit_for_org(c.ex(), org_id, cursor.map(tenantry_core::AuditId::from_uuid), limit + 1).await?;
        Ok(Page::from_overfetch(rows.into_iter().map(AuditEntry::from).collect(), limit, |e| e.id.to_string()))
    }
}

/// How an org comes to be created: asked for, or made for a new account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Request,
    Signup,
}

/// Deployment-wide org settings (docs/design.md §4.11).
#[derive(Debug, Clone)]
pub struct OrgSettings {
    /// The word for "Organization" on every page and email (Team, Workspace, …).
    pub org_word: String,
    /// Whether users may create orgs themselves.
    pub users_can_create: bool,
    /// Whether every user must belong to an org (sign-in then leads to create-or-join).
    pub require_membership: bool,
    /// Whether a personal org is created for each user at signup.
    pub personal_org_at_signup: bool,
    /// At most this many orgs per user; `None` is no cap.
    pub max_orgs_per_user: Option<u32>,
    pub invite_ttl: chrono::Duration,
    pub transfer_ttl: chrono::Duration,
    pub token_orgs: TokenOrgs,
    /// The most orgs an access token lists, so a user in hundreds still gets a usable token.
    pub token_max_orgs: u32,
    /// The roles from the configuration file; the backend API may replace them.
    pub roles: RoleConfig,
}

impl Default for OrgSettings {
    fn default() -> Self {
        OrgSettings {
            org_word: "Organization".to_owned(),
            users_can_create: true,
            require_membership: false,
            personal_org_at_signup: false,
            max_orgs_per_user: None,
            invite_ttl: chrono::Duration::days(7),
            transfer_ttl: chrono::Duration::hours(24),
            token_orgs: TokenOrgs::All,
            token_max_orgs: 25,
            roles: RoleConfig::default(),
        }
    }
}

/// The fields an update changed, for the audit entry.
fn changed_fields(before: &OrgRow, after: &Org) -> Vec<&'static str> {
    let mut out = Vec::new();
    if before.name != after.name {
        out.push("name");
    }
    if before.slug != after.slug {
        out.push("slug");
    }
    if before.max_users.and_then(|n| u32::try_from(n).ok()) != after.max_users {
        out.push("max_users");
    }
    if before.metadata.0 != after.metadata {
        out.push("metadata");
    }
    if before.domain_auto_join != after.domain_auto_join {
        out.push("domain_auto_join");
    }
    if before.domain_restrict != after.domain_restrict {
        out.push("domain_restrict");
    }
    out
}

impl Audit {
    /// An entry about an org itself.
    pub(crate) fn org(action: AuditAction, org: &Org, details: Value) -> Audit {
        Audit {
            action,
            org_id: Some(org.id.as_uuid()),
            target_kind: "org",
            target_id: Some(org.id.to_string()),
            details,
        }
    }

    /// An entry about a member of an org.
    pub(crate) fn member(action: AuditAction, org_id: Uuid, user_id: Uuid, details: Value) -> Audit {
        Audit { action, org_id: Some(org_id), target_kind: "user", target_id: Some(user_id.to_string()), details }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        // The example of RFC 7396 §3.
        let mut target = obj(json!({"a": "b", "c": {"d": "e", "f": "g"}}));
        merge_patch(&mut target, &obj(json!({"a": "z", "c": {"f": null}})));
        assert_eq!(Value::Object(target), json!({"a": "z", "c": {"d": "e"}}));
        let mut t = obj(json!({"a": 1, "b": [1, 2]}));
        merge_patch(&mut t, &obj(json!({"b": {"x": 1}, "a": null, "n": {"deep": null}})));
        assert_eq!(Value::Object(t), json!({"b": {"x": 1}, "n": {}}));
    }
}
