//! Seeding: users written straight through `tenantry-store`, many per transaction, before the
//! server starts. Going around the HTTP API keeps seeding out of the measurements and fast.

use std::time::Instant;

use std::net::SocketAddr;

use anyhow::{bail, Context};
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, HOST};
use hyper::Request;
use serde_json::Map;
use tenantry_auth::totp::TotpSecret;
use tenantry_auth::{new_opaque_token, MasterKey};
use tenantry_core::{Clock, SystemClock, UserId};
use tenantry_store::members::{insert_member, MemberRow};
use tenantry_store::mfa::{confirm_mfa, insert_pending, upsert_unconfirmed_mfa, PendingRow};
use tenantry_store::orgs::{insert_org, OrgRow};
use tenantry_store::users::{insert_user, UserRow};
use tenantry_store::{Db, DbOptions, Json};
use uuid::Uuid;

use crate::http::Connection;
use crate::load::{login_email, LOGIN_USERS};

/// Users written per transaction.
const BATCH: usize = 5_000;

/// Applies the migrations and inserts `count` users; returns their ids.
pub async fn seed_users(url: &str, count: usize) -> anyhow::Result<Vec<Uuid>> {
    let started = Instant::now();
    let db = Db::connect(url, &DbOptions::default()).await.context("cannot open the benchmark database")?;
    db.migrate().await.context("cannot migrate the benchmark database")?;
    let mut ids = Vec::with_capacity(count);
    for first in (0..count).step_by(BATCH) {
        let mut tx = db.begin().await?;
        for n in first..count.min(first + BATCH) {
            let row = seeded_user(n);
            insert_user(tx.ex(), &row).await.with_context(|| format!("cannot seed user {n}"))?;
            ids.push(row.id);
        }
        tx.commit().await?;
    }
    db.close().await;
    eprintln!("== seeded {count} users in {:.1} s", started.elapsed().as_secs_f64());
    Ok(ids)
}

/// Inserts [`LOGIN_USERS`] verified users whose password is [`crate::load::LOGIN_PASSWORD`], all
/// sharing `password_hash` (hashing each would take minutes; the server's cost per login is the
/// same either way).
pub async fn seed_login_users(url: &str, password_hash: &str) -> anyhow::Result<()> {
    let db = Db::connect(url, &DbOptions::default()).await.context("cannot open the benchmark database")?;
    let mut tx = db.begin().await?;
    for n in 0..LOGIN_USERS {
        let email = login_email(n);
        let row = UserRow {
            email_normalized: email.clone(),
            email,
            email_verified: true,
            password_hash: Some(password_hash.to_owned()),
            ..seeded_user(n)
        };
        insert_user(tx.ex(), &row).await.with_context(|| format!("cannot seed login user {n}"))?;
    }
    tx.commit().await?;
    db.close().await;
    Ok(())
}

/// A user with a password and confirmed two-factor authentication, and the seed of their
/// authenticator, which the harness keeps to compute codes as the user's app would.
pub struct TotpUser {
    pub id: Uuid,
    pub email: String,
    pub secret: TotpSecret,
}

/// The email of the `n`-th user with two-factor authentication.
pub fn totp_email(n: usize) -> String {
    format!("totp-{n}@bench.example.com")
}

/// How long a pending sign-in lives (the server's `PENDING_TTL`).
const PENDING_TTL_MINUTES: i64 = 5;

/// Inserts `count` verified users whose password is [`crate::load::LOGIN_PASSWORD`] (sharing
/// `password_hash`), each with a confirmed authenticator: a fresh 160-bit seed sealed with the
/// server's master key and the user id as associated data, as enrollment stores it. The last
/// spent step is 0, so every code of the present works once.
pub async fn seed_totp_users(
    url: &str,
    password_hash: &str,
    master_key: &MasterKey,
    count: usize,
) -> anyhow::Result<Vec<TotpUser>> {
    let started = Instant::now();
    let db = Db::connect(url, &DbOptions::default()).await.context("cannot open the benchmark database")?;
    let now = SystemClock.now();
    let mut users = Vec::with_capacity(count);
    for first in (0..count).step_by(BATCH) {
        let mut tx = db.begin().await?;
        for n in first..count.min(first + BATCH) {
            let email = totp_email(n);
            let row = UserRow {
                email_normalized: email.clone(),
                email: email.clone(),
                email_verified: true,
                password_hash: Some(password_hash.to_owned()),
                ..seeded_user(n)
            };
            insert_user(tx.ex(), &row).await.with_context(|| format!("cannot seed 2FA user {n}"))?;
            let secret = TotpSecret::generate();
            let sealed = master_key.seal(secret.expose(), row.id.as_bytes());
            let id = UserId::from_uuid(row.id);
            upsert_unconfirmed_mfa(tx.ex(), id, &sealed, now).await?;
            if confirm_mfa(tx.ex(), id, now, 0).await? != 1 {
                bail!("the authenticator of 2FA user {n} was not confirmed");
            }
            users.push(TotpUser { id: row.id, email, secret });
        }
        tx.commit().await?;
    }
    db.close().await;
    eprintln!("== seeded {count} users with 2FA in {:.1} s", started.elapsed().as_secs_f64());
    Ok(users)
}

