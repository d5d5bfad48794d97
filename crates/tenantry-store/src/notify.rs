//! Cross-node wake-ups: on PostgreSQL, a connection that `LISTEN`s on the channel the outbox
//! trigger notifies (migration 0006), so a node hears of events committed by any node at once
//! rather than at its next poll. SQLite has no such thing and needs none: one process writes.

use sqlx::postgres::PgListener;

use crate::{Db, Result};

/// The channel `outbox_events` inserts notify on commit.
pub const OUTBOX_CHANNEL: &str = "tenantry_outbox";

/// A listening connection (PostgreSQL only).
pub struct OutboxListener {
    inner: PgListener,
}

impl OutboxListener {
    /// Starts listening, or `None` on SQLite.
    pub async fn connect(db: &Db) -> Result<Option<OutboxListener>> {
        match db {
            Db::Postgres(pool) => {
                let mut inner = PgListener::connect_with(pool).await?;
                inner.listen(OUTBOX_CHANNEL).await?;
                Ok(Some(OutboxListener { inner }))
            }
            Db::Sqlite { .. } => Ok(None),
        }
    }

    /// Waits for the next notification. After a lost connection sqlx reconnects and listens
    /// again on the next call; notifications sent meanwhile are lost, which the workers' poll
    /// covers.
    pub async fn recv(&mut self) -> Result<()> {
        self.inner.recv().await?;
        Ok(())
    }
}
