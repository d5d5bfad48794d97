//! Two-factor authentication over HTTP (docs/design.md §3, §4.14): the sign-in's code step
//! (`POST /api/v1/login/second-factor`), the signed-in user's 2FA (`/api/v1/me/mfa…`), an org's
//! requirement (`PUT …/orgs/{org_id}/mfa-requirement` in both APIs), and the backend's reset of a
//! user's 2FA. Each operation translates and calls one use case in `tenantry_app::mfa`.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use tenantry_app::mfa::{MfaRequirement, MfaStatus, OrgMfaRequirement};
use tenantry_app::sign_in::SignInStep;
use tenantry_core::{DomainError, OrgId, UserId};
use uuid::Uuid;

use crate::backend::BackendTag;
use crate::enduser::account::{login_answer, user_agent, Done, LoginResponse};
use crate::enduser::{EndUserTag, UserAuth};
use crate::security::{app, ctx, BackendKey};
use crate::ApiError;

/// The code step of a sign-in.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct SecondFactorIn {
    /// The `pending_token` the password step answered with.
    pub pending_token: String,
    /// A 6-digit code from the authenticator app. Give this or `backup_code`.
    pub code: Option<String>,
    /// One of the backup codes (`abcd-efgh-ijkl-mnop`; case, spaces and dashes do not matter).
    pub backup_code: Option<String>,
}

/// A code, to confirm enrollment.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct MfaCodeIn {
    /// A 6-digit code from the authenticator app.
    pub code: String,
}

/// The password, checked again before a sensitive change.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct PasswordCheckIn {
    pub password: String,
}

/// What an authenticator app needs. The secret is shown only while enrolling.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct MfaEnrollmentOut {
    /// `otpauth://totp/…`: open it on the phone, or scan `qr_svg`.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
    /// The secret in base32, in groups of four, for typing into the app by hand.
    pub secret: String,
    /// The parameters: SHA-1, 6 digits, 30-second steps.
    pub algorithm: String,
    pub digits: u32,
    pub period: u32,
}

/// Backup codes, shown this once.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct BackupCodesOut {
    /// Ten single-use codes. Keep them somewhere safe: each signs in once instead of a code.
    pub backup_codes: Vec<String>,
}

/// One of the user's orgs that requires 2FA.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct RequiringOrgOut {
    pub org_id: Uuid,
    pub name: String,
    pub slug: String,
    /// From when members without 2FA may not act in the org.
    pub enforced_from: DateTime<Utc>,
}

/// The signed-in user's 2FA.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct MfaStatusOut {
    pub enabled: bool,
    /// An enrollment was started and not confirmed yet.
    pub enrollment_pending: bool,
    pub backup_codes_left: u32,
    /// The user's orgs that require 2FA: turning it off locks them out of these.
    pub orgs_requiring_mfa: Vec<RequiringOrgOut>,
}

impl From<MfaStatus> for MfaStatusOut {
    fn from(s: MfaStatus) -> MfaStatusOut {
        MfaStatusOut {
            enabled: s.enabled,
            enrollment_pending: s.enrollment_pending,
            backup_codes_left: s.backup_codes_left,
            orgs_requiring_mfa: s
                .orgs_requiring
                .into_iter()
                .map(|o| RequiringOrgOut {
                    org_id: o.org_id.as_uuid(),
                    name: o.name,
                    slug: o.slug,
                    enforced_from: o.enforced_from,
                })
                .collect(),
        }
    }
}

/// An org's 2FA requirement, to set.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct MfaRequirementIn {
    /// Whether members must have 2FA.
    pub required: bool,
    /// When `required`: the deadline, after which members without 2FA may not act in the org
    /// (in the future, within a year). Absent: at once.
    pub grace_until: Option<DateTime<Utc>>,
}

impl MfaRequirementIn {
    fn requirement(&self) -> Result<MfaRequirement, ApiError> {
        match (self.required, self.grace_until) {
            (false, None) => Ok(MfaRequirement::Off),
            (false, Some(_)) => {
                Err(DomainError::invalid_field("invalid-deadline", "grace_until", "A deadline needs `required: true`.")
                    .into())
            }
            (true, None) => Ok(MfaRequirement::Now),
            (true, Some(at)) => Ok(MfaRequirement::By(at)),
        }
    }
}

