//! RFC 9457 problem details: the only place where errors become HTTP responses.
//!
//! Every error body is `application/problem+json` with a stable `type` of the form
//! `urn:tenantry:problem:<code>`, a `title` per status, a `detail`, and `errors` naming fields
//! where input was at fault. Domain errors keep their code; framework errors (bad JSON, unknown
//! route, wrong method, body too large) get one per status. Unexpected failures are logged with
//! their cause and answered with a generic 500 that reveals nothing.

use std::collections::HashMap;
use std::sync::OnceLock;

use poem::http::{header, HeaderValue, StatusCode};
use poem::{IntoResponse, Response};
use poem_openapi::error::ParsePathError;
use poem_openapi::registry::{MetaMediaType, MetaParamIn, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object, OperationId};
use tenantry_app::AppError;
use tenantry_core::{DomainError, ErrorKind};

/// One field's problem.
#[derive(Debug, Clone, PartialEq, Eq, Object, serde::Serialize)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct FieldProblem {
    /// The field's name, as on the wire.
    pub field: String,
    pub detail: String,
}

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, PartialEq, Eq, Object, serde::Serialize)]
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct Problem {
    /// A stable URN naming the problem, e.g. `urn:tenantry:problem:email-taken`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the status.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for people.
    pub detail: String,
    /// Problems with individual input fields.
    #[oai(default, skip_serializing_if_is_empty)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// An error answer of the API. Build one from a [`DomainError`], an [`AppError`] or a
/// [`poem::Error`]; it renders itself as problem+json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: errors travel in `Result`s on every path, and should stay small.
    pub problem: Box<Problem>,
    pub retry_after_secs: Option<u64>,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl ApiError {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            problem: Box::new(Problem {
                problem_type: format!("urn:tenantry:problem:{code}"),
                title: status.canonical_reason().unwrap_or("Error").to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                errors: Vec::new(),
            }),
            retry_after_secs: None,
        }
    }

    /// The generic answer to an unexpected failure.
    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side. It has been logged.",
        )
    }

    /// Maps an error raised by poem or poem-openapi (parsing, routing, limits) by its status.
    /// When the error carries its operation's id, a malformed path parameter is named as in the
    /// OpenAPI document (see [`ApiError::bad_path_param`]).
    pub fn from_poem(err: &poem::Error) -> ApiError {
        let operation = err.data::<OperationId>().map(|o| o.0);
        if let Some(api) = err.downcast_ref::<ApiError>() {
            let mut api = api.clone();
            if let Some(op) = operation {
                api.name_path_params(op);
            }
            return api;
        }
        if let Some(e) = err.downcast_ref::<ParsePathError>() {
            let mut api = ApiError::bad_path_param(e.name);
            if let Some(op) = operation {
                api.name_path_params(op);
            }
            return api;
        }
        let status = err.status();
        let (code, detail) = match status {
            StatusCode::BAD_REQUEST => ("bad-request", err.to_string()),
            StatusCode::UNAUTHORIZED => (
                "unauthenticated",
                "Missing credentials: send `Authorization: Bearer <API key>` to the backend API, or an access \
                 token (or the session cookie) to the end-user API."
                    .to_owned(),
            ),
            StatusCode::NOT_FOUND => ("not-found", "There is nothing at this path.".to_owned()),
            StatusCode::METHOD_NOT_ALLOWED => {
                ("method-not-allowed", "This path does not accept this method.".to_owned())
            }
            StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "The request body is too large.".to_owned()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", err.to_string()),
            StatusCode::NOT_ACCEPTABLE => ("not-acceptable", err.to_string()),
            s if s.is_server_error() => {
                tracing::error!(error = %err, "unhandled framework error");
                return ApiError::internal();
            }
            _ => ("bad-request", err.to_string()),
        };
        ApiError::new(status, code, detail)
    }

    /// A path parameter that does not parse, as poem-openapi reports it: by its internal name
    /// (`param0`, `param1`, … in path order), since the operation is not known yet. The shell
    /// calls [`ApiError::from_poem`] with the operation's id, which puts the documented name in.
    fn bad_path_param(internal: &str) -> ApiError {
        let mut api = ApiError::new(StatusCode::BAD_REQUEST, "bad-request", "A path parameter is malformed.");
        api.problem.errors = vec![FieldProblem { field: internal.to_owned(), detail: "Malformed.".to_owned() }];
        api
    }

    /// Replaces poem-openapi's internal path parameter names by the operation's documented ones
    /// and says what was expected.
    fn name_path_params(&mut self, operation_id: &str) {
        let Some(params) = path_params().get(operation_id) else { return };
        for field in &mut self.problem.errors {
            let Some(index) = field.field.strip_prefix("param").and_then(|n| n.parse::<usize>().ok()) else {
                continue;
            };
            let Some(param) = params.get(index) else { continue };
            let expected = match param.format {
                Some("uuid") => "a UUID".to_owned(),
                Some(format) => format!("a {} ({format})", param.ty),
                None => format!("a {}", param.ty),
            };
            field.field = param.name.clone();
            field.detail = format!("Not {expected}.");
            self.problem.detail = format!("The path parameter `{}` is not {expected}.", param.name);
        }
    }

    fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.problem).unwrap_or_default()
    }
}

