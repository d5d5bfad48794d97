//! Calls to Tenantry's backend API (`/api/backend/v1/…`) with a backend API key
//! (`Authorization: Bearer tnt_…`).

use std::time::Duration;

use poem::http::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::customers::OrgData;
use crate::problem::Problem;

/// A client for one Tenantry deployment.
#[derive(Clone)]
pub struct Tenantry {
    http: reqwest::Client,
    /// Without a trailing slash.
    base: String,
    api_key: String,
}

impl std::fmt::Debug for Tenantry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenantry").field("base", &self.base).field("api_key", &"<redacted>").finish()
    }
}

/// Why a call to Tenantry failed.
#[derive(Debug, thiserror::Error)]
pub enum TenantryError {
    #[error("Tenantry could not be reached: {0}")]
    Unreachable(#[source] reqwest::Error),
    /// Tenantry answered with an error; `problem` is its problem+json body, when it sent one.
    #[error("Tenantry answered {status}")]
    Refused { status: StatusCode, problem: Option<Value> },
    #[error("Tenantry's answer is not the expected JSON: {0}")]
    BadAnswer(#[source] reqwest::Error),
}

impl Tenantry {
    /// A client for the Tenantry at `base_url` (e.g. `https://auth.example.com`), calling with `api_key`.
    pub fn new(base_url: &str, api_key: String) -> reqwest::Result<Tenantry> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("billing-sync/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Tenantry { http, base: base_url.trim_end_matches('/').to_owned(), api_key })
    }

    /// Sets the org's seat limit (`PATCH /api/backend/v1/orgs/{org_id}`); `None` sends `null`, which
    /// is unlimited (an absent field would leave the limit as it is). Returns the updated org.
    pub async fn set_max_users(&self, org_id: Uuid, max_users: Option<u32>) -> Result<OrgData, TenantryError> {
        let response = self
            .http
            .patch(format!("{}/api/backend/v1/orgs/{org_id}", self.base))
            .bearer_auth(&self.api_key)
            .json(&json!({ "max_users": max_users }))
            .send()
            .await
            .map_err(TenantryError::Unreachable)?;
        let status = response.status();
        if status.is_success() {
            return response.json::<OrgData>().await.map_err(TenantryError::BadAnswer);
        }
        let problem = response.json::<Value>().await.ok();
        Err(TenantryError::Refused {
            status: StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
            problem,
        })
    }
}

impl From<TenantryError> for Problem {
    /// An org Tenantry does not know keeps its 404: the caller named it. Every other failure is
    /// 502, ours or Tenantry's to fix (a revoked key, an outage), with Tenantry's answer attached.
    fn from(e: TenantryError) -> Problem {
        match e {
            TenantryError::Refused { status, problem } => {
                let upstream = problem.as_ref().and_then(|p| p["detail"].as_str()).unwrap_or("no details");
                let (status, code, detail) = if status == StatusCode::NOT_FOUND {
                    (StatusCode::NOT_FOUND, "org-not-found", format!("Tenantry: {upstream}"))
                } else {
                    (StatusCode::BAD_GATEWAY, "tenantry-refused", format!("Tenantry answered {status}: {upstream}"))
                };
                Problem { status, code, detail, tenantry: problem }
            }
            TenantryError::Unreachable(e) => {
                tracing::warn!(error = %error_chain(&e), "Tenantry could not be reached");
                Problem::new(
                    StatusCode::BAD_GATEWAY,
                    "tenantry-unreachable",
                    format!("Tenantry could not be reached: {}", error_chain(&e)),
                )
            }
            TenantryError::BadAnswer(e) => {
                tracing::warn!(error = %error_chain(&e), "unexpected answer from Tenantry");
                Problem::new(
                    StatusCode::BAD_GATEWAY,
                    "tenantry-bad-answer",
                    "Tenantry's answer was not the expected organization",
                )
            }
        }
    }
}

/// An error with its causes, which say what actually failed (refused, timed out, DNS).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
