//! A typed client for Tenantry's backend API (`/api/backend/v1/`), with an API key.
//!
//! ```no_run
//! use futures_util::TryStreamExt as _;
//! use tenantry_sdk::client::{Client, QueryUsersParams, UserIn};
//!
//! # async fn run() -> Result<(), tenantry_sdk::client::Error> {
//! let tenantry = Client::new("https://auth.example.com", std::env::var("TENANTRY_API_KEY").unwrap_or_default());
//! let user = tenantry.create_user(&UserIn { email: "ada@example.com".into(), ..Default::default() }).await?;
//! match tenantry.create_user(&UserIn { email: "ada@example.com".into(), ..Default::default() }).await {
//!     Err(e) if e.code() == Some("email-taken") => println!("{}", e.problem().map_or("", |p| p.detail.as_str())),
//!     other => drop(other?),
//! }
//! // Every user, page after page (the stream asks for the next page when it needs it).
//! let all: Vec<_> = tenantry.query_users_stream(QueryUsersParams::default()).try_collect().await?;
//! # drop((user, all));
//! # Ok(())
//! # }
//! ```
//!
//! - One method per operation of the committed `openapi/openapi.json`, named by its `operationId`,
//!   with path parameters as `&str`, query parameters as a `…Params` struct and the JSON body as the
//!   document's schema type. Operations with a cursor also get a `…_stream` method that yields every
//!   item, page after page.
//! - Ids and times are `String`s as on the wire (UUIDv7, RFC 3339), so the SDK pulls in no uuid or
//!   time crate; parse them with yours.
//! - `…Patch` bodies use [`Patch`]: `Keep` leaves a field out, `Clear` sends `null`, `Set` a value.
//! - Every refusal is an RFC 9457 problem: [`Error::Api`] carries its `type`, `detail`, field errors
//!   and status; [`Error::code`] is the stable code (`email-taken`, `org-full`, …).
//!
//! # Adding a method
//!
//! The types and methods live in `generated.rs`, written from the document by a test. After an
//! operation is added to (or changed in) `openapi/openapi.json`, run
//! `TENANTRY_SDK_BLESS=1 cargo test -p tenantry-sdk generated_code` and commit the new
//! `generated.rs` with the document. Until then `generated_code_matches_the_document` and
//! `every_backend_operation_has_a_method` fail and name the operation.
//!
//! The client needs no cargo feature: reqwest is what the [`Verifier`](crate::Verifier) already
//! fetches the JWKS with, and the rest is serde and `futures-util`.

use std::fmt;

use futures_util::{Stream, TryStreamExt as _};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[cfg(test)]
mod codegen;
#[rustfmt::skip]
mod generated;

pub use generated::*;

const BACKEND_PATH: &str = "/api/backend/v1";

/// The backend API of one Tenantry instance, with one API key. Cheap to clone (the HTTP client's
/// connection pool is shared).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("Client").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl Client {
    /// For the instance at `base_url` (its public URL, e.g. `https://auth.example.com`) with
    /// `api_key` (`tnt_…`, from `tenantry api-key create` or `create_api_key`).
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self::with_http(reqwest::Client::new(), base_url, api_key)
    }

    /// With your own HTTP client (TLS roots, proxies, timeouts).
    pub fn with_http(http: reqwest::Client, base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        Client { http, base_url, api_key: api_key.into() }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends one request (`path` is under `/api/backend/v1`) and reads the documented answer.
    async fn send<Q, B, T>(
        &self,
        method: reqwest::Method,
        path: String,
        query: Option<&Q>,
        body: Option<&B>,
    ) -> Result<T, Error>
    where
        Q: Serialize + ?Sized,
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let url = format!("{}{}", self.base_url, path);
        debug_assert!(path.starts_with(BACKEND_PATH));
        let mut request = self.http.request(method, url).bearer_auth(&self.api_key);
        if let Some(query) = query {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(Error::Transport)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let bytes = response.bytes().await.map_err(Error::Transport)?;
        if status.is_success() {
            let json: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(json).map_err(Error::Decode);
        }
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(problem) => Err(Error::Api(Box::new(ApiError { status: status.as_u16(), problem, retry_after }))),
            Err(_) => Err(Error::Status {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned(),
            }),
        }
    }

    /// Every item of a cursor-paged listing, fetching the next page when the stream reaches it.
    fn pages<P, Pg>(&self, path: String, params: P) -> impl Stream<Item = Result<Pg::Item, Error>> + Send + '_
    where
        P: Paged + Serialize + Send + Sync + 'static,
        Pg: Page + DeserializeOwned + Send + 'static,
        Pg::Item: Send + 'static,
    {
        futures_util::stream::try_unfold(Some(params), move |state| {
            let path = path.clone();
            async move {
                let Some(mut params) = state else { return Ok(None) };
                let page: Pg = self.send(reqwest::Method::GET, path, Some(&params), None::<&()>).await?;
                let (items, next) = page.into_parts();
                let state = next.map(|cursor| {
                    params.set_cursor(Some(cursor));
                    params
                });
                Ok(Some((futures_util::stream::iter(items.into_iter().map(Ok)), state)))
            }
        })
        .try_flatten()
    }
}

