//! Error answers as RFC 9457 problem details (`application/problem+json`), like Tenantry's own:
//! a stable `type` (`urn:billing-sync:problem:<code>`), a `title`, the `status` and a `detail`.
//! When Tenantry refused a call, its own problem is passed on in a `tenantry` member.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Tenantry's answer, when the problem is Tenantry's.
    pub tenantry: Option<Value>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem { status, code, detail: detail.into(), tenantry: None }
    }

    pub fn body(&self) -> Value {
        let mut body = json!({
            "type": format!("urn:billing-sync:problem:{}", self.code),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some(upstream) = &self.tenantry {
            body["tenantry"] = upstream.clone();
        }
        body
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        Response::builder().status(self.status).content_type("application/problem+json").body(self.body().to_string())
    }
}

impl From<Problem> for poem::Error {
    fn from(p: Problem) -> poem::Error {
        poem::Error::from_response(p.into_response())
    }
}