/// An org's 2FA requirement.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct MfaRequirementOut {
    pub org_id: Uuid,
    pub required: bool,
    /// When the requirement was set.
    pub required_at: Option<DateTime<Utc>>,
    /// The deadline; absent when enforced from `required_at`.
    pub grace_until: Option<DateTime<Utc>>,
    /// The org's version after the change.
    pub version: i64,
}

impl From<OrgMfaRequirement> for MfaRequirementOut {
    fn from(r: OrgMfaRequirement) -> MfaRequirementOut {
        MfaRequirementOut {
            org_id: r.org_id.as_uuid(),
            required: r.required,
            required_at: r.required_at,
            grace_until: r.grace_until,
            version: r.version,
        }
    }
}

#[derive(ApiResponse)]
pub enum EnrollResponse {
    /// Enrollment started: add the account to the app, then confirm with a code.
    #[oai(status = 201)]
    Created(Json<MfaEnrollmentOut>),
}

pub struct MfaSignInApi;

#[OpenApi(prefix_path = "/api/v1", tag = "EndUserTag::Authentication")]
impl MfaSignInApi {
    /// Sign in: the second factor
    ///
    /// After `POST /api/v1/login` answered `202` with a `pending_token`: a code from the
    /// authenticator app (`code`) or a backup code (`backup_code`). A code works once; the pending
    /// sign-in lasts 5 minutes and takes 5 codes, then `410 sign-in-expired`. Wrong codes count
    /// against the account's throttle (429 with `Retry-After`).
    #[oai(path = "/login/second-factor", method = "post", operation_id = "login_second_factor")]
    async fn second_factor(&self, req: &Request, body: Json<SecondFactorIn>) -> Result<LoginResponse, ApiError> {
        let app = app(req)?;
        let b = &body.0;
        let step = match (&b.code, &b.backup_code) {
            (Some(code), None) => SignInStep::Totp { pending: &b.pending_token, code },
            (None, Some(code)) => SignInStep::BackupCode { pending: &b.pending_token, code },
            _ => {
                return Err(
                    DomainError::invalid_field("invalid-input", "code", "Give either `code` or `backup_code`.").into()
                )
            }
        };
        let state = app.sign_in(&ctx(req, tenantry_app::Actor::Anonymous), step, user_agent(req)).await?;
        Ok(login_answer(app, state))
    }
}

pub struct MyMfaApi;

#[OpenApi(prefix_path = "/api/v1/me/mfa", tag = "EndUserTag::Account")]
impl MyMfaApi {
    /// My two-factor authentication
    ///
    /// Whether it is on, the backup codes left, and which of my orgs require it.
    #[oai(path = "/", method = "get", operation_id = "get_my_mfa")]
    async fn status(&self, req: &Request, auth: UserAuth) -> Result<Json<MfaStatusOut>, ApiError> {
        Ok(Json(app(req)?.mfa_status(&auth.ctx(req)).await?.into()))
    }

    /// Start setting up an authenticator
    ///
    /// A fresh secret (replacing an unconfirmed one), as an `otpauth://` URI, a QR code and the
    /// key for typing. 2FA is on only once `POST /api/v1/me/mfa/confirm` takes a code.
    #[oai(path = "/enroll", method = "post", operation_id = "enroll_mfa")]
    async fn enroll(&self, req: &Request, auth: UserAuth) -> Result<EnrollResponse, ApiError> {
        let e = app(req)?.enroll_mfa(&auth.ctx(req)).await?;
        let p = e.provisioning;
        Ok(EnrollResponse::Created(Json(MfaEnrollmentOut {
            otpauth_uri: p.uri,
            qr_svg: p.qr_svg,
            secret: p.grouped_key,
            algorithm: "SHA1".into(),
            digits: 6,
            period: 30,
        })))
    }

