//! Cross-node notifications: on PostgreSQL, one connection per node `LISTEN`s on the channel the
//! outbox trigger notifies (migration 0006), so a node hears of events committed by any node at
//! once rather than at its next poll, and on the channel a key revocation notifies, so every node
//! drops the key from its cache within moments. SQLite has no such thing and needs none: one
//! process writes.

use sqlx::postgres::PgListener;
use tenantry_core::ApiKeyId;

use crate::{Db, Result};

/// The channel `outbox_events` inserts notify on commit.
pub const OUTBOX_CHANNEL: &str = "tenantry_outbox";
/// The channel a revoked API key is announced on; the payload is the key's id.
pub const API_KEYS_CHANNEL: &str = "tenantry_api_keys";

/// What a [`Listener`] heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notification {
    /// Outbox events were committed.
    Outbox,
    /// An API key was revoked (`None` if the payload was not a key id: drop every cached key).
    ApiKeyRevoked(Option<ApiKeyId>),
    /// The connection was lost and is listening again: notifications sent meanwhile are lost, so
    /// whatever they would have invalidated must be reloaded.
    Reconnected,
}

/// A listening connection (PostgreSQL only).
pub struct Listener {
    inner: PgListener,
}

impl Listener {
    /// Starts listening on both channels, or `None` on SQLite.
    pub async fn connect(db: &Db) -> Result<Option<Listener>> {
        match db {
            Db::Postgres(pool) => {
                let mut inner = PgListener::connect_with(pool).await?;
                inner.listen_all([OUTBOX_CHANNEL, API_KEYS_CHANNEL]).await?;
                Ok(Some(Listener { inner }))
            }
            Db::Sqlite { .. } => Ok(None),
        }
    }

    /// Waits for the next notification. A lost connection is re-established (and listened on
    /// again) before [`Notification::Reconnected`] is returned; an error means that failed, and
    /// the caller should connect a new listener after a pause.
    pub async fn recv(&mut self) -> Result<Notification> {
        match self.inner.try_recv().await? {
            None => Ok(Notification::Reconnected),
            Some(n) if n.channel() == API_KEYS_CHANNEL => {
                Ok(Notification::ApiKeyRevoked(n.payload().parse::<ApiKeyId>().ok()))
            }
            Some(_) => Ok(Notification::Outbox),
        }
    }
}
