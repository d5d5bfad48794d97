//! Helpers shared by the e2e modules.

use serde_json::Value;
use tenantry_store::audit::{list_audit_for_target, AuditRow};
use tenantry_store::outbox::{list_events_for_object, EventRow};
use tenantry_testkit::TestApp;
use uuid::Uuid;

/// The outbox events about `object_id`, oldest first.
pub async fn events(t: &TestApp, object_id: &str) -> Vec<EventRow> {
    let id = Uuid::parse_str(object_id).expect("uuid");
    let mut c = t.app().db().acquire().await.expect("connection");
    list_events_for_object(c.ex(), id).await.expect("events")
}

/// The event types about `object_id`, oldest first.
pub async fn event_types(t: &TestApp, object_id: &str) -> Vec<String> {
    events(t, object_id).await.into_iter().map(|e| e.event_type).collect()
}

/// The audit entries about `target_id`, oldest first.
pub async fn audit(t: &TestApp, target_id: &str) -> Vec<AuditRow> {
    let mut c = t.app().db().acquire().await.expect("connection");
    list_audit_for_target(c.ex(), target_id).await.expect("audit")
}

/// The `type` of a problem body, without the URN prefix.
pub fn problem_code(body: &Value) -> &str {
    body["type"]
        .as_str()
        .and_then(|t| t.strip_prefix("urn:tenantry:problem:"))
        .unwrap_or_else(|| panic!("not a problem: {body}"))
}

/// Creates a user through the API and returns its body.
pub async fn create_user(t: &TestApp, email: &str) -> Value {
    t.post("/api/backend/v1/users", serde_json::json!({ "email": email }), 201).await
}
