//! Records in SQLite through the host's own sqlx pool, for async hosts.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use twostep_sql::schema::sqlite::{
    CLEAR_SCHEMA, CREATE, LOAD, MIGRATIONS, READ_SCHEMA, SCHEMA_TABLE, UPDATE, WRITE_SCHEMA,
};
use twostep_sql::schema::{steps_after, versioned, Timeline, Write, SCHEMA_VERSION};

use crate::SqlxStoreError;
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::AsyncStore;

/// Keeps records in an SQLite file through the host's sqlx [`SqlitePool`]
/// (feature `sqlite`), for an [`AsyncMfa`](twostep::AsyncMfa): the same
/// table, schema versions and statements as the synchronous
/// [`SqliteStore`](https://docs.rs/twostep-sql), so either reads and updates what
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
/// use twostep::{AsyncMfa, Keyring};
/// use twostep_sqlx::SqlxSqliteStore;
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

    /// Options for the file at `path` as [`SqliteStore`](https://docs.rs/twostep-sql)
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

    /// Checks that the pool's database keeps what it answers as saved, and
    /// creates the table or brings a file written by an older `twostep` up
    /// to date, in one `BEGIN IMMEDIATE` transaction. A host's default pool
    /// works (the rollback journal, `synchronous = FULL`), WAL
    /// ([`connect_options`](Self::connect_options)) lets readers and the
    /// writer work at once; an in-memory database (`sqlite::memory:`, for
    /// tests) works, shared by the pool's connections as sqlx opens it.
    ///
    /// # Errors
    /// [`SqlxStoreError::Unsafe`], naming the setting to change, for a file
    /// whose journal is off or in memory, `synchronous` below FULL, or an
    /// in-memory database each connection has its own of;
    /// [`SqlxStoreError::Sqlx`] if it cannot be read or changed,
    /// [`SqlxStoreError::SchemaTooNew`] if a newer `twostep` wrote it.
    pub async fn migrate(&self) -> Result<(), SqlxStoreError> {
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        // The main database's file; empty for an in-memory one.
        let file: String = sqlx::query("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let in_memory = file.is_empty();
        match mode.to_ascii_lowercase().as_str() {
            "wal" | "delete" | "truncate" | "persist" => {}
            "memory" if in_memory => {}
            _ => {
                return Err(SqlxStoreError::Unsafe(
                    "the database's journal is off or in memory, so a crash can lose or \
                     corrupt a commit answered as done: open the pool with \
                     SqliteConnectOptions::journal_mode(SqliteJournalMode::Wal) \
                     (as SqlxSqliteStore::connect_options does), or leave the journal mode \
                     at its default",
                ))
            }
        }
        // 2: FULL, 3: EXTRA. Below, a power cut can lose a commit that was
        // answered, and a code accepted would be accepted again.
        let synchronous: i64 = sqlx::query("PRAGMA synchronous")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        if synchronous < 2 && !in_memory {
            return Err(SqlxStoreError::Unsafe(
                "PRAGMA synchronous is below FULL, so a commit answered as done can be lost \
                 at a power cut: open the pool with \
                 SqliteConnectOptions::synchronous(SqliteSynchronous::Full) \
                 (as SqlxSqliteStore::connect_options does)",
            ));
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Self::upgrade(&mut tx).await?;
        tx.commit().await?;
        if in_memory {
            self.shared_memory().await?;
        }
        Ok(())
    }

    /// An in-memory database is one per connection unless it is shared (as
    /// sqlx opens `sqlite::memory:`): then the table exists on one
    /// connection only. Refused, naming the setting, when another
    /// connection of the pool does not see it.
    async fn shared_memory(&self) -> Result<(), SqlxStoreError> {
        if self.pool.options().get_max_connections() < 2 {
            return Ok(());
        }
        let (mut first, mut second) = (self.pool.acquire().await?, self.pool.acquire().await?);
        for connection in [&mut first, &mut second] {
            let tables: i64 =
                sqlx::query("SELECT count(*) FROM sqlite_master WHERE name = 'twostep_records'")
                    .fetch_one(&mut **connection)
                    .await?
                    .try_get(0)?;
            if tables == 0 {
                return Err(SqlxStoreError::Unsafe(
                    "each connection of this pool has its own in-memory database, so records \
                     saved on one are missing on the others: open it as sqlite::memory: \
                     (shared by the pool), or with max_connections(1)",
                ));
            }
        }
        Ok(())
    }
}

impl SqlxSqliteStore {
    /// Creates the tables or brings them to [`SCHEMA_VERSION`], in
    /// `migrate`'s transaction (locked by then, as each backend
    /// locks); refuses a newer schema.
    async fn upgrade(
        tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
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

    /// Loads `key`'s record with `executor`: the pool, a connection,
    /// or the host's own transaction (the sans-IO path,
    /// [`AsyncMfa::prepare_verify`](twostep::AsyncMfa::prepare_verify)).
    ///
    /// # Errors
    /// [`SqlxStoreError::Sqlx`] if the query fails.
    pub async fn load_in<'e>(
        executor: impl sqlx::SqliteExecutor<'e>,
        key: RecordKey<'_>,
    ) -> Result<Option<Versioned>, SqlxStoreError> {
        let row = sqlx::query(LOAD)
            .bind(key.kind())
            .bind(key.id())
            .fetch_optional(executor)
            .await?;
        let row = match row {
            Some(row) => Some((row.try_get::<i64, _>(0)?, row.try_get::<Vec<u8>, _>(1)?)),
            None => None,
        };
        Ok(versioned(row, Timeline::NONE, None)?)
    }

    /// Saves `bytes` under `key` if the stored version is still
    /// `expected`, with `executor` (one conditional statement), as
    /// [`load_in`](Self::load_in).
    ///
    /// # Errors
    /// [`SqlxStoreError::Sqlx`] if the statement fails.
    pub async fn save_in<'e>(
        executor: impl sqlx::SqliteExecutor<'e>,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, SqlxStoreError> {
        let write = Write::at(expected);
        let done = match write {
            Write::Create => {
                sqlx::query(CREATE)
                    .bind(key.kind())
                    .bind(key.id())
                    .bind(bytes)
                    .execute(executor)
                    .await
            }
            Write::Update {
                column,
                timeline: Timeline::NONE,
            } => {
                sqlx::query(UPDATE)
                    .bind(bytes)
                    .bind(key.kind())
                    .bind(key.id())
                    .bind(column)
                    .execute(executor)
                    .await
            }
            // A version SQLite never gave: no row holds it.
            Write::Update { .. } => return Ok(SaveOutcome::Conflict),
        };
        // SQLite serializes writers: a conditional update that lost changes
        // no row, and an error is an error.
        Ok(write.outcome(done?.rows_affected()))
    }
}

impl AsyncStore for SqlxSqliteStore {
    type Error = SqlxStoreError;

    async fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, SqlxStoreError> {
        Self::load_in(&self.pool, key).await
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
