//! Throw-away databases: a SQLite file in a temporary folder, or a fresh PostgreSQL database
//! created from an admin URL and dropped afterwards. Each run starts empty.

use std::str::FromStr;

use anyhow::Context;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use tempfile::TempDir;
use tenantry_store::Engine;

/// A database that exists for one engine's benchmark.
pub enum BenchDatabase {
    Sqlite {
        /// Deleted with the value.
        _dir: TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl BenchDatabase {
    /// Makes an empty database; `admin_url` is only used for PostgreSQL.
    pub async fn create(engine: Engine, admin_url: &str) -> anyhow::Result<BenchDatabase> {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::Builder::new().prefix("tenantry-bench-").tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                Ok(BenchDatabase::Sqlite { _dir: dir, url })
            }
            Engine::Postgres => {
                let name = format!("tenantry_bench_{:016x}", rand::random::<u64>());
                admin(admin_url, &format!("CREATE DATABASE {name}")).await?;
                let url = with_database(admin_url, &name);
                Ok(BenchDatabase::Postgres { admin_url: admin_url.to_owned(), name, url })
            }
        }
    }

    /// The URL the store and the server use.
    pub fn url(&self) -> &str {
        match self {
            BenchDatabase::Sqlite { url, .. } | BenchDatabase::Postgres { url, .. } => url,
        }
    }

    /// Drops the PostgreSQL database (ending any session still on it) or deletes the SQLite folder.
    pub async fn remove(self) -> anyhow::Result<()> {
        if let BenchDatabase::Postgres { admin_url, name, .. } = &self {
            admin(admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        }
        Ok(())
    }
}

/// Runs one statement on the admin database.
async fn admin(admin_url: &str, statement: &str) -> anyhow::Result<()> {
    let redacted = tenantry_store::redact_url(admin_url);
    let options = PgConnectOptions::from_str(admin_url)?.disable_statement_logging();
    let mut conn = PgConnection::connect_with(&options)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {redacted} (set TENANTRY_BENCH_DATABASE_URL)"))?;
    sqlx::raw_sql(statement).execute(&mut conn).await.with_context(|| format!("`{statement}` failed"))?;
    conn.close().await?;
    Ok(())
}

/// `url` with its database name replaced by `name`, keeping credentials, host and parameters.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "b"),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(with_database("postgres://u:p@h", "b"), "postgres://u:p@h/b");
        assert_eq!(with_database("postgresql://h/x?sslmode=disable", "b"), "postgresql://h/b?sslmode=disable");
    }
}
