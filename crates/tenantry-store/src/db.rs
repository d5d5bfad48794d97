//! Pools, transactions and connections over either engine.

use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Result, StoreError};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine a database URL names, if any.
    pub fn of_url(url: &str) -> Option<Engine> {
        if url.starts_with("sqlite:") {
            Some(Engine::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Engine::Postgres)
        } else {
            None
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Maximum pool size. About 8 was fastest for PostgreSQL on 2 cores. On SQLite this is the
    /// readers' pool; write transactions use one more, dedicated connection.
    pub max_connections: u32,
    /// How long a request may wait for a pooled connection.
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions { max_connections: 8, acquire_timeout: Duration::from_secs(10) }
    }
}

/// The SQLite writer's page cache, in KiB (SQLite's `cache_size` takes a negative value for KiB;
/// its default is 2,000).
const WRITER_CACHE_KIB: &str = "-16384";

/// One statement (or SQLite statement string) written in each engine's form where the dialects
/// differ in more than a clause, each built on first use: `static SQL: EngineSql =
/// EngineSql::new(postgres_sql, sqlite_sql);`.
pub(crate) struct EngineSql {
    postgres: LazyLock<String>,
    sqlite: LazyLock<String>,
}

impl EngineSql {
    pub(crate) const fn new(postgres: fn() -> String, sqlite: fn() -> String) -> EngineSql {
        EngineSql { postgres: LazyLock::new(postgres), sqlite: LazyLock::new(sqlite) }
    }

    pub(crate) fn get(&self, engine: Engine) -> &str {
        match engine {
            Engine::Postgres => &self.postgres,
            Engine::Sqlite => &self.sqlite,
        }
    }
}

/// A connection pool on either engine. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Db {
    /// Readers, and the one connection that writes. SQLite has a single writer lock; write
    /// transactions queue for its permit in the process, in order, instead of spinning in
    /// SQLite's busy handler, which sleeps in growing steps (1, 2, 5, 10 … 100 ms) and leaves
    /// the cores idle meanwhile. Writing through one connection also keeps its page cache: SQLite
    /// empties a connection's cache whenever another connection has written since its last
    /// transaction, so a writer taken from the readers' pool started cold every time.
    Sqlite {
        readers: SqlitePool,
        writer: SqlitePool,
        permit: Arc<Semaphore>,
    },
    Postgres(PgPool),
}

impl Db {
    /// Connects to `url` (`sqlite://path` creates the file; `postgres://…` switches engines).
    pub async fn connect(url: &str, options: &DbOptions) -> Result<Db> {
        match Engine::of_url(url) {
            Some(Engine::Sqlite) => {
                let connect = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // WAL with NORMAL is durable against application crashes; a power cut may lose
                    // the last transactions but never corrupts the file.
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true);
                let pool = |size| {
                    SqlitePoolOptions::new()
                        .max_connections(size)
                        .acquire_timeout(options.acquire_timeout)
                        // See the PostgreSQL pool: no ping per checkout.
                        .test_before_acquire(false)
                };
                let readers = pool(options.max_connections).connect_with(connect.clone()).await?;
                // The writer keeps its page cache between transactions (no other connection
                // writes), so a larger one saves re-reading the pages every write touches: the
                // webhook worker's claims and records, the sessions and tokens (BENCHMARKS.md,
                // "Profiles"). The readers' caches are emptied by every write, so they keep the
                // default.
                let writer = pool(1).connect_with(connect.pragma("cache_size", WRITER_CACHE_KIB)).await?;
                Ok(Db::Sqlite { readers, writer, permit: Arc::new(Semaphore::new(1)) })
            }
            Some(Engine::Postgres) => {
                let connect = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    // sqlx pings every connection before handing it out, a full round trip per
                    // query. Without the ping, a connection that died while idle (a database
                    // restart) fails one query and is then discarded; idle and lifetime limits
                    // still recycle connections.
                    .test_before_acquire(false)
                    .connect_with(connect)
                    .await?;
                Ok(Db::Postgres(pool))
            }
            None => Err(StoreError::UnsupportedUrl(redact_url(url))),
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Db::Sqlite { .. } => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// Applies the engine's pending migrations. PostgreSQL takes an advisory lock, so several
    /// nodes may start at once.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite { writer, .. } => SQLITE_MIGRATIONS.run(writer).await?,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`: the single writer lock is
    /// taken up front, so read-then-write transactions serialize instead of failing on upgrade.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite { writer, permit, .. } => {
                // The permit comes first: the writer is only asked for once it can write at once.
                let permit = permit.clone().acquire_owned().await.map_err(|_| StoreError::Closed)?;
                Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?, permit)
            }
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Where one atomic write runs, with the reads that follow it on the same connection: on
    /// SQLite a write transaction, since the write may be a string of statements; on PostgreSQL a
    /// pooled connection in autocommit, since the write is one statement and atomic by itself
    /// (`BEGIN` and `COMMIT` would be two more round trips).
    pub async fn one_write(&self) -> Result<OneWrite> {
        Ok(match self {
            Db::Sqlite { .. } => OneWrite::Sqlite(self.begin().await?),
            Db::Postgres(_) => OneWrite::Postgres(self.acquire().await?),
        })
    }

    /// A pooled connection for reads outside a transaction.
    pub async fn acquire(&self) -> Result<Pooled> {
        Ok(match self {
            Db::Sqlite { readers, .. } => Pooled::Sqlite(readers.acquire().await?),
            Db::Postgres(p) => Pooled::Postgres(p.acquire().await?),
        })
    }

    /// A trivial query, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        let mut c = self.acquire().await?;
        sql_scalar!(c.ex(), fetch_one, i32, "SELECT 1")?;
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { readers, writer, .. } => {
                readers.close().await;
                writer.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}

