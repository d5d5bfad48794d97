//! User accounts, as administered through the backend API.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use tenantry_core::events::{AuditAction, EventType};
use tenantry_core::{DomainError, Email, ErrorKind, OrgId, PersonName, UserId, Username};
use tenantry_store::members as member_store;
use tenantry_store::orgs as org_store;
use tenantry_store::users::{self as store, UserQuery, UserRow};
use tenantry_store::{Json, StoreError};

use crate::record::{audit, emit, Audit, Event};
use crate::{authz, App, AppError, AppResult, Ctx, Page, Patch};

/// The largest `properties` object, serialized.
pub const MAX_PROPERTIES_BYTES: usize = 16 * 1024;

/// A user as the use cases show it: no password hash, only whether one is set.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub email_verified: bool,
    pub has_password: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub properties: Map<String, Value>,
    pub disabled: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> User {
        User {
            id: UserId::from_uuid(r.id),
            email: r.email,
            email_verified: r.email_verified,
            has_password: r.password_hash.is_some(),
            first_name: r.first_name,
            last_name: r.last_name,
            username: r.username,
            properties: r.properties.0,
            disabled: r.disabled,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_login_at: r.last_login_at,
        }
    }
}

impl User {
    /// The webhook event of `event_type` about this user, at its current version.
    pub(crate) fn event(&self, event_type: EventType) -> Event {
        Event {
            event_type,
            object_id: self.id.as_uuid(),
            object_version: self.version,
            org_id: None,
            data: self.event_data(),
        }
    }

    /// The `data` of user webhook events.
    pub(crate) fn event_data(&self) -> Value {
        json!({
            "user_id": self.id.to_string(),
            "version": self.version,
            "email": self.email,
            "email_verified": self.email_verified,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "properties": self.properties,
            "disabled": self.disabled,
        })
    }
}

/// Input of [`App::create_user`].
#[derive(Debug, Clone, Default)]
pub struct CreateUser {
    pub email: String,
    pub email_verified: bool,
    pub password: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub properties: Option<Map<String, Value>>,
}

/// Input of [`App::update_user`]; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct UpdateUser {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub username: Patch<String>,
    /// Replaces the whole object.
    pub properties: Option<Map<String, Value>>,
}

impl UpdateUser {
    /// Whether only the first and last name are set (what a user may change of their own).
    pub fn names_only(&self) -> bool {
        self.email.is_none()
            && self.email_verified.is_none()
            && matches!(self.username, Patch::Absent)
            && self.properties.is_none()
    }
}

fn check_properties(p: &Map<String, Value>) -> Result<(), DomainError> {
    let size = serde_json::to_vec(p).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_PROPERTIES_BYTES {
        return Err(DomainError::invalid_field(
            "properties-too-large",
            "properties",
            format!("Properties are at most {MAX_PROPERTIES_BYTES} bytes of JSON."),
        ));
    }
    if p.iter().any(|(k, v)| k.contains('\0') || has_nul(v)) {
        return Err(DomainError::invalid_field(
            "invalid-properties",
            "properties",
            "Properties cannot contain the NUL character (\\u0000).",
        ));
    }
    Ok(())
}

/// Whether a JSON value holds a NUL character anywhere; PostgreSQL cannot store one in text or jsonb.
pub(crate) fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn optional_name(raw: Option<&str>, field: &str) -> Result<Option<String>, DomainError> {
    Ok(match raw {
        Some(s) => PersonName::parse(s, field)?.map(|n| n.as_str().to_owned()),
        None => None,
    })
}

fn patched_name(p: &Patch<String>, field: &str, current: Option<String>) -> Result<Option<String>, DomainError> {
    match p {
        Patch::Absent => Ok(current),
        Patch::Null => Ok(None),
        Patch::Value(v) => optional_name(Some(v), field),
    }
}

/// Collects the field errors of several independent checks into one error.
fn collect(results: Vec<Result<(), DomainError>>) -> Result<(), DomainError> {
    let errors: Vec<DomainError> = results.into_iter().filter_map(Result::err).collect();
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.into_iter().next().unwrap_or_else(|| DomainError::new(ErrorKind::Invalid, "invalid", ""))),
        _ => {
            let mut first = errors[0].clone();
            first.code = "invalid-input";
            first.detail = "Several fields are invalid; see `errors`.".to_owned();
            first.fields = errors.into_iter().flat_map(|e| e.fields).collect();
            Err(first)
        }
    }
}

fn user_not_found() -> AppError {
    DomainError::not_found("user-not-found", "No user has this id.").into()
}