/// The query parameters of a paged listing.
pub trait Paged {
    fn set_cursor(&mut self, cursor: Option<String>);
}

/// One page of a listing.
pub trait Page {
    type Item;
    /// The items and the cursor of the next page (`None` on the last).
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>);
}

/// A path segment, percent-encoded (ids need none; slugs, domains and emails may).
fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Tenantry refused with a problem (RFC 9457).
    #[error("{0}")]
    Api(Box<ApiError>),
    /// An error answer that is not a problem (a proxy in between, usually).
    #[error("HTTP {status} without a problem body")]
    Status { status: u16, body: String },
    /// The request did not get an answer (connection, TLS, timeout).
    #[error("the request failed")]
    Transport(#[source] reqwest::Error),
    /// A success answer that is not the documented JSON (a Tenantry newer than this SDK, or not
    /// Tenantry at all).
    #[error("the answer is not the documented JSON")]
    Decode(#[source] serde_json::Error),
}

/// A problem answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    pub problem: Problem,
    /// Seconds to wait, from `Retry-After` (429 and 503).
    pub retry_after: Option<u64>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.problem.r#type, self.problem.detail)
    }
}

impl Error {
    /// The problem, when Tenantry answered with one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Api(api) => Some(&api.problem),
            _ => None,
        }
    }

    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The stable code: the last segment of the problem `type` (`urn:tenantry:problem:email-taken`
    /// is `email-taken`). Codes are never renamed once shipped.
    pub fn code(&self) -> Option<&str> {
        let problem = self.problem()?;
        Some(problem.r#type.rsplit(':').next().unwrap_or(&problem.r#type))
    }

    /// The problems of individual input fields (422), as `(field, detail)`.
    pub fn field_errors(&self) -> impl Iterator<Item = (&str, &str)> {
        self.problem()
            .and_then(|p| p.errors.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|e| (e.field.as_str(), e.detail.as_str()))
    }
}

/// A field of a partial update (`…Patch`): left out, cleared (`null`), or set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not sent: the field stays as it is.
    #[default]
    Keep,
    /// Sent as `null`: the field is cleared (where the operation allows it).
    Clear,
    /// Sent with this value.
    Set(T),
}

impl<T> Patch<T> {
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }
}

impl<T> From<T> for Patch<T> {
    fn from(value: T) -> Self {
        Patch::Set(value)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Keep | Patch::Clear => serializer.serialize_none(),
            Patch::Set(value) => serializer.serialize_some(value),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Patch::Clear, Patch::Set))
    }
}

