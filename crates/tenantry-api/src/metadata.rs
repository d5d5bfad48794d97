//! The wire type of an org's metadata as it comes in (docs/design.md §4.13: a JSON object).
//!
//! [`MetadataIn`] is documented exactly like a `BTreeMap<String, Value>` (an object with any
//! properties), so the OpenAPI document does not change, but it accepts any JSON value while the
//! body is parsed. The handler then refuses a value that is not an object with a field error
//! (422 `invalid-metadata`, `errors: [{"field": "metadata", …}]`) instead of the framework's
//! description of its own types.

use std::borrow::Cow;
use std::collections::BTreeMap;

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::{Map, Value};
use tenantry_core::DomainError;

/// Org metadata as sent: any JSON value until [`MetadataIn::into_object`] checks it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataIn(pub Value);

/// The type whose schema metadata has on the wire.
type Documented = BTreeMap<String, Value>;

impl MetadataIn {
    /// The metadata as a JSON object, or a field error naming `metadata`.
    pub fn into_object(self) -> Result<Map<String, Value>, DomainError> {
        match self.0 {
            Value::Object(map) => Ok(map),
            other => Err(DomainError::invalid_field(
                "invalid-metadata",
                "metadata",
                format!(
                    "Metadata is a JSON object, such as {{\"crm_id\": \"A-1042\"}}; this is {}.",
                    json_kind(&other)
                ),
            )),
        }
    }
}

/// A JSON value's kind with its article, for messages.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Type for MetadataIn {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        Documented::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        Documented::schema_ref()
    }

    fn register(registry: &mut Registry) {
        Documented::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for MetadataIn {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Ok(MetadataIn(value.unwrap_or(Value::Null)))
    }
}

impl ToJSON for MetadataIn {
    fn to_json(&self) -> Option<Value> {
        Some(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_object_passes() {
        let map = MetadataIn(json!({ "crm_id": "A-1042", "tier": 2 })).into_object().unwrap();
        assert_eq!(map.get("tier"), Some(&json!(2)));
    }

    #[test]
    fn anything_else_is_a_field_error_on_metadata() {
        for (value, kind) in
            [(json!([1, 2]), "an array"), (json!("x"), "a string"), (json!(5), "a number"), (json!(true), "a boolean")]
        {
            let err = MetadataIn(value).into_object().unwrap_err();
            assert_eq!(err.code, "invalid-metadata");
            assert_eq!(err.fields.len(), 1);
            assert_eq!(err.fields[0].field, "metadata");
            assert!(err.detail.contains(kind), "{}", err.detail);
        }
    }

    #[test]
    fn documented_as_an_object() {
        assert_eq!(MetadataIn::name(), Documented::name());
        assert_eq!(format!("{:?}", MetadataIn::schema_ref()), format!("{:?}", Documented::schema_ref()));
    }
}
