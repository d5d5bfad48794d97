//! The HTTP routes. Errors are problem+json ([`Problem`]).

use std::sync::Arc;

use poem::error::ReadBodyError;
use poem::http::StatusCode;
use poem::web::{Data, Json, Path};
use poem::{get, handler, post, Body, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use serde_json::{json, Value};
use tenantry_sdk::{
    unix_now, verify_webhook, Event, WebhookError, WebhookHeaders, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
};
use uuid::Uuid;

use crate::customers::{Customer, OrgEvent};
use crate::plan::Plan;
use crate::problem::Problem;
use crate::BillingSync;

/// Tenantry's event bodies are a few KiB; anything far larger is not one.
const MAX_WEBHOOK_BYTES: usize = 256 * 1024;
const MAX_PLAN_BYTES: usize = 16 * 1024;

/// Every route, over `state`.
pub fn routes(state: Arc<BillingSync>) -> impl Endpoint + 'static {
    Route::new()
        .at("/webhooks/tenantry", post(receive_webhook))
        .at("/billing/plan", post(change_plan))
        .at("/customers", get(list_customers))
        .at("/customers/:org_id", get(get_customer))
        .data(state)
        .with(poem::middleware::Tracing)
}

/// `POST /webhooks/tenantry`. Any 2xx tells Tenantry the delivery is done; anything else makes it
/// retry on its schedule, which is what a failed write here should do.
#[handler]
async fn receive_webhook(req: &Request, body: Body, state: Data<&Arc<BillingSync>>) -> poem::Result<Response> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let (Some(id), Some(timestamp), Some(signature)) =
        (header(WEBHOOK_ID_HEADER), header(WEBHOOK_TIMESTAMP_HEADER), header(WEBHOOK_SIGNATURE_HEADER))
    else {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "missing-signature",
            "webhook-id, webhook-timestamp and webhook-signature are all required",
        )
        .into());
    };
    // The signature covers the bytes as sent: verify them before parsing anything.
    let body = read_body(body, MAX_WEBHOOK_BYTES).await?;
    let headers = WebhookHeaders { id, timestamp, signature };
    if let Err(e) = verify_webhook(&state.webhook_secret, &headers, &body, unix_now()) {
        tracing::warn!(webhook_id = id, reason = %e, "webhook refused");
        let code = match e {
            WebhookError::NoMatchingSignature => "invalid-signature",
            WebhookError::InvalidTimestamp => "invalid-timestamp",
            // Too old is a replay, or a clock that is off; too new is a clock that is off.
            WebhookError::TimestampTooOld | WebhookError::TimestampTooNew => "stale-timestamp",
            // Checked at start-up, so not reachable; still, the fault is ours.
            WebhookError::InvalidSecret => {
                return Err(Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "misconfigured", e.to_string()).into())
            }
        };
        return Err(Problem::new(StatusCode::UNAUTHORIZED, code, e.to_string()).into());
    }

    // The SDK's typed events: a known type whose body breaks its schema is an error; a type this
    // SDK does not know yet is `Event::Other`, and ignored like every other non-org event.
    let event: Event = serde_json::from_slice(&body).map_err(|e| invalid_payload(format!("not an event: {e}")))?;
    let org_event = match OrgEvent::from_event(&event) {
        Ok(Some(org_event)) => org_event,
        Ok(None) => {
            tracing::debug!(webhook_id = id, event_type = event.event_type(), "ignored");
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        Err(e) => return Err(invalid_payload(format!("{} with an invalid org id: {e}", event.event_type())).into()),
    };
    let outcome = state.customers.update(|book| book.apply(id, &org_event)).await.map_err(storage_failed)?;
    tracing::info!(webhook_id = id, event_type = event.event_type(), ?outcome, "webhook handled");
    Ok(Json(json!({ "outcome": outcome })).into_response())
}

