//! Records in PostgreSQL through the host's own sqlx pool, for async hosts.

use sqlx::{PgPool, Row};

use super::{
    CLEAR_SCHEMA, CREATE, LOAD, LOCK, MIGRATIONS, MIGRATION_LOCK, READ_SCHEMA, SCHEMA_TABLE,
    UPDATE, WRITE_SCHEMA,
};
use crate::store::sql::{sqlx_store, steps_after, versioned, SqlStoreError, Write, SCHEMA_VERSION};
use crate::store::{AsyncStore, RecordKey, SaveOutcome, Version, Versioned};

/// Keeps records in PostgreSQL through the host's sqlx [`PgPool`] (feature
/// `sqlx-postgres`), for an [`AsyncMfa`](crate::AsyncMfa): the same tables,
/// schema versions and statements as the synchronous
/// [`PostgresStore`](crate::PostgresStore), so either reads and updates
/// what the other wrote.
///
/// - **The host's pool**: no connection of its own; the pool's settings
///   (size, TLS, timeouts) are the host's. sqlx prepares each statement once
///   per connection.
/// - **Schema**: [`migrate`](Self::migrate) creates or upgrades the tables
///   (one transaction under an advisory lock, so servers starting together
///   migrate once; a database from a newer `twostep` is refused). Call it
///   where the application runs its migrations; [`new`](Self::new) touches
///   nothing.
/// - **Writes**: one conditional `UPDATE … WHERE version = $4` (or `INSERT …
///   ON CONFLICT DO NOTHING` for a new record) per save; one `SELECT` per
///   load. Whatever isolation level the pool's sessions use: a concurrent
///   update that a stricter level reports as a serialization failure is a
///   conflict, retried by the service from a fresh load.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use twostep::{AsyncMfa, Keyring, SqlxPgStore};
/// let pool = sqlx::PgPool::connect("postgres://app@localhost/app").await?; // the app's own pool
/// let store = SqlxPgStore::new(pool.clone());
/// store.migrate().await?;
/// let mfa = AsyncMfa::new(store, Keyring::new(1, &[7; 32]));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SqlxPgStore {
    pool: PgPool,
}

impl SqlxPgStore {
    /// A store over `pool`. Nothing is read or written until it is used.
    pub fn new(pool: PgPool) -> Self {
        SqlxPgStore { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates the tables, or brings a database written by an older
    /// `twostep` up to date, in one transaction.
    ///
    /// # Errors
    /// [`SqlStoreError::Sqlx`] if the database cannot be reached or changed,
    /// [`SqlStoreError::SchemaTooNew`] if a newer `twostep` migrated it.
    pub async fn migrate(&self) -> Result<(), SqlStoreError> {
        let mut tx = self.pool.begin().await?;
        // Sees what another server committed while this one waited for the
        // lock, whatever the session's default.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            .execute(&mut *tx)
            .await?;
        sqlx::query(LOCK)
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
        Self::upgrade(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

// Under REPEATABLE READ or SERIALIZABLE a concurrent writer of the row is
// reported as a serialization failure: it won, this one did not write. That
// is a conflict, not an error.
sqlx_store!(SqlxPgStore, Postgres, PgExecutor, |e| e.code().as_deref()
    == Some("40001"));