/// Writes one pending sign-in per user, the row a right password leaves behind when the account
/// has 2FA, and returns their tokens (what `POST /api/v1/login` answers with its 202). They live
/// [`PENDING_TTL_MINUTES`] from now.
pub async fn seed_pending_sign_ins(url: &str, users: &[TotpUser]) -> anyhow::Result<Vec<String>> {
    let db = Db::connect(url, &DbOptions::default()).await.context("cannot open the benchmark database")?;
    let now = SystemClock.now();
    let mut tokens = Vec::with_capacity(users.len());
    for chunk in users.chunks(BATCH) {
        let mut tx = db.begin().await?;
        for user in chunk {
            let (token, token_hash) = new_opaque_token();
            let row = PendingRow {
                id: Uuid::now_v7(),
                token_hash,
                user_id: user.id,
                rehash: None,
                attempts: 0,
                created_at: now,
                expires_at: now + chrono::Duration::minutes(PENDING_TTL_MINUTES),
            };
            insert_pending(tx.ex(), &row).await.context("cannot seed a pending sign-in")?;
            tokens.push(token);
        }
        tx.commit().await?;
    }
    db.close().await;
    Ok(tokens)
}

/// A session's tokens.
pub struct SessionTokens {
    pub access: String,
    pub refresh: String,
}

/// Opens one session per entry of `user_ids` through the backend API (`POST
/// /users/{id}/access-token`) and returns their tokens.
pub async fn open_sessions(addr: SocketAddr, api_key: &str, user_ids: &[Uuid]) -> anyhow::Result<Vec<SessionTokens>> {
    let mut conn = Connection::open(addr).await?;
    let mut tokens = Vec::with_capacity(user_ids.len());
    for id in user_ids {
        let req = Request::post(format!("/api/backend/v1/users/{id}/access-token"))
            .header(HOST, addr.to_string())
            .header(AUTHORIZATION, format!("Bearer {api_key}"))
            .body(Full::default())?;
        let (status, body) = conn.exchange(req).await?;
        if !status.is_success() {
            bail!("creating a session answered {status}: {}", String::from_utf8_lossy(&body));
        }
        let out: serde_json::Value = serde_json::from_slice(&body)?;
        let field =
            |name: &str| out[name].as_str().map(str::to_owned).with_context(|| format!("no {name} in the answer"));
        tokens.push(SessionTokens { access: field("access_token")?, refresh: field("refresh_token")? });
    }
    Ok(tokens)
}

/// The email of the `n`-th seeded user.
pub fn seeded_email(n: usize) -> String {
    format!("seed-{n}@bench.example.com")
}

/// The `n`-th seeded user: unverified, passwordless, with a first name, like one the API creates.
fn seeded_user(n: usize) -> UserRow {
    let now = SystemClock.now();
    let email = seeded_email(n);
    UserRow {
        id: Uuid::now_v7(),
        pool_id: None,
        email_normalized: email.clone(),
        email,
        email_verified: false,
        password_hash: None,
        first_name: Some("Seed".to_owned()),
        last_name: None,
        username: None,
        username_normalized: None,
        properties: Json(Map::new()),
        disabled: false,
        version: 1,
        created_at: now,
        updated_at: now,
        last_login_at: None,
    }
}

/// What the organization scenarios need to address the seeded orgs.
#[derive(Debug, Clone)]
pub struct OrgSeed {
    /// Every seeded org, in creation order; `org_ids[0]` is the big one.
    pub org_ids: Vec<Uuid>,
    /// The org with [`BIG_ORG_MEMBERS`] members.
    pub big_org: Uuid,
    /// The cursor of page [`DEEP_PAGE`] of the big org's member list ([`MEMBER_PAGE`] per page).
    pub deep_cursor: Uuid,
    /// A user who belongs to [`MULTI_ORGS`] orgs, and one who belongs to one.
    pub multi_org_user: Uuid,
    pub single_org_user: Uuid,
    /// An unlimited org that invitations go to.
    pub invite_org: Uuid,
    /// Seeded users in no org, free to be invited: their indexes in the seeded users.
    pub free_users: std::ops::Range<usize>,
}

