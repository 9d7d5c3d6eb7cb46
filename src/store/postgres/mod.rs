//! PostgreSQL: the SQL both PostgreSQL stores run, the synchronous
//! [`PostgresStore`] (the `postgres` crate, with its own pool) and the async
//! [`SqlxPgStore`] over the host's sqlx pool: one table, one schema, so
//! either reads and updates what the other wrote.

#[cfg(feature = "postgres")]
mod blocking;
#[cfg(feature = "sqlx-postgres")]
mod sqlx;

#[cfg(feature = "sqlx-postgres")]
pub use self::sqlx::SqlxPgStore;
#[cfg(feature = "postgres")]
pub use blocking::PostgresStore;

/// The schema steps, each taking the database from the version before.
pub(super) const MIGRATIONS: [(i64, &str); 2] = [
    (
        1,
        "CREATE TABLE twostep_records (
             kind text NOT NULL,
             id text NOT NULL,
             version bigint NOT NULL,
             bytes bytea NOT NULL,
             PRIMARY KEY (kind, id)
         );",
    ),
    (
        2,
        "ALTER TABLE twostep_records
             ADD COLUMN updated_at timestamptz NOT NULL DEFAULT 'epoch';",
    ),
];

/// Serializes migrations of one database across processes (an arbitrary
/// constant: "2step" in ASCII).
pub(super) const MIGRATION_LOCK: i64 = 0x32_73_74_65_70;

pub(super) const LOAD: &str =
    "SELECT version, bytes FROM twostep_records WHERE kind = $1 AND id = $2";
pub(super) const CREATE: &str = "INSERT INTO twostep_records (kind, id, version, bytes, updated_at)
     VALUES ($1, $2, 1, $3, now()) ON CONFLICT DO NOTHING";
pub(super) const UPDATE: &str = "UPDATE twostep_records
     SET bytes = $1, version = version + 1, updated_at = now()
     WHERE kind = $2 AND id = $3 AND version = $4";

/// The schema table, and reading and writing its one row.
pub(super) const SCHEMA_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS twostep_schema (version bigint NOT NULL)";
pub(super) const READ_SCHEMA: &str = "SELECT COALESCE(MAX(version), 0)::bigint FROM twostep_schema";
pub(super) const CLEAR_SCHEMA: &str = "DELETE FROM twostep_schema";
pub(super) const WRITE_SCHEMA: &str = "INSERT INTO twostep_schema (version) VALUES ($1)";
/// Takes the migration lock until the transaction ends.
pub(super) const LOCK: &str = "SELECT pg_advisory_xact_lock($1)";
