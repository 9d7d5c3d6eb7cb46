//! SQLite: the SQL both SQLite stores run, the synchronous [`SqliteStore`]
//! (rusqlite) and the async [`SqlxSqliteStore`] over the host's sqlx pool:
//! one table, one schema, so either reads and updates what the other wrote.

#[cfg(feature = "sqlite")]
mod blocking;
#[cfg(feature = "sqlx-sqlite")]
mod sqlx;

#[cfg(feature = "sqlx-sqlite")]
pub use self::sqlx::SqlxSqliteStore;
#[cfg(feature = "sqlite")]
pub use blocking::SqliteStore;

/// The schema steps, each taking the database from the version before.
pub(super) const MIGRATIONS: [(i64, &str); 2] = [
    (
        1,
        "CREATE TABLE twostep_records (
             kind TEXT NOT NULL,
             id TEXT NOT NULL,
             version INTEGER NOT NULL,
             bytes BLOB NOT NULL,
             PRIMARY KEY (kind, id)
         ) WITHOUT ROWID;",
    ),
    (
        2,
        "ALTER TABLE twostep_records ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;",
    ),
];

pub(super) const LOAD: &str =
    "SELECT version, bytes FROM twostep_records WHERE kind = ?1 AND id = ?2";
pub(super) const CREATE: &str = "INSERT INTO twostep_records (kind, id, version, bytes, updated_at)
     VALUES (?1, ?2, 1, ?3, unixepoch()) ON CONFLICT DO NOTHING";
pub(super) const UPDATE: &str = "UPDATE twostep_records
     SET bytes = ?1, version = version + 1, updated_at = unixepoch()
     WHERE kind = ?2 AND id = ?3 AND version = ?4";

/// The schema table, and reading and writing its one row.
pub(super) const SCHEMA_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS twostep_schema (version INTEGER NOT NULL)";
pub(super) const READ_SCHEMA: &str = "SELECT COALESCE(MAX(version), 0) FROM twostep_schema";
pub(super) const CLEAR_SCHEMA: &str = "DELETE FROM twostep_schema";
pub(super) const WRITE_SCHEMA: &str = "INSERT INTO twostep_schema (version) VALUES (?1)";