/// `POST /billing/plan` with `{"org_id": "…", "plan": "hobby" | "startup" | "growth"}`: what the
/// billing provider's own webhook would trigger after a subscription change. In a real service
/// this is that provider's signed webhook, verified with its SDK; here it is open, so keep the
/// listen address on loopback.
///
/// Tenantry first, then the record: if writing the record fails, the answer is 500 and the
/// provider's retry repeats the `PATCH`, which is idempotent.
#[handler]
async fn change_plan(body: Body, state: Data<&Arc<BillingSync>>) -> poem::Result<Json<Customer>> {
    let body = read_body(body, MAX_PLAN_BYTES).await?;
    let input: Value = serde_json::from_slice(&body)
        .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "invalid-json", format!("the body is not JSON: {e}")))?;
    let org_id = input["org_id"].as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(|| {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-org-id", "org_id must be a Tenantry organization id")
    })?;
    let plan = input["plan"].as_str().and_then(Plan::parse).ok_or_else(|| {
        let names: Vec<&str> = Plan::ALL.iter().map(|p| p.as_str()).collect();
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-plan",
            format!("plan must be one of {}; got {}", names.join(", "), input["plan"]),
        )
    })?;

    let org = state.tenantry.set_max_users(org_id, plan.max_users()).await.map_err(Problem::from)?;
    let customer = state.customers.update(|book| book.record_plan(&org, plan).clone()).await.map_err(storage_failed)?;
    tracing::info!(%org_id, plan = plan.as_str(), max_users = ?plan.max_users(), "plan changed");
    Ok(Json(customer))
}

/// `GET /customers`: every record, deleted ones included.
#[handler]
async fn list_customers(state: Data<&Arc<BillingSync>>) -> Json<Value> {
    let book = state.customers.snapshot().await;
    Json(json!({ "customers": book.customers().collect::<Vec<_>>() }))
}

/// `GET /customers/{org_id}`.
#[handler]
async fn get_customer(org_id: Path<String>, state: Data<&Arc<BillingSync>>) -> poem::Result<Json<Customer>> {
    let not_found = || Problem::new(StatusCode::NOT_FOUND, "customer-not-found", "no customer for this organization");
    let org_id = Uuid::parse_str(&org_id.0).map_err(|_| not_found())?;
    let customer = state.customers.snapshot().await.customer(org_id).cloned().ok_or_else(not_found)?;
    Ok(Json(customer))
}

async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, Problem> {
    body.into_bytes_limit(limit).await.map(|b| b.to_vec()).map_err(|e| match e {
        ReadBodyError::PayloadTooLarge => {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", format!("the body is over {limit} bytes"))
        }
        other => Problem::new(StatusCode::BAD_REQUEST, "unreadable-body", other.to_string()),
    })
}

fn invalid_payload(detail: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid-payload", detail)
}