/// An open transaction; dropped without [`Tx::commit`] it rolls back.
#[derive(Debug)]
pub enum Tx {
    /// Holds the process's SQLite writer permit until it commits or rolls back.
    Sqlite(Transaction<'static, Sqlite>, OwnedSemaphorePermit),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub fn ex(&mut self) -> Ex<'_> {
        match self {
            Tx::Sqlite(t, _) => Ex::Sqlite(&mut *t),
            Tx::Postgres(t) => Ex::Postgres(&mut *t),
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t, _permit) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// See [`Db::one_write`]. Dropped without [`OneWrite::finish`], SQLite's transaction rolls back;
/// PostgreSQL's statement has committed already.
#[derive(Debug)]
pub enum OneWrite {
    Sqlite(Tx),
    Postgres(Pooled),
}

impl OneWrite {
    pub fn ex(&mut self) -> Ex<'_> {
        match self {
            OneWrite::Sqlite(tx) => tx.ex(),
            OneWrite::Postgres(c) => c.ex(),
        }
    }

    pub async fn finish(self) -> Result<()> {
        match self {
            OneWrite::Sqlite(tx) => tx.commit().await,
            OneWrite::Postgres(_) => Ok(()),
        }
    }

    /// Finishes the write and hands over a connection for the reads that follow it: on
    /// PostgreSQL the same one (no second checkout); on SQLite a reader, once the transaction
    /// has committed, so the reads leave the one writer free for the next write.
    pub async fn finish_for_reads(self, db: &Db) -> Result<Pooled> {
        match self {
            OneWrite::Sqlite(tx) => {
                tx.commit().await?;
                db.acquire().await
            }
            OneWrite::Postgres(c) => Ok(c),
        }
    }
}

/// A connection borrowed from the pool.
#[derive(Debug)]
pub enum Pooled {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Pooled {
    pub fn ex(&mut self) -> Ex<'_> {
        match self {
            Pooled::Sqlite(c) => Ex::Sqlite(&mut *c),
            Pooled::Postgres(c) => Ex::Postgres(&mut *c),
        }
    }
}

/// Where a store function runs its SQL: a transaction's or a pooled connection. Pass it by value;
/// get a fresh one from [`Tx::ex`] or [`Pooled::ex`] for each call.
#[derive(Debug)]
pub enum Ex<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Ex<'_> {
    pub fn engine(&self) -> Engine {
        match self {
            Ex::Sqlite(_) => Engine::Sqlite,
            Ex::Postgres(_) => Engine::Postgres,
        }
    }

    /// The same connection for one more statement, for store functions that run several.
    pub fn reborrow(&mut self) -> Ex<'_> {
        match self {
            Ex::Sqlite(c) => Ex::Sqlite(c),
            Ex::Postgres(c) => Ex::Postgres(c),
        }
    }
}

/// The URL without its password, for error messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_engines_and_hide_passwords() {
        assert_eq!(Engine::of_url("sqlite://data/x.db"), Some(Engine::Sqlite));
        assert_eq!(Engine::of_url("postgresql://h/db"), Some(Engine::Postgres));
        assert_eq!(Engine::of_url("mysql://h/db"), None);
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}
