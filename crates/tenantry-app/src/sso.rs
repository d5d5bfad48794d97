//! Enterprise SSO with SAML, one connection per org (docs/design.md §6, docs/security.md "SAML
//! service provider").
//!
//! - Setting up: from the IdP's metadata (pasted, or fetched from a URL through the webhooks' SSRF
//!   guard) or by hand; the connection starts in **test** mode, where only members who may manage
//!   the org's SSO sign in through it, and goes **live** by an explicit step. Events
//!   `org.saml_setup`, `org.saml_went_live`, `org.saml_removed`, each with its audit entry.
//! - Signing in: [`App::start_saml`] finds the org's connection by an email's domain or the org's
//!   slug and records an AuthnRequest (id, SHA-256 of the RelayState, `return_to`);
//!   [`App::saml_acs`] verifies the response (`tenantry_sso::verify_response`), spends the request
//!   it answers (single use, bound to its RelayState), records the assertion id (replay cache in
//!   the database, so a replay fails on every node), resolves the person (just-in-time user and
//!   membership through [`App::join_org`]) and takes the [`SignInStep::Saml`] step, which ends in
//!   the same `complete_sign_in` as every other sign-in. Each refusal is audited with its reason.
//! - Isolated orgs: the person is looked up and created in the org's own user pool.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tenantry_auth::{hash_opaque_token, new_opaque_token};
use tenantry_core::events::{AuditAction, EventType};
use tenantry_core::org::{perm, require_permission};
use tenantry_core::{DomainError, Email, OrgId, RoleName, SsoConnectionId, UserId};
use tenantry_sso::{AttributeMapping, Expectations, IdpMetadata, Profile, SpEndpoints, VerifiedAssertion};
use tenantry_store::members as member_store;
use tenantry_store::orgs::{self as org_store, OrgRow};
use tenantry_store::sso::{self as store, SsoConnectionRow, SsoRequestRow};
use tenantry_store::users::{self as user_store, UserRow};
use tenantry_store::Json;
use uuid::Uuid;

use crate::access::{org_not_found, Lock};
use crate::join::JoinVia;
use crate::record::{audit, emit, Audit, Event};
use crate::sessions::login_keys;
use crate::sign_in::{AuthMethod, Proven, SignInState, SignInStep};
use crate::users::User;
use crate::{Actor, App, AppError, AppResult, Ctx};

/// How long an AuthnRequest may wait for its response.
pub const REQUEST_TTL_MINUTES: i64 = 10;
/// The clock skew allowed on an assertion's times.
pub const MAX_SKEW_MINUTES: i64 = 3;
/// The largest metadata document fetched from a URL.
const MAX_METADATA_BYTES: usize = 512 * 1024;

/// Where a connection's IdP settings come from.
#[derive(Debug, Clone)]
pub enum SamlSource {
    /// The IdP's metadata XML, pasted.
    MetadataXml(String),
    /// A URL serving the IdP's metadata, fetched once now.
    MetadataUrl(String),
    /// Entity id, SSO URL and signing certificates (PEM or base64 DER), typed in.
    Manual { entity_id: String, sso_url: String, certificates: Vec<String> },
}

/// What setting up (or replacing) a connection takes.
#[derive(Debug, Clone)]
pub struct SetUpSaml {
    pub source: SamlSource,
    /// `None`: the defaults, which read Okta's, Entra ID's and Google Workspace's names.
    pub attribute_mapping: Option<AttributeMapping>,
    pub allow_idp_initiated: bool,
    pub allow_sha1: bool,
    /// The IdP enforces MFA: a sign-in through it satisfies the org's 2FA requirement.
    pub idp_enforces_mfa: bool,
}

