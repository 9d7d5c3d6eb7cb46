//! The records' store: SQLite by default, PostgreSQL on request, both over
//! a pool the app owns (a host passes the one it already has).

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::SqlitePoolOptions;
use std::str::FromStr;
use twostep::store::{RecordKey, SaveOutcome, Version, Versioned};
use twostep::AsyncStore;
use twostep_sqlx::SqlxStoreError;
use twostep_sqlx::{SqlxPgStore, SqlxSqliteStore};

/// Where the app keeps twostep's records.
#[derive(Clone, Debug)]
pub enum Database {
    /// An SQLite file, created if missing.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL URL (`postgres://user@host:port/db`, `?host=/socket/dir`
    /// for a Unix socket).
    Postgres(String),
}

/// One of the two sqlx stores, chosen at start: an [`AsyncStore`] that
/// forwards to it.
#[derive(Clone, Debug)]
pub enum AppStore {
    /// Records in SQLite.
    Sqlite(SqlxSqliteStore),
    /// Records in PostgreSQL.
    Postgres(SqlxPgStore),
}

impl AppStore {
    /// Connects a pool to `database` and migrates twostep's table.
    ///
    /// # Errors
    /// If the database cannot be reached or migrated.
    pub async fn open(database: &Database) -> Result<AppStore, SqlxStoreError> {
        Ok(match database {
            Database::Sqlite(path) => {
                let pool = SqlitePoolOptions::new()
                    .connect_with(SqlxSqliteStore::connect_options(path))
                    .await?;
                let store = SqlxSqliteStore::new(pool);
                store.migrate().await?;
                AppStore::Sqlite(store)
            }
            Database::Postgres(url) => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .connect_with(options)
                    .await?;
                let store = SqlxPgStore::new(pool);
                store.migrate().await?;
                AppStore::Postgres(store)
            }
        })
    }
}

impl AsyncStore for AppStore {
    type Error = SqlxStoreError;

    async fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, SqlxStoreError> {
        match self {
            AppStore::Sqlite(store) => store.load(key).await,
            AppStore::Postgres(store) => store.load(key).await,
        }
    }

    async fn save(
        &self,
        key: RecordKey<'_>,
        expected: Option<Version>,
        bytes: &[u8],
    ) -> Result<SaveOutcome, SqlxStoreError> {
        match self {
            AppStore::Sqlite(store) => store.save(key, expected, bytes).await,
            AppStore::Postgres(store) => store.save(key, expected, bytes).await,
        }
    }
}
