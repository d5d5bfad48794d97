//! Invite and transfer states on both engines: each enum value is written as the text the schema's
//! `CHECK` constraint and the queries' `state = 'pending'` expect, and read back as the same value.

use chrono::{DateTime, Duration, Utc};
use tenantry_core::org::{InviteState, TransferState};
use tenantry_core::{InviteId, OrgId, TransferId};
use tenantry_store::invites::{self, InviteQuery, InviteRow, TransferRow};
use tenantry_store::orgs::{self, OrgRow};
use tenantry_store::{Db, DbOptions, Json};
use tenantry_testkit::{engine_tests, Engine, TestDb};
use uuid::Uuid;

async fn open(engine: Engine) -> (TestDb, Db) {
    let test_db = TestDb::new(engine).await;
    let db = Db::connect(test_db.url(), &DbOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    (test_db, db)
}

fn now() -> DateTime<Utc> {
    tenantry_core::Clock::now(&tenantry_core::SystemClock)
}

async fn org(db: &Db) -> Uuid {
    let now = now();
    let id = Uuid::now_v7();
    let row = OrgRow {
        id,
        name: "Acme".into(),
        name_normalized: "acme".into(),
        slug: format!("acme-{}", id.simple()),
        metadata: Json(serde_json::Map::new()),
        max_users: None,
        member_count: 0,
        domain_auto_join: false,
        domain_restrict: false,
        isolated: false,
        mfa_required_at: None,
        mfa_grace_until: None,
        created_by: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let mut tx = db.begin().await.unwrap();
    orgs::insert_org(tx.ex(), &row).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn invite_states_are_stored_as_text(engine: Engine) {
    let (_t, db) = open(engine).await;
    let org_id = org(&db).await;
    let now = now();
    let mut invite = InviteRow {
        id: Uuid::now_v7(),
        org_id,
        email: "Bob@Example.com".into(),
        email_normalized: "bob@example.com".into(),
        role: "Member".into(),
        additional_roles: Json(Vec::new()),
        invited_by: None,
        token_hash: vec![7; 32],
        state: InviteState::Pending,
        expires_at: now + Duration::days(7),
        answered_by: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let mut tx = db.begin().await.unwrap();
    invites::insert_invite(tx.ex(), &invite).await.unwrap();
    tx.commit().await.unwrap();

    let mut c = db.acquire().await.unwrap();
    assert_eq!(
        invites::get_invite(c.ex(), OrgId::from_uuid(org_id), InviteId::from_uuid(invite.id)).await.unwrap(),
        Some(invite.clone())
    );
    let pending = invites::find_pending_invite(c.ex(), OrgId::from_uuid(org_id), "bob@example.com").await.unwrap();
    assert_eq!(pending.map(|i| i.state), Some(InviteState::Pending), "SQL's 'pending' is InviteState::Pending");
    assert_eq!(invites::count_live_invites(c.ex(), OrgId::from_uuid(org_id), now).await.unwrap(), 1);
    drop(c);

    for state in InviteState::ALL {
        invite.state = state;
        invite.version += 1;
        let mut tx = db.begin().await.unwrap();
        assert_eq!(invites::update_invite(tx.ex(), &invite).await.unwrap(), 1, "{state}");
        tx.commit().await.unwrap();
        let mut c = db.acquire().await.unwrap();
        let back = invites::find_invite_by_token(c.ex(), &invite.token_hash).await.unwrap();
        assert_eq!(back.as_ref(), Some(&invite), "{state}");
        let live = invites::list_invites(
            c.ex(),
            OrgId::from_uuid(org_id),
            &InviteQuery { live_at: Some(now), limit: 10, ..InviteQuery::default() },
        )
        .await
        .unwrap();
        assert_eq!(live.len(), usize::from(state == InviteState::Pending), "{state}");
    }
}

async fn transfer_states_are_stored_as_text(engine: Engine) {
    let (_t, db) = open(engine).await;
    let org_id = org(&db).await;
    let now = now();
    let transfer = |hash: u8| TransferRow {
        id: Uuid::now_v7(),
        org_id,
        from_user_id: Uuid::now_v7(),
        to_user_id: Uuid::now_v7(),
        token_hash: vec![hash; 32],
        state: TransferState::Pending,
        expires_at: now + Duration::days(1),
        created_at: now,
        updated_at: now,
    };
    // Each final state in turn, from a pending transfer: only a pending one moves, once.
    for (i, end) in [TransferState::Confirmed, TransferState::Cancelled, TransferState::Expired].into_iter().enumerate()
    {
        let row = transfer(u8::try_from(i).unwrap());
        let mut tx = db.begin().await.unwrap();
        invites::insert_transfer(tx.ex(), &row).await.unwrap();
        let pending = invites::find_pending_transfer(tx.ex(), OrgId::from_uuid(org_id)).await.unwrap();
        assert_eq!(pending.as_ref(), Some(&row), "{end}");
        assert_eq!(
            invites::finish_transfer(tx.ex(), OrgId::from_uuid(org_id), TransferId::from_uuid(row.id), end, now)
                .await
                .unwrap(),
            1,
            "{end}"
        );
        assert_eq!(
            invites::finish_transfer(tx.ex(), OrgId::from_uuid(org_id), TransferId::from_uuid(row.id), end, now)
                .await
                .unwrap(),
            0,
            "{end}"
        );
        tx.commit().await.unwrap();
        let mut c = db.acquire().await.unwrap();
        assert_eq!(invites::find_pending_transfer(c.ex(), OrgId::from_uuid(org_id)).await.unwrap(), None, "{end}");
        let back = invites::find_transfer_by_token(c.ex(), &row.token_hash).await.unwrap().unwrap();
        assert_eq!(back.state, end);
    }
}

engine_tests!(invite_states_are_stored_as_text, transfer_states_are_stored_as_text);