/// An org's SAML connection, with what its IdP's administrator needs from this side.
#[derive(Debug, Clone)]
pub struct SamlConnection {
    pub id: Uuid,
    pub org_id: Uuid,
    /// `test` or `live`.
    pub status: String,
    pub idp_entity_id: String,
    pub idp_sso_url: String,
    pub idp_certificates: Vec<String>,
    pub metadata_url: Option<String>,
    pub attribute_mapping: AttributeMapping,
    pub allow_idp_initiated: bool,
    pub allow_sha1: bool,
    pub idp_enforces_mfa: bool,
    /// The SP entity id the IdP must name as the Audience.
    pub sp_entity_id: String,
    /// Where the IdP posts its responses.
    pub acs_url: String,
    /// This connection's SP metadata XML, to download (the SP entity id is its URL).
    pub sp_metadata_url: String,
    /// The certificate (base64 of DER) an IdP encrypts assertions to, also in the SP metadata.
    pub sp_encryption_certificate: Option<String>,
    /// Whether the org's members must sign in through it.
    pub sso_required: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How a sign-in finds its org's connection.
#[derive(Debug, Clone, Copy)]
pub enum SamlStart<'a> {
    /// The person's email: its domain names the org.
    Email(&'a str),
    /// The org's slug.
    Slug(&'a str),
}

/// What a verified response proves, for the [`SignInStep::Saml`] step.
#[derive(Debug)]
pub struct SamlProof {
    pub(crate) user: UserRow,
    pub(crate) connection_id: SsoConnectionId,
    /// The connection's org, when its IdP enforces MFA: a second factor for that org.
    pub(crate) idp_mfa_org: Option<OrgId>,
}

/// What the ACS answers.
#[derive(Debug)]
pub struct SamlSignedIn {
    pub state: SignInState,
    /// Where the browser goes next: the `return_to` of the request, if any.
    pub return_to: Option<String>,
    /// Set in test mode: what the IdP sent, for the test page.
    pub test: Option<SamlTestResult>,
}

/// What the IdP sent, as the test page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SamlTestResult {
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub attributes: Vec<tenantry_sso::response::Attribute>,
    pub profile: Profile,
}

fn connection_not_found() -> AppError {
    DomainError::not_found("sso-connection-not-found", "This organization has no SAML connection.").into()
}

impl SamlConnection {
    fn from_row(app: &App, r: SsoConnectionRow, sso_required: bool) -> SamlConnection {
        let sp = app.sp_endpoints(SsoConnectionId::from_uuid(r.id));
        SamlConnection {
            id: r.id,
            org_id: r.org_id,
            status: r.status,
            idp_entity_id: r.idp_entity_id,
            idp_sso_url: r.idp_sso_url,
            idp_certificates: r.idp_certificates.0,
            metadata_url: r.metadata_url,
            attribute_mapping: serde_json::from_value(r.attribute_mapping.0).unwrap_or_default(),
            allow_idp_initiated: r.allow_idp_initiated,
            allow_sha1: r.allow_sha1,
            idp_enforces_mfa: r.idp_enforces_mfa,
            sp_metadata_url: sp.entity_id.clone(),
            sp_encryption_certificate: r.sp_certificate,
            sp_entity_id: sp.entity_id,
            acs_url: sp.acs_url,
            sso_required,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

fn connection_event(event_type: EventType, org_id: Uuid, connection_id: Uuid, version: i64, status: &str) -> Event {
    Event {
        event_type,
        object_id: connection_id,
        object_version: version,
        org_id: Some(org_id),
        data: json!({ "org_id": org_id, "connection_id": connection_id, "version": version, "status": status }),
    }
}

fn connection_audit(action: AuditAction, org_id: Uuid, connection_id: Uuid, details: serde_json::Value) -> Audit {
    Audit {
        action,
        org_id: Some(org_id),
        target_kind: "sso_connection",
        target_id: Some(connection_id.to_string()),
        details,
    }
}

impl App {
    /// A connection's SP entity id and ACS URL in this deployment.
    pub fn sp_endpoints(&self, id: SsoConnectionId) -> SpEndpoints {
        SpEndpoints::for_connection(&self.settings().auth.issuer, &id.to_string())
    }

    /// Sets up the org's SAML connection, or replaces its IdP settings (keeping its id, so the
    /// ACS URL the IdP knows stays valid); either way it is in test mode afterwards.
    ///
    /// Refuses: `permission-denied` without `org.sso.manage`; `saml-metadata-invalid` (with the
    /// reason); `saml-metadata-unreachable`; `target-forbidden` for a metadata URL on an internal
    /// address.
    pub async fn set_up_saml(&self, ctx: &Ctx, org_id: OrgId, input: SetUpSaml) -> AppResult<SamlConnection> {
        // The org's access first, so an outsider learns nothing from a metadata error.
        {
            let roles = self.roles().await?;
            let mut c = self.db().acquire().await?;
            let (_, access) = self.org_access(c.ex(), ctx, org_id, Lock::None).await?;
            require_permission(&roles, access.org_actor(), perm::ORG_SSO_MANAGE)?;
        }
        let (idp, metadata_url) = match input.source {
            SamlSource::MetadataXml(xml) => (parse_metadata(&xml)?, None),
            SamlSource::MetadataUrl(url) => {
                let xml = self.fetch_metadata(&url).await?;
                (parse_metadata(&xml)?, Some(url))
            }
            SamlSource::Manual { entity_id, sso_url, certificates } => {
                (IdpMetadata::new(entity_id, sso_url, certificates).map_err(metadata_invalid)?, None)
            }
        };
        let roles = self.roles().await?;
        let mapping = checked_mapping(&roles, input.attribute_mapping.unwrap_or_default())?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_SSO_MANAGE)?;
        let existing = store::get_connection_of_org(tx.ex(), org_id).await?;
        let id = existing.as_ref().map_or_else(|| SsoConnectionId::new().as_uuid(), |e| e.id);
        // The connection's encryption key outlives a change of IdP settings: the IdP keeps the
        // certificate it imported.
        let (sp_key_sealed, sp_certificate) =
            match existing.as_ref().and_then(|e| e.sp_key_sealed.clone().zip(e.sp_certificate.clone())) {
                Some((sealed, cert)) => (sealed, cert),
                None => {
                    let name = self.sp_endpoints(SsoConnectionId::from_uuid(id)).entity_id;
                    let pair = tokio::task::spawn_blocking(move || tenantry_sso::generate_sp_key(&name))
                        .await
                        .map_err(|e| AppError::Internal(e.to_string()))?
                        .map_err(AppError::Internal)?;
                    (self.keyring.seal(pair.private_key_pem.as_bytes(), id.as_bytes()), pair.certificate)
                }
            };
        let row = SsoConnectionRow {
            id,
            org_id: org.id,
            status: "test".to_owned(),
            idp_entity_id: idp.entity_id,
            idp_sso_url: idp.sso_url,
            idp_certificates: Json(idp.certificates),
            metadata_url,
            attribute_mapping: Json(serde_json::to_value(&mapping).map_err(|e| AppError::Internal(e.to_string()))?),
            allow_idp_initiated: input.allow_idp_initiated,
            allow_sha1: input.allow_sha1,
            idp_enforces_mfa: input.idp_enforces_mfa,
            sp_key_sealed: Some(sp_key_sealed),
            sp_certificate: Some(sp_certificate),
            version: existing.as_ref().map_or(1, |e| e.version + 1),
            created_at: existing.as_ref().map_or(now, |e| e.created_at),
            updated_at: now,
        };
        store::upsert_connection(tx.ex(), &row).await?;
        // A replaced connection is untested again: the org cannot keep requiring it.
        store::set_sso_required(tx.ex(), org_id, false).await?;
        emit(&mut tx, now, connection_event(EventType::OrgSamlSetup, org.id, row.id, row.version, "test")).await?;
        let details = json!({ "idp_entity_id": row.idp_entity_id, "replaced": existing.is_some() });
        audit(&mut tx, ctx, now, connection_audit(AuditAction::SamlSetup, org.id, row.id, details)).await?;
        tx.commit().await?;
        Ok(SamlConnection::from_row(self, row, false))
    }

    /// The org's SAML connection. Refuses: `permission-denied` without `org.sso.manage`;
    /// `sso-connection-not-found`.
    pub async fn get_saml(&self, ctx: &Ctx, org_id: OrgId) -> AppResult<SamlConnection> {
        let roles = self.roles().await?;
        let mut c = self.db().acquire().await?;
        let (_, access) = self.org_access(c.ex(), ctx, org_id, Lock::None).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_SSO_MANAGE)?;
        let row = store::get_connection_of_org(c.ex(), org_id).await?.ok_or_else(connection_not_found)?;
        let required = store::get_sso_required(c.ex(), org_id).await?;
        Ok(SamlConnection::from_row(self, row, required))
    }

    /// Takes the connection out of test mode: from now on every member signs in through it.
    pub async fn saml_go_live(&self, ctx: &Ctx, org_id: OrgId) -> AppResult<SamlConnection> {
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_SSO_MANAGE)?;
        let mut row = store::get_connection_of_org(tx.ex(), org_id).await?.ok_or_else(connection_not_found)?;
        if row.status == "live" {
            return Err(DomainError::conflict("sso-connection-live", "The connection is live already.").into());
        }
        row.status = "live".to_owned();
        row.version += 1;
        row.updated_at = now;
        store::set_status(tx.ex(), org_id, "live", row.version, now).await?;
        emit(&mut tx, now, connection_event(EventType::OrgSamlWentLive, org.id, row.id, row.version, "live")).await?;
        audit(&mut tx, ctx, now, connection_audit(AuditAction::SamlWentLive, org.id, row.id, json!({}))).await?;
        let required = store::get_sso_required(tx.ex(), org_id).await?;
        tx.commit().await?;
        Ok(SamlConnection::from_row(self, row, required))
    }

