//! Form bodies and refusals as a page shows them: the values a person typed (passwords never
//! kept), an error summary linking to each field, and the message beside the field. Refusal
//! codes are the API's (`DomainError` codes); each has its words in the strings file under
//! `errors.<code>`, and an unknown code gets a generic message and is logged.

use std::collections::BTreeMap;

use poem::http::StatusCode;
use serde_json::{json, Map, Value};
use tenantry_api::ApiError;
use tenantry_app::AppError;

use crate::Pages;

/// A submitted `application/x-www-form-urlencoded` body. Parsing never fails: bad encoding
/// becomes replacement characters, which the use case refuses like any other bad value.
#[derive(Debug, Clone, Default)]
pub(crate) struct Form {
    pairs: Vec<(String, String)>,
}

/// Fields whose values are never sent back to the browser.
const SECRET_FIELDS: &[&str] = &["password", "new_password", "current_password", "csrf"];

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Form {
        Form { pairs: form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect() }
    }

    /// The first value of `name`, or `""`.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    /// The value of `name`, `None` when absent or blank.
    pub(crate) fn optional(&self, name: &str) -> Option<String> {
        Some(self.get(name).trim()).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    /// Every value of `name` (checkboxes, multi-selects).
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// What the person typed, to fill the form again: everything but secrets.
    pub(crate) fn values(&self) -> Value {
        let mut map = Map::new();
        for (k, v) in &self.pairs {
            if !SECRET_FIELDS.contains(&k.as_str()) && !map.contains_key(k) {
                map.insert(k.clone(), Value::from(v.clone()));
            }
        }
        Value::Object(map)
    }
}

/// A refusal as a page shows it.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub code: String,
    /// The message for the summary (and the field, when there is one field).
    pub message: String,
    /// Messages by field name.
    pub fields: BTreeMap<String, String>,
    pub retry_after_secs: Option<u64>,
}

impl Refusal {
    /// The page's words for a use case's refusal. Failures (not refusals) are logged by the
    /// API's mapping and shown as the generic error.
    pub(crate) fn of(pages: &Pages, err: AppError) -> Refusal {
        let api = ApiError::from(err);
        let code = api.problem.problem_type.rsplit(':').next().unwrap_or("internal").to_owned();
        let retry_after_secs = api.retry_after_secs;
        let key = format!("errors.{code}");
        let mut message = if pages.has_text(&key) {
            pages.text(&key, &[])
        } else {
            if !api.status.is_server_error() {
                tracing::warn!(code, "no page message for this refusal code; showing the generic one");
            }
            pages.text("errors.generic", &[])
        };
        if let Some(secs) = retry_after_secs {
            message = format!("{message} {}", pages.text("errors.retry-after", &[("when", wait_words(secs))]));
        }
        let fields = api.problem.errors.iter().map(|f| (f.field.clone(), f.detail.clone())).collect();
        Refusal { status: api.status, code, message, fields, retry_after_secs }
    }

    /// A refusal of one field, made by a page itself (two passwords that differ).
    pub(crate) fn field(field: &str, message: String) -> Refusal {
        Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid-input".into(),
            message: message.clone(),
            fields: BTreeMap::from([(field.to_owned(), message)]),
            retry_after_secs: None,
        }
    }

    /// The template's `errors`: a summary (each entry linking to its field) and the message per
    /// field. A refusal without field errors is one summary line; `field` names the input it is
    /// about, if any (a wrong password is about the password field).
    pub(crate) fn context(&self, field: Option<&str>) -> Value {
        let mut summary: Vec<Value> = Vec::new();
        let mut fields = Map::new();
        if self.fields.is_empty() {
            summary.push(json!({ "field": field, "text": self.message }));
            if let Some(f) = field {
                fields.insert(f.to_owned(), Value::from(self.message.clone()));
            }
        } else {
            for (f, text) in &self.fields {
                summary.push(json!({ "field": f, "text": text }));
                fields.insert(f.clone(), Value::from(text.clone()));
            }
        }
        json!({ "summary": summary, "fields": fields, "code": self.code })
    }
}

/// "5 minutes", "1 minute", "30 seconds".
pub(crate) fn wait_words(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} second{}", if secs == 1 { "" } else { "s" }),
        _ => {
            let m = secs.div_ceil(60);
            format!("{m} minute{}", if m == 1 { "" } else { "s" })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_parse_anything_and_never_echo_secrets() {
        let f = Form::parse(b"email=ada%40acme.test&password=s3cret&name=A+B&name=C&bad=%ZZ%ff");
        assert_eq!(f.get("email"), "ada@acme.test");
        assert_eq!(f.get("missing"), "");
        assert_eq!(f.all("name"), vec!["A B", "C"]);
        assert_eq!(f.optional("missing"), None);
        let values = f.values();
        assert_eq!(values["email"], "ada@acme.test");
        assert!(values.get("password").is_none());
        assert!(f.get("bad").contains('\u{fffd}'));
    }

    #[test]
    fn waits_read_as_words() {
        assert_eq!(wait_words(1), "1 second");
        assert_eq!(wait_words(30), "30 seconds");
        assert_eq!(wait_words(60), "1 minute");
        assert_eq!(wait_words(61), "2 minutes");
    }
}