/// The body of an event type this SDK does not know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnknownEvent {
    #[serde(rename = "type")]
    pub r#type: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_backend_operation_has_a_method() {
        let doc = codegen::document();
        let documented: BTreeSet<String> = codegen::backend_operations(&doc).into_iter().map(|(id, ..)| id).collect();
        let implemented: BTreeSet<String> = OPERATIONS.iter().map(|(id, ..)| (*id).to_owned()).collect();
        let missing: Vec<_> = documented.difference(&implemented).collect();
        let gone: Vec<_> = implemented.difference(&documented).collect();
        assert!(
            missing.is_empty() && gone.is_empty(),
            "the client is out of date with openapi/openapi.json (no method for {missing:?}; methods for removed \
             operations {gone:?}): run `TENANTRY_SDK_BLESS=1 cargo test -p tenantry-sdk generated_code`"
        );
    }

    #[test]
    fn every_event_of_the_catalog_parses_into_its_variant() {
        let doc = codegen::document();
        let catalog: BTreeSet<&str> =
            doc["x-webhooks"].as_object().expect("x-webhooks").keys().map(String::as_str).collect();
        let known: BTreeSet<&str> = EVENT_TYPES.iter().copied().collect();
        assert_eq!(catalog, known, "the Event enum lacks (or has extra) event types: regenerate generated.rs");
        for (schema, event_type) in codegen::event_schemas(&doc) {
            let example = doc["components"]["schemas"][&schema]["example"].clone();
            let event: Event = serde_json::from_value(example.clone()).unwrap_or_else(|e| panic!("{schema}: {e}"));
            assert!(!matches!(event, Event::Other(_)), "{schema} parsed as unknown");
            assert_eq!(event.event_type(), event_type);
            assert_eq!(event.timestamp(), example["timestamp"].as_str().unwrap());
            assert_eq!(serde_json::to_value(&event).unwrap(), example, "{schema} round-trips");
        }
    }

    #[test]
    fn an_unknown_event_type_is_kept_not_refused() {
        let body = serde_json::json!({"type": "org.renamed_in_2030", "timestamp": "2030-01-01T00:00:00+00:00",
            "data": {"org_id": "o", "version": 7}});
        let event: Event = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(event.event_type(), "org.renamed_in_2030");
        assert_eq!(event.timestamp(), "2030-01-01T00:00:00+00:00");
        let Event::Other(other) = &event else { panic!("{event:?}") };
        assert_eq!(other.data["version"], 7);
        // A known type with a body that breaks its schema is an error, not an unknown event.
        let broken = serde_json::json!({"type": "user.created", "timestamp": "t", "data": {"user_id": 1}});
        assert!(serde_json::from_value::<Event>(broken).is_err());
    }

    #[test]
    fn patches_leave_out_clear_or_set() {
        let patch =
            UserPatch { first_name: Patch::Clear, last_name: "Lovelace".to_owned().into(), ..Default::default() };
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            serde_json::json!({"first_name": null, "last_name": "Lovelace"})
        );
        let back: UserPatch =
            serde_json::from_value(serde_json::json!({"first_name": null, "username": "ada"})).unwrap();
        assert_eq!((back.first_name, back.username, back.email), (Patch::Clear, Patch::Set("ada".into()), Patch::Keep));
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("0197a000-0000-7000-8000-000000000001"), "0197a000-0000-7000-8000-000000000001");
        assert_eq!(segment("acme.example"), "acme.example");
        assert_eq!(segment("a/b?c#d e%"), "a%2Fb%3Fc%23d%20e%25");
        assert_eq!(segment("bücher.de"), "b%C3%BCcher.de");
    }

    #[test]
    fn problems_give_their_code_status_and_field_errors() {
        let problem: Problem = serde_json::from_value(serde_json::json!({
            "type": "urn:tenantry:problem:invalid-input", "title": "Unprocessable Entity", "status": 422,
            "detail": "Some fields are invalid.", "errors": [{"field": "email", "detail": "not an address"}]
        }))
        .unwrap();
        let error = Error::Api(Box::new(ApiError { status: 422, problem, retry_after: None }));
        assert_eq!(error.code(), Some("invalid-input"));
        assert_eq!(error.status(), Some(422));
        assert_eq!(error.field_errors().collect::<Vec<_>>(), [("email", "not an address")]);
        assert_eq!(error.to_string(), "422 urn:tenantry:problem:invalid-input: Some fields are invalid.");
        let bare = Error::Status { status: 502, body: "Bad Gateway".into() };
        assert_eq!((bare.code(), bare.status(), bare.field_errors().count()), (None, Some(502), 0));
    }

    #[test]
    fn the_api_key_is_not_in_debug_output() {
        let client = Client::new("https://auth.example.com/", "tnt_secret");
        assert_eq!(client.base_url(), "https://auth.example.com");
        assert!(!format!("{client:?}").contains("tnt_secret"));
    }
}