    /// Removes the connection; the org no longer requires SSO.
    pub async fn remove_saml(&self, ctx: &Ctx, org_id: OrgId) -> AppResult<()> {
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_SSO_MANAGE)?;
        if org.isolated {
            return Err(DomainError::conflict(
                "org-isolated",
                "An isolated organization signs in only through its SSO: its connection cannot be removed.",
            )
            .into());
        }
        let row = store::get_connection_of_org(tx.ex(), org_id).await?.ok_or_else(connection_not_found)?;
        store::delete_connection(tx.ex(), org_id).await?;
        store::set_sso_required(tx.ex(), org_id, false).await?;
        let version = row.version + 1;
        emit(&mut tx, now, connection_event(EventType::OrgSamlRemoved, org.id, row.id, version, "removed")).await?;
        audit(&mut tx, ctx, now, connection_audit(AuditAction::SamlRemoved, org.id, row.id, json!({}))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Requires (or stops requiring) SSO for the org's members: they then sign in only through
    /// its live connection. Refuses `sso-connection-not-live` without one.
    pub async fn set_sso_required(&self, ctx: &Ctx, org_id: OrgId, required: bool) -> AppResult<SamlConnection> {
        let roles = self.roles().await?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, access) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        require_permission(&roles, access.org_actor(), perm::ORG_SSO_MANAGE)?;
        let row = store::get_connection_of_org(tx.ex(), org_id).await?.ok_or_else(connection_not_found)?;
        if required && row.status != "live" {
            return Err(DomainError::conflict(
                "sso-connection-not-live",
                "Only a live connection can be required: test it, then make it live.",
            )
            .into());
        }
        store::set_sso_required(tx.ex(), org_id, required).await?;
        let entry = Audit {
            action: AuditAction::SsoRequiredChanged,
            org_id: Some(org.id),
            target_kind: "org",
            target_id: Some(org.id.to_string()),
            details: json!({ "required": required }),
        };
        audit(&mut tx, ctx, now, entry).await?;
        tx.commit().await?;
        Ok(SamlConnection::from_row(self, row, required))
    }