    /// Confirm the authenticator
    ///
    /// Turns 2FA on and returns the 10 backup codes, the only time they are shown.
    #[oai(path = "/confirm", method = "post", operation_id = "confirm_mfa")]
    async fn confirm(
        &self,
        req: &Request,
        auth: UserAuth,
        body: Json<MfaCodeIn>,
    ) -> Result<Json<BackupCodesOut>, ApiError> {
        let codes = app(req)?.confirm_mfa(&auth.ctx(req), &body.0.code).await?;
        Ok(Json(BackupCodesOut { backup_codes: codes }))
    }

    /// Turn two-factor authentication off
    ///
    /// Needs the password. Orgs that require 2FA refuse the user afterwards (see `GET`).
    #[oai(path = "/disable", method = "post", operation_id = "disable_mfa")]
    async fn disable(&self, req: &Request, auth: UserAuth, body: Json<PasswordCheckIn>) -> Result<Done, ApiError> {
        app(req)?.disable_mfa(&auth.ctx(req), &body.0.password).await?;
        Ok(Done::NoContent)
    }

    /// New backup codes
    ///
    /// Needs the password. The old codes stop working; the new ones are shown this once.
    #[oai(path = "/backup-codes", method = "post", operation_id = "regenerate_backup_codes")]
    async fn regenerate(
        &self,
        req: &Request,
        auth: UserAuth,
        body: Json<PasswordCheckIn>,
    ) -> Result<Json<BackupCodesOut>, ApiError> {
        let codes = app(req)?.regenerate_backup_codes(&auth.ctx(req), &body.0.password).await?;
        Ok(Json(BackupCodesOut { backup_codes: codes }))
    }
}

pub struct OrgMfaApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "EndUserTag::Orgs")]
impl OrgMfaApi {
    /// Require two-factor authentication
    ///
    /// Now, by a deadline, or no more (`org.require_2fa`, the Owner's). The caller must have 2FA.
    /// Members without it are emailed, reminded a day before the deadline, and refused
    /// (`403 mfa-required`) after it.
    #[oai(path = "/:org_id/mfa-requirement", method = "put", operation_id = "set_my_org_mfa_requirement")]
    async fn set(
        &self,
        req: &Request,
        auth: UserAuth,
        org_id: Path<Uuid>,
        body: Json<MfaRequirementIn>,
    ) -> Result<Json<MfaRequirementOut>, ApiError> {
        let requirement = body.0.requirement()?;
        let r = app(req)?.set_org_mfa_requirement(&auth.ctx(req), OrgId::from_uuid(org_id.0), requirement).await?;
        Ok(Json(r.into()))
    }
}

pub struct BackendMfaApi;

#[OpenApi(prefix_path = "/api/backend/v1", tag = "BackendTag::Orgs")]
impl BackendMfaApi {
    /// Require two-factor authentication in an org
    ///
    /// Now, by a deadline, or no more. Members without 2FA are emailed, reminded a day before the
    /// deadline, refused (`403 mfa-required`) after it, and their tokens mark the org
    /// `mfa_required` with no role or permissions.
    #[oai(path = "/orgs/:org_id/mfa-requirement", method = "put", operation_id = "set_org_mfa_requirement")]
    async fn set(
        &self,
        req: &Request,
        auth: BackendKey,
        org_id: Path<Uuid>,
        body: Json<MfaRequirementIn>,
    ) -> Result<Json<MfaRequirementOut>, ApiError> {
        let requirement = body.0.requirement()?;
        let r = app(req)?.set_org_mfa_requirement(&ctx(req, auth.0), OrgId::from_uuid(org_id.0), requirement).await?;
        Ok(Json(r.into()))
    }

    /// Reset a user's two-factor authentication
    ///
    /// For a user who lost their authenticator and backup codes: 2FA is off, the user is emailed,
    /// and the audit trail records it. `409 mfa-not-enabled` when it was off.
    #[oai(path = "/users/:user_id/mfa/reset", method = "post", operation_id = "reset_user_mfa")]
    async fn reset(&self, req: &Request, auth: BackendKey, user_id: Path<Uuid>) -> Result<Done, ApiError> {
        app(req)?.reset_mfa(&ctx(req, auth.0), UserId::from_uuid(user_id.0)).await?;
        Ok(Done::NoContent)
    }
}