/// Members of the big org.
pub const BIG_ORG_MEMBERS: usize = 100_000;
/// Orgs of the multi-org user.
pub const MULTI_ORGS: usize = 50;
/// Page size of the member-list scenarios, and how deep the deep page is.
pub const MEMBER_PAGE: usize = 50;
pub const DEEP_PAGE: usize = 1_000;

/// Seeds `orgs` orgs, each owned by one seeded user; the first also gets [`BIG_ORG_MEMBERS`]
/// members, one user joins [`MULTI_ORGS`] of them and another one. Straight through the store,
/// like the users.
pub async fn seed_orgs(url: &str, user_ids: &[Uuid], orgs: usize) -> anyhow::Result<OrgSeed> {
    let started = Instant::now();
    let needed = orgs + BIG_ORG_MEMBERS + 2 + 1;
    if orgs < MULTI_ORGS + 3 || user_ids.len() < needed {
        bail!("the organization scenarios need at least {} orgs and {needed} users", MULTI_ORGS + 3);
    }
    let db = Db::connect(url, &DbOptions::default()).await.context("cannot open the benchmark database")?;
    let now = SystemClock.now();
    let org_ids: Vec<Uuid> = (0..orgs).map(|_| Uuid::now_v7()).collect();
    // Org n is owned by user n; the big org's members are the next users; then the two others.
    let multi_org_user = user_ids[orgs + BIG_ORG_MEMBERS];
    let single_org_user = user_ids[orgs + BIG_ORG_MEMBERS + 1];
    let mut members: Vec<(Uuid, Uuid, &str)> = (0..orgs).map(|n| (org_ids[n], user_ids[n], "Owner")).collect();
    members.extend((0..BIG_ORG_MEMBERS).map(|n| (org_ids[0], user_ids[orgs + n], "Member")));
    members.extend((1..=MULTI_ORGS).map(|n| (org_ids[n], multi_org_user, "Member")));
    members.push((org_ids[MULTI_ORGS + 1], single_org_user, "Member"));
    let mut counts = std::collections::HashMap::<Uuid, i32>::new();
    for (org, _, _) in &members {
        *counts.entry(*org).or_default() += 1;
    }
    for (c, chunk) in org_ids.chunks(BATCH).enumerate() {
        let mut tx = db.begin().await?;
        for (i, id) in chunk.iter().enumerate() {
            let n = c * BATCH + i;
            let name = format!("Seed Org {n}");
            let row = OrgRow {
                id: *id,
                name_normalized: name.to_lowercase(),
                name,
                slug: format!("seed-org-{n}"),
                metadata: Json(Map::new()),
                max_users: None,
                member_count: counts.get(id).copied().unwrap_or(0),
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
            insert_org(tx.ex(), &row).await.with_context(|| format!("cannot seed org {n}"))?;
        }
        tx.commit().await?;
    }
    let mut big_org_members = Vec::with_capacity(BIG_ORG_MEMBERS + 1);
    for chunk in members.chunks(BATCH) {
        let mut tx = db.begin().await?;
        for (org, user, role) in chunk {
            let row = MemberRow {
                id: Uuid::now_v7(),
                org_id: *org,
                user_id: *user,
                role: (*role).to_owned(),
                additional_roles: Json(Vec::new()),
                is_creator: false,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            insert_member(tx.ex(), &row).await.context("cannot seed a membership")?;
            if *org == org_ids[0] {
                big_org_members.push(row.id);
            }
        }
        tx.commit().await?;
    }
    db.close().await;
    big_org_members.sort();
    let deep_cursor = big_org_members[(DEEP_PAGE - 1) * MEMBER_PAGE - 1];
    eprintln!("== seeded {orgs} orgs and {} memberships in {:.1} s", members.len(), started.elapsed().as_secs_f64());
    Ok(OrgSeed {
        big_org: org_ids[0],
        invite_org: org_ids[MULTI_ORGS + 2],
        org_ids,
        deep_cursor,
        multi_org_user,
        single_org_user,
        free_users: needed..user_ids.len(),
    })
}