fn storage_failed(e: std::io::Error) -> Problem {
    tracing::error!(error = %e, "cannot store the customer records");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "storage-failed", "the customer records could not be stored")
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    use poem::test::TestClient;
    use sha2::Sha256;

    use super::*;
    use crate::Config;

    fn secret(byte: u8) -> String {
        format!("whsec_{}", STANDARD.encode([byte; 32]))
    }

    /// Signs as Tenantry does (Standard Webhooks).
    fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
        let key = STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    async fn service(dir: &std::path::Path) -> TestClient<impl Endpoint> {
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            // Nothing listens on the discard port: calls to Tenantry fail at once.
            tenantry_url: "http://127.0.0.1:9".into(),
            api_key: "tnt_test".into(),
            webhook_secret: secret(1),
            data_dir: dir.to_owned(),
        };
        TestClient::new(routes(Arc::new(BillingSync::open(&config).await.unwrap())))
    }

    async fn deliver(
        cli: &TestClient<impl Endpoint>,
        id: &str,
        timestamp: i64,
        signature: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let resp = cli
            .post("/webhooks/tenantry")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .content_type("application/json")
            .body(body.to_owned())
            .send()
            .await;
        answer(resp).await
    }

    async fn answer(resp: poem::test::TestResponse) -> (StatusCode, Value) {
        let status = resp.0.status();
        let text = resp.0.into_body().into_string().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
    }

    fn org_created(version: i64) -> String {
        json!({
            "type": "org.created",
            "timestamp": "2026-01-02T03:04:05.000006Z",
            "data": { "org_id": "00000000-0000-0000-0000-000000000007", "version": version, "name": "Acme",
                      "slug": "acme", "max_users": null, "member_count": 0, "metadata": {}, "domains": [],
                      "domain_auto_join": false, "domain_restrict": false },
        })
        .to_string()
    }

    #[tokio::test]
    async fn only_deliveries_signed_with_the_secret_within_five_minutes_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let cli = service(dir.path()).await;
        let body = org_created(1);
        let now = unix_now();

        let forged = sign(&secret(2), "evt_1", now, &body);
        let (status, problem) = deliver(&cli, "evt_1", now, &forged, &body).await;
        assert_eq!(
            (status, problem["type"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("urn:billing-sync:problem:invalid-signature"))
        );

        let tampered = body.replace("Acme", "Evil");
        let (status, _) = deliver(&cli, "evt_1", now, &sign(&secret(1), "evt_1", now, &body), &tampered).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let old = now - 6 * 60;
        let (status, problem) = deliver(&cli, "evt_1", old, &sign(&secret(1), "evt_1", old, &body), &body).await;
        assert_eq!(
            (status, problem["type"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("urn:billing-sync:problem:stale-timestamp"))
        );

        let resp = cli.post("/webhooks/tenantry").body(body.clone()).send().await;
        let (status, problem) = answer(resp).await;
        assert_eq!(
            (status, problem["type"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("urn:billing-sync:problem:missing-signature"))
        );
        assert!(cli.get("/customers").send().await.0.into_body().into_string().await.unwrap().contains("[]"));

        let (status, outcome) = deliver(&cli, "evt_1", now, &sign(&secret(1), "evt_1", now, &body), &body).await;
        assert_eq!((status, outcome), (StatusCode::OK, json!({ "outcome": "applied" })));
        let (_, customer) = answer(cli.get("/customers/00000000-0000-0000-0000-000000000007").send().await).await;
        assert_eq!((customer["name"].as_str(), customer["version"].as_i64()), (Some("Acme"), Some(1)));
    }

    #[tokio::test]
    async fn retries_are_duplicates_and_unknown_types_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cli = service(dir.path()).await;
        let now = unix_now();
        let body = org_created(1);
        let signature = sign(&secret(1), "evt_1", now, &body);
        assert_eq!(deliver(&cli, "evt_1", now, &signature, &body).await.1, json!({ "outcome": "applied" }));
        assert_eq!(deliver(&cli, "evt_1", now, &signature, &body).await.1, json!({ "outcome": "duplicate" }));

        let user = json!({ "type": "user.created", "timestamp": "2026-01-02T03:04:05Z", "data": {
            "user_id": "u", "version": 1, "email": "ada@acme.example", "email_verified": true, "first_name": null,
            "last_name": null, "username": null, "properties": {}, "disabled": false } })
        .to_string();
        let (status, _) = deliver(&cli, "evt_2", now, &sign(&secret(1), "evt_2", now, &user), &user).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        // A type newer than this SDK is acknowledged and ignored too.
        let newer = json!({ "type": "org.renamed_later", "timestamp": "2026-01-02T03:04:05Z", "data": {} }).to_string();
        let (status, _) = deliver(&cli, "evt_4", now, &sign(&secret(1), "evt_4", now, &newer), &newer).await;
        assert_eq!(status, StatusCode::NO_CONTENT);

        let broken = json!({ "type": "org.deleted", "timestamp": "2026-01-02T03:04:05Z", "data": {} }).to_string();
        let (status, _) = deliver(&cli, "evt_3", now, &sign(&secret(1), "evt_3", now, &broken), &broken).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn plan_changes_are_checked_before_tenantry_is_called() {
        let dir = tempfile::tempdir().unwrap();
        let cli = service(dir.path()).await;
        let org_id = "00000000-0000-0000-0000-000000000007";
        let cases = [
            (json!({ "org_id": org_id, "plan": "enterprise" }), StatusCode::UNPROCESSABLE_ENTITY, "unknown-plan"),
            (json!({ "org_id": org_id }), StatusCode::UNPROCESSABLE_ENTITY, "unknown-plan"),
            (json!({ "org_id": "acme", "plan": "hobby" }), StatusCode::UNPROCESSABLE_ENTITY, "invalid-org-id"),
            // Valid: Tenantry is called, and cannot be reached.
            (json!({ "org_id": org_id, "plan": "hobby" }), StatusCode::BAD_GATEWAY, "tenantry-unreachable"),
        ];
        for (input, expected, code) in cases {
            let resp = cli.post("/billing/plan").body_json(&input).send().await;
            assert_eq!(resp.0.headers()["content-type"], "application/problem+json", "{input}");
            let (status, problem) = answer(resp).await;
            assert_eq!(status, expected, "{input}: {problem}");
            assert_eq!(problem["type"], format!("urn:billing-sync:problem:{code}"), "{input}");
        }
        let (status, _) = answer(cli.post("/billing/plan").body("{").send().await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