    /// The SP metadata XML of a connection (public: the IdP's administrator imports it).
    pub async fn saml_sp_metadata(&self, connection_id: &str) -> AppResult<String> {
        let id: SsoConnectionId = connection_id.parse().map_err(|_| connection_not_found())?;
        let mut c = self.db().acquire().await?;
        let conn = store::get_connection(c.ex(), id).await?.ok_or_else(connection_not_found)?;
        Ok(tenantry_sso::sp_metadata_xml(&self.sp_endpoints(id), conn.sp_certificate.as_deref()))
    }

    /// Starts an SP-initiated sign-in: the URL of the IdP with the AuthnRequest and a fresh
    /// RelayState. `return_to` must be a path on this deployment (`/…`, not `//…`).
    ///
    /// Refuses: `sso-not-found` when no org with a connection matches (the same answer for an
    /// unknown org as for one without SSO); `invalid-return-to`.
    pub async fn start_saml(&self, ctx: &Ctx, by: SamlStart<'_>, return_to: Option<&str>) -> AppResult<String> {
        let _ = ctx;
        if let Some(r) = return_to {
            if !r.starts_with('/') || r.starts_with("//") || r.contains('\\') || r.len() > 2048 {
                return Err(DomainError::invalid_field("invalid-return-to", "return_to", "Must be a path here.").into());
            }
        }
        let not_found = || AppError::from(DomainError::not_found("sso-not-found", "No SSO is set up for this."));
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let org = match by {
            SamlStart::Email(email) => {
                let email = Email::parse(email).map_err(|_| not_found())?;
                match store::find_org_id_by_domain(tx.ex(), &email.domain()).await? {
                    Some(id) => org_store::get_org(tx.ex(), OrgId::from_uuid(id)).await?,
                    None => None,
                }
            }
            SamlStart::Slug(slug) => org_store::find_org_by_slug(tx.ex(), slug.trim()).await?,
        }
        .ok_or_else(not_found)?;
        let conn = store::get_connection_of_org(tx.ex(), OrgId::from_uuid(org.id)).await?.ok_or_else(not_found)?;
        let (relay_state, relay_hash) = new_opaque_token();
        let request = SsoRequestRow {
            id: tenantry_sso::new_request_id(),
            connection_id: conn.id,
            relay_state_hash: relay_hash,
            return_to: return_to.map(str::to_owned),
            created_at: now,
            expires_at: now + Duration::minutes(REQUEST_TTL_MINUTES),
            used_at: None,
        };
        store::insert_request(tx.ex(), &request).await?;
        tx.commit().await?;
        let sp = self.sp_endpoints(SsoConnectionId::from_uuid(conn.id));
        tenantry_sso::authn_request_redirect(&sp, &conn.idp_sso_url, &request.id, now, &relay_state)
            .map_err(AppError::Internal)
    }

