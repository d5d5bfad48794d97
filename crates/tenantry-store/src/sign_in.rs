//! What a password sign-in writes once the password matched, in one round trip: the user's
//! `last_login_at` (and a re-hashed password), the new session and its first refresh token, the
//! audit entry, and the throttle counters settled (the account's wiped, the address's attempt
//! taken back). A sign-in is the one write every user makes over and over, and on the embedded
//! engine each statement is a hand-off to the connection's thread and back; so here the dialects
//! differ in form: PostgreSQL runs one statement of data-modifying CTEs, SQLite one string of
//! statements (its `$n` parameters are numbered across the whole string).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::AuditRow;
use crate::db::EngineSql;
use crate::sessions::{RefreshTokenRow, SessionRow};
use crate::users::UserRow;
use crate::{Db, Ex, Result};

/// The writes of one sign-in.
#[derive(Debug, Clone, Copy)]
pub struct SignInWrite<'a> {
    pub user_id: Uuid,
    pub at: DateTime<Utc>,
    /// The password hashed again with the current parameters, when they changed.
    pub rehash: Option<&'a str>,
    /// The counter wiped by a success (the account's).
    pub clear_throttle: &'a str,
    /// The counter that takes back this attempt (the address's: other accounts' failures from
    /// there still count).
    pub forgive_throttle: Option<&'a str>,
    pub session: &'a SessionRow,
    pub refresh_token: &'a RefreshTokenRow,
    pub audit: &'a AuditRow,
}

/// `$from, $from+1, …` for `n` parameters.
fn params(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

// Parameter numbers, in the order `record_sign_in` binds them.
const AT: usize = 1;
const REHASH: usize = 2;
const USER: usize = 3;
const SESSION: usize = 4;
const SESSION_N: usize = 15;
const REFRESH: usize = SESSION + SESSION_N;
const REFRESH_N: usize = 6;
const AUDIT: usize = REFRESH + REFRESH_N;
const AUDIT_N: usize = 11;
const CLEAR: usize = AUDIT + AUDIT_N;
const FORGIVE: usize = CLEAR + 1;

fn postgres_sql() -> String {
    let (users, sessions, audit) = (crate::users::COLUMNS, crate::sessions::COLUMNS, crate::audit::COLUMNS);
    format!(
        "WITH u AS (UPDATE users SET last_login_at = ${AT}, password_hash = COALESCE(${REHASH}, password_hash) \
         WHERE id = ${USER} RETURNING {users}), \
         s AS (INSERT INTO sessions ({sessions}) SELECT {session} FROM u RETURNING id), \
         r AS (INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at, used_at) \
         SELECT {refresh} FROM s), \
         a AS (INSERT INTO audit_log ({audit}) SELECT {audit_values} FROM u), \
         c AS (DELETE FROM throttles WHERE key = ${CLEAR} AND EXISTS (SELECT 1 FROM u)), \
         f AS (UPDATE throttles SET failures = failures - 1 \
         WHERE key = ${FORGIVE} AND failures > 0 AND EXISTS (SELECT 1 FROM u)) \
         SELECT {users} FROM u",
        session = params(SESSION, SESSION_N),
        refresh = params(REFRESH, REFRESH_N),
        audit_values = params(AUDIT, AUDIT_N),
    )
}

fn sqlite_sql() -> String {
    let (users, sessions, audit) = (crate::users::COLUMNS, crate::sessions::COLUMNS, crate::audit::COLUMNS);
    let user_exists = format!("EXISTS (SELECT 1 FROM users WHERE id = ${USER})");
    format!(
        "DELETE FROM throttles WHERE key = ${CLEAR} AND {user_exists}; \
         UPDATE throttles SET failures = failures - 1 WHERE key = ${FORGIVE} AND failures > 0 AND {user_exists}; \
         INSERT INTO sessions ({sessions}) SELECT {session} WHERE {user_exists}; \
         INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at, used_at) \
         SELECT {refresh} WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ${SESSION}); \
         INSERT INTO audit_log ({audit}) SELECT {audit_values} WHERE {user_exists}; \
         UPDATE users SET last_login_at = ${AT}, password_hash = COALESCE(${REHASH}, password_hash) \
         WHERE id = ${USER} RETURNING {users}",
        session = params(SESSION, SESSION_N),
        refresh = params(REFRESH, REFRESH_N),
        audit_values = params(AUDIT, AUDIT_N),
    )
}

/// Writes a sign-in and returns the user as now stored, or `None` when the user is gone, in
/// which case nothing is written. It is one atomic write ([`Db::one_write`]).
pub async fn record_sign_in(db: &Db, w: &SignInWrite<'_>) -> Result<Option<UserRow>> {
    let mut write = db.one_write().await?;
    let user = run(write.ex(), w).await?;
    if user.is_some() {
        write.finish().await?;
    }
    Ok(user)
}

async fn run(ex: Ex<'_>, w: &SignInWrite<'_>) -> Result<Option<UserRow>> {
    static SQL: EngineSql = EngineSql::new(postgres_sql, sqlite_sql);
    let sql = SQL.get(ex.engine());
    let (s, r, a) = (w.session, w.refresh_token, w.audit);
    let rows = per_engine!(ex, |c| {
        sqlx::query_as::<_, UserRow>(sql)
            .bind(w.at)
            .bind(w.rehash)
            .bind(w.user_id)
            .bind(s.id)
            .bind(s.user_id)
            .bind(&s.cookie_hash)
            .bind(s.created_at)
            .bind(s.last_seen_at)
            .bind(s.expires_at)
            .bind(s.revoked_at)
            .bind(&s.revoked_reason)
            .bind(&s.ip)
            .bind(&s.user_agent)
            .bind(s.mfa_level)
            .bind(s.sso_connection_id)
            .bind(s.active_org_id)
            .bind(&s.amr)
            .bind(s.mfa_org_id)
            .bind(r.id)
            .bind(r.session_id)
            .bind(&r.token_hash)
            .bind(r.created_at)
            .bind(r.expires_at)
            .bind(r.used_at)
            .bind(a.id)
            .bind(a.occurred_at)
            .bind(a.org_id)
            .bind(&a.actor_kind)
            .bind(&a.actor_id)
            .bind(&a.action)
            .bind(&a.target_kind)
            .bind(&a.target_id)
            .bind(&a.ip)
            .bind(&a.request_id)
            .bind(&a.details)
            .bind(w.clear_throttle)
            .bind(w.forgive_throttle)
            // Every statement of the SQLite string must run: fetch all, not the first row.
            .fetch_all(&mut *c)
            .await
    })?;
    Ok(rows.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_in_binding_order() {
        assert_eq!(FORGIVE, 37, "37 values are bound");
        assert_eq!(params(SESSION, 3), "$4, $5, $6");
        for sql in [postgres_sql(), sqlite_sql()] {
            assert!(sql.contains(&format!("${FORGIVE})")) || sql.contains(&format!("${FORGIVE} ")), "{sql}");
            assert!(!sql.contains(&format!("${}", FORGIVE + 1)), "no parameter past the last bound one");
        }
    }
}
