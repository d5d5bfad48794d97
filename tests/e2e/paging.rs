//! One paging rule for every list (`tenantry_app::paging`): a page holds 50 items when no size is
//! asked for, and never more than the list's maximum, 200 for users, API keys and webhooks and
//! 100 for the organization lists. The adapters refuse a size outside the range with a problem;
//! the use cases clamp whatever they are given.

use serde_json::json;
use tenantry_app::orgs::OrgFilter;
use tenantry_app::paging::{DEFAULT_LIMIT, MAX_LIMIT, MAX_ORG_LIMIT};
use tenantry_app::{Actor, Ctx};
use tenantry_testkit::{engine_tests, Engine, TestApp};

use crate::support::{create_user, problem_code};

const B: &str = "/api/backend/v1";

async fn every_list_pages_by_one_rule(engine: Engine) {
    let t = TestApp::spawn(engine).await;
    // One more than the organization lists' maximum, of users and of orgs.
    let n = MAX_ORG_LIMIT as usize + 1;
    for i in 0..n {
        create_user(&t, &format!("pager{i}@example.com")).await;
        t.post(&format!("{B}/orgs"), json!({ "name": format!("Pager {i}") }), 201).await;
    }

    // No size asked for: the default page, and a cursor to the rest.
    let users = t.get(&format!("{B}/users"), 200).await;
    assert_eq!(users["users"].as_array().unwrap().len(), DEFAULT_LIMIT as usize);
    assert!(users["next_cursor"].is_string());
    let orgs = t.get(&format!("{B}/orgs"), 200).await;
    assert_eq!(orgs["orgs"].as_array().unwrap().len(), DEFAULT_LIMIT as usize);
    assert!(orgs["next_cursor"].is_string());

    // Each list's maximum is accepted, one more is refused.
    let users = t.get(&format!("{B}/users?limit={MAX_LIMIT}"), 200).await;
    assert_eq!(users["users"].as_array().unwrap().len(), n);
    assert!(users["next_cursor"].is_null());
    let body = t.get(&format!("{B}/users?limit={}", MAX_LIMIT + 1), 400).await;
    assert_eq!(problem_code(&body), "bad-request");
    let orgs = t.get(&format!("{B}/orgs?limit={MAX_ORG_LIMIT}"), 200).await;
    assert_eq!(orgs["orgs"].as_array().unwrap().len(), MAX_ORG_LIMIT as usize);
    assert!(orgs["next_cursor"].is_string());
    let body = t.get(&format!("{B}/orgs?limit={}", MAX_ORG_LIMIT + 1), 400).await;
    assert_eq!(problem_code(&body), "bad-request");
    for list in ["api-keys", "webhooks/endpoints", "webhooks/messages"] {
        t.get(&format!("{B}/{list}?limit={MAX_LIMIT}"), 200).await;
        t.get(&format!("{B}/{list}?limit={}", MAX_LIMIT + 1), 400).await;
        t.get(&format!("{B}/{list}?limit=0"), 400).await;
    }

    // The use cases hold the same rule for any caller: a size past the maximum gets the maximum,
    // zero gets one item.
    let ctx = Ctx::new(Actor::System);
    let page = t.app().query_users(&ctx, None, None, u32::MAX).await.unwrap();
    assert_eq!(page.items.len(), n);
    let page = t.app().query_users(&ctx, None, None, 0).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(page.next_cursor.is_some());
    let page = t.app().query_orgs(&ctx, OrgFilter { limit: u32::MAX, ..OrgFilter::default() }).await.unwrap();
    assert_eq!(page.items.len(), MAX_ORG_LIMIT as usize);
    assert!(page.next_cursor.is_some());
    let page = t.app().query_orgs(&ctx, OrgFilter { limit: 0, ..OrgFilter::default() }).await.unwrap();
    assert_eq!(page.items.len(), 1);
    t.stop().await;
}

engine_tests!(every_list_pages_by_one_rule);
