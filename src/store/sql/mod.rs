//! What the SQL stores share, sync and async: their error, the schema
//! version they agree on, the version column's conversions, and how a save
//! becomes one conditional statement.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod pool;
#[cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
mod sqlx;

#[cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
pub(crate) use self::sqlx::sqlx_store;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use pool::PoolError;

use super::{SaveOutcome, Version, Versioned};

/// The schema version this build of `twostep` writes. Each store migrates
/// an older database up to it on open, and refuses a newer one.
///
/// 1. `twostep_records (kind, id, version, bytes)`, keyed by kind and id.
/// 2. adds `updated_at`: when the record was last written, by the
///    database's clock (find records no one has used in a year, audit a
///    burst of writes) — never read by `twostep`.
pub(crate) const SCHEMA_VERSION: i64 = 2;

/// The steps of `migrations` (schema version, SQL) that take a database at
/// schema `found` to [`SCHEMA_VERSION`], in order; refuses a newer one.
pub(crate) fn steps_after<'a>(
    migrations: &'a [(i64, &'a str)],
    found: i64,
) -> Result<impl Iterator<Item = &'a str>, SqlStoreError> {
    if found > SCHEMA_VERSION {
        return Err(SqlStoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(migrations
        .iter()
        .filter(move |(version, _)| *version > found)
        .map(|(_, step)| *step))
}

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
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    /// The database was migrated by a newer `twostep` (its schema version
    /// is `found`, this build knows up to `supported`): refusing to write
    /// records in a layout it does not know.
    #[error(
        "the database's twostep schema is version {found}; this build supports up to {supported}"
    )]
    SchemaTooNew {
        /// The database's schema version.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
    /// SQLite could not put the database in WAL mode (it reported this
    /// journal mode): an in-memory database, or a filesystem without the
    /// shared memory WAL needs.
    #[cfg(any(feature = "sqlite", feature = "sqlx-sqlite"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "sqlx-sqlite"))))]
    #[error(
        "sqlite could not use WAL mode (journal mode is {0}): open the database as \
         SqlxSqliteStore::connect_options does, with \
         SqliteConnectOptions::journal_mode(SqliteJournalMode::Wal), on a local filesystem"
    )]
    NoWal(String),
    /// A setting of the pool's connections would let a save answered as
    /// done be lost (`synchronous` below FULL), or would keep records where
    /// other connections cannot see them (a private in-memory database per
    /// connection): the message names the setting to use.
    #[cfg(feature = "sqlx-sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlx-sqlite")))]
    #[error("{0}")]
    Unsafe(&'static str),
    /// [`PostgresStore::connect`](crate::PostgresStore::connect) refuses to
    /// send records in plain text to a host that is not this machine: use
    /// [`connect_tls`](crate::PostgresStore::connect_tls) (feature
    /// `postgres-tls`), or, on a network you trust end to end,
    /// [`connect_plaintext`](crate::PostgresStore::connect_plaintext).
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    #[error("refusing plain text to the non-local host {0}: use TLS")]
    PlaintextToRemoteHost(String),
    /// The host's sqlx pool failed (connection, server error, …).
    #[cfg(any(feature = "sqlx-postgres", feature = "sqlx-sqlite"))]
    #[cfg_attr(
        docsrs,
        doc(cfg(any(feature = "sqlx-postgres", feature = "sqlx-sqlite")))
    )]
    #[error("sqlx: {0}")]
    Sqlx(#[from] ::sqlx::Error),
    /// The synchronous [`PostgresStore`](crate::PostgresStore) was called on
    /// a thread that carries a tokio runtime (a worker, or a
    /// `spawn_blocking` thread), where its blocking client would panic: use
    /// [`SqlxPgStore`](crate::SqlxPgStore) (feature `sqlx-postgres`) with an
    /// [`AsyncMfa`](crate::AsyncMfa).
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    #[error("PostgresStore cannot run inside an async runtime: use SqlxPgStore with AsyncMfa")]
    InsideAsyncRuntime,
    /// Every connection of the pool stayed in use for the whole wait.
    #[error("no database connection became free in time")]
    PoolTimedOut,
    /// A stored row holds a version no `twostep` writes (negative).
    #[error("a stored record has the impossible version {0}")]
    BadVersion(i64),
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

/// A loaded row (version column and bytes) as a record.
pub(crate) fn versioned(row: Option<(i64, Vec<u8>)>) -> Result<Option<Versioned>, SqlStoreError> {
    row.map(|(version, bytes)| {
        Ok(Versioned {
            version: u64::try_from(version)
                .map(Version)
                .map_err(|_| SqlStoreError::BadVersion(version))?,
            bytes,
        })
    })
    .transpose()
}

/// A save as one conditional statement, for every SQL store.
pub(crate) enum Write {
    /// `INSERT … ON CONFLICT DO NOTHING`: there was no record.
    Create,
    /// `UPDATE … WHERE version = ?` with the expected version as the column
    /// holds it.
    Update(i64),
    /// No row can hold the expected version: a conflict without a query.
    Conflict,
}

impl Write {
    /// The statement a save at `expected` takes.
    pub(crate) fn at(expected: Option<Version>) -> Write {
        match expected {
            None => Write::Create,
            Some(expected) => i64::try_from(expected.0).map_or(Write::Conflict, Write::Update),
        }
    }

    /// The answer, from the rows the statement changed: one is `Saved` at
    /// the next version, none a conflict.
    pub(crate) fn outcome(&self, rows: u64) -> SaveOutcome {
        let next = match self {
            Write::Create => Version(1),
            Write::Update(column) => Version((*column as u64).wrapping_add(1)),
            Write::Conflict => return SaveOutcome::Conflict,
        };
        if rows == 1 {
            SaveOutcome::Saved(next)
        } else {
            SaveOutcome::Conflict
        }
    }
}