/// Names the rule behind a unique violation on `users`.
fn unique_violation(e: StoreError) -> AppError {
    if e.is_unique_on("email_normalized") {
        DomainError::conflict("email-taken", "A user with this email already exists.").into()
    } else if e.is_unique_on("username_normalized") {
        DomainError::conflict("username-taken", "This username is taken.").into()
    } else {
        e.into()
    }
}

impl App {
    /// Creates a user in the shared pool, with or without a password.
    pub async fn create_user(&self, ctx: &Ctx, input: CreateUser) -> AppResult<User> {
        authz::require_backend(&ctx.actor)?;
        let email = Email::parse(&input.email);
        let words = [input.first_name.as_deref(), input.last_name.as_deref(), input.username.as_deref()];
        let context = [input.email.as_str(), words[0].unwrap_or(""), words[1].unwrap_or(""), words[2].unwrap_or("")];
        let password =
            input.password.as_deref().map(|p| self.settings().password_policy.check(p, &context)).transpose();
        let first_name = optional_name(input.first_name.as_deref(), "first_name");
        let last_name = optional_name(input.last_name.as_deref(), "last_name");
        let username = input.username.as_deref().map(Username::parse).transpose();
        let properties = input.properties.unwrap_or_default();
        collect(vec![
            email.as_ref().map(drop).map_err(Clone::clone),
            password.as_ref().map(drop).map_err(Clone::clone),
            first_name.as_ref().map(drop).map_err(Clone::clone),
            last_name.as_ref().map(drop).map_err(Clone::clone),
            username.as_ref().map(drop).map_err(Clone::clone),
            check_properties(&properties),
        ])?;
        let (email, password, first_name, last_name, username) =
            (email?, password?, first_name?, last_name?, username?);

        let password_hash = match password {
            Some(p) => {
                Some(self.hasher.hash(p.expose().to_owned()).await.map_err(|e| AppError::Internal(e.to_string()))?)
            }
            None => None,
        };
        let now = self.clock().now();
        let row = UserRow {
            id: UserId::new().as_uuid(),
            pool_id: None,
            email: email.as_str().to_owned(),
            email_normalized: email.normalized(),
            email_verified: input.email_verified,
            password_hash,
            first_name,
            last_name,
            username_normalized: username.as_ref().map(Username::normalized),
            username: username.map(|u| u.as_str().to_owned()),
            properties: Json(properties),
            disabled: false,
            version: 1,
            created_at: now,
            updated_at: now,
            last_login_at: None,
        };

        let mut tx = self.db().begin().await?;
        store::insert_user(tx.ex(), &row).await.map_err(unique_violation)?;
        let user = User::from(row);
        emit(&mut tx, now, user.event(EventType::UserCreated)).await?;
        audit(&mut tx, ctx, now, Audit::user(AuditAction::UserCreated, user.id, json!({ "email": user.email })))
            .await?;
        tx.commit().await?;
        // A user created with a verified address is signed up by the backend: it joins its
        // domain's org when one auto-joins it (docs/design.md §4.12).
        if user.email_verified {
            self.auto_join(ctx, user.id).await?;
        }
        Ok(user)
    }

    pub async fn get_user(&self, ctx: &Ctx, id: UserId) -> AppResult<User> {
        authz::require_backend(&ctx.actor)?;
        let mut c = self.db().acquire().await?;
        store::get_user(c.ex(), id).await?.map(User::from).ok_or_else(user_not_found)
    }

    /// Finds a user of the shared pool by email, case-insensitively.
    pub async fn get_user_by_email(&self, ctx: &Ctx, email: &str) -> AppResult<User> {
        authz::require_backend(&ctx.actor)?;
        let email = Email::parse(email)?;
        let mut c = self.db().acquire().await?;
        store::find_user_by_email(c.ex(), None, &email.normalized())
            .await?
            .map(User::from)
            .ok_or_else(|| DomainError::not_found("user-not-found", "No user has this email.").into())
    }