    /// The ACS: verifies a response POSTed for connection `connection_id` and signs the person in.
    /// Every refusal is audited (`user.login_failed`, method `saml`, with the reason) and answered
    /// with its own code: the `saml-…` codes of `tenantry_sso::Refusal`, `saml-unsolicited`,
    /// `saml-in-response-to`, `saml-replay`, `saml-no-email`, `saml-email-domain`,
    /// `saml-test-mode`, `saml-user-disabled`, `saml-join-refused`.
    pub async fn saml_acs(
        &self,
        ctx: &Ctx,
        connection_id: &str,
        saml_response: &str,
        relay_state: Option<&str>,
        user_agent: Option<&str>,
    ) -> AppResult<SamlSignedIn> {
        let id: SsoConnectionId = connection_id.parse().map_err(|_| connection_not_found())?;
        let (conn, org) = {
            let mut c = self.db().acquire().await?;
            let conn = store::get_connection(c.ex(), id).await?.ok_or_else(connection_not_found)?;
            let org = org_store::get_org(c.ex(), OrgId::from_uuid(conn.org_id)).await?.ok_or_else(org_not_found)?;
            (conn, org)
        };
        let now = self.clock().now();
        let sp = self.sp_endpoints(id);
        let key_pem = match &conn.sp_key_sealed {
            Some(sealed) => Some(
                self.keyring
                    .open(sealed, conn.id.as_bytes())
                    .map_err(|e| AppError::Internal(format!("a connection's key does not open: {e}")))?,
            ),
            None => None,
        };
        let verified = {
            let (response, certs, idp) =
                (saml_response.to_owned(), conn.idp_certificates.0.clone(), conn.idp_entity_id.clone());
            let (sp_entity, acs, allow_sha1) = (sp.entity_id.clone(), sp.acs_url.clone(), conn.allow_sha1);
            tokio::task::spawn_blocking(move || {
                let expect = Expectations {
                    idp_entity_id: &idp,
                    certificates: &certs,
                    sp_entity_id: &sp_entity,
                    acs_url: &acs,
                    allow_sha1,
                    max_skew: Duration::minutes(MAX_SKEW_MINUTES),
                };
                let key = match key_pem.as_deref().map(|pem| std::str::from_utf8(pem).map_err(|e| e.to_string())) {
                    Some(pem) => Some(pem.and_then(tenantry_sso::encryption::private_key).map_err(AppError::Internal)?),
                    None => None,
                };
                Ok::<_, AppError>(tenantry_sso::verify_response_with_key(&response, &expect, now, key.as_ref()))
            })
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??
        };
        let assertion = match verified {
            Ok(a) => a,
            Err(refusal) => return Err(self.refuse(ctx, &conn, None, refusal.code(), &refusal.to_string()).await),
        };
        let return_to = match self.spend_request_and_assertion(&conn, &assertion, relay_state, now).await? {
            Ok(return_to) => return_to,
            Err((code, why)) => return Err(self.refuse(ctx, &conn, None, code, why).await),
        };
        let mapping: AttributeMapping = serde_json::from_value(conn.attribute_mapping.0.clone()).unwrap_or_default();
        let profile = mapping.profile(&assertion);
        let user = match self.resolve_saml_user(ctx, &conn, &org, &profile, now).await? {
            Ok(user) => user,
            Err((code, why, user)) => return Err(self.refuse(ctx, &conn, user.as_ref(), code, why).await),
        };
        let test = (conn.status == "test").then(|| SamlTestResult {
            name_id: assertion.name_id.clone(),
            name_id_format: assertion.name_id_format.clone(),
            attributes: assertion.attributes.clone(),
            profile: profile.clone(),
        });
        let idp_mfa_org = conn.idp_enforces_mfa.then_some(OrgId::from_uuid(conn.org_id));
        let proof = SamlProof { user, connection_id: id, idp_mfa_org };
        let state = self.sign_in(ctx, SignInStep::Saml { proof: &proof }, user_agent).await?;
        Ok(SamlSignedIn { state, return_to, test })
    }

    /// The [`SignInStep::Saml`] step: the person the ACS resolved, proven by the IdP (and by its
    /// MFA when the connection says the IdP enforces it).
    pub(crate) async fn prove_saml(&self, ctx: &Ctx, proof: &SamlProof) -> AppResult<Proven> {
        let roles = self.roles().await?;
        let mut c = self.db().acquire().await?;
        let mfa_org = proof.idp_mfa_org.map(|o| o.as_uuid());
        let claims = self.org_claims_in(c.ex(), &roles, proof.user.id, None, mfa_org).await?;
        drop(c);
        let mut methods = vec![AuthMethod::Saml { connection: proof.connection_id }];
        if let Some(org) = proof.idp_mfa_org {
            methods.push(AuthMethod::IdpMfa { org });
        }
        Ok(Proven {
            throttle_keys: login_keys(&proof.user.email_normalized, ctx.ip).into_iter().map(|(key, _)| key).collect(),
            user: proof.user.clone(),
            methods,
            rehash: None,
            claims,
            may_auto_join: false,
            has_mfa: None,
        })
    }

