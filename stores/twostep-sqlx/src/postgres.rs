//! Records in PostgreSQL through the host's own sqlx pool, for async hosts.

use std::sync::Arc;

use sqlx::{PgConnection, PgPool, Row};

use twostep_sql::schema::postgres::{
    CLEAR_SCHEMA, CREATE, DURABILITY, FENCE, LOAD, LOCK, MIGRATIONS, MIGRATION_LOCK, READ_SCHEMA,
    SCHEMA_TABLE, UPDATE, WRITE_SCHEMA,
};
use twostep_sql::schema::{
    check_durability, steps_after, versioned, Fence, Timeline, Write, SCHEMA_VERSION,
};

use crate::SqlxStoreError;
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::AsyncStore;

/// Keeps records in PostgreSQL through the host's sqlx [`PgPool`] (feature
/// `postgres`), for an [`AsyncMfa`](twostep::AsyncMfa): the same tables,
/// schema versions and statements as the synchronous
/// [`PostgresStore`](https://docs.rs/twostep-sql), so either reads and updates
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
/// - **Failover**: each load reads the database's timeline with the row;
///   on a new one (a promoted standby) the store raises the fence
///   ([`twostep_sql::schema::Fence`]), and no code accepted before the
///   failover is accepted after it.
/// - **Poolers**: PgBouncer in session mode, or 1.21 and newer in
///   transaction mode with `max_prepared_statements` above 0. Not older
///   transaction poolers: sqlx names its prepared statements per
///   connection, and there two clients' names would meet.
/// - **Writes**: one conditional `UPDATE … WHERE version = $4` (or `INSERT …
///   ON CONFLICT DO NOTHING` for a new record) per save; one `SELECT` per
///   load. Whatever isolation level the pool's sessions use: a concurrent
///   update that a stricter level reports as a serialization failure is a
///   conflict, retried by the service from a fresh load.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use twostep::{AsyncMfa, Keyring};
/// use twostep_sqlx::SqlxPgStore;
/// let pool = sqlx::PgPool::connect("postgres://app@localhost/app").await?; // the app's own pool
/// let store = SqlxPgStore::new(pool.clone());
/// store.migrate().await?;
/// let mfa = AsyncMfa::new(store, Keyring::new(1, &[7; 32]));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SqlxPgStore {
    pool: PgPool,
    fence: Arc<Fence>,
}

