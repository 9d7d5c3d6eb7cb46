//! What the stores of this crate fail with.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::pool::PoolError;
use crate::schema::{BadTimeline, BadVersion, CommitNotDurable, SchemaTooNew};

/// An error of [`SqliteStore`](crate::SqliteStore) or
/// [`PostgresStore`](crate::PostgresStore).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlStoreError {
    /// SQLite failed (busy beyond the timeout, disk full, I/O error, …).
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed (connection lost, server error, …).
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    #[error("postgres: {}", server_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// PostgreSQL did not answer within the call timeout
    /// ([`PostgresOptions::call_timeout`](crate::PostgresOptions::call_timeout)):
    /// the connection was closed, and a save may or may not have happened.
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    #[error("postgres: no answer within {0:?}; the connection was closed")]
    PostgresTimedOut(std::time::Duration),
    /// A connection's runtime could not be started (out of threads or file
    /// descriptors).
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    #[error("postgres: cannot start a connection's runtime: {0}")]
    PostgresRuntime(std::io::Error),
    /// The database was migrated by a newer `twostep`: refusing to write
    /// records in a layout this build does not know.
    #[error(transparent)]
    SchemaTooNew(#[from] SchemaTooNew),
    /// SQLite could not put the file in WAL mode (it reported this journal
    /// mode): an in-memory database, or a filesystem without the shared
    /// memory WAL needs.
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    #[error(
        "sqlite could not use WAL mode (journal mode is {0}): use a file on a local filesystem"
    )]
    NoWal(String),
    /// [`PostgresStore::connect`](crate::PostgresStore::connect) refuses to
    /// send records in plain text to a host that is not this machine: use
    /// [`connect_tls`](crate::PostgresStore::connect_tls) (feature
    /// `postgres-tls`), or, on a network you trust end to end,
    /// [`connect_plaintext`](crate::PostgresStore::connect_plaintext).
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    #[error("refusing plain text to the non-local host {0}: use TLS")]
    PlaintextToRemoteHost(String),
    /// The synchronous [`PostgresStore`](crate::PostgresStore) was called on
    /// a thread that carries a tokio runtime (a worker, or a
    /// `spawn_blocking` thread), where its blocking client would panic: use
    /// `SqlxPgStore` (crate `twostep-sqlx`) with an `AsyncMfa`.
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    #[error("PostgresStore cannot run inside an async runtime: use SqlxPgStore (twostep-sqlx) with AsyncMfa")]
    InsideAsyncRuntime,
    /// Every connection of the pool stayed in use for the whole wait.
    #[error("no database connection became free in time")]
    PoolTimedOut,
    /// A stored row holds a version no `twostep` writes.
    #[error(transparent)]
    BadVersion(#[from] BadVersion),
    /// PostgreSQL reports a timeline this build cannot keep.
    #[error(transparent)]
    BadTimeline(#[from] BadTimeline),
    /// PostgreSQL would answer a save before it is durable
    /// (`synchronous_commit`): refused at connect, with what to set.
    #[error(transparent)]
    CommitNotDurable(#[from] CommitNotDurable),
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl<E: Into<SqlStoreError>> From<PoolError<E>> for SqlStoreError {
    fn from(e: PoolError<E>) -> Self {
        match e {
            PoolError::Database(e) => e.into(),
            PoolError::TimedOut => SqlStoreError::PoolTimedOut,
        }
    }
}

#[cfg(feature = "postgres")]
impl From<crate::postgres::CallError> for SqlStoreError {
    fn from(e: crate::postgres::CallError) -> Self {
        match e {
            crate::postgres::CallError::Db(e) => SqlStoreError::Postgres(e),
            crate::postgres::CallError::TimedOut(after) => SqlStoreError::PostgresTimedOut(after),
            crate::postgres::CallError::Runtime(e) => SqlStoreError::PostgresRuntime(e),
        }
    }
}

/// The server's own words when it answered with an error (`tokio-postgres`'s
/// `Display` says only "db error" and keeps them in `source()`), else the
/// client's.
#[cfg(feature = "postgres")]
fn server_message(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {} ({})", db.severity(), db.message(), db.code().code()),
        None => error.to_string(),
    }
}