    /// Spends the request the response answers (bound to its RelayState) and records the
    /// assertion id, in one transaction; the inner error is a refusal.
    async fn spend_request_and_assertion(
        &self,
        conn: &SsoConnectionRow,
        assertion: &VerifiedAssertion,
        relay_state: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<Result<Option<String>, (&'static str, &'static str)>> {
        let id = SsoConnectionId::from_uuid(conn.id);
        let mut tx = self.db().begin().await?;
        // The replay first: a second POST of a response is named for what it is, whatever else
        // is wrong with it by then.
        if !store::remember_assertion(tx.ex(), id, &assertion.assertion_id, assertion.expires_at, now).await? {
            return Ok(Err(("saml-replay", "This assertion was used already.")));
        }
        let return_to = match &assertion.in_response_to {
            None if !conn.allow_idp_initiated => {
                return Ok(Err(("saml-unsolicited", "IdP-initiated sign-in is off for this connection.")))
            }
            None => None,
            Some(request_id) => {
                let hash = hash_opaque_token(relay_state.unwrap_or_default());
                match store::take_request(tx.ex(), id, request_id, &hash, now).await? {
                    Some(request) => request.return_to,
                    None => {
                        return Ok(Err((
                            "saml-in-response-to",
                            "The response does not answer a pending request of this browser.",
                        )))
                    }
                }
            }
        };
        tx.commit().await?;
        Ok(Ok(return_to))
    }

    /// The user the assertion names, created and joined just in time in a live connection;
    /// their name attributes updated. The inner error is a refusal, with the user when known.
    #[allow(clippy::type_complexity)]
    async fn resolve_saml_user(
        &self,
        ctx: &Ctx,
        conn: &SsoConnectionRow,
        org: &OrgRow,
        profile: &Profile,
        now: DateTime<Utc>,
    ) -> AppResult<Result<UserRow, (&'static str, &'static str, Option<UserRow>)>> {
        let Some(email) = profile.email.as_deref().and_then(|e| Email::parse(e).ok()) else {
            return Ok(Err(("saml-no-email", "The IdP sent no usable email address.", None)));
        };
        let org_id = OrgId::from_uuid(org.id);
        let pool = org.isolated.then_some(org_id);
        let roles = self.roles().await?;
        let mut tx = self.db().begin().await?;
        // Serializes the joins of this org, like every membership change.
        let org = org_store::lock_org(tx.ex(), org_id).await?.ok_or_else(org_not_found)?;
        if !org.isolated {
            let domains = self.org_domains(&mut tx, org.id).await?;
            if !domains.iter().any(|d| d.as_str() == email.domain()) {
                return Ok(Err((
                    "saml-email-domain",
                    "The email's domain is not one of the organization's domains.",
                    None,
                )));
            }
        }
        let existing = user_store::find_user_by_email(tx.ex(), pool, &email.normalized()).await?;
        let member = match &existing {
            Some(u) => member_store::get_member(tx.ex(), org_id, UserId::from_uuid(u.id)).await?,
            None => None,
        };
        if conn.status == "test" {
            let may_manage = member.as_ref().is_some_and(|m| {
                let role = RoleName::parse(&m.role).ok();
                let extra: Vec<RoleName> =
                    m.additional_roles.0.iter().filter_map(|r| RoleName::parse(r).ok()).collect();
                role.is_some_and(|r| roles.has_permission(&r, &extra, perm::ORG_SSO_MANAGE))
            });
            if !may_manage {
                return Ok(Err((
                    "saml-test-mode",
                    "The connection is in test mode: only the organization's admins can sign in through it.",
                    existing,
                )));
            }
        }
        let mut user = match existing {
            Some(u) => u,
            None => {
                let row = UserRow {
                    id: UserId::new().as_uuid(),
                    pool_id: pool.map(|p| p.as_uuid()),
                    email: email.as_str().to_owned(),
                    email_normalized: email.normalized(),
                    email_verified: true,
                    password_hash: None,
                    first_name: profile.first_name.clone(),
                    last_name: profile.last_name.clone(),
                    username: None,
                    username_normalized: None,
                    properties: Json(Default::default()),
                    disabled: false,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                    last_login_at: None,
                };
                user_store::insert_user(tx.ex(), &row).await?;
                let created = User::from(row.clone());
                emit(&mut tx, now, created.event(EventType::UserCreated)).await?;
                let details = json!({ "email": created.email, "how": "saml", "connection_id": conn.id.to_string() });
                let actor = Ctx { actor: Actor::User(UserId::from_uuid(row.id)), ..ctx.clone() };
                audit(&mut tx, &actor, now, Audit::user(AuditAction::UserCreated, row.id, details)).await?;
                row
            }
        };
        if user.disabled {
            return Ok(Err(("saml-user-disabled", "This account is disabled.", Some(user))));
        }
        let names_changed = (profile.first_name.is_some() && profile.first_name != user.first_name)
            || (profile.last_name.is_some() && profile.last_name != user.last_name);
        if names_changed {
            user.first_name = profile.first_name.clone().or(user.first_name);
            user.last_name = profile.last_name.clone().or(user.last_name);
            user.version += 1;
            user.updated_at = now;
            user_store::update_user(tx.ex(), &user).await?;
            emit(&mut tx, now, User::from(user.clone()).event(EventType::UserUpdated)).await?;
            let details = json!({ "fields": ["first_name", "last_name"], "how": "saml" });
            let actor = Ctx { actor: Actor::User(UserId::from_uuid(user.id)), ..ctx.clone() };
            audit(&mut tx, &actor, now, Audit::user(AuditAction::UserUpdated, user.id, details)).await?;
        }
        let group_role = mapped_role(&roles, conn, profile);
        if let Some(m) = member {
            self.follow_groups(&mut tx, ctx, &roles, m, group_role, now).await?;
        } else {
            let via = JoinVia::Sso { role: group_role.unwrap_or_else(|| roles.lowest_role().clone()) };
            match self.join_org(&mut tx, ctx, &org, &user, via, now).await {
                Ok(_) => {}
                Err(AppError::Domain(e)) => {
                    tracing::info!(code = e.code, "an SSO sign-in could not join its org");
                    return Ok(Err(("saml-join-refused", "The organization cannot take this member.", Some(user))));
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        Ok(Ok(user))
    }

    /// A member's hierarchy role follows their IdP groups at each sign-in, when one of them is
    /// mapped; an owner keeps ownership (it changes hands only by a transfer).
    async fn follow_groups(
        &self,
        tx: &mut tenantry_store::Tx,
        ctx: &Ctx,
        roles: &tenantry_core::org::RoleConfig,
        mut row: tenantry_store::members::MemberRow,
        group_role: Option<RoleName>,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let Some(role) = group_role else { return Ok(()) };
        let current = RoleName::parse(&row.role).ok();
        if current.as_ref() == Some(&role) || current.as_ref().is_some_and(|r| roles.is_owner_role(r)) {
            return Ok(());
        }
        let previous = std::mem::replace(&mut row.role, role.as_str().to_owned());
        row.version += 1;
        row.updated_at = now;
        member_store::update_member(tx.ex(), &row).await?;
        let event = crate::members::membership_event(EventType::UserRoleChangedWithinOrg, &row, Some(&previous));
        emit(tx, now, event).await?;
        let actor = Ctx { actor: Actor::User(UserId::from_uuid(row.user_id)), ..ctx.clone() };
        let details = json!({ "role": row.role, "previous_role": previous, "how": "saml-groups" });
        audit(tx, &actor, now, Audit::member(AuditAction::MemberRoleChanged, row.org_id, row.user_id, details)).await?;
        Ok(())
    }

    /// Audits a refused response and builds its answer.
    async fn refuse(
        &self,
        ctx: &Ctx,
        conn: &SsoConnectionRow,
        user: Option<&UserRow>,
        code: &'static str,
        why: &str,
    ) -> AppError {
        let now = self.clock().now();
        let written = async {
            let mut tx = self.db().begin().await?;
            let entry = Audit {
                action: AuditAction::LoginFailed,
                org_id: Some(conn.org_id),
                target_kind: "user",
                target_id: user.map(|u| u.id.to_string()),
                details: json!({ "method": "saml", "reason": code, "connection_id": conn.id.to_string() }),
            };
            audit(&mut tx, ctx, now, entry).await?;
            tx.commit().await.map_err(AppError::from)
        }
        .await;
        if let Err(e) = written {
            return e;
        }
        DomainError::unauthenticated(code, format!("Single sign-on refused: {why}")).into()
    }

    /// Converts an org to isolated (docs/design.md §4.15; backend only): its members move into
    /// its own user pool and sign in only through its SSO. Refused with `isolation-blocked`,
    /// naming them, while any member also belongs to another org or has a password; with
    /// `sso-connection-not-found` while the org has no SAML connection.
    pub async fn isolate_org(&self, ctx: &Ctx, org_id: OrgId) -> AppResult<()> {
        crate::authz::require_backend(&ctx.actor)?;
        let now = self.clock().now();
        let mut tx = self.db().begin().await?;
        let (org, _) = self.org_access(tx.ex(), ctx, org_id, Lock::Org).await?;
        if org.isolated {
            return Ok(());
        }
        store::get_connection_of_org(tx.ex(), org_id).await?.ok_or_else(connection_not_found)?;
        let candidates = store::isolation_candidates(tx.ex(), org_id).await?;
        let blockers: Vec<String> = candidates
            .iter()
            .filter(|c| c.org_count > 1 || c.has_password)
            .map(|c| {
                let why = match (c.org_count > 1, c.has_password) {
                    (true, true) => "member of other orgs, has a password",
                    (true, false) => "member of other orgs",
                    _ => "has a password",
                };
                format!("{} ({why})", c.email)
            })
            .collect();
        if !blockers.is_empty() {
            return Err(DomainError::conflict(
                "isolation-blocked",
                format!(
                    "These members must leave their other orgs or lose their password first: {}",
                    blockers.join("; ")
                ),
            )
            .into());
        }
        let moved = store::isolate_org(tx.ex(), org_id).await?;
        let entry = Audit {
            action: AuditAction::OrgUpdated,
            org_id: Some(org.id),
            target_kind: "org",
            target_id: Some(org.id.to_string()),
            details: json!({ "isolated": true, "members_moved": moved }),
        };
        audit(&mut tx, ctx, now, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Fetches IdP metadata through the webhooks' outbound guard (no internal address unless the
    /// deployment allows private targets, checked again at connect time; no redirects, no proxy).
    async fn fetch_metadata(&self, raw: &str) -> AppResult<String> {
        use tenantry_webhooks::target::{check_target, parse_target_url, GuardedResolver, SystemResolver};
        let allow_private = self.settings().webhooks.allow_private_targets;
        let forbidden = |e: tenantry_webhooks::target::TargetError| {
            AppError::from(DomainError::invalid_field("target-forbidden", "metadata_url", e.to_string()))
        };
        let url = parse_target_url(raw, allow_private).map_err(forbidden)?;
        check_target(&url, allow_private, &SystemResolver).await.map_err(forbidden)?;
        let unreachable = |detail: String| {
            AppError::from(DomainError::invalid_field("saml-metadata-unreachable", "metadata_url", detail))
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(GuardedResolver { allow_private }))
            .build()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut resp =
            client.get(url).send().await.map_err(|e| unreachable(format!("The metadata URL failed: {e}")))?;
        if !resp.status().is_success() {
            return Err(unreachable(format!("The metadata URL answered {}.", resp.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| unreachable(e.to_string()))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_METADATA_BYTES {
                return Err(unreachable("The metadata is too large.".into()));
            }
        }
        String::from_utf8(body).map_err(|_| unreachable("The metadata is not UTF-8.".into()))
    }
}

/// The mapping as stored: each `group_roles` role resolved to its exact name, and refused unless
/// it is a hierarchy role below the owner's (ownership changes hands only by a transfer).
fn checked_mapping(
    roles: &tenantry_core::org::RoleConfig,
    mut mapping: AttributeMapping,
) -> AppResult<AttributeMapping> {
    for role in mapping.group_roles.values_mut() {
        let resolved = roles.resolve(role).ok().filter(|r| !roles.is_owner_role(r)).ok_or_else(|| {
            let below: Vec<&str> = roles.hierarchy().skip(1).map(RoleName::as_str).collect();
            AppError::from(DomainError::invalid_field(
                "saml-group-role-invalid",
                "attribute_mapping.group_roles",
                format!("'{}' cannot be given through SSO groups; use one of: {}.", role.trim(), below.join(", ")),
            ))
        })?;
        *role = resolved.as_str().to_owned();
    }
    Ok(mapping)
}

/// The highest hierarchy role the person's IdP groups map to, if any is mapped.
fn mapped_role(roles: &tenantry_core::org::RoleConfig, conn: &SsoConnectionRow, profile: &Profile) -> Option<RoleName> {
    let mapping: AttributeMapping = serde_json::from_value(conn.attribute_mapping.0.clone()).unwrap_or_default();
    profile
        .groups
        .iter()
        .filter_map(|g| mapping.group_roles.get(g))
        .filter_map(|r| roles.resolve(r).ok())
        .filter(|r| !roles.is_owner_role(r))
        .max_by_key(|r| roles.rank(r))
}

fn parse_metadata(xml: &str) -> AppResult<IdpMetadata> {
    IdpMetadata::parse(xml).map_err(metadata_invalid)
}

fn metadata_invalid(e: tenantry_sso::metadata::MetadataError) -> AppError {
    DomainError::invalid_field("saml-metadata-invalid", "metadata", e.to_string()).into()
}