/// A path parameter of an operation, as documented.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PathParam {
    name: String,
    ty: &'static str,
    format: Option<&'static str>,
}

/// Each operation's path parameters in the order they appear in its path, which is the order of
/// poem-openapi's internal names. Built once, from the same metadata the OpenAPI document is.
fn path_params() -> &'static HashMap<&'static str, Vec<PathParam>> {
    static PARAMS: OnceLock<HashMap<&'static str, Vec<PathParam>>> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let mut by_operation = HashMap::new();
        for api in <crate::Apis as poem_openapi::OpenApi>::meta() {
            for path in api.paths {
                let names = path_variables(&path.path);
                for op in path.operations {
                    let Some(id) = op.operation_id else { continue };
                    let params = names
                        .iter()
                        .map(|name| {
                            let schema = op
                                .params
                                .iter()
                                .find(|p| p.in_type == MetaParamIn::Path && p.name == *name)
                                .map(|p| &p.schema);
                            let (ty, format) = match schema {
                                Some(MetaSchemaRef::Inline(s)) => (s.ty, s.format),
                                _ => ("value", None),
                            };
                            PathParam { name: name.clone(), ty, format }
                        })
                        .collect();
                    by_operation.insert(id, params);
                }
            }
        }
        by_operation
    })
}

/// The `{variables}` of an OpenAPI path, in order.
fn path_variables(path: &str) -> Vec<String> {
    path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).map(str::to_owned).collect()
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> ApiError {
        let status = match e.kind {
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Gone => StatusCode::GONE,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        };
        let mut api = ApiError::new(status, e.code, e.detail);
        api.problem.errors = e.fields.into_iter().map(|f| FieldProblem { field: f.field, detail: f.detail }).collect();
        api.retry_after_secs = e.retry_after_secs;
        api
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        match e {
            AppError::Domain(d) => d.into(),
            e if e.is_overloaded() => {
                tracing::warn!(error = %e, "database pool exhausted");
                let mut api = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The service is busy; retry shortly.",
                );
                api.retry_after_secs = Some(1);
                api
            }
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::internal()
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.problem.detail)
    }
}

impl std::error::Error for ApiError {}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        self.clone().into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp =
            Response::builder().status(self.status).header(header::CONTENT_TYPE, PROBLEM_JSON).body(self.body());
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// Statuses every operation may answer with a problem, as documented in the OpenAPI document.
const DOCUMENTED: &[(u16, &str)] = &[
    (400, "The request could not be parsed (malformed JSON, wrong types, missing fields)."),
    (401, "Missing, malformed, revoked or unknown credentials."),
    (403, "The credentials may not do this."),
    (404, "The target does not exist, or the caller may not know that it does."),
    (409, "The change conflicts with existing state."),
    (413, "The request body is too large."),
    (415, "The request body is not JSON."),
    (422, "A value breaks a rule; `errors` names the fields."),
    (429, "Too many requests; see `Retry-After`."),
    (503, "The service is busy; see `Retry-After`."),
];

