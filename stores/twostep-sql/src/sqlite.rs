//! Records in an SQLite file: one table, WAL mode, every write one
//! conditional statement.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::pool::Pool;
use crate::schema::sqlite::{
    CLEAR_SCHEMA, CREATE, LOAD, MIGRATIONS, READ_SCHEMA, SCHEMA_TABLE, UPDATE, WRITE_SCHEMA,
};
use crate::schema::{steps_after, versioned, Timeline, Write, SCHEMA_VERSION};
use crate::SqlStoreError;
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::Store;

/// The connections one store keeps open at most. SQLite runs one write at
/// a time per file anyway; more connections let reads proceed beside it.
const MAX_CONNECTIONS: usize = 16;

/// Keeps records in an SQLite database file (feature `sqlite`), safe to
/// share between threads, processes and several `SqliteStore`s on one file.
///
/// - **Schema**: the store creates its tables on [`open`](Self::open) and
///   migrates a file written by an older `twostep` (a `twostep_schema`
///   table holds the version; the migration runs in one `BEGIN IMMEDIATE`
///   transaction, so two processes opening at once do it once). A file
///   from a newer `twostep` is refused with
///   [`SqlStoreError::SchemaTooNew`].
/// - **Writes**: a save is one statement: `UPDATE … WHERE kind = ? AND
///   id = ? AND version = ?` (one row changed: saved; none: conflict), or,
///   for a new record, `INSERT … ON CONFLICT DO NOTHING`. A load is one
///   `SELECT`. Statements are prepared once per connection.
/// - **Durability**: WAL journal with `synchronous = FULL`: `Saved` is
///   answered after the commit reached the disk, so a crash, even of the
///   machine, loses no accepted step and no spent recovery code.
/// - **Waiting**: a connection waits up to the busy timeout (5 s by
///   default) for another writer's lock before answering with an error.
/// - **Files only**: WAL needs a file on a local filesystem; `":memory:"`
///   is refused with [`SqlStoreError::NoWal`] (use
///   [`MemoryStore`](twostep::MemoryStore)).
///
/// ```
/// use twostep::{Keyring, Mfa};
/// use twostep_sql::SqliteStore;
///
/// # let dir = std::env::temp_dir().join(format!("twostep-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let store = SqliteStore::open(dir.join("mfa.sqlite3"))?;
/// let mfa = Mfa::new(store, Keyring::new(1, &[7; 32]));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteStore {
    pool: Pool<Connection, rusqlite::Error>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (or creates) the database file at `path`, with a busy timeout
    /// of 5 seconds, and brings its schema up to date.
    ///
    /// # Errors
    /// [`SqlStoreError::Sqlite`] if the file cannot be opened or migrated,
    /// [`SqlStoreError::SchemaTooNew`] if a newer `twostep` wrote it,
    /// [`SqlStoreError::NoWal`] if it cannot be put in WAL mode.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SqlStoreError> {
        Self::open_with_busy_timeout(path, Duration::from_secs(5))
    }

    /// [`open`](Self::open) with another busy timeout: how long a call
    /// waits for another connection's write lock (or for a free pooled
    /// connection) before it fails.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with_busy_timeout(
        path: impl AsRef<Path>,
        busy_timeout: Duration,
    ) -> Result<Self, SqlStoreError> {
        // rusqlite counts the timeout in i32 milliseconds (about 24 days).
        let busy_timeout = busy_timeout.min(Duration::from_millis(i32::MAX as u64));
        let path = path.as_ref().to_owned();
        let mut first = connect(&path, busy_timeout)?;
        enable_wal(&first, Instant::now() + busy_timeout)?;
        migrate(&mut first)?;
        let pool = Pool::new(
            MAX_CONNECTIONS,
            busy_timeout,
            |_, _| false,
            move || connect(&path, busy_timeout),
        );
        Ok(SqliteStore { pool })
    }

    /// The schema version of the file (after [`open`](Self::open), the
    /// newest this build knows).
    ///
    /// # Errors
    /// [`SqlStoreError::Sqlite`] if it cannot be read.
    pub fn schema_version(&self) -> Result<i64, SqlStoreError> {
        Ok(self.pool.run(|conn| {
            conn.query_row("SELECT MAX(version) FROM twostep_schema", [], |row| {
                row.get(0)
            })
        })?)
    }
}

fn connect(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(busy_timeout)?;
    // FULL: a commit is on disk before it is answered (in WAL mode NORMAL
    // could lose the last commits on power loss, and with them a spent
    // recovery code). Per connection; WAL itself is kept by the file.
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// Puts the file in WAL mode (readers never block the writer), once for
/// all connections. Switching takes a write lock from inside a read, where
/// SQLite does not wait on its own: when several processes open a new file
/// together, the losers are told "busy" at once, so retry until the
/// deadline.
fn enable_wal(conn: &Connection, deadline: Instant) -> Result<(), SqlStoreError> {
    loop {
        match conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            // An in-memory database, or a filesystem without shared memory:
            // pooled connections would not share one database safely.
            Ok(mode) => return Err(SqlStoreError::NoWal(mode)),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Brings the schema up to [`SCHEMA_VERSION`] in one write transaction.
fn migrate(conn: &mut Connection) -> Result<(), SqlStoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA_TABLE)?;
    let found: i64 = tx.query_row(READ_SCHEMA, [], |row| row.get(0))?;
    let steps = steps_after(&MIGRATIONS, found)?;
    if found < SCHEMA_VERSION {
        for step in steps {
            tx.execute_batch(step)?;
        }
        tx.execute(CLEAR_SCHEMA, [])?;
        tx.execute(WRITE_SCHEMA, [SCHEMA_VERSION])?;
    }
    tx.commit()?;
    Ok(())
}

impl Store for SqliteStore {
    type Error = SqlStoreError;

    fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, SqlStoreError> {
        let row = self.pool.run(|conn| {
            conn.prepare_cached(LOAD)?
                .query_row((key.kind(), key.id()), |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
                })
                .optional()
        })?;
        Ok(versioned(row, Timeline::NONE, None)?)
    }

    fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, SqlStoreError> {
        let (kind, id) = (key.kind(), key.id());
        let write = Write::at(expected);
        let rows = match write {
            Write::Create => self
                .pool
                .run(|conn| conn.prepare_cached(CREATE)?.execute((kind, id, bytes)))?,
            Write::Update {
                column,
                timeline: Timeline::NONE,
            } => self.pool.run(|conn| {
                conn.prepare_cached(UPDATE)?
                    .execute((bytes, kind, id, column))
            })?,
            // A version SQLite never gave: no row holds it.
            Write::Update { .. } => 0,
        };
        Ok(write.outcome(rows as u64))
    }
}
