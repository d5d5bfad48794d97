//! The webhook event catalog against what the server really sends: flows through the API emit
//! every event type the API can trigger, the worker fans them out to an endpoint, and each
//! message's body is checked against the schema the served `/openapi.json` documents for its type
//! (`x-webhooks`): required properties present, no undocumented property, JSON types and formats
//! as declared. The catalog listing (`GET /api/backend/v1/webhooks/event-types`) must name the
//! same schemas, and its examples must pass the same check.

use std::collections::BTreeSet;

use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::Response;
use reqwest::Method;
use serde_json::{json, Value};
use tenantry_core::Clock;
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::orgs::{add, as_user, B, U};
use crate::support::{call, mailed_token, signed_in};

/// What the API can make Tenantry send. (`webhook_endpoint.disabled` comes from the delivery
/// worker after days of failures, not from an API call; its body is checked when one is sent.)
const TRIGGERED: &[&str] = &[
    "user.created",
    "user.updated",
    "user.deleted",
    "user.disabled",
    "user.enabled",
    "user.added_to_org",
    "user.removed_from_org",
    "user.role_changed_within_org",
    "org.created",
    "org.updated",
    "org.deleted",
    "org.invitation_created",
    "org.invitation_accepted",
    "org.invitation_revoked",
    "org.ownership_transferred",
    "org.member_count_changed",
    "org.seat_limit_reached",
    "webhook.test",
];

/// A receiver on 127.0.0.1 that acknowledges everything.
async fn receiver() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let acceptor = TcpAcceptor::from_tokio(listener).unwrap();
    let endpoint = poem::endpoint::make_sync(|_| Response::builder().status(StatusCode::NO_CONTENT).finish());
    let task = tokio::spawn(async move {
        let _ = poem::Server::new_with_acceptor(acceptor).run(endpoint).await;
    });
    (url, task)
}

/// The schema a `$ref` names.
fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let name = reference.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected $ref {reference}"));
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name} in the document");
    schema
}

/// Checks `value` against `schema` (the subset of OpenAPI 3.0 schemas poem-openapi writes) and
/// appends what does not match to `errors`, each with its JSON path.
fn check(doc: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        return check(doc, resolve(doc, r), value, path, errors);
    }
    if value.is_null() && schema["nullable"] == true {
        return;
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(doc, s, value, path, errors);
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let matching = options
                .iter()
                .filter(|s| {
                    let mut e = Vec::new();
                    check(doc, s, value, path, &mut e);
                    e.is_empty()
                })
                .count();
            if matching == 0 || (key == "oneOf" && matching > 1) {
                errors.push(format!("{path}: matches {matching} of the {key} schemas"));
            }
        }
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            errors.push(format!("{path}: {value} is not one of {allowed:?}"));
        }
    }
    let Some(ty) = schema["type"].as_str() else { return };
    let type_ok = match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        other => panic!("{path}: unexpected schema type {other}"),
    };
    if !type_ok {
        errors.push(format!("{path}: {value} is not of type {ty}"));
        return;
    }
    match (ty, schema["format"].as_str()) {
        ("string", Some("uuid")) if uuid::Uuid::parse_str(value.as_str().unwrap()).is_err() => {
            errors.push(format!("{path}: {value} is not a uuid"));
        }
        ("string", Some("date-time")) if chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap()).is_err() => {
            errors.push(format!("{path}: {value} is not an RFC 3339 date-time"));
        }
        ("integer", Some("uint32")) if value.as_u64().is_none_or(|n| n > u64::from(u32::MAX)) => {
            errors.push(format!("{path}: {value} is not a uint32"));
        }
        _ => {}
    }
    if ty == "array" {
        for (i, item) in value.as_array().unwrap().iter().enumerate() {
            check(doc, &schema["items"], item, &format!("{path}[{i}]"), errors);
        }
    }
    if ty == "object" {
        let object = value.as_object().unwrap();
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                errors.push(format!("{path}: the required property {name} is missing"));
            }
        }
        for (name, v) in object {
            match schema["properties"].get(name) {
                Some(s) => check(doc, s, v, &format!("{path}.{name}"), errors),
                None => match schema.get("additionalProperties") {
                    Some(extra) if extra.is_object() => check(doc, extra, v, &format!("{path}.{name}"), errors),
                    Some(Value::Bool(true)) => {}
                    _ => errors.push(format!("{path}: the property {name} is not documented")),
                },
            }
        }
    }
}

/// The body schema `x-webhooks` documents for `event_type`.
fn body_schema<'a>(doc: &'a Value, event_type: &str) -> &'a Value {
    let post = &doc["x-webhooks"][event_type]["post"];
    let content = post["requestBody"]["content"].as_object().unwrap_or_else(|| panic!("no webhook for {event_type}"));
    let json = content.iter().find(|(mime, _)| mime.starts_with("application/json")).expect("a JSON body");
    &json.1["schema"]
}