    /// Users of the shared pool in creation order, optionally by email prefix.
    pub async fn query_users(
        &self,
        ctx: &Ctx,
        email_prefix: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> AppResult<Page<User>> {
        authz::require_backend(&ctx.actor)?;
        let after = parse_cursor(cursor)?;
        let limit = crate::paging::limit(limit);
        if email_prefix.is_some_and(|p| p.chars().any(char::is_control)) {
            return Err(DomainError::invalid_field(
                "invalid-email-prefix",
                "email_prefix",
                "The prefix cannot contain control characters.",
            )
            .into());
        }
        let q = UserQuery {
            email_prefix: email_prefix.map(str::trim).filter(|p| !p.is_empty()).map(str::to_lowercase),
            after: after.map(UserId::from_uuid),
            limit: limit + 1,
        };
        let mut c = self.db().acquire().await?;
        let rows = store::list_users(c.ex(), &q).await?;
        Ok(Page::from_overfetch(rows.into_iter().map(User::from).collect(), limit, |u| u.id.to_string()))
    }

    /// Updates profile fields; emits `user.updated` only when something changed.
    /// A signed-in user may change their own names this way (`PATCH /api/v1/me`, the account page).
    pub async fn update_user(&self, ctx: &Ctx, id: UserId, input: UpdateUser) -> AppResult<User> {
        authz::require_user_update(&ctx.actor, id, input.names_only())?;
        let email = input.email.as_deref().map(Email::parse).transpose();
        let username = match &input.username {
            Patch::Value(u) => Username::parse(u).map(Some),
            _ => Ok(None),
        };
        collect(vec![
            email.as_ref().map(drop).map_err(Clone::clone),
            username.as_ref().map(drop).map_err(Clone::clone),
            patched_name(&input.first_name, "first_name", None).map(drop),
            patched_name(&input.last_name, "last_name", None).map(drop),
            input.properties.as_ref().map(check_properties).unwrap_or(Ok(())),
        ])?;
        let (email, username) = (email?, username?);

        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let before = store::lock_user(tx.ex(), id).await?.ok_or_else(user_not_found)?;
        let mut row = before.clone();
        if let Some(email) = email {
            if email.normalized() != row.email_normalized {
                // A new address is unverified unless the caller says otherwise.
                row.email_verified = false;
            }
            row.email_normalized = email.normalized();
            row.email = email.as_str().to_owned();
        }
        if let Some(v) = input.email_verified {
            row.email_verified = v;
        }
        row.first_name = patched_name(&input.first_name, "first_name", row.first_name.take())?;
        row.last_name = patched_name(&input.last_name, "last_name", row.last_name.take())?;
        match (&input.username, username) {
            (Patch::Null, _) => (row.username, row.username_normalized) = (None, None),
            (_, Some(u)) => {
                (row.username, row.username_normalized) = (Some(u.as_str().to_owned()), Some(u.normalized()))
            }
            _ => {}
        }
        if let Some(p) = input.properties {
            row.properties = Json(p);
        }
        if row == before {
            return Ok(User::from(row));
        }
        row.version += 1;
        row.updated_at = now;
        store::update_user(tx.ex(), &row).await.map_err(unique_violation)?;
        let user = User::from(row);
        emit(&mut tx, now, user.event(EventType::UserUpdated)).await?;
        audit(&mut tx, ctx, now, Audit::user(AuditAction::UserUpdated, user.id, changed_fields(&before, &user)))
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Sets (or replaces) a user's password.
    pub async fn set_user_password(&self, ctx: &Ctx, id: UserId, password: &str) -> AppResult<User> {
        authz::require_backend(&ctx.actor)?;
        let user = store::get_user(self.db().acquire().await?.ex(), id).await?.ok_or_else(user_not_found)?;
        let password = self.settings().password_policy.check(password, &password_context(&user))?;
        let hash =
            self.hasher.hash(password.expose().to_owned()).await.map_err(|e| AppError::Internal(e.to_string()))?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let mut row = store::lock_user(tx.ex(), id).await?.ok_or_else(user_not_found)?;
        row.password_hash = Some(hash);
        row.version += 1;
        row.updated_at = now;
        store::update_user(tx.ex(), &row).await?;
        // A new password ends every session, as a change by the user ends their other ones.
        let ended = tenantry_store::sessions::revoke_user_sessions(tx.ex(), id, None, now, "password-changed").await?;
        let user = User::from(row);
        // Every version has its event, so consumers see no gaps (the data never includes the password).
        emit(&mut tx, now, user.event(EventType::UserUpdated)).await?;
        audit(
            &mut tx,
            ctx,
            now,
            Audit::user(AuditAction::UserUpdated, user.id, json!({ "changed": ["password"], "sessions_ended": ended })),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Disables (`true`) or enables (`false`) a user. Repeating the current state is a no-op.
    pub async fn set_user_disabled(&self, ctx: &Ctx, id: UserId, disabled: bool) -> AppResult<User> {
        authz::require_backend(&ctx.actor)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let mut row = store::lock_user(tx.ex(), id).await?.ok_or_else(user_not_found)?;
        if row.disabled == disabled {
            return Ok(User::from(row));
        }
        row.disabled = disabled;
        row.version += 1;
        row.updated_at = now;
        store::update_user(tx.ex(), &row).await?;
        // Disabling ends every session at once, and with them their refresh tokens; every
        // authenticated path also refuses a disabled user's session on its own.
        let ended = if disabled {
            tenantry_store::sessions::revoke_user_sessions(tx.ex(), id, None, now, "user-disabled").await?
        } else {
            0
        };
        let user = User::from(row);
        let (event_type, action) = if disabled {
            (EventType::UserDisabled, AuditAction::UserDisabled)
        } else {
            (EventType::UserEnabled, AuditAction::UserEnabled)
        };
        emit(
            &mut tx,
            now,
            Event {
                event_type,
                object_id: user.id.as_uuid(),
                object_version: user.version,
                org_id: None,
                data: json!({ "user_id": user.id.to_string(), "version": user.version }),
            },
        )
        .await?;
        let details = if disabled { json!({ "sessions_ended": ended }) } else { json!({}) };
        audit(&mut tx, ctx, now, Audit::user(action, user.id, details)).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Deletes a user for good. The audit trail keeps its entries.
    ///
    /// The user's memberships end with them, each recorded like a removal (the org's member count
    /// drops, `user.removed_from_org` is emitted); the only owner of an org cannot be deleted, as
    /// the org would be left without one (`last-owner`).
    pub async fn delete_user(&self, ctx: &Ctx, id: UserId) -> AppResult<()> {
        authz::require_backend(&ctx.actor)?;
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        // The orgs first, in id order, as every membership change locks the org before anything
        // else; the user row after them.
        let mut memberships = Vec::new();
        let mut after = None;
        loop {
            let page = member_store::list_memberships_of_user(tx.ex(), id, after, 500).await?;
            let full = page.len() == 500;
            after = page.last().map(|m| m.member.id);
            memberships.extend(page);
            if !full {
                break;
            }
        }
        memberships.sort_by_key(|m| m.member.org_id);
        let mut ending = Vec::with_capacity(memberships.len());
        for m in memberships {
            let Some(org) = org_store::lock_org(tx.ex(), OrgId::from_uuid(m.member.org_id)).await? else {
                continue;
            };
            // The rule refuses only an owner, so only an owner's org has its owners counted.
            if m.member.role == roles.owner_role().as_str() {
                let org_id = OrgId::from_uuid(org.id);
                let owners = member_store::count_members_with_role(tx.ex(), org_id, &m.member.role).await?;
                let owners = u64::try_from(owners).unwrap_or(0);
                tenantry_core::org::check_delete_user(&roles, roles.owner_role(), owners, &org.name)?;
            }
            ending.push((org, m.member));
        }
        let row = store::lock_user(tx.ex(), id).await?.ok_or_else(user_not_found)?;
        for (org, member) in ending {
            self.end_membership(&mut tx, ctx, org, member, AuditAction::MemberRemoved, now).await?;
        }
        store::delete_user(tx.ex(), id).await?;
        let version = row.version + 1;
        emit(
            &mut tx,
            now,
            Event {
                event_type: EventType::UserDeleted,
                object_id: row.id,
                object_version: version,
                org_id: None,
                data: json!({ "user_id": id.to_string(), "version": version, "email": row.email }),
            },
        )
        .await?;
        audit(&mut tx, ctx, now, Audit::user(AuditAction::UserDeleted, id, json!({ "email": row.email }))).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The names of the fields that differ, for the audit entry (never their secret values).
fn changed_fields(before: &UserRow, after: &User) -> Value {
    let mut changed = Vec::new();
    if before.email != after.email {
        changed.push("email");
    }
    if before.email_verified != after.email_verified {
        changed.push("email_verified");
    }
    if before.first_name != after.first_name {
        changed.push("first_name");
    }
    if before.last_name != after.last_name {
        changed.push("last_name");
    }
    if before.username != after.username {
        changed.push("username");
    }
    if before.properties.0 != after.properties {
        changed.push("properties");
    }
    json!({ "changed": changed })
}

/// Parses a list cursor (the last id of the previous page).
pub fn parse_cursor(cursor: Option<&str>) -> Result<Option<uuid::Uuid>, DomainError> {
    match cursor.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => uuid::Uuid::parse_str(c).map(Some).map_err(|_| {
            DomainError::invalid_field("invalid-cursor", "cursor", "The cursor is not one this API returned.")
        }),
    }
}

/// What the password policy checks a user's new password against besides the deployment's words:
/// their email, names and username (`PasswordPolicy::check`).
pub(crate) fn password_context(user: &UserRow) -> [&str; 4] {
    let [first, last, username] =
        [&user.first_name, &user.last_name, &user.username].map(|n| n.as_deref().unwrap_or(""));
    [user.email.as_str(), first, last, username]
}
