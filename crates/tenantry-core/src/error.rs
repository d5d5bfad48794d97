//! The error vocabulary of the domain.
//!
//! A [`DomainError`] is an *expected* refusal: bad input, a rule that says no, something missing.
//! It carries a stable machine `code` (the last segment of the problem `type` on the wire), a
//! human `detail`, and field errors where input was at fault. The HTTP adapters map [`ErrorKind`]
//! to a status in one place; nothing else decides statuses.

use std::fmt;

/// What sort of refusal this is; decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is malformed or breaks a value rule (400/422).
    Invalid,
    /// No credentials, or credentials that are wrong (401).
    Unauthenticated,
    /// The actor is known but may not do this (403).
    Forbidden,
    /// The target does not exist, or the actor may not learn that it does (404).
    NotFound,
    /// The change collides with existing state (409).
    Conflict,
    /// The link or token is expired or used (410).
    Gone,
    /// Too many attempts; try again after `retry_after_secs` (429).
    TooManyRequests,
}

/// A problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name on the wire, e.g. `email`.
    pub field: String,
    pub detail: String,
}

/// An expected refusal, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    pub kind: ErrorKind,
    /// Stable, kebab-case, e.g. `email-taken`. Never reworded once shipped.
    pub code: &'static str,
    pub detail: String,
    pub fields: Vec<FieldError>,
    /// For [`ErrorKind::TooManyRequests`]: seconds until a retry may succeed.
    pub retry_after_secs: Option<u64>,
}

impl DomainError {
    pub fn new(kind: ErrorKind, code: &'static str, detail: impl Into<String>) -> Self {
        DomainError { kind, code, detail: detail.into(), fields: Vec::new(), retry_after_secs: None }
    }

    /// An input value that breaks its rule; names the field.
    pub fn invalid_field(code: &'static str, field: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        DomainError {
            kind: ErrorKind::Invalid,
            code,
            detail: detail.clone(),
            fields: vec![FieldError { field: field.to_owned(), detail }],
            retry_after_secs: None,
        }
    }

    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, detail)
    }

    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, code, detail)
    }

    pub fn unauthenticated(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, code, detail)
    }

    /// Re-labels the field of a single-field error, for a value parsed under another name.
    pub fn for_field(mut self, field: &str) -> Self {
        for f in &mut self.fields {
            f.field = field.to_owned();
        }
        self
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for DomainError {}