/// Every message, all pages.
async fn all_messages(t: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.as_deref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page = t.get(&format!("{B}/webhooks/messages?limit=200{query}"), 200).await;
        out.extend(page["messages"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

async fn sent_bodies_match_the_documented_schemas(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let (url, receiver_task) = receiver().await;
    let endpoint = t
        .post(
            &format!("{B}/webhooks/endpoints"),
            json!({ "url": url, "event_types": [], "description": "catalog" }),
            201,
        )
        .await;
    let endpoint_id = endpoint["endpoint"]["endpoint_id"].as_str().unwrap().to_owned();

    // Users: created, updated (with names and properties set, so the optional fields carry values).
    let owner = signed_in(&t, "owner@acme.example").await;
    let patch =
        json!({ "first_name": "Olive", "last_name": "Owner", "username": "olive", "properties": { "plan": "team" } });
    t.patch(&format!("{B}/users/{}", owner.id), patch, 200).await;

    // An org with three seats: created (its creator joins), updated.
    let org =
        call(&t, Method::POST, &format!("{U}/orgs"), Some(&owner.access), Some(json!({ "name": "Acme" })), 201).await;
    let org_id = org["org_id"].as_str().unwrap().to_owned();
    t.patch(&format!("{B}/orgs/{org_id}"), json!({ "max_users": 3, "metadata": { "crm_id": "A-1" } }), 200).await;

    // Members: added, role changed.
    let admin = signed_in(&t, "admin@acme.example").await;
    add(&t, &org_id, &admin, "Admin").await;
    t.patch(&format!("{B}/orgs/{org_id}/members/{}", admin.id), json!({ "role": "Member" }), 200).await;

    // Invitations: created (the third seat: the seats are full), revoked, created and accepted.
    let invites = format!("{B}/orgs/{org_id}/invites");
    let first = t.post(&invites, json!({ "email": "carol@acme.example", "role": "Member" }), 201).await;
    t.delete(&format!("{invites}/{}", first["invite_id"].as_str().unwrap()), 204).await;
    t.post(&invites, json!({ "email": "carol@acme.example", "role": "Member" }), 201).await;
    let carol = signed_in(&t, "carol@acme.example").await;
    let token = mailed_token(&t, "carol@acme.example", "org_invite").await;
    call(&t, Method::POST, &format!("{U}/invites/accept"), Some(&carol.access), Some(json!({ "token": token })), 200)
        .await;

    // Ownership transfer, confirmed by the owner from the emailed link.
    let start = format!("/orgs/{org_id}/ownership-transfer");
    as_user(&t, &owner, Method::POST, &start, Some(json!({ "user_id": admin.id })), 202).await;
    let token = mailed_token(&t, "owner@acme.example", "ownership_transfer").await;
    as_user(&t, &owner, Method::POST, "/ownership-transfer/confirm", Some(json!({ "token": token })), 200).await;

    // A removal, a user disabled, enabled and deleted (ending a membership too), a test event,
    // and the org deleted.
    t.delete(&format!("{B}/orgs/{org_id}/members/{}", carol.id), 204).await;
    t.post(&format!("{B}/users/{}/disable", carol.id), json!({}), 200).await;
    t.post(&format!("{B}/users/{}/enable", carol.id), json!({}), 200).await;
    add(&t, &org_id, &carol, "Member").await;
    t.delete(&format!("{B}/users/{}", carol.id), 204).await;
    t.post(&format!("{B}/webhooks/endpoints/{endpoint_id}/test"), json!({}), 202).await;
    t.delete(&format!("{B}/orgs/{org_id}"), 204).await;

    // Fan out and deliver everything.
    let worker = t.app().webhook_worker().expect("worker");
    loop {
        let batch = worker.run_once(t.clock.now()).await.expect("worker pass");
        if batch.fanned_out == 0 && batch.claimed == 0 {
            break;
        }
    }

    let doc = t.client.get(t.url("/openapi.json")).send().await.unwrap().json::<Value>().await.unwrap();
    let messages = all_messages(&t).await;
    let mut seen = BTreeSet::new();
    let mut errors = Vec::new();
    for m in &messages {
        let event_type = m["event_type"].as_str().unwrap();
        let body: Value = serde_json::from_str(m["payload"].as_str().unwrap()).expect("a JSON payload");
        assert_eq!(body["type"], event_type, "the body's type is the message's");
        let keys: Vec<_> = body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 3, "the envelope is type, timestamp and data: {body}");
        check(&doc, body_schema(&doc, event_type), &body, event_type, &mut errors);
        seen.insert(event_type.to_owned());
    }
    assert!(errors.is_empty(), "sent bodies that do not match their documented schema:\n{}", errors.join("\n"));
    let missing: Vec<_> = TRIGGERED.iter().filter(|t| !seen.contains(**t)).collect();
    assert!(missing.is_empty(), "the flows did not send {missing:?}");

    // The listing names the same schemas, and each example passes the same check.
    let listed = t.get(&format!("{B}/webhooks/event-types"), 200).await;
    let listed = listed["event_types"].as_array().unwrap();
    let mut names = BTreeSet::new();
    for entry in listed {
        let event_type = entry["type"].as_str().unwrap();
        assert!(names.insert(event_type.to_owned()), "{event_type} is listed once");
        let reference = format!("#/components/schemas/{}", entry["schema"].as_str().unwrap());
        assert_eq!(body_schema(&doc, event_type)["$ref"], reference.as_str(), "{event_type}");
        assert!(!entry["description"].as_str().unwrap().is_empty(), "{event_type} is described");
        assert_eq!(entry["subscribable"], event_type != "webhook.test", "{event_type}");
        check(&doc, body_schema(&doc, event_type), &entry["example"], &format!("example of {event_type}"), &mut errors);
    }
    assert!(errors.is_empty(), "examples that do not match their schema:\n{}", errors.join("\n"));
    assert!(seen.iter().all(|s| names.contains(s)), "every sent type is listed");
    assert!(names.contains("webhook_endpoint.disabled"));
    assert_eq!(names.len(), doc["x-webhooks"].as_object().unwrap().len(), "one webhook per listed type");
    receiver_task.abort();
    t.stop().await;
}

/// The listing is for backend keys only.
async fn the_catalog_needs_a_backend_key(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    let path = format!("{B}/webhooks/event-types");
    call(&t, Method::GET, &path, None, None, 401).await;
    let user = signed_in(&t, "user@acme.example").await;
    call(&t, Method::GET, &path, Some(&user.access), None, 401).await;
    t.stop().await;
}

engine_tests!(sent_bodies_match_the_documented_schemas, the_catalog_needs_a_backend_key);
