//! A database per test.

use sqlx::{Connection, PgConnection};
use tenantry_store::Engine;

/// The PostgreSQL server to make test databases on, from `TENANTRY_TEST_DATABASE_URL`.
///
/// # Panics
/// Under CI ([`crate::under_ci`]) when the variable is missing: CI must run the PostgreSQL suite.
pub fn postgres_url() -> Option<String> {
    match std::env::var("TENANTRY_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if crate::under_ci() => {
            panic!("CI is set but TENANTRY_TEST_DATABASE_URL is not: the PostgreSQL suite must run in CI")
        }
        _ => None,
    }
}

/// A database that exists for one test.
pub struct TestDb {
    url: String,
    engine: Engine,
    _dir: Option<tempfile::TempDir>,
    scratch: tempfile::TempDir,
    /// (server URL, database name) to drop afterwards.
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn new(engine: Engine) -> TestDb {
        match engine {
            Engine::Sqlite => TestDb::sqlite(),
            Engine::Postgres => TestDb::postgres().await,
        }
    }

    /// A fresh SQLite file in a temporary folder.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("tenantry.db").display());
        TestDb { url, engine: Engine::Sqlite, _dir: Some(dir), scratch: scratch(), postgres: None }
    }

    /// A fresh, empty PostgreSQL database.
    ///
    /// # Panics
    /// When `TENANTRY_TEST_DATABASE_URL` is unset or the server does not answer.
    pub async fn postgres() -> TestDb {
        let server = postgres_url().expect("TENANTRY_TEST_DATABASE_URL");
        let name = format!("tenantry_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::connect(&server).await.expect("PostgreSQL at TENANTRY_TEST_DATABASE_URL answers");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
        conn.close().await.ok();
        let url = with_database(&server, &name);
        TestDb { url, engine: Engine::Postgres, _dir: None, scratch: scratch(), postgres: Some((server, name)) }
    }

    /// A temporary folder that lives as long as the database (mail files and the like).
    pub fn scratch_dir(&self) -> std::path::PathBuf {
        self.scratch.path().to_path_buf()
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `server` with its database path replaced by `name`.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..].find('/').map(|i| scheme_end + i).unwrap_or(base.len());
    let mut url = format!("{}/{}", &base[..host_end], name);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else { return };
        // Drop runs outside any runtime we may block; a short-lived thread with its own runtime
        // does the async clean-up.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&server).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "t2"), "postgres://u:p@h/t2?sslmode=disable");
        assert_eq!(with_database("postgres://h", "t3"), "postgres://h/t3");
    }
}
