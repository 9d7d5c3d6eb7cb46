//! Records in SQLite through the host's own sqlx pool, for async hosts.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::{
    CLEAR_SCHEMA, CREATE, LOAD, MIGRATIONS, READ_SCHEMA, SCHEMA_TABLE, UPDATE, WRITE_SCHEMA,
};
use crate::store::sql::{sqlx_store, steps_after, versioned, SqlStoreError, Write, SCHEMA_VERSION};
use crate::store::{AsyncStore, RecordKey, SaveOutcome, Version, Versioned};

/// Keeps records in an SQLite file through the host's sqlx [`SqlitePool`]
/// (feature `sqlx-sqlite`), for an [`AsyncMfa`](crate::AsyncMfa): the same
/// table, schema versions and statements as the synchronous
/// [`SqliteStore`](crate::SqliteStore), so either reads and updates what
/// the other wrote, even at the same time.
///
/// The pool's connections should be opened as
/// [`connect_options`](Self::connect_options) does (WAL, `synchronous =
/// FULL`, a busy timeout): a commit is then on disk before `Saved` is
/// answered. [`migrate`](Self::migrate) checks the WAL mode and creates or
/// upgrades the tables in one `BEGIN IMMEDIATE` transaction.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use twostep::{AsyncMfa, Keyring, SqlxSqliteStore};
/// let options = SqlxSqliteStore::connect_options("mfa.sqlite3");
/// let pool = sqlx::SqlitePool::connect_with(options).await?;
/// let store = SqlxSqliteStore::new(pool);
/// store.migrate().await?;
/// let mfa = AsyncMfa::new(store, Keyring::new(1, &[7; 32]));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SqlxSqliteStore {
    pool: SqlitePool,
}

impl SqlxSqliteStore {
    /// A store over `pool`. Nothing is read or written until it is used.
    pub fn new(pool: SqlitePool) -> Self {
        SqlxSqliteStore { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Options for the file at `path` as [`SqliteStore`](crate::SqliteStore)
    /// opens it: created if missing, WAL, `synchronous = FULL` (a commit is
    /// on disk before it is answered), a 5-second busy timeout.
    pub fn connect_options(path: impl AsRef<Path>) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
    }

    /// Checks the WAL mode and creates the table, or brings a file written
    /// by an older `twostep` up to date, in one `BEGIN IMMEDIATE`
    /// transaction.
    ///
    /// # Errors
    /// [`SqlStoreError::NoWal`] if the file is not in WAL mode,
    /// [`SqlStoreError::Sqlx`] if it cannot be read or changed,
    /// [`SqlStoreError::SchemaTooNew`] if a newer `twostep` wrote it.
    pub async fn migrate(&self) -> Result<(), SqlStoreError> {
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(SqlStoreError::NoWal(mode));
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Self::upgrade(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

// SQLite serializes writers: a conditional update that lost changes no row.
sqlx_store!(SqlxSqliteStore, Sqlite, SqliteExecutor, |_e| false);
