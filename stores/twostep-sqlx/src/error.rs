//! What the stores of this crate fail with.

use twostep_sql::schema::{BadTimeline, BadVersion, CommitNotDurable, SchemaTooNew};

/// An error of [`SqlxSqliteStore`](crate::SqlxSqliteStore) or
/// [`SqlxPgStore`](crate::SqlxPgStore).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlxStoreError {
    /// The host's sqlx pool failed (connection, server error, …).
    #[error("sqlx: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// The database was migrated by a newer `twostep`: refusing to write
    /// records in a layout this build does not know.
    #[error(transparent)]
    SchemaTooNew(#[from] SchemaTooNew),
    /// A setting of the pool's connections would let a save answered as
    /// done be lost (a journal off or in memory, `synchronous` below FULL),
    /// or would keep records where other connections cannot see them (a
    /// private in-memory database per connection): the message names the
    /// setting to use.
    #[error("{0}")]
    Unsafe(&'static str),
    /// A stored row holds a version no `twostep` writes.
    #[error(transparent)]
    BadVersion(#[from] BadVersion),
    /// PostgreSQL reports a timeline this build cannot keep.
    #[error(transparent)]
    BadTimeline(#[from] BadTimeline),
    /// PostgreSQL would answer a save before it is durable
    /// (`synchronous_commit`): refused by `migrate`, with what to set.
    #[error(transparent)]
    CommitNotDurable(#[from] CommitNotDurable),
}