impl ApiResponse for ApiError {
    const BAD_REQUEST_HANDLER: bool = true;

    fn meta() -> MetaResponses {
        let media = || vec![MetaMediaType { content_type: PROBLEM_JSON, schema: Problem::schema_ref() }];
        let mut responses: Vec<MetaResponse> = DOCUMENTED
            .iter()
            .map(|(status, description)| MetaResponse {
                description,
                status: Some(*status),
                status_range: None,
                content: media(),
                headers: vec![],
            })
            .collect();
        responses.push(MetaResponse {
            description: "Any other error, as problem+json.",
            status: None,
            status_range: None,
            content: media(),
            headers: vec![],
        });
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }

    fn from_parse_request_error(err: poem::Error) -> Self {
        match err.downcast_ref::<ParsePathError>() {
            // Named by the shell, which knows the operation (see `name_path_params`).
            Some(e) => ApiError::bad_path_param(e.name),
            None => ApiError::from_poem(&err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_errors_keep_their_code_and_fields() {
        let e = DomainError::invalid_field("invalid-email", "email", "The email address has no '@'.");
        let api = ApiError::from(e);
        assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(api.problem.problem_type, "urn:tenantry:problem:invalid-email");
        assert_eq!(api.problem.errors[0].field, "email");
        let body: serde_json::Value = serde_json::from_slice(&api.body()).unwrap();
        assert_eq!(body["type"], "urn:tenantry:problem:invalid-email");
        assert_eq!(body["status"], 422);
    }

    #[test]
    fn every_kind_has_its_status() {
        let cases = [
            (ErrorKind::Unauthenticated, 401),
            (ErrorKind::Forbidden, 403),
            (ErrorKind::NotFound, 404),
            (ErrorKind::Conflict, 409),
            (ErrorKind::Gone, 410),
            (ErrorKind::TooManyRequests, 429),
        ];
        for (kind, status) in cases {
            assert_eq!(ApiError::from(DomainError::new(kind, "x", "y")).status.as_u16(), status);
        }
    }

    #[test]
    fn rendered_with_headers() {
        let mut e = ApiError::from(DomainError::new(ErrorKind::TooManyRequests, "slow-down", "Wait."));
        e.retry_after_secs = Some(30);
        let resp = e.into_response();
        assert_eq!(resp.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "30");
        let unauth = ApiError::from_poem(&poem::Error::from_status(StatusCode::UNAUTHORIZED)).into_response();
        assert_eq!(unauth.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn path_parameters_are_named_as_documented() {
        let mut api = ApiError::bad_path_param("param1");
        api.name_path_params("get_org_member");
        assert_eq!(api.status, StatusCode::BAD_REQUEST);
        assert_eq!(api.problem.problem_type, "urn:tenantry:problem:bad-request");
        assert_eq!(api.problem.detail, "The path parameter `user_id` is not a UUID.");
        assert_eq!(api.problem.errors, [FieldProblem { field: "user_id".into(), detail: "Not a UUID.".into() }]);
        let mut api = ApiError::bad_path_param("param0");
        api.name_path_params("get_org_member");
        assert_eq!(api.problem.errors[0].field, "org_id");
    }

    #[test]
    fn every_operation_with_a_path_parameter_is_known() {
        let params = path_params();
        assert_eq!(params["get_user"], [PathParam { name: "user_id".into(), ty: "string", format: Some("uuid") }]);
        let domain = &params["add_org_domain"];
        assert_eq!(domain.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["org_id", "domain"]);
        for (op, list) in params {
            assert!(list.iter().all(|p| !p.name.starts_with("param")), "{op}: {list:?}");
        }
    }

    #[test]
    fn an_unknown_operation_keeps_the_generic_detail() {
        let mut api = ApiError::bad_path_param("param0");
        api.name_path_params("no_such_operation");
        assert_eq!(api.problem.detail, "A path parameter is malformed.");
    }

    #[test]
    fn server_errors_reveal_nothing() {
        let e = ApiError::from(AppError::Internal("secret detail".into()));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.problem.detail.contains("secret"));
    }
}