impl SqlxPgStore {
    /// A store over `pool`. Nothing is read or written until it is used.
    pub fn new(pool: PgPool) -> Self {
        SqlxPgStore {
            pool,
            fence: Arc::default(),
        }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates the tables, or brings a database written by an older
    /// `twostep` up to date, in one transaction. First it refuses a
    /// database whose commits would not wait for the WAL flush
    /// (`synchronous_commit = off`) or for the standbys declared
    /// synchronous (`local` with `synchronous_standby_names`): a save
    /// answered as done would be lost in a crash, and its code accepted
    /// again. An operator who accepts that sets
    /// `twostep.allow_non_durable_commit = on` for the role or database.
    ///
    /// # Errors
    /// [`SqlxStoreError::Sqlx`] if the database cannot be reached or changed,
    /// [`SqlxStoreError::SchemaTooNew`] if a newer `twostep` migrated it,
    /// [`SqlxStoreError::CommitNotDurable`] as above.
    pub async fn migrate(&self) -> Result<(), SqlxStoreError> {
        let mut tx = self.pool.begin().await?;
        // Sees what another server committed while this one waited for the
        // lock, whatever the session's default.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            .execute(&mut *tx)
            .await?;
        let (synchronous_commit, standbys, allowed): (String, String, Option<String>) =
            sqlx::query_as(DURABILITY).fetch_one(&mut *tx).await?;
        check_durability(&synchronous_commit, &standbys, allowed.as_deref())?;
        sqlx::query(LOCK)
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
        Self::upgrade(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl SqlxPgStore {
    /// Creates the tables or brings them to [`SCHEMA_VERSION`], in
    /// `migrate`'s transaction (locked by then, as each backend
    /// locks); refuses a newer schema.
    async fn upgrade(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    ) -> Result<(), SqlxStoreError> {
        sqlx::raw_sql(SCHEMA_TABLE).execute(&mut **tx).await?;
        let found: i64 = sqlx::query(READ_SCHEMA)
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
        let steps = steps_after(&MIGRATIONS, found)?;
        if found < SCHEMA_VERSION {
            for step in steps {
                sqlx::raw_sql(step).execute(&mut **tx).await?;
            }
            sqlx::query(CLEAR_SCHEMA).execute(&mut **tx).await?;
            sqlx::query(WRITE_SCHEMA)
                .bind(SCHEMA_VERSION)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// The schema version of the database (0 before
    /// [`migrate`](Self::migrate)).
    ///
    /// # Errors
    /// [`SqlxStoreError::Sqlx`] if it cannot be read.
    pub async fn schema_version(&self) -> Result<i64, SqlxStoreError> {
        sqlx::raw_sql(SCHEMA_TABLE).execute(&self.pool).await?;
        Ok(sqlx::query(READ_SCHEMA)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Loads `key`'s record on `conn`: a connection, or the host's own
    /// transaction (`&mut *tx`; the sans-IO path,
    /// [`AsyncMfa::prepare_verify`](twostep::AsyncMfa::prepare_verify)).
    /// It asks for the database's failover fence each time (a second
    /// statement; the store's own loads remember it).
    ///
    /// # Errors
    /// [`SqlxStoreError::Sqlx`] if a query fails.
    pub async fn load_in(
        conn: &mut PgConnection,
        key: RecordKey<'_>,
    ) -> Result<Option<Versioned>, SqlxStoreError> {
        Self::load_fenced(conn, key, &Fence::default()).await
    }

    /// Loads `key`'s record on `conn`, with the fence of the timeline it
    /// was read on, as `fence` knows it or asked for now.
    async fn load_fenced(
        conn: &mut PgConnection,
        key: RecordKey<'_>,
        fence: &Fence,
    ) -> Result<Option<Versioned>, SqlxStoreError> {
        let Some(row) = sqlx::query(LOAD)
            .bind(key.kind())
            .bind(key.id())
            .fetch_optional(&mut *conn)
            .await?
        else {
            return Ok(None);
        };
        let timeline = row.try_get::<&str, _>(2)?;
        let lost_saves_before = match fence.on(timeline) {
            Ok(known) => known,
            Err(()) => {
                let (timeline, lost_saves_before): (String, Option<i64>) =
                    sqlx::query_as(FENCE).fetch_one(&mut *conn).await?;
                fence.learn(timeline, lost_saves_before)
            }
        };
        let timeline = Timeline::parse(timeline)?;
        let record = (row.try_get::<i64, _>(0)?, row.try_get::<Vec<u8>, _>(1)?);
        Ok(versioned(Some(record), timeline, lost_saves_before)?)
    }

    /// Saves `bytes` under `key` if the stored version is still
    /// `expected`, with `executor` (one conditional statement), as
    /// [`load_in`](Self::load_in).
    ///
    /// # Errors
    /// [`SqlxStoreError::Sqlx`] if the statement fails.
    pub async fn save_in<'e>(
        executor: impl sqlx::PgExecutor<'e>,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, SqlxStoreError> {
        let write = Write::at(expected);
        let done = match write {
            Write::Create => sqlx::query_scalar::<_, String>(CREATE)
                .bind(key.kind())
                .bind(key.id())
                .bind(bytes)
                .fetch_optional(executor)
                .await
                .map(|timeline| Write::created(timeline.as_deref())),
            Write::Update { column, timeline } => sqlx::query(UPDATE)
                .bind(bytes)
                .bind(key.kind())
                .bind(key.id())
                .bind(column)
                .bind(timeline.text())
                .execute(executor)
                .await
                .map(|done| Ok(write.outcome(done.rows_affected()))),
        };
        match done {
            Ok(outcome) => Ok(outcome?),
            // Under REPEATABLE READ or SERIALIZABLE a concurrent writer of the
            // row is reported as a serialization failure: it won, this one did
            // not write. That is a conflict, not an error.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("40001") => {
                Ok(SaveOutcome::Conflict)
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl AsyncStore for SqlxPgStore {
    type Error = SqlxStoreError;

    async fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, SqlxStoreError> {
        let mut conn = self.pool.acquire().await?;
        Self::load_fenced(&mut conn, key, &self.fence).await
    }

    async fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, SqlxStoreError> {
        Self::save_in(&self.pool, key, expected, bytes).await
    }
}
